//! The verdict: what a gate's facts ([`GateRun`]) mean, worked out once. The worst outcome, the
//! job that decides it, the lock that stopped the gate, and every result key but the
//! sentences; [`crate::report::text`] only puts them into words. (nextest keeps its final
//! verdict beside the event data in the same way.)

use crate::api::PollError;
use crate::chain::{Pending, Step};
use crate::cli::UsageError;
use crate::event::Report;
use crate::event::{Checked, End, Finished, GateRun, StartError};
use crate::kind::{self, JobKind, JobRef, ids_of};
use crate::outcome::{JobSummary, Outcome, Signal, Summary, Word, whole_seconds};
use crate::report::text;
use crate::setup::SetupError;
use std::time::Duration;

/// What a gate did, as one value: all that its verdict and its words read, on every path.
#[derive(Debug)]
pub(crate) struct Ran {
    pub did: Did,
    /// The API was `--demo`'s simulator: the `simulated` key says so, and every sentence.
    pub simulated: bool,
}

#[derive(Debug)]
pub(crate) enum Did {
    /// Waited on jobs (and, for `start` and `deploy`, made them).
    Waited(GateRun),
    /// `check`: what each probe saw.
    Checked(Checked),
    /// `--dry-run`: how many requests were printed (none sent), and the jobs already known.
    DryRun { requests: usize, known: Vec<JobRef> },
    /// No request was sent: why, and the update IDs the command line named.
    NotStarted { why: NotStarted, update_id: String },
}

/// Why a gate sent no request: each cause its own type. [`NotStarted::outcome`] maps it to
/// the outcome whose exit code is in the one table ([`crate::outcome::EXIT_CODES`]).
#[derive(Debug)]
pub(crate) enum NotStarted {
    /// A flag or variable to fix.
    Usage(UsageError),
    /// Something on this machine to fix: an output, the trace, `--ca-cert`, the demo.
    Setup(SetupError),
    /// A signal came first.
    Signal(Signal),
    /// The deadline passed while the command line's files were read (a FIFO with no writer).
    FilesNotRead(Duration),
}

impl NotStarted {
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Self::Usage(_) | Self::Setup(_) => Outcome::Usage,
            Self::Signal(signal) => Outcome::Cancelled(*signal),
            Self::FilesNotRead(_) => Outcome::TimedOut,
        }
    }
}

/// What a gate's run means.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    /// The worst of the jobs' outcomes (a success when every job completed).
    pub outcome: Outcome,
    /// The job whose end decided the outcome: it speaks for the gate in the single-value keys.
    pub decider: usize,
    /// Every result key; `error` (the gate's and each job's) is left empty for the words.
    pub summary: Summary,
}

/// The verdict of what a gate did: the one producer of the outcome and the result keys.
pub(crate) fn conclude(ran: &Ran) -> Verdict {
    let simulated = ran.simulated;
    let (outcome, summary) = match &ran.did {
        Did::Waited(run) => return waited(run, simulated),
        Did::Checked(checked) => {
            let outcome = match checked.failed().next() {
                None => Outcome::Completed,
                Some(_) => Outcome::ApiError,
            };
            let summary = Summary {
                elapsed_seconds: whole_seconds(checked.elapsed),
                polls: checked.requests,
                ..Summary::default()
            };
            (outcome, summary)
        }
        Did::DryRun { known, .. } => {
            let summary = Summary {
                update_id: kind::update_ids(known),
                diff_id: ids_of(known, JobKind::ImageDiff),
                image_version_id: ids_of(known, JobKind::ImageVersion),
                ..Summary::default()
            };
            (Outcome::DryRun, summary)
        }
        Did::NotStarted { why, update_id } => {
            let summary = Summary { update_id: update_id.clone(), ..Summary::default() };
            (why.outcome(), summary)
        }
    };
    Verdict {
        outcome,
        decider: 0,
        summary: Summary { result: outcome.result(), simulated, ..summary },
    }
}

