//! GitHub Actions: step outputs (`$GITHUB_OUTPUT`), a step summary (`$GITHUB_STEP_SUMMARY`),
//! the log in a collapsible group with workflow commands off, masks for the keys, and an error
//! annotation when the gate does not succeed.

use super::markdown;
use super::timeline::Timeline;
use super::workflow::{self, Group, Level, StopCommands};
use crate::event::{Event, Report, ReportError, Reporter};
use crate::outcome::Outcome;
use crate::outcome::Summary;
use crate::secret::Secret;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub(crate) struct GitHub {
    output: Option<PathBuf>,
    step_summary: Option<PathBuf>,
    timeline: Timeline,
    // Fields drop in order: commands come back on, then the group closes.
    stop: Option<StopCommands>,
    group: Option<Group>,
}

impl GitHub {
    /// Masks the keys and opens the log group, with commands off. Call it before anything else
    /// is printed, so that no line can precede the masks.
    pub(crate) fn start(
        var: impl Fn(&str) -> Option<String>,
        secrets: &[&Secret],
        title: &str,
    ) -> Self {
        for secret in secrets {
            workflow::add_mask(secret.expose());
        }
        let group = Some(Group::open(title));
        let stop = Some(StopCommands::start());
        let path = |name| var(name).filter(|p| !p.is_empty()).map(PathBuf::from);
        Self {
            output: path("GITHUB_OUTPUT"),
            step_summary: path("GITHUB_STEP_SUMMARY"),
            timeline: Timeline::default(),
            stop,
            group,
        }
    }
}

impl Reporter for GitHub {
    /// Each file is opened for appending (created if need be), and nothing written yet.
    fn check(&self) -> Result<(), ReportError> {
        for (what, path) in
            [("$GITHUB_OUTPUT", &self.output), ("$GITHUB_STEP_SUMMARY", &self.step_summary)]
        {
            if let Some(path) = path {
                append(what, path, "")?;
            }
        }
        Ok(())
    }

    /// A create's intent and its new ID go to `$GITHUB_OUTPUT` at once; the final values,
    /// appended later, win (the runner keeps a key's last value).
    fn checkpoint(&mut self, summary: &Summary) -> Result<(), ReportError> {
        match &self.output {
            Some(path) => append("$GITHUB_OUTPUT", path, &output_file(&summary.pairs())),
            None => Ok(()),
        }
    }

    fn on_event(&mut self, event: &Event<'_>) {
        self.timeline.on_event(event);
    }

    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        self.stop.take();
        self.group.take();
        if !report.outcome.is_success() {
            let level = match report.outcome {
                Outcome::Cancelled(_) => Level::Warning,
                _ => Level::Error,
            };
            let title = format!("clanforge-wait: {}", report.summary.result);
            workflow::annotate(level, &title, &report.message);
        }
        let mut written = Ok(());
        if let Some(path) = &self.output {
            written = append("$GITHUB_OUTPUT", path, &output_file(&report.summary.pairs()));
        }
        if let Some(path) = &self.step_summary {
            let summary =
                append("$GITHUB_STEP_SUMMARY", path, &markdown::summary(report, &self.timeline));
            written = written.and(summary);
        }
        written
    }
}

fn append(what: &'static str, path: &Path, text: &str) -> Result<(), ReportError> {
    crate::append::open_append(path)
        .and_then(|mut file| crate::append::write_patiently(&mut file, text.as_bytes()))
        .map_err(|source| ReportError { what, path: path.to_path_buf(), source })
}

/// `$GITHUB_OUTPUT` lines: `key=value`, or for a value with a line break the heredoc form with
/// a random delimiter that the value does not contain. The runner reads lines with .NET's
/// `ReadLine`, which also breaks at a lone `\r`: line breaks are written as `\n`.
pub fn output_file(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if value.contains(['\n', '\r']) {
            let value = value.replace("\r\n", "\n").replace('\r', "\n");
            let delimiter = loop {
                let candidate = workflow::random_token("ghadelimiter_");
                if !value.contains(&candidate) {
                    break candidate;
                }
            };
            out.push_str(&format!("{key}<<{delimiter}\n{value}\n{delimiter}\n"));
        } else {
            out.push_str(&format!("{key}={value}\n"));
        }
    }
    out
}
