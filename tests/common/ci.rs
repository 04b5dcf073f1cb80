//! What the CI platforms' tests share: hostile server text, the runs each platform is shown,
//! and the platforms' own parsers (`tests/oracles/`). The tests that read with a parser are
//! `#[ignore]`d, with the reason, so a plain `cargo test` says they did not run; `cargo test --
//! --ignored` runs them (`.ci/run` does, with every parser installed), and there a parser that
//! is missing fails its test.

use super::*;
use clanforge_sim::{Image, Reply, Sim, SimServer};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Server text that is a command for every CI we know, and more.
pub(crate) const HOSTILE: &str = "##teamcity[buildStatus status='SUCCESS' text='all good'] \
    ##vso[task.complete result=Succeeded;]done\n##[error]pwned\n--- :boom: fake group\n\
    +++ open\n~~~ x\n^^^ +++\n::error::pwned\n##TeamCity[message text='x'] ##VSO[task.setvariable \
    variable=CLANFORGE_RESULT]success\u{1b}]0;title\u{7}";

pub(crate) fn hostile_failure() -> Reply {
    Reply::json(json!({
        "jobstateid": 6, "jobstatename": HOSTILE, "jobprogress": 40,
        "jobfailed": 1, "joberror": HOSTILE,
    }))
}

/// Where the oracles' scripts are.
pub(crate) fn oracles() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracles")
}

/// Runs an oracle (`node read_azure.cjs`, `python3 read_teamcity.py`, …) on `input`, and parses
/// what it prints. One that is not installed fails the test, naming what to install.
#[track_caller]
pub(crate) fn oracle(script: &str, args: &[&str], input: &str) -> Value {
    let program = if script.ends_with(".py") {
        std::env::var("ORACLE_PYTHON").unwrap_or_else(|_| "python3".into())
    } else {
        "node".into()
    };
    let install = "install the parsers: npm ci --prefix tests/oracles; \
        pip install -r tests/oracles/requirements.txt (ORACLE_PYTHON names that python)";
    assert!(
        script.ends_with(".py") || oracles().join("node_modules").exists(),
        "oracle {script} is not installed: {install}"
    );
    let mut child = Command::new(&program)
        .arg(oracles().join(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("oracle {script}: can't run {program}: {e}; {install}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("the oracle ran");
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "oracle {script} failed: {stderr}\n{install}");
    serde_json::from_slice(&out.stdout).expect("the oracle prints JSON")
}

pub(crate) fn world() -> SimServer {
    Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .image(Image::quick(42, 1234))
        .spawn()
        .expect("the simulator starts")
}

/// The four runs each platform is shown: (name, exit code, the gate).
pub(crate) fn scenarios() -> Vec<(&'static str, i32, Gate, SimServer)> {
    let success = serve(vec![status(4, 50), status(5, 100)]);
    let failure = serve(vec![hostile_failure()]);
    let timeout = serve(vec![status(4, 10)]);
    let deploy = world();
    vec![
        ("success", 0, Gate::against(&success), success),
        ("failure", 1, Gate::against(&failure), failure),
        ("timeout", 3, Gate::against(&timeout).arg("--timeout", "300ms"), timeout),
        (
            "deploy",
            0,
            Gate::against(&deploy)
                .without("--update-id")
                .flag("deploy")
                .arg("--game-id", "42")
                .arg("--image-id", "1234")
                .arg("--machine-id", "5678"),
            deploy,
        ),
    ]
}

/// Every line of a run's two streams.
pub(crate) fn lines(run: &Run) -> Vec<String> {
    format!("{}\n{}", run.stdout, run.stderr).lines().map(str::to_owned).collect()
}

/// Azure's mask command is the one place a secret is named, to the agent.
#[track_caller]
pub(crate) fn assert_no_secret(run: &Run) {
    assert_never_shown("the outputs", &run.all_output(), &[SECRET_KEY, BASIC], AZURE_MASK);
}
