//! What a checked command line asks for: the [`Action`] (one variant per subcommand) and the
//! [`Api`] it is run against.

use crate::chain::Plan;
use crate::kind::JobRef;
use reqwest::Url;

/// What the gate is asked to do: one variant per subcommand, matched once in [`crate::main`].
#[derive(Debug)]
pub(crate) enum Action {
    /// Wait on these jobs, in the order given, without repeats.
    Wait(Vec<JobRef>),
    /// `start` or `deploy`: create what the plan says, then wait on it.
    Start(Plan),
    /// `--dry-run`: print the requests the plan would send, and send none that changes state.
    DryRun(Plan),
    /// `check`: read-only requests that say whether the set-up works.
    Check(Probe),
}

/// What `check` looks at beyond the account.
#[derive(Debug, Default)]
pub(crate) struct Probe {
    /// `--game-id` and `--image-id`: the image to look up with image/options.
    pub image: Option<(String, String)>,
}

impl Action {
    /// The plan of a start or a dry run.
    pub(crate) fn plan(&self) -> Option<&Plan> {
        match self {
            Self::Wait(_) | Self::Check(_) => None,
            Self::Start(plan) | Self::DryRun(plan) => Some(plan),
        }
    }
}

/// Which API the gate talks to.
#[derive(Debug, Clone)]
pub(crate) enum Api {
    Real(Url),
    /// `--demo`: the embedded simulator, whose address is known only once it serves.
    Demo,
}
