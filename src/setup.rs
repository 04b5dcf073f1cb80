//! The set-up between a command line that reads and the first request: the outputs opened
//! (none clobbering another), and the API client, real or the demo's simulator started here.
//! What can go wrong is a [`SetupError`], a configuration to fix (exit 2).

use crate::api::trace::{Trace, TraceTo};
use crate::api::{Client, ClientError, Credentials};
use crate::cli::{self, Action, Api, Config, Parsed};
use crate::event::{ReportError, Reporter};
use crate::report::{self, dotenv::Dotenv, result::ResultFile};
use clanforge_sim as sim;
use std::path::PathBuf;
use tracing::info;

/// Set-up that failed: something on this machine to fix before any request (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupError {
    /// An output that can't be written.
    #[error("{0}")]
    Output(ReportError),
    /// Two outputs that name one file (the words name both).
    #[error("{0}")]
    Shared(String),
    #[error("--demo could not start the simulated API: {0}")]
    Demo(std::io::Error),
    #[error("{}", client_words(.0))]
    Client(ClientError),
    #[error("--trace-http (CLANFORGE_TRACE_HTTP) can't append to {path}: {source}")]
    Trace { path: String, source: std::io::Error },
}

fn client_words(error: &ClientError) -> String {
    match error {
        ClientError::CaCert(_) => format!("--ca-cert (CLANFORGE_CA_CERT) {error}"),
        ClientError::Setup(_) => error.to_string(),
    }
}

/// Checks every reporter's output and opens the files the command line names, each now: one
/// that can't be is a usage error (the first, returned), before any request. Two outputs that
/// name one file would clobber each other (a result file that is `$GITHUB_OUTPUT` would empty
/// the earlier steps' outputs): a usage error too, and neither is opened, so nothing is lost.
pub(crate) fn open_files(
    parsed: &Parsed,
    reporters: &mut Vec<Box<dyn Reporter>>,
) -> Option<SetupError> {
    let outputs = &parsed.outputs;
    let mut setup_error = reporters.iter().find_map(|r| r.check().err()).map(SetupError::Output);
    let (shared_error, shared) = report::shared_files(&named_outputs(parsed)).unzip();
    setup_error = setup_error.or(shared_error.map(SetupError::Shared));
    let own = |path: &Option<PathBuf>| {
        path.clone().filter(|p| !shared.as_ref().is_some_and(|shared| shared.contains(p)))
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
            Err(e) => setup_error = setup_error.or(Some(SetupError::Output(e))),
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
        for (name, what) in
            [("GITHUB_OUTPUT", "$GITHUB_OUTPUT"), ("GITHUB_STEP_SUMMARY", "$GITHUB_STEP_SUMMARY")]
        {
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

/// The API client, for the real API or (`--demo`) a simulator started here.
pub(crate) async fn client(config: &Config) -> Result<Client, SetupError> {
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
                Credentials::Bearer(_) => {
                    (sim.token(cli::DEMO_TOKEN), "the operator's dialect: a token, no ASID")
                }
                Credentials::Basic { .. } => {
                    (sim.credentials("demo", "demo"), "Unity's dialect: keys and an ASID")
                }
            };
            let addr = sim.serve_in_background().await.map_err(SetupError::Demo)?;
            info!(
                "demo: a simulated Clanforge API ({dialect}) serves at http://{addr}: {serves}. \
                 Nothing here is a real Clanforge result."
            );
            reqwest::Url::parse(&format!("http://{addr}"))
                .expect("a socket address is a URL's host")
        }
    };
    let client = Client::new(
        base_url,
        config.asid.clone(),
        config.credentials.clone(),
        config.ca_cert.as_deref(),
    )
    .map_err(SetupError::Client)?
    .with_max_body(config.max_body)
    .with_unreachable_timeout(config.unreachable_timeout);
    Ok(match &config.trace {
        None => client,
        Some(to) => client.with_trace(Trace::open(to).map_err(|source| SetupError::Trace {
            path: match to {
                TraceTo::File(path) => path.display().to_string(),
                TraceTo::Stderr => "stderr".to_owned(),
            },
            source,
        })?),
    })
}
