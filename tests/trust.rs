//! A result you can trust on every path, and a command line that says what to fix (issue 16).
//! Each test drives the real binary with an exact argv, against the simulator on 127.0.0.1.

mod common;

use clanforge_sim::SimServer;
use common::{ACCESS_KEY, SECRET_KEY, UPDATE_ID, binary, serve, status};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A gate with exactly these arguments and variables (and the keys in the environment), in a
/// clean environment, with stdin closed.
fn gate(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(binary())
        .current_dir(dir)
        .env_clear()
        .env("CLANFORGE_ACCESS_KEY", ACCESS_KEY)
        .env("CLANFORGE_SECRET_KEY", SECRET_KEY)
        .envs(envs.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the gate runs")
}

/// The flags of a quick real wait on [`UPDATE_ID`] at `server`.
fn real(server: &SimServer) -> Vec<String> {
    [
        "--base-url",
        &server.url(),
        "--update-id",
        UPDATE_ID,
        "--asid",
        "7",
        "--interval",
        "10ms",
        "--max-interval",
        "40ms",
        "--timeout",
        "10s",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn log(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} is not JSON ({e}): {text:?}"))
}

#[track_caller]
fn assert_code(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "log:\n{}", log(output));
}

// 1. No earlier result can pass for this one.

#[test]
fn a_refused_flag_anywhere_rewrites_every_output_with_error() {
    let server = serve(vec![status(5, 100)]);
    let dir = tempfile::tempdir().unwrap();
    let (result, dotenv) = ("r.json", "ci.env");
    let outputs = ["--result-file", result, "--dotenv", dotenv];
    let mut args = real(&server);
    args.extend(outputs.map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for refused in [&["--jobs", "update/1"][..], &["--tiemout", "3m"], &["--timeout", "-5m"]] {
        // Before the outputs, between them, after them.
        for at in [0, 2, 4] {
            let first = gate(dir.path(), &args, &[]);
            assert_code(&first, 0);
            assert_eq!(json(&dir.path().join(result))["result"], "success");
            let mut line = args[..args.len() - 4].to_vec();
            let mut tail = outputs.to_vec();
            tail.splice(at..at, refused.iter().copied());
            line.extend(tail);
            let second = gate(dir.path(), &line, &[]);
            assert_code(&second, 2);
            let written = json(&dir.path().join(result));
            assert_eq!(written["result"], "error", "{line:?}");
            let env = std::fs::read_to_string(dir.path().join(dotenv)).unwrap();
            assert!(env.starts_with("CLANFORGE_RESULT=error\n"), "{line:?}: {env}");
        }
    }
}

#[test]
fn a_refused_command_line_keeps_the_ids_of_a_deploy_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = serde_json::json!({
        "result": "running", "update_id": "11", "diff_id": "22", "image_version_id": "",
        "step": "version", "jobs": [],
    });
    std::fs::write(dir.path().join("r.json"), checkpoint.to_string()).unwrap();
    std::fs::write(
        dir.path().join("ci.env"),
        "CLANFORGE_RESULT=running\nCLANFORGE_UPDATE_ID=11\nCLANFORGE_DIFF_ID=22\n",
    )
    .unwrap();
    let output = gate(
        dir.path(),
        &[
            "deploy",
            "--resume-from",
            "r.json",
            "--result-file",
            "r.json",
            "--dotenv",
            "ci.env",
            "--tiemout",
            "1m",
        ],
        &[],
    );
    assert_code(&output, 2);
    let written = json(&dir.path().join("r.json"));
    assert_eq!(written["result"], "error");
    assert_eq!(written["update_id"], "11");
    assert_eq!(written["diff_id"], "22");
    let env = std::fs::read_to_string(dir.path().join("ci.env")).unwrap();
    assert!(env.contains("CLANFORGE_UPDATE_ID=11\n"), "{env}");
    assert!(env.contains("CLANFORGE_DIFF_ID=22\n"), "{env}");
}

#[test]
fn a_garbled_output_flag_says_the_file_was_not_written() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--update-id", "1", "--result-fil", "r.json"][..],
        &["--update-id", "1", "--result-file"],
    ] {
        let output = gate(dir.path(), args, &[]);
        assert_code(&output, 2);
        let log = log(&output);
        assert!(log.contains("no result file was written"), "{args:?}: {log}");
    }
}

