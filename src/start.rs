//! Starting what the gate waits on: `start` (one create, then its wait) and `deploy` (the chain
//! update → diff → version → installs or rollout, under one deadline).
//!
//! Every create goes out at most once. [`Client::send`] takes a [`Change`] by value and this
//! module builds one per step, so no loop or retry schedule can send it again. When a create's
//! outcome is unknown (it left, and no usable answer came), the gate reads state before anything
//! else: `image/options` says which update or diff locks the image, and one of the step's kind
//! made after the request went out is adopted. Nothing is ever created to find out.
//!
//! Before an update or a diff is created, `image/options` is read: a lock held by a job of
//! someone else's is handled by `--if-locked` (fail, wait it out, or reject the diff), never by
//! a create that the API would refuse.

use crate::api::change::{Change, ImageOptions, Sent};
use crate::api::{Client, PollError};
use crate::cancel::Cancel;
use crate::chain::{Ids, Pending, Plan, Step};
use crate::event::{End, Event, Finished, Found, GateRun, Reporter, StartError};
use crate::job::{JobStatus, unix_now};
use crate::kind::{JobKind, JobRef};
use crate::schedule::{Next, Schedule, Seen, later};
use crate::verdict;
use crate::wait::{self, Settings};
use std::future::Future;
use tokio::time::{Instant, sleep_until, timeout};

/// A job made this long before the gate's create went out (by the server's clock, whose
/// `Date` and `jobcreated` both count whole seconds) still counts as made after it.
const CLOCK_SLACK: i64 = 2;

mod lock;

/// Runs `plan`: each step's job made (at most once) or taken as known, then waited on.
/// `simulated`: the API is `--demo`'s, which the checkpoints written on each create say.
pub(crate) async fn run(
    client: &Client,
    plan: &Plan,
    settings: &Settings,
    reporter: &mut dyn Reporter,
    simulated: bool,
    cancel: &Cancel,
) -> GateRun {
    let started = Instant::now();
    let earlier: Vec<JobRef> = [Step::ImageUpdate, Step::ImageDiff, Step::ImageVersion]
        .into_iter()
        .filter(|step| !plan.steps.contains(step))
        .filter_map(|step| plan.known.job(step))
        .collect();
    let mut chain = Chain {
        earlier: earlier.clone(),
        client,
        plan,
        settings,
        started,
        deadline: later(started, settings.timeout),
        ids: plan.known.clone(),
        finished: Vec::new(),
        requests: 0,
        cancel,
        reporter,
        simulated,
        offset: 0,
    };
    let mut reached = None;
    for (index, &step) in plan.steps.iter().enumerate() {
        reached = Some(step);
        let go_on = chain.step(index, step).await;
        if !go_on {
            break;
        }
    }
    GateRun {
        jobs: chain.finished,
        requests: chain.requests,
        elapsed: started.elapsed(),
        step: reached,
        earlier,
        pending: chain.ids.pending,
    }
}

/// The requests `plan` would send, in order, as `--dry-run` prints them. Placeholders stand for
/// the IDs the creates would return.
pub(crate) fn dry_run(client: &Client, asid: &str, plan: &Plan) -> Vec<String> {
    // What is known, and placeholders for the rest.
    let or = |id: &Option<String>, placeholder: &str| {
        Some(id.clone().unwrap_or_else(|| placeholder.to_owned()))
    };
    let ids = Ids {
        pending: None,
        update: or(&plan.known.update, "{updateid}"),
        diff: or(&plan.known.diff, "{diffid}"),
        version: or(&plan.known.version, "{imageversionid}"),
    };
    let plan = &Plan { image_id: or(&plan.image_id, "{imageid}"), ..plan.clone() };
    let shown = |url: reqwest::Url| {
        let path = url.path().replace("%7B", "{").replace("%7D", "}");
        match url.query() {
            Some(query) => format!("GET {path}?{query}"),
            // The operator's v1 calls take no ASID: a status read then has no query at all.
            None => format!("GET {path}"),
        }
    };
    let mut lines = Vec::new();
    for &step in &plan.steps {
        let Some(job) = plan.job(step, &ids) else {
            continue;
        };
        if step.creates() && plan.known.job(step).is_none() {
            if step != Step::ImageVersion
                && let (Some(game), Some(image)) = (&plan.game_id, &plan.image_id)
            {
                let url = client.options_url(game, image);
                lines
                    .push(format!("{}  (read: does a diff or update lock the image?)", shown(url)));
            }
            if let Some(change) = change(plan, step, ids.diff.as_deref().unwrap_or_default()) {
                let request = change.shown(asid).replace("%7B", "{").replace("%7D", "}");
                lines.push(format!("{request}  (changes state: sent once)"));
            }
        }
        lines.push(format!(
            "{}  (read, repeated until {} ends)",
            shown(client.status_url(&job)),
            job.reference()
        ));
    }
    lines
}

