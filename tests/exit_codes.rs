//! The outcome (`outcome.rs`): one table of exit codes, which `--help`, the README and the book
//! repeat (`tests/readme.rs` holds them to it), the result keys every output writes in one
//! order, and the durations and counts the final line words them with.

mod common;

use clanforge_wait::testing::{EXIT_CODES, count_of, human_duration, variable, whole_seconds};
use clanforge_wait::{Outcome, Signal};
use common::*;
use std::time::Duration;

#[test]
fn the_table_agrees_with_the_outcomes() {
    use Outcome::*;
    for outcome in [
        Completed,
        Failed,
        Usage,
        TimedOut,
        ApiError,
        Stalled,
        Cancelled(Signal::Interrupt),
        Cancelled(Signal::Terminate),
        Cancelled(Signal::Hangup),
    ] {
        let row = EXIT_CODES.iter().find(|row| row.0 == outcome.exit_code());
        assert_eq!(row.map(|r| r.1), Some(outcome.result().as_str()), "{outcome:?}");
    }
    assert_eq!(DryRun.exit_code(), 0);
    assert!(EXIT_CODES[0].2.contains("dry-run"));
}

#[test]
fn the_worst_outcome_follows_the_documented_order() {
    use Outcome::*;
    let order = [Completed, TimedOut, Stalled, Failed, ApiError, Usage];
    for pair in order.windows(2) {
        assert!(pair[0].severity() < pair[1].severity(), "{pair:?}");
    }
    assert!(Cancelled(Signal::Terminate).severity() > Usage.severity());
}

#[test]
fn whole_seconds_round_to_the_nearest() {
    assert_eq!(whole_seconds(Duration::from_millis(2_600)), 3);
    assert_eq!(whole_seconds(Duration::from_millis(2_499)), 2);
    assert_eq!(whole_seconds(Duration::MAX), u64::MAX);
}

/// The result file's keys and the dotenv file's lines are the same keys in the same order,
/// each once: the JSON text itself is read, not a parsed map (which would sort its keys).
#[test]
fn the_result_and_the_dotenv_file_name_every_key_in_one_order() {
    let gate = Gate::demo().flag("deploy").flag("--dry-run").dotenv();
    let dotenv = gate.path("ci.env");
    let run = gate.run();
    run.assert_code(0);
    let json = &run.result_text;
    let result = run.result();
    let keys: Vec<&str> = result.as_object().unwrap().keys().map(String::as_str).collect();
    let mut in_text: Vec<(usize, &str)> = keys
        .iter()
        .map(|key| {
            let quoted = format!("\"{key}\":");
            assert_eq!(json.matches(&quoted).count(), 1, "{key} in {json}");
            (json.find(&quoted).unwrap(), *key)
        })
        .collect();
    in_text.sort();
    let lines = std::fs::read_to_string(dotenv).unwrap();
    let variables: Vec<&str> = lines.lines().map(|l| l.split_once('=').unwrap().0).collect();
    let expected: Vec<String> = in_text.iter().map(|(_, key)| variable(key)).collect();
    assert_eq!(variables, expected, "{json}\n{lines}");
    assert_eq!(keys.len(), 16, "{json}");
    // Each value as the dotenv file writes it: none is empty, a flag is a word, a list JSON.
    for line in ["CLANFORGE_STATE_ID=\n", "CLANFORGE_SIMULATED=true\n", "CLANFORGE_JOB_RESULTS=[]"]
    {
        assert!(lines.contains(line), "{line} in {lines}");
    }
}

#[test]
fn human_durations_read_well() {
    assert_eq!(human_duration(Duration::from_millis(350)), "350ms");
    assert_eq!(human_duration(Duration::from_millis(4_249)), "4.2s");
    assert_eq!(human_duration(Duration::from_millis(90_700)), "1m 31s");
    // The longest wait a server could ask for still reads as a duration, without a panic.
    assert!(human_duration(Duration::MAX).ends_with('s'));
}

#[test]
fn counts_agree_with_their_number() {
    assert_eq!(count_of(1, "poll"), "1 poll");
    assert_eq!(count_of(0, "poll"), "0 polls");
    assert_eq!(count_of(2, "poll"), "2 polls");
}