// 2. Streams are streams.

#[cfg(unix)]
#[test]
fn a_result_file_on_the_log_itself_appends_and_keeps_the_log() {
    let server = serve(vec![status(5, 100)]);
    let dir = tempfile::tempdir().unwrap();
    let mut line = vec![format!("'{}'", binary().display())];
    line.extend(real(&server).iter().map(|a| format!("'{a}'")));
    let line = line.join(" ");
    for (redirect, before) in [(">", ""), (">>", "earlier\n")] {
        let log = dir.path().join(format!("log{}.txt", redirect.len()));
        std::fs::write(&log, before).unwrap();
        let script = format!(
            "( echo before; {line} --result-file /dev/stdout 2>/dev/null; echo after ) {redirect} '{}'",
            log.display()
        );
        let status = Command::new("sh")
            .args(["-c", &script])
            .env("CLANFORGE_ACCESS_KEY", ACCESS_KEY)
            .env("CLANFORGE_SECRET_KEY", SECRET_KEY)
            .status()
            .unwrap();
        assert!(status.success());
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.starts_with(&format!("{before}before\n{{")), "{redirect}: {text}");
        assert!(text.ends_with("}\nafter\n"), "{redirect}: {text}");
        let body = &text[before.len() + "before\n".len()..text.len() - "after\n".len()];
        let result: Value = serde_json::from_str(body).expect("the result between the lines");
        assert_eq!(result["result"], "success");
    }
}

// 3. Every output is checked before the first request.

#[test]
fn an_unwritable_ci_output_is_exit_2_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder/file");
    let missing = missing.to_str().unwrap();
    for (name, envs) in [
        ("$GITHUB_OUTPUT", vec![("GITHUB_ACTIONS", "true"), ("GITHUB_OUTPUT", missing)]),
        (
            "$GITHUB_STEP_SUMMARY",
            vec![("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", missing)],
        ),
        ("--dotenv", vec![("CLANFORGE_DOTENV", missing)]),
    ] {
        let server = serve(vec![status(5, 100)]);
        let args = real(&server);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = gate(dir.path(), &args, &envs);
        assert_code(&output, 2);
        assert!(log(&output).contains(name), "{name}: {}", log(&output));
        assert_eq!(server.requests().len(), 0, "{name}: a request went out");
    }
}

// 4. Variables read like their flags; errors name where a value came from.

#[test]
fn boolean_variables_take_the_words_people_write() {
    let server = serve(vec![status(5, 100)]);
    let dir = tempfile::tempdir().unwrap();
    let args = real(&server);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for value in ["1", "0", "true", "false", "yes", "no", "on", "off", ""] {
        let output = gate(dir.path(), &args, &[("CLANFORGE_NO_FAIL_FAST", value)]);
        assert_code(&output, 0);
    }
    // CLANFORGE_DEMO=0 is no demo: the real job is waited on.
    let output = gate(dir.path(), &args, &[("CLANFORGE_DEMO", "0")]);
    assert_code(&output, 0);
}

#[test]
fn a_bad_value_from_the_environment_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output =
        gate(dir.path(), &["--update-id", "1", "--asid", "7"], &[("CLANFORGE_TIMEOUT", "30")]);
    assert_code(&output, 2);
    let log = log(&output);
    assert!(log.contains("CLANFORGE_TIMEOUT=\"30\""), "{log}");
    assert!(log.contains("a duration needs a unit, e.g. 30s"), "{log}");
}

#[test]
fn a_variable_that_collides_with_a_flag_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), "s\n").unwrap();
    let output =
        gate(dir.path(), &["--update-id", "1", "--asid", "7", "--secret-key-file", "key"], &[]);
    assert_code(&output, 2);
    let log = log(&output);
    assert!(log.contains("CLANFORGE_SECRET_KEY") && log.contains("--secret-key-file"), "{log}");
    assert!(!log.contains("'--secret-key <KEY>'"), "{log}");
}

