//! One test per hole found in v0.1's review (issue 10), black-box over loopback. Each failed on
//! the v0.1 release binary: `CLANFORGE_WAIT_BIN=path/to/v0.1 cargo test --test regressions`.

mod common;

use clanforge_sim::Reply;
use common::*;
use serde_json::json;
use std::time::Duration;

/// Every output a usage error must still write, and their agreement.
#[track_caller]
fn assert_every_output_says(run: &Run, result: &str) {
    let written = run.result();
    assert_eq!(written["result"], result, "{}", run.stderr);
    let printed: serde_json::Value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("--json printed no JSON ({e}): {:?}", run.stdout));
    assert_eq!(printed, written);
    let outputs = read_github_output(&run.file("github_output"));
    assert_eq!(
        outputs.iter().find(|(k, _)| k == "result"),
        Some(&("result".to_owned(), result.to_owned())),
        "{outputs:?}"
    );
    assert_eq!(outputs.len(), 16, "{outputs:?}");
    assert!(
        run.file("ci.env").starts_with(&format!("CLANFORGE_RESULT={result}\n")),
        "{}",
        run.file("ci.env")
    );
    assert!(run.file("step_summary").contains(&format!("| {result} |")));
}

/// A FIFO (named pipe) in the run's folder.
#[cfg(unix)]
fn fifo(gate: &Gate, name: &str) -> String {
    let path = gate.path(name);
    let made = std::process::Command::new("mkfifo").arg(&path).status();
    assert!(made.expect("mkfifo runs").success());
    path
}

// ---- 1. green without a job --------------------------------------------------------------

#[test]
fn clanforge_demo_left_in_the_environment_never_passes_a_real_job() {
    let server = serve(vec![status(5, 100)]);
    let run = Gate::against(&server)
        .without("--base-url")
        .env("CLANFORGE_DEMO", "true")
        .every_output()
        .run();
    run.assert_code(2).assert_logged(
        "--demo (CLANFORGE_DEMO) runs against a simulated API and can't be combined with --update-id",
    );
    assert_every_output_says(&run, "error");
    assert_eq!(run.result()["simulated"], true);
}

#[test]
fn the_demo_with_a_base_url_or_keys_is_refused_too() {
    for gate in [
        Gate::demo().arg("--base-url", "https://api.multiplay.co.uk"),
        Gate::demo().env("CLANFORGE_SECRET_KEY", SECRET_KEY),
    ] {
        let run = gate.run();
        run.assert_code(2).assert_logged("can't be combined with");
        assert_eq!(run.result()["result"], "error");
    }
}

#[test]
fn a_demo_result_says_it_was_simulated() {
    let run = Gate::demo().github().arg("--timeout", "1s").run();
    run.assert_code(3)
        .assert_logged("Nothing here is a real Clanforge result")
        .assert_logged("[simulated by --demo: no request reached Clanforge]");
    assert_eq!(run.result()["simulated"], true);
    assert!(run.file("step_summary").contains("simulated by --demo"));
    assert!(run.file("github_output").contains("\nsimulated=true\n"));
}

#[test]
fn a_real_result_says_it_was_not_simulated() {
    let server = serve(vec![status(5, 100)]);
    let run = Gate::against(&server).run();
    run.assert_code(0);
    assert_eq!(run.result()["simulated"], false);
    assert!(!run.stderr.contains("simulated"), "{}", run.stderr);
}

// ---- 2. a panic from server input --------------------------------------------------------

#[test]
fn a_retry_after_at_the_end_of_time_ends_the_gate_without_a_panic() {
    let server =
        serve(vec![Reply::http(429, "{}").with_header("Retry-After", "9999999999999999999")]);
    let run = Gate::against(&server).every_output().run();
    run.assert_code(3).assert_logged("(Retry-After), past the 10s deadline");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_every_output_says(&run, "timeout");
    assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);
}

#[test]
fn durations_past_their_limit_are_usage_errors() {
    let server = serve(vec![status(5, 100)]);
    for (flag, value) in [
        ("--timeout", "99999999years"),
        ("--timeout", "31days"),
        ("--max-interval", "2h"),
        ("--request-timeout", "10000h"),
    ] {
        let run = Gate::against(&server).arg(flag, value).run();
        run.assert_code(2);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert_eq!(run.result()["result"], "error", "{flag} {value}");
        assert!(run.error().contains(flag));
    }
    assert!(server.requests().is_empty());
}

// ---- 3. an absurd ETA stalls the polling -------------------------------------------------

