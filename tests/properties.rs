//! Property tests: the parser never panics, and the writers that face CI runners hold their
//! invariants for any input.

mod common;

use clanforge_wait::job::{JobKind, one_line, parse_answer};
use clanforge_wait::report::dotenv::{MAX_BYTES, dotenv};
use clanforge_wait::report::github::output_file;
use clanforge_wait::report::workflow::{Level, annotation, escape_data};
use common::read_github_output;
use proptest::prelude::*;
use serde_json::Value;

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

/// Any text, with plenty of what is dangerous in CI files and logs.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\r".to_owned()),
        Just("EOF".to_owned()),
        Just("ghadelimiter_".to_owned()),
        Just("key=value".to_owned()),
        Just("<<".to_owned()),
        Just("%0A".to_owned()),
        Just("%25".to_owned()),
        Just("::warning::x".to_owned()),
        Just("##[error]x".to_owned()),
        Just(" ".to_owned()),
        ".{0,6}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_answer(&bytes, JobKind::ImageUpdate);
    }

    #[test]
    fn the_parser_never_panics_on_json(value in json_value()) {
        let _ = parse_answer(value.to_string().as_bytes(), JobKind::ImageUpdate);
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
        for level in [Level::Error, Level::Warning, Level::Notice] {
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
    fn server_text_in_a_log_line_stays_on_that_line(text in hostile_text()) {
        let cleaned = one_line(&text);
        prop_assert!(!cleaned.chars().any(char::is_control), "{cleaned:?}");
        let line = format!("   1.0s  INFO Running, 5%: {cleaned}");
        prop_assert_eq!(line.lines().count(), 1);
        prop_assert!(!line.trim_start().starts_with("::"));
    }

    #[test]
    fn dotenv_gives_one_well_formed_line_per_key(values in prop::collection::vec(hostile_text(), 10)) {
        let keys = ["result", "update_id", "state_id", "state", "progress", "job_failed",
                    "error", "elapsed_seconds", "polls", "simulated"];
        let pairs: Vec<(&str, String)> = keys.iter().copied().zip(values).collect();
        let text = dotenv(&pairs);
        prop_assert!(text.len() <= MAX_BYTES);
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        prop_assert_eq!(lines.len(), keys.len());
        for (line, key) in lines.iter().zip(keys) {
            let prefix = format!("CLANFORGE_{}=", key.to_uppercase());
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