// 5. The command line a user types works.

#[test]
fn help_as_a_word_prints_help() {
    let dir = tempfile::tempdir().unwrap();
    let output = gate(dir.path(), &["help"], &[]);
    assert_code(&output, 0);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Usage:") && text.contains("Exit codes:"), "{text}");
    let output = gate(dir.path(), &["help", "deploy"], &[]);
    assert_code(&output, 0);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("--game-id"), "{text}");
}

#[test]
fn no_job_at_all_names_every_way_to_give_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = gate(dir.path(), &["--asid", "7"], &[]);
    assert_code(&output, 2);
    let log = log(&output);
    assert!(log.contains("KIND/ID") && log.contains("--update-id"), "{log}");
}

#[test]
fn a_non_numeric_asid_is_refused_before_any_request() {
    let server = serve(vec![status(5, 100)]);
    let dir = tempfile::tempdir().unwrap();
    let mut args = real(&server);
    args[5] = "abc".into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = gate(dir.path(), &args, &[]);
    assert_code(&output, 2);
    assert!(log(&output).contains("--asid"), "{}", log(&output));
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn a_settle_longer_than_the_deadline_is_refused_with_the_reason() {
    let server = serve(vec![status(5, 100)]);
    let dir = tempfile::tempdir().unwrap();
    let mut args = real(&server);
    args.extend(["--settle".into(), "1m".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = gate(dir.path(), &args, &[]);
    assert_code(&output, 2);
    let log = log(&output);
    assert!(log.contains("--settle") && log.contains("--timeout"), "{log}");
    assert_eq!(server.requests().len(), 0);
}

#[test]
fn a_404_under_a_base_url_with_a_path_says_check_the_base_url() {
    let server = serve(vec![status(5, 100)]);
    let dir = tempfile::tempdir().unwrap();
    let mut args = real(&server);
    args[1] = format!("{}/cfp/v1", server.url());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = gate(dir.path(), &args, &[]);
    assert_code(&output, 4);
    assert!(log(&output).contains("check --base-url"), "{}", log(&output));
}

// 6. A terminal view with many jobs.

/// The screens a terminal shows as it reads `bytes`, one after each line or redraw.
#[cfg(target_os = "linux")]
fn screens(bytes: &[u8]) -> Vec<String> {
    // script(1) gives its pseudo-terminal the classic 80 x 24 when it has none to copy.
    let mut terminal = vt100::Parser::default();
    bytes
        .chunks(32)
        .map(|chunk| {
            terminal.process(chunk);
            terminal.screen().contents()
        })
        .collect()
}

/// A bar's row: `⠁ [1s] [=====>    ]  50% …`.
#[cfg(target_os = "linux")]
fn bar_rows(screen: &str) -> Vec<&str> {
    screen.lines().filter(|l| l.contains("s] [")).collect()
}

#[cfg(target_os = "linux")]
fn two_jobs() -> (SimServer, common::Gate) {
    use clanforge_sim::{Script, Sim};
    let server = Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .job(
            "1",
            Script::Replies(vec![status(4, 70), status(4, 80), status(4, 90), status(5, 100)]),
        )
        .job(
            "2",
            Script::Replies(vec![status(4, 20), status(4, 30), status(4, 40), status(5, 100)]),
        )
        .spawn()
        .unwrap();
    let gate = common::Gate::against(&server)
        .without("--update-id")
        .flag("update/1")
        .flag("update/2")
        .arg("--fixed-interval", "400ms")
        .without("--interval")
        .without("--max-interval");
    (server, gate)
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_each_job_has_a_line_of_its_own() {
    let (_server, gate) = two_jobs();
    let bytes = common::on_a_terminal(&gate);
    let screens = screens(&bytes);
    let both = screens.iter().find(|screen| {
        let rows = bar_rows(screen);
        rows.iter().any(|r| r.contains("update/1: Running, 70%") && r.contains(" 70% "))
            && rows.iter().any(|r| r.contains("update/2: Running, 20%") && r.contains(" 20% "))
    });
    assert!(both.is_some(), "no screen shows both jobs at once: {:?}", screens.last());
    let last = screens.last().unwrap();
    assert!(bar_rows(last).is_empty(), "a bar is left behind: {last}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_cancelled_run_leaves_no_bar_behind() {
    let (_server, gate) = two_jobs();
    let bytes =
        common::on_a_terminal_then(&gate.arg("--fixed-interval", "5s"), "sleep 1; kill -TERM $!");
    let screens = screens(&bytes);
    assert!(screens.iter().any(|s| !bar_rows(s).is_empty()), "no bar drawn: {screens:?}");
    let last = screens.last().unwrap();
    assert!(last.contains("cancelled"), "{last}");
    assert!(bar_rows(last).is_empty(), "a bar is left behind: {last}");
}

// 7. What a Rust CLI user expects to find.

#[test]
fn completions_for_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, sign) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef clanforge-wait"),
        ("fish", "complete -c clanforge-wait"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer"),
    ] {
        let output = gate(dir.path(), &["completions", shell], &[]);
        assert_code(&output, 0);
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains(sign), "{shell}: {text}");
        assert!(text.contains("deploy"), "{shell}");
    }
}

#[test]
fn the_version_is_cargo_s() {
    let dir = tempfile::tempdir().unwrap();
    let output = gate(dir.path(), &["--version"], &[]);
    assert_code(&output, 0);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("clanforge-wait {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_key_given_as_a_flag_is_warned_about() {
    let server = serve(vec![status(5, 100)]);
    let dir = tempfile::tempdir().unwrap();
    let mut args = real(&server);
    args.extend(["--access-key".into(), ACCESS_KEY.into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = gate(dir.path(), &args, &[]);
    assert_code(&output, 0);
    let log = log(&output);
    assert!(
        log.contains("WARN") && log.contains("--access-key") && log.contains("process listings"),
        "{log}"
    );
    assert!(!log.contains(ACCESS_KEY));
    // From the environment, no warning.
    let args = real(&server);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = gate(dir.path(), &args, &[]);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("process listings"));
}

// 8. The result agrees with the log.

#[test]
fn elapsed_seconds_is_rounded_as_the_log_rounds() {
    let server = serve(vec![status(4, 10), status(4, 60), status(5, 100)]);
    let dir = tempfile::tempdir().unwrap();
    let mut args = real(&server);
    args.drain(6..10); // --interval and --max-interval
    args.extend(["--fixed-interval", "360ms", "--result-file", "r.json"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = gate(dir.path(), &args, &[]);
    assert_code(&output, 0);
    let log = log(&output);
    let after = log
        .rsplit_once(" after ")
        .map(|(_, rest)| rest.split([' ', ',', ':']).next().unwrap_or_default())
        .unwrap_or_default();
    let seconds = match after.strip_suffix("ms") {
        Some(ms) => ms.parse::<f64>().unwrap() / 1000.0,
        None => after.trim_end_matches('s').parse::<f64>().unwrap(),
    };
    assert!(seconds > 0.5 && seconds < 1.5, "{after}: {log}");
    let result = json(&dir.path().join("r.json"));
    assert_eq!(result["elapsed_seconds"], seconds.round() as u64, "{log}");
}

#[cfg(unix)]
#[test]
fn a_log_that_is_the_result_stream_holds_no_checkpoint() {
    // The log stdout goes to happens to hold a line like a dotenv checkpoint's: a refused
    // line written to /dev/stdout must not take its ID for the result's.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.txt");
    std::fs::write(&log, "CLANFORGE_UPDATE_ID=11\n").unwrap();
    let script = format!(
        "'{}' --tiemout 1m --result-file /dev/stdout 2>/dev/null >> '{}'",
        binary().display(),
        log.display()
    );
    let status = Command::new("sh").args(["-c", &script]).status().unwrap();
    assert_eq!(status.code(), Some(2));
    let text = std::fs::read_to_string(&log).unwrap();
    let body = text.strip_prefix("CLANFORGE_UPDATE_ID=11\n").expect("the log kept");
    let result: Value = serde_json::from_str(body).expect("the result after it");
    assert_eq!(result["result"], "error");
    assert_eq!(result["update_id"], "", "{text}");
}
