//! The simulated Clanforge API as a server of its own, for measurements and trying things by
//! hand. It prints its base URL, then serves until killed: `update/1`, `diff/1` and
//! `version/1` (each a job of SECONDS from its first poll), `install/1` (three installs of
//! version 1, done within SECONDS) and `rollout/1` (three machines, one more done per poll).
//!
//!     cargo run --release --example sim-server -- [SECONDS [UPDATES]]
//!
//! SECONDS defaults to 14; 0 makes every job already complete. UPDATES (default 1) serves
//! `update/1` to `update/UPDATES`, for gates of many jobs. Any keys are accepted, and
//! any token (which needs no ASID, as on the operator's host). To speak one dialect only and
//! refuse the other with a 401, as a real host does: `SIM_TOKEN=T` or `SIM_KEYS=ACCESS:SECRET`.
//!
//! It also serves a deploy: game 42, image 1234, any build machine, each job SECONDS long:
//!
//!     clanforge-wait --base-url URL --asid 1 deploy --game-id 42 --image-id 1234 --machine-id 5
//!
//! (Once a deploy has made a version, the install list is the deploy's: `install/1` is gone.)
//!
//! `SIM_FLEET=N` makes `install/1` a fleet of N running installs at the first look (about 55
//! bytes an entry), done at the next.
//!
//! `update/666` fails at once with an error text that tries to forge CI commands (a GitHub
//! workflow command, a GitLab section, a dotenv line, a TeamCity service message, an Azure
//! logging command, a Buildkite group): the runner suites check none takes.

use clanforge_sim::{Image, JobKind, JobRef, Reply, Script, Sim};
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(14);
    let job = || {
        if seconds == 0 {
            Script::Replies(vec![Reply::status(5, 100)])
        } else {
            Script::Timeline(Duration::from_secs(seconds))
        }
    };
    // SIM_FLEET=N: `install/1` is a fleet of N running installs at the first look, and done
    // at the next (what footprint.sh measures a fleet's size with).
    let fleet = std::env::var("SIM_FLEET").ok().and_then(|n| n.parse().ok());
    let installs = match fleet {
        Some(entries) => Script::Replies(vec![Reply::lean_fleet(entries, 1), Reply::installs(&[])]),
        None => Script::Installs {
            version: 1,
            machines: [seconds / 2, seconds * 3 / 4, seconds].map(Duration::from_secs).to_vec(),
        },
    };
    let updates: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let rollout = (0..=3).rev().map(|left| Reply::rollout(left, 0, 3 - left));
    let takes = Duration::from_secs(seconds.max(1));
    let image = Image {
        update_takes: takes,
        diff_takes: takes,
        version_takes: takes,
        machines: vec![takes / 2, takes],
        ..Image::quick(42, 1234)
    };
    let sim =
        (1..=updates).fold(Sim::new().image(image), |sim, id| sim.job(&id.to_string(), job()));
    let hostile = "disk full\n::error title=forged::FORGED-ANNOTATION\n##[error]FORGED-LEGACY\n\
                   section_end:1:clanforge_wait\r\u{1b}[0K\nCLANFORGE_RESULT=success\n\
                   ##teamcity[buildStatus status='SUCCESS' text='FORGED-TEAMCITY']\n\
                   ##vso[task.complete result=Succeeded;]FORGED-AZURE\n--- FORGED-BUILDKITE";
    let sim = sim.job(
        "666",
        Script::Replies(vec![Reply::json(serde_json::json!({
            "jobstateid": 6, "jobstatename": "Failed", "jobfailed": 1, "joberror": hostile,
        }))]),
    );
    // One dialect only, as a real host: SIM_TOKEN=T takes only that token (and no ASID),
    // SIM_KEYS=ACCESS:SECRET only those keys; the other is refused with a 401 and a challenge.
    let sim = match (std::env::var("SIM_TOKEN"), std::env::var("SIM_KEYS")) {
        (Ok(token), _) => sim.token(&token),
        (_, Ok(keys)) => match keys.split_once(':') {
            Some((access, secret)) => sim.credentials(access, secret),
            None => sim.credentials(&keys, ""),
        },
        _ => sim,
    };
    let server = sim
        .serve_job(JobRef::new(JobKind::ImageDiff, "1"), job())
        .serve_job(JobRef::new(JobKind::ImageVersion, "1"), job())
        .serve_job(JobRef::new(JobKind::Install, "1"), installs)
        .serve_job(JobRef::new(JobKind::Rollout, "1"), Script::Replies(rollout.collect()))
        .spawn()?;
    println!("{}", server.url());
    loop {
        std::thread::park();
    }
}
