//! How a gate ended, and the one table of exit codes that `--help`, the README and the book repeat.
//!
//! An outcome is a value, not an error: a failed job is a correct answer from the gate.

use serde::Serialize;

/// How the gate ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The job completed.
    Completed,
    /// The job failed: `jobfailed` set, or state Failed or Squashed.
    Failed,
    /// A bad flag or environment value, found before any request.
    Usage,
    /// The deadline passed before the job ended.
    TimedOut,
    /// The job's state, progress and ETA did not change for `--stall-timeout`.
    Stalled,
    /// The API refused us or answered something we can't use.
    ApiError,
    /// A signal stopped the gate.
    Cancelled(Signal),
    /// `--dry-run` printed the requests it would send, and sent none that changes state.
    DryRun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
    /// The terminal or session went away (an ssh drop; some agents cancel with it).
    Hangup,
}

/// Every exit code, its outcome and what it means: the single source for `--help` and the
/// README.
pub const EXIT_CODES: &[(u8, &str, &str)] = &[
    (0, "success", "every job completed (with --dry-run: the plan was printed, result dry-run)"),
    (
        1,
        "failed",
        "a job failed (jobfailed set, state Failed or Squashed, a failed install, or more failed \
         machines than --max-failed-machines), or a deploy's diff found no changes without --full",
    ),
    (2, "error", "usage or configuration error (a flag or variable to fix)"),
    (3, "timeout", "the deadline (--timeout) passed; a job may still be running"),
    (
        4,
        "error",
        "API error: credentials or ASID refused, job not found, an error answer, an answer that \
         says neither success nor failure, a locked image, a create refused or of unknown outcome",
    ),
    (5, "stalled", "a job's state, progress and ETA did not change for --stall-timeout"),
    (129, "cancelled", "hung up by SIGHUP (a dropped session, some agents' cancel)"),
    (130, "cancelled", "interrupted by SIGINT"),
    (143, "cancelled", "terminated by SIGTERM"),
];

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Completed | Self::DryRun => 0,
            Self::Failed => 1,
            Self::Usage => 2,
            Self::TimedOut => 3,
            Self::ApiError => 4,
            Self::Stalled => 5,
            Self::Cancelled(Signal::Hangup) => 129,
            Self::Cancelled(Signal::Interrupt) => 130,
            Self::Cancelled(Signal::Terminate) => 143,
        }
    }

    /// How bad an outcome is, for a gate of many jobs, which reports its worst: a signal; then a
    /// usage error (nothing could run); an API error (the gate can't see the job: the least
    /// known, so the most alarming); a failed job (a definite failure); a stalled job (stuck,
    /// but maybe not failed); a timeout (no verdict, only time ran out); success.
    pub fn severity(self) -> u8 {
        match self {
            Self::Completed | Self::DryRun => 0,
            Self::TimedOut => 1,
            Self::Stalled => 2,
            Self::Failed => 3,
            Self::ApiError => 4,
            Self::Usage => 5,
            Self::Cancelled(_) => 6,
        }
    }

    /// Exit 0: every job completed, or a dry run printed its plan.
    pub fn is_success(self) -> bool {
        self.exit_code() == 0
    }

    /// The `result` key.
    pub fn result(self) -> Word {
        match self {
            Self::Completed => Word::Success,
            Self::DryRun => Word::DryRun,
            Self::Failed => Word::Failed,
            Self::TimedOut => Word::Timeout,
            Self::Stalled => Word::Stalled,
            Self::Usage | Self::ApiError => Word::Error,
            Self::Cancelled(_) => Word::Cancelled,
        }
    }
}

/// The `result` key's word, for the gate or a job: what every output writes, and what the
/// reports decide on (a JUnit case's element, a chart bar's tag), as a value, not a string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Word {
    Success,
    DryRun,
    Failed,
    Timeout,
    Stalled,
    #[default]
    Error,
    Cancelled,
    /// What a deploy writes the moment it creates a job: the gate goes on.
    Running,
    /// A job a fail-fast gate stopped waiting on when another ended it.
    Unfinished,
}

impl Word {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::DryRun => "dry-run",
            Self::Failed => "failed",
            Self::Timeout => "timeout",
            Self::Stalled => "stalled",
            Self::Error => "error",
            Self::Cancelled => "cancelled",
            Self::Running => "running",
            Self::Unfinished => "unfinished",
        }
    }

    /// Success, or a dry run that printed its plan.
    pub fn passed(self) -> bool {
        matches!(self, Self::Success | Self::DryRun)
    }
}

