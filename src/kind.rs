//! The kinds of Clanforge work the gate waits on, and the only home of what differs between
//! them: how a reference is written (`KIND/ID`), the status URL, the key that echoes the job's
//! ID, and how an answer becomes a [`JobStatus`]. The loop, the schedule and the reporters are
//! the same for every kind.
//!
//! | kind | status endpoint | done |
//! |---|---|---|
//! | `update/<updateid>` | `cfp/v1/imageupdate/<id>/status` | state 5 |
//! | `diff/<diffid>` | `cfp/v1/imagediff/<id>/status` | state 5 |
//! | `version/<imageversionid>` | `cfp/v1/imageversion/<id>/status` | state 5 |
//! | `install/<imageversionid>`, `install` | `cfp/v1/imageinstall/status` (incomplete installs) | no entry left |
//! | `rollout/<imageid>` | `cfp/v2/project/<asid>/image/<imageid>/status` | `pending_machines` = 0 |

use crate::evidence;
use crate::job::{Answer, BodyError, Counts, JobState, JobStatus, error_of, int, object};
use crate::untrusted::excerpt;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// An image update on the build machine.
    ImageUpdate,
    /// A diff between the build machine and the image.
    ImageDiff,
    /// An image version packaged from a diff.
    ImageVersion,
    /// The installs of an image version across the fleet (or of every version).
    Install,
    /// An image's rollout to every running machine (the v2 image status).
    Rollout,
}

impl JobKind {
    pub const ALL: [Self; 5] =
        [Self::ImageUpdate, Self::ImageDiff, Self::ImageVersion, Self::Install, Self::Rollout];

    /// The word before the slash: `update/4711`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ImageUpdate => "update",
            Self::ImageDiff => "diff",
            Self::ImageVersion => "version",
            Self::Install => "install",
            Self::Rollout => "rollout",
        }
    }

    /// The key that holds the job's own ID in a job-style status answer.
    pub fn id_key(self) -> Option<&'static str> {
        match self {
            Self::ImageUpdate => Some("updateid"),
            Self::ImageDiff => Some("diffid"),
            Self::ImageVersion => Some("imageversionid"),
            Self::Install | Self::Rollout => None,
        }
    }

    /// An empty answer at the first look may only mean that nothing has been queued yet (right
    /// after a version completes): such a kind is done once its work was seen and is gone, or
    /// when nothing has appeared within the settle period.
    pub fn settles(self) -> bool {
        matches!(self, Self::Install | Self::Rollout)
    }

    /// What a person calls a job of this kind: "image update".
    pub fn noun(self) -> &'static str {
        match self {
            Self::ImageUpdate => "image update",
            Self::ImageDiff => "image diff",
            Self::ImageVersion => "image version",
            Self::Install => "installs",
            Self::Rollout => "rollout",
        }
    }

    /// "update, diff, version, install, rollout".
    pub fn list() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

/// One thing to wait on: its kind and its ID as the user gave it (empty for a bare `install`:
/// every install).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobRef {
    pub kind: JobKind,
    pub id: String,
}

impl JobRef {
    pub fn new(kind: JobKind, id: impl Into<String>) -> Self {
        Self { kind, id: id.into() }
    }

    /// `update/4711`, or `install` for every install.
    pub fn reference(&self) -> String {
        if self.id.is_empty() {
            self.kind.name().to_owned()
        } else {
            format!("{}/{}", self.kind.name(), self.id)
        }
    }

    /// The status endpoint's path segments below the API root.
    pub fn path<'a>(&'a self, asid: &'a str) -> Vec<&'a str> {
        let v1 = |segment| vec!["cfp", "v1", segment, self.id.as_str(), "status"];
        match self.kind {
            JobKind::ImageUpdate => v1("imageupdate"),
            JobKind::ImageDiff => v1("imagediff"),
            JobKind::ImageVersion => v1("imageversion"),
            JobKind::Install => vec!["cfp", "v1", "imageinstall", "status"],
            JobKind::Rollout => vec!["cfp", "v2", "project", asid, "image", &self.id, "status"],
        }
    }

    /// What a 2xx answer from this job's status endpoint says about it.
    pub fn read(&self, body: &[u8]) -> Result<Answer, BodyError> {
        match self.kind.id_key() {
            Some(key) => crate::job::parse_answer(body, key),
            None if self.kind == JobKind::Install => self.read_installs(body),
            None => read_rollout(body),
        }
    }