/// The create of `step`, built once.
fn change(plan: &Plan, step: Step, diff_id: &str) -> Option<Change> {
    let image = plan.image_id.as_deref().unwrap_or_default();
    let machine = plan.machine_id.as_deref().unwrap_or_default();
    Some(match step {
        Step::ImageUpdate => Change::create_update(image, machine, &plan.desc, plan.url.clone()),
        Step::ImageDiff => Change::create_diff(image, machine),
        Step::ImageVersion => Change::create_version(diff_id, plan.restart, plan.full),
        Step::Install | Step::Rollout => return None,
    })
}

struct Chain<'a> {
    client: &'a Client,
    plan: &'a Plan,
    settings: &'a Settings,
    started: Instant,
    deadline: Instant,
    ids: Ids,
    earlier: Vec<JobRef>,
    finished: Vec<Finished>,
    requests: u32,
    cancel: &'a Cancel,
    reporter: &'a mut dyn Reporter,
    /// The API is `--demo`'s: the checkpoints say so.
    simulated: bool,
    /// The server's clock runs this far ahead of ours, by its last `image/options` answer.
    offset: i64,
}

/// When a create went out, for telling the job it made from older ones.
#[derive(Debug, Clone, Copy)]
enum SentAt {
    /// By this machine's clock: this run sent it.
    Here(i64),
    /// By the server's clock, as an earlier run's checkpoint recorded it.
    Server(i64),
}

