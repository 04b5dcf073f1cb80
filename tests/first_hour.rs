//! The first hour of a new user, black-box (issue 27): every log line names its job, a gate of
//! many jobs sums them once, a job with nothing queued never reads as done, help fits its
//! subcommand, and the small traps of a first command line.

mod common;

use clanforge_sim::Reply;
use common::*;
use serde_json::json;

/// The log's own lines about the job: after the start line, before the final one.
fn progress_lines(stderr: &str) -> Vec<&str> {
    let lines: Vec<&str> =
        stderr.lines().filter(|l| l.contains(" INFO ") || l.contains(" WARN ")).collect();
    lines[1..lines.len() - 1].to_vec()
}

#[test]
fn with_one_job_every_progress_line_names_it() {
    let server = serve(vec![status(1, 0), status(4, 50), Reply::http(503, ""), status(5, 100)]);
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
            vec![Reply::json(json!({"jobstateid": 6, "jobfailed": 1, "joberror": "disk full"}))],
        ),
    ]);
    let run = on_jobs(&server, &["update/1", "diff/2"]).flag("--no-fail-fast").run();
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
    let run = on_jobs(&server, &["install/99"]).arg("--settle", "400ms").run();
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

/// `clanforge-wait ARGS --help`, as a terminal 100 columns wide shows it.
fn help(args: &[&str]) -> String {
    let output = std::process::Command::new(binary())
        .args(args)
        .arg("--help")
        .env_clear()
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Where a heading (or a flag) first stands in a help text.
fn at(help: &str, text: &str) -> usize {
    help.find(text).unwrap_or_else(|| panic!("{text:?} not in:\n{help}"))
}

#[test]
fn each_subcommand_shows_its_own_flags_first_then_the_shared_ones_then_the_exit_codes() {
    for (args, own) in [
        (&["deploy"][..], "--image-id"),
        (&["start", "update"][..], "--image-id"),
        (&["start", "version"][..], "--diff-id"),
        (&["check"][..], "--image-id"),
    ] {
        let help = help(args);
        assert!(at(&help, own) < at(&help, "\nConnection:\n"), "{args:?}");
        assert!(at(&help, "\nConnection:\n") < at(&help, "\nOutputs:\n"), "{args:?}");
        assert!(help.contains("\nExit codes:\n"), "{args:?}");
        assert!(help.contains("  143  terminated by SIGTERM"), "{args:?}");
    }
}

#[test]
fn check_and_completions_list_only_the_flags_they_read() {
    // The options, not the exit codes (which name --stall-timeout).
    let options = |help: String| help[..at(&help, "\nExit codes:\n")].to_owned();
    let check = options(help(&["check"]));
    for flag in ["--stall-timeout", "--settle", "--no-fail-fast", "--interval <"] {
        assert!(!check.contains(flag), "check lists {flag}");
    }
    assert!(check.contains("--request-timeout"));
    let completions = help(&["completions"]);
    assert!(completions.contains("\nExit codes:\n"));
    let completions = options(completions);
    for flag in ["--asid", "--access-key", "--timeout", "--result-file"] {
        assert!(!completions.contains(flag), "completions lists {flag}");
    }
}

/// `completions` takes no gate flag: one given is refused by name, where it would have been
/// ignored; their variables, set for the gate in the same shell, are not in the way.
#[test]
fn completions_refuses_a_gate_flag_and_ignores_their_variables() {
    for args in [
        &["completions", "bash", "--timeout", "5s"][..],
        &["--asid", "7", "completions", "zsh"][..],
    ] {
        let output = std::process::Command::new(binary()).args(args).env_clear().output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}: no script");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let flag = args.iter().find(|a| a.starts_with("--")).unwrap();
        assert!(
            stderr.trim_end().ends_with(&format!("takes no gate flags: remove {flag}")),
            "{stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    let output = std::process::Command::new(binary())
        .args(["completions", "bash"])
        .env_clear()
        .env("CLANFORGE_TIMEOUT", "5s")
        .env("CLANFORGE_ASID", "7")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("complete -F"));
}

#[test]
fn a_missing_argument_is_one_clean_line_naming_it() {
    let run = Gate::new("http://127.0.0.1:1").flag("completions").run();
    run.assert_code(2);
    let error = run.error();
    assert_eq!(error, "missing <SHELL>: give it (see --help)");
    let run = Gate::new("http://127.0.0.1:1").flag("start").run();
    run.assert_code(2);
    let error = run.error();
    assert!(error.starts_with("`start` needs one of: update, diff, version;"), "{error}");
}

#[test]
fn trace_http_with_a_space_takes_the_file_and_a_job_after_it_stays_a_job() {
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server).without("--update-id");
    let trace = gate.path("trace.txt");
    let run = gate.arg("--trace-http", &trace).flag("update/424242").run();
    run.assert_code(0);
    assert!(run.file("trace.txt").starts_with("trace "), "{}", run.stderr);
    // A job right after the flag is the job: the trace goes to stderr.
    let run = Gate::against(&server)
        .without("--update-id")
        .flag("--trace-http")
        .flag("update/424242")
        .run();
    run.assert_code(0);
    assert!(run.stderr.contains("trace   HTTP 200"), "{}", run.stderr);
}

#[test]
fn the_demo_says_what_it_refuses_and_why_for_check_and_resume() {
    let demo = Gate::demo;
    // The demo's own image is no real one: checked.
    demo().flag("check").arg("--image-id", "1234").arg("--game-id", "42").run().assert_code(0);
    let run = demo().flag("check").arg("--image-id", "5678").run();
    run.assert_code(2);
    let error = run.error();
    assert!(error.contains("the demo checks its own image only"), "{error}");
    assert!(error.contains("to check the real image"), "{error}");
    let run = demo().flag("deploy").arg("--resume-from", "r.json").run();
    run.assert_code(2);
    let error = run.error();
    assert!(error.contains("its jobs would be resumed against the simulator"), "{error}");
    assert!(error.contains("to resume the real deploy"), "{error}");
}

/// A shared flag added later lands under a heading, not among a subcommand's own.
#[test]
fn every_shared_flag_has_a_heading() {
    let command = clanforge_wait::testing::command();
    let loose: Vec<&str> = command
        .get_arguments()
        .filter(|arg| arg.is_global_set() && arg.get_help_heading().is_none())
        .map(|arg| arg.get_id().as_str())
        .collect();
    assert!(loose.is_empty(), "cli/help.rs HEADINGS lacks {loose:?}");
}
