//! CI-native behaviour, black-box: GitHub Actions outputs, summary and log commands, GitLab
//! sections and dotenv files, and cancellation by signal.

mod common;

use clanforge_sim::Reply;
use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Server text that tries every trick on the runner's output and command parsers.
const HOSTILE: &str = "Failed\nresult=success\nEOF\nghadelimiter_0000\r\nerror<<EOF\n%0A::warning::pwned\n##[error]pwned\n::add-mask::x | <b>bold</b>";

fn hostile_failure() -> Reply {
    Reply::json(json!({
        "jobstateid": 6, "jobstatename": HOSTILE, "jobprogress": 40,
        "jobfailed": 1, "joberror": HOSTILE,
    }))
}

/// The result keys as the CI outputs write them, from the JSON result.
fn expected_pairs(result: &Value) -> Vec<(String, String)> {
    let text = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    [
        "result",
        "update_id",
        "state_id",
        "state",
        "progress",
        "job_failed",
        "error",
        "elapsed_seconds",
        "polls",
        "simulated",
        "diff_id",
        "image_version_id",
        "step",
        "locked_by",
        "pending_create",
        "jobs",
    ]
    .iter()
    .map(|key| ((*key).to_owned(), text(&result[key])))
    .collect()
}

/// `pairs` with the `jobs` JSON in one canonical form (keys sorted), for comparing it whatever
/// the order its writer chose.
fn canonical(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(key, value)| match key.as_str() {
            "jobs" => {
                let parsed: Value = serde_json::from_str(&value)
                    .unwrap_or_else(|e| panic!("jobs is not JSON ({e}): {value:?}"));
                (key, parsed.to_string())
            }
            _ => (key, value),
        })
        .collect()
}

#[test]
fn github_outputs_read_back_exactly_whatever_the_server_sent() {
    let server = serve(vec![hostile_failure()]);
    let run = Gate::against(&server).github().run();
    run.assert_code(1);
    let pairs = read_github_output(&run.file("github_output"));
    assert_eq!(canonical(pairs.clone()), expected_pairs(&run.result()));
    assert_eq!(pairs[0], ("result".to_owned(), "failed".to_owned()));
}

#[test]
fn github_outputs_are_written_on_success() {
    let server = serve(vec![status(5, 100)]);
    let run = Gate::against(&server).github().run();
    run.assert_code(0);
    let pairs = read_github_output(&run.file("github_output"));
    assert_eq!(canonical(pairs.clone()), expected_pairs(&run.result()));
    assert_eq!(pairs[3], ("state".to_owned(), "Complete".to_owned()));
}

#[test]
fn server_text_cannot_start_a_workflow_command() {
    let server = serve(vec![
        Reply::json(json!({"jobstateid": 4, "jobstatename": HOSTILE})),
        Reply::error(503, 1, HOSTILE),
        hostile_failure(),
    ]);
    let run = Gate::against(&server).github().run();
    run.assert_code(1);
    assert!(
        run.stderr.contains("# #[error]pwned") && !run.stderr.contains("##[error]pwned"),
        "the text is logged, its marker broken: {}",
        run.stderr
    );
    let commands = workflow_commands(&run.stderr);
    let names: Vec<&str> = commands
        .iter()
        .map(|c| c.trim_start_matches("::").split([':', ' ']).next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["add-mask", "add-mask", "add-mask", "group", "stop-commands", "endgroup", "error"],
        "{commands:#?}"
    );
    assert!(commands[6].starts_with("::error title=clanforge-wait%3A failed::"));
}

#[test]
fn the_keys_are_masked_before_anything_else_is_printed() {
    let server = serve(vec![status(5, 100)]);
    let run = Gate::against(&server).github().run();
    let first: Vec<&str> = run.stderr.lines().take(2).collect();
    assert_eq!(first, [format!("::add-mask::{ACCESS_KEY}"), format!("::add-mask::{SECRET_KEY}")]);
}

#[test]
fn a_secret_key_read_from_a_file_is_masked_too() {
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server).github().without_env("CLANFORGE_SECRET_KEY");
    let path = gate.path("secret");
    std::fs::write(&path, format!("{SECRET_KEY}\n")).unwrap();
    let run = gate.arg("--secret-key-file", &path).run();
    run.assert_code(0);
    let masks: Vec<&str> =
        run.stderr.lines().take_while(|l| l.starts_with("::add-mask::")).collect();
    assert_eq!(
        masks,
        [
            format!("::add-mask::{ACCESS_KEY}"),
            format!("::add-mask::{SECRET_KEY}"),
            // The Basic header's value, which a proxy may echo back.
            format!("::add-mask::{BASIC}"),
        ]
    );
}

#[test]
fn the_demo_masks_nothing() {
    // The demo's keys are a public placeholder: masking them would hide every "demo".
    let run = Gate::demo().github().arg("--timeout", "1s").run();
    run.assert_code(3).assert_logged("Created, 0%");
    assert!(!run.stderr.contains("::add-mask::"), "{}", run.stderr);
}

