//! The wait loop: poll every job on its own schedule, classify, tell the reporters, and stop when
//! every job has ended, one has failed (fail fast), the API refuses us, the deadline passes or a
//! signal arrives. It knows nothing of CI platforms or terminals: reporters listen to its events.
//!
//! One loop serves one job or many. Each job keeps its own schedule; which request goes next,
//! and when, is [`Dispatch`]'s: jobs with the same status URL (every `install/…`) share each
//! request, requests go out one at a time at least [`MIN_GAP`] apart, and a `Retry-After` holds
//! back every job (the limit is the account's, not the job's).

use crate::api::{AMBIGUOUS_TRIES, Client, PollError};
use crate::cancel::Cancel;
use crate::dispatch::Dispatch;
use crate::event::{End, Event, Finished, GateRun, Reporter};
use crate::job::{JobState, JobStatus, Phase, unix_now};
use crate::kind::JobRef;
use crate::predict::Observation;
use crate::schedule::{Next, Policy, Schedule, Seen, later};
use reqwest::Url;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::{Instant, sleep_until, timeout};

/// Reporters get a [`Event::Tick`] at least this often while the loop sleeps, so that a
/// heartbeat can be printed even when polls are far apart.
pub(crate) const TICK: Duration = Duration::from_secs(15);

#[cfg(doc)]
use crate::dispatch::MIN_GAP;

#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The overall deadline, counted from the start of the wait, for every job.
    pub timeout: Duration,
    /// The cap on one request; the time left to the deadline caps it further.
    pub request_timeout: Duration,
    /// End a job (stalled) when its state, progress and ETA stay the same this long.
    pub stall_timeout: Option<Duration>,
    /// How long an install or rollout with nothing queued is given for work to appear.
    pub settle: Duration,
    /// End the gate at the first job that fails, stalls or is refused.
    pub fail_fast: bool,
    /// A rollout fails when more machines than this have failed.
    pub max_failed_machines: u64,
    pub policy: Policy,
    /// Seeds the jitter (tests, the simulator); `None` seeds from the OS.
    pub seed: Option<u64>,
}

/// Waits on `jobs` and says how each ended. Never runs past `settings.timeout` by more than
/// the time it takes to return, whatever the server does.
pub(crate) async fn wait(
    client: &Client,
    jobs: &[JobRef],
    settings: &Settings,
    reporter: &mut dyn Reporter,
    cancel: &Cancel,
) -> GateRun {
    let started = Instant::now();
    let deadline = later(started, settings.timeout);
    let urls: Vec<Url> = jobs.iter().map(|job| client.status_url(job)).collect();
    let shown: Vec<String> = urls.iter().map(ToString::to_string).collect();
    reporter.on_event(&Event::Started { jobs, urls: &shown, timeout: settings.timeout });
    let mut gate = Gate {
        tracks: jobs
            .iter()
            .enumerate()
            .map(|(i, job)| Track::new(job, settings, i as u64))
            .collect(),
        dispatch: Dispatch::new(&urls, started),
        urls,
        started,
        deadline,
        requests: 0,
    };
    let stop = {
        let polling = gate.run(client, settings, reporter);
        tokio::select! {
            biased;
            signal = cancel.signalled() => Some(End::Cancelled(signal)),
            () = sleep_until(deadline) => Some(End::TimedOut),
            stop = polling => stop,
        }
    };
    let elapsed = started.elapsed();
    let jobs = gate
        .tracks
        .into_iter()
        .map(|mut track| {
            let (end, at) = match track.end.take() {
                Some(ended) => ended,
                None => (stop.clone().unwrap_or(End::Unfinished), elapsed),
            };
            track.finish(end, at, settings)
        })
        .collect();
    GateRun {
        jobs,
        requests: gate.requests,
        elapsed,
        step: None,
        earlier: Vec::new(),
        pending: None,
    }
}

struct Gate {
    tracks: Vec<Track>,
    /// Each job's status URL.
    urls: Vec<Url>,
    /// Which request goes next, and when.
    dispatch: Dispatch,
    started: Instant,
    deadline: Instant,
    requests: u32,
}

