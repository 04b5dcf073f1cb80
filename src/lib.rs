//! clanforge-wait: a CI gate that waits for a Multiplay Clanforge image update job to end.
//!
//! Data flows one way: the API's answer ([`api`]) becomes a job status ([`job`]), the wait loop
//! ([`wait`]) turns statuses into events on the schedule ([`schedule`]), reporters ([`report`])
//! write them out, and the gate ends with an [`outcome::Outcome`] whose exit code is in one table.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod job;
pub mod outcome;
pub mod predict;
pub mod report;
pub mod schedule;
pub mod secret;
pub mod sim;
pub mod wait;

use crate::api::Client;
use crate::cli::{Cli, Config};
use crate::outcome::{Outcome, Signal, Summary};
use crate::report::dotenv::Dotenv;
use crate::report::log::LogReporter;
use crate::report::result::{JsonStdout, ResultFile};
use crate::report::{ReportError, Reporter};
use crate::schedule::Schedule;
use crate::secret::Secret;
use crate::sim::{Script, Sim};
use crate::wait::{Report, Settings};
use tracing::{error, info};

/// Runs the gate and returns how it ended. Every path, errors included, writes every output.
pub async fn run(cli: Cli, log: LogReporter) -> Outcome {
    // Reading the configuration prints nothing, and it may read the secret key from a file:
    // the masks need the key as it will be used.
    let config = cli.config();
    let secrets: Vec<&Secret> = match &config {
        _ if cli.demo => Vec::new(),
        Ok(config) => vec![
            &config.credentials.access_key,
            &config.credentials.secret_key,
        ],
        Err(_) => [&cli.access_key, &cli.secret_key]
            .into_iter()
            .flatten()
            .collect(),
    };
    let update_id = cli.update_id.as_deref().unwrap_or(cli::DEMO_UPDATE_ID);
    let title = format!("clanforge-wait: image update {update_id}");
    let ci = report::ci_reporters(|name| std::env::var(name).ok(), &secrets, &title);
    // The log first: its final line goes out before a CI reporter closes its group.
    let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(log)];
    reporters.extend(ci);
    if cli.json {
        reporters.push(Box::new(JsonStdout));
    }
    let mut setup_error = None;
    if let Some(path) = cli.result_file.clone() {
        match ResultFile::create(path) {
            Ok(file) => reporters.push(Box::new(file)),
            Err(e) => setup_error = Some(e.to_string()),
        }
    }
    if let Some(path) = cli.dotenv.clone() {
        match Dotenv::create(path) {
            Ok(file) => reporters.push(Box::new(file)),
            Err(e) => setup_error = setup_error.or(Some(e.to_string())),
        }
    }
    let config = match (setup_error, config) {
        (None, Ok(config)) => config,
        (Some(message), _) => return finish(&mut reporters, usage_report(&cli, message)),
        (None, Err(e)) => return finish(&mut reporters, usage_report(&cli, e.to_string())),
    };
    let report = match gate(&config, &mut reporters).await {
        Ok(report) => report,
        Err(message) => usage_report(&cli, message),
    };
    finish(&mut reporters, report)
}

/// Waits on the configured job, against the simulator with `--demo`.
async fn gate(config: &Config, reporters: &mut Vec<Box<dyn Reporter>>) -> Result<Report, String> {
    let base_url = match &config.base_url {
        Some(url) => url.clone(),
        None => {
            let addr = Sim::new()
                .job(&config.job.id, Script::Timeline(sim::DEMO_JOB))
                .serve_in_background()
                .await
                .map_err(|e| format!("--demo could not start the simulated API: {e}"))?;
            info!(
                "demo: a simulated Clanforge API serves at http://{addr}; its job takes about {}s",
                sim::DEMO_JOB.as_secs()
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
    .map_err(|e| e.to_string())?;
    let mut schedule = Schedule::new(config.policy, None);
    let settings = Settings {
        timeout: config.timeout,
        request_timeout: config.request_timeout,
    };
    Ok(wait::wait(
        &client,
        &config.job,
        &mut schedule,
        &settings,
        reporters,
        signal(),
    )
    .await)
}

/// A report for a gate that could not start: a flag or variable to fix.
fn usage_report(cli: &Cli, message: String) -> Report {
    Report {
        outcome: Outcome::Usage,
        summary: Summary {
            result: Outcome::Usage.result(),
            update_id: cli.update_id.clone().unwrap_or_default(),
            state_id: None,
            state: String::new(),
            progress: None,
            job_failed: false,
            error: message.clone(),
            elapsed_seconds: 0,
            polls: 0,
        },
        message,
    }
}

/// Hands the report to every reporter. An output that can't be written is an error a pipeline
/// must see, so it turns a success into a usage error (exit 2); a failure keeps its own code.
fn finish(reporters: &mut Vec<Box<dyn Reporter>>, report: Report) -> Outcome {
    match reporters.on_finish(&report) {
        Ok(()) => report.outcome,
        Err(ReportError { .. }) if report.outcome != Outcome::Completed => report.outcome,
        Err(e) => {
            error!("{e}");
            Outcome::Usage
        }
    }
}

/// The first SIGINT or SIGTERM (Ctrl-C on Windows): a cancelled CI job.
async fn signal() -> Signal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => tokio::select! {
                _ = int.recv() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
            },
            // Without handlers the default action (exit) still stops the gate.
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Signal::Interrupt,
            Err(_) => std::future::pending().await,
        }
    }
}
