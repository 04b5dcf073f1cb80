//! Azure Pipelines (`TF_BUILD=True`): logging commands. Every secret registered with
//! `task.setsecret` before any other line (the agent masks it from then on), the log in a group
//! (closed on every path, a drop guard), the progress at each change, an issue per job that did
//! not complete, and an output variable per result key (`CLANFORGE_RESULT`, …, as the dotenv
//! file names them; `isoutput=true`, read as `$(STEP.CLANFORGE_RESULT)`).
//!
//! The step's result is the exit code's: nothing here sends `task.complete`. Commands go to
//! stderr with the log, which the agent reads too, so that they keep their order. Data and
//! properties are escaped as Microsoft's `azure-pipelines-task-lib` escapes them.

use super::text::problems;
use super::{dotenv, log_line};
use crate::event::{Event, Report, ReportError, Reporter};
use crate::outcome::Outcome;
use crate::secret::Secret;
use std::collections::BTreeMap;

#[derive(Debug)]
pub(crate) struct Azure {
    group: bool,
    /// The jobs waited on now, with their last progress (none yet: 0).
    progress: BTreeMap<String, u8>,
    /// A start or deploy: the step under way and the number of steps.
    step: Option<(usize, usize)>,
    shown: Option<u8>,
}

impl Azure {
    /// Registers the secrets, then opens the group: call it before anything else is printed.
    pub(crate) fn start(secrets: &[&Secret], title: &str) -> Self {
        for secret in secrets {
            if !secret.is_empty() {
                log_line(&command("task.setsecret", &[], secret.expose()));
            }
        }
        log_line(&format!("##[group]{}", escape_data(title)));
        Self { group: true, progress: BTreeMap::new(), step: None, shown: None }
    }

    /// The step's progress: the mean of the jobs waited on; in a deploy, of the steps, the one
    /// under way counting by its jobs. Sent when it changes.
    fn show_progress(&mut self) {
        let jobs = self.progress.len().max(1) as u32;
        let mean = self.progress.values().map(|&p| u32::from(p)).sum::<u32>() / jobs;
        let value = match self.step {
            Some((index, total)) if total > 0 => {
                ((index.saturating_sub(1) as u32 * 100 + mean) / total as u32) as u8
            }
            _ => mean as u8,
        };
        if self.shown != Some(value) {
            self.shown = Some(value);
            let value = value.to_string();
            log_line(&command("task.setprogress", &[("value", &value)], "clanforge-wait"));
        }
    }

    fn close(&mut self) {
        if std::mem::take(&mut self.group) {
            log_line("##[endgroup]");
        }
    }
}

impl Reporter for Azure {
    fn on_event(&mut self, event: &Event<'_>) {
        match event {
            Event::Started { jobs, .. } => {
                self.progress = jobs.iter().map(|job| (job.reference(), 0)).collect();
            }
            Event::Step { index, total, .. } => self.step = Some((*index, *total)),
            Event::Polled { job, status, .. } => {
                if let Some(progress) = status.progress {
                    self.progress.insert(job.reference(), progress);
                }
                self.show_progress();
            }
            _ => {}
        }
    }

    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        if report.outcome.is_success() && self.shown.is_some_and(|p| p < 100) {
            log_line(&command("task.setprogress", &[("value", "100")], "clanforge-wait"));
        }
        self.close();
        let kind = match report.outcome {
            Outcome::Cancelled(_) => "warning",
            _ => "error",
        };
        for (_, description) in problems(report) {
            log_line(&command(
                "task.logissue",
                &[("type", kind)],
                &format!("clanforge-wait: {description}"),
            ));
        }
        for (key, value) in report.summary.pairs() {
            let name = dotenv::variable(key);
            log_line(&command(
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

/// A command's message: `%` as `%AZP25`, then the line breaks as `%0D` and `%0A`.
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%AZP25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property's value: as the message, and `]` and `;` as `%5D` and `%3B`.
pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(']', "%5D").replace(';', "%3B")
}