impl std::fmt::Display for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A duration in whole seconds, rounded to the nearest as the log rounds: the
/// `elapsed_seconds` key agrees with the log's "after 2.6s" (3).
pub fn whole_seconds(d: std::time::Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_millis() >= 500))
}

/// `--help`'s exit-code section.
pub(crate) fn exit_codes_help() -> String {
    let mut help = String::from("Exit codes:\n");
    for (code, _, meaning) in EXIT_CODES {
        // Wrapped here, with the meaning's own indent (clap would start each line at 0).
        let mut line = format!("  {code:>3} ");
        for word in meaning.split(' ') {
            if line.len() + 1 + word.len() > 96 {
                help.push_str(&line);
                help.push('\n');
                line = " ".repeat(6);
            }
            line.push(' ');
            line.push_str(word);
        }
        help.push_str(&line);
        help.push('\n');
    }
    help
}

/// One job's row in the `jobs` key.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct JobSummary {
    /// `KIND/ID`.
    pub job: String,
    pub kind: &'static str,
    pub id: String,
    pub result: Word,
    pub state_id: Option<i64>,
    pub state: String,
    pub progress: Option<u8>,
    pub job_failed: bool,
    pub error: String,
    pub polls: u32,
    pub elapsed_seconds: u64,
    /// From the start of the gate to the job's end, to the millisecond: what a report that
    /// times each job (JUnit, the chart) reads. Not a result key.
    #[serde(skip)]
    pub elapsed: std::time::Duration,
    /// Installs and rollouts: work left, given up, done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<u64>,
}

/// The final result: the keys of `--json`, `--result-file` and the CI outputs. The keys but
/// `jobs` describe the gate as a whole; for one job, that job.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Summary {
    pub result: Word,
    pub update_id: String,
    pub state_id: Option<i64>,
    pub state: String,
    pub progress: Option<u8>,
    pub job_failed: bool,
    /// The job's or the API's error text; empty when none.
    pub error: String,
    pub elapsed_seconds: u64,
    pub polls: u32,
    /// The API was `--demo`'s simulator: nothing was asked of Clanforge.
    pub simulated: bool,
    /// The IDs of the diffs, space-separated (made by a start or deploy, or waited on).
    pub diff_id: String,
    /// The IDs of the image versions, space-separated.
    pub image_version_id: String,
    /// A start or deploy: the step reached (`update`, `diff`, `version`, `installs`,
    /// `rollout`); empty for a plain wait.
    pub step: String,
    /// The job that locks the image, as `diff/<id>` or `update/<id>`, when a lock stopped the
    /// gate.
    pub locked_by: String,
    /// A create sent whose outcome is not known (`update 1796170000`: the step, and when it
    /// went out by the server's clock): written before it goes out, so that a rerun after a
    /// kill reads state instead of sending it again. Empty when none.
    pub pending_create: String,
    pub jobs: Vec<JobSummary>,
}

impl Summary {
    /// Every key with its value as text, in the documented order: what the CI outputs write.
    /// Absent numbers are empty strings; `job_failed` is `true` or `false`.
    pub(crate) fn pairs(&self) -> [(&'static str, String); 16] {
        let opt = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        [
            ("result", self.result.to_string()),
            ("update_id", self.update_id.clone()),
            ("state_id", opt(self.state_id)),
            ("state", self.state.clone()),
            ("progress", opt(self.progress.map(i64::from))),
            ("job_failed", self.job_failed.to_string()),
            ("error", self.error.clone()),
            ("elapsed_seconds", self.elapsed_seconds.to_string()),
            ("polls", self.polls.to_string()),
            ("simulated", self.simulated.to_string()),
            ("diff_id", self.diff_id.clone()),
            ("image_version_id", self.image_version_id.clone()),
            ("step", self.step.clone()),
            ("locked_by", self.locked_by.clone()),
            ("pending_create", self.pending_create.clone()),
            // One line of JSON: serde escapes every line break.
            ("jobs", serde_json::to_string(&self.jobs).unwrap_or_else(|_| "[]".into())),
        ]
    }
}

/// The variable a key is written as: `CLANFORGE_<KEY>`, but for `jobs`, whose name as an input
/// (`CLANFORGE_JOBS`, the jobs to wait on) it must not take: GitLab gives a dotenv report's
/// variables precedence over a later job's own, so the result would become that job's input.
pub fn variable(key: &str) -> String {
    match key {
        "jobs" => "CLANFORGE_JOB_RESULTS".to_owned(),
        key => format!("CLANFORGE_{}", key.to_ascii_uppercase()),
    }
}
