//! The deploy side of the simulated API: one image, what locks it, and the jobs created on it.
//! It answers the creates, the reject and `image/options`, and serves every job it creates on
//! a timeline that starts when the job is made, so that a deploy runs its whole chain here:
//! update → diff → version → installs and rollout.
//!
//! The rules are the API's (see the fact sheet): a running update and an open diff lock the
//! image; a diff keeps its lock after it completes, until a version is made from it or it is
//! rejected; a version from a diff with no changes needs `full=1`. Faults hit the create path:
//! an answer lost after the job was made or before, a 5xx after the job was made.

use super::{Reply, install_entry, status_body};
use crate::job::{JobKind, JobRef, state_name, unix_now};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What goes wrong with a create (the first of its kind in a run): the tests' faults.
#[cfg(feature = "faults")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateFault {
    /// The job is made, then the connection is reset before the answer.
    LostAfter,
    /// The connection is reset before anything is made.
    LostBefore,
    /// The job is made, then a gateway answers 502.
    ServerError,
    /// The job is made; the answer comes a second later.
    SlowAnswer,
    /// The job is made, then the answer is a redirect elsewhere on the host (a proxy that
    /// moved the API): the create reached the server, and following would send it again.
    Redirected,
    /// The job is made, and the answer never comes: the gate can be killed while its create
    /// is on the wire.
    Held,
}

#[cfg(feature = "faults")]
impl CreateFault {
    /// What the gate gets instead of `answer`, for a fault that strikes once the job is made.
    fn spoil(self, answer: Reply) -> Reply {
        match self {
            Self::LostAfter => Reply::Reset,
            Self::SlowAnswer => {
                Reply::Trickle { reply: Box::new(answer), every: Duration::from_millis(4) }
            }
            Self::ServerError => {
                Reply::http(502, "<html><body><h1>502 Bad Gateway</h1></body></html>")
            }
            Self::Redirected => Reply::http(302, "").with_header("Location", "/cfp/v1/moved"),
            Self::Held => Reply::Hang,
            Self::LostBefore => answer,
        }
    }
}

/// The image a deploy works on, and how its jobs behave.
#[derive(Debug, Clone)]
pub struct Image {
    pub game_id: u64,
    pub image_id: u64,
    /// How long each created job runs, from its creation.
    pub update_takes: Duration,
    pub diff_takes: Duration,
    pub version_takes: Duration,
    /// Each machine's install of a new version ends this long after the version completes.
    pub machines: Vec<Duration>,
    /// An older diff, complete, that locks the image from the start.
    pub locked_by_diff: Option<u64>,
    /// Someone accepts that older diff this long after the simulator starts (else never).
    pub unlocks_after: Option<Duration>,
    /// Diffs find no changes.
    pub empty_diff: bool,
    /// The first create of a kind meets this fault.
    #[cfg(feature = "faults")]
    pub faults: Vec<(JobKind, CreateFault)>,
    /// The image's default update source, with credentials, as `image/options` sends it.
    pub update_url: String,
    /// The update can't fetch its source: it fails, its `joberror` quoting the URL it was
    /// given as a storage error would (decoded, and as it came).
    #[cfg(feature = "faults")]
    pub source_fails: bool,
}

impl Image {
    /// An image whose jobs take a few hundred milliseconds each.
    pub fn quick(game_id: u64, image_id: u64) -> Self {
        let ms = Duration::from_millis;
        Self {
            game_id,
            image_id,
            update_takes: ms(300),
            diff_takes: ms(200),
            version_takes: ms(200),
            machines: vec![ms(100), ms(250)],
            locked_by_diff: None,
            unlocks_after: None,
            empty_diff: false,
            #[cfg(feature = "faults")]
            faults: Vec::new(),
            update_url: "s3://SIMKEYID:sim%2Fsecret-in-url@sim-bucket/builds/?region=eu-west-1"
                .into(),
            #[cfg(feature = "faults")]
            source_fails: false,
        }
    }

