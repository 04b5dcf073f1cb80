//! A simulated Clanforge API on 127.0.0.1, for `--demo` and the tests.
//!
//! Each job follows a [`Script`]: a list of replies served in order (the last one repeats), or
//! the demo timeline. Replies can be well-formed answers or deliberate faults (a hang, a reset
//! connection, a body cut short or sent a byte at a time). The server records every request so
//! that tests can assert on what the gate sent.

mod job;
mod server;
mod world;

pub use server::SimServer;
#[cfg(feature = "faults")]
pub use world::CreateFault;
pub use world::Image;

pub use job::{JobKind, JobRef};

use job::{state_name, unix_now};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long the demo job runs, from the first poll to Completed.
pub const DEMO_JOB: Duration = Duration::from_secs(14);

/// `--demo`'s chain: an image update, an image version and its installs on three machines,
/// all running at once so that a new user sees many jobs in one gate.
pub fn demo(update_id: &str, version_id: &str) -> Sim {
    let version: u64 = version_id.parse().unwrap_or(1);
    Sim::new()
        .serve_job(JobRef::new(JobKind::ImageUpdate, update_id), Script::Timeline(DEMO_JOB))
        .serve_job(
            JobRef::new(JobKind::ImageVersion, version_id),
            Script::Timeline(Duration::from_secs(8)),
        )
        .serve_job(
            JobRef::new(JobKind::Install, version_id),
            Script::Installs { version, machines: [6, 9, 12].map(Duration::from_secs).to_vec() },
        )
}

/// `deploy --demo`'s image: a game, an image and a build machine, ready for the whole chain,
/// each job a few seconds long.
pub fn demo_deploy() -> Sim {
    let secs = Duration::from_secs;
    let image = Image {
        update_takes: secs(6),
        diff_takes: secs(3),
        version_takes: secs(3),
        machines: vec![secs(2), secs(4), secs(6)],
        ..Image::quick(42, 1234)
    };
    Sim::new().image(image)
}

/// `check --demo`'s account: the deploy's image, and an install list with nothing in it.
pub fn demo_check() -> Sim {
    demo_deploy()
        .serve_job(JobRef::new(JobKind::Install, ""), Script::Replies(vec![Reply::installs(&[])]))
}

/// What one poll gets.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A whole HTTP answer.
    Http { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// Read the request, then never answer.
    #[cfg(feature = "faults")]
    Hang,
    /// Read the request, then close the connection with a reset.
    #[cfg(feature = "faults")]
    Reset,
    /// Send the head and half the body of `reply`, then close.
    #[cfg(feature = "faults")]
    CloseMidBody(Box<Reply>),
    /// Send `reply` one byte at a time, `every` apart.
    #[cfg(feature = "faults")]
    Trickle { reply: Box<Reply>, every: Duration },
    /// A 200 whose body is `bytes` of spaces, streamed without holding it in memory; with
    /// `content_length: false` the body simply runs until the connection closes.
    #[cfg(feature = "faults")]
    Huge { bytes: usize, content_length: bool },
    /// A 200 answer in Clanforge's shape, for the job that was asked about (its ID echoed).
    Status { state_id: i64, progress: u8 },
}

impl Reply {
    /// A 200 answer in Clanforge's shape for the job asked about, in `state_id` at `progress`
    /// percent.
    pub fn status(state_id: i64, progress: u8) -> Self {
        Self::Status { state_id, progress }
    }

    /// An install list, as `imageinstall/status` sends it: one entry per
    /// `(jobid, target_imageversionid, jobstateid, jobprogress)`.
    pub fn installs(entries: &[(u64, u64, i64, u8)]) -> Self {
        let now = unix_now();
        let entries = entries
            .iter()
            .map(|&(jobid, version, state_id, progress)| {
                install_entry(jobid, version, state_id, progress, now, None)
            })
            .collect();
        Self::json(json!({"installs": Value::Array(entries)}))
    }

