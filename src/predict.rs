//! When will the job end? A window of plausible end times, from what the job tells us:
//! `jobeta`, and the rate at which `jobprogress` moves.
//!
//! - From `jobeta`: the predicted end, widened by how far the ETA will likely still move: its
//!   drift so far (seconds of end per second, since the first ETA) over the time left, and by
//!   at least [`MIN_SPREAD`]. An ETA that has not moved is trusted to the second.
//! - From progress: a value `p` shown from `first` to `last` means the true progress was at
//!   least `p` at `first` (but 0, which a queued job shows before it starts) and below `p + q`
//!   at `last`, where the quantum `q` is 1 for whole percents, or the step size for a job that
//!   moves in steps (the greatest common divisor of every value seen and 100: 25 for 0, 25,
//!   50). For a job that moves at a steady rate from some start, each is a half-plane in
//!   (start, duration); the end lies between its least and greatest over their intersection,
//!   a small linear program solved at its vertices. It uses every value seen, the moments it
//!   rose included, so a job in steps is timed by its steps, not blurred by their size. With
//!   one rise it gives only a floor ("not before"); values no steady rate fits restart it.
//!
//! With both, an ETA that has kept its word is followed, unless the progress rate says the job
//! ends before the ETA's window opens (one of them is wrong; the sooner is checked). Else the
//! gate follows whichever says "sooner"; once that window has passed with the job still
//! running, it follows the other.
//!
//! An ETA must keep its word. It promises an end; a poll more than [`MIN_SPREAD`] past that end
//! that finds the job still running, or an ETA that has moved from its promise by more than
//! [`MIN_SPREAD`] and half the time since, shows the ETA is wrong, and from then on it predicts
//! nothing (the schedule falls back to its backoff) until it earns trust back: two ETAs in a
//! row that hold steady, moving by at most [`MIN_SPREAD`] or half the time between the polls.
//! A slipping ETA ("5 s more", again and again) moves as fast as time does and never earns it
//! back; one revised as the job runs keeps it.

use std::time::Duration;
use tokio::time::Instant;

/// The narrowest window: ETAs are whole seconds.
pub(crate) const MIN_SPREAD: Duration = Duration::from_secs(1);

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
    pub basis: Basis,
    /// The end an ETA names (the middle of its window); `None` for a progress estimate.
    pub end: Option<Instant>,
    /// For a progress estimate: how wide the window was when the progress last moved. Looks
    /// that find it unmoved narrow the window from below; the steps through it stay a share of
    /// this width rather than shrink with what is left.
    pub width: Option<Duration>,
}

/// What a window rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// An ETA seen once: a claim not yet borne out by a second look.
    Claim,
    /// An ETA that has kept its word.
    Promise,
    /// The progress rate: bounds, not a promise.
    Estimate,
}

/// An end the ETA promised: `first` as it stood at the comparison point `since`, `end` now.
#[derive(Debug, Clone, Copy)]
struct Promise {
    since: Instant,
    first: Instant,
    end: Instant,
}

impl Promise {
    fn new(at: Instant, end: Instant) -> Self {
        Self { since: at, first: end, end }
    }
}

#[derive(Debug, Default)]
pub struct Predictor {
    /// What the progress says of the end ([`Self::by_progress`]), as of the last value seen:
    /// worked out once per observation, not at every question.
    progress_window: Option<Window>,
    /// Each progress value shown: when it was first and last seen.
    shown: std::collections::BTreeMap<u8, (Instant, Instant)>,
    last_progress: Option<u8>,
    /// The greatest common divisor of 100 and every progress value seen.
    quantum: Option<u8>,
    eta_end: Option<Instant>,
    /// The first ETA seen: (when, the end it named).
    first_eta: Option<(Instant, Instant)>,
    /// How fast the ETA has moved, on average since the first one: seconds of end per second.
    eta_drift: f64,
    /// What the ETA has promised, while it keeps its word.
    promise: Option<Promise>,
    /// While distrusted: an ETA to compare the next ones with.
    candidate: Option<(Instant, Instant)>,
    /// The ETA broke its promise and has not earned trust back.
    distrusted: bool,
    /// Looks that bore out the current promise.
    confirmations: u32,
    /// When the last observation came.
    last_seen: Option<Instant>,
}

