//! The gate's contract, black-box: the built binary against a simulated API on 127.0.0.1.

mod common;

use clanforge_sim::{Reply, Script, Sim};
use common::*;
use serde_json::json;
use std::time::Duration;

// ---- the request -------------------------------------------------------------------------

#[test]
fn sends_the_documented_request() {
    let server = serve(vec![status(5, 100)]);
    Gate::against(&server).run().assert_code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, format!("/cfp/v1/imageupdate/{UPDATE_ID}/status"));
    assert_eq!(request.query, "accountserviceid=7");
    // base64("AKIA-access-XYZZY:s3cr3t-PLUGH-never-print-me")
    assert_eq!(
        request.header("authorization"),
        Some("Basic QUtJQS1hY2Nlc3MtWFlaWlk6czNjcjN0LVBMVUdILW5ldmVyLXByaW50LW1l")
    );
    assert_eq!(request.header("accept"), Some("application/json"));
    assert!(
        request.header("user-agent").is_some_and(|ua| ua.starts_with("clanforge-wait/")),
        "{request:?}"
    );
}

#[test]
fn account_service_id_has_a_long_alias_and_flags_have_env_fallbacks() {
    let server = serve(vec![status(5, 100)]);
    Gate::against(&server)
        .without("--asid")
        .arg("--account-service-id", "9")
        .without("--update-id")
        .env("CLANFORGE_UPDATE_ID", UPDATE_ID)
        .run()
        .assert_code(0);
    assert_eq!(server.requests()[0].query, "accountserviceid=9");
}

// ---- classification ----------------------------------------------------------------------

#[test]
fn waits_through_the_running_states_and_exits_0_when_the_job_completes() {
    let server =
        serve(vec![status(1, 0), status(2, 0), status(3, 0), status(4, 50), status(5, 100)]);
    let run = Gate::against(&server).run();
    run.assert_code(0);
    // Rounded to the nearest second: 0 or 1 for five polls 10-40 ms apart on a busy machine.
    // The job ends a moment before the gate does, so the two may round apart (0.49 s, 0.52 s).
    let elapsed = run.result()["elapsed_seconds"].clone();
    let job_elapsed = run.result()["jobs"][0]["elapsed_seconds"].clone();
    assert!(elapsed == 0 || elapsed == 1, "{elapsed}");
    assert!(job_elapsed == 0 || job_elapsed == elapsed, "{job_elapsed} > {elapsed}");
    assert_eq!(
        run.result(),
        json!({
            "result": "success", "update_id": UPDATE_ID, "state_id": 5, "state": "Complete",
            "progress": 100, "job_failed": false, "error": "",
            "elapsed_seconds": elapsed, "polls": 5, "simulated": false,
            "diff_id": "", "image_version_id": "", "step": "", "locked_by": "",
            "pending_create": "",
            "jobs": [{
                "job": format!("update/{UPDATE_ID}"), "kind": "update", "id": UPDATE_ID,
                "result": "success", "state_id": 5, "state": "Complete", "progress": 100,
                "job_failed": false, "error": "", "polls": 5, "elapsed_seconds": job_elapsed,
            }]
        })
    );
    assert_eq!(server.requests().len(), 5);
}

#[test]
fn logs_each_change_of_state_or_progress_once() {
    let server =
        serve(vec![status(3, 0), status(3, 0), status(4, 10), status(4, 10), status(5, 100)]);
    let run = Gate::against(&server).run();
    run.assert_code(0);
    run.assert_logged_once("Queued, 0%");
    run.assert_logged_once("Running, 10%");
    run.assert_logged("completed (Complete, 100%)");
    run.assert_logged("5 polls");
}

#[test]
fn a_squashed_job_exits_1() {
    let server = serve(vec![Reply::json(json!({"jobstateid": 7, "jobstatename": "Squashed"}))]);
    let run = Gate::against(&server).run();
    run.assert_code(1);
    assert_eq!(run.result()["state"], "Squashed");
}

#[test]
fn jobfailed_fails_the_gate_whatever_the_state() {
    let body = json!({"jobstateid": 4, "jobstatename": "Running", "jobfailed": "1"});
    let server = serve(vec![Reply::json(body)]);
    let run = Gate::against(&server).run();
    run.assert_code(1);
    assert_eq!(run.result()["job_failed"], true);
}

