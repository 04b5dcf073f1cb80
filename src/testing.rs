//! The library as the tests and the examples see it: a small, named API, opened by the
//! `test-support` feature (which they enable). Everything else in the crate is `pub(crate)`,
//! and `unreachable_pub` keeps it so: an item is `pub` only if it is named here or is part of
//! the public surface ([`crate::run`] and its [`crate::Outcome`]).

// When to look: tests/schedule.rs, tests/predict.rs and the policy simulator (virtual time).
pub use crate::dispatch::{Dispatch, MIN_GAP};
pub use crate::predict::{Basis, Observation, Predictor, Window};
pub use crate::schedule::{FAR_FACTOR, JITTER, MIN_WAIT, Next, Policy, Schedule, Seen, later};

// Reading an answer and a job's reference (tests/answers.rs; the property tests: any bytes).
pub use crate::api::Fix;
pub use crate::api::{PollError, parse_retry_after};
pub use crate::evidence::Ambiguous;
pub use crate::job::{
    Answer, BodyError, Counts, JobState, JobStatus, PLAUSIBLE_ETA, Phase, parse_answer, unix_now,
};
pub use crate::kind::{JobKind, JobRef, RefError};

// What faces a CI runner (tests/escapes.rs): the filter for server text, the output writers.
pub use crate::report::azure::command as azure_command;
pub use crate::report::dotenv::{MAX_BYTES, dotenv, variable};
pub use crate::report::github::output_file;
pub use crate::report::junit::escape as xml_escape;
pub use crate::report::markdown::{
    MAX_CELL, cell as markdown_cell, clock as chart_clock, name as chart_name,
};
pub use crate::report::teamcity::{escape as teamcity_escape, render as teamcity_message};
pub use crate::report::workflow::{Level, annotation, escape_data, escape_property, random_token};
pub use crate::secret::Secret;
pub use crate::untrusted::{escaped, escaped_start, excerpt, hidden, one_line, redact_also};

// The command line and the exit codes, for the README's help goldens and tables.
pub use crate::cli::{MAX_INTERVAL, MAX_TIMEOUT};
pub use crate::outcome::{EXIT_CODES, Word, whole_seconds};
pub use crate::report::text::{count as count_of, human as human_duration};

use crate::event::{End, Event, Finished, GateRun, Reporter};
use crate::report::log::{LogReporter, plain};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The command line's definition, as `--help` and the man page show it.
pub fn command() -> clap::Command {
    crate::cli::command()
}

/// Collects what the log prints.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lines the gate's own log (plain mode, as in a CI log) prints for a job whose state name,
/// error and a refusal's message are this server text.
pub fn log_of_a_failed_job(state: &str, error: &str, refusal: &str) -> Vec<String> {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = plain(move || writer.clone(), std::time::Instant::now());
    tracing::subscriber::with_default(subscriber, || {
        let mut log = LogReporter::plain_lines();
        let job = JobRef::new(JobKind::ImageUpdate, "1");
        let body = serde_json::json!({"jobstateid": 6, "jobstatename": state, "jobprogress": 5,
                          "jobfailed": 1, "joberror": error});
        let Ok(Answer::Status(status)) = parse_answer(body.to_string().as_bytes(), "updateid")
        else {
            panic!("a status")
        };
        log.on_event(&Event::Polled { job: &job, status: &status, poll: 1, idle: false });
        let refused = PollError::Rejected { status: 400, message: Some(refusal.to_owned()) };
        log.on_event(&Event::Retrying {
            job: &job,
            error: &refused,
            failures: 1,
            wait: Duration::from_secs(1),
        });
        let finished = Finished {
            job: job.clone(),
            end: End::JobFailed,
            last: Some(status),
            last_error: None,
            polls: 1,
            elapsed: Duration::from_secs(1),
            timeout: Duration::from_secs(60),
            stall_timeout: None,
            seen_work: true,
            settle: Duration::from_secs(30),
            completed_units: 0,
        };
        let run = GateRun {
            jobs: vec![finished],
            requests: 1,
            elapsed: Duration::from_secs(1),
            step: None,
            earlier: Vec::new(),
            pending: None,
        };
        log.on_finish(&crate::verdict::report(&crate::verdict::Ran {
            did: crate::verdict::Did::Waited(run),
            simulated: false,
        }))
        .unwrap();
    });
    let bytes = capture.0.lock().unwrap().clone();
    String::from_utf8_lossy(&bytes).lines().map(str::to_owned).collect()
}
