//! The wait loop: poll, classify, tell the reporters, and stop when the job ends, the API
//! refuses us, the deadline passes or a signal arrives. It knows nothing of CI platforms or
//! terminals: reporters listen to its events.

use crate::api::{Client, PollError};
use crate::event::{End, Event, Finished, Reporter};
use crate::job::{JobRef, JobState, JobStatus, Phase, unix_now};
use crate::outcome::Signal;
use crate::predict::Observation;
use crate::schedule::{Next, Schedule, Seen, later};
use std::future::Future;
use std::time::Duration;
use tokio::time::{Instant, sleep_until, timeout};

/// Reporters get a [`Event::Tick`] at least this often while the loop sleeps, so that a
/// heartbeat can be printed even when polls are far apart.
pub const TICK: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct Settings {
    /// The overall deadline, counted from the start of the wait.
    pub timeout: Duration,
    /// The cap on one request; the time left to the deadline caps it further.
    pub request_timeout: Duration,
    /// End the wait (stalled) when the job's state, progress and ETA stay the same this long.
    pub stall_timeout: Option<Duration>,
}

/// Waits on `job` and says how it ended. Never runs past `settings.timeout` by more than
/// the time it takes to return, whatever the server does.
pub async fn wait(
    client: &Client,
    job: &JobRef,
    schedule: &mut Schedule,
    settings: &Settings,
    reporter: &mut dyn Reporter,
    cancel: impl Future<Output = Signal>,
) -> Finished {
    let started = Instant::now();
    let deadline = later(started, settings.timeout);
    let url = client.status_url(job);
    reporter.on_event(&Event::Started {
        job,
        url: url.as_str(),
        timeout: settings.timeout,
    });
    let mut track = Track::default();
    let end = {
        let polling = poll_until_done(
            client, job, schedule, settings, deadline, reporter, &mut track,
        );
        tokio::select! {
            biased;
            signal = cancel => End::Cancelled(signal),
            () = sleep_until(deadline) => End::TimedOut,
            end = polling => end,
        }
    };
    Finished {
        job: job.clone(),
        end,
        last: track.last,
        last_error: track.last_error,
        polls: track.polls,
        elapsed: started.elapsed(),
        timeout: settings.timeout,
        stall_timeout: settings.stall_timeout,
    }
}

/// What the loop has seen so far; it outlives the polling future so that a deadline or a signal
/// can still report the last state.
#[derive(Debug, Default)]
struct Track {
    polls: u32,
    failures: u32,
    last: Option<JobStatus>,
    last_error: Option<PollError>,
    warned_unknown: bool,
    /// Since when the job has shown what it shows now (state, progress, ETA).
    unchanged_since: Option<Instant>,
}

/// What counts as the job moving: its state, its progress or its ETA.
fn movement(status: &JobStatus) -> (crate::job::JobState, Option<&str>, Option<u8>, Option<i64>) {
    (
        status.state,
        status.state_name.as_deref(),
        status.progress,
        status.eta,
    )
}

async fn poll_until_done(
    client: &Client,
    job: &JobRef,
    schedule: &mut Schedule,
    settings: &Settings,
    deadline: Instant,
    reporter: &mut dyn Reporter,
    track: &mut Track,
) -> End {
    loop {
        track.polls += 1;
        let budget = settings
            .request_timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        let answer = match timeout(budget, client.status(job)).await {
            Ok(answer) => answer,
            Err(_) => Err(PollError::NoAnswer { within: budget }),
        };
        let now = Instant::now();
        let next = match answer {
            Ok(status) => {
                track.failures = 0;
                track.last_error = None;
                let moved = track
                    .last
                    .as_ref()
                    .is_none_or(|last| movement(last) != movement(&status));
                if moved {
                    track.unchanged_since = Some(now);
                }
                let status = track.last.insert(status);
                reporter.on_event(&Event::Polled {
                    status,
                    poll: track.polls,
                });
                match status.phase() {
                    Phase::Waiting => {}
                    Phase::Succeeded => return End::Completed,
                    Phase::Failed => return End::JobFailed,
                }
                if status.state == JobState::Unknown && !track.warned_unknown {
                    track.warned_unknown = true;
                    reporter.on_event(&Event::UnknownState { status });
                }
                let next = schedule.next(Seen::Status(observation(status)), now, deadline);
                // Look again when the stall limit runs out: that look decides.
                match (settings.stall_timeout, track.unchanged_since) {
                    (Some(limit), Some(since)) => {
                        let stalled_at = later(since, limit);
                        if now >= stalled_at {
                            return End::Stalled(now - since);
                        }
                        match next {
                            Next::At(at) => Next::At(at.min(stalled_at)),
                            past => past,
                        }
                    }
                    _ => next,
                }
            }
            Err(error) if error.is_transient() => {
                track.failures += 1;
                let seen = Seen::Transient {
                    retry_after: error.retry_after(),
                };
                let next = schedule.next(seen, now, deadline);
                if let Next::At(at) = next {
                    reporter.on_event(&Event::Retrying {
                        error: &error,
                        failures: track.failures,
                        wait: at - now,
                    });
                }
                track.last_error = Some(error);
                next
            }
            Err(error) => return End::Refused(error),
        };
        match next {
            Next::At(at) => sleep_with_ticks(at, reporter).await,
            Next::PastDeadline { asked } => return End::RetryAfterPastDeadline(asked),
        }
    }
}

/// What the schedule needs from a status.
fn observation(status: &JobStatus) -> Observation {
    Observation {
        progress: status.progress,
        eta_remaining: status.eta_remaining(unix_now()),
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
