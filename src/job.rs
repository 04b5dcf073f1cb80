//! What a job status answer says: tolerant parsing of the body, the job's state, and whether
//! that state means keep waiting, success or failure.
//!
//! Clanforge's documented types drift from what it sends (`jobstart` is documented as a string
//! while its siblings are integers), so every numeric field takes a number or a numeric string,
//! every optional field takes `null` or absence, and unknown fields are ignored. The fields that
//! decide the outcome (the state, `jobfailed`, `joberror`, the job's ID) are read by
//! [`crate::evidence`]'s one rule, where a value that might mean failure is never a success;
//! the rest inform the log, and one that can't be read there is as if absent.

use crate::evidence::{self, Ambiguous};
use crate::untrusted::{excerpt, one_line};
use serde_json::{Map, Value};

pub use crate::state::{JobState, Phase};

/// A job's status, as read from one successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct JobStatus {
    pub state: JobState,
    pub state_id: Option<i64>,
    /// The state's name as the server spelled it, if it sent one.
    pub state_name: Option<String>,
    /// Percent done, clamped to 0–100.
    pub progress: Option<u8>,
    /// `jobfailed` ≠ 0.
    pub failed: bool,
    /// `joberror`, when the server sent a non-empty one.
    pub error: Option<String>,
    /// `jobeta`, Unix seconds.
    pub eta: Option<i64>,
    /// The job's own ID as the answer gives it (`updateid`, …), when it gives one.
    pub job_id: Option<String>,
    /// Work left and done, for what spans many machines (installs, rollouts).
    pub counts: Option<Counts>,
    /// The IDs of the units of work still listed (install job IDs, as numbers).
    pub units: Vec<u64>,
    /// The server's clock when it answered (its `Date` header), Unix seconds.
    pub server_time: Option<i64>,
    /// `jobcreated`, Unix seconds: when the job was made.
    pub created: Option<i64>,
    /// A diff's file changes (`added`, `modified` and `removed` together), when the answer
    /// lists them.
    pub changes: Option<u64>,
}

/// Machines or install jobs: still to do, given up, done (where the API says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub pending: u64,
    pub failed: u64,
    pub completed: Option<u64>,
}

impl JobStatus {
    /// A status the gate puts together itself (from an install list, machine counts).
    pub fn synthesized(state: JobState) -> Self {
        Self {
            state,
            state_id: None,
            state_name: None,
            progress: None,
            failed: false,
            error: None,
            eta: None,
            job_id: None,
            server_time: None,
            created: None,
            changes: None,
            counts: None,
            units: Vec::new(),
        }
    }

    /// `jobfailed` wins over the state: a job flagged failed has failed, whatever its state.
    /// More failed machines than `allowed_failures` fail a rollout.
    pub fn phase(&self, allowed_failures: u64) -> Phase {
        if self.is_failure() || self.counts.is_some_and(|c| c.failed > allowed_failures) {
            Phase::Failed
        } else {
            self.state.phase()
        }
    }

    /// Flagged failed, or in a failed state.
    pub fn is_failure(&self) -> bool {
        self.failed || self.state.phase() == Phase::Failed
    }

    /// Seconds from now to `jobeta` (negative once it has passed), counted by the server's
    /// clock when it said (else `local_now`): a server whose clock is off still gives a true
    /// offset. `None` when there is no ETA or it is not plausible ([`PLAUSIBLE_ETA`]): the log
    /// and the schedule both read the ETA through here, so neither trusts what the other hides.
    pub fn eta_offset(&self, local_now: i64) -> Option<i64> {
        let eta = self.eta.filter(|e| *e > 0)?;
        let offset = eta.checked_sub(self.server_time.unwrap_or(local_now))?;
        (offset.unsigned_abs() <= PLAUSIBLE_ETA.as_secs()).then_some(offset)
    }

    /// Time left until `jobeta`; zero once it has passed.
    pub fn eta_remaining(&self, local_now: i64) -> Option<std::time::Duration> {
        let offset = self.eta_offset(local_now)?;
        Some(std::time::Duration::from_secs(u64::try_from(offset).unwrap_or(0)))
    }

    /// The state as the log should name it: the server's own spelling when it sent one.
    pub fn state_label(&self) -> &str {
        match &self.state_name {
            Some(name) if !name.trim().is_empty() => name.trim(),
            _ => match (self.state, self.state_id) {
                (JobState::Unknown, Some(_)) => "unknown state",
                (state, _) => state.name(),
            },
        }
    }
}

/// What a 2xx answer's body says.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Status(JobStatus),
    /// A body with `success: false` or `error: true`.
    Error {
        code: Option<i64>,
        /// Through the one filter, to be shown.
        message: String,
        /// As the server sent it, only to be read (the job a lock message names): a secret
        /// redacted from `message` could have cut an ID in two. Never shown.
        said: String,
    },
}

