//! Which request a gate of many jobs sends next, and when. Jobs that share a status URL (every
//! `install/…`) share its requests: the target is due when its earliest live job is. Requests
//! go out one at a time, at least [`MIN_GAP`] apart, so that many jobs never make a burst, and a
//! `Retry-After` holds back every target (the limit is the account's, not the job's).
//!
//! Pure, like the schedule: the wait loop sleeps until what it says, and the policy simulator
//! (`examples/policy-sim.rs`) runs the same choice in virtual time.

use crate::schedule::later;
use std::time::Duration;
use tokio::time::Instant;

/// The least time between two requests of one gate.
pub const MIN_GAP: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub struct Dispatch {
    /// The jobs of each target, by index.
    targets: Vec<Vec<usize>>,
    /// When each job is due; `None` once it has ended.
    due: Vec<Option<Instant>>,
    /// No request before this: the gap after the last one, or what `Retry-After` asked.
    not_before: Instant,
}

impl Dispatch {
    /// Jobs grouped by `keys` (their status URLs: equal keys share requests), each due at
    /// `start`.
    pub fn new<K: PartialEq>(keys: &[K], start: Instant) -> Self {
        let mut targets: Vec<(&K, Vec<usize>)> = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            match targets.iter_mut().find(|(k, _)| *k == key) {
                Some((_, jobs)) => jobs.push(i),
                None => targets.push((key, vec![i])),
            }
        }
        Self {
            targets: targets.into_iter().map(|(_, jobs)| jobs).collect(),
            due: vec![Some(start); keys.len()],
            not_before: start,
        }
    }

    /// The next request: its target and when it may go, or `None` once every job has ended.
    pub fn next(&self) -> Option<(usize, Instant)> {
        self.targets
            .iter()
            .enumerate()
            .filter_map(|(t, jobs)| {
                jobs.iter().filter_map(|&i| self.due[i]).min().map(|at| (t, at))
            })
            .min_by_key(|(_, at)| *at)
            .map(|(t, at)| (t, at.max(self.not_before)))
    }

    /// The jobs a request to `target` serves: those not ended.
    pub fn live(&self, target: usize) -> Vec<usize> {
        self.targets[target].iter().copied().filter(|&i| self.due[i].is_some()).collect()
    }

    /// A request went out (its answer came) at `at`: the next waits [`MIN_GAP`].
    pub fn sent(&mut self, at: Instant) {
        self.not_before = later(at, MIN_GAP);
    }

    /// The server asked every request to wait until `until`.
    pub fn hold(&mut self, until: Instant) {
        self.not_before = self.not_before.max(until);
    }

    /// Job `job` is next due at `at`.
    pub fn due(&mut self, job: usize, at: Instant) {
        if let Some(due) = &mut self.due[job] {
            *due = at;
        }
    }

    /// Job `job` has ended: no more requests for it.
    pub fn end(&mut self, job: usize) {
        self.due[job] = None;
    }
}
