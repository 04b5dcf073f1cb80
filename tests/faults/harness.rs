//! The fault suite's harness: a row's scenario, the run of the binary against it, and every
//! check a row gets (exit code, log, outputs in agreement, deadline, memory, trace, no key).

use crate::common::*;
use clanforge_sim::{Image, Reply, Script, Sim, SimServer};
use std::time::Duration;

/// What a fault test sets up: the API's replies, in order (the last repeats), and flags.
pub(crate) struct Scenario {
    pub replies: Vec<Reply>,
    pub args: Vec<(&'static str, &'static str)>,
    /// More jobs in the same gate (`KIND/ID`), with their replies.
    pub others: Vec<(&'static str, Vec<Reply>)>,
    /// No server at all: connections are refused.
    pub refused: bool,
    /// No server, and this base URL (a name that does not resolve).
    pub url: Option<&'static str>,
    /// A `deploy` on this simulated image instead of a wait on the update.
    pub deploy: Option<Image>,
    /// The requests the server must see, when the row says how many (`polls` agrees).
    pub requests: Option<usize>,
    /// A text the `error` key must hold.
    pub error_has: Option<&'static str>,
    /// The gate must end before the deadline (it gives up at once, not when time runs out).
    pub before_deadline: bool,
    /// Values the result must hold (`key`, JSON).
    pub result_has: Vec<(&'static str, serde_json::Value)>,
    /// The least and most time between the first two requests (a `Retry-After` honoured).
    pub gap: Option<(Duration, Duration)>,
    /// A text the log must hold exactly once.
    pub logged_once: Option<&'static str>,
}

pub(crate) fn replies(replies: Vec<Reply>) -> Scenario {
    Scenario {
        replies,
        args: Vec::new(),
        others: Vec::new(),
        refused: false,
        url: None,
        deploy: None,
        requests: None,
        error_has: None,
        before_deadline: false,
        result_has: Vec::new(),
        gap: None,
        logged_once: None,
    }
}

/// `deploy --game-id 42 --image-id 1234 --machine-id 5678` on this image.
pub(crate) fn deploy_on(image: Image) -> Scenario {
    Scenario { deploy: Some(image), ..replies(Vec::new()) }
}

impl Scenario {
    pub(crate) fn arg(mut self, flag: &'static str, value: &'static str) -> Self {
        self.args.push((flag, value));
        self
    }

    pub(crate) fn with(mut self, job: &'static str, replies: Vec<Reply>) -> Self {
        self.others.push((job, replies));
        self
    }

    pub(crate) fn requests(mut self, n: usize) -> Self {
        self.requests = Some(n);
        self
    }

    pub(crate) fn error_has(mut self, text: &'static str) -> Self {
        self.error_has = Some(text);
        self
    }

    pub(crate) fn result_has(mut self, key: &'static str, value: serde_json::Value) -> Self {
        self.result_has.push((key, value));
        self
    }

    pub(crate) fn gap(mut self, least: Duration, most: Duration) -> Self {
        self.gap = Some((least, most));
        self
    }

    pub(crate) fn logged_once(mut self, text: &'static str) -> Self {
        self.logged_once = Some(text);
        self
    }

    pub(crate) fn before_deadline(mut self) -> Self {
        self.before_deadline = true;
        self
    }
}

/// Peak RSS allowed during any fault.
const MAX_RSS_KIB: u64 = 64 * 1024;
/// The deadline used by faults that end in a timeout.
const DEADLINE: Duration = Duration::from_secs(2);

/// The row's server (none when connections are refused) and the URL the gate is given.
fn serve_scenario(scenario: &Scenario) -> (Option<SimServer>, String) {
    if let Some(url) = scenario.url {
        (None, url.to_owned())
    } else if scenario.refused {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        (None, format!("http://127.0.0.1:{port}"))
    } else if let Some(image) = scenario.deploy.clone() {
        let server = Sim::new().credentials(ACCESS_KEY, SECRET_KEY).image(image).spawn().unwrap();
        let url = server.url();
        (Some(server), url)
    } else {
        let sim = Sim::new()
            .credentials(ACCESS_KEY, SECRET_KEY)
            .job(UPDATE_ID, Script::Replies(scenario.replies.clone()));
        let sim = scenario.others.iter().fold(sim, |sim, (job, replies)| {
            sim.serve_job(job.parse().unwrap(), Script::Replies(replies.clone()))
        });
        let server = sim.spawn().unwrap();
        let url = server.url();
        (Some(server), url)
    }
}

pub(crate) fn check(name: &str, logs: &[&str], exit: i32, scenario: Scenario) {
    let (server, url) = serve_scenario(&scenario);
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
    let run = with_row_flags(gate, &scenario).run();
    check_trace(name, &run.file("trace.log"), server.as_ref().map(|s| s.requests().len()));
    if let (Some(server), Some(n)) = (&server, scenario.requests) {
        assert_eq!(server.requests().len(), n, "{name}: requests");
        assert_eq!(run.result()["polls"], n, "{name}: polls");
    }
    if let Some(text) = scenario.error_has {
        let error = run.result()["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.contains(text), "{name}: the error {error:?} lacks {text:?}");
    }
    for (key, value) in &scenario.result_has {
        assert_eq!(&run.result()[*key], value, "{name}: the result's {key}");
    }
    if let (Some(server), Some((least, most))) = (&server, scenario.gap) {
        let requests = server.requests();
        let gap = requests[1].at - requests[0].at;
        assert!(least <= gap && gap < most, "{name}: {gap:?} between the first two requests");
    }
    if let Some(text) = scenario.logged_once {
        run.assert_logged_once(text);
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
        assert_eq!(changes.len(), sent, "{name}: a state-changing request went twice");
    }
    drop(server);
    assert_outcome(name, logs, exit, &run, &scenario_timeout);
}

/// The row's own flags, and its other jobs.
fn with_row_flags(mut gate: Gate, scenario: &Scenario) -> Gate {
    for (flag, value) in &scenario.args {
        // An empty value: a flag that takes none.
        gate = match *value {
            "" => gate.flag(flag),
            value => gate.arg(flag, value),
        };
    }
    for (job, _) in &scenario.others {
        gate = gate.flag(job);
    }
    gate
}

/// The exit code, the log, every output in agreement, the deadline, memory, no key shown.
fn assert_outcome(name: &str, logs: &[&str], exit: i32, run: &Run, timeout: &Option<String>) {
    assert_eq!(run.code, exit, "{name}: exit code; stderr:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
    // What the table says the gate does, the log shows.
    for line in logs {
        assert!(run.stderr.contains(line), "{name}: {line:?} is not in the log:\n{}", run.stderr);
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
    assert!(run.file("ci.env").starts_with(&format!("CLANFORGE_RESULT={word}\n")), "{name}");
    assert!(run.file("step_summary").contains(&format!("| {word} |")), "{name}");
    // The deadline holds: the suite's, or the row's own.
    let deadline = deadline_of(timeout);
    assert!(run.elapsed <= deadline + Duration::from_secs(1), "{name}: took {:?}", run.elapsed);
    // Memory stays bounded.
    if let Some(kib) = run.peak_rss_kib {
        assert!(kib < MAX_RSS_KIB, "{name}: peak RSS {kib} KiB");
    }
    // No key anywhere but in the runner's own mask commands (the trace among the outputs).
    assert_never_shown(name, &run.all_output(), SECRETS, GITHUB_MASK);
    assert_outputs_as_before(name, exit, run);
    println!(
        "fault: {name:<50} exit {exit}  elapsed {:>5} ms  peak RSS {} KiB",
        run.elapsed.as_millis(),
        run.peak_rss_kib.map_or("?".into(), |k| k.to_string())
    );
}

/// The deadline a row runs under: its own `--timeout`, or the suite's.
fn deadline_of(timeout: &Option<String>) -> Duration {
    timeout.as_deref().map_or(DEADLINE, |t| humantime::parse_duration(t).unwrap())
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
    let hops = trace.lines().filter(|l| l.ends_with("(a redirect followed)")).count();
    match served {
        Some(n) => assert_eq!(heads, n, "{name}: a trace line per request:\n{trace}"),
        None => assert!(heads >= 1, "{name}: no request traced:\n{trace}"),
    }
    let ends = trace
        .lines()
        .filter(|l| {
            ["trace   HTTP ", "trace   no answer after ", "trace   cut off after "]
                .iter()
                .any(|start| l.starts_with(start))
        })
        .count();
    assert_eq!(ends, heads - hops, "{name}: each request ends once in the trace:\n{trace}");
    for line in trace.lines() {
        assert!(line.starts_with("trace "), "{name}: a stray line {line:?}");
        assert!(!line.chars().any(char::is_control), "{name}: {line:?}");
    }
}

/// What a row's outputs say, with what varies from run to run masked (times, ports, counts of
/// requests a deadline cuts): the exit code, the result file, the dotenv file and the log's
/// final line. Kept in `tests/golden/faults/`, so a change of house can't change what a pipeline
/// reads on any row unnoticed. Rewrite with `UPDATE_GOLDEN=1` after a deliberate change.
fn assert_outputs_as_before(name: &str, exit: i32, run: &Run) {
    let last_line = run.stderr.lines().last().unwrap_or_default();
    let text = format!(
        "exit {exit}\n--- result\n{}\n--- ci.env\n{}--- last line\n{last_line}\n",
        serde_json::to_string_pretty(&run.result()).unwrap(),
        run.file("ci.env"),
    );
    let text = masked(&text);
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let slug = &slug[..slug.len().min(100)];
    let golden = format!("{}/tests/golden/faults/{slug}.txt", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(std::path::Path::new(&golden).parent().unwrap()).unwrap();
        std::fs::write(&golden, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    assert_eq!(text, expected, "{name}: the outputs changed (UPDATE_GOLDEN=1 after review)");
}

/// `text` with what varies between runs masked: durations, ports, the seconds and requests a
/// deadline or a retry's timing decides.
fn masked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() {
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
            let (number, after) = rest.split_at(end);
            let unit = ["ms", "s ", "s)", "s;", "s,", "s\n", "s\"", "m ", "h "]
                .iter()
                .find(|u| after.starts_with(**u));
            let counted = [" request", " poll", " tries"].iter().any(|w| after.starts_with(w));
            let port = out.ends_with("127.0.0.1:") || out.ends_with("localhost:");
            let key = [
                "\"elapsed_seconds\": ",
                "\"polls\": ",
                "\"elapsed_seconds\":",
                "\"polls\":",
                "_SECONDS=",
                "_POLLS=",
            ]
            .iter()
            .any(|k| out.ends_with(k));
            // A Unix time (a create's intent is stamped with it).
            let time = number.len() >= 10;
            if unit.is_some() || counted || port || key || time {
                out.push('#');
            } else {
                out.push_str(number);
            }
            rest = after;
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}
