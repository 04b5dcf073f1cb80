//! TeamCity (`TEAMCITY_VERSION` set): service messages. The log in a block (closed on every
//! path, a drop guard), a progress message at each change, a build problem per job that did not
//! complete, the build's status text, a parameter per result key (`env.CLANFORGE_RESULT`, …, as
//! the dotenv file names them) for later steps, and statistics (polls, seconds).
//!
//! Messages go to stdout, where TeamCity reads them, one per line; every value is escaped by
//! TeamCity's rules ([`escape`]). The build's result stays the exit code's: no message here sets
//! a status.

use super::dotenv;
use super::text::{polled_words, problems};
use crate::event::{Event, Report, ReportError, Reporter};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// TeamCity keeps an identity to 60 characters.
const MAX_IDENTITY: usize = 60;
/// A problem's description, to TeamCity's 4,000.
const MAX_DESCRIPTION: usize = 4000;

#[derive(Debug)]
pub(crate) struct TeamCity {
    block: Option<String>,
    /// What each job last showed, so that a message goes out only at a change.
    shown: BTreeMap<String, String>,
}

impl TeamCity {
    pub(crate) fn start(title: &str) -> Self {
        message("blockOpened", &[("name", title)]);
        Self { block: Some(title.to_owned()), shown: BTreeMap::new() }
    }

    fn close(&mut self) {
        if let Some(name) = self.block.take() {
            message("blockClosed", &[("name", &name)]);
        }
    }
}

impl Reporter for TeamCity {
    fn on_event(&mut self, event: &Event<'_>) {
        if let Event::Polled { job, status, idle, .. } = event {
            let shown = polled_words(status, *idle);
            let job = job.reference();
            if self.shown.get(&job) != Some(&shown) {
                single("progressMessage", &format!("{job}: {shown}"));
                self.shown.insert(job, shown);
            }
        }
    }

    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        self.close();
        for (job, description) in problems(report) {
            let identity: String = super::ci_key(&job).chars().take(MAX_IDENTITY).collect();
            let description: String = description.chars().take(MAX_DESCRIPTION).collect();
            message("buildProblem", &[("description", &description), ("identity", &identity)]);
        }
        let text = format!("{{build.status.text}}; clanforge-wait: {}", report.message);
        message("buildStatus", &[("text", &text)]);
        for (key, value) in report.summary.pairs() {
            let name = format!("env.{}", dotenv::variable(key));
            message("setParameter", &[("name", &name), ("value", &value)]);
        }
        let s = &report.summary;
        for (key, value) in [
            ("clanforge_wait.polls", s.polls.to_string()),
            ("clanforge_wait.elapsed_seconds", s.elapsed_seconds.to_string()),
        ] {
            message("buildStatisticValue", &[("key", key), ("value", &value)]);
        }
        Ok(())
    }
}

impl Drop for TeamCity {
    fn drop(&mut self) {
        self.close();
    }
}

/// `##teamcity[name key='value' …]`.
pub fn render(name: &str, attributes: &[(&str, &str)]) -> String {
    let mut line = format!("##teamcity[{name}");
    for (key, value) in attributes {
        line.push_str(&format!(" {key}='{}'", escape(value)));
    }
    line.push(']');
    line
}

fn message(name: &str, attributes: &[(&str, &str)]) {
    print(&render(name, attributes));
}

/// `##teamcity[name 'value']`: the single-value form.
fn single(name: &str, value: &str) {
    print(&format!("##teamcity[{name} '{}']", escape(value)));
}

fn print(line: &str) {
    // A log that can't be written has nowhere to report the failure either.
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// A value by TeamCity's rules: `|` `'` `[` `]` and the line breaks as `||` `|'` `|[` `|]` `|n`
/// `|r`, and any other control or line-separating character as `|0xNNNN`.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '|' => out.push_str("||"),
            '\'' => out.push_str("|'"),
            '[' => out.push_str("|["),
            ']' => out.push_str("|]"),
            '\n' => out.push_str("|n"),
            '\r' => out.push_str("|r"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("|0x{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}
