//! The fault-injection suite: one test per fault the simulated API can throw at the gate.
//! Each checks the documented exit code, that every output is written and agrees with it,
//! that the deadline holds to within 1 s, that memory stays bounded, that nothing panics and
//! that no key reaches any output. The README's Reliability table is this suite's table.
//!
//! `cargo test --test faults -- --nocapture` prints the figures for each fault.

#[path = "../common/mod.rs"]
mod common;
mod harness;

use harness::{Scenario, check, deploy_on, replies};

use clanforge_sim::{CreateFault, Image, JobKind, Reply};
use clanforge_wait::testing::unix_now;
use common::deploy::quick_image;
use common::*;
use serde_json::json;
use std::time::{Duration, SystemTime};

/// One test per fault, and the table the README repeats.
macro_rules! faults {
    ($( $test:ident: $fault:literal => $does:literal, logs [$($log:expr),*], exit $exit:literal,
        $scenario:expr; )*) => {
        /// (fault, what the gate does, exit code)
        const TABLE: &[(&str, &str, i32)] = &[$(($fault, $does, $exit)),*];
        $(
            #[test]
            fn $test() {
                check($fault, &[$($log),*], $exit, $scenario);
            }
        )*
    };
}

fn html_503() -> Reply {
    Reply::http(503, "<html><body><h1>503 Service Unavailable</h1></body></html>")
}

/// An install list as large as a big fleet's, each entry the size of a real one (about 430
/// bytes: the job fields and the machine's).
fn fleet(entries: u64) -> Reply {
    let now = unix_now();
    let installs: Vec<serde_json::Value> = (0..entries)
        .map(|i| {
            json!({
                "jobid": 1_000_000 + i, "target_imageversionid": 3, "jobstateid": 4,
                "jobstatename": "Running", "jobprogress": 50, "jobfailed": 0, "joberror": null,
                "jobeta": null, "jobcreated": now, "jobupdated": now, "jobstart": now,
                "mirroring": false, "success": true, "machineid": 500_000 + i,
                "machinename": format!("gameserver-eu-west-{i:06}"), "serverid": 900_000 + i,
                "ip": format!("10.{}.{}.{}", i % 250, (i / 250) % 250, i % 7),
                "locationname": "Frankfurt", "locationid": 12, "profileid": 4711,
                "imageid": 1234, "previous_imageversionid": 2, "installtype": "differential",
            })
        })
        .collect();
    // Serialized once here, not on each request the simulator serves.
    Reply::http(200, serde_json::to_vec(&json!({"success": true, "installs": installs})).unwrap())
}

fn at(offset: Duration) -> String {
    httpdate::fmt_http_date(SystemTime::now() + offset)
}

const TEN_YEARS: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

