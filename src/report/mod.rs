//! Reporters: every destination of what the wait loop says (the log, the result file, stdout)
//! listens to its events. A new destination, such as a CI platform, is one new file here.
//!
//! The log's mode is decided once, in [`LogMode::detect`]; nothing else asks whether stderr
//! is a terminal.

pub mod dotenv;
pub mod github;
pub mod gitlab;
pub mod log;
pub mod result;
pub mod workflow;

use crate::secret::Secret;
use crate::wait::{Event, Report};
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

/// A destination for the wait loop's events and its final report.
pub trait Reporter {
    fn on_event(&mut self, _event: &Event<'_>) {}

    /// The wait is over. Writes whatever this destination keeps.
    fn on_finish(&mut self, _report: &Report) -> Result<(), ReportError> {
        Ok(())
    }
}

/// Every reporter hears every event; one that fails to write does not stop the others.
impl Reporter for Vec<Box<dyn Reporter>> {
    fn on_event(&mut self, event: &Event<'_>) {
        for reporter in self.iter_mut() {
            reporter.on_event(event);
        }
    }

    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        let mut first_error = Ok(());
        for reporter in self.iter_mut() {
            let written = reporter.on_finish(report);
            if first_error.is_ok() {
                first_error = written;
            }
        }
        first_error
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not write {what} {}: {source}", path.display())]
pub struct ReportError {
    pub what: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// The reporters of the CI platform we run on (`GITHUB_ACTIONS=true`, `GITLAB_CI=true`).
/// They print their first lines (GitHub's masks among them) now: call this before anything
/// else is printed.
pub fn ci_reporters(
    var: impl Fn(&str) -> Option<String>,
    secrets: &[&Secret],
    title: &str,
) -> Vec<Box<dyn Reporter>> {
    let mut reporters: Vec<Box<dyn Reporter>> = Vec::new();
    if var("GITHUB_ACTIONS").as_deref() == Some("true") {
        reporters.push(Box::new(github::GitHub::start(&var, secrets, title)));
    }
    if var("GITLAB_CI").as_deref() == Some("true") {
        reporters.push(Box::new(gitlab::GitLab::start(title)));
    }
    reporters
}

/// A file a reporter writes at the end. It is created when the gate starts, so that a path that
/// can't be written is a usage error before the first request, not a surprise at the end.
#[derive(Debug)]
pub struct OutputFile {
    what: &'static str,
    path: PathBuf,
    file: File,
}

impl OutputFile {
    pub fn create(what: &'static str, path: PathBuf) -> Result<Self, ReportError> {
        match File::create(&path) {
            Ok(file) => Ok(Self { what, path, file }),
            Err(source) => Err(ReportError { what, path, source }),
        }
    }

    pub fn write(&mut self, contents: &[u8]) -> Result<(), ReportError> {
        self.file
            .write_all(contents)
            .and_then(|()| self.file.sync_all())
            .map_err(|source| ReportError {
                what: self.what,
                path: self.path.clone(),
                source,
            })
    }
}

/// How the log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMode {
    /// A terminal: a live progress bar, with warnings and the final line above it.
    Bar,
    /// Not a terminal (a CI log), or colour is off: one plain line per change.
    Plain,
    /// One JSON object per line.
    Json,
}

impl LogMode {
    /// `NO_COLOR` (any non-empty value) or `TERM=dumb` turns the bar and the colours off.
    pub fn detect(
        json: bool,
        stderr_is_terminal: bool,
        var: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let no_color = var("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = var("TERM").is_some_and(|t| t == "dumb");
        match (json, stderr_is_terminal && !no_color && !dumb) {
            (true, _) => Self::Json,
            (false, true) => Self::Bar,
            (false, false) => Self::Plain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LogMode;

    fn detect(json: bool, tty: bool, vars: &[(&str, &str)]) -> LogMode {
        LogMode::detect(json, tty, |k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn a_terminal_gets_a_bar_unless_colour_is_off() {
        assert_eq!(detect(false, true, &[]), LogMode::Bar);
        assert_eq!(detect(false, true, &[("NO_COLOR", "1")]), LogMode::Plain);
        assert_eq!(detect(false, true, &[("TERM", "dumb")]), LogMode::Plain);
        assert_eq!(detect(false, true, &[("NO_COLOR", "")]), LogMode::Bar);
    }

    #[test]
    fn ci_logs_get_plain_lines_and_json_wins() {
        assert_eq!(detect(false, false, &[]), LogMode::Plain);
        assert_eq!(detect(true, true, &[]), LogMode::Json);
    }
}