    /// An install list of `entries` running installs of `version`, each as lean as an entry can
    /// be (its job ID, its target version, its state): about 55 bytes an entry, so 100,000 of
    /// them are 5.5 MB. What a fleet's size costs the gate beyond the bytes themselves.
    pub fn lean_fleet(entries: u64, version: u64) -> Self {
        let mut body = String::with_capacity(entries as usize * 56 + 16);
        body.push_str(r#"{"installs":["#);
        for i in 0..entries {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!(
                r#"{{"jobid":{},"target_imageversionid":{version},"jobstateid":4}}"#,
                1_000_000 + i
            ));
        }
        body.push_str("]}");
        Self::http(200, body)
    }

    /// The v2 image status: machine counts.
    pub fn rollout(pending: u64, failed: u64, completed: u64) -> Self {
        Self::json(json!({
            "pending_machines": pending,
            "failed_machines": failed,
            "completed_machines": completed,
        }))
    }

    /// This reply as sent for `job`: a [`Reply::Status`] becomes its body, echoing its ID.
    fn render(self, job: &JobRef) -> Self {
        match self {
            Self::Status { state_id, progress } => {
                let name = state_name(state_id);
                Self::json(status_body(Some(job), state_id, name, progress, unix_now(), None))
            }
            #[cfg(feature = "faults")]
            Self::CloseMidBody(inner) => Self::CloseMidBody(Box::new(inner.render(job))),
            #[cfg(feature = "faults")]
            Self::Trickle { reply, every } => {
                Self::Trickle { reply: Box::new(reply.render(job)), every }
            }
            other => other,
        }
    }

    /// A 200 answer with this JSON body.
    pub fn json(body: Value) -> Self {
        Self::http(200, body.to_string())
    }

    /// An answer with this status and body (HTML if it starts with `<`, else JSON).
    pub fn http(status: u16, body: impl Into<Vec<u8>>) -> Self {
        let body = body.into();
        let kind = if body.starts_with(b"<") { "text/html" } else { "application/json" };
        Self::Http { status, headers: vec![("Content-Type".into(), kind.into())], body }
    }

    /// Clanforge's error body, with this HTTP status.
    pub fn error(status: u16, code: i64, message: &str) -> Self {
        Self::http(
            status,
            json!({"success": false, "error": true, "error_code": code, "error_message": message})
                .to_string(),
        )
    }

    /// Adds a header to an [`Reply::Http`] answer.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Self::Http { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// The replies a job gives, poll after poll.
#[derive(Debug, Clone)]
pub enum Script {
    /// The n-th poll gets the n-th reply; the last one repeats.
    Replies(Vec<Reply>),
    /// Created → Queued → Running 0–100 % → Completed over this long, from the first poll
    /// (Created for the first seventh, Queued for the second). `--demo` uses [`DEMO_JOB`].
    Timeline(Duration),
    /// The install list over time, from the first poll: one install of `version` per machine,
    /// queued for the first second, then running until its own time is up, then gone.
    Installs { version: u64, machines: Vec<Duration> },
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct Job {
    script: Script,
    polls: usize,
    first_poll: Option<Instant>,
}

/// What the server shares between connections.
#[derive(Debug)]
struct State {
    jobs: Mutex<HashMap<JobRef, Job>>,
    requests: Mutex<Vec<Request>>,
    /// The `Authorization` header every request must carry, when set.
    authorization: Option<String>,
    /// The image a deploy works on: creates, locks, options, reject.
    world: Option<Mutex<world::World>>,
}

/// A simulated API, configured before it is served.
#[derive(Debug, Default)]
pub struct Sim {
    jobs: HashMap<JobRef, Job>,
    authorization: Option<String>,
    image: Option<Image>,
}

impl Sim {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves image update `id` by `script`.
    pub fn job(self, id: &str, script: Script) -> Self {
        self.serve_job(JobRef::new(JobKind::ImageUpdate, id), script)
    }

    /// Serves `job`'s status endpoint by `script`. Every install reference shares the one
    /// install list: serve it as `install` (its ID is not part of the request).
    pub fn serve_job(mut self, job: JobRef, script: Script) -> Self {
        let job = match job.kind {
            JobKind::Install => JobRef::new(JobKind::Install, ""),
            _ => job,
        };
        let served = Job { script, polls: 0, first_poll: None };
        self.jobs.insert(job, served);
        self
    }

    /// Refuses (401) requests without these Basic credentials.
    pub fn credentials(mut self, access_key: &str, secret_key: &str) -> Self {
        use base64::Engine as _;
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{access_key}:{secret_key}"));
        self.authorization = Some(format!("Basic {token}"));
        self
    }

