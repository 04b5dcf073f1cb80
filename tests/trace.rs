//! `--trace-http` (issue 18): each request and its answer, what a user attaches to a bug
//! report, with no secret in it. The fault suite traces every one of its faults too and checks
//! each trace (`tests/faults/harness.rs`, `check_trace`).

mod common;

use clanforge_sim::{Reply, Script, Sim};
use common::deploy::*;
use common::*;
use serde_json::json;

#[test]
fn the_trace_holds_the_request_the_answer_and_its_headers() {
    // A body past 4 KiB, with text that would move a terminal's cursor or reorder a line.
    let filler = "x".repeat(5000);
    let server = Sim::new()
        .credentials(ACCESS_KEY, SECRET_KEY)
        .job(
            UPDATE_ID,
            Script::Replies(vec![
                Reply::http(503, "busy\n\u{1b}[2J\u{202e}gnp").with_header("Retry-After", "0"),
                Reply::json(json!({"jobstateid": 5, "jobprogress": 100, "pad": filler})),
            ]),
        )
        .spawn()
        .unwrap();
    let run = Gate::against(&server).flag("--trace-http").run();
    run.assert_code(0);
    let trace: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("trace ")).collect();
    assert_eq!(trace.len(), 6, "{}", run.stderr);
    let path =
        format!("GET /cfp/v1/imageupdate/{UPDATE_ID}/status?accountserviceid=7 (auth Basic ***)");
    assert!(trace[0].ends_with(&path), "{}", trace[0]);
    assert!(
        trace[1].starts_with("trace   HTTP 503 Service Unavailable in ")
            && trace[1].contains(" ms; Date: ")
            && trace[1].contains("; Retry-After: 0"),
        "{}",
        trace[1]
    );
    assert_eq!(trace[2], "trace   body, 15 bytes: busy\\n\\u{1b}[2J\\u{202e}gnp");
    assert!(trace[4].contains("; Content-Type: application/json"), "{}", trace[4]);
    let body = trace[5];
    assert!(body.contains(" bytes (first 4 KiB): {"), "{body}");
    let kept = body.split_once(": ").unwrap().1;
    assert_eq!(kept.len(), 4096, "the body's first 4 KiB, no more");
    // No key, no Basic header, in the log or the trace.
    assert!(!run.all_output().contains(SECRET_KEY) && !run.all_output().contains(ACCESS_KEY));
}

#[test]
fn the_variable_appends_to_a_file_and_a_token_is_never_in_it() {
    let server = Sim::new()
        .token(TOKEN)
        .job(UPDATE_ID, Script::Replies(vec![status(5, 100)]))
        .spawn()
        .unwrap();
    let gate = Gate::against(&server)
        .without("--asid")
        .without_env("CLANFORGE_ACCESS_KEY")
        .without_env("CLANFORGE_SECRET_KEY")
        .env("CLANFORGE_TOKEN", TOKEN);
    let path = gate.path("trace.log");
    std::fs::write(&path, "an earlier line\n").unwrap();
    let run = gate.env("CLANFORGE_TRACE_HTTP", &path).run();
    run.assert_code(0);
    let trace = run.file("trace.log");
    assert!(trace.starts_with("an earlier line\ntrace "), "{trace}");
    assert!(
        trace.contains(&format!("GET /cfp/v1/imageupdate/{UPDATE_ID}/status (auth Bearer ***)")),
        "{trace}"
    );
    assert!(!trace.contains(TOKEN) && !run.all_output().contains(TOKEN));
    // Not on stderr: the file has it.
    assert!(!run.stderr.contains("trace "), "{}", run.stderr);
}

#[test]
fn an_unwritable_trace_is_exit_2_before_any_request() {
    let server = serve(vec![status(5, 100)]);
    let run =
        Gate::against(&server).every_output().flag("--trace-http=/nonexistent-dir/trace.log").run();
    run.assert_code(2).assert_logged(
        "--trace-http (CLANFORGE_TRACE_HTTP) can't append to /nonexistent-dir/trace.log",
    );
    assert_eq!(server.requests().len(), 0);
    assert_eq!(run.result()["result"], "error");
}

/// `start update` on the simulated image, traced to stderr.
fn start_update(server: &clanforge_sim::SimServer) -> Gate {
    on_image(
        Gate::against(server)
            .without("--update-id")
            .flag("--trace-http")
            .flag("start")
            .flag("update"),
    )
}

#[test]
fn the_update_url_shows_its_host_only() {
    let server = world(quick_image());
    let url = "s3://AKIATRACEKEY:tr%2Face+secret@trace-bucket/builds/7/";
    let run = start_update(&server).env("CLANFORGE_UPDATE_URL", url).run();
    run.assert_code(0);
    let create = run
        .stderr
        .lines()
        .find(|l| l.starts_with("trace ") && l.contains("/imageupdate/create?"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(create.contains("&url=s3://trace-bucket/… (auth Basic ***)"), "{create}");
    for part in ["AKIATRACEKEY", "tr%2Face", "tr/ace", "ace+secret", "builds/7"] {
        assert!(!run.stderr.contains(part), "{part}: {}", run.stderr);
    }
}

/// A secret anywhere in a request's target (here a key pasted into --desc) is redacted there
/// too, in every form.
#[test]
fn a_secret_in_a_request_target_is_redacted() {
    let server = world(quick_image());
    let run = start_update(&server).arg("--desc", &format!("build by {SECRET_KEY}")).run();
    run.assert_code(0);
    let create = run.stderr.lines().find(|l| l.starts_with("trace ") && l.contains("/create?"));
    assert!(create.is_some_and(|l| l.contains("&desc=build by ***")), "{}", run.stderr);
    assert!(!run.all_output().contains(SECRET_KEY), "{}", run.all_output());
}

/// `CLANFORGE_TRACE_HTTP` may be a word: on (`-`, `true`, …) is stderr, off (`0`, …) is none.
#[test]
fn the_variable_may_turn_the_trace_on_or_off() {
    let server = serve(vec![status(5, 100)]);
    for (value, traced) in [(" true ", true), ("-", true), ("0", false), ("off", false)] {
        let run = Gate::against(&server).env("CLANFORGE_TRACE_HTTP", value).run();
        run.assert_code(0);
        assert_eq!(run.stderr.contains("trace "), traced, "{value:?}: {}", run.stderr);
    }
}

/// The image's own update URL, which `image/options` sends back with its storage credentials,
/// is a secret too: the trace shows that answer without them.
#[test]
fn the_images_own_update_url_never_reaches_the_trace() {
    let server = world(quick_image());
    let gate = deploy(&server).every_output();
    let trace = gate.path("trace.log");
    let run = gate.flag(&format!("--trace-http={trace}")).run();
    run.assert_code(0);
    let trace = run.file("trace.log");
    assert!(trace.contains("\"update_url\":\"***\""), "{trace}");
    let written = [trace, run.all_output()].concat();
    for part in ["SIMKEYID", "secret-in-url", "sim%2Fsecret", "sim/secret"] {
        assert!(!written.contains(part), "{part}: {written}");
    }
}
