//! The polling schedule's contract (`schedule.rs`), in tokio's paused clock: given what it has
//! seen, when it looks next; and the dispatch of many jobs' looks (`dispatch.rs`: one request
//! at a time, `MIN_GAP` apart). The policy simulator (`examples/policy-sim.rs`) measures the
//! same schedule against whole workloads; these pin each rule.

use clanforge_wait::testing::{
    Dispatch, FAR_FACTOR, JITTER, MIN_GAP, MIN_WAIT, Next, Observation, Policy, Schedule, Seen,
    later,
};
use std::time::Duration;
use tokio::time::Instant;

const S: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

fn backoff(interval: Duration, max: Duration) -> Policy {
    Policy::Backoff { interval, max }
}

fn guided(interval: Duration, max: Duration) -> Policy {
    Policy::Guided { interval, max }
}

/// Drives a schedule the way the wait loop does, in tokio's paused clock: each poll sees
/// `seen(elapsed)`. Returns the waits between polls.
async fn waits(
    policy: Policy,
    seen: impl Fn(Duration) -> Seen,
    polls: usize,
    timeout: Duration,
) -> Vec<Duration> {
    let mut schedule = Schedule::new(policy, Some(11));
    let start = Instant::now();
    let deadline = start + timeout;
    let mut out = Vec::new();
    for _ in 0..polls {
        let now = Instant::now();
        match schedule.next(seen(now - start), now, deadline) {
            Next::At(at) => {
                tokio::time::sleep_until(at).await;
                out.push(Instant::now() - now);
            }
            Next::PastDeadline { .. } => break,
        }
    }
    out
}

fn nothing(_: Duration) -> Seen {
    Seen::Transient { retry_after: None }
}