#[test]
fn the_log_group_closes_on_every_path() {
    for (reply, code) in [(status(5, 100), 0), (status(6, 0), 1), (Reply::error(401, 1, "no"), 4)] {
        let server = serve(vec![reply]);
        let run = Gate::against(&server).github().run();
        run.assert_code(code);
        assert_eq!(run.stderr.matches("::group::").count(), 1);
        run.assert_logged_once("::endgroup::");
    }
}

#[test]
fn a_successful_gate_makes_no_annotation() {
    let server = serve(vec![status(5, 100)]);
    let run = Gate::against(&server).github().run();
    run.assert_code(0);
    assert!(!run.stderr.contains("::error") && !run.stderr.contains("::warning"));
}

#[test]
fn the_step_summary_is_a_table_with_escaped_cells() {
    let server = serve(vec![hostile_failure()]);
    let run = Gate::against(&server).github().run();
    let summary = run.file("step_summary");
    let rows: Vec<&str> = summary.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(rows.len(), 3, "{summary}");
    assert_eq!(rows[0], "| job | result | state | progress | elapsed | polls | error |");
    let unescaped_bars = |row: &str| row.matches('|').count() - row.matches("\\|").count();
    assert_eq!(unescaped_bars(rows[2]), 8, "{}", rows[2]);
    assert!(rows[2].starts_with("| update/424242 | failed |"), "{}", rows[2]);
    assert!(rows[2].contains("| failed |") && rows[2].contains("| 40% |"), "{}", rows[2]);
    assert!(!summary.contains("<b>") && summary.contains("&lt;b&gt;"), "{summary}");
    assert!(summary.len() < 64 * 1024);
}

#[test]
fn gitlab_gets_the_log_in_a_collapsible_section() {
    let server = serve(vec![status(4, 50), status(5, 100)]);
    let run = Gate::against(&server).env("GITLAB_CI", "true").run();
    run.assert_code(0);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines[0].starts_with("\x1b[0Ksection_start:"), "{:?}", lines[0]);
    assert!(lines[0].contains(":clanforge_wait[collapsed=false]\r\x1b[0K"), "{:?}", lines[0]);
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("\x1b[0Ksection_end:") && last.contains(":clanforge_wait\r"),
        "{last:?}"
    );
    assert!(!run.stderr.contains("::group::"));
}

#[test]
fn the_dotenv_file_has_one_line_per_key() {
    let server = serve(vec![hostile_failure()]);
    let run = Gate::against(&server).dotenv().run();
    run.assert_code(1);
    let text = run.file("ci.env");
    let expected = expected_pairs(&run.result());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{text}");
    let written: Vec<(String, String)> = lines
        .iter()
        .zip(&expected)
        .map(|(line, (key, _))| {
            let name = clanforge_wait::testing::variable(key);
            let value = line
                .strip_prefix(&format!("{name}="))
                .unwrap_or_else(|| panic!("{line:?} is not {name}=…"));
            (key.clone(), value.to_owned())
        })
        .collect();
    assert_eq!(canonical(written), expected);
    assert!(text.len() < 5 * 1024 && text.ends_with('\n'));
}

#[test]
fn the_dotenv_file_works_outside_gitlab_and_from_the_environment() {
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server);
    let path = gate.path("ci.env");
    let run = gate.env("CLANFORGE_DOTENV", &path).run();
    run.assert_code(0);
    assert!(run.file("ci.env").starts_with("CLANFORGE_RESULT=success\n"));
}

/// Starts a gate on a job that never ends, waits for its first poll, sends `signal`.
#[cfg(unix)]
fn cancelled_by(signal: &str) -> Run {
    let server = serve(vec![status(4, 10)]);
    let gate = Gate::against(&server).github().dotenv().arg("--timeout", "30s");
    let running = gate.spawn();
    let started = Instant::now();
    while server.requests().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "no poll");
        std::thread::sleep(Duration::from_millis(10));
    }
    running.signal(signal);
    running.finish()
}

#[cfg(unix)]
#[test]
fn sigterm_mid_wait_exits_143_with_every_output_cancelled() {
    let run = cancelled_by("TERM");
    run.assert_code(143);
    assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);
    assert_eq!(run.result()["result"], "cancelled");
    assert_eq!(run.result()["state"], "Running");
    assert!(run.file("github_output").starts_with("result=cancelled\n"));
    assert!(run.file("ci.env").starts_with("CLANFORGE_RESULT=cancelled\n"));
    assert!(run.file("step_summary").contains("| cancelled |"));
    run.assert_logged("cancelled by SIGTERM");
    assert!(run.stderr.contains("::warning title=clanforge-wait%3A cancelled::"));
}

