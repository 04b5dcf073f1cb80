//! clanforge-wait: a CI gate for Multiplay Clanforge deploys. It starts image updates, diffs
//! and image versions (each create sent at most once) and waits on them and on the fleet's
//! installs under one deadline, then says how they ended: an exit code, a log, a result.
//!
//! The library's public surface is what the binary needs ([`run`] and the [`Outcome`] it
//! returns). Everything else is `pub(crate)`; the `test-support` feature, which the tests and
//! examples enable, adds the small API in `testing` that they use. The simulated API `--demo`
//! serves is a crate of its own (`crates/clanforge-sim`), which the tests serve too.
//!
//! Data flows one way: the API's answer (`api`) becomes a job status (`job`), the wait loop
//! (`wait`, `start` for what it creates) turns statuses into events (`event`) on the schedule
//! (`schedule`), the verdict (`verdict`) says what the facts mean, and reporters (`report`)
//! write them out; the gate ends with an `outcome::Outcome` whose exit code is in one table.
#![forbid(unsafe_code)]
// Without the tests' feature, `testing` is not compiled and what it names looks unreachable:
// the two lints are checked with the feature on (`cargo clippy --all-targets`).
#![cfg_attr(not(feature = "test-support"), allow(unreachable_pub, unnameable_types))]

mod api;
mod append;
mod cancel;
mod chain;
mod check;
mod checkpoint;
mod cli;
mod dispatch;
mod event;
mod evidence;
mod fleet;
mod job;
mod kind;
mod outcome;
mod predict;
mod report;
mod schedule;
mod secret;
mod setup;
mod start;
mod state;
mod untrusted;
mod verdict;
mod wait;

#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod testing;

use crate::api::trace::TraceTo;
use crate::cancel::Cancel;
use crate::chain::{Ids, Step};
use crate::cli::{Action, Config, LogFormat, Parsed, Shown};
use crate::event::{Event, Report, Reporter};
/// How the gate ended: what [`run`] returns, and its exit code.
pub use crate::outcome::Outcome;
/// The signal that cancelled a gate.
pub use crate::outcome::Signal;
use crate::report::result::JsonStdout;
use crate::report::{LogMode, log};
use crate::secret::Secret;
use crate::verdict::{Did, NotStarted, Ran};
use std::ffi::OsString;
use std::io::IsTerminal;
use tracing::error;

/// The whole gate, from the command line to its outcome (whose exit code is in one table:
/// [`Outcome::exit_code`]). Every path, usage errors and signals included, writes every
/// output it can name. `--help`, `--version` and `completions` print and complete.
pub async fn run<I, T>(args: I) -> Outcome
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    // Before anything else, so that a signal while the gate sets up (reading a key file,
    // loading TLS roots, starting the demo) still ends with every output written.
    let cancel = Cancel::on_signals();
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let (parsed, stopped) = match read(&args, &cancel).await {
        Ok(read) => read,
        // --help, --version, completions.
        Err(shown) => {
            shown.print();
            return Outcome::Completed;
        }
    };
    // Every secret the gate holds is redacted from server text from here on, whatever it
    // reaches: the log, every output, the trace.
    untrusted::redact_also(&parsed.secrets);
    // The CI reporters print their first lines (GitHub's masks) now, before the log exists:
    // nothing, not even a progress bar's first frame, may come before a mask.
    let secrets: Vec<&Secret> = parsed.secrets.iter().collect();
    let title = title(&parsed);
    let ci = report::ci_reporters(|name| std::env::var(name).ok(), &secrets, &title);
    let outputs = &parsed.outputs;
    // A trace on stderr shares the terminal with the log: no bars to draw over it.
    let trace_on_stderr = parsed.config.as_ref().is_ok_and(|c| c.trace == Some(TraceTo::Stderr));
    let mode = LogMode::detect(
        outputs.log_format == LogFormat::Json,
        std::io::stderr().is_terminal() && !trace_on_stderr,
        |name| std::env::var(name).ok(),
    );
    let log = log::init(mode);
    // The log first: its final line goes out before a CI reporter closes its group.
    let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(log)];
    reporters.extend(ci);
    if outputs.json {
        reporters.push(Box::new(JsonStdout));
    }
    for warning in &parsed.warnings {
        tracing::warn!("{warning}");
    }
    // Read before the files are emptied: a run that never starts keeps a checkpoint's IDs.
    let checkpoint = [&outputs.result_file, &outputs.dotenv]
        .into_iter()
        .flatten()
        .map(|path| report::checkpoint_ids(path))
        .fold(Ids::default(), Ids::or);
    let setup_error = setup::open_files(&parsed, &mut reporters);
    let (update_id, simulated) = (parsed.update_id, parsed.demo);
    let not_started = |why| Ran { did: Did::NotStarted { why, update_id }, simulated };
    let ran = match (stopped, setup_error, parsed.config) {
        (Some(Stopped::Signal(signal)), _, _) => not_started(NotStarted::Signal(signal)),
        (Some(Stopped::Deadline(deadline)), _, _) => {
            not_started(NotStarted::FilesNotRead(deadline))
        }
        (None, Some(error), _) => not_started(NotStarted::Setup(error)),
        (None, None, Err(error)) => not_started(NotStarted::Usage(error)),
        (None, None, Ok(config)) => gate(&config, &mut reporters, &cancel).await,
    };
    let report = verdict::report(&ran).keeping(&checkpoint);
    finish(&mut reporters, report)
}