/// A job that ends `total` after the gate starts, with an exact `jobeta`.
fn exact_eta(total: Duration) -> impl Fn(Duration) -> Seen {
    move |elapsed| {
        Seen::Status(Observation {
            progress: None,
            eta_remaining: Some(total.saturating_sub(elapsed)),
        })
    }
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_by_half_each_poll_up_to_the_cap() {
    let got = waits(backoff(2 * S, 10 * S), nothing, 8, 3600 * S).await;
    let bases = [2.0, 3.0, 4.5, 6.75, 10.0, 10.0, 10.0, 10.0];
    for (wait, base) in got.iter().zip(bases) {
        let w = wait.as_secs_f64();
        assert!(w <= base && w >= base * (1.0 - JITTER) - 1e-9, "{w} vs {base}");
    }
    assert_eq!(got.len(), 8);
}

#[tokio::test(start_paused = true)]
async fn backoff_never_waits_longer_than_the_cap() {
    let got = waits(backoff(S, 30 * S), nothing, 200, 86_400 * S).await;
    assert!(got.iter().all(|w| *w <= 30 * S));
    assert!(got.iter().all(|w| *w >= S.mul_f64(1.0 - JITTER)));
}

#[tokio::test(start_paused = true)]
async fn jitter_spreads_the_waits_at_the_cap() {
    let got = waits(backoff(10 * S, 10 * S), nothing, 50, 86_400 * S).await;
    let min = got.iter().min().unwrap();
    let max = got.iter().max().unwrap();
    assert!(max.saturating_sub(*min) > S, "jitter too small: {min:?}..{max:?}");
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_the_same_waits() {
    let a = waits(backoff(S, 20 * S), nothing, 20, 3600 * S).await;
    let b = waits(backoff(S, 20 * S), nothing, 20, 3600 * S).await;
    assert_eq!(a, b);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_a_floor_for_every_policy() {
    let seen = |_| Seen::Transient { retry_after: Some(7 * S) };
    for policy in [backoff(S, 2 * S), guided(S, 2 * S), Policy::Fixed(S)] {
        let got = waits(policy, seen, 5, 3600 * S).await;
        assert!(got.iter().all(|w| *w == 7 * S), "{policy:?}: {got:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn no_policy_schedules_past_the_deadline() {
    for policy in [backoff(4 * S, 4 * S), guided(4 * S, 4 * S), Policy::Fixed(4 * S)] {
        let start = Instant::now();
        let got = waits(policy, exact_eta(3600 * S), 100, 10 * S).await;
        assert!(Instant::now() - start <= 10 * S, "{policy:?}");
        // Once at the deadline every further poll is "now": the loop's deadline ends it.
        assert!(got.iter().skip(4).all(|w| w.is_zero()), "{policy:?}: {got:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_past_the_deadline_gives_up_at_once() {
    let mut schedule = Schedule::new(guided(S, S), Some(9));
    let now = Instant::now();
    let seen = Seen::Transient { retry_after: Some(120 * S) };
    assert_eq!(schedule.next(seen, now, now + 60 * S), Next::PastDeadline { asked: 120 * S });
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_at_the_end_of_time_is_past_the_deadline() {
    let mut schedule = Schedule::new(guided(S, S), Some(9));
    let now = Instant::now();
    let asked = Duration::from_secs(u64::MAX);
    let seen = Seen::Transient { retry_after: Some(asked) };
    assert_eq!(schedule.next(seen, now, now + 60 * S), Next::PastDeadline { asked });
    assert!(later(now, asked) > now + 3_153_600_000 * S);
}

#[tokio::test(start_paused = true)]
async fn an_interval_above_the_cap_raises_the_cap() {
    let got = waits(backoff(5 * S, S), nothing, 3, 3600 * S).await;
    assert!(got.iter().all(|w| *w <= 5 * S && *w >= 4 * S), "{got:?}");
}

#[tokio::test(start_paused = true)]
async fn fixed_waits_the_same_every_time() {
    let got = waits(Policy::Fixed(7 * S), exact_eta(100 * S), 10, 3600 * S).await;
    assert!(got.iter().all(|w| *w == 7 * S), "{got:?}");
}

#[tokio::test(start_paused = true)]
async fn guided_without_a_prediction_is_the_backoff() {
    let plain = waits(backoff(2 * S, 10 * S), nothing, 10, 3600 * S).await;
    let guided = waits(guided(2 * S, 10 * S), nothing, 10, 3600 * S).await;
    assert_eq!(plain, guided);
}

#[tokio::test(start_paused = true)]
async fn guided_stays_within_its_documented_bounds() {
    let (interval, max) = (5 * S, 30 * S);
    for total in [10, 45, 300, 3600, 7200] {
        let got = waits(guided(interval, max), exact_eta(total * S), 200, 4 * 3600 * S).await;
        assert!(got.iter().all(|w| *w <= max * FAR_FACTOR), "{total}: {got:?}");
        let before_deadline = got.iter().filter(|w| !w.is_zero());
        assert!(before_deadline.into_iter().all(|w| *w >= MIN_WAIT.mul_f64(1.0 - JITTER)));
    }
}

#[tokio::test(start_paused = true)]
async fn guided_polls_at_the_predicted_end_and_seldom_before() {
    let total = 1800 * S;
    let start = Instant::now();
    let mut schedule = Schedule::new(guided(5 * S, 30 * S), Some(3));
    let mut polls = 0;
    loop {
        let now = Instant::now();
        polls += 1;
        if now - start >= total {
            break;
        }
        let Next::At(at) = schedule.next(exact_eta(total)(now - start), now, start + 7200 * S)
        else {
            panic!("gave up")
        };
        tokio::time::sleep_until(at).await;
    }
    let lag = (Instant::now() - start).saturating_sub(total);
    assert!(lag <= 2 * S, "noticed {lag:?} late");
    assert!(polls <= 15, "{polls} polls for a 30-minute job");
}

/// Polls until `done` (seconds from the start) with `eta(elapsed)` for `jobeta`.
async fn polls_until(policy: Policy, done: u64, eta: impl Fn(Duration) -> u64) -> usize {
    let mut schedule = Schedule::new(policy, Some(5));
    let start = Instant::now();
    let mut polls = 1;
    while Instant::now() - start < Duration::from_secs(done) {
        let elapsed = Instant::now() - start;
        let seen = Seen::Status(Observation {
            progress: None,
            eta_remaining: Some(S * eta(elapsed) as u32),
        });
        let Next::At(at) = schedule.next(seen, Instant::now(), start + 7200 * S) else {
            panic!("gave up")
        };
        tokio::time::sleep_until(at).await;
        polls += 1;
    }
    polls
}

#[tokio::test(start_paused = true)]
async fn an_eta_that_keeps_slipping_costs_no_more_than_the_backoff() {
    // Half an hour of "5 s more".
    let slipping = polls_until(guided(5 * S, 30 * S), 1800, |_| 5).await;
    let backoff = polls_until(backoff(5 * S, 30 * S), 1800, |_| 5).await;
    assert!(slipping <= backoff, "{slipping} polls, the backoff's {backoff}");
    // The 40 s job whose jobeta said 20 s, then stayed 5 s ahead: 22 requests in v0.1.
    let late = polls_until(guided(5 * S, 30 * S), 40, |elapsed| {
        20u64.saturating_sub(elapsed.as_secs()).max(5)
    })
    .await;
    assert!(late <= 7, "{late} polls");
}

#[tokio::test(start_paused = true)]
async fn an_interval_near_its_cap_steps_through_the_window_without_a_panic() {
    // --interval 249ms --max-interval 316ms: a step's bound (two thirds of the cap) is below
    // the shortest wait; the clamp once panicked there (a property test found it).
    let (interval, max) = (Duration::from_millis(249), Duration::from_millis(316));
    let moving = |elapsed: Duration| {
        let wobble = if elapsed.as_millis() % 2 == 0 { 4 } else { 1 };
        Seen::Status(Observation {
            progress: None,
            eta_remaining: Some((wobble * S).saturating_sub(elapsed)),
        })
    };
    let got = waits(guided(interval, max), moving, 40, 60 * S).await;
    assert!(got.iter().all(|w| *w >= interval / 2), "{got:?}");
}

#[tokio::test(start_paused = true)]
async fn guided_waits_at_most_max_inside_the_window() {
    // An ETA that keeps moving: the window is wide, so steps are at the cap.
    let max = 30 * S;
    let wobbly = |elapsed: Duration| {
        let wobble = if elapsed.as_secs() % 2 == 0 { 400 } else { 100 };
        Seen::Status(Observation {
            progress: None,
            eta_remaining: Some((wobble * S).saturating_sub(elapsed)),
        })
    };
    let got = waits(guided(5 * S, max), wobbly, 50, 3600 * S).await;
    assert!(got.iter().skip(3).all(|w| *w <= max), "{got:?}");
}

#[test]
fn jobs_that_share_a_key_share_requests_and_the_soonest_goes_first() {
    let t0 = Instant::now();
    let mut dispatch = Dispatch::new(&["a", "b", "a"], t0);
    dispatch.due(0, t0 + 500 * MS);
    dispatch.due(1, t0 + 300 * MS);
    dispatch.due(2, t0 + 200 * MS);
    assert_eq!(dispatch.next(), Some((0, t0 + 200 * MS)));
    assert_eq!(dispatch.live(0), [0, 2]);
    dispatch.end(2);
    assert_eq!(dispatch.next(), Some((1, t0 + 300 * MS)));
    dispatch.end(0);
    dispatch.end(1);
    assert_eq!(dispatch.next(), None);
}

#[test]
fn requests_keep_their_gap_and_a_hold_holds_every_target() {
    let t0 = Instant::now();
    let mut dispatch = Dispatch::new(&["a", "b"], t0);
    dispatch.sent(t0);
    assert_eq!(dispatch.next(), Some((0, t0 + MIN_GAP)));
    dispatch.hold(t0 + 5000 * MS);
    dispatch.due(0, t0 + 9000 * MS);
    assert_eq!(dispatch.next(), Some((1, t0 + 5000 * MS)));
}
