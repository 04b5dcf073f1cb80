//! The wait loop: poll, classify, tell the reporters, and stop when the job ends, the API
//! refuses us, the deadline passes or a signal arrives. It knows nothing of CI platforms or
//! terminals: reporters listen to its events.

use crate::api::{Client, PollError};
use crate::job::{JobRef, JobState, JobStatus, Phase, unix_now};
use crate::outcome::{Outcome, Signal, Summary};
use crate::predict::Observation;
use crate::report::Reporter;
use crate::schedule::{Next, Schedule, Seen};
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
}

/// What the loop tells reporters while it runs.
#[derive(Debug)]
pub enum Event<'a> {
    Started {
        job: &'a JobRef,
        url: &'a str,
        timeout: Duration,
    },
    /// Every successful poll, changed or not.
    Polled { status: &'a JobStatus, poll: u32 },
    /// The first poll that shows a state this client does not know.
    UnknownState { status: &'a JobStatus },
    /// A transient failure; the next poll comes after `wait`.
    Retrying {
        error: &'a PollError,
        failures: u32,
        wait: Duration,
    },
    /// Time passes with nothing to say.
    Tick,
}

/// How the wait ended, with everything the reporters write.
#[derive(Debug, Clone)]
pub struct Report {
    pub outcome: Outcome,
    pub summary: Summary,
    /// One line for a person: what happened and, where there is something to do, what.
    pub message: String,
}

/// Waits on `job` and returns how it ended. Never runs past `settings.timeout` by more than
/// the time it takes to return, whatever the server does.
pub async fn wait(
    client: &Client,
    job: &JobRef,
    schedule: &mut Schedule,
    settings: &Settings,
    reporter: &mut dyn Reporter,
    cancel: impl Future<Output = Signal>,
) -> Report {
    let started = Instant::now();
    let deadline = started + settings.timeout;
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
    track.report(job, end, started.elapsed(), settings.timeout)
}

/// What the loop has seen so far; it outlives the polling future so that a deadline or a signal
/// can still report the last state.
#[derive(Debug, Default)]
struct Track {
    polls: u32,
    failures: u32,
    last: Option<JobStatus>,
    last_error: Option<String>,
    warned_unknown: bool,
}

#[derive(Debug)]
enum End {
    Completed,
    JobFailed,
    Refused(PollError),
    RetryAfterPastDeadline(Duration),
    TimedOut,
    Cancelled(Signal),
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
            Err(_) => Err(PollError::transient(format!(
                "no answer within {} (--request-timeout)",
                human(budget)
            ))),
        };
        let now = Instant::now();
        let next = match answer {
            Ok(status) => {
                track.failures = 0;
                track.last_error = None;
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
                schedule.next(Seen::Status(observation(status)), now, deadline)
            }
            Err(error) if error.is_transient() => {
                track.failures += 1;
                track.last_error = Some(error.to_string());
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

impl Track {
    fn report(self, job: &JobRef, end: End, elapsed: Duration, limit: Duration) -> Report {
        let last = self.last.as_ref();
        let seen = self.last_seen();
        let after = format!("after {} and {} polls", human(elapsed), self.polls);
        let (outcome, error, message) = match end {
            End::Completed => (
                Outcome::Completed,
                String::new(),
                format!("{job} completed ({seen}) {after}"),
            ),
            End::JobFailed => {
                let mut why = format!("state {}", last.map_or("unknown", |s| s.state_label()));
                if last.is_some_and(|s| s.failed) {
                    why.push_str(", jobfailed set");
                }
                let error = last
                    .and_then(|s| s.error.as_deref())
                    .map(crate::job::one_line)
                    .unwrap_or_else(|| format!("the job ended with {why}"));
                let message = format!("{job} failed ({why}) {after}: {error}");
                (Outcome::Failed, error, message)
            }
            End::Refused(error) => {
                let error = error.to_string();
                let message = format!("{job}: {error}");
                (Outcome::ApiError, error, message)
            }
            End::TimedOut | End::RetryAfterPastDeadline(_) => {
                let why = match end {
                    End::RetryAfterPastDeadline(asked) => format!(
                        "the API asked for a {} pause (Retry-After), past the {} deadline",
                        human(asked),
                        human(limit)
                    ),
                    _ => format!("the {} deadline (--timeout) passed", human(limit)),
                };
                let error = format!(
                    "gave up waiting on {job} {after}: {why}; last seen: {seen}; the job may \
                     still be running in Clanforge (raise --timeout if such jobs take longer)"
                );
                (Outcome::TimedOut, error.clone(), error)
            }
            End::Cancelled(signal) => {
                let name = match signal {
                    Signal::Interrupt => "SIGINT",
                    Signal::Terminate => "SIGTERM",
                };
                let error = format!("cancelled by {name} {after}");
                let message = format!(
                    "{error}; {job} was last seen {seen} and may still be running in Clanforge"
                );
                (Outcome::Cancelled(signal), error, message)
            }
        };
        let summary = Summary {
            result: outcome.result(),
            update_id: job.id.clone(),
            state_id: last.and_then(|s| s.state_id),
            state: last.map(|s| s.state_label().to_owned()).unwrap_or_default(),
            progress: last.and_then(|s| s.progress),
            job_failed: last.is_some_and(|s| s.failed),
            error,
            elapsed_seconds: elapsed.as_secs(),
            polls: self.polls,
        };
        Report {
            outcome,
            summary,
            message,
        }
    }

    /// "Running, 42%", or what kept us from seeing a status.
    fn last_seen(&self) -> String {
        match (&self.last, &self.last_error) {
            (Some(status), _) => describe(status),
            (None, Some(error)) => format!("no status yet (last error: {error})"),
            (None, None) => "no status yet".to_owned(),
        }
    }
}

/// "Running, 42%".
pub fn describe(status: &JobStatus) -> String {
    match status.progress {
        Some(p) => format!("{}, {p}%", status.state_label()),
        None => status.state_label().to_owned(),
    }
}

/// A duration for a person: "350ms", "4.2s", "1m 30s".
pub fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(10) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::human;
    use std::time::Duration;

    #[test]
    fn human_durations_read_well() {
        assert_eq!(human(Duration::from_millis(350)), "350ms");
        assert_eq!(human(Duration::from_millis(4_249)), "4.2s");
        assert_eq!(human(Duration::from_millis(90_700)), "1m 30s");
    }
}
