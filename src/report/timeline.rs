//! When each job of a gate began and ended, by the wall clock, and what happened to it: what
//! the JUnit file's times and `<system-out>` and the Mermaid chart of the summaries are made of.
//! A reporter that needs them keeps one and hands it every event; only the JUnit file keeps the
//! lines ([`Timeline::with_lines`]): a chart needs the times alone, and a gate of thousands of
//! jobs should not keep what no one reads.

use super::OutputFile;
use super::text::{human, poll_error, polled_words};
use crate::event::{Event, Report, ReportError, Reporter};
use crate::outcome::JobSummary;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::SystemTime;

/// A job's lines kept for its `<system-out>`: the last ones, so that a long wait stays small.
const MAX_LINES: usize = 200;

#[derive(Debug)]
pub(crate) struct Timeline {
    /// When the gate began.
    pub started: SystemTime,
    clock: std::time::Instant,
    /// By reference: a gate of thousands looks its jobs up at every event.
    jobs: HashMap<String, Span>,
    /// Keep each job's lines, not only its times.
    lines: bool,
}

/// One job, from its first event.
#[derive(Debug)]
pub(crate) struct Span {
    pub began: SystemTime,
    /// Lines for a person, each with the time since the gate began.
    pub lines: VecDeque<String>,
    last: Option<String>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self {
            started: SystemTime::now(),
            clock: std::time::Instant::now(),
            jobs: HashMap::new(),
            lines: false,
        }
    }
}

impl Timeline {
    /// A timeline that keeps each job's lines too (the last [`MAX_LINES`]).
    pub(crate) fn with_lines() -> Self {
        Self { lines: true, ..Self::default() }
    }

    pub(crate) fn on_event(&mut self, event: &Event<'_>) {
        match event {
            Event::Started { jobs, .. } => {
                for job in *jobs {
                    self.span(&job.reference());
                }
            }
            Event::Step { job: Some(job), .. } | Event::Created { job } => {
                self.span(&job.reference());
            }
            // A job's first event is its start or its step: what comes after is for the lines.
            Event::Polled { .. } | Event::Retrying { .. } if !self.lines => {}
            Event::Polled { job, status, idle, .. } => {
                let (shown, job) = (polled_words(status, *idle), job.reference());
                let span = self.span(&job);
                if span.last.as_deref() != Some(shown.as_str()) {
                    span.last = Some(shown.clone());
                    self.note(&job, &shown);
                }
            }
            Event::Retrying { job, error, failures, wait } => {
                let line = format!(
                    "retrying in {} (failure {failures}): {}",
                    human(*wait),
                    poll_error(error)
                );
                self.note(&job.reference(), &line);
            }
            _ => {}
        }
    }

    /// The job's span, begun now if this is its first event.
    fn span(&mut self, job: &str) -> &mut Span {
        let began = self.now();
        self.jobs.entry(job.to_owned()).or_insert_with(|| Span {
            began,
            lines: VecDeque::new(),
            last: None,
        })
    }

    fn note(&mut self, job: &str, line: &str) {
        let at = self.clock.elapsed();
        let span = self.span(job);
        if span.lines.len() == MAX_LINES {
            span.lines.pop_front();
        }
        span.lines.push_back(format!("{:>7.1}s {line}", at.as_secs_f64()));
    }

    fn now(&self) -> SystemTime {
        self.started + self.clock.elapsed()
    }

    /// The job's span; one begun with the gate for a job no event named.
    pub(crate) fn of(&self, job: &str) -> Option<&Span> {
        self.jobs.get(job)
    }

    /// When `job` began and ended (`elapsed` after the gate began), never before it began.
    pub(crate) fn interval(&self, job: &JobSummary) -> (SystemTime, SystemTime) {
        let began = self.of(&job.job).map_or(self.started, |s| s.began);
        let ended = self.started + job.elapsed;
        (began, ended.max(began))
    }
}

/// A file written at the end from the gate's timeline and its report: the JUnit file
/// ([`super::junit::file`]), the summary ([`super::markdown::file`]).
#[derive(Debug)]
pub(crate) struct TimedFile {
    file: OutputFile,
    timeline: Timeline,
    render: fn(&Report, &Timeline) -> String,
}

impl TimedFile {
    pub(crate) fn create(
        what: &'static str,
        path: PathBuf,
        timeline: Timeline,
        render: fn(&Report, &Timeline) -> String,
    ) -> Result<Self, ReportError> {
        Ok(Self { file: OutputFile::create(what, path)?, timeline, render })
    }
}

impl Reporter for TimedFile {
    fn on_event(&mut self, event: &Event<'_>) {
        self.timeline.on_event(event);
    }

    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        self.file.write((self.render)(report, &self.timeline).as_bytes())
    }
}
