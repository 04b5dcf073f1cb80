//! The fault-injection suite: one test per fault the simulated API can throw at the gate.
//! Each checks the documented exit code, that every output is written and agrees with it,
//! that the deadline holds to within 1 s, that memory stays bounded, that nothing panics and
//! that no key reaches any output. The README's Reliability table is this suite's table.
//!
//! `cargo test --test faults -- --nocapture` prints the figures for each fault.

mod common;

use clanforge_wait::job::unix_now;
use clanforge_wait::kind::JobKind;
use clanforge_wait::sim::{CreateFault, Image, Reply, Script, Sim};
use common::*;
use serde_json::json;
use std::time::{Duration, SystemTime};

/// What a fault test sets up: the API's replies, in order (the last repeats), and flags.
struct Scenario {
    replies: Vec<Reply>,
    args: Vec<(&'static str, &'static str)>,
    /// More jobs in the same gate (`KIND/ID`), with their replies.
    others: Vec<(&'static str, Vec<Reply>)>,
    /// No server at all: connections are refused.
    refused: bool,
    /// A `deploy` on this simulated image instead of a wait on the update.
    deploy: Option<Image>,
    /// The requests the server must see, when the row says how many (`polls` agrees).
    requests: Option<usize>,
    /// A text the `error` key must hold.
    error_has: Option<&'static str>,
    /// The gate must end before the deadline (it gives up at once, not when time runs out).
    before_deadline: bool,
}

fn replies(replies: Vec<Reply>) -> Scenario {
    Scenario {
        replies,
        args: Vec::new(),
        others: Vec::new(),
        refused: false,
        deploy: None,
        requests: None,
        error_has: None,
        before_deadline: false,
    }
}

/// `deploy --game-id 42 --image-id 1234 --machine-id 5678` on this image.
fn deploy(image: Image) -> Scenario {
    Scenario {
        deploy: Some(image),
        ..replies(Vec::new())
    }
}

fn quick_image() -> Image {
    Image::quick(42, 1234)
}

impl Scenario {
    fn arg(mut self, flag: &'static str, value: &'static str) -> Self {
        self.args.push((flag, value));
        self
    }

    fn with(mut self, job: &'static str, replies: Vec<Reply>) -> Self {
        self.others.push((job, replies));
        self
    }

    fn requests(mut self, n: usize) -> Self {
        self.requests = Some(n);
        self
    }

    fn error_has(mut self, text: &'static str) -> Self {
        self.error_has = Some(text);
        self
    }