    #[cfg(feature = "faults")]
    pub fn fault(mut self, kind: JobKind, fault: CreateFault) -> Self {
        self.faults.push((kind, fault));
        self
    }

    /// An older diff, complete and neither accepted nor rejected, locks the image.
    pub fn locked_by(mut self, diff: u64) -> Self {
        self.locked_by_diff = Some(diff);
        self
    }
}

/// One job the world made.
#[derive(Debug, Clone)]
struct Made {
    job: JobRef,
    at: Instant,
    takes: Duration,
    /// Diffs: the file changes they find.
    changes: usize,
    /// Diffs: accepted (a version made) or rejected.
    closed: bool,
    /// Updates: the `url` parameter, as the query's decoding gave it (read by the tests'
    /// `source_fails`).
    #[cfg_attr(not(feature = "faults"), allow(dead_code))]
    source: Option<String>,
}

impl Made {
    fn done(&self, now: Instant) -> bool {
        now >= self.at + self.takes
    }
}

#[derive(Debug)]
pub(super) struct World {
    image: Image,
    started: Instant,
    next_id: u64,
    made: Vec<Made>,
    #[cfg(feature = "faults")]
    faults_left: Vec<(JobKind, CreateFault)>,
}

/// What a request to the world gets: a reply, and whether it made a job.
impl World {
    pub(super) fn new(image: Image) -> Self {
        let now = Instant::now();
        let mut made = Vec::new();
        if let Some(diff) = image.locked_by_diff {
            made.push(Made {
                job: JobRef::new(JobKind::ImageDiff, diff.to_string()),
                // A machine booted less than an hour ago has no instant an hour back.
                at: now.checked_sub(Duration::from_secs(3600)).unwrap_or(now),
                takes: Duration::from_secs(60),
                changes: 3,
                closed: false,
                source: None,
            });
        }
        Self {
            #[cfg(feature = "faults")]
            faults_left: image.faults.clone(),
            started: now,
            image,
            next_id: 5001,
            made,
        }
    }

    /// The reply to a request on a path the world serves, or `None` for the rest.
    pub(super) fn route(
        &mut self,
        path: &[&str],
        query: &HashMap<String, String>,
    ) -> Option<Reply> {
        let now = Instant::now();
        Some(match path {
            ["cfp", "v1", "imageupdate", "create"] => self.create(JobKind::ImageUpdate, query, now),
            ["cfp", "v1", "imagediff", "create"] => self.create(JobKind::ImageDiff, query, now),
            ["cfp", "v1", "imageversion", "create"] => {
                self.create(JobKind::ImageVersion, query, now)
            }
            ["cfp", "v1", "imagediff", id, "reject"] => self.reject(id, now),
            ["cfp", "v1", "image", "options"] => self.options(query, now),
            ["cfp", "v1", "imageupdate", id, "status"] => {
                self.status(JobKind::ImageUpdate, id, now)?
            }
            ["cfp", "v1", "imagediff", id, "status"] => self.status(JobKind::ImageDiff, id, now)?,
            ["cfp", "v1", "imageversion", id, "status"] => {
                self.status(JobKind::ImageVersion, id, now)?
            }
            // Until a version is made here, the install list is the other scripts' to serve.
            ["cfp", "v1", "imageinstall", "status"] if self.versions().next().is_some() => {
                self.installs(now)
            }
            ["cfp", "v2", "project", _, "image", id, "status"] if *id == self.image_id() => {
                self.rollout(now)
            }
            _ => return None,
        })
    }

    fn image_id(&self) -> String {
        self.image.image_id.to_string()
    }

    fn find(&self, kind: JobKind, id: &str) -> Option<&Made> {
        self.made.iter().find(|m| m.job.kind == kind && m.job.id == id)
    }

