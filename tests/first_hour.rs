//! The first hour of a new user, black-box (issue 27): every log line names its job, a gate of
//! many jobs sums them once, a job with nothing queued never reads as done, help fits its
//! subcommand, and the small traps of a first command line.

mod common;

use clanforge_wait::sim::Reply;
use common::*;
use serde_json::json;

/// The log's own lines about the job: after the start line, before the final one.
fn progress_lines(stderr: &str) -> Vec<&str> {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" INFO ") || l.contains(" WARN "))
        .collect();
    lines[1..lines.len() - 1].to_vec()
}

#[test]
fn with_one_job_every_progress_line_names_it() {
    let server = serve(vec![
        status(1, 0),
        status(4, 50),
        Reply::http(503, ""),
        status(5, 100),
    ]);
    let run = Gate::against(&server).run();
    run.assert_code(0);
    let lines = progress_lines(&run.stderr);
    assert!(lines.len() >= 3, "{}", run.stderr);
    for line in lines {
        assert!(line.contains("update/424242: "), "{line}");
    }
}

#[test]
fn a_gate_of_many_jobs_sums_them_once_on_its_final_line() {
    let server = serve_jobs(&[
        ("update/1", vec![status(5, 100)]),
        (
            "diff/2",
            vec![Reply::json(
                json!({"jobstateid": 6, "jobfailed": 1, "joberror": "disk full"}),
            )],
        ),
    ]);
    let run = on_jobs(&server, &["update/1", "diff/2"])
        .flag("--no-fail-fast")
        .run();
    run.assert_code(1);
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.contains("2 jobs after ") && last.contains("update/1 success, diff/2 failed"),
        "{last}"
    );
    // One time and one count: the sum's, not a job's again.
    assert_eq!(last.matches(" after ").count(), 1, "{last}");
    assert!(last.ends_with("; diff/2: disk full"), "{last}");
}

#[test]
fn an_install_with_nothing_queued_never_says_complete_before_it_settles() {
    let server = serve_jobs(&[("install", vec![Reply::installs(&[])])]);
    let run = on_jobs(&server, &["install/99"])
        .arg("--settle", "400ms")
        .run();
    run.assert_code(0);
    let lines = progress_lines(&run.stderr);
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].contains("install/99: nothing is queued yet: waiting until 0.4s (--settle"),
        "{}",
        lines[0]
    );
    assert!(!lines[0].contains("Complete"), "{}", lines[0]);
}