    fn before_deadline(mut self) -> Self {
        self.before_deadline = true;
        self
    }
}

/// Peak RSS allowed during any fault.
const MAX_RSS_KIB: u64 = 64 * 1024;
/// The deadline used by faults that end in a timeout.
const DEADLINE: Duration = Duration::from_secs(2);

fn check(name: &str, logs: &[&str], exit: i32, scenario: Scenario) {
    let (server, url) = if scenario.refused {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        (None, format!("http://127.0.0.1:{port}"))
    } else if let Some(image) = scenario.deploy.clone() {
        let server = Sim::new()
            .credentials(ACCESS_KEY, SECRET_KEY)
            .image(image)
            .spawn()
            .unwrap();
        let url = server.url();
        (Some(server), url)
    } else {
        let sim = Sim::new()
            .credentials(ACCESS_KEY, SECRET_KEY)
            .job(UPDATE_ID, Script::Replies(scenario.replies));
        let sim = scenario.others.iter().fold(sim, |sim, (job, replies)| {
            sim.serve_job(job.parse().unwrap(), Script::Replies(replies.clone()))
        });
        let server = sim.spawn().unwrap();
        let url = server.url();
        (Some(server), url)
    };
    let mut gate = Gate::new(&url).every_output().arg("--timeout", "2s");
    // Every fault is traced, and the trace is checked like any output.
    let trace = gate.path("trace.log");
    gate = gate.flag(&format!("--trace-http={trace}"));
    if scenario.deploy.is_some() {
        gate = gate
            .env("CLANFORGE_UPDATE_URL", UPDATE_URL)
            .without("--update-id")
            .flag("deploy")
            .arg("--game-id", "42")
            .arg("--image-id", "1234")
            .arg("--machine-id", "5678");
    }
    let scenario_timeout = scenario
        .args
        .iter()
        .find(|(flag, _)| *flag == "--timeout")
        .map(|(_, value)| (*value).to_owned());
    for (flag, value) in scenario.args {
        // An empty value: a flag that takes none.
        gate = match value {
            "" => gate.flag(flag),
            value => gate.arg(flag, value),
        };
    }
    for (job, _) in &scenario.others {
        gate = gate.flag(job);
    }
    let run = gate.run();
    check_trace(
        name,
        &run.file("trace.log"),
        server.as_ref().map(|s| s.requests().len()),
    );
    if let (Some(server), Some(n)) = (&server, scenario.requests) {
        assert_eq!(server.requests().len(), n, "{name}: requests");
        assert_eq!(run.result()["polls"], n, "{name}: polls");
    }
    if let Some(text) = scenario.error_has {
        let error = run.result()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            error.contains(text),
            "{name}: the error {error:?} lacks {text:?}"
        );
    }
    if scenario.before_deadline {
        assert!(run.elapsed < DEADLINE, "{name}: took {:?}", run.elapsed);
    }
    // A create or a reject goes out at most once, whatever the fault.
    if let Some(server) = &server {
        let mut changes: Vec<String> = server
            .requests()
            .into_iter()
            .map(|r| r.path)
            .filter(|p| p.ends_with("/create") || p.ends_with("/reject"))
            .collect();
        let sent = changes.len();
        changes.dedup();
        assert_eq!(
            changes.len(),
            sent,
            "{name}: a state-changing request went twice"
        );
    }
    drop(server);