impl Chain<'_> {
    /// One step; `false` when the chain stops here.
    async fn step(&mut self, index: usize, step: Step) -> bool {
        let known = self.plan.job(step, &self.ids);
        self.reporter.on_event(&Event::Step {
            index: index + 1,
            total: self.plan.steps.len(),
            step,
            job: known.as_ref(),
        });
        let job = match known {
            Some(job) => job,
            None if !step.creates() => {
                let what = match step {
                    Step::Rollout => "the image's ID (--image-id)",
                    _ => "the image version's ID (--image-version-id)",
                };
                return self.stop(step, End::Start(StartError::Missing(what)));
            }
            None => {
                let made = match self.ids.pending.filter(|p| p.step == step) {
                    Some(pending) => self.resolve(pending).await,
                    None => self.create(step).await,
                };
                match made {
                    Ok(job) => {
                        // Its ID known, its create is pending no more (`Ids::set`).
                        self.ids.set(&job);
                        let summary = verdict::checkpoint(
                            &self.finished,
                            &self.earlier,
                            Ok(&job),
                            step,
                            self.simulated,
                        );
                        self.reporter.on_event(&Event::Created { job: &job });
                        // Made, but not on record: stop before a create a rerun can't know of.
                        if let Err(e) = self.reporter.checkpoint(&summary) {
                            let end = End::Start(StartError::Checkpoint(e.to_string()));
                            let finished = self.ended(job, end);
                            self.finished.push(finished);
                            return false;
                        }
                        job
                    }
                    Err(end) => return self.stop(step, end),
                }
            }
        };
        if let Some(signal) = self.cancel.signal() {
            let finished = self.ended(job, End::Cancelled(signal));
            self.finished.push(finished);
            return false;
        }
        let mut finished = self.wait_on(job.clone()).await;
        let empty = finished.last.as_ref().and_then(|s| s.changes) == Some(0);
        if matches!(finished.end, End::Completed) && step == Step::ImageDiff && empty {
            self.reporter.on_event(&Event::NoChanges { diff: &job, full: self.plan.full });
            let versions_next = self.plan.steps.contains(&Step::ImageVersion);
            if versions_next && !self.plan.full {
                finished.end = End::Start(StartError::NoChanges { diff: job });
            }
        }
        let go_on = matches!(finished.end, End::Completed);
        self.finished.push(finished);
        go_on
    }

    /// Waits on one job until the chain's deadline.
    async fn wait_on(&mut self, job: JobRef) -> Finished {
        let settings = Settings {
            timeout: self.deadline.saturating_duration_since(Instant::now()),
            ..self.settings.clone()
        };
        if settings.timeout.is_zero() {
            return self.ended(job, End::TimedOut);
        }
        let run = wait::wait(
            self.client,
            std::slice::from_ref(&job),
            &settings,
            &mut *self.reporter,
            self.cancel,
        )
        .await;
        self.requests += run.requests;
        let mut finished = match run.jobs.into_iter().next() {
            Some(finished) => finished,
            None => self.ended(job, End::TimedOut),
        };
        finished.elapsed = self.started.elapsed();
        finished.timeout = self.settings.timeout;
        finished
    }

    /// Records a step that made no job, and stops the chain.
    fn stop(&mut self, step: Step, end: End) -> bool {
        let finished = self.ended(JobRef::new(step, ""), end);
        self.finished.push(finished);
        false
    }

    fn ended(&self, job: JobRef, end: End) -> Finished {
        Finished {
            job,
            end,
            last: None,
            last_error: None,
            polls: 0,
            elapsed: self.started.elapsed(),
            timeout: self.settings.timeout,
            stall_timeout: self.settings.stall_timeout,
            seen_work: false,
            settle: self.settings.settle,
            completed_units: 0,
        }
    }

    /// Makes the step's job: checks the lock, sends the create once, and resolves an unknown
    /// outcome by reading state.
    async fn create(&mut self, step: Step) -> Result<JobRef, End> {
        let plan = self.plan;
        if step != Step::ImageVersion
            && let (Some(game), Some(image)) = (plan.game_id.clone(), plan.image_id.clone())
            && let Some(lock) =
                self.options(&game, &image).await?.lock.filter(|lock| !self.is_own(lock))
        {
            self.unlock(lock, &game, &image).await?;
        }
        let diff = self.ids.diff.clone();
        if step == Step::ImageVersion && diff.is_none() {
            return Err(End::Start(StartError::Missing("the diff's ID (--diff-id)")));
        }
        let change = change(plan, step, diff.as_deref().unwrap_or_default())
            .expect("a step that creates has a change");
        let request = change.shown(&self.asid());
        // The intent, on record before the request leaves: a run killed while it is out
        // leaves a rerun something to read state by, instead of nothing to stop a second send.
        let sent_at = unix_now();
        let pending = Pending { step, sent_at: sent_at + self.offset };
        let summary =
            verdict::checkpoint(&self.finished, &self.earlier, Err(pending), step, self.simulated);
        self.reporter
            .checkpoint(&summary)
            .map_err(|e| End::Start(StartError::Checkpoint(e.to_string())))?;
        self.ids.pending = Some(pending);
        self.reporter.on_event(&Event::Creating { step, request: &request });
        let sent = self.send(change).await;
        if !matches!(sent, Sent::Unknown(_)) {
            // Answered: made, or refused, or never sent; nothing is pending.
            self.ids.pending = None;
        }
        match sent {
            Sent::Done { id } => Ok(JobRef::new(step, id)),
            Sent::Refused { lock: Some(lock), .. } => Err(End::Start(StartError::Locked {
                lock,
                image: plan.image_id.clone().unwrap_or_default(),
                if_locked: plan.if_locked,
                raced: true,
            })),
            Sent::Refused { error, .. } => Err(End::Refused(error)),
            Sent::NotSent(reason) => Err(End::Start(StartError::NotSent(reason))),
            Sent::Unknown(reason) => self.recover(step, reason, SentAt::Here(sent_at)).await,
        }
    }

    /// A create an earlier run sent and left no answer to: state is read, as for a lost answer
    /// in this run, and it is never sent again blindly. Only a version whose diff still locks
    /// the image (so no version came of it) is created anew.
    async fn resolve(&mut self, pending: Pending) -> Result<JobRef, End> {
        let reason = format!(
            "an earlier run sent it at {} (server time) and left no answer: pending_create in \
             the resume file",
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(pending.sent_at.max(0) as u64)
            )
        );
        match self.recover(pending.step, reason, SentAt::Server(pending.sent_at)).await {
            Err(End::Start(StartError::Unknown { found: Found::StillLocked(_), .. })) => {
                self.ids.pending = None;
                self.create(pending.step).await
            }
            resolved => resolved,
        }
    }

    fn asid(&self) -> String {
        self.client.asid().to_owned()
    }

    /// A lock held by a job of this chain (the update it made, now complete) is no obstacle.
    fn is_own(&self, lock: &JobRef) -> bool {
        [Step::ImageUpdate, Step::ImageDiff]
            .into_iter()
            .filter_map(|step| self.ids.job(step))
            .any(|own| own == *lock)
    }

    /// Sends a change once. A signal while it is out does not drop it: its answer is what says
    /// whether a job was made, so the gate takes it (within the request's budget) and then stops.
    async fn send(&mut self, change: Change) -> Sent {
        self.requests += 1;
        let budget = self
            .settings
            .request_timeout
            .min(self.deadline.saturating_duration_since(Instant::now()));
        // A create on the wire is awaited whatever signal comes (within its budget): its answer
        // is what a rerun needs. The chain stops after it.
        self.client.send(change, budget).await
    }

    /// After a create whose outcome is unknown: what locks the image now, and when it was made.
    async fn recover(&mut self, step: Step, reason: String, sent: SentAt) -> Result<JobRef, End> {
        let unknown =
            |found| Err(End::Start(StartError::Unknown { reason: reason.clone(), found }));
        let (Some(game), Some(image)) = (self.plan.game_id.clone(), self.plan.image_id.clone())
        else {
            return unknown(Found::CantCheck);
        };
        let options = match self.options(&game, &image).await {
            Ok(options) => options,
            Err(End::Refused(error)) => return unknown(Found::ReadFailed(error)),
            Err(end) => return Err(end),
        };
        // The server's clock runs this far ahead of ours.
        let offset = options.server_time.map_or(0, |server| server - unix_now());
        let lock = options.lock;
        if step == Step::ImageVersion {
            let diff = JobRef::new(JobKind::ImageDiff, self.ids.diff.clone().unwrap_or_default());
            return match lock {
                Some(lock) if lock == diff => unknown(Found::StillLocked(diff)),
                _ => unknown(Found::Released(diff)),
            };
        }
        let Some(lock) = lock else {
            return unknown(Found::Nothing);
        };
        if lock.kind != step || self.is_own(&lock) {
            return unknown(Found::Other(lock));
        }
        let created = match self.status(&lock).await {
            Ok(status) => status.created,
            Err(End::Refused(error)) => return unknown(Found::ReadFailed(error)),
            Err(end) => return Err(end),
        };
        let sent_at = match sent {
            SentAt::Here(at) => at + offset,
            SentAt::Server(at) => at,
        };
        match created {
            Some(created) if created >= sent_at - CLOCK_SLACK => {
                self.reporter.on_event(&Event::Adopted { job: &lock, created });
                Ok(lock)
            }
            created => unknown(Found::Older { job: lock, created }),
        }
    }

    /// Sleeps until `at`, unless a signal comes first.
    async fn pause(&mut self, at: Instant) -> Result<(), End> {
        tokio::select! {
            biased;
            signal = self.cancel.signalled() => Err(End::Cancelled(signal)),
            () = sleep_until(at) => Ok(()),
        }
    }

    /// `image/options` for the image, read as [`Self::read`] reads.
    async fn options(&mut self, game: &str, image: &str) -> Result<ImageOptions, End> {
        let client = self.client;
        let what = format!("the lock on image {image} (image/options)");
        let options = self.read(what, || client.options(game, image)).await?;
        if let Some(server) = options.server_time {
            self.offset = server - unix_now();
        }
        Ok(options)
    }

    /// A job's status, read as [`Self::read`] reads.
    async fn status(&mut self, job: &JobRef) -> Result<JobStatus, End> {
        let client = self.client;
        let url = client.status_url(job);
        let poll = || async {
            let mut answers = client.poll(&url, &[job]).await;
            answers.pop().unwrap_or_else(|| Err(PollError::transient("no answer")))
        };
        self.read(job.to_string(), poll).await
    }

    /// A read, retried on the schedule while it fails for a transient reason, until the
    /// deadline.
    async fn read<T, F, A>(&mut self, what: String, fetch: F) -> Result<T, End>
    where
        F: Fn() -> A,
        A: Future<Output = Result<T, PollError>>,
    {
        let mut schedule = Schedule::new(self.settings.policy, self.settings.seed);
        let mut failures = 0;
        loop {
            let budget = self
                .settings
                .request_timeout
                .min(self.deadline.saturating_duration_since(Instant::now()));
            if budget.is_zero() {
                return Err(End::TimedOut);
            }
            self.requests += 1;
            let error = match timeout(budget, fetch()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => error,
                Err(_) => PollError::NoAnswer { within: budget },
            };
            if !error.is_transient() {
                return Err(End::Refused(error));
            }
            failures += 1;
            let now = Instant::now();
            let seen = Seen::Transient { retry_after: error.retry_after() };
            match schedule.next(seen, now, self.deadline) {
                Next::At(at) => {
                    self.reporter.on_event(&Event::ReadRetrying {
                        what: what.clone(),
                        error: &error,
                        failures,
                        wait: at - now,
                    });
                    self.pause(at).await?;
                }
                Next::PastDeadline { asked } => return Err(End::RetryAfterPastDeadline(asked)),
            }
        }
    }
}