/// What stopped the gate before its command line's files were read.
#[derive(Debug, Clone, Copy)]
enum Stopped {
    Signal(Signal),
    /// `--timeout`, which bounds every path.
    Deadline(std::time::Duration),
}

/// Reads the command line (and the files it names) on a thread of its own: an input file
/// that blocks (`--secret-key-file <(vault read …)` before its writer comes) can't hold the
/// gate past a signal or its deadline. Then what it names is found without opening a file.
async fn read(args: &[OsString], cancel: &Cancel) -> Result<(Parsed, Option<Stopped>), Shown> {
    let reading = tokio::task::spawn_blocking({
        let args = args.to_vec();
        move || cli::parse(args)
    });
    let setup = cli::setup_deadline(args);
    let unread = |why: &str| cli::unread(args, why.to_owned());
    Ok(tokio::select! {
        biased;
        signal = cancel.signalled() => (
            unread("cancelled while reading its files"),
            Some(Stopped::Signal(signal)),
        ),
        () = tokio::time::sleep(setup) => (
            unread("its files were not read in time"),
            Some(Stopped::Deadline(setup)),
        ),
        read = reading => match read {
            Ok(parsed) => (parsed?, None),
            Err(e) => (unread(&format!("the command line could not be read: {e}")), None),
        },
    })
}

/// The log group's title: what the gate does.
fn title(parsed: &Parsed) -> String {
    match &parsed.config {
        Ok(config) => match &config.action {
            Action::Start(plan) | Action::DryRun(plan) => {
                format!("clanforge-wait {}", plan.command)
            }
            Action::Check(_) => "clanforge-wait check".to_owned(),
            Action::Wait(jobs) => match jobs.as_slice() {
                [job] => format!("clanforge-wait: {job}"),
                jobs => format!("clanforge-wait: {} jobs", jobs.len()),
            },
        },
        Err(_) if parsed.update_id.is_empty() => "clanforge-wait".to_owned(),
        Err(_) => format!("clanforge-wait: image update {}", parsed.update_id),
    }
}

/// Runs the configured action, against the simulator with `--demo`.
async fn gate(config: &Config, reporters: &mut Vec<Box<dyn Reporter>>, cancel: &Cancel) -> Ran {
    let simulated = config.demo();
    let not_started =
        |why| Ran { did: Did::NotStarted { why, update_id: config.update_ids() }, simulated };
    let client = tokio::select! {
        biased;
        signal = cancel.signalled() => return not_started(NotStarted::Signal(signal)),
        client = async {
            // A signal that came while set-up blocked (reading a key file) reaches its
            // handler's stream only once the runtime's driver has run: let it run first.
            tokio::task::yield_now().await;
            setup::client(config).await
        } => client,
    };
    let client = match client {
        Ok(client) => client,
        Err(error) => return not_started(NotStarted::Setup(error)),
    };
    let settings = &config.settings;
    let did = match &config.action {
        Action::Check(probe) => Did::Checked(check::run(&client, probe, settings, reporters).await),
        Action::Wait(jobs) => {
            Did::Waited(wait::wait(&client, jobs, settings, reporters, cancel).await)
        }
        Action::Start(plan) => {
            Did::Waited(start::run(&client, plan, settings, reporters, simulated, cancel).await)
        }
        Action::DryRun(plan) => {
            let requests = start::dry_run(&client, &config.asid, plan);
            reporters.on_event(&Event::DryRun { requests: &requests });
            let known: Vec<_> = [Step::ImageUpdate, Step::ImageDiff, Step::ImageVersion]
                .into_iter()
                .filter_map(|step| plan.known.job(step))
                .collect();
            Did::DryRun { requests: requests.len(), known }
        }
    };
    Ran { did, simulated }
}

/// Hands the report to every reporter. An output that can't be written is an error a pipeline
/// must see, so it turns a success into a usage error (exit 2); a failure keeps its own code.
fn finish(reporters: &mut Vec<Box<dyn Reporter>>, report: Report) -> Outcome {
    match reporters.on_finish(&report) {
        Ok(()) => report.outcome,
        Err(_) if !report.outcome.is_success() => report.outcome,
        Err(e) => {
            error!("{e}");
            Outcome::Usage
        }
    }
}
