//! When will the job end? A window of plausible end times, from what the job tells us:
//! `jobeta`, and the rate at which `jobprogress` moves.
//!
//! - From `jobeta`: the predicted end, widened by the largest revision of it seen so far (an
//!   ETA that moves is not to be trusted to the second), and by at least [`MIN_SPREAD`].
//! - From progress: a shown progress `p` means the true progress lies in `[p, p + q)`, where the
//!   quantum `q` is 1 for whole percents, or the step size for a job that moves in steps (the
//!   greatest common divisor of every value seen and 100: 25 for 0, 25, 50). After observing
//!   `p0` at `t0` and `pn` at `tn`, the true rate lies between `(pn - p0 - q)/(tn - t0)` and
//!   `(pn - p0 + q)/(tn - t0)`, and the progress left between `100 - pn - q` and `100 - pn`,
//!   which bounds the end. It needs progress to have moved more than one quantum.
//!
//! With both, the window is the union: the gate trusts whichever says "sooner".

use std::time::Duration;
use tokio::time::Instant;

/// The narrowest window: ETAs are whole seconds.
pub const MIN_SPREAD: Duration = Duration::from_secs(1);

/// What one successful poll tells us about the end.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observation {
    pub progress: Option<u8>,
    /// Time left until `jobeta`, by the server's clock; zero once it has passed.
    pub eta_remaining: Option<Duration>,
}

/// When the job should end: not before `earliest`, and (if known) not after `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub earliest: Instant,
    pub latest: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct Predictor {
    first_progress: Option<(Instant, u8)>,
    last_progress: Option<(Instant, u8)>,
    /// The greatest common divisor of 100 and every progress value seen.
    quantum: Option<u8>,
    eta_end: Option<Instant>,
    eta_revision: Duration,
}

impl Predictor {
    pub fn observe(&mut self, at: Instant, observation: Observation) {
        if let Some(p) = observation.progress {
            // Progress that goes backwards restarts the rate: the job is not what it was.
            if self.last_progress.is_some_and(|(_, last)| p < last) {
                self.first_progress = None;
                self.quantum = None;
            }
            self.quantum = Some(gcd(self.quantum.unwrap_or(100), p.min(100)));
            self.first_progress.get_or_insert((at, p));
            self.last_progress = Some((at, p));
        }
        match observation.eta_remaining {
            Some(left) => {
                let Some(end) = at.checked_add(left) else {
                    self.eta_end = None;
                    return;
                };
                if let Some(previous) = self.eta_end {
                    let moved = if end > previous {
                        end - previous
                    } else {
                        previous - end
                    };
                    self.eta_revision = self.eta_revision.max(moved);
                }
                self.eta_end = Some(end);
            }
            None => self.eta_end = None,
        }
    }

    /// The window of plausible end times, if anything predicts one.
    pub fn window(&self) -> Option<Window> {
        let windows = [self.by_eta(), self.by_progress()];
        let mut known = windows.into_iter().flatten();
        let first = known.next()?;
        Some(known.fold(first, |a, b| Window {
            earliest: a.earliest.min(b.earliest),
            latest: a.latest.zip(b.latest).map(|(x, y)| x.max(y)),
        }))
    }

    fn by_eta(&self) -> Option<Window> {
        let end = self.eta_end?;
        let spread = self.eta_revision.max(MIN_SPREAD);
        Some(Window {
            earliest: end.checked_sub(spread).unwrap_or(end),
            latest: end.checked_add(spread),
        })
    }

    fn by_progress(&self) -> Option<Window> {
        let ((t0, p0), (tn, pn)) = (self.first_progress?, self.last_progress?);
        let quantum = f64::from(self.quantum?.max(1));
        let moved = f64::from(pn.checked_sub(p0)?);
        let span = (tn - t0).as_secs_f64();
        if moved <= quantum || span <= 0.0 {
            return None;
        }
        let (fastest, slowest) = ((moved + quantum) / span, (moved - quantum) / span);
        let left = 100.0 - f64::from(pn);
        let seconds = |s: f64| Duration::try_from_secs_f64(s).ok();
        Some(Window {
            earliest: tn.checked_add(seconds(((left - quantum) / fastest).max(0.0))?)?,
            latest: seconds(left / slowest).and_then(|d| tn.checked_add(d)),
        })
    }
}

fn gcd(a: u8, b: u8) -> u8 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn eta(seconds: u64) -> Observation {
        Observation {
            progress: None,
            eta_remaining: Some(S * seconds as u32),
        }
    }

    fn progress(p: u8) -> Observation {
        Observation {
            progress: Some(p),
            eta_remaining: None,
        }
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
    fn a_revised_eta_widens_the_window_by_the_revision() {
        let t0 = Instant::now();
        let mut predictor = Predictor::default();
        predictor.observe(t0, eta(100));
        predictor.observe(t0 + 50 * S, eta(80)); // now says t0 + 130
        let window = predictor.window().unwrap();
        assert_eq!(window.earliest, t0 + 100 * S);
        assert_eq!(window.latest, Some(t0 + 160 * S));
    }

    #[test]
    fn steady_progress_bounds_the_end() {
        let t0 = Instant::now();
        let mut predictor = Predictor::default();
        predictor.observe(t0, progress(0));
        predictor.observe(t0 + 70 * S, progress(7)); // whole percents: the quantum is 1
        predictor.observe(t0 + 100 * S, progress(10)); // 9–11 % per 100 s
        let window = predictor.window().unwrap();
        let earliest = (window.earliest - t0).as_secs_f64();
        let latest = (window.latest.unwrap() - t0).as_secs_f64();
        assert!((900.0..=920.0).contains(&earliest), "{earliest}");
        assert!((1100.0..=1110.0).contains(&latest), "{latest}");
    }

    #[test]
    fn one_point_of_progress_is_not_a_rate() {
        let t0 = Instant::now();
        let mut predictor = Predictor::default();
        predictor.observe(t0, progress(0));
        predictor.observe(t0 + 10 * S, progress(1));
        assert_eq!(predictor.window(), None);
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
        assert!(
            window.earliest <= t0 + 1000 * S,
            "{:?}",
            window.earliest - t0
        );
    }

    #[test]
    fn the_sooner_estimate_wins() {
        let t0 = Instant::now();
        let mut predictor = Predictor::default();
        predictor.observe(
            t0,
            Observation {
                progress: Some(0),
                eta_remaining: Some(1000 * S),
            },
        );
        predictor.observe(
            t0 + 100 * S,
            Observation {
                progress: Some(21),
                eta_remaining: Some(900 * S),
            },
        );
        let window = predictor.window().unwrap();
        assert!(window.earliest < t0 + 600 * S);
    }
}
