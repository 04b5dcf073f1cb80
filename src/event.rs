//! The contract between the wait loop and its reporters: the events the loop emits while it
//! runs, the facts it ends with, and the [`Reporter`] trait. Both sides import this module and
//! neither imports the other, so data flows one way: loop → events → reporters.
//!
//! Nothing here is a sentence: the loop states what happened, and the reporters (with the words
//! in [`crate::report::text`]) say it.

use crate::api::PollError;
use crate::chain::{IfLocked, Step};
use crate::job::JobStatus;
use crate::kind::JobRef;
use crate::outcome::{Outcome, Signal, Summary};
use std::path::PathBuf;
use std::time::Duration;

/// What the loop tells reporters while it runs. Every event but the first and the ticks names
/// its job.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    Started {
        jobs: &'a [JobRef],
        /// Each job's status URL, in the same order.
        urls: &'a [String],
        timeout: Duration,
    },
    /// Every successful poll, changed or not.
    Polled {
        job: &'a JobRef,
        status: &'a JobStatus,
        poll: u32,
        /// Nothing is queued for the job yet (an install list or a rollout that has shown no
        /// work): its state reads Complete, and it is not done.
        idle: bool,
    },
    /// The first poll that shows a state this client does not know.
    UnknownState { job: &'a JobRef, status: &'a JobStatus },
    /// Nothing is queued yet (no install listed, no machine pending) at the first look: the
    /// gate waits up to `settle` for work to appear before it calls the job done.
    Settling { job: &'a JobRef, settle: Duration },
    /// A transient failure; the job's next poll comes after `wait`.
    Retrying { job: &'a JobRef, error: &'a PollError, failures: u32, wait: Duration },
    /// Time passes with nothing to say.
    Tick,
    /// A step of a start or a deploy begins (`index` counts from 1). `job` is known unless the
    /// step creates it.
    Step { index: usize, total: usize, step: Step, job: Option<&'a JobRef> },
    /// A create is about to go out, once: the request as `--dry-run` shows it.
    Creating { step: Step, request: &'a str },
    /// A create answered with its new job (the checkpoint that records it goes to
    /// [`Reporter::checkpoint`]).
    Created { job: &'a JobRef },
    /// A create's answer was lost, and the API names this job, made after the request went
    /// out: the gate takes it as the one it created.
    Adopted { job: &'a JobRef, created: i64 },
    /// A diff or an update locks the image; `if_locked` is what the gate does about it.
    Locked { lock: &'a JobRef, image: &'a str, if_locked: IfLocked },
    /// Nothing locks the image any more.
    Unlocked { image: &'a str },
    /// The gate rejected this diff (`--if-locked reject`), releasing the image.
    Rejected { diff: &'a JobRef },
    /// A diff found nothing added, modified or removed.
    NoChanges { diff: &'a JobRef, full: bool },
    /// `--dry-run`: the requests the command would send, in order. None was sent.
    DryRun { requests: &'a [String] },
    /// `check`: one thing looked at, and what it showed.
    Checked { check: &'a Check },
    /// A read a start makes (the lock, a job's status) failed for a transient reason; the next
    /// try comes after `wait`.
    ReadRetrying { what: String, error: &'a PollError, failures: u32, wait: Duration },
}

/// One line of `check`: what was looked at, how it went, and what was seen (or what to fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    /// `DNS`, `connect`, `credentials`, …
    pub name: &'static str,
    pub verdict: CheckVerdict,
    pub detail: String,
}

/// What `check` saw: each probe's line, and how many requests it took.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checked {
    pub checks: Vec<Check>,
    pub requests: u32,
    pub elapsed: std::time::Duration,
}

impl Checked {
    /// The checks that failed, in the order they ran.
    pub(crate) fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.verdict == CheckVerdict::Failed)
    }

    /// How many checks ended with `verdict`.
    pub(crate) fn count(&self, verdict: CheckVerdict) -> usize {
        self.checks.iter().filter(|c| c.verdict == verdict).count()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckVerdict {
    Ok,
    /// Works, but something deserves a look (a clock far off, a base URL with a path).
    Warning,
    /// Does not work: the set-up needs a fix.
    Failed,
    /// Not a pass or a fail: what the gate will use (the base URL, the proxy).
    Info,
}

/// Why a step could not make its job. Each names what the gate knows and nothing more.
#[derive(Debug, Clone)]
pub(crate) enum StartError {
    /// A diff or update locks the image. `raced`: it appeared between the check and the
    /// create, which the API refused.
    Locked { lock: JobRef, image: String, if_locked: IfLocked, raced: bool },
    /// The create never left this machine: nothing was made.
    NotSent(String),
    /// The create left and no usable answer came; reading state did not settle it.
    Unknown { reason: String, found: Found },
    /// `--if-locked wait`: the lock outlasted the deadline. Nothing was created.
    LockOutlasted { lock: JobRef, image: String },
    /// The diff found no changes, and a version needs `--full` for that.
    NoChanges { diff: JobRef },
    /// What the create needs is missing (an ID the chain did not reach).
    Missing(&'static str),
    /// The checkpoint could not be written: the deploy stops before its next create, which a
    /// rerun could otherwise not know of.
    Checkpoint(String),
}

/// What reading state found after a create whose outcome is unknown.
#[derive(Debug, Clone)]
pub(crate) enum Found {
    /// Nothing locks the image: most likely nothing was made.
    Nothing,
    /// A job of the kind locks the image, but it was made before the request went out.
    Older { job: JobRef, created: Option<i64> },
    /// Another kind of job locks the image.
    Other(JobRef),
    /// A version's diff still locks the image: the version was not made.
    StillLocked(JobRef),
    /// A version's diff no longer locks the image: a version was most likely made, its ID
    /// unknown.
    Released(JobRef),
    /// The lock can't be looked up: no game or image ID.
    CantCheck,
    /// Reading state failed too.
    ReadFailed(PollError),
}

/// Why a wait ended.
#[derive(Debug, Clone)]
pub(crate) enum End {
    Completed,
    JobFailed,
    /// The API refused us or answered something we can't use.
    Refused(PollError),
    /// The server asked (`Retry-After`) for a pause that ends after the deadline.
    RetryAfterPastDeadline(Duration),
    TimedOut,
    /// Nothing the job reports (state, progress, ETA) changed for this long.
    Stalled(Duration),
    Cancelled(Signal),
    /// Not waited on to the end: another job failed first (fail fast).
    Unfinished,
    /// A step could not make its job.
    Start(StartError),
}

impl End {
    /// What this end means for the gate; `None` for a job stopped because another failed.
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        Some(match self {
            Self::Completed => Outcome::Completed,
            Self::JobFailed => Outcome::Failed,
            Self::Refused(_) => Outcome::ApiError,
            Self::RetryAfterPastDeadline(_) | Self::TimedOut => Outcome::TimedOut,
            Self::Stalled(_) => Outcome::Stalled,
            Self::Cancelled(signal) => Outcome::Cancelled(*signal),
            Self::Unfinished => return None,
            Self::Start(StartError::NoChanges { .. }) => Outcome::Failed,
            Self::Start(StartError::LockOutlasted { .. }) => Outcome::TimedOut,
            Self::Start(StartError::Checkpoint(_)) => Outcome::Usage,
            Self::Start(_) => Outcome::ApiError,
        })
    }

    /// The job's `result` word.
    pub(crate) fn result(&self) -> crate::outcome::Word {
        self.outcome().map_or(crate::outcome::Word::Unfinished, Outcome::result)
    }

    /// An end that stops a fail-fast gate: the job failed, stalled or the API refused it.
    pub(crate) fn fails_fast(&self) -> bool {
        matches!(self, Self::JobFailed | Self::Refused(_) | Self::Stalled(_))
    }
}

/// How one job's wait ended: what the loop saw, without a word of prose.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub job: JobRef,
    pub end: End,
    /// The last status the API gave, if any.
    pub last: Option<JobStatus>,
    /// The last transient failure, while no status has come since.
    pub last_error: Option<PollError>,
    pub polls: u32,
    /// From the start of the gate to this job's end.
    pub elapsed: Duration,
    /// The deadline the wait had.
    pub timeout: Duration,
    /// The stall limit the wait had, if any.
    pub stall_timeout: Option<Duration>,
    /// Work was listed at some poll (an install, a pending machine); for a kind that settles,
    /// "done" means it was seen and is gone, else that nothing appeared within `settle`.
    pub seen_work: bool,
    pub settle: Duration,
    /// Units of work seen and gone since (install jobs).
    pub completed_units: u64,
}

/// How a gate of one or more jobs went.
#[derive(Debug, Clone)]
pub(crate) struct GateRun {
    /// One per job, in the order given.
    pub jobs: Vec<Finished>,
    /// Requests sent: jobs that share an endpoint share its requests.
    pub requests: u32,
    pub elapsed: Duration,
    /// A start or deploy: the step reached.
    pub step: Option<Step>,
    /// A start or deploy: jobs made before this run's first step (given or resumed), whose IDs
    /// the result still carries.
    pub earlier: Vec<JobRef>,
    /// A create whose outcome this run could not settle (it went out, and nothing told whether
    /// it made a job): the result keeps it, so that no rerun sends it again blindly.
    pub pending: Option<crate::chain::Pending>,
}

/// What every reporter gets at the end: the outcome, the result keys and one line for a person.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub outcome: Outcome,
    pub summary: Summary,
    /// One line for a person: what happened and, where there is something to do, what.
    pub message: String,
}

impl Report {
    /// A gate that made no request (a usage error, a signal before the first) keeps the IDs an
    /// earlier run's checkpoint held: its result word says it did not run, and a later
    /// `--resume-from` still finds what was made.
    pub(crate) fn keeping(mut self, checkpoint: &crate::chain::Ids) -> Self {
        let not_run = self.summary.polls == 0
            && self.summary.jobs.is_empty()
            && matches!(self.outcome, Outcome::Usage | Outcome::Cancelled(_) | Outcome::TimedOut);
        if not_run {
            let s = &mut self.summary;
            for (slot, id) in [
                (&mut s.update_id, &checkpoint.update),
                (&mut s.diff_id, &checkpoint.diff),
                (&mut s.image_version_id, &checkpoint.version),
            ] {
                if slot.is_empty()
                    && let Some(id) = id
                {
                    slot.clone_from(id);
                }
            }
            // A create an earlier run left unsettled stays on record, or a rerun sends it again.
            if s.pending_create.is_empty()
                && let Some(pending) = checkpoint.pending
            {
                s.pending_create = pending.to_string();
            }
        }
        self
    }
}

/// A destination for the wait loop's events and its final report.
pub(crate) trait Reporter {
    /// Before the first request: can this destination be written? A path that can't is a
    /// usage error then, not a surprise at the end.
    fn check(&self) -> Result<(), ReportError> {
        Ok(())
    }

    fn on_event(&mut self, _event: &Event<'_>) {}

    /// A deploy's checkpoint (every ID known, and a create about to go out): written and made
    /// durable now. An error stops the deploy before its next create.
    fn checkpoint(&mut self, _summary: &crate::outcome::Summary) -> Result<(), ReportError> {
        Ok(())
    }

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

    fn checkpoint(&mut self, summary: &crate::outcome::Summary) -> Result<(), ReportError> {
        each(self, |reporter| reporter.checkpoint(summary))
    }

    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        each(self, |reporter| reporter.on_finish(report))
    }
}

/// Runs `write` on every reporter, even after one fails; the first error is the answer.
fn each(
    reporters: &mut [Box<dyn Reporter>],
    mut write: impl FnMut(&mut Box<dyn Reporter>) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let mut first_error = Ok(());
    for reporter in reporters {
        let written = write(reporter);
        if first_error.is_ok() {
            first_error = written;
        }
    }
    first_error
}

#[derive(Debug, thiserror::Error)]
#[error("could not write {what} {}: {source}", path.display())]
pub(crate) struct ReportError {
    pub what: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
}