    /// What locks the image now: an open diff, else a running update.
    fn lock(&self, now: Instant) -> Option<JobRef> {
        let older = self.image.locked_by_diff.map(|id| id.to_string());
        let unlocked = self.image.unlocks_after.is_some_and(|after| now >= self.started + after);
        let open_diff = self.made.iter().find(|m| {
            m.job.kind == JobKind::ImageDiff
                && !m.closed
                && !(unlocked && older.as_deref() == Some(m.job.id.as_str()))
        });
        let running_update =
            self.made.iter().find(|m| m.job.kind == JobKind::ImageUpdate && !m.done(now));
        open_diff.or(running_update).map(|m| m.job.clone())
    }

    fn create(&mut self, kind: JobKind, query: &HashMap<String, String>, now: Instant) -> Reply {
        #[cfg(feature = "faults")]
        let fault = self
            .faults_left
            .iter()
            .position(|(k, _)| *k == kind)
            .map(|i| self.faults_left.remove(i).1);
        #[cfg(feature = "faults")]
        if fault == Some(CreateFault::LostBefore) {
            return Reply::Reset;
        }
        if let Err(refusal) = self.make(kind, query, now) {
            return refusal;
        }
        let answer = Reply::json(self.body(self.made.last().expect("just made"), now));
        #[cfg(feature = "faults")]
        if let Some(fault) = fault {
            return fault.spoil(answer);
        }
        answer
    }

    /// Makes the job a create asks for, or the API's refusal.
    fn make(
        &mut self,
        kind: JobKind,
        query: &HashMap<String, String>,
        now: Instant,
    ) -> Result<(), Reply> {
        let param = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
        let refused = |message: &str| Err(Reply::error(200, 1, message));
        let (takes, changes) = match kind {
            JobKind::ImageUpdate | JobKind::ImageDiff => {
                if param("imageid") != self.image_id() {
                    return refused("invalid imageid");
                }
                if param("machineid").is_empty() {
                    return refused("machineid is required");
                }
                if kind == JobKind::ImageUpdate && param("desc").is_empty() {
                    return refused("desc is required");
                }
                if let Some(lock) = self.lock(now) {
                    let key = lock.kind.id_key().unwrap_or("id");
                    return refused(&format!("image locked by {key}: {}", lock.id));
                }
                let changes = if self.image.empty_diff { 0 } else { 3 };
                match kind {
                    JobKind::ImageUpdate => (self.image.update_takes, 0),
                    _ => (self.image.diff_takes, changes),
                }
            }
            _ => {
                let diff_id = param("diffid").to_owned();
                let Some(diff) = self.find(JobKind::ImageDiff, &diff_id).cloned() else {
                    return refused("invalid diffid");
                };
                if !diff.done(now) || diff.closed {
                    return refused("the diff must be complete and open");
                }
                if diff.changes == 0 && param("full") != "1" {
                    return refused("the diff has no changes: full=1 is required");
                }
                if let Some(d) = self
                    .made
                    .iter_mut()
                    .find(|m| m.job.kind == JobKind::ImageDiff && m.job.id == diff_id)
                {
                    d.closed = true;
                }
                (self.image.version_takes, 0)
            }
        };
        let id = self.next_id.to_string();
        self.next_id += 1;
        let job = JobRef::new(kind, id);
        self.made.push(Made {
            job: job.clone(),
            at: now,
            takes,
            changes,
            closed: false,
            source: query.get("url").cloned(),
        });
        Ok(())
    }

    fn reject(&mut self, id: &str, now: Instant) -> Reply {
        let Some(diff) =
            self.made.iter_mut().find(|m| m.job.kind == JobKind::ImageDiff && m.job.id == id)
        else {
            return Reply::error(200, 1, "invalid diffid");
        };
        if !diff.done(now) || diff.closed {
            return Reply::error(200, 1, "the diff must be complete or failed, and open");
        }
        diff.closed = true;
        Reply::json(json!({"diffid": id.parse::<u64>().unwrap_or(0)}))
    }