#[test]
fn optional_fields_may_be_null_or_missing() {
    let server = serve(vec![
        Reply::json(json!({"jobstateid": 4, "jobeta": null, "jobstart": null, "joberror": null})),
        Reply::json(json!({"jobstateid": 5})),
    ]);
    let run = Gate::against(&server).run();
    run.assert_code(0);
    assert_eq!(run.result()["progress"], serde_json::Value::Null);
}

#[test]
fn without_a_state_id_the_state_name_decides_case_insensitively() {
    for (name, code) in [("Completed", 0), ("complete", 0), ("FAILED", 1), ("squashed", 1)] {
        let server = serve(vec![
            Reply::json(json!({"jobstatename": "running"})),
            Reply::json(json!({"jobstatename": name})),
        ]);
        let run = Gate::against(&server).run();
        assert_eq!(run.code, code, "{name}: {}", run.stderr);
        assert_eq!(server.requests().len(), 2, "{name}");
    }
}

// ---- API errors: exit 4 at once ----------------------------------------------------------

#[test]
fn other_client_errors_exit_4_at_once() {
    let server = serve(vec![Reply::error(400, 2, "bad request"), status(5, 100)]);
    Gate::against(&server).run().assert_code(4);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn an_answer_without_a_state_exits_4() {
    let server = serve(vec![Reply::json(json!({"hello": "world"})), status(5, 100)]);
    let run = Gate::against(&server).run();
    run.assert_code(4);
    run.assert_logged("no jobstateid or jobstatename");
}

// ---- transient failures: retried on the schedule -----------------------------------------

/// The gate meets `fault` once, warns, retries, and succeeds on the next poll.
fn recovers_from(fault: Reply, extra: &[(&str, &str)]) -> Run {
    let server = serve(vec![fault, status(5, 100)]);
    let mut gate = Gate::against(&server);
    for (flag, value) in extra {
        gate = gate.arg(flag, value);
    }
    let run = gate.run();
    run.assert_code(0);
    assert_eq!(server.requests().len(), 2);
    run.assert_logged("retrying in");
    assert_eq!(run.result()["polls"], 2);
    run
}

#[test]
fn retries_a_500() {
    recovers_from(Reply::error(500, 500, "internal error"), &[]);
}

#[test]
fn retries_a_502_from_a_proxy() {
    recovers_from(Reply::http(502, "<html>Bad Gateway</html>"), &[]);
}

#[test]
fn retries_a_408() {
    recovers_from(Reply::http(408, ""), &[]);
}

// ---- Retry-After ---------------------------------------------------------------------------

// ---- the deadline ----------------------------------------------------------------------------

#[test]
fn the_timeout_names_the_last_state_and_that_the_job_may_still_run() {
    let server = serve(vec![status(4, 42)]);
    let run = Gate::against(&server).arg("--timeout", "500ms").run();
    run.assert_code(3);
    let error = run.error();
    assert!(error.contains("last seen: Running, 42%"), "{error}");
    assert!(error.contains("the 500ms deadline (--timeout) passed"), "{error}");
    assert!(error.contains("may still be running in Clanforge"), "{error}");
    run.assert_logged(&error);
}

// ---- usage errors: exit 2 ------------------------------------------------------------------

#[test]
fn a_missing_flag_is_a_usage_error() {
    let run = Gate::new("http://127.0.0.1:9").without("--update-id").run();
    run.assert_code(2);
    run.assert_logged("--update-id");
}

#[test]
fn a_bad_duration_is_a_usage_error_naming_the_flag() {
    let run = Gate::new("http://127.0.0.1:9").arg("--timeout", "5x").run();
    run.assert_code(2);
    run.assert_logged("--timeout");
}

#[test]
fn an_empty_secret_is_a_usage_error_and_the_result_is_still_written() {
    let run = Gate::new("http://127.0.0.1:9").env("CLANFORGE_SECRET_KEY", "").run();
    run.assert_code(2);
    assert!(
        run.stderr.contains("--secret-key (CLANFORGE_SECRET_KEY) is missing or empty"),
        "{}",
        run.stderr
    );
    assert_eq!(run.result()["result"], "error");
}

#[test]
fn a_base_url_that_is_not_http_is_a_usage_error() {
    let run = Gate::new("ftp://example.com").run();
    run.assert_code(2);
    run.assert_logged("--base-url");
}

#[test]
fn an_unwritable_result_file_is_a_usage_error_before_any_request() {
    let server = serve(vec![status(5, 100)]);
    let run = Gate::against(&server).arg("--result-file", "/nonexistent/dir/result.json").run();
    run.assert_code(2);
    run.assert_logged("--result-file");
    assert!(server.requests().is_empty());
}

// ---- outputs -------------------------------------------------------------------------------

#[test]
fn json_prints_exactly_the_result_on_stdout() {
    let server = serve(vec![status(5, 100)]);
    let run = Gate::against(&server).flag("--json").run();
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stdout);
    let printed: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(printed, run.result());
}