impl Gate {
    /// Polls until every job has ended (`None`), or a job's end stops them all.
    async fn run(
        &mut self,
        client: &Client,
        settings: &Settings,
        reporter: &mut dyn Reporter,
    ) -> Option<End> {
        loop {
            let (target, at) = self.dispatch.next()?;
            sleep_with_ticks(at, reporter).await;
            let live = self.dispatch.live(target);
            let url = self.urls[live[0]].clone();
            let jobs: Vec<&JobRef> = live.iter().map(|&i| &self.tracks[i].job).collect();
            self.requests += 1;
            let budget = settings
                .request_timeout
                .min(self.deadline.saturating_duration_since(Instant::now()));
            let answers = match timeout(budget, client.poll(&url, &jobs)).await {
                Ok(answers) => answers,
                Err(_) => vec![Err(PollError::NoAnswer { within: budget }); jobs.len()],
            };
            let now = Instant::now();
            self.dispatch.sent(now);
            // Every job this request served takes its answer before a failure stops the gate.
            let mut failed_fast = false;
            // A host never reached is tried once more when it is given up on, not after.
            let unreached = client.unreached_until().filter(|&until| until > now);
            let (started, deadline) =
                (self.started, unreached.map_or(self.deadline, |u| u.min(self.deadline)));
            for (i, answer) in live.into_iter().zip(answers) {
                let seen = self.tracks[i].take(answer, now, started, deadline, settings, reporter);
                match seen {
                    Taken::Next(Next::At(at)) => self.dispatch.due(i, at),
                    // The API's pause outlasts the deadline, and it holds for every job.
                    Taken::Next(Next::PastDeadline { asked }) => {
                        return Some(End::RetryAfterPastDeadline(asked));
                    }
                    Taken::Ended(end) => {
                        failed_fast |= settings.fail_fast && end.fails_fast();
                        self.tracks[i].end = Some((end, now - self.started));
                        self.dispatch.end(i);
                    }
                }
                if let Some(asked) = self.tracks[i].retry_after.take() {
                    self.dispatch.hold(later(now, asked));
                }
            }
            if failed_fast {
                return Some(End::Unfinished);
            }
        }
    }
}

/// What one answer did to a job.
enum Taken {
    Next(Next),
    Ended(End),
}

/// One job: what the loop has seen of it, and its schedule.
struct Track {
    job: JobRef,
    schedule: Schedule,
    end: Option<(End, Duration)>,
    polls: u32,
    failures: u32,
    /// Ambiguous answers in a row.
    ambiguous: u32,
    last: Option<JobStatus>,
    last_error: Option<PollError>,
    retry_after: Option<Duration>,
    warned_unknown: bool,
    settling: bool,
    seen_work: bool,
    seen_units: BTreeSet<u64>,
    /// Since when the job has shown what it shows now (state, progress, ETA).
    unchanged_since: Option<Instant>,
}

/// What counts as the job moving: its state, its progress, its ETA or its counts.
fn movement(status: &JobStatus) -> impl PartialEq + '_ {
    (status.state, status.state_name.as_deref(), status.progress, status.eta, status.counts)
}

impl Track {
    fn new(job: &JobRef, settings: &Settings, index: u64) -> Self {
        Self {
            job: job.clone(),
            schedule: Schedule::new(settings.policy, settings.seed.map(|s| s + index)),
            end: None,
            polls: 0,
            failures: 0,
            ambiguous: 0,
            last: None,
            last_error: None,
            retry_after: None,
            warned_unknown: false,
            settling: false,
            seen_work: false,
            seen_units: BTreeSet::new(),
            unchanged_since: None,
        }
    }

