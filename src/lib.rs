//! clanforge-wait: a CI gate for Multiplay Clanforge deploys. It starts image updates, diffs
//! and image versions (each create sent at most once) and waits on them and on the fleet's
//! installs under one deadline, then says how they ended: an exit code, a log, a result.
//!
//! The library's public surface is what the binary needs ([`run`]) and the simulated API the
//! examples serve ([`sim`], with the job names it takes). Everything else is `pub(crate)`; the
//! `test-support` feature, which the tests and examples enable, adds the small API in
//! `testing` that they use.
//!
//! Data flows one way: the API's answer (`api`) becomes a job status (`job`), the wait loop
//! (`wait`, `start` for what it creates) turns statuses into events (`event`) on the schedule
//! (`schedule`), the verdict (`verdict`) says what the facts mean, and reporters (`report`)
//! write them out; the gate ends with an `outcome::Outcome` whose exit code is in one table.
#![forbid(unsafe_code)]
// Without the tests' feature, `testing` is not compiled and what it names looks unreachable:
// the two lints are checked with the feature on (`cargo clippy --all-targets`).
#![cfg_attr(
    not(feature = "test-support"),
    allow(unreachable_pub, unnameable_types)
)]

mod api;
mod cancel;
mod chain;
mod check;
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
mod start;
mod untrusted;
mod verdict;
mod wait;

pub mod sim;
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod testing;

/// A job as the simulated API's builder names it: its kind and ID (and why a name is not one).
pub use crate::kind::{JobKind, JobRef, RefError};

use crate::api::trace::{Trace, TraceTo};
use crate::api::{Client, ClientError, Credentials};
use crate::cancel::Cancel;
use crate::chain::{Ids, Step};
use crate::cli::{Action, Api, Config, LogFormat, Parsed, Shown};
use crate::event::{Event, Report, Reporter};
/// How the gate ended: what [`run`] returns, and its exit code.
pub use crate::outcome::Outcome;
/// The signal that cancelled a gate.
pub use crate::outcome::Signal;
use crate::report::dotenv::Dotenv;
use crate::report::result::{JsonStdout, ResultFile};
use crate::report::{LogMode, log, text};
use crate::secret::Secret;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use tracing::{error, info};

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
    let trace_on_stderr = parsed
        .config
        .as_ref()
        .is_ok_and(|c| c.trace == Some(TraceTo::Stderr));
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
    let setup_error = open_files(&parsed, &mut reporters);
    let (update_id, demo) = (&parsed.update_id, parsed.demo);
    let report = match (stopped, setup_error.as_deref(), &parsed.config) {
        (Some(Stopped::Signal(signal)), _, _) => {
            text::cancelled_before_start(signal, update_id, demo)
        }
        (Some(Stopped::Deadline(deadline)), _, _) => {
            text::files_not_read(deadline, update_id, demo)
        }
        (None, Some(message), _) => text::usage(update_id, message, demo),
        (None, None, Err(message)) => text::usage(update_id, message, demo),
        (None, None, Ok(config)) => gate(config, &mut reporters, &cancel).await,
    };
    let report = report.keeping(&checkpoint);
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

/// Checks every reporter's output and opens the files the command line names, each now: one
/// that can't be is a usage error (the first, returned), before any request. Two outputs that
/// name one file would clobber each other (a result file that is `$GITHUB_OUTPUT` would empty
/// the earlier steps' outputs): a usage error too, and neither is opened, so nothing is lost.
fn open_files(parsed: &Parsed, reporters: &mut Vec<Box<dyn Reporter>>) -> Option<String> {
    let outputs = &parsed.outputs;
    let mut setup_error = reporters
        .iter()
        .find_map(|r| r.check().err())
        .map(|e| e.to_string());
    let (shared_error, shared) = report::shared_files(&named_outputs(parsed)).unzip();
    setup_error = setup_error.or(shared_error);
    let own = |path: &Option<PathBuf>| {
        path.clone()
            .filter(|p| !shared.as_ref().is_some_and(|shared| shared.contains(p)))
    };
    let files: [Option<Result<Box<dyn Reporter>, _>>; 4] = [
        own(&outputs.result_file).map(|p| ResultFile::create(p).map(boxed)),
        own(&outputs.dotenv).map(|p| Dotenv::create(p).map(boxed)),
        own(&outputs.junit).map(|p| report::junit::file(p).map(boxed)),
        own(&outputs.summary).map(|p| report::markdown::file(p).map(boxed)),
    ];
    for file in files.into_iter().flatten() {
        match file {
            Ok(file) => reporters.push(file),
            Err(e) => setup_error = setup_error.or(Some(e.to_string())),
        }
    }
    setup_error
}