impl Predictor {
    pub fn observe(&mut self, at: Instant, observation: Observation) {
        self.last_seen = Some(at);
        if let Some(p) = observation.progress {
            // Progress that goes backwards restarts the rate: the job is not what it was.
            if self.last_progress.is_some_and(|last| p < last) {
                self.shown.clear();
                self.quantum = None;
            }
            self.quantum = Some(gcd(self.quantum.unwrap_or(100), p.min(100)));
            self.shown.entry(p).or_insert((at, at)).1 = at;
            self.last_progress = Some(p);
            self.progress_window = self.by_progress();
            // No steady rate fits what was seen: the job changed pace; start the record again.
            if self.shown.len() >= 2 && self.progress_window.is_none() {
                self.shown.clear();
                self.shown.insert(p, (at, at));
                self.quantum = Some(gcd(100, p.min(100)));
            }
        }
        match observation.eta_remaining {
            Some(left) => {
                let Some(end) = at.checked_add(left) else {
                    self.eta_end = None;
                    return;
                };
                let (since, first) = *self.first_eta.get_or_insert((at, end));
                let span = at.saturating_duration_since(since).as_secs_f64();
                if span > 0.0 {
                    self.eta_drift = distance(end, first).as_secs_f64() / span;
                }
                self.trust(at, end);
                self.eta_end = Some(end);
            }
            None => self.eta_end = None,
        }
    }

    /// Weighs an ETA's end against what earlier ones promised. Steady means moved by at most
    /// [`MIN_SPREAD`] (ETAs are whole seconds) or half the time since the comparison point, over
    /// a span of at least 2 s: a rate, judged over a recent span rather than one poll, so that a
    /// slip of a second a second, polled once a second, can't pass for rounding, and a long
    /// wait can't hide one either.
    fn trust(&mut self, at: Instant, end: Instant) {
        let span = |since: Instant| at.saturating_duration_since(since);
        let steady =
            |since: Instant, then: Instant| distance(end, then) <= MIN_SPREAD.max(span(since) / 2);
        match (self.promise, self.distrusted) {
            // The promised end passed with the job still running: the ETA was wrong.
            (Some(promise), _) if at > promise.end + MIN_SPREAD => self.distrust(),
            // Too soon to judge a rate: no more than rounding.
            (Some(promise), _) if span(promise.since) < 2 * MIN_SPREAD => {
                if distance(end, promise.first) <= MIN_SPREAD {
                    self.promise = Some(Promise { end, ..promise });
                } else {
                    self.distrust();
                }
            }
            // Held steady since the comparison point: a new comparison point.
            (Some(promise), _) if steady(promise.since, promise.first) => {
                self.promise = Some(Promise::new(at, end));
                self.confirmations += 1;
            }
            // Moving faster than half the time passing: slipping, or a jump.
            (Some(_), _) => self.distrust(),
            (None, false) => {
                self.promise = Some(Promise::new(at, end));
                self.confirmations = 0;
            }
            // Distrusted: trust comes back when an ETA holds steady over 2 s or more.
            (None, true) => match self.candidate {
                // Too soon to tell a slip from rounding: keep comparing with the same one.
                Some((since, _)) if span(since) < 2 * MIN_SPREAD => {}
                Some((since, then)) if steady(since, then) => {
                    self.distrusted = false;
                    self.candidate = None;
                    self.promise = Some(Promise::new(at, end));
                    self.confirmations = 1;
                }
                _ => self.candidate = Some((at, end)),
            },
        }
    }

    fn distrust(&mut self) {
        self.distrusted = true;
        self.promise = None;
        self.candidate = None;
    }

    /// The window of plausible end times to follow, as of the last observation, if anything
    /// predicts one: the soonest that has not passed yet, else the one that ends last.
    pub fn window(&self) -> Option<Window> {
        let now = self.last_seen?;
        // An ETA that has kept its word says more than the progress rate's bounds, as long as
        // the two agree; when the progress rate says the job ends before the ETA's window even
        // opens, one of them is wrong, and the sooner is the one to check.
        if let Some(promise) = self.by_eta().filter(|w| w.basis == Basis::Promise)
            && promise.latest.is_none_or(|latest| now <= latest)
        {
            let sooner = self
                .progress_window
                .and_then(|estimate| estimate.latest)
                .is_some_and(|latest| latest < promise.earliest);
            if !sooner {
                return Some(promise);
            }
        }
        let mut windows: Vec<Window> =
            [self.by_eta(), self.progress_window].into_iter().flatten().collect();
        windows.sort_by_key(|w| w.earliest);
        let open = windows.iter().find(|w| w.latest.is_none_or(|latest| now <= latest));
        open.or_else(|| windows.iter().max_by_key(|w| w.latest)).copied()
    }

