//! What a server may send, generated: job answers, `Retry-After` headers, hostile text; and
//! the rule by which each CI would act on a line of it.

use clanforge_wait::testing::unix_now;
use proptest::prelude::*;
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// Any text, with plenty of what is dangerous in CI files and logs.
pub(crate) fn hostile_text() -> impl Strategy<Value = String> {
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
        Just("##teamcity[buildStatus status='SUCCESS']".to_owned()),
        Just("##vso[task.complete result=Succeeded;]".to_owned()),
        Just("##VSO[task.setvariable variable=X]".to_owned()),
        Just("#".to_owned()),
        Just("--- ".to_owned()),
        Just("+++ ".to_owned()),
        Just("~~~ ".to_owned()),
        Just("^^^ +++".to_owned()),
        Just(" ".to_owned()),
        ".{0,6}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

/// The CI that would act on `line` as a command, if any, by each one's documented rule:
/// TeamCity's `##teamcity[` and Azure's `##vso[` anywhere in a line (in any case, to be strict),
/// `##[` anywhere (GitHub's legacy form; Azure's at a line's start), GitHub's `::` at a line's
/// start, Buildkite's `--- `, `+++ `, `~~~ ` and `^^^ +++` at a line's start.
pub(crate) fn acted_on_by(line: &str) -> Option<&'static str> {
    let lower = line.to_lowercase();
    let start = line.trim_start();
    if lower.contains("##teamcity[") {
        Some("TeamCity")
    } else if lower.contains("##vso[") {
        Some("Azure Pipelines")
    } else if line.contains("##[") {
        Some("GitHub Actions or Azure Pipelines")
    } else if start.starts_with("::") {
        Some("GitHub Actions")
    } else if ["--- ", "+++ ", "~~~ ", "^^^ +++"].iter().any(|marker| line.starts_with(marker)) {
        Some("Buildkite")
    } else {
        None
    }
}

/// A value for `jobeta` or `jobstart` as a server might send it: any number, one near now, a
/// numeric string of any length, or junk.
pub(crate) fn timestamp() -> impl Strategy<Value = Value> {
    let now = unix_now();
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        (now - 200_000..now + 200_000).prop_map(Value::from),
        "-?[0-9]{1,25}".prop_map(Value::String),
        any::<f64>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

/// A `Retry-After` header as a server might send it.
pub(crate) fn retry_after() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,25}",
        any::<u64>().prop_map(|n| n.to_string()),
        (0u64..=253_402_300_799).prop_map(|secs| {
            httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        }),
        ".{0,12}",
    ]
}

/// One poll's answer, as the schedule sees it.
#[derive(Debug, Clone)]
pub(crate) enum Poll {
    Status { eta: Value, start: Value, progress: Value, server_offset: i64 },
    Transient(String),
}

pub(crate) fn poll() -> impl Strategy<Value = Poll> {
    prop_oneof![
        (timestamp(), timestamp(), timestamp(), -400_000_000i64..400_000_000).prop_map(
            |(eta, start, progress, server_offset)| Poll::Status {
                eta,
                start,
                progress,
                server_offset
            }
        ),
        retry_after().prop_map(Poll::Transient),
    ]
}