#[test]
fn json_logs_are_one_object_per_line() {
    let server = serve(vec![status(4, 10), status(5, 100)]);
    let run = Gate::against(&server).arg("--log-format", "json").run();
    run.assert_code(0);
    let events: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(events.iter().any(|e| e["state"] == "Running" && e["progress"] == 10));
    assert_eq!(events.last().unwrap()["result"], "success");
}

// ---- secrets -------------------------------------------------------------------------------

#[test]
fn the_keys_appear_in_no_output_on_any_path() {
    let cases: Vec<(Vec<Reply>, &[&str], i32)> = vec![
        (vec![status(5, 100)], &["--json"], 0),
        (vec![Reply::http(500, ""), status(6, 10)], &["--json"], 1),
        (vec![status(4, 1)], &["--timeout", "300ms"], 3),
        (vec![Reply::error(401, 1, "Unauthorized")], &["--log-format", "json"], 4),
    ];
    for (replies, args, code) in cases {
        let server = serve(replies);
        let mut gate = Gate::against(&server);
        for pair in args.chunks(2) {
            gate = match pair {
                [flag, value] => gate.arg(flag, value),
                [flag] => gate.flag(flag),
                _ => unreachable!(),
            };
        }
        let run = gate.run();
        run.assert_code(code);
        let all = run.all_output();
        assert!(!all.contains(SECRET_KEY) && !all.contains(ACCESS_KEY), "{all}");
    }
}

#[test]
fn help_hides_the_keys_given_in_the_environment() {
    let mut command = Gate::new("http://127.0.0.1:9").command();
    command.args(["--help"]);
    let output = command.output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(help.contains("CLANFORGE_SECRET_KEY"), "{help}");
    assert!(!help.contains(SECRET_KEY) && !help.contains(ACCESS_KEY), "{help}");
}

// ---- stalls ------------------------------------------------------------------------------

#[test]
fn a_stalled_job_ends_at_the_stall_timeout_not_the_deadline() {
    let server = serve(vec![status(4, 40)]);
    let run = Gate::against(&server)
        .arg("--stall-timeout", "500ms")
        .arg("--interval", "2s")
        .arg("--max-interval", "2s")
        .run();
    // Polls 2 s apart would overshoot: the gate looks again when the limit runs out.
    run.assert_code(5)
        .assert_logged("has sat at Running, 40% for 5")
        .assert_logged("(--stall-timeout 500ms)");
    assert_eq!(run.result()["result"], "stalled");
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_job_that_moves_slowly_is_not_stalled() {
    // Created, then Queued, then Running from 0 to 100 % over 2 s: nothing sits still for
    // 350 ms, though the gate polls far less often than that.
    let server = Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .job(UPDATE_ID, Script::Timeline(Duration::from_secs(2)))
        .spawn()
        .unwrap();
    let run =
        Gate::against(&server).arg("--stall-timeout", "350ms").arg("--max-interval", "1s").run();
    run.assert_code(0);
}

#[test]
fn a_change_of_eta_alone_is_movement() {
    let eta = |seconds: i64| {
        Reply::json(json!({"jobstateid": 4, "jobprogress": 40,
                           "jobeta": clanforge_wait::testing::unix_now() + seconds}))
    };
    let mut replies: Vec<Reply> = (0..12).map(|i| eta(100 + i)).collect();
    replies.push(status(5, 100));
    let server = serve(replies);
    let run = Gate::against(&server)
        .arg("--stall-timeout", "200ms")
        .arg("--fixed-interval", "50ms")
        .without("--interval")
        .without("--max-interval")
        .run();
    run.assert_code(0);
}