    fn options(&self, query: &HashMap<String, String>, now: Instant) -> Reply {
        let param = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
        if param("gameid") != self.image.game_id.to_string() || param("imageid") != self.image_id()
        {
            return Reply::error(200, 1, "invalid gameid or imageid");
        }
        let mut body = json!({
            "games": [{"gameid": self.image.game_id, "name": "Sim Game"}],
            "images": [{"imageid": self.image.image_id, "name": "sim-image",
                        "gameversionid": "1"}],
            "machines": [{"machineid": 5678, "name": "build-box"}],
            "update_url": self.image.update_url,
        });
        if let Some(lock) = self.lock(now) {
            let key = lock.kind.id_key().unwrap_or("id");
            body[key] = json!(lock.id.parse::<u64>().unwrap_or(0));
        }
        Reply::json(body)
    }

    fn status(&self, kind: JobKind, id: &str, now: Instant) -> Option<Reply> {
        let made = self.find(kind, id)?;
        Some(Reply::json(self.body(made, now)))
    }

    /// A job's status answer: Created, then Running with progress and an ETA, then Completed.
    fn body(&self, made: &Made, now: Instant) -> Value {
        let t = now.saturating_duration_since(made.at);
        let unix = unix_now();
        let created = unix - t.as_secs() as i64;
        let (state, progress) = if made.done(now) {
            (5, 100)
        } else if t < made.takes / 5 {
            (1, 0)
        } else {
            (4, (t.as_secs_f64() / made.takes.as_secs_f64() * 100.0) as u8)
        };
        let name = if state == 5 { "Completed" } else { state_name(state) };
        // Jobs of under two seconds (the tests') say no ETA: a whole-second one would mislead.
        let eta = (made.takes >= Duration::from_secs(2))
            .then(|| created + made.takes.as_secs_f64().ceil() as i64);
        let mut body = status_body(Some(&made.job), state, name, progress, unix, eta);
        body["jobcreated"] = json!(created);
        #[cfg(feature = "faults")]
        if let (true, true, Some(source)) = (self.image.source_fails, state == 5, &made.source) {
            let decoded = percent_encoding::percent_decode_str(source).decode_utf8_lossy();
            body["jobstateid"] = json!(6);
            body["jobstatename"] = json!("Failed");
            body["jobfailed"] = json!(1);
            body["joberror"] =
                json!(format!("fetch failed for {decoded}: 403 Forbidden (url as sent: {source})"));
        }
        if made.job.kind == JobKind::ImageDiff {
            let files: serde_json::Map<String, Value> = (0..made.changes)
                .map(|i| (format!("bin/file{i}.pak"), json!({"size": 1024 * i})))
                .collect();
            body["added"] = Value::Object(files);
            body["modified"] = json!({});
            body["removed"] = json!({});
        }
        body
    }

    /// The install list: each machine's install of each completed version, until it is done.
    fn installs(&self, now: Instant) -> Reply {
        let unix = unix_now();
        let mut entries = Vec::new();
        for (v, version) in self.versions().enumerate() {
            let done_at = version.at + version.takes;
            if now < done_at {
                continue;
            }
            let since = now - done_at;
            for (i, machine) in self.image.machines.iter().enumerate() {
                if since < *machine {
                    let progress = (since.as_secs_f64() / machine.as_secs_f64() * 100.0) as u8;
                    let jobid = 9000 + (v * 100 + i) as u64;
                    let vid = version.job.id.parse().unwrap_or(0);
                    entries.push(install_entry(jobid, vid, 4, progress, unix, None));
                }
            }
        }
        Reply::json(json!({"installs": entries}))
    }

    /// The v2 image status: the newest version's installs, counted by machine.
    fn rollout(&self, now: Instant) -> Reply {
        let machines = self.image.machines.len() as u64;
        let pending = self.versions().last().map_or(0, |version| {
            let done_at = version.at + version.takes;
            let since = now.saturating_duration_since(done_at);
            self.image.machines.iter().filter(|m| now < done_at || since < **m).count() as u64
        });
        Reply::rollout(pending, 0, machines - pending)
    }

    fn versions(&self) -> impl Iterator<Item = &Made> {
        self.made.iter().filter(|m| m.job.kind == JobKind::ImageVersion)
    }
}