    /// The incomplete installs of this version (or of all): what is left of the work.
    fn read_installs(&self, body: &[u8]) -> Result<Answer, BodyError> {
        // Each entry read into its status as it is parsed (see `fleet`).
        let list = match crate::fleet::read(body, &self.id) {
            Ok(list) => list,
            // Not an object, or not JSON: the general reading says which, as for any answer.
            Err(_) => {
                return match object(body)? {
                    Ok(_) => Err(BodyError::NoState {
                        expected: "an installs list",
                        excerpt: excerpt(body),
                    }),
                    Err(error) => Ok(error),
                };
            }
        };
        evidence::no_duplicate(&list.duplicates)?;
        if let Some(error) = error_of(&list.top)? {
            return Ok(error);
        }
        let Some(mine) = list.installs else {
            return Err(BodyError::NoState {
                expected: "an installs list",
                excerpt: excerpt(body),
            });
        };
        if let Some(unclear) = mine.ambiguous {
            return Err(unclear.into());
        }
        // A failed install is a failure whatever the others do: the reading that can't turn a
        // failure into a success. Else the least advanced state of what is left; none left is
        // done.
        let state = match (mine.failed, mine.least) {
            (1.., _) => JobState::Failed,
            (0, Some(least)) => least,
            (0, None) => JobState::Complete,
        };
        let mut status = JobStatus::synthesized(state);
        status.failed = mine.failed > 0;
        status.error = mine.error;
        status.progress =
            mine.progress_sum.checked_div(mine.progress_count).map(|p| p.min(100) as u8);
        status.eta = mine.eta;
        status.units = mine.units;
        status.counts = Some(Counts { pending: mine.left, failed: mine.failed, completed: None });
        Ok(Answer::Status(status))
    }
}

/// The v2 image status: machine counts, no job fields. The two the verdict reads, pending and
/// failed machines, must be there and be counts; `completed_machines` only informs progress.
fn read_rollout(body: &[u8]) -> Result<Answer, BodyError> {
    let obj = match object(body)? {
        Ok(obj) => obj,
        Err(error) => return Ok(error),
    };
    if obj.get("pending_machines").is_none() {
        return Err(BodyError::NoState { expected: "pending_machines", excerpt: excerpt(body) });
    }
    let pending = evidence::count(&obj, "pending_machines")?;
    let failed = evidence::count(&obj, "failed_machines")?;
    let completed = int(obj.get("completed_machines")).map(|n| n.max(0) as u64);
    let state = if pending > 0 { JobState::Running } else { JobState::Complete };
    let mut status = JobStatus::synthesized(state);
    // Counts come from the server: add and multiply without overflow.
    let total = pending.saturating_add(failed).saturating_add(completed.unwrap_or(0));
    status.progress =
        completed.unwrap_or(0).saturating_mul(100).checked_div(total).map(|p| p.min(100) as u8);
    status.counts = Some(Counts { pending, failed, completed });
    Ok(Answer::Status(status))
}

/// The `update_id` key: the IDs of the image updates among `jobs`, separated by spaces.
pub(crate) fn update_ids<'a>(jobs: impl IntoIterator<Item = &'a JobRef>) -> String {
    ids_of(jobs, JobKind::ImageUpdate)
}

/// The IDs of the jobs of `kind` among `jobs`, separated by spaces (`diff_id`, …).
pub(crate) fn ids_of<'a>(jobs: impl IntoIterator<Item = &'a JobRef>, kind: JobKind) -> String {
    let ids: Vec<&str> = jobs
        .into_iter()
        .filter(|job| job.kind == kind && !job.id.is_empty())
        .map(|job| job.id.as_str())
        .collect();
    ids.join(" ")
}

/// Two IDs name the same job: equal as numbers whatever their form (`"0125"` and `125.0` are
/// 125), else as text.
pub(crate) fn same_id(got: &str, asked: &str) -> bool {
    let (got, asked) = (got.trim(), asked.trim());
    match (evidence::id_text(got), evidence::id_text(asked)) {
        (Some(a), Some(b)) => a == b,
        _ => got == asked,
    }
}

impl fmt::Display for JobRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, self.id.is_empty()) {
            (JobKind::ImageUpdate | JobKind::ImageDiff | JobKind::ImageVersion, _) => {
                write!(f, "{} {}", self.kind.noun(), self.id)
            }
            (JobKind::Install, true) => write!(f, "every pending install"),
            (JobKind::Install, false) => write!(f, "the installs of image version {}", self.id),
            (JobKind::Rollout, _) => write!(f, "the rollout of image {}", self.id),
        }
    }
}

/// A reference that is not `KIND/ID`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{reference:?} is not a job: {why}; write KIND/ID with KIND one of {}, e.g. update/4711",
    JobKind::list()
)]
pub struct RefError {
    pub reference: String,
    pub why: &'static str,
}

impl FromStr for JobRef {
    type Err = RefError;

    fn from_str(reference: &str) -> Result<Self, RefError> {
        let error = |why| RefError { reference: reference.to_owned(), why };
        let trimmed = reference.trim();
        let (name, id) = match trimmed.split_once('/') {
            Some((name, id)) => (name, Some(id)),
            None => (trimmed, None),
        };
        let kind = JobKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name.to_ascii_lowercase())
            .ok_or_else(|| error("unknown kind"))?;
        let id = match id {
            None if kind == JobKind::Install => return Ok(Self::new(kind, "")),
            None => return Err(error("no ID")),
            Some(id) => id,
        };
        if id.contains('/') {
            return Err(error("too many parts"));
        }
        match id.parse::<u64>() {
            Ok(n) if n > 0 && id.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(Self::new(kind, n.to_string()))
            }
            _ if id.is_empty() => Err(error("no ID")),
            _ => Err(error("the ID is not a positive integer")),
        }
    }
}