    /// Refuses (401) requests without this token, as the operator's host (Bearer auth) would,
    /// and takes v1 calls without an ASID.
    pub fn token(mut self, token: &str) -> Self {
        self.authorization = Some(format!("Bearer {token}"));
        self
    }

    /// Serves the deploy endpoints for this image: the creates, the reject, `image/options`,
    /// and the jobs they make (see [`Image`]).
    pub fn image(mut self, image: Image) -> Self {
        self.image = Some(image);
        self
    }

    fn into_state(self) -> Arc<State> {
        Arc::new(State {
            jobs: Mutex::new(self.jobs),
            requests: Mutex::default(),
            authorization: self.authorization,
            world: self.image.map(|image| Mutex::new(world::World::new(image))),
        })
    }
}

impl State {
    /// The requests served so far.
    fn requests(&self) -> Vec<Request> {
        lock(&self.requests).clone()
    }

    /// The reply for a request; records the request.
    fn answer(&self, request: Request) -> Reply {
        let reply = self.route(&request);
        lock(&self.requests).push(request);
        reply
    }

    fn route(&self, request: &Request) -> Reply {
        if request.method != "GET" {
            return Reply::error(405, 405, "method not allowed");
        }
        let job = route(&request.path);
        if job.is_none() && self.world.is_none() {
            return Reply::error(404, 404, "no such endpoint");
        }
        if let Some(expected) = &self.authorization
            && request.header("authorization") != Some(expected.as_str())
        {
            // As a real host would: the scheme it takes, in the challenge.
            let scheme = expected.split(' ').next().unwrap_or("Basic");
            return Reply::error(401, 401, "Unauthorized")
                .with_header("WWW-Authenticate", &format!("{scheme} realm=\"clanforge\""));
        }
        let asid = request.query.split('&').find_map(|pair| pair.strip_prefix("accountserviceid="));
        // The operator's host takes a token and no ASID on its v1 calls; Unity's needs one.
        // A simulator that takes any credentials speaks the dialect of the ones it is sent.
        let bearer = self
            .authorization
            .as_deref()
            .or(request.header("authorization"))
            .is_some_and(|a| a.starts_with("Bearer "));
        if asid.is_none_or(str::is_empty) && !bearer {
            return Reply::error(400, 400, "accountserviceid is required");
        }
        if let Some(world) = &self.world {
            let query: HashMap<String, String> =
                form_urlencoded::parse(request.query.as_bytes()).into_owned().collect();
            let path: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
            if let Some(reply) = lock(world).route(&path, &query) {
                return reply;
            }
        }
        let Some(job) = job else {
            return Reply::error(404, 404, "no such endpoint");
        };
        let mut jobs = lock(&self.jobs);
        let Some(served) = jobs.get_mut(&job) else {
            return Reply::error(404, 404, &format!("{job} not found"));
        };
        served.polls += 1;
        let first_poll = *served.first_poll.get_or_insert_with(Instant::now);
        match &served.script {
            Script::Replies(replies) => replies
                .get(served.polls - 1)
                .or(replies.last())
                .cloned()
                .unwrap_or_else(|| Reply::status(4, 0))
                .render(&job),
            Script::Timeline(total) => timeline_reply(&job, first_poll.elapsed(), *total),
            Script::Installs { version, machines } => {
                installs_reply(*version, machines, first_poll.elapsed())
            }
        }
    }
}

/// The job a status path asks about.
fn route(path: &str) -> Option<JobRef> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (kind, id) = match parts.as_slice() {
        ["cfp", "v1", "imageupdate", id, "status"] => (JobKind::ImageUpdate, *id),
        ["cfp", "v1", "imagediff", id, "status"] => (JobKind::ImageDiff, *id),
        ["cfp", "v1", "imageversion", id, "status"] => (JobKind::ImageVersion, *id),
        ["cfp", "v1", "imageinstall", "status"] => (JobKind::Install, ""),
        ["cfp", "v2", "project", _, "image", id, "status"] => (JobKind::Rollout, *id),
        _ => return None,
    };
    Some(JobRef::new(kind, id))
}

/// A panic in one connection must not take the server down with a poisoned lock.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Timeline job `job`, of `total` length, at `t` after its first poll.
fn timeline_reply(job: &JobRef, t: Duration, total: Duration) -> Reply {
    let now = unix_now();
    let created = now - t.as_secs() as i64;
    let (t, total) = (t.as_secs_f64(), total.as_secs_f64());
    let running_from = total * 2.0 / 7.0;
    let (state_id, progress) = match t {
        t if t < total / 7.0 => (1, 0),
        t if t < running_from => (3, 0),
        t if t < total => (4, ((t - running_from) / (total - running_from) * 100.0) as u8),
        _ => (5, 100),
    };
    let name = if state_id == 5 { "Completed" } else { state_name(state_id) };
    let mut body =
        status_body(Some(job), state_id, name, progress, now, Some(created + total.round() as i64));
    body["jobcreated"] = json!(created);
    if state_id >= 4 {
        // As the real API does, despite its siblings being integers.
        body["jobstart"] = json!((created + running_from.round() as i64).to_string());
    }
    Reply::json(body)
}

/// The install list of [`Script::Installs`] at `t` after the first poll: each install queued
/// for its first second, then running until its time is up (saying when, in `jobeta`), then gone.
fn installs_reply(version: u64, machines: &[Duration], t: Duration) -> Reply {
    let now = unix_now();
    let entries = machines
        .iter()
        .enumerate()
        .filter(|(_, done_at)| t < **done_at)
        .map(|(i, done_at)| {
            let (state, progress) = if t < Duration::from_secs(1) {
                (3, 0)
            } else {
                (4, (t.as_secs_f64() / done_at.as_secs_f64() * 100.0) as u8)
            };
            let eta = now + done_at.saturating_sub(t).as_secs_f64().round() as i64;
            install_entry(1000 + i as u64, version, state, progress, now, Some(eta))
        })
        .collect();
    Reply::json(json!({"installs": Value::Array(entries)}))
}

/// One entry of an install list.
fn install_entry(
    jobid: u64,
    version: u64,
    state_id: i64,
    progress: u8,
    now: i64,
    eta: Option<i64>,
) -> Value {
    let name = state_name(state_id);
    let mut entry = status_body(None, state_id, name, progress, now, eta);
    entry["jobid"] = json!(jobid);
    entry["target_imageversionid"] = json!(version);
    entry["mirroring"] = json!(false);
    entry
}

/// A status answer for `job`, echoing its ID under its kind's key, as a number when it is one
/// (as the API sends it).
fn status_body(
    job: Option<&JobRef>,
    state_id: i64,
    name: &str,
    progress: u8,
    now: i64,
    eta: Option<i64>,
) -> Value {
    let mut body = json!({
        "success": true,
        "jobstateid": state_id,
        "jobstatename": name,
        "jobprogress": progress,
        "jobfailed": i64::from(state_id == 6 || state_id == 7),
        "joberror": null,
        "jobcreated": now,
        "jobstart": null,
        "jobeta": eta,
        "jobupdated": now,
    });
    if let Some((job, key)) = job.and_then(|job| Some((job, job.kind.id_key()?))) {
        let id = &job.id;
        body[key] = id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_of(reply: Reply) -> i64 {
        match reply {
            Reply::Http { body, .. } => {
                serde_json::from_slice::<Value>(&body).unwrap()["jobstateid"].as_i64().unwrap()
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_demo_job_runs_its_course() {
        let states: Vec<i64> = [0, 3, 5, 9, 15]
            .into_iter()
            .map(|s| {
                let job = JobRef::new(JobKind::ImageUpdate, "7");
                state_of(timeline_reply(&job, Duration::from_secs(s), DEMO_JOB))
            })
            .collect();
        assert_eq!(states, [1, 3, 4, 4, 5]);
    }

    #[test]
    fn answers_echo_the_job_asked_about() {
        for (job, key) in
            [("update/125", "updateid"), ("diff/125", "diffid"), ("version/125", "imageversionid")]
        {
            let job: JobRef = job.parse().unwrap();
            let Reply::Http { body, .. } = Reply::status(5, 100).render(&job) else {
                panic!("a status renders as HTTP")
            };
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body[key], 125, "{job}");
        }
    }
}