/// Every file the gate writes, with what names it: the command line's, the trace, and
/// GitHub's when GitHub runs us.
fn named_outputs(parsed: &Parsed) -> Vec<(&'static str, PathBuf)> {
    let outputs = &parsed.outputs;
    let mut named: Vec<(&'static str, PathBuf)> = [
        ("--result-file", &outputs.result_file),
        ("--dotenv", &outputs.dotenv),
        ("--junit", &outputs.junit),
        ("--summary", &outputs.summary),
    ]
    .into_iter()
    .filter_map(|(what, path)| Some((what, path.clone()?)))
    .collect();
    if let Ok(config) = &parsed.config
        && let Some(TraceTo::File(path)) = &config.trace
    {
        named.push(("--trace-http", path.clone()));
    }
    let var = |name: &str| std::env::var(name).ok();
    if report::Platform::detect(var).contains(&report::Platform::GitHub) {
        for (name, what) in [
            ("GITHUB_OUTPUT", "$GITHUB_OUTPUT"),
            ("GITHUB_STEP_SUMMARY", "$GITHUB_STEP_SUMMARY"),
        ] {
            if let Some(path) = std::env::var_os(name).filter(|p| !p.is_empty()) {
                named.push((what, path.into()));
            }
        }
    }
    named
}

fn boxed<R: Reporter + 'static>(reporter: R) -> Box<dyn Reporter> {
    Box::new(reporter)
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
async fn gate(config: &Config, reporters: &mut Vec<Box<dyn Reporter>>, cancel: &Cancel) -> Report {
    let demo = config.demo();
    let client = tokio::select! {
        biased;
        signal = cancel.signalled() => {
            return text::cancelled_before_start(signal, &config.update_ids(), demo);
        }
        client = async {
            // A signal that came while set-up blocked (reading a key file) reaches its
            // handler's stream only once the runtime's driver has run: let it run first.
            tokio::task::yield_now().await;
            client(config).await
        } => client,
    };
    let client = match client {
        Ok(client) => client,
        Err(message) => return text::usage(&config.update_ids(), &message, demo),
    };
    let settings = &config.settings;
    let run = match &config.action {
        Action::Check(probe) => {
            return check::run(&client, probe, settings, reporters, demo).await;
        }
        Action::Wait(jobs) => wait::wait(&client, jobs, settings, reporters, cancel).await,
        Action::Start(plan) => start::run(&client, plan, settings, reporters, demo, cancel).await,
        Action::DryRun(plan) => {
            let requests = start::dry_run(&client, &config.asid, plan);
            reporters.on_event(&Event::DryRun {
                requests: &requests,
            });
            let known: Vec<_> = [Step::ImageUpdate, Step::ImageDiff, Step::ImageVersion]
                .into_iter()
                .filter_map(|step| plan.known.job(step))
                .collect();
            return text::dry_run(requests.len(), &known, demo);
        }
    };
    text::report(&run, demo)
}

/// The API client, for the real API or (`--demo`) a simulator started here.
async fn client(config: &Config) -> Result<Client, String> {
    let base_url = match &config.api {
        Api::Real(url) => url.clone(),
        Api::Demo => {
            let (sim, serves) = match &config.action {
                Action::Wait(_) => (
                    sim::demo(cli::DEMO_UPDATE_ID, cli::DEMO_VERSION_ID),
                    format!(
                        "an image update of about {}s, an image version and its installs on \
                         three machines",
                        sim::DEMO_JOB.as_secs()
                    ),
                ),
                Action::Check(_) => (
                    sim::demo_check(),
                    format!(
                        "game {}, image {} and the account's install list",
                        cli::start::DEMO_GAME_ID,
                        cli::start::DEMO_IMAGE_ID,
                    ),
                ),
                Action::Start(_) | Action::DryRun(_) => (
                    sim::demo_deploy(),
                    format!(
                        "game {}, image {} on build machine {}, ready for an update, a diff, a \
                         version and its installs on three machines",
                        cli::start::DEMO_GAME_ID,
                        cli::start::DEMO_IMAGE_ID,
                        cli::start::DEMO_MACHINE_ID
                    ),
                ),
            };
            // The simulator speaks the dialect of the demo's credentials, and refuses the
            // other one, as a real host would.
            let (sim, dialect) = match &config.credentials {
                Credentials::Bearer(_) => (
                    sim.token(cli::DEMO_TOKEN),
                    "the operator's dialect: a token, no ASID",
                ),
                Credentials::Basic { .. } => (
                    sim.credentials("demo", "demo"),
                    "Unity's dialect: keys and an ASID",
                ),
            };
            let addr = sim
                .serve_in_background()
                .await
                .map_err(|e| format!("--demo could not start the simulated API: {e}"))?;
            info!(
                "demo: a simulated Clanforge API ({dialect}) serves at http://{addr}: {serves}. \
                 Nothing here is a real Clanforge result."
            );
            format!("http://{addr}")
                .parse()
                .map_err(|e| format!("--demo: {e}"))?
        }
    };
    let client = Client::new(
        base_url,
        config.asid.clone(),
        config.credentials.clone(),
        config.ca_cert.as_deref(),
    )
    .map_err(|e| match e {
        ClientError::CaCert(_) => format!("--ca-cert (CLANFORGE_CA_CERT) {e}"),
        ClientError::Setup(_) => e.to_string(),
    })?
    .with_max_body(config.max_body);
    Ok(match &config.trace {
        None => client,
        Some(to) => client.with_trace(Trace::open(to).map_err(|e| {
            let path = match to {
                TraceTo::File(path) => path.display().to_string(),
                TraceTo::Stderr => "stderr".to_owned(),
            };
            format!("--trace-http (CLANFORGE_TRACE_HTTP) can't append to {path}: {e}")
        })?),
    })
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
