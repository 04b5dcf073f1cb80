//! When to poll next. A pure, deterministic piece: given what the last poll saw, the time now and
//! the deadline, it names the next poll's instant. Nothing here sleeps.
//!
//! The base sequence is backon's capped exponential: `interval`, then ×1.5 each poll, up to
//! `max_interval`. Each wait then loses up to 20 % to jitter, so that gates started together
//! drift apart while no wait ever exceeds `max_interval`. (backon's own jitter adds up to 100 %
//! on top of the capped delay, which would break the cap.) A `Retry-After` is a floor.

use crate::job::JobStatus;
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use std::time::Duration;
use tokio::time::Instant;

pub const FACTOR: f32 = 1.5;
/// The largest share of a wait that jitter takes away.
pub const JITTER: f64 = 0.2;

/// What the last poll saw.
#[derive(Debug, Clone, Copy)]
pub enum Seen<'a> {
    Status(&'a JobStatus),
    Transient { retry_after: Option<Duration> },
}

/// The schedule's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Poll at this instant (never past the deadline).
    At(Instant),
    /// The server asked us (`Retry-After`) to wait until after the deadline: polling again is
    /// not allowed in time, so waiting on would only burn the runner's minutes.
    PastDeadline { asked: Duration },
}

#[derive(Debug)]
pub struct Schedule {
    base: ExponentialBackoff,
    max_interval: Duration,
    rng: fastrand::Rng,
}

impl Schedule {
    /// `seed` makes the jitter repeatable (tests, the simulator); `None` seeds from the OS.
    pub fn new(interval: Duration, max_interval: Duration, seed: Option<u64>) -> Self {
        let max_interval = max_interval.max(interval);
        let base = ExponentialBuilder::new()
            .with_min_delay(interval)
            .with_max_delay(max_interval)
            .with_factor(FACTOR)
            .without_max_times()
            .build();
        let rng = seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Self {
            base,
            max_interval,
            rng,
        }
    }

    /// The instant of the next poll, given what the last one saw.
    pub fn next(&mut self, seen: Seen<'_>, now: Instant, deadline: Instant) -> Next {
        let base = self.base.next().unwrap_or(self.max_interval);
        let wait = base.mul_f64(1.0 - JITTER * self.rng.f64());
        let wait = match seen {
            Seen::Transient {
                retry_after: Some(asked),
            } => {
                if now + asked > deadline {
                    return Next::PastDeadline { asked };
                }
                wait.max(asked)
            }
            Seen::Transient { retry_after: None } | Seen::Status(_) => wait,
        };
        Next::At((now + wait).min(deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    /// Drives a schedule the way the wait loop does, in tokio's paused clock, and returns the
    /// waits between polls.
    async fn waits(
        mut schedule: Schedule,
        seen: Seen<'_>,
        polls: usize,
        timeout: Duration,
    ) -> Vec<Duration> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        for _ in 0..polls {
            let now = Instant::now();
            match schedule.next(seen, now, deadline) {
                Next::At(at) => {
                    tokio::time::sleep_until(at).await;
                    out.push(Instant::now() - now);
                }
                Next::PastDeadline { .. } => break,
            }
        }
        out
    }

    const NOTHING: Seen<'static> = Seen::Transient { retry_after: None };

    #[tokio::test(start_paused = true)]
    async fn grows_by_half_each_poll_up_to_the_cap() {
        let got = waits(Schedule::new(2 * S, 10 * S, Some(1)), NOTHING, 8, 3600 * S).await;
        let bases = [2.0, 3.0, 4.5, 6.75, 10.0, 10.0, 10.0, 10.0];
        for (wait, base) in got.iter().zip(bases) {
            let w = wait.as_secs_f64();
            assert!(
                w <= base && w >= base * (1.0 - JITTER) - 1e-9,
                "{w} vs {base}"
            );
        }
        assert_eq!(got.len(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn never_waits_longer_than_the_cap() {
        let got = waits(Schedule::new(S, 30 * S, None), NOTHING, 200, 86_400 * S).await;
        assert!(got.iter().all(|w| *w <= 30 * S));
        assert!(got.iter().all(|w| *w >= S.mul_f64(1.0 - JITTER)));
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_spreads_the_waits_at_the_cap() {
        let got = waits(
            Schedule::new(10 * S, 10 * S, Some(7)),
            NOTHING,
            50,
            86_400 * S,
        )
        .await;
        let min = got.iter().min().unwrap();
        let max = got.iter().max().unwrap();
        assert!(*max - *min > S, "jitter too small: {min:?}..{max:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_same_seed_gives_the_same_waits() {
        let a = waits(Schedule::new(S, 20 * S, Some(42)), NOTHING, 20, 3600 * S).await;
        let b = waits(Schedule::new(S, 20 * S, Some(42)), NOTHING, 20, 3600 * S).await;
        assert_eq!(a, b);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_a_floor() {
        let seen = Seen::Transient {
            retry_after: Some(7 * S),
        };
        let got = waits(Schedule::new(S, 2 * S, Some(3)), seen, 5, 3600 * S).await;
        assert!(got.iter().all(|w| *w == 7 * S), "{got:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn never_schedules_past_the_deadline() {
        let start = Instant::now();
        let got = waits(Schedule::new(4 * S, 4 * S, Some(5)), NOTHING, 100, 10 * S).await;
        assert!(Instant::now() - start <= 10 * S);
        // Once at the deadline, every further poll is "now": the loop's deadline ends the wait.
        assert!(got.iter().skip(3).all(|w| w.is_zero()));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_past_the_deadline_gives_up_at_once() {
        let mut schedule = Schedule::new(S, S, Some(9));
        let now = Instant::now();
        let seen = Seen::Transient {
            retry_after: Some(120 * S),
        };
        assert_eq!(
            schedule.next(seen, now, now + 60 * S),
            Next::PastDeadline { asked: 120 * S }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_interval_above_the_cap_raises_the_cap() {
        let got = waits(Schedule::new(5 * S, S, Some(2)), NOTHING, 3, 3600 * S).await;
        assert!(got.iter().all(|w| *w <= 5 * S && *w >= 4 * S), "{got:?}");
    }
}
