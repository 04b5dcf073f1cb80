//! When to poll next. A pure, deterministic piece: given what the last poll saw, the time now and
//! the deadline, it names the next poll's instant. Nothing here sleeps, so the same code runs in
//! the gate and, in virtual time, in the policy simulator (`examples/policy-sim.rs`).
//!
//! Three policies:
//! - [`Policy::Backoff`]: backon's capped exponential, `interval` ×1.5 per poll up to `max`.
//! - [`Policy::Guided`] (the default): the same backoff until `jobeta` or the progress rate
//!   predict when the job will end ([`crate::predict`]). Then: an ETA that has kept its word to
//!   the second gets one look, just past the second it names; a window whose bounds hold (an
//!   ETA that kept its word, a progress rate that fits every value seen) is slept to, to its
//!   first step; an ETA seen once, or a floor with no ceiling, halves the time left to it, no
//!   sooner than the backoff. Through a window the gate steps a twelfth of its width (at most
//!   ⅔ `max`, so the lag stays under that). No wait is longer than [`FAR_FACTOR`] × `max` or
//!   shorter than [`MIN_WAIT`] (or `interval` if that is shorter).
//! - [`Policy::Fixed`]: the same wait every time, for APIs or users that require it.
//!
//! Every policy: waits lose up to 20 % to jitter (never gain), so gates started together drift
//! apart without breaking a cap; a `Retry-After` is a floor; no poll is scheduled past the
//! deadline. (backon's own jitter adds up to 100 % on top of the delay, which would break the
//! caps.)

use crate::predict::{Basis, MIN_SPREAD, Observation, Predictor, Window};
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use std::time::Duration;
use tokio::time::Instant;

pub(crate) const FACTOR: f32 = 1.5;
/// The largest share of a wait that jitter takes away.
pub const JITTER: f64 = 0.2;
/// The guided policy's shortest wait (or `interval`, if shorter).
pub const MIN_WAIT: Duration = Duration::from_secs(1);
/// The guided policy's longest wait, as a multiple of `max`: only while the job cannot
/// plausibly have ended yet.
pub const FAR_FACTOR: u32 = 10;
/// Inside the window, a step is this fraction of the window's width (then capped).
const STEPS_PER_WINDOW: u32 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Fixed(Duration),
    /// No flag chooses it: the policy simulator's baseline, which `Guided` must beat.
    #[cfg_attr(not(feature = "test-support"), allow(dead_code))]
    Backoff {
        interval: Duration,
        max: Duration,
    },
    Guided {
        interval: Duration,
        max: Duration,
    },
}

/// What the last poll saw.
#[derive(Debug, Clone, Copy)]
pub enum Seen {
    Status(Observation),
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
    policy: Policy,
    /// The longest backoff wait: `max`, raised to `interval` if that is longer.
    cap: Duration,
    base: ExponentialBackoff,
    rng: fastrand::Rng,
    predictor: Predictor,
}

impl Schedule {
    /// `seed` makes the jitter repeatable (tests, the simulator); `None` seeds from the OS.
    pub fn new(policy: Policy, seed: Option<u64>) -> Self {
        let (interval, cap) = match policy {
            Policy::Fixed(every) => (every, every),
            Policy::Backoff { interval, max } | Policy::Guided { interval, max } => {
                (interval, max.max(interval))
            }
        };
        let base = ExponentialBuilder::new()
            .with_min_delay(interval)
            .with_max_delay(cap)
            .with_factor(FACTOR)
            .without_max_times()
            .build();
        let rng = seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Self { policy, cap, base, rng, predictor: Predictor::default() }
    }

    /// The instant of the next poll, given what the last one saw.
    pub fn next(&mut self, seen: Seen, now: Instant, deadline: Instant) -> Next {
        let wait = match seen {
            Seen::Status(observation) => {
                self.predictor.observe(now, observation);
                self.after_status(now)
            }
            Seen::Transient { retry_after } => {
                let wait = self.backoff();
                match retry_after {
                    Some(asked) if later(now, asked) > deadline => {
                        return Next::PastDeadline { asked };
                    }
                    Some(asked) => wait.max(asked),
                    None => wait,
                }
            }
        };
        Next::At(later(now, wait).min(deadline))
    }

    fn after_status(&mut self, now: Instant) -> Duration {
        match self.policy {
            Policy::Fixed(every) => every,
            Policy::Backoff { .. } => self.backoff(),
            Policy::Guided { interval, .. } => match self.predictor.window() {
                None => self.backoff(),
                // An ETA seen once is a claim, not yet a record; a floor with no ceiling says
                // only "not yet": no sooner than the backoff, either way.
                Some(window) if window.basis == Basis::Claim || window.latest.is_none() => {
                    let backoff = self.backoff();
                    self.guided(window, now, interval, self.cap).max(backoff)
                }
                Some(window) => self.guided(window, now, interval, self.cap),
            },
        }
    }

    /// The next wait of the capped exponential, jittered.
    fn backoff(&mut self) -> Duration {
        let base = self.base.next().unwrap_or(self.cap);
        self.jitter(base)
    }

    fn guided(
        &mut self,
        window: Window,
        now: Instant,
        interval: Duration,
        max: Duration,
    ) -> Duration {
        let shortest = MIN_WAIT.min(interval);
        let far = max.saturating_mul(FAR_FACTOR);
        // An ETA that has kept its word to the second: one look, just past the second it
        // names (`jobeta` is whole seconds), not a walk through its window.
        if let (Basis::Promise, Some(end)) = (window.basis, window.end)
            && window.latest.is_some_and(|latest| latest <= later(end, MIN_SPREAD))
        {
            let aim = later(end, MIN_SPREAD / 2);
            if now < aim {
                return (aim - now).clamp(shortest, far);
            }
        }
        // Through the window in steps of a share of its width (a progress estimate's width
        // when the progress last moved), at most two thirds of `max`: the lag stays under that.
        let width = match (window.width, window.latest) {
            (Some(width), _) => width,
            (None, Some(latest)) => latest.saturating_duration_since(window.earliest),
            (None, None) => max.saturating_mul(STEPS_PER_WINDOW),
        };
        // `--interval` may be more than two thirds of `--max-interval`: the bound then gives.
        let step = (width / STEPS_PER_WINDOW).clamp(shortest, (max * 2 / 3).max(shortest));
        if now >= window.earliest {
            return step;
        }
        let left = window.earliest - now;
        match window.basis {
            // Bounds that hold (an ETA that kept its word, a rate that fits every value
            // seen): sleep to the window's first step, to the bound.
            Basis::Promise | Basis::Estimate if window.latest.is_some() => {
                left.saturating_add(step).min(far)
            }
            // Close to the window: straight to its start (unjittered, so not late for it).
            _ if left <= max => left.max(shortest),
            // Else halve the time left, and look again.
            _ => self.jitter((left / 2).clamp(max, far)),
        }
    }

    fn jitter(&mut self, wait: Duration) -> Duration {
        wait.mul_f64(1.0 - JITTER * self.rng.f64())
    }
}

/// `at + wait`, or the end of time: waits come from servers and users, and a clock must never
/// overflow on them.
pub fn later(at: Instant, wait: Duration) -> Instant {
    at.checked_add(wait).unwrap_or_else(|| far_future(at))
}

/// The latest instant this platform can represent, found by halving (about 30 tries).
fn far_future(at: Instant) -> Instant {
    let mut step = Duration::from_secs(u64::MAX / 4);
    let mut far = at;
    while step > Duration::from_secs(1) {
        if let Some(next) = far.checked_add(step) {
            far = next;
        } else {
            step /= 2;
        }
    }
    far
}
