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

#[cfg(test)]
mod tests {
    use super::*;

    fn status(job: &str, body: &str) -> JobStatus {
        match job.parse::<JobRef>().unwrap().read(body.as_bytes()) {
            Ok(Answer::Status(s)) => s,
            other => panic!("expected a status, got {other:?}"),
        }
    }

    #[test]
    fn references_read_as_kind_and_id() {
        assert_eq!("update/4711".parse(), Ok(JobRef::new(JobKind::ImageUpdate, "4711")));
        assert_eq!("diff/218595".parse::<JobRef>().unwrap().reference(), "diff/218595");
        assert_eq!("install".parse(), Ok(JobRef::new(JobKind::Install, "")));
        assert_eq!("rollout/0012".parse::<JobRef>().unwrap().id, "12");
    }

    #[test]
    fn malformed_references_say_why_and_list_the_kinds() {
        for (bad, why) in [
            ("updat/1", "unknown kind"),
            ("update/", "no ID"),
            ("update", "no ID"),
            ("update/1/2", "too many parts"),
            ("update/0", "the ID is not a positive integer"),
            ("update/-3", "the ID is not a positive integer"),
            ("update/x", "the ID is not a positive integer"),
            ("install/", "no ID"),
        ] {
            let error = bad.parse::<JobRef>().unwrap_err();
            assert_eq!(error.why, why, "{bad}");
            let text = error.to_string();
            assert!(text.contains("update, diff, version, install, rollout"), "{text}");
        }
    }

    #[test]
    fn every_kind_has_its_status_url() {
        let path = |r: &str| r.parse::<JobRef>().unwrap().path("77").join("/");
        assert_eq!(path("update/1"), "cfp/v1/imageupdate/1/status");
        assert_eq!(path("diff/2"), "cfp/v1/imagediff/2/status");
        assert_eq!(path("version/3"), "cfp/v1/imageversion/3/status");
        assert_eq!(path("install/4"), "cfp/v1/imageinstall/status");
        assert_eq!(path("install"), "cfp/v1/imageinstall/status");
        assert_eq!(path("rollout/5"), "cfp/v2/project/77/image/5/status");
    }

    #[test]
    fn job_style_answers_echo_their_kind_of_id() {
        let s = status("diff/7", r#"{"jobstateid": 4, "diffid": "7", "updateid": 99}"#);
        assert_eq!(s.job_id.as_deref(), Some("7"));
        let s = status("version/8", r#"{"jobstateid": 5, "imageversionid": 8}"#);
        assert_eq!(s.job_id.as_deref(), Some("8"));
    }

    #[test]
    fn installs_of_other_versions_do_not_count() {
        let body = r#"{"installs": [
            {"jobid": 1, "target_imageversionid": 99, "jobstateid": 4, "jobprogress": 20, "jobeta": 500},
            {"jobid": 2, "target_imageversionid": "99", "jobstateid": 3, "jobprogress": 0, "jobeta": 900},
            {"jobid": 3, "target_imageversionid": 42, "jobstateid": 6, "jobfailed": 1}
        ]}"#;
        let s = status("install/99", body);
        assert_eq!((s.state, s.progress, s.eta), (JobState::Queued, Some(10), Some(900)));
        assert_eq!(s.counts.map(|c| (c.pending, c.failed)), Some((2, 0)));
        assert_eq!(s.units, [1, 2]);
        let s = status("install", body);
        assert!(s.is_failure());
    }

    #[test]
    fn a_failed_install_among_finished_ones_fails() {
        let body = r#"{"installs": [
            {"jobid": 5, "target_imageversionid": 99, "jobstateid": 7, "joberror": "disk full"}
        ]}"#;
        let s = status("install/99", body);
        assert!(s.is_failure());
        assert_eq!(s.error.as_deref(), Some("disk full"));
    }

    #[test]
    fn no_install_left_is_complete_and_no_list_is_unusable() {
        assert_eq!(status("install/99", r#"{"installs": []}"#).state, JobState::Complete);
        let job: JobRef = "install/99".parse().unwrap();
        assert!(matches!(job.read(br#"{"jobs": []}"#), Err(BodyError::NoState { .. })));
        assert!(matches!(
            job.read(br#"{"success": false, "error_message": "nope"}"#),
            Ok(Answer::Error { .. })
        ));
    }

    #[test]
    fn rollout_counts_become_a_status() {
        let s = status(
            "rollout/5",
            r#"{"pending_machines": "3", "failed_machines": 1, "completed_machines": 6}"#,
        );
        assert_eq!((s.state, s.progress), (JobState::Running, Some(60)));
        assert_eq!(s.counts, Some(Counts { pending: 3, failed: 1, completed: Some(6) }));
        let done = status(
            "rollout/5",
            r#"{"pending_machines": 0, "failed_machines": 0, "completed_machines": 9}"#,
        );
        assert_eq!(done.state, JobState::Complete);
        let job: JobRef = "rollout/5".parse().unwrap();
        for unclear in [
            r#"{"pending_machines": 0, "completed_machines": 9}"#,
            r#"{"pending_machines": 0, "failed_machines": "2 machines"}"#,
            r#"{"pending_machines": "none", "failed_machines": 0}"#,
            r#"{"pending_machines": 0, "failed_machines": 0, "failed_machines": 2}"#,
        ] {
            assert!(
                matches!(job.read(unclear.as_bytes()), Err(BodyError::Ambiguous(_))),
                "{unclear}"
            );
        }
    }
}
