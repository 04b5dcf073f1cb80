//! What `start` and `deploy` are asked to do, as data: the steps of the deploy chain, the
//! image they work on, the IDs already known (a resumed run), and what to do about a lock. The
//! doing is in [`crate::start`]; the words are the reporters'.

use crate::kind::{JobKind, JobRef};
use crate::secret::Secret;

/// One step of the deploy chain, in order: update → diff → version → installs or rollout. A
/// step is the kind of job it waits on: a new kind is a new step with nothing to mirror, and
/// every place that must say what a step means fails to compile until it does.
pub(crate) type Step = JobKind;

impl JobKind {
    /// The `step` key's word.
    pub fn step_name(self) -> &'static str {
        match self {
            Self::ImageUpdate => "update",
            Self::ImageDiff => "diff",
            Self::ImageVersion => "version",
            Self::Install => "installs",
            Self::Rollout => "rollout",
        }
    }

    /// Steps that create their job (the others watch what the version started).
    pub fn creates(self) -> bool {
        match self {
            Self::ImageUpdate | Self::ImageDiff | Self::ImageVersion => true,
            Self::Install | Self::Rollout => false,
        }
    }
}

/// A job ID as given: none when empty, else a positive integer (` 0042 ` is `42`), else `Err`.
pub(crate) fn positive_id(text: &str) -> Result<Option<String>, ()> {
    let text = text.trim();
    match text.parse::<u64>() {
        _ if text.is_empty() => Ok(None),
        Ok(n) if n > 0 => Ok(Some(n.to_string())),
        _ => Err(()),
    }
}

/// What to do when a diff or an update locks the image (`--if-locked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum IfLocked {
    /// Exit 4, naming the job that holds the lock.
    #[default]
    Fail,
    /// Wait until nothing locks the image, then create once.
    Wait,
    /// Reject the diff that holds the lock (only with --yes-reject-diff), then create once.
    Reject,
}

/// The IDs of the chain's jobs, as far as they are known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ids {
    pub update: Option<String>,
    pub diff: Option<String>,
    pub version: Option<String>,
    /// A create that went out and left no ID: its job may exist.
    pub pending: Option<Pending>,
}

/// A create sent whose outcome is not known: the `pending_create` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pending {
    pub step: Step,
    /// When it went out, Unix seconds by the server's clock (as far as the gate knew it).
    pub sent_at: i64,
}

impl Pending {
    /// `update 1796170000`, as the key holds it; `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (name, at) = text.trim().split_once(' ')?;
        let step = [Step::ImageUpdate, Step::ImageDiff, Step::ImageVersion]
            .into_iter()
            .find(|step| step.step_name() == name)?;
        let sent_at = at.trim().parse().ok().filter(|&t: &i64| t > 0)?;
        Some(Self { step, sent_at })
    }
}

impl std::fmt::Display for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.step.step_name(), self.sent_at)
    }
}

impl Ids {
    /// The job of a step that makes one, if its ID is known.
    pub(crate) fn job(&self, step: Step) -> Option<JobRef> {
        let id = match step {
            Step::ImageUpdate => self.update.as_ref(),
            Step::ImageDiff => self.diff.as_ref(),
            Step::ImageVersion => self.version.as_ref(),
            Step::Install | Step::Rollout => None,
        }?;
        Some(JobRef::new(step, id.clone()))
    }

    /// These IDs, with `other`'s where these have none.
    pub(crate) fn or(self, other: Self) -> Self {
        Self {
            update: self.update.or(other.update),
            diff: self.diff.or(other.diff),
            version: self.version.or(other.version),
            pending: self.pending.or(other.pending),
        }
    }

    /// These IDs, without a pending create whose job's ID is known after all (given as a flag,
    /// or written by a later run).
    pub(crate) fn settled(mut self) -> Self {
        if let Some(pending) = self.pending
            && self.job(pending.step).is_some()
        {
            self.pending = None;
        }
        self
    }

    pub(crate) fn set(&mut self, job: &JobRef) {
        let id = Some(job.id.clone());
        match job.kind {
            JobKind::ImageUpdate => self.update = id,
            JobKind::ImageDiff => self.diff = id,
            JobKind::ImageVersion => self.version = id,
            JobKind::Install | JobKind::Rollout => {}
        }
        // Its ID known, the create it was is pending no more.
        if self.pending.is_some_and(|p| p.step == job.kind) {
            self.pending = None;
        }
    }
}

impl Plan {
    /// The job `step` waits on, as far as `ids` know it: the one it made, or for the installs
    /// and the rollout, those of the version made and of the image.
    pub(crate) fn job(&self, step: Step, ids: &Ids) -> Option<JobRef> {
        match step {
            Step::Install => ids.version.clone().map(|id| JobRef::new(JobKind::Install, id)),
            Step::Rollout => self.image_id.clone().map(|id| JobRef::new(JobKind::Rollout, id)),
            _ => ids.job(step),
        }
    }
}

/// A start or a deploy, checked.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// `start update`, `deploy`: the word the log and the result use.
    pub command: &'static str,
    /// The steps to run, in order.
    pub steps: Vec<Step>,
    pub image_id: Option<String>,
    pub machine_id: Option<String>,
    /// With the image, what `image/options` needs to say what locks it.
    pub game_id: Option<String>,
    /// The build's source; `None` uses the image's default. It holds storage credentials.
    pub url: Option<Secret>,
    pub desc: String,
    pub restart: bool,
    pub full: bool,
    pub if_locked: IfLocked,
    /// IDs already made (a resumed deploy, `start version --diff-id`): their steps create
    /// nothing.
    pub known: Ids,
}
