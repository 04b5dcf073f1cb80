//! The jobs the simulated API serves, in the API's own terms: a kind, an ID, a state number and
//! its name. The gate's reading of the same (its `kind` and `state` modules) is not used here,
//! so that the simulator can't agree with the gate on a misreading.

use std::fmt;
use std::str::FromStr;

/// A kind of job, as the gate's references name it (`update/4711`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    ImageUpdate,
    ImageDiff,
    ImageVersion,
    /// The install list (of one image version, or of every one).
    Install,
    /// The v2 image status.
    Rollout,
}

impl JobKind {
    const ALL: [Self; 5] =
        [Self::ImageUpdate, Self::ImageDiff, Self::ImageVersion, Self::Install, Self::Rollout];

    fn name(self) -> &'static str {
        match self {
            Self::ImageUpdate => "update",
            Self::ImageDiff => "diff",
            Self::ImageVersion => "version",
            Self::Install => "install",
            Self::Rollout => "rollout",
        }
    }

    /// The key that echoes the job's ID in its status answer.
    pub(crate) fn id_key(self) -> Option<&'static str> {
        match self {
            Self::ImageUpdate => Some("updateid"),
            Self::ImageDiff => Some("diffid"),
            Self::ImageVersion => Some("imageversionid"),
            Self::Install | Self::Rollout => None,
        }
    }
}

/// One job: its kind and ID (empty for the whole install list).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobRef {
    pub kind: JobKind,
    pub id: String,
}

impl JobRef {
    pub fn new(kind: JobKind, id: impl Into<String>) -> Self {
        Self { kind, id: id.into() }
    }
}

/// `update/4711`, or `install` for the whole list: the gate's reference.
impl fmt::Display for JobRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id.as_str() {
            "" => f.write_str(self.kind.name()),
            id => write!(f, "{}/{id}", self.kind.name()),
        }
    }
}

/// A reference as the gate writes it: `KIND/ID`, or `install`.
impl FromStr for JobRef {
    type Err = String;

    fn from_str(reference: &str) -> Result<Self, String> {
        let (name, id) = reference.trim().split_once('/').unwrap_or((reference.trim(), ""));
        let kind = JobKind::ALL.into_iter().find(|kind| kind.name() == name);
        match kind {
            Some(kind) if !id.is_empty() || kind == JobKind::Install => Ok(Self::new(kind, id)),
            _ => Err(format!("{reference:?} is not KIND/ID")),
        }
    }
}

/// The name Clanforge gives a state (5 is "Complete" in the docs, "Completed" on the wire).
pub(crate) fn state_name(state_id: i64) -> &'static str {
    match state_id {
        1 => "Created",
        2 => "Pending",
        3 => "Queued",
        4 => "Running",
        5 => "Complete",
        6 => "Failed",
        7 => "Squashed",
        _ => "Unknown",
    }
}

/// Seconds since the Unix epoch, as the API's times count.
pub(crate) fn unix_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| d.as_secs() as i64)
}
