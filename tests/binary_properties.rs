//! Property tests of the binary as a CI runs it: it never panics nor overruns its deadline,
//! and no server text reaches any destination as a hidden character or as a CI's command.

mod common;

use clanforge_sim::Reply;
use common::strategies::*;
use common::{Gate, serve};
use proptest::prelude::*;
use serde_json::json;
use std::time::Duration;

/// A duration as a user might write it: in range, zero, or far past any limit.
fn cli_duration() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u64..400).prop_map(|ms| format!("{ms}ms")),
        (0u64..=u64::MAX, prop::sample::select(vec!["ns", "ms", "s", "m", "h", "d", "y"]))
            .prop_map(|(n, unit)| format!("{n}{unit}")),
    ]
}

proptest! {
    // Each case runs the binary against a simulator for up to its deadline (under 1 s).
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// End to end: arbitrary server values and arbitrary CLI durations never make the binary
    /// panic, always end with a documented code and a result, and never overrun the deadline by
    /// more than 1 s.
    #[test]
    fn the_gate_never_panics_nor_overruns_its_deadline(
        answers in prop::collection::vec(poll(), 1..6),
        timeout_ms in 50u64..800,
        interval in cli_duration(),
        max_interval in cli_duration(),
        request_timeout in cli_duration(),
    ) {
        let replies = answers.into_iter().map(|answer| match answer {
            Poll::Status { eta, start, progress, .. } => Reply::json(json!({
                "jobstateid": 4, "jobeta": eta, "jobstart": start, "jobprogress": progress})),
            Poll::Transient(header) => {
                Reply::http(429, "{}").with_header("Retry-After", header.trim())
            }
        }).collect();
        let server = serve(replies);
        let run = Gate::against(&server)
            .arg("--timeout", &format!("{timeout_ms}ms"))
            .arg("--interval", &interval)
            .arg("--max-interval", &max_interval)
            .arg("--request-timeout", &request_timeout)
            .run();
        prop_assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        prop_assert!([2, 3, 4].contains(&run.code), "exit {}: {}", run.code, run.stderr);
        let result = run.result();
        prop_assert!(result["result"].is_string());
        prop_assert!(
            run.elapsed <= Duration::from_millis(timeout_ms) + Duration::from_secs(1),
            "{:?} for a {timeout_ms} ms deadline", run.elapsed
        );
    }
}

/// Text a hostile server might send: any character, with the dangerous ones often.
fn hostile_chars() -> impl Strategy<Value = String> {
    let dangerous = prop::sample::select(vec![
        '\u{1b}',
        '\u{7}',
        '\u{8}',
        '\u{0}',
        '\r',
        '\n',
        '\u{7f}',
        '\u{85}',
        '\u{9b}',
        '\u{202e}',
        '\u{2066}',
        '\u{200b}',
        '\u{feff}',
        '\u{e0041}',
        ':',
        '#',
        '[',
        '%',
        '=',
        '<',
    ]);
    prop::collection::vec(prop_oneof![any::<char>(), dangerous], 0..40)
        .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    // Each case runs the binary once (well under a second).
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Issue 19: whatever text the server sends as a job's error and state name, no control,
    /// bidi or invisible format character reaches any destination: the log, GitHub's
    /// annotation, output file and step summary, the dotenv file, `--json` and the result file.
    #[test]
    fn no_hidden_character_reaches_any_destination(text in hostile_chars()) {
        let server = serve(vec![Reply::json(json!({
            "jobstateid": 6, "jobfailed": 1, "joberror": text, "jobstatename": text,
        }))]);
        let run = Gate::against(&server).every_output().run();
        prop_assert_eq!(run.code, 1, "{}", run.stderr);
        let all = run.all_output();
        let shown: Vec<char> = all
            .chars()
            .filter(|&c| c != '\n' && clanforge_wait::testing::hidden(c))
            .collect();
        prop_assert!(shown.is_empty(), "{:?} reached an output:\n{}", shown, all);
    }
}

/// A line of the gate's own that a CI acts on: the commands each reporter writes, at the start of
/// their line, with nothing in them that opens another.
fn ours(line: &str) -> bool {
    const TEAMCITY: [&str; 7] = [
        "blockOpened",
        "blockClosed",
        "progressMessage",
        "buildProblem",
        "buildStatus",
        "setParameter",
        "buildStatisticValue",
    ];
    const AZURE: [&str; 4] =
        ["task.setsecret]", "task.setprogress ", "task.logissue ", "task.setvariable "];
    const GITHUB: [&str; 6] =
        ["add-mask::", "group::", "endgroup::", "stop-commands::", "error ", "warning "];
    let tail_is_clean = |rest: &str| !rest.contains("##");
    if let Some(rest) = line.strip_prefix("##teamcity[") {
        TEAMCITY.iter().any(|name| rest.starts_with(&format!("{name} "))) && tail_is_clean(rest)
    } else if let Some(rest) = line.strip_prefix("##vso[") {
        AZURE.iter().any(|name| rest.starts_with(name)) && tail_is_clean(rest)
    } else if let Some(rest) = line.strip_prefix("##[") {
        rest.starts_with("group]clanforge-wait") || rest == "endgroup]"
    } else if let Some(rest) = line.strip_prefix("::") {
        // The token that turns commands back on is a random hex string of ours.
        let token = rest
            .strip_prefix("clanforge-wait-")
            .and_then(|t| t.strip_suffix("::"))
            .is_some_and(|t| t.len() == 32 && t.chars().all(|c| c.is_ascii_hexdigit()));
        (GITHUB.iter().any(|name| rest.starts_with(name)) || token) && tail_is_clean(rest)
    } else {
        line.starts_with("--- clanforge-wait") || line == "^^^ +++"
    }
}

proptest! {
    // Each case runs the binary once, with every CI's reporter on.
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Issue 20: whatever text the server sends, under every CI at once (and so under each),
    /// in both log formats, every line a CI would act on is one of the gate's own commands.
    #[test]
    fn no_server_text_forms_a_command_on_any_ci_end_to_end(
        error in hostile_text(), state in hostile_text(), refusal in hostile_text(), json in any::<bool>()
    ) {
        let server = serve(vec![
            Reply::json(json!({"jobstateid": 4, "jobstatename": state, "jobprogress": 10})),
            Reply::error(503, 1, &refusal),
            Reply::json(json!({
                "jobstateid": 6, "jobfailed": 1, "joberror": error, "jobstatename": state,
            })),
        ]);
        let gate = Gate::against(&server).every_output();
        let (junit, summary) = (gate.path("junit.xml"), gate.path("summary.md"));
        let run = gate
            .arg("--junit", &junit)
            .arg("--summary", &summary)
            .arg("--log-format", if json { "json" } else { "text" })
            .env("TEAMCITY_VERSION", "2025.11")
            .env("TF_BUILD", "True")
            .env("BUILDKITE", "true")
            .env("GITLAB_CI", "true")
            .run();
        prop_assert_eq!(run.code, 1, "{}", run.stderr);
        for line in run.stdout.lines().chain(run.stderr.lines()) {
            if let Some(ci) = acted_on_by(line) {
                prop_assert!(ours(line), "{} would act on {:?}", ci, line);
            }
        }
        for file in ["junit.xml", "summary.md", "ci.env", "step_summary"] {
            // A file is no CI's log, but it may be printed into one (`cat result.env`).
            for line in run.file(file).lines() {
                prop_assert!(
                    acted_on_by(line).is_none(),
                    "{}: {:?}", file, line
                );
            }
        }
    }
}
