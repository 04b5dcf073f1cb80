//! The simulated Clanforge API as a server of its own, for measurements and trying things by
//! hand. It serves image update `1` and prints its base URL, then runs until killed.
//!
//!     cargo run --release --example sim-server -- [SECONDS]
//!
//! SECONDS is how long the job runs from the first poll (default 14; 0: already complete).

use clanforge_wait::sim::{Reply, Script, Sim};
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(14);
    let script = if seconds == 0 {
        Script::Replies(vec![Reply::status(5, 100)])
    } else {
        Script::Timeline(Duration::from_secs(seconds))
    };
    let server = Sim::new().job("1", script).spawn()?;
    println!("{}", server.url());
    loop {
        std::thread::park();
    }
}