#[cfg(unix)]
#[test]
fn sigint_mid_wait_exits_130_with_every_output_cancelled() {
    let run = cancelled_by("INT");
    run.assert_code(130);
    assert_eq!(run.result()["result"], "cancelled");
    assert!(run.file("github_output").starts_with("result=cancelled\n"));
    assert!(run.file("ci.env").starts_with("CLANFORGE_RESULT=cancelled\n"));
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_ci_terminal_the_masks_come_first_and_no_bar_is_drawn() {
    use common::on_a_terminal;
    let server = serve(vec![status(3, 0), status(4, 50), status(5, 100)]);
    let gate = Gate::against(&server).github().env("CI", "true");
    let bytes = on_a_terminal(&gate);
    let text = String::from_utf8_lossy(&bytes);
    let masks = format!("::add-mask::{ACCESS_KEY}\r\n::add-mask::{SECRET_KEY}\r\n");
    assert!(text.starts_with(&masks), "{text:?}");
    // indicatif draws with carriage returns and erase-line sequences; colours are ESC[…m.
    assert!(!text.contains("\x1b[2K") && !text.contains("\x1b["), "{text:?}");
    assert!(!text.contains("\r\r") && !text.replace("\r\n", "").contains('\r'), "{text:?}");
    assert!(text.contains("completed (Complete, 100%)"), "{text:?}");
}

/// Whether a run on a terminal, with these variables, draws the bar (indicatif's escapes)
/// rather than plain lines.
#[cfg(target_os = "linux")]
fn draws_a_bar(vars: &[(&str, &str)]) -> bool {
    let server = serve(vec![status(4, 50), status(4, 50), status(5, 100)]);
    let mut gate = Gate::against(&server).arg("--interval", "300ms").arg("--max-interval", "300ms");
    for (name, value) in vars {
        gate = gate.env(name, value);
    }
    let text = String::from_utf8_lossy(&common::on_a_terminal(&gate)).into_owned();
    assert!(text.contains("Complete"), "{vars:?}: {text:?}");
    text.contains("\x1b[")
}

/// The log's mode, decided once: a terminal gets the bar unless colour is off (`NO_COLOR` set
/// and not empty, `TERM=dumb`).
#[cfg(target_os = "linux")]
#[test]
fn outside_ci_a_terminal_gets_the_bar_unless_colour_is_off() {
    assert!(draws_a_bar(&[]));
    assert!(draws_a_bar(&[("NO_COLOR", "")]));
    assert!(!draws_a_bar(&[("NO_COLOR", "1")]));
    assert!(!draws_a_bar(&[("TERM", "dumb")]));
}

/// Any sign of a CI makes the log plain lines even on a terminal (act and some runners give
/// steps one): `CI` but for `false`, `0` or empty, `JENKINS_URL`, or any platform's variable
/// set at all, even to a value that turns no reporter on.
#[cfg(target_os = "linux")]
#[test]
fn any_sign_of_ci_gets_plain_lines_even_on_a_terminal() {
    for vars in [
        &[("CI", "woodpecker")][..],
        &[("CI", "1")],
        &[("JENKINS_URL", "https://ci.example/")],
        &[("GITHUB_ACTIONS", "1")],
        &[("TF_BUILD", "True"), ("PATH", "/nonexistent")],
    ] {
        assert!(!draws_a_bar(vars), "{vars:?}");
    }
    for vars in [&[("CI", "false")][..], &[("CI", "0")], &[("CI", "")]] {
        assert!(draws_a_bar(vars), "{vars:?}");
    }
}

/// `--log-format json` is JSON lines, on a terminal too.
#[cfg(target_os = "linux")]
#[test]
fn json_logs_win_over_the_bar() {
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server).arg("--log-format", "json");
    let text = String::from_utf8_lossy(&common::on_a_terminal(&gate)).into_owned();
    assert!(!text.contains("\x1b["), "{text:?}");
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        assert!(line.trim_end().starts_with('{') && line.trim_end().ends_with('}'), "{line:?}");
    }
}

/// An input left out reaches the step as an empty variable: every one the gate would refuse
/// empty (a duration, an ID, a key) is unset first, so the gate's default applies. Only the
/// switches, where empty means off, may stay.
#[test]
fn the_action_unsets_every_input_left_out_but_the_switches() {
    let action =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).unwrap();
    let step = &action[action.find("- name: Wait for the Clanforge jobs").unwrap()..];
    let from_inputs: std::collections::BTreeSet<&str> = step
        .lines()
        .filter(|l| l.contains(": ${{ inputs."))
        .filter_map(|l| l.trim().split(':').next())
        .filter(|name| name.starts_with("CLANFORGE_"))
        .collect();
    let unset = &step[step.find("for name in").unwrap()..step.find("; do").unwrap()];
    let kept: Vec<&str> = from_inputs
        .iter()
        .copied()
        .filter(|name| !unset.split_whitespace().any(|n| n.trim_matches('\\') == *name))
        .collect();
    assert_eq!(
        kept,
        ["CLANFORGE_DEMO", "CLANFORGE_FULL", "CLANFORGE_RESTART", "CLANFORGE_YES_REJECT_DIFF"],
        "an input the gate refuses empty is not unset when left out"
    );
}