faults! {
    burst_of_503s_with_an_html_body:
        "a burst of 503s with an HTML body" =>
        "warns, retries on the schedule, succeeds once the API recovers", logs ["HTTP 503 Service Unavailable from the API; retrying in", "completed"], exit 0,
        replies(vec![html_503(), html_503(), html_503(), html_503(), html_503(), status(5, 100)]);
    too_many_requests_with_retry_after_seconds:
        "429 with `Retry-After: 1`" =>
        "waits at least the second asked for, then polls again", logs ["HTTP 429 Too Many Requests from the API; retrying in 1.0s", "completed"], exit 0,
        replies(vec![Reply::http(429, "{}").with_header("Retry-After", "1"), status(5, 100)])
            .requests(2).gap(Duration::from_secs(1), Duration::from_secs(3));
    too_many_requests_with_retry_after_date:
        "429 with `Retry-After` as an HTTP-date" =>
        "waits until that date by the server's own clock, then polls again", logs ["HTTP 429 Too Many Requests from the API; retrying in", "completed"], exit 0,
        replies(vec![Reply::http(429, "{}").with_header("Retry-After", &at(Duration::from_secs(2))), status(5, 100)])
            // The date has whole-second resolution: it lies 1–2 s ahead.
            .arg("--timeout", "5s").requests(2).gap(Duration::from_millis(900), Duration::from_secs(4));
    retry_after_past_the_deadline:
        "`Retry-After` that ends after the deadline" =>
        "gives up at once rather than idle until the deadline", logs ["the API asked for a 1h pause (Retry-After), past the 2.0s deadline"], exit 3,
        replies(vec![Reply::http(503, "").with_header("Retry-After", "3600")]).requests(1).before_deadline();
    connection_refused:
        "connection refused (nothing listening), a deadline shorter than `--unreachable-timeout`" =>
        "warns and retries until the deadline", logs ["could not connect to 127.0.0.1:", "retrying in", "the 2.0s deadline (--timeout) passed"], exit 3,
        Scenario { refused: true, ..replies(Vec::new()) }.error_has("could not connect");
    never_reached_a_refused_port:
        "connection refused on every try, and no answer yet" =>
        "exits 4 when `--unreachable-timeout` ends (30 s; 3 tries at least), naming the host and `clanforge-wait check`; after a first answer, retries until the deadline",
        logs ["the API was never reached: could not connect to 127.0.0.1:", "run `clanforge-wait check`"], exit 4,
        Scenario { refused: true, ..replies(Vec::new()) }
            .arg("--unreachable-timeout", "500ms").arg("--interval", "100ms").arg("--max-interval", "200ms")
            .error_has("the API was never reached").before_deadline();
    never_reached_a_name_that_does_not_resolve:
        "a host name that does not resolve, and no answer yet" =>
        "exits 4 when `--unreachable-timeout` ends, as above",
        logs ["the API was never reached: could not connect to clanforge-wait-test.invalid:443", "run `clanforge-wait check`"], exit 4,
        Scenario { url: Some("https://clanforge-wait-test.invalid"), ..replies(Vec::new()) }
            .arg("--unreachable-timeout", "500ms").arg("--interval", "100ms").arg("--max-interval", "200ms")
            .error_has("the API was never reached").before_deadline();
    connection_reset_before_a_response:
        "connection reset before a response" =>
        "retries", logs ["Connection reset by peer", "retrying in", "completed"], exit 0,
        replies(vec![Reply::Reset, status(5, 100)]).requests(2);
    connection_closed_mid_body:
        "connection closed mid-body" =>
        "retries", logs ["the connection broke while reading the answer", "retrying in", "completed"], exit 0,
        replies(vec![Reply::CloseMidBody(Box::new(status(4, 50))), status(5, 100)]).requests(2);
    a_response_that_never_comes:
        "a response that never comes" =>
        "the deadline cuts the request: exits within 1 s of `--timeout`", logs ["the 2.0s deadline (--timeout) passed"], exit 3,
        replies(vec![Reply::Hang]).arg("--request-timeout", "1h");
    a_request_that_hangs_once:
        "one request that hangs, then answers" =>
        "`--request-timeout` cuts it, the next poll succeeds", logs ["no answer within 300ms: raise --request-timeout if the API is this slow; retrying in", "completed"], exit 0,
        replies(vec![Reply::Hang, status(5, 100)]).arg("--request-timeout", "300ms").requests(2);
    a_body_sent_a_byte_a_second:
        "a body sent a byte a second" =>
        "the deadline cuts the request: exits within 1 s of `--timeout`", logs ["the 2.0s deadline (--timeout) passed"], exit 3,
        replies(vec![Reply::Trickle { reply: Box::new(status(5, 100)), every: Duration::from_secs(1) }])
            .arg("--request-timeout", "1h");
    truncated_json:
        "truncated JSON" =>
        "retries", logs ["unreadable answer (HTTP 200): the body is not JSON", "retrying in", "completed"], exit 0,
        replies(vec![Reply::http(200, r#"{"jobstateid": 4, "jobprogr"#), status(5, 100)]).requests(2);
    an_html_page_with_200:
        "an HTML page with status 200 (a captive proxy)" =>
        "retries", logs ["unreadable answer (HTTP 200): the body is not JSON", "Sign in", "retrying in", "completed"], exit 0,
        replies(vec![Reply::http(200, "<!DOCTYPE html><title>Sign in</title>"), status(5, 100)]).requests(2);
    terminal_escapes_in_a_200_body:
        "terminal escapes and bidi text in a 200 body (OSC 0, OSC 8, CSI 2J, BEL, NUL, U+202E)" =>
        "retries; the log's excerpt shows each as an escape (`\\u{1b}`), none reaches a terminal or an output", logs ["\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{0}\\u{202e}", "retrying in", "completed"], exit 0,
        replies(vec![Reply::http(200, "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{0}\u{202e}txt.exe \u{1b}]8;;http://x\u{1b}\\link"), status(5, 100)]).requests(2);
    a_redirect_to_another_origin:
        "a 302 to another origin (`localhost` for `127.0.0.1`)" =>
        "exits 4 at once naming where it pointed; the other origin gets no request and its answer is never believed", logs ["the API redirected (HTTP 302) to http://localhost:", "another origin than --base-url's: not followed"], exit 4,
        replies(vec![Reply::http(302, "").with_header("Location", "http://localhost:1/cfp/v1/imageupdate/424242/status"), status(5, 100)]).requests(1).before_deadline();
    a_redirect_loop:
        "a redirect loop (a 302 to the same URL)" =>
        "follows 3 same-origin hops, then exits 4 at once: 4 requests, not a storm until the deadline", logs ["followed (same origin)", "the API redirected more than 3 times"], exit 4,
        replies(vec![Reply::http(302, "").with_header("Location", "/cfp/v1/imageupdate/424242/status?accountserviceid=7")]).before_deadline();
    a_64_mib_body_streamed:
        "a 64 MiB body without Content-Length" =>
        "stops reading at 1 MiB and retries; memory stays bounded", logs ["the answer is larger than 1048576 bytes; retrying in", "completed"], exit 0,
        replies(vec![Reply::Huge { bytes: 64 << 20, content_length: false }, status(5, 100)]);
    a_64_mib_body_announced:
        "a 64 MiB body with Content-Length" =>
        "refuses it unread and retries", logs ["the answer is larger than 1048576 bytes; retrying in", "completed"], exit 0,
        replies(vec![Reply::Huge { bytes: 64 << 20, content_length: true }, status(5, 100)]).requests(2);
    a_fleet_of_50_000_installs:
        "an install list of 50,000 real-sized entries (about 22 MB)" =>
        "reads it (the cap on a fleet's answers is 64 MiB, `--max-body`), keeping only the fields it reads, then sees the fleet done", logs ["50000 left", "Complete (0 left)"], exit 0,
        replies(vec![status(5, 100)]).with("install/3", vec![fleet(50_000), Reply::installs(&[])])
            // A debug build reads 22 MB in about 2 s on a busy machine: a deadline of its own.
            .arg("--timeout", "20s");
    numbers_as_strings_nulls_and_missing_fields:
        "numbers as strings, nulls, missing optional fields" =>
        "reads them as numbers or absent", logs ["Running, 10%", "completed (Complete, 100%)"], exit 0,
        replies(vec![
            Reply::json(json!({"jobstateid": "4", "jobprogress": "10", "jobeta": null, "jobstart": null})),
            Reply::json(json!({"jobstateid": "5", "jobprogress": "100", "jobfailed": "0", "jobstart": "1700000000",
                               "jobeta": "1700000600", "success": "true"})),
        ])
            .requests(2).result_has("state_id", json!(5)).result_has("progress", json!(100));
    progress_and_state_going_backwards:
        "progress and state going backwards" =>
        "logs each change and waits on; only a terminal state ends the wait", logs ["Running, 50%", "Queued, 0%", "Running, 20%", "completed"], exit 0,
        replies(vec![status(4, 50), status(3, 0), status(4, 20), status(5, 100)]);
    an_unknown_state:
        "an unknown state (`jobstateid` 9)" =>
        "warns once and waits on; the deadline bounds it", logs ["the API reports a job state this gate does not know (Verifying, jobstateid 9)", "completed"], exit 0,
        replies(vec![Reply::json(json!({"jobstateid": 9, "jobstatename": "Verifying"})), Reply::json(json!({"jobstateid": 9, "jobstatename": "Verifying"})), status(5, 100)])
            .requests(3).logged_once("does not know");
    an_eta_a_minute_past:
        "`jobeta` a minute in the past" =>
        "says the ETA has passed and waits on", logs ["Running, 90%, ETA passed 1m", "completed"], exit 0,
        replies(vec![Reply::json(json!({"jobstateid": 4, "jobprogress": 90, "jobeta": unix_now() - 60})), status(5, 100)]);
    an_eta_in_the_past:
        "`jobeta` 25 years in the past" =>
        "ignores the implausible ETA (the log shows none) and waits on", logs ["Running, 90%\n", "completed"], exit 0,
        replies(vec![Reply::json(json!({"jobstateid": 4, "jobprogress": 90, "jobeta": 1_000_000_000})), status(5, 100)]);
    a_server_clock_far_off:
        "a server clock ten years ahead" =>
        "ignores the implausible ETA; a `Retry-After` date counts from the server's `Date`", logs ["Running\n", "HTTP 503 Service Unavailable from the API; retrying in", "completed"], exit 0,
        replies(vec![
            Reply::json(json!({"jobstateid": 4, "jobeta": 2_100_000_000_i64, "jobupdated": 2_100_000_000_i64})),
            Reply::http(503, "")
                .with_header("Date", &at(TEN_YEARS))
                .with_header("Retry-After", &at(TEN_YEARS + Duration::from_secs(1))),
            status(5, 100),
        ]);
    an_eta_at_the_end_of_time:
        "`jobeta` at the end of time" =>
        "ignores the implausible ETA and polls on the backoff", logs ["Running, 10%\n", "completed"], exit 0,
        replies(vec![
            Reply::json(json!({"jobstateid": 4, "jobprogress": 10, "jobeta": i64::MAX})),
            Reply::json(json!({"jobstateid": 4, "jobprogress": 10, "jobeta": "99999999999999999999"})),
            status(5, 100),
        ]);
    retry_after_at_the_end_of_time:
        "429 with `Retry-After: 9999999999999999999`" =>
        "gives up at once, without overflowing the clock", logs ["(Retry-After), past the 2.0s deadline"], exit 3,
        replies(vec![Reply::http(429, "{}").with_header("Retry-After", "9999999999999999999")]);
    a_failure_flag_that_says_neither:
        "`jobfailed` that says neither (`\"maybe\"`) on a completed job" =>
        "never reads it as a success: retries it as a bad answer, then exits 4 naming the field and its value", logs ["jobfailed is \"maybe\"", "retrying in", "not read as a success"], exit 4,
        replies(vec![Reply::json(json!({"jobstateid": 5, "jobstatename": "Completed", "jobfailed": "maybe"}))]).requests(3).error_has("jobfailed is \"maybe\"");
    a_state_id_and_name_that_contradict:
        "a state ID and name that contradict (`5` and \"Failed\"), or a verdict field given twice" =>
        "never reads it as a success: exits 4 after three such answers", logs ["jobstateid and jobstatename is 5 and \"Failed\""], exit 4,
        replies(vec![
            Reply::json(json!({"jobstateid": 5, "jobstatename": "Failed"})),
            Reply::http(200, r#"{"jobstateid": 5, "jobfailed": 1, "jobfailed": 0}"#),
        ]).requests(3);
    an_answer_for_another_job:
        "an answer for another job (`updateid` 999999, state Completed)" =>
        "exits 4 at once, naming both jobs", logs ["the API answered for updateid 999999 when asked for image update 424242"], exit 4,
        replies(vec![Reply::json(json!({"jobstateid": 5, "jobstatename": "Completed", "updateid": 999_999}))]);
    a_job_frozen_at_running_40:
        "a job frozen at Running 40 %" =>
        "ends as stalled when `--stall-timeout` runs out, saying where and how long", logs ["image update 424242 has sat at Running, 40% for", "(--stall-timeout 300ms)"], exit 5,
        replies(vec![status(4, 40)]).arg("--stall-timeout", "300ms");
    a_queued_job_that_never_starts:
        "a queued job that never starts" =>
        "ends as stalled too: a queue that never moves is the common case", logs ["has sat at Queued, 0% for"], exit 5,
        replies(vec![status(3, 0)]).arg("--stall-timeout", "300ms");
    one_of_three_jobs_fails:
        "one of three jobs fails" =>
        "ends the gate at once (fail fast); the others are reported unfinished",
        logs ["diff/2: disk full", "update/424242 unfinished, diff/2 failed, version/3 unfinished"], exit 1,
        replies(vec![status(4, 10)])
            .with("diff/2", vec![status(4, 10), Reply::json(json!({"jobstateid": 6, "jobfailed": 1, "joberror": "disk full"}))])
            .with("version/3", vec![status(3, 0)]);
    an_api_error_and_a_failure_without_fail_fast:
        "an API error on one job and a failure on another, with `--no-fail-fast`" =>
        "waits on every job, then exits with the worst (the API error)",
        logs ["update/424242 success, diff/2 failed, version/3 error", "; version/3: the API reported an error: no such version"], exit 4,
        replies(vec![status(4, 10), status(5, 100)])
            .with("diff/2", vec![Reply::json(json!({"jobstateid": 6, "jobfailed": 1}))])
            .with("version/3", vec![Reply::json(json!({"success": false, "error_message": "no such version"}))])
            .arg("--no-fail-fast", "");
    a_429_on_one_of_two_jobs:
        "429 with `Retry-After: 1` on one of two jobs" =>
        "holds back every job for the second asked (the limit is the account's), then both complete",
        logs ["update/424242: HTTP 429 Too Many Requests from the API; retrying in 1.0s", "diff/2 success"], exit 0,
        replies(vec![Reply::http(429, "{}").with_header("Retry-After", "1"), status(5, 100)])
            .with("diff/2", vec![status(4, 10), status(5, 100)]);
    an_error_body:
        "`success: false` with an `error_message`" =>
        "exits 4 at once with the API's message", logs ["the API reported an error (error_code 1): image locked by diffid: 218595"], exit 4,
        replies(vec![Reply::json(json!({"success": false, "error": true, "error_code": 1, "error_message": "image locked by diffid: 218595"}))])
            .requests(1).error_has("the API reported an error (error_code 1): image locked by diffid: 218595");
    unauthorized:
        "401 Unauthorized" =>
        "exits 4 at once: check the keys and the ASID", logs ["(HTTP 401: Unauthorized): check --access-key, --secret-key and --asid"], exit 4,
        replies(vec![Reply::error(401, 401, "Unauthorized")]).requests(1);
    forbidden:
        "403 Forbidden" =>
        "exits 4 at once: check the keys and the ASID", logs ["(HTTP 403: Forbidden): check --access-key, --secret-key and --asid"], exit 4,
        replies(vec![Reply::error(403, 403, "Forbidden")]).requests(1);
    not_found:
        "404 Not Found" =>
        "exits 4 at once: check the job's ID and the ASID", logs ["no image update 424242", "(HTTP 404: not found): check the job's ID and --asid"], exit 4,
        replies(vec![Reply::error(404, 404, "not found")]).requests(1);
    a_failed_job:
        "the job fails (`jobfailed`, state Failed or Squashed)" =>
        "exits 1 with the job's error", logs ["failed (state Failed, jobfailed set)", "disk full"], exit 1,
        replies(vec![status(4, 30), Reply::json(json!({"jobstateid": 6, "jobfailed": 1, "joberror": "disk full"}))])
            .error_has("disk full").result_has("job_failed", json!(true));
    deploy_a_create_lost_after_the_job_was_made:
        "`deploy`: a create's answer lost after the job was made (connection reset)" =>
        "sends no second create: reads `image/options`, adopts the update made after its request, deploys on",
        logs ["image/options names image update 5001", "every step completed"], exit 0,
        deploy_on(quick_image().fault(JobKind::ImageUpdate, CreateFault::LostAfter));
    deploy_a_create_lost_before_anything_was_made:
        "`deploy`: a create lost before anything was made" =>
        "sends no second create; exits 4: nothing locks the image, so most likely nothing was made (check before re-running)",
        logs ["nothing locks the image now, so most likely no image diff was made"], exit 4,
        deploy_on(quick_image().fault(JobKind::ImageDiff, CreateFault::LostBefore));
    deploy_a_5xx_on_a_create:
        "`deploy`: a 502 on a create (the job was made)" =>
        "sends no second create: adopts the diff made after its request, deploys on",
        logs ["image/options names image diff 5002", "every step completed"], exit 0,
        deploy_on(quick_image().fault(JobKind::ImageDiff, CreateFault::ServerError));
    deploy_a_create_redirected:
        "`deploy`: a create answered with a redirect (the job was made)" =>
        "does not follow it (that would send the create again): adopts the update made after its request, deploys on",
        logs ["the create's answer was lost; image/options names image update 5001", "every step completed"], exit 0,
        deploy_on(quick_image().fault(JobKind::ImageUpdate, CreateFault::Redirected));
    deploy_a_lost_version_create:
        "`deploy`: a version create's answer lost" =>
        "sends no second create; exits 4: the diff no longer locks the image, so a version was most likely made; says where to look",
        logs ["no longer locks the image, so a version was most likely made"], exit 4,
        deploy_on(quick_image().fault(JobKind::ImageVersion, CreateFault::LostAfter));
    deploy_a_lock_held_by_an_older_diff:
        "`deploy`: a lock held by an older diff" =>
        "creates nothing; exits 4 naming the diff (`locked_by`) and the `--if-locked` choices",
        logs ["image 1234 is locked by image diff 218595"], exit 4,
        deploy_on(quick_image().locked_by(218_595));
    deploy_a_diff_with_no_changes:
        "`deploy`: a diff with no changes" =>
        "stops before the version: exits 1 saying the diff still locks the image and `--full` packages it",
        logs ["image diff 5002 found no changes"], exit 1,
        deploy_on(Image { empty_diff: true, ..quick_image() });
}

#[test]
fn the_books_reliability_table_is_this_suite() {
    let mut table = String::from("| fault | what the gate does | exit |\n|---|---|---|\n");
    for (fault, does, exit) in TABLE {
        table.push_str(&format!("| {fault} | {does} | {exit} |\n"));
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/src/reliability.md"))
            .unwrap();
    let start = readme.find("<!-- faults:start -->\n").expect("the table's marker") + 22;
    let end = readme.find("<!-- faults:end -->").expect("the table's marker");
    assert_eq!(
        &readme[start..end],
        table,
        "update the book's Reliability table (docs/src/reliability.md) from tests/faults/main.rs"
    );
}