    fn take(
        &mut self,
        answer: Result<JobStatus, PollError>,
        now: Instant,
        started: Instant,
        deadline: Instant,
        settings: &Settings,
        reporter: &mut dyn Reporter,
    ) -> Taken {
        self.polls += 1;
        self.ambiguous = match &answer {
            Err(PollError::Ambiguous(_)) => self.ambiguous + 1,
            _ => 0,
        };
        let status = match answer {
            Ok(status) => status,
            // Told nothing clear too often: the gate says it is unsure (exit 4).
            Err(error @ PollError::Ambiguous(_)) if self.ambiguous >= AMBIGUOUS_TRIES => {
                return Taken::Ended(End::Refused(error));
            }
            Err(error) if error.is_transient() => {
                return self.transient(error, now, deadline, reporter);
            }
            Err(error) => return Taken::Ended(End::Refused(error)),
        };
        self.failures = 0;
        self.last_error = None;
        let moved = self.last.as_ref().is_none_or(|last| movement(last) != movement(&status));
        if moved {
            self.unchanged_since = Some(now);
        }
        self.seen_units.extend(status.units.iter().copied());
        let status = self.last.insert(status);
        let phase = status.phase(settings.max_failed_machines);
        if phase == Phase::Waiting {
            self.seen_work = true;
        }
        reporter.on_event(&Event::Polled {
            job: &self.job,
            status,
            poll: self.polls,
            idle: phase == Phase::Succeeded && self.job.kind.settles() && !self.seen_work,
        });
        match phase {
            Phase::Failed => return Taken::Ended(End::JobFailed),
            Phase::Succeeded if !self.job.kind.settles() || self.seen_work => {
                return Taken::Ended(End::Completed);
            }
            // Nothing queued yet: done only if nothing appears within the settle period.
            Phase::Succeeded if now >= later(started, settings.settle) => {
                return Taken::Ended(End::Completed);
            }
            Phase::Succeeded if !self.settling => {
                self.settling = true;
                reporter.on_event(&Event::Settling { job: &self.job, settle: settings.settle });
            }
            _ => {}
        }
        if status.state == JobState::Unknown && !self.warned_unknown {
            self.warned_unknown = true;
            reporter.on_event(&Event::UnknownState { job: &self.job, status });
        }
        let observation = Observation {
            progress: status.progress,
            eta_remaining: status.eta_remaining(unix_now()),
        };
        let next = self.schedule.next(Seen::Status(observation), now, deadline);
        self.bounded(next, phase, now, started, settings)
    }

    /// A transient failure: counted, reported, and retried on the schedule.
    fn transient(
        &mut self,
        error: PollError,
        now: Instant,
        deadline: Instant,
        reporter: &mut dyn Reporter,
    ) -> Taken {
        self.failures += 1;
        let retry_after = error.retry_after();
        self.retry_after = retry_after;
        let next = self.schedule.next(Seen::Transient { retry_after }, now, deadline);
        if let Next::At(at) = next {
            reporter.on_event(&Event::Retrying {
                job: &self.job,
                error: &error,
                failures: self.failures,
                wait: at - now,
            });
        }
        self.last_error = Some(error);
        Taken::Next(next)
    }

    /// The schedule's next look, brought forward to the end of the settle period or of the
    /// stall limit, whichever decides first; or the stall itself, once its limit has run out.
    fn bounded(
        &self,
        mut next: Next,
        phase: Phase,
        now: Instant,
        started: Instant,
        settings: &Settings,
    ) -> Taken {
        if self.settling && !self.seen_work {
            // Look again when the settle period ends: that look decides.
            if let Next::At(at) = &mut next {
                *at = (*at).min(later(started, settings.settle));
            }
        }
        // Look again when the stall limit runs out: that look decides. Nothing queued yet
        // (settling) is not stuck: the settle period decides that.
        let stall = settings.stall_timeout.filter(|_| phase == Phase::Waiting);
        if let (Some(limit), Some(since)) = (stall, self.unchanged_since) {
            let stalled_at = later(since, limit);
            if now >= stalled_at {
                return Taken::Ended(End::Stalled(now - since));
            }
            if let Next::At(at) = &mut next {
                *at = (*at).min(stalled_at);
            }
        }
        Taken::Next(next)
    }

    fn finish(self, end: End, elapsed: Duration, settings: &Settings) -> Finished {
        // Out of time while the answers were ambiguous: unsure, not merely slow.
        let end = match (end, &self.last_error) {
            (End::TimedOut, Some(error @ PollError::Ambiguous(_))) => End::Refused(error.clone()),
            (end, _) => end,
        };
        let listed = self.last.as_ref().map(|s| s.units.len()).unwrap_or(0);
        Finished {
            completed_units: self.seen_units.len().saturating_sub(listed) as u64,
            job: self.job,
            end,
            last: self.last,
            last_error: self.last_error,
            polls: self.polls,
            elapsed,
            timeout: settings.timeout,
            stall_timeout: settings.stall_timeout,
            seen_work: self.seen_work,
            settle: settings.settle,
        }
    }
}

async fn sleep_with_ticks(at: Instant, reporter: &mut dyn Reporter) {
    loop {
        let tick = Instant::now() + TICK;
        if at <= tick {
            return sleep_until(at).await;
        }
        sleep_until(tick).await;
        reporter.on_event(&Event::Tick);
    }
}
