//! The predicted end (`predict.rs`): what a job's ETA and progress say of when it ends, and how
//! far each is trusted. The schedule (`tests/schedule.rs`) looks when this window says.

use clanforge_wait::testing::{Basis, Observation, Predictor};
use std::time::Duration;
use tokio::time::Instant;

const S: Duration = Duration::from_secs(1);

fn eta(seconds: u64) -> Observation {
    Observation { progress: None, eta_remaining: Some(S * seconds as u32) }
}

fn progress(p: u8) -> Observation {
    Observation { progress: Some(p), eta_remaining: None }
}

#[test]
fn nothing_known_predicts_nothing() {
    let mut predictor = Predictor::default();
    predictor.observe(Instant::now(), Observation::default());
    assert_eq!(predictor.window(), None);
}

#[test]
fn a_steady_eta_gives_a_narrow_window() {
    let t0 = Instant::now();
    let mut predictor = Predictor::default();
    predictor.observe(t0, eta(100));
    predictor.observe(t0 + 50 * S, eta(50));
    let window = predictor.window().unwrap();
    assert_eq!(window.earliest, t0 + 99 * S);
    assert_eq!(window.latest, Some(t0 + 101 * S));
}

#[test]
fn a_revised_eta_widens_the_window_by_its_drift_over_the_time_left() {
    let t0 = Instant::now();
    let mut predictor = Predictor::default();
    predictor.observe(t0, eta(100));
    predictor.observe(t0 + 50 * S, eta(60)); // now says t0 + 110: 10 s later, in 50 s
    // 0.2 s a second, over the 60 s left: ±12 s.
    let window = predictor.window().unwrap();
    assert_eq!(window.earliest, t0 + 98 * S);
    assert_eq!(window.latest, Some(t0 + 122 * S));
    assert_eq!(window.basis, Basis::Promise);
}

#[test]
fn a_revision_faster_than_half_the_time_passed_breaks_the_promise() {
    let t0 = Instant::now();
    let mut predictor = Predictor::default();
    predictor.observe(t0, eta(100));
    predictor.observe(t0 + 50 * S, eta(80)); // now says t0 + 130: 30 s later, in 50 s
    assert_eq!(predictor.window(), None);
}

#[test]
fn an_eta_seen_once_is_a_claim() {
    let t0 = Instant::now();
    let mut predictor = Predictor::default();
    predictor.observe(t0, eta(100));
    assert_eq!(predictor.window().unwrap().basis, Basis::Claim);
    predictor.observe(t0 + 10 * S, eta(90));
    assert_eq!(predictor.window().unwrap().basis, Basis::Promise);
}

#[test]
fn an_eta_that_slips_predicts_nothing_until_it_holds_steady() {
    let t0 = Instant::now();
    let mut predictor = Predictor::default();
    // "5 s more", at every poll, polled at the backoff's pace.
    predictor.observe(t0, eta(5));
    predictor.observe(t0 + 5 * S, eta(5));
    assert_eq!(predictor.window(), None, "moved 5 s in 5 s");
    predictor.observe(t0 + 12 * S, eta(5));
    assert_eq!(predictor.window(), None, "moved 7 s in 7 s: still slipping");
    // Now it holds: t0 + 60 s, twice.
    predictor.observe(t0 + 30 * S, eta(30));
    predictor.observe(t0 + 40 * S, eta(20));
    let window = predictor.window().unwrap();
    assert!(window.earliest <= t0 + 60 * S && window.latest >= Some(t0 + 60 * S));
}

#[test]
fn an_eta_whose_end_passes_with_the_job_running_is_distrusted() {
    let t0 = Instant::now();
    let mut predictor = Predictor::default();
    predictor.observe(t0, eta(30));
    predictor.observe(t0 + 20 * S, eta(10));
    predictor.observe(t0 + 32 * S, eta(0));
    assert_eq!(predictor.window(), None);
}

#[test]
fn an_eta_revised_as_the_job_runs_keeps_its_trust() {
    let t0 = Instant::now();
    let mut predictor = Predictor::default();
    // First said t0 + 100 s, then later and later, a third as fast as time passes.
    for (t, left) in [(0, 100), (60, 60), (90, 40), (100, 33), (110, 27)] {
        predictor.observe(t0 + t * S, eta(left));
        assert!(predictor.window().is_some(), "at {t} s");
    }
}

#[test]
fn steady_progress_bounds_the_end() {
    let t0 = Instant::now();
    let mut predictor = Predictor::default();
    predictor.observe(t0, progress(0));
    predictor.observe(t0 + 70 * S, progress(7)); // whole percents: the quantum is 1
    predictor.observe(t0 + 100 * S, progress(10)); // 9–11 % per 100 s
    // Below 1 at t0, 7 by 70 s and below 8 then, 10 by 100 s and below 11 then, from a start
    // the values leave free (a job may sit queued at 0 %). The end lies between 767.5 s
    // (750 s long, from t0 + 17.5 s) and 1,100 s (1,111 s long, from t0 - 11 s).
    let window = predictor.window().unwrap();
    let earliest = (window.earliest - t0).as_secs_f64();
    let latest = (window.latest.unwrap() - t0).as_secs_f64();
    assert!((767.0..=768.0).contains(&earliest), "{earliest}");
    assert!((1099.0..=1101.0).contains(&latest), "{latest}");
}

#[test]
fn progress_no_steady_rate_fits_starts_the_record_again() {
    let t0 = Instant::now();
    let mut predictor = Predictor::default();
    // 40 points in 400 s, then 2 in the next 400 s: no start and rate fit both.
    predictor.observe(t0, progress(10));
    predictor.observe(t0 + 400 * S, progress(50));
    predictor.observe(t0 + 800 * S, progress(52));
    predictor.observe(t0 + 900 * S, progress(53));
    let window = predictor.window().expect("a rate from the record since the change");
    assert!(window.earliest > t0 + 2000 * S, "{:?}", window.earliest - t0);
}

#[test]
fn one_point_of_progress_is_a_floor_not_a_rate() {
    let t0 = Instant::now();
    let mut predictor = Predictor::default();
    predictor.observe(t0, progress(0));
    assert_eq!(predictor.window(), None);
    predictor.observe(t0 + 10 * S, progress(1));
    // Slower than 1 point in 10 s, maybe much slower: not before 10 s, no latest end.
    let window = predictor.window().unwrap();
    assert!(window.earliest >= t0 + 10 * S);
    assert_eq!(window.latest, None);
}

#[test]
fn progress_in_steps_widens_the_window_to_the_step() {
    // Steps of 25 %: a "50" seen at 0.74 of the job must not put the end after 1.0.
    let t0 = Instant::now();
    let mut predictor = Predictor::default();
    predictor.observe(t0, progress(0));
    predictor.observe(t0 + 300 * S, progress(25));
    predictor.observe(t0 + 740 * S, progress(50));
    let window = predictor.window().unwrap();
    assert!(window.earliest <= t0 + 1000 * S, "{:?}", window.earliest - t0);
}

#[test]
fn the_sooner_estimate_wins() {
    let t0 = Instant::now();
    let mut predictor = Predictor::default();
    predictor.observe(t0, Observation { progress: Some(0), eta_remaining: Some(1000 * S) });
    predictor
        .observe(t0 + 100 * S, Observation { progress: Some(21), eta_remaining: Some(900 * S) });
    let window = predictor.window().unwrap();
    assert!(window.earliest < t0 + 600 * S);
}