#[test]
fn an_eta_at_the_end_of_time_is_not_trusted_by_the_schedule() {
    let far = json!({"jobstateid": 4, "jobprogress": 10, "jobeta": 9_999_999_999_999_i64});
    let server = serve(vec![Reply::json(far.clone()), Reply::json(far), status(5, 100)]);
    let run = Gate::against(&server)
        .arg("--interval", "100ms")
        .arg("--max-interval", "1s")
        .arg("--timeout", "8s")
        .run();
    // v0.1 slept 10 × --max-interval on that ETA and timed out at 8 s.
    run.assert_code(0);
    assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);
    assert!(!run.stderr.contains("ETA"), "{}", run.stderr);
}

// ---- 4. a success for the wrong job ------------------------------------------------------

#[test]
fn an_answer_for_another_job_is_an_api_error_naming_both() {
    let server = serve(vec![Reply::json(json!({
        "jobstateid": 5, "jobstatename": "Completed", "jobprogress": 100, "updateid": 999_999,
    }))]);
    let run = Gate::against(&server).run();
    run.assert_code(4);
    let error = run.error();
    assert!(
        error.contains("updateid 999999") && error.contains(&format!("image update {UPDATE_ID}")),
        "{error}"
    );
}

#[test]
fn the_same_id_as_a_string_or_with_leading_zeros_is_the_same_job() {
    let server = serve(vec![Reply::json(json!({
        "jobstateid": 5, "updateid": format!("0{UPDATE_ID}"),
    }))]);
    Gate::against(&server).run().assert_code(0);
}

// ---- 5. a completed job reported as a usage error ----------------------------------------

#[cfg(unix)]
#[test]
fn a_result_file_on_stdout_is_streamed() {
    let server = serve(vec![status(5, 100)]);
    let run = Gate::against(&server).arg("--result-file", "/dev/stdout").run();
    run.assert_code(0);
    let printed: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(printed["result"], "success");
}

#[cfg(unix)]
#[test]
fn a_dotenv_fifo_is_streamed() {
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server);
    let fifo = fifo(&gate, "ci.fifo");
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap_or_default())
    };
    let run = gate.arg("--dotenv", &fifo).run();
    run.assert_code(0);
    assert!(reader.join().unwrap().starts_with("CLANFORGE_RESULT=success\n"));
}

#[cfg(unix)]
#[test]
fn a_result_file_is_replaced_whole_and_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server);
    let path = gate.path("result.json");
    std::fs::write(&path, r#"{"result": "success", "stale": true}"#).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let folder = std::path::Path::new(&path).parent().unwrap().to_owned();
    let run = gate.run();
    run.assert_code(0);
    assert!(run.result().get("stale").is_none());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    let left: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

// ---- 6. every usage error writes every output ---------------------------------------------

#[test]
fn a_missing_flag_writes_every_output() {
    let server = serve(vec![status(5, 100)]);
    let run = Gate::against(&server).without("--asid").every_output().run();
    run.assert_code(2);
    assert_every_output_says(&run, "error");
    let error = run.error();
    assert!(error.contains("--asid") && !error.contains('\n'), "{error}");
    run.assert_logged(&error);
    assert!(server.requests().is_empty());
}

#[test]
fn a_bad_value_writes_every_output_and_masks_the_keys_first() {
    let run = Gate::new("http://127.0.0.1:9").arg("--interval", "soon").every_output().run();
    run.assert_code(2);
    assert_every_output_says(&run, "error");
    assert!(
        run.stderr.starts_with(&format!("::add-mask::{ACCESS_KEY}\n::add-mask::{SECRET_KEY}\n")),
        "{}",
        run.stderr
    );
    let error = run.error();
    assert!(error.contains("--interval") && error.contains("soon"), "{error}");
}

// ---- 7. signals during set-up ------------------------------------------------------------

/// The gate blocks reading its secret key from a FIFO; SIGTERM arrives then.
#[cfg(target_os = "linux")]
#[test]
fn a_sigterm_while_the_gate_sets_up_writes_every_output() {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let server = serve(vec![status(5, 100)]);
    let gate = Gate::against(&server).every_output();
    let fifo = fifo(&gate, "secret.fifo");
    let running = gate.without_env("CLANFORGE_SECRET_KEY").arg("--secret-key-file", &fifo).spawn();
    // Opening a FIFO's write end without blocking succeeds once a reader has it open: then the
    // gate is reading its key.
    const O_NONBLOCK: i32 = 0o4000;
    let started = std::time::Instant::now();
    let mut writer = loop {
        match std::fs::OpenOptions::new().write(true).custom_flags(O_NONBLOCK).open(&fifo) {
            Ok(writer) => break writer,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("the gate never opened its key file: {e}"),
        }
    };
    running.signal("TERM");
    // A gate that died of the signal has closed the FIFO: the run says so below.
    let _ = writer.write_all(SECRET_KEY.as_bytes());
    drop(writer);
    let run = running.finish();
    run.assert_code(143).assert_logged("cancelled by SIGTERM before the first request");
    assert_every_output_says(&run, "cancelled");
    assert!(server.requests().is_empty());
}
