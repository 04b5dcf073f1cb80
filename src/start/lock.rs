//! A lock held by someone else's job, handled as `--if-locked` says: fail, wait it out, or
//! reject the diff; never a create that the API would refuse.

use super::Chain;
use crate::api::change::{Change, Sent};
use crate::chain::IfLocked;
use crate::event::{End, Event, Found, StartError};
use crate::kind::{JobKind, JobRef};
use crate::schedule::{Next, Schedule, Seen};
use tokio::time::Instant;

impl Chain<'_> {
    /// A lock held by someone else's job: what `--if-locked` says to do.
    pub(super) async fn unlock(
        &mut self,
        lock: JobRef,
        game: &str,
        image: &str,
    ) -> Result<(), End> {
        let if_locked = self.plan.if_locked;
        self.reporter.on_event(&Event::Locked { lock: &lock, image, if_locked });
        let locked = |lock: JobRef| {
            End::Start(StartError::Locked {
                lock,
                image: image.to_owned(),
                if_locked,
                raced: false,
            })
        };
        match if_locked {
            IfLocked::Fail => Err(locked(lock)),
            IfLocked::Reject if lock.kind != JobKind::ImageDiff => Err(locked(lock)),
            IfLocked::Wait => self.wait_for_unlock(lock, game, image).await,
            IfLocked::Reject => self.reject(lock, game, image).await,
        }
    }

    /// `--if-locked wait`: looks at the lock on the schedule until nothing (but this chain's
    /// own job) holds it, or the deadline passes.
    async fn wait_for_unlock(&mut self, lock: JobRef, game: &str, image: &str) -> Result<(), End> {
        let outlasted =
            |lock: JobRef| End::Start(StartError::LockOutlasted { lock, image: image.to_owned() });
        let mut schedule = Schedule::new(self.settings.policy, self.settings.seed);
        let mut lock = lock;
        loop {
            let next =
                schedule.next(Seen::Status(Default::default()), Instant::now(), self.deadline);
            let Next::At(at) = next else {
                return Err(outlasted(lock));
            };
            // The schedule stops at the deadline: a look there would find it passed.
            if at >= self.deadline {
                self.pause(at).await?;
                return Err(outlasted(lock));
            }
            self.pause(at).await?;
            let options = match self.options(game, image).await {
                Ok(options) => options,
                Err(End::TimedOut) => return Err(outlasted(lock)),
                Err(end) => return Err(end),
            };
            match options.lock.filter(|l| !self.is_own(l)) {
                None => {
                    self.reporter.on_event(&Event::Unlocked { image });
                    return Ok(());
                }
                Some(now) => lock = now,
            }
        }
    }

    /// `--if-locked reject`: waits for the diff that holds the lock to end, rejects it once,
    /// and, if its answer is lost, reads the lock to learn whether it took.
    async fn reject(&mut self, lock: JobRef, game: &str, image: &str) -> Result<(), End> {
        // The API rejects only a diff that has ended: wait for it first.
        match self.wait_on(lock.clone()).await.end {
            End::Completed | End::JobFailed => {}
            end => return Err(end),
        }
        match self.send(Change::reject_diff(&lock.id)).await {
            Sent::Done { .. } => {}
            Sent::Refused { error, .. } => return Err(End::Refused(error)),
            Sent::NotSent(reason) => return Err(End::Start(StartError::NotSent(reason))),
            Sent::Unknown(reason) => {
                // Did it take? The lock says.
                let options = self.options(game, image).await?;
                if options.lock.as_ref() == Some(&lock) {
                    return Err(End::Start(StartError::Unknown {
                        reason,
                        found: Found::StillLocked(lock),
                    }));
                }
            }
        }
        self.reporter.on_event(&Event::Rejected { diff: &lock });
        if let Some(signal) = self.cancel.signal() {
            return Err(End::Cancelled(signal));
        }
        Ok(())
    }
}
