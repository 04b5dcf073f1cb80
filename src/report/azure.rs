//! Azure Pipelines (`TF_BUILD=True`): logging commands. Every secret registered with
//! `task.setsecret` before any other line (the agent masks it from then on), the log in a group
//! (closed on every path, a drop guard), the progress at each change, an issue per job that did
//! not complete, and an output variable per result key (`CLANFORGE_RESULT`, …, as the dotenv
//! file names them; `isoutput=true`, read as `$(STEP.CLANFORGE_RESULT)`).
//!
//! The step's result is the exit code's: nothing here sends `task.complete`. Commands go to
//! stderr with the log, which the agent reads too, so that they keep their order. Data and
//! properties are escaped as Microsoft's `azure-pipelines-task-lib` escapes them.

use super::dotenv;
use super::text::problems;
use crate::event::{Event, Report, ReportError, Reporter};
use crate::outcome::Outcome;
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::io::{self, Write};

#[derive(Debug)]
pub struct Azure {
    group: bool,
    /// Each job's last progress; the step's is their mean.
    progress: BTreeMap<String, u8>,
    shown: Option<u8>,
}

impl Azure {
    /// Registers the secrets, then opens the group: call it before anything else is printed.
    pub fn start(secrets: &[&Secret], title: &str) -> Self {
        for secret in secrets {
            if !secret.is_empty() {
                print(&command("task.setsecret", &[], secret.expose()));
            }
        }
        print(&format!("##[group]{}", escape_data(title)));
        Self {
            group: true,
            progress: BTreeMap::new(),
            shown: None,
        }
    }

    fn close(&mut self) {
        if std::mem::take(&mut self.group) {
            print("##[endgroup]");
        }
    }
}

impl Reporter for Azure {
    fn on_event(&mut self, event: &Event<'_>) {
        if let Event::Polled { job, status, .. } = event
            && let Some(progress) = status.progress
        {
            self.progress.insert(job.reference(), progress);
            let sum: u32 = self.progress.values().map(|&p| u32::from(p)).sum();
            let mean = (sum / self.progress.len() as u32) as u8;
            if self.shown != Some(mean) {
                self.shown = Some(mean);
                let value = mean.to_string();
                print(&command(
                    "task.setprogress",
                    &[("value", &value)],
                    "clanforge-wait",
                ));
            }
        }
    }

    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        self.close();
        let kind = match report.outcome {
            Outcome::Cancelled(_) => "warning",
            _ => "error",
        };
        for (_, description) in problems(report) {
            print(&command(
                "task.logissue",
                &[("type", kind)],
                &format!("clanforge-wait: {description}"),
            ));
        }
        for (key, value) in report.summary.pairs() {
            let name = dotenv::variable(key);
            print(&command(
                "task.setvariable",
                &[("variable", &name), ("isoutput", "true")],
                &value,
            ));
        }
        Ok(())
    }
}

impl Drop for Azure {
    fn drop(&mut self) {
        self.close();
    }
}

/// `##vso[area.action key=value;…]message`, as the task library's `TaskCommand` writes it.
pub fn command(name: &str, properties: &[(&str, &str)], message: &str) -> String {
    let mut line = format!("##vso[{name}");
    if !properties.is_empty() {
        line.push(' ');
        for (key, value) in properties {
            line.push_str(&format!("{key}={};", escape_property(value)));
        }
    }
    line.push(']');
    line.push_str(&escape_data(message));
    line
}

fn print(line: &str) {
    // A log that can't be written has nowhere to report the failure either.
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// A command's message: `%` as `%AZP25`, then the line breaks as `%0D` and `%0A`.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%AZP25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property's value: as the message, and `]` and `;` as `%5D` and `%3B`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(']', "%5D").replace(';', "%3B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_escape_as_the_task_library_does() {
        assert_eq!(
            command("task.setvariable", &[("variable", "A;B]")], "50%\r\n##vso[x]"),
            "##vso[task.setvariable variable=A%3BB%5D;]50%AZP25%0D%0A##vso[x]"
        );
    }
}
