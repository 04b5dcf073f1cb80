//! Property tests: the parser never panics, and the writers that face CI runners hold their
//! invariants for any input.

mod common;

use clanforge_wait::testing::{
    Answer, Level, MAX_BYTES, MAX_INTERVAL, MAX_TIMEOUT, Next, Observation, Policy, Schedule, Seen,
    annotation, dotenv, escape_data, later, log_of_a_failed_job, one_line, output_file,
    parse_answer, parse_retry_after, unix_now,
};
use common::read_github_output;
use common::strategies::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Any JSON value, biased towards objects with the status fields in them.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        ".*".prop_map(Value::String),
        "-?[0-9]{0,25}(\\.[0-9]{0,5})?".prop_map(Value::String),
    ];
    let field = prop_oneof![
        Just("jobstateid".to_owned()),
        Just("jobstatename".to_owned()),
        Just("jobprogress".to_owned()),
        Just("jobfailed".to_owned()),
        Just("joberror".to_owned()),
        Just("jobeta".to_owned()),
        Just("success".to_owned()),
        Just("error".to_owned()),
        Just("error_message".to_owned()),
        Just("error_code".to_owned()),
        ".{0,8}",
    ];
    leaf.prop_recursive(3, 32, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(field.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An output name as the runner takes it.
fn key() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_-]{0,20}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Issue 20: the one filter leaves no command for any CI in server text, wherever the text
    /// lands (at a line's start, or after the gate's words), and keeps it readable: only
    /// spaces are added.
    #[test]
    fn no_server_text_forms_a_command_for_any_ci(text in hostile_text()) {
        for shown in [one_line(&text), clanforge_wait::testing::escaped(&text)] {
            prop_assert!(!shown.contains("##"), "{shown:?}");
            for line in [shown.clone(), format!("ERROR update/1: {shown}")] {
                prop_assert_eq!(acted_on_by(&line), None, "{:?}", line);
            }
        }
        let plain = !text.chars().any(clanforge_wait::testing::hidden) && text.chars().count() < 250;
        if plain {
            let words = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            prop_assert_eq!(words(&one_line(&text)), words(&text));
        }
    }

    #[test]
    fn the_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_answer(&bytes, "updateid");
    }

    #[test]
    fn the_parser_never_panics_on_json(value in json_value()) {
        let _ = parse_answer(value.to_string().as_bytes(), "updateid");
    }

    #[test]
    fn github_output_reads_back_as_written(
        pairs in prop::collection::vec((key(), hostile_text()), 1..6)
    ) {
        let written = output_file(&pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect::<Vec<_>>());
        // The runner reads lines as .NET's ReadLine does: a lone CR is a line break too, so
        // line breaks come back as LF.
        let expected: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("\r\n", "\n").replace('\r', "\n")))
            .collect();
        prop_assert_eq!(read_github_output(&written), expected);
    }

    #[test]
    fn a_workflow_command_is_one_line_whatever_its_text(title in hostile_text(), message in hostile_text()) {
        for level in [Level::Error, Level::Warning] {
            let line = annotation(level, &title, &message);
            prop_assert!(!line.contains(['\n', '\r']), "{line:?}");
            prop_assert!(line.starts_with("::error title=") || line.starts_with("::warning title=")
                || line.starts_with("::notice title="));
            // The message is everything after the second `::`, and the runner unescapes it
            // back to the original.
            let data = line.splitn(3, "::").nth(2).unwrap();
            let unescaped = data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%");
            prop_assert_eq!(unescaped, message.clone());
            prop_assert_eq!(escape_data(&message), data);
        }
    }

    #[test]
    fn server_text_in_the_real_log_stays_on_its_line(
        state in hostile_text(), error in hostile_text(), refusal in hostile_text()
    ) {
        let lines = log_of_a_failed_job(&state, &error, &refusal);
        // One line per event: a change of state, a retry, the final line.
        prop_assert_eq!(lines.len(), 3, "{:?}", lines);
        for line in &lines {
            prop_assert!(!line.chars().any(char::is_control), "{line:?}");
            prop_assert_eq!(acted_on_by(line), None, "{:?}", line);
        }
    }

    #[test]
    fn dotenv_gives_one_well_formed_line_per_key(values in prop::collection::vec(hostile_text(), 11)) {
        let keys = ["result", "update_id", "state_id", "state", "progress", "job_failed",
                    "error", "elapsed_seconds", "polls", "simulated", "jobs"];
        let pairs: Vec<(&str, String)> = keys.iter().copied().zip(values).collect();
        let text = dotenv(&pairs);
        prop_assert!(text.len() <= MAX_BYTES);
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        prop_assert_eq!(lines.len(), keys.len());
        for (line, key) in lines.iter().zip(keys) {
            let prefix = format!("{}=", clanforge_wait::testing::variable(key));
            prop_assert!(line.starts_with(&prefix), "{line:?}");
            let value = &line[prefix.len()..];
            prop_assert!(!value.contains(['\r', '\n']));
            prop_assert_eq!(value.trim(), value);
        }
    }

    #[test]
    fn dotenv_cuts_only_what_does_not_fit(error in ".{0,10000}") {
        let pairs = [("result", "failed".to_owned()), ("error", error.clone())];
        let text = dotenv(&pairs);
        let written = text.lines().nth(1).unwrap().trim_start_matches("CLANFORGE_ERROR=");
        let flat = error.split_whitespace().collect::<Vec<_>>().join(" ");
        prop_assert!(flat.starts_with(written));
        prop_assert!(text.len() <= MAX_BYTES);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the server sends and whatever durations the CLI allows, the schedule never
    /// panics, never goes back in time and never names an instant past the deadline.
    #[test]
    fn the_schedule_never_panics_nor_passes_the_deadline(
        kind in 0u8..3,
        interval in 1u64..=MAX_INTERVAL.as_nanos() as u64,
        max in 1u64..=MAX_INTERVAL.as_nanos() as u64,
        timeout in 1u64..=MAX_TIMEOUT.as_nanos() as u64,
        polls in prop::collection::vec(poll(), 1..30),
        seed in any::<u64>(),
    ) {
        let (interval, max) = (Duration::from_nanos(interval), Duration::from_nanos(max));
        let policy = match kind {
            0 => Policy::Fixed(interval),
            1 => Policy::Backoff { interval, max },
            _ => Policy::Guided { interval, max },
        };
        let mut schedule = Schedule::new(policy, Some(seed));
        let start = Instant::now();
        let deadline = later(start, Duration::from_nanos(timeout));
        let mut now = start;
        for poll in polls {
            let seen = match poll {
                Poll::Status { eta, start, progress, server_offset } => {
                    let body = json!({"jobstateid": 4, "jobeta": eta, "jobstart": start,
                                      "jobprogress": progress});
                    let Ok(Answer::Status(mut status)) =
                        parse_answer(body.to_string().as_bytes(), "updateid")
                    else {
                        panic!("a status")
                    };
                    status.server_time = Some(unix_now() + server_offset);
                    Seen::Status(Observation {
                        progress: status.progress,
                        eta_remaining: status.eta_remaining(unix_now()),
                    })
                }
                Poll::Transient(header) => Seen::Transient {
                    retry_after: parse_retry_after(&header, SystemTime::now()),
                },
            };
            match schedule.next(seen, now, deadline) {
                Next::At(at) => {
                    prop_assert!(at >= now && at <= deadline);
                    now = at;
                }
                Next::PastDeadline { .. } => break,
            }
        }
    }
}