    assert_eq!(run.code, exit, "{name}: exit code; stderr:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
    // What the table says the gate does, the log shows.
    for line in logs {
        assert!(
            run.stderr.contains(line),
            "{name}: {line:?} is not in the log:\n{}",
            run.stderr
        );
    }
    // Every output, written and in agreement.
    let result = run.result();
    let word = result["result"].as_str().unwrap().to_owned();
    let expected_word = match exit {
        0 => "success",
        1 => "failed",
        3 => "timeout",
        5 => "stalled",
        _ => "error",
    };
    assert_eq!(word, expected_word, "{name}");
    let printed: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(printed, result, "{name}: --json and --result-file differ");
    // The runner keeps a key's last value: a deploy writes each new ID the moment it is known
    // (`result=running`), then the final values.
    let outputs = read_github_output(&run.file("github_output"));
    let last = outputs.iter().rev().find(|(key, _)| key == "result");
    assert_eq!(last.map(|(_, v)| v.as_str()), Some(word.as_str()), "{name}");
    assert!(
        run.file("ci.env")
            .starts_with(&format!("CLANFORGE_RESULT={word}\n")),
        "{name}"
    );
    assert!(
        run.file("step_summary").contains(&format!("| {word} |")),
        "{name}"
    );
    // The deadline holds: the suite's, or the row's own.
    let deadline = deadline_of(&scenario_timeout);
    assert!(
        run.elapsed <= deadline + Duration::from_secs(1),
        "{name}: took {:?}",
        run.elapsed
    );
    // Memory stays bounded.
    if let Some(kib) = run.peak_rss_kib {
        assert!(kib < MAX_RSS_KIB, "{name}: peak RSS {kib} KiB");
    }
    // No key anywhere but in the runner's own mask commands (the trace among the outputs).
    assert_never_shown(name, &run.all_output(), SECRETS, GITHUB_MASK);
    println!(
        "fault: {name:<50} exit {exit}  elapsed {:>5} ms  peak RSS {} KiB",
        run.elapsed.as_millis(),
        run.peak_rss_kib.map_or("?".into(), |k| k.to_string())
    );
}

/// The deadline a row runs under: its own `--timeout`, or the suite's.
fn deadline_of(timeout: &Option<String>) -> Duration {
    timeout
        .as_deref()
        .map_or(DEADLINE, |t| humantime::parse_duration(t).unwrap())
}

/// The deploys' build source: storage credentials, raw and encoded, that must never show.
const UPDATE_URL: &str = "s3://AKIAFAULTSOURCE:fault%2Fsource+secret@fault-bucket/build/";

/// Everything secret in a fault run: the keys, the Basic header's value, the URL's parts.
const SECRETS: &[&str] = &[
    ACCESS_KEY,
    SECRET_KEY,
    BASIC,
    "AKIAFAULTSOURCE",
    "fault%2Fsource",
    "fault/source",
    "source+secret",
    "fault-bucket/build",
];

/// The trace of a fault run: a head line for each request the server saw (at least one when
/// none could), each followed by how it ended, every line the trace's own, on one line.
fn check_trace(name: &str, trace: &str, served: Option<usize>) {
    let heads = trace.lines().filter(|l| l.contains(" GET /cfp/")).count();
    // A redirect followed is a request of its own, traced when it goes out; its answer is the
    // one its first request ends with.
    let hops = trace
        .lines()
        .filter(|l| l.ends_with("(a redirect followed)"))
        .count();
    match served {
        Some(n) => assert_eq!(heads, n, "{name}: a trace line per request:\n{trace}"),
        None => assert!(heads >= 1, "{name}: no request traced:\n{trace}"),
    }
    let ends = trace
        .lines()
        .filter(|l| {
            [
                "trace   HTTP ",
                "trace   no answer after ",
                "trace   cut off after ",
            ]
            .iter()
            .any(|start| l.starts_with(start))
        })
        .count();
    assert_eq!(
        ends,
        heads - hops,
        "{name}: each request ends once in the trace:\n{trace}"
    );
    for line in trace.lines() {
        assert!(line.starts_with("trace "), "{name}: a stray line {line:?}");
        assert!(!line.chars().any(char::is_control), "{name}: {line:?}");
    }
}

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
    Reply::http(
        503,
        "<html><body><h1>503 Service Unavailable</h1></body></html>",
    )
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
    Reply::http(
        200,
        serde_json::to_vec(&json!({"success": true, "installs": installs})).unwrap(),
    )
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
        replies(vec![Reply::http(429, "{}").with_header("Retry-After", "1"), status(5, 100)]);
    too_many_requests_with_retry_after_date:
        "429 with `Retry-After` as an HTTP-date" =>
        "waits until that date by the server's own clock, then polls again", logs ["HTTP 429 Too Many Requests from the API; retrying in", "completed"], exit 0,
        replies(vec![Reply::http(429, "{}").with_header("Retry-After", &at(Duration::from_secs(1))), status(5, 100)]);
    retry_after_past_the_deadline:
        "`Retry-After` that ends after the deadline" =>
        "gives up at once rather than idle until the deadline", logs ["the API asked for a 1h pause (Retry-After), past the 2.0s deadline"], exit 3,
        replies(vec![Reply::http(503, "").with_header("Retry-After", "3600")]).requests(1).before_deadline();
    connection_refused:
        "connection refused (nothing listening)" =>
        "warns and retries until the deadline", logs ["could not connect to 127.0.0.1:", "retrying in", "the 2.0s deadline (--timeout) passed"], exit 3,
        Scenario { refused: true, ..replies(Vec::new()) }.error_has("could not connect");
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
        "reads them as numbers or absent", logs ["Running, 10%", "completed (Completed)"], exit 0,
        replies(vec![
            Reply::json(json!({"jobstateid": "4", "jobprogress": "10", "jobeta": null, "jobstart": null})),
            Reply::json(json!({"jobstatename": "Completed"})),
        ]);
    progress_and_state_going_backwards:
        "progress and state going backwards" =>
        "logs each change and waits on; only a terminal state ends the wait", logs ["Running, 50%", "Queued, 0%", "Running, 20%", "completed"], exit 0,
        replies(vec![status(4, 50), status(3, 0), status(4, 20), status(5, 100)]);
    an_unknown_state:
        "an unknown state (`jobstateid` 9)" =>
        "warns once and waits on; the deadline bounds it", logs ["the API reports a job state this gate does not know (unknown state, jobstateid 9)", "completed"], exit 0,
        replies(vec![Reply::json(json!({"jobstateid": 9})), Reply::json(json!({"jobstateid": 9})), status(5, 100)]);
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
        logs ["image diff 2 failed", "update/424242 unfinished, diff/2 failed, version/3 unfinished"], exit 1,
        replies(vec![status(4, 10)])
            .with("diff/2", vec![status(4, 10), Reply::json(json!({"jobstateid": 6, "jobfailed": 1, "joberror": "disk full"}))])
            .with("version/3", vec![status(3, 0)]);
    an_api_error_and_a_failure_without_fail_fast:
        "an API error on one job and a failure on another, with `--no-fail-fast`" =>
        "waits on every job, then exits with the worst (the API error)",
        logs ["update/424242 success, diff/2 failed, version/3 error", "image version 3: the API reported an error: no such version"], exit 4,
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
        replies(vec![Reply::error(401, 401, "Unauthorized")]);
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
        replies(vec![status(4, 30), Reply::json(json!({"jobstateid": 6, "jobfailed": 1, "joberror": "disk full"}))]);
    deploy_a_create_lost_after_the_job_was_made:
        "`deploy`: a create's answer lost after the job was made (connection reset)" =>
        "sends no second create: reads `image/options`, adopts the update made after its request, deploys on",
        logs ["image/options names image update 5001", "every step completed"], exit 0,
        deploy(quick_image().fault(JobKind::ImageUpdate, CreateFault::LostAfter));
    deploy_a_create_lost_before_anything_was_made:
        "`deploy`: a create lost before anything was made" =>
        "sends no second create; exits 4: nothing locks the image, so most likely nothing was made (check before re-running)",
        logs ["nothing locks the image now, so most likely no image diff was made"], exit 4,
        deploy(quick_image().fault(JobKind::ImageDiff, CreateFault::LostBefore));
    deploy_a_5xx_on_a_create:
        "`deploy`: a 502 on a create (the job was made)" =>
        "sends no second create: adopts the diff made after its request, deploys on",
        logs ["image/options names image diff 5002", "every step completed"], exit 0,
        deploy(quick_image().fault(JobKind::ImageDiff, CreateFault::ServerError));
    deploy_a_create_redirected:
        "`deploy`: a create answered with a redirect (the job was made)" =>
        "does not follow it (that would send the create again): adopts the update made after its request, deploys on",
        logs ["the create's answer was lost; image/options names image update 5001", "every step completed"], exit 0,
        deploy(quick_image().fault(JobKind::ImageUpdate, CreateFault::Redirected));
    deploy_a_lost_version_create:
        "`deploy`: a version create's answer lost" =>
        "sends no second create; exits 4: the diff no longer locks the image, so a version was most likely made; says where to look",
        logs ["no longer locks the image, so a version was most likely made"], exit 4,
        deploy(quick_image().fault(JobKind::ImageVersion, CreateFault::LostAfter));
    deploy_a_lock_held_by_an_older_diff:
        "`deploy`: a lock held by an older diff" =>
        "creates nothing; exits 4 naming the diff (`locked_by`) and the `--if-locked` choices",
        logs ["image 1234 is locked by image diff 218595"], exit 4,
        deploy(quick_image().locked_by(218_595));
    deploy_a_diff_with_no_changes:
        "`deploy`: a diff with no changes" =>
        "stops before the version: exits 1 saying the diff still locks the image and `--full` packages it",
        logs ["image diff 5002 found no changes"], exit 1,
        deploy(Image { empty_diff: true, ..quick_image() });
}

#[test]
fn the_readme_reliability_table_is_this_suite() {
    let mut table = String::from("| fault | what the gate does | exit |\n|---|---|---|\n");
    for (fault, does, exit) in TABLE {
        table.push_str(&format!("| {fault} | {does} | {exit} |\n"));
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("<!-- faults:start -->\n")
        .expect("README marker")
        + 22;
    let end = readme.find("<!-- faults:end -->").expect("README marker");
    assert_eq!(
        &readme[start..end],
        table,
        "update the README's Reliability table from tests/faults.rs"
    );
}