/// The verdict of a wait: the worst job's outcome decides.
fn waited(run: &GateRun, simulated: bool) -> Verdict {
    let outcome = run
        .jobs
        .iter()
        .filter_map(|f| f.end.outcome())
        .max_by_key(|o| o.severity())
        .unwrap_or(Outcome::Completed);
    let decider = run.jobs.iter().position(|f| f.end.outcome() == Some(outcome)).unwrap_or(0);
    let last = run.jobs.get(decider).and_then(|f| f.last.as_ref());
    let locked_by = run.jobs.iter().find_map(|f| match &f.end {
        End::Start(StartError::Locked { lock, .. }) => Some(lock.clone()),
        End::Refused(PollError::Api { locked_by, .. }) => locked_by.clone(),
        _ => None,
    });
    let jobs = || run.earlier.iter().chain(run.jobs.iter().map(|f| &f.job));
    let summary = Summary {
        result: outcome.result(),
        update_id: kind::update_ids(jobs()),
        diff_id: ids_of(jobs(), JobKind::ImageDiff),
        image_version_id: ids_of(jobs(), JobKind::ImageVersion),
        step: run.step.map(Step::step_name).unwrap_or_default().to_owned(),
        locked_by: locked_by.map(|lock| lock.reference()).unwrap_or_default(),
        state_id: last.and_then(|s| s.state_id),
        state: last.map(|s| s.state_label().to_owned()).unwrap_or_default(),
        progress: last.and_then(|s| s.progress),
        job_failed: last.is_some_and(|s| s.failed),
        error: String::new(),
        elapsed_seconds: whole_seconds(run.elapsed),
        polls: run.requests,
        simulated,
        pending_create: run.pending.map(|p| p.to_string()).unwrap_or_default(),
        jobs: run.jobs.iter().map(job_summary).collect(),
    };
    Verdict { outcome, decider, summary }
}

/// One job's row in the `jobs` key, but its error's words.
fn job_summary(finished: &Finished) -> JobSummary {
    let last = finished.last.as_ref();
    let counts = last.and_then(|s| s.counts);
    let completed = match finished.job.kind {
        JobKind::Install => Some(finished.completed_units),
        _ => counts.and_then(|c| c.completed),
    };
    JobSummary {
        job: finished.job.reference(),
        kind: finished.job.kind.name(),
        id: finished.job.id.clone(),
        result: finished.end.result(),
        state_id: last.and_then(|s| s.state_id),
        state: last.map(|s| s.state_label().to_owned()).unwrap_or_default(),
        progress: last.and_then(|s| s.progress),
        job_failed: last.is_some_and(|s| s.failed),
        error: String::new(),
        polls: finished.polls,
        elapsed_seconds: whole_seconds(finished.elapsed),
        elapsed: finished.elapsed,
        pending: counts.map(|c| c.pending),
        failed: counts.map(|c| c.failed),
        completed: counts.and(completed),
    }
}

/// The summary a deploy writes as it goes, `result` `running`: before a create goes out (`job`
/// is `Err`: the intent, as `pending_create`) and the moment it answers (`Ok`: its new ID). The
/// steps before it ended well (a chain goes on only then), so no row has an error to word.
pub(crate) fn checkpoint(
    finished: &[Finished],
    earlier: &[JobRef],
    job: Result<&JobRef, Pending>,
    step: Step,
    simulated: bool,
) -> Summary {
    let made = job.ok();
    let jobs = || earlier.iter().chain(finished.iter().map(|f| &f.job)).chain(made);
    let elapsed_seconds = finished.last().map_or(0, |f| whole_seconds(f.elapsed));
    let mut rows: Vec<JobSummary> = finished.iter().map(job_summary).collect();
    rows.extend(made.map(|job| JobSummary {
        job: job.reference(),
        kind: job.kind.name(),
        id: job.id.clone(),
        result: Word::Running,
        elapsed_seconds,
        ..JobSummary::default()
    }));
    Summary {
        result: Word::Running,
        update_id: kind::update_ids(jobs()),
        elapsed_seconds,
        simulated,
        diff_id: ids_of(jobs(), JobKind::ImageDiff),
        image_version_id: ids_of(jobs(), JobKind::ImageVersion),
        step: step.step_name().to_owned(),
        pending_create: job.err().map(|p| p.to_string()).unwrap_or_default(),
        jobs: rows,
        ..Summary::default()
    }
}

/// The report of what a gate did: its verdict ([`conclude`], the one producer of the
/// outcome and the result keys) put into words, on every path. A simulated run's sentences say
/// so.
pub(crate) fn report(ran: &Ran) -> Report {
    let Verdict { outcome, decider, mut summary } = conclude(ran);
    let (error, message) = match &ran.did {
        Did::Waited(run) => {
            let words: Vec<(String, String)> = run.jobs.iter().map(text::job_words).collect();
            for (row, (error, _)) in summary.jobs.iter_mut().zip(&words) {
                row.error.clone_from(error);
            }
            text::gate_words(run, outcome, decider, &words)
        }
        Did::Checked(checked) => text::check_words(checked),
        Did::DryRun { requests, .. } => (String::new(), text::dry_run(*requests)),
        Did::NotStarted { why, .. } => {
            let message = match why {
                NotStarted::Usage(error) => error.to_string(),
                NotStarted::Setup(error) => error.to_string(),
                NotStarted::Signal(signal) => text::cancelled_before_start(*signal),
                NotStarted::FilesNotRead(deadline) => text::files_not_read(*deadline),
            };
            (message.clone(), message)
        }
    };
    summary.error = error;
    Report { outcome, summary, message: text::simulated_mark(message, ran.simulated) }
}