    fn by_eta(&self) -> Option<Window> {
        if self.distrusted {
            return None;
        }
        let end = self.eta_end?;
        // An ETA that has been revised is off by about as much as it will move before the end
        // it names: its drift so far, over the time left.
        let now = self.last_seen.unwrap_or(end);
        let left = end.saturating_duration_since(now).as_secs_f64();
        let spread = Duration::try_from_secs_f64(self.eta_drift * left)
            .unwrap_or(Duration::MAX)
            .max(MIN_SPREAD);
        Some(Window {
            earliest: end.checked_sub(spread).unwrap_or(end),
            latest: end.checked_add(spread),
            end: Some(end),
            width: None,
            basis: if self.confirmations == 0 { Basis::Claim } else { Basis::Promise },
        })
    }

    /// What the progress rate says, if it has moved: the window of end times consistent with
    /// every value seen, for a job that moves at a steady rate from some start. A value `p`
    /// shown from `first` to `last` means the true progress was at least `p` at `first` (but
    /// for 0: a queued job shows 0 before it starts) and below `p + q` at `last`, where the
    /// quantum `q` is the step the values move by (1 for whole percents, 25 for 0, 25, 50).
    /// Each is a half-plane in (start, duration); the end, start + duration, lies between its
    /// least and greatest over their intersection (a small linear program, solved at its
    /// vertices). Values that no steady rate fits restart the record.
    fn by_progress(&self) -> Option<Window> {
        if self.shown.len() < 2 {
            return None;
        }
        let origin = self.shown.values().map(|(first, _)| *first).min()?;
        let at = |t: Instant| t.saturating_duration_since(origin).as_secs_f64();
        let q = f64::from(self.quantum?.max(1)) / 100.0;
        // a·start + b·duration ≤ c
        let mut constraints: Vec<(f64, f64, f64)> = vec![(0.0, -1.0, -1.0), (0.0, 1.0, BOUND)];
        constraints.extend([(1.0, 0.0, BOUND), (-1.0, 0.0, BOUND)]);
        for (&p, &(first, last)) in &self.shown {
            let share = f64::from(p) / 100.0;
            if p > 0 {
                constraints.push((1.0, share, at(first)));
            }
            constraints.push((-1.0, -(share + q), -at(last)));
        }
        let (soonest, latest) = end_range(&constraints)?;
        // The same, as it stood when the latest value first showed.
        let newest = self.shown.iter().next_back().map(|(_, (first, _))| at(*first))?;
        if let Some(last) = constraints.last_mut() {
            last.2 = -newest;
        }
        let width =
            end_range(&constraints).and_then(|(lo, hi)| Duration::try_from_secs_f64(hi - lo).ok());
        let instant =
            |s: f64| Duration::try_from_secs_f64(s).ok().and_then(|d| origin.checked_add(d));
        Some(Window {
            earliest: instant(soonest)?,
            latest: (latest < BOUND / 2.0).then(|| instant(latest)).flatten(),
            end: None,
            width,
            basis: Basis::Estimate,
        })
    }
}

/// Far enough to stand for "unbounded" in [`Predictor::by_progress`]'s program: 30 years.
const BOUND: f64 = 1e9;

/// The least and greatest of start + duration over `a·start + b·duration ≤ c` for every
/// constraint, found at the vertices; `None` when nothing satisfies them all.
fn end_range(constraints: &[(f64, f64, f64)]) -> Option<(f64, f64)> {
    let mut range: Option<(f64, f64)> = None;
    for (i, &(a1, b1, c1)) in constraints.iter().enumerate() {
        for &(a2, b2, c2) in &constraints[i + 1..] {
            let det = a1 * b2 - a2 * b1;
            if det.abs() < 1e-12 {
                continue;
            }
            let start = (c1 * b2 - c2 * b1) / det;
            let duration = (a1 * c2 - a2 * c1) / det;
            let fits = constraints
                .iter()
                .all(|&(a, b, c)| a * start + b * duration <= c + 1e-6 * (1.0 + c.abs()));
            if fits {
                let end = start + duration;
                range = Some(range.map_or((end, end), |(lo, hi)| (lo.min(end), hi.max(end))));
            }
        }
    }
    range
}

fn distance(a: Instant, b: Instant) -> Duration {
    if a > b { a - b } else { b - a }
}

fn gcd(a: u8, b: u8) -> u8 {
    if b == 0 { a } else { gcd(b, a % b) }
}