/// Why a body could not be read as an answer.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BodyError {
    /// Not JSON at all: an HTML page from a proxy, a truncated body. Usually transient.
    #[error("the body is not JSON ({reason}): {excerpt}")]
    NotJson { reason: String, excerpt: String },
    /// JSON, but not an object we can use.
    #[error("the answer is not a status (no {expected}): {excerpt}")]
    NoState { expected: &'static str, excerpt: String },
    /// A field the verdict reads says neither one thing nor the other ([`crate::evidence`]).
    #[error("the answer is ambiguous: {0}")]
    Ambiguous(#[from] Ambiguous),
}

/// An ETA further than this from now, either way, says more about the server's clock or a bug
/// than about the job: it is ignored, as if the answer had none.
pub const PLAUSIBLE_ETA: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// This machine's clock, Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Reads the body of a job-style status endpoint, whose answer echoes the job's ID in `id_key`.
pub fn parse_answer(body: &[u8], id_key: &str) -> Result<Answer, BodyError> {
    let obj = match object(body)? {
        Ok(obj) => obj,
        Err(error) => return Ok(error),
    };
    status_of(&obj, Some(id_key))?.map(Answer::Status).ok_or_else(|| BodyError::NoState {
        expected: "jobstateid or jobstatename",
        excerpt: excerpt(body),
    })
}

/// A body as a JSON object, or (inner `Err`) the error answer it is. A field the verdict reads
/// given twice makes it ambiguous.
pub(crate) fn object(body: &[u8]) -> Result<Result<Map<String, Value>, Answer>, BodyError> {
    let obj = match serde_json::from_slice::<evidence::Object>(body) {
        Ok(obj) => obj,
        // JSON, but not an object.
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            return Err(BodyError::NoState { expected: "JSON object", excerpt: excerpt(body) });
        }
        Err(e) => {
            return Err(BodyError::NotJson { reason: e.to_string(), excerpt: excerpt(body) });
        }
    };
    evidence::no_duplicate(&obj.duplicates)?;
    Ok(match error_of(&obj.fields)? {
        Some(error) => Err(error),
        None => Ok(obj.fields),
    })
}

/// The job fields of one object (a status answer, an install entry); `None` without a state.
/// The fields the verdict reads are read by [`crate::evidence`]'s one rule: a state ID and name
/// that contradict, a `jobfailed` that says neither, or a completed state with an error text is
/// ambiguous, never a success.
pub(crate) fn status_of(
    obj: &Map<String, Value>,
    id_key: Option<&str>,
) -> Result<Option<JobStatus>, Ambiguous> {
    let Some(read) = evidence::state(obj)? else {
        return Ok(None);
    };
    let failed = evidence::failed(obj, "jobfailed")?;
    let error = text(obj.get("joberror"));
    if let (JobState::Complete, false, Some(_)) = (read.state, failed, &error) {
        return Err(Ambiguous::new(
            "joberror",
            obj.get("joberror"),
            "an error text on a job whose state says it completed",
        ));
    }
    Ok(Some(JobStatus {
        state_id: read.id,
        state_name: read.name,
        progress: int(obj.get("jobprogress")).map(|p| p.clamp(0, 100) as u8),
        failed,
        error,
        eta: int(obj.get("jobeta")),
        // A number compares as one (`424242.0` is 424242); anything else is shown as it came.
        job_id: id_key.and_then(|key| {
            let value = obj.get(key)?;
            evidence::id(value).map(|id| id.to_string()).or_else(|| text(Some(value)))
        }),
        created: int(obj.get("jobcreated")),
        changes: changes(obj),
        ..JobStatus::synthesized(read.state)
    }))
}

/// How many files a diff answer lists under `added`, `modified` and `removed` (maps, though a
/// list is counted too); `None` when it has none of the three.
fn changes(obj: &Map<String, Value>) -> Option<u64> {
    let lists: Vec<usize> = ["added", "modified", "removed"]
        .into_iter()
        .filter_map(|key| match obj.get(key)? {
            Value::Object(map) => Some(map.len()),
            Value::Array(list) => Some(list.len()),
            _ => Some(0),
        })
        .collect();
    (!lists.is_empty()).then(|| lists.iter().sum::<usize>() as u64)
}

/// An error body: `success: false` or `error: true`, with `error_message` / `error_code`. One
/// of the two that says an error wins; one that says neither, without the other saying error,
/// is ambiguous.
pub(crate) fn error_of(obj: &Map<String, Value>) -> Result<Option<Answer>, Ambiguous> {
    let unsuccessful = evidence::flag(obj, "success").map(|f| f == Some(false));
    let errored = evidence::flag(obj, "error").map(|f| f == Some(true));
    match (unsuccessful, errored) {
        (Ok(true), _) | (_, Ok(true)) => {}
        (Err(unclear), _) | (_, Err(unclear)) => return Err(unclear),
        (Ok(false), Ok(false)) => return Ok(None),
    }
    let said = ["error_message", "message"]
        .into_iter()
        .find_map(|key| match obj.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "the API reported an error without a message".to_owned());
    Ok(Some(Answer::Error { code: int(obj.get("error_code")), message: one_line(&said), said }))
}

/// A number, or a string holding one; fractions are truncated.
pub(crate) fn int(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| f as i64))
        }
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A non-empty string; numbers are taken as their text.
pub(crate) fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(one_line(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
