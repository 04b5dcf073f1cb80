//! The command line: flags, their environment fallbacks, and the checks that turn them into a
//! [`Config`]. Every error names the flag (and variable) to fix.

mod lenient;
pub mod start;

pub use start::{Command, DeployArgs, StartJob, Until};

use crate::api::Credentials;
use crate::chain::Plan;
use crate::kind::{JobKind, JobRef, RefError};
use crate::outcome::exit_codes_help;
use crate::schedule::Policy;
use crate::secret::Secret;
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};
use reqwest::Url;
use std::convert::Infallible;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

const ABOUT: &str = "Wait for Multiplay Clanforge deploy jobs to finish (image updates, diffs, \
                     versions, installs, rollouts): the CI gate between uploading a server build \
                     and rolling it out.";

const USAGE: &str = "clanforge-wait [OPTIONS] [JOB]...\n       \
                     clanforge-wait [OPTIONS] start <update|diff|version> [START OPTIONS]\n       \
                     clanforge-wait [OPTIONS] deploy [DEPLOY OPTIONS]\n       \
                     clanforge-wait completions <bash|zsh|fish|powershell|elvish>";

const AFTER_HELP: &str = "With several jobs, the exit code is the worst outcome, in this order: 2, 4, 1, \
                          5, 3, 0 (a signal's code wins over all).\n\
                          Pass the keys through the environment (CLANFORGE_ACCESS_KEY, \
                          CLANFORGE_SECRET_KEY) rather than flags: flags show in process listings.";

#[derive(Debug, Parser)]
#[command(name = "clanforge-wait", version, about = ABOUT, subcommand_negates_reqs = true,
          disable_help_subcommand = true, override_usage = USAGE,
          after_help = format!("{}\n{AFTER_HELP}", exit_codes_help()))]
pub struct Cli {
    /// Start what to wait on (start, deploy); without one, the gate waits on the jobs named
    #[command(subcommand)]
    pub command: Option<Sub>,

    /// Jobs to wait on, as KIND/ID: update/<updateid>, diff/<diffid>, version/<imageversionid>,
    /// install/<imageversionid> (or install: every install), rollout/<imageid>
    #[arg(value_name = "JOB")]
    pub jobs: Vec<String>,

    /// A job to wait on, as KIND/ID (repeatable; the variable takes several, separated by
    /// spaces)
    #[arg(long = "job", env = "CLANFORGE_JOBS", value_name = "KIND/ID")]
    pub job: Vec<String>,

    /// The image update job to wait on (from the Image Update Create endpoint): the same as
    /// update/<ID>
    #[arg(long, env = "CLANFORGE_UPDATE_ID", value_name = "ID")]
    pub update_id: Option<String>,

    /// The account service ID (ASID) the job belongs to
    #[arg(
        long,
        visible_alias = "account-service-id",
        env = "CLANFORGE_ASID",
        value_name = "ASID",
        global = true
    )]
    pub asid: Option<String>,

    /// Clanforge API access key
    #[arg(long, env = "CLANFORGE_ACCESS_KEY", value_name = "KEY", hide_env_values = true,
          value_parser = secret, global = true)]
    pub access_key: Option<Secret>,

    /// Clanforge API secret key
    #[arg(long, env = "CLANFORGE_SECRET_KEY", value_name = "KEY", hide_env_values = true,
          value_parser = secret, global = true)]
    pub secret_key: Option<Secret>,

    /// Read the secret key from FILE (a Docker or Kubernetes secret); a trailing newline is
    /// dropped
    #[arg(
        long,
        env = "CLANFORGE_SECRET_KEY_FILE",
        value_name = "FILE",
        conflicts_with = "secret_key",
        global = true
    )]
    pub secret_key_file: Option<PathBuf>,

    /// API root [default: https://api.multiplay.co.uk]
    #[arg(long, env = "CLANFORGE_BASE_URL", value_name = "URL", global = true)]
    pub base_url: Option<String>,

    /// Also trust this PEM certificate authority (a TLS-intercepting corporate proxy)
    #[arg(long, env = "CLANFORGE_CA_CERT", value_name = "FILE", global = true)]
    pub ca_cert: Option<PathBuf>,

    /// Allow a plain http:// base URL to a host other than this machine (the keys would cross
    /// the network unencrypted)
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,

    /// Overall deadline: the gate gives up (exit 3) after this long (at most 30 days)
    #[arg(long, env = "CLANFORGE_TIMEOUT", value_name = "DURATION", default_value = "30m",
          value_parser = duration, allow_hyphen_values = true, global = true)]
    pub timeout: Duration,

    /// First wait between polls while nothing predicts the job's end; waits then grow ×1.5
    /// (at most 1h) [default: 5s; 1s with --demo]
    #[arg(long, env = "CLANFORGE_INTERVAL", value_name = "DURATION", value_parser = duration, allow_hyphen_values = true,
          global = true)]
    pub interval: Option<Duration>,

    /// Cap on the wait between polls, but while jobeta or the progress rate says the job can't
    /// have ended yet (then up to 10 times this; at most 1h) [default: 30s; 3s with --demo]
    #[arg(long, env = "CLANFORGE_MAX_INTERVAL", value_name = "DURATION",
          value_parser = duration, allow_hyphen_values = true, global = true)]
    pub max_interval: Option<Duration>,

    /// Poll at this fixed interval instead (no backoff, no ETA guidance, no jitter; at most 1h)
    #[arg(long, env = "CLANFORGE_FIXED_INTERVAL", value_name = "DURATION",
          value_parser = duration, allow_hyphen_values = true, conflicts_with_all = ["interval", "max_interval"],
          global = true)]
    pub fixed_interval: Option<Duration>,

    /// Cap on one HTTP request (the time left to the deadline caps it too; at most 1h)
    #[arg(long, env = "CLANFORGE_REQUEST_TIMEOUT", value_name = "DURATION",
          default_value = "30s", value_parser = duration, allow_hyphen_values = true, global = true)]
    pub request_timeout: Duration,

    /// End the wait as stalled (exit 5) when the job's state, progress and ETA have not changed
    /// for this long; a job still queued counts (at most 30 days) [default: off]
    #[arg(long, env = "CLANFORGE_STALL_TIMEOUT", value_name = "DURATION",
          value_parser = duration, allow_hyphen_values = true, global = true)]
    pub stall_timeout: Option<Duration>,

    /// An install or rollout with nothing queued at the first look is done only if nothing
    /// appears this long after the start (work that was seen and is gone is done at once)
    #[arg(long, env = "CLANFORGE_SETTLE", value_name = "DURATION", default_value = "30s",
          value_parser = duration, allow_hyphen_values = true, global = true)]
    pub settle: Duration,

    /// `--settle` (or CLANFORGE_SETTLE) was given, not defaulted: only a chosen settle longer
    /// than the deadline is a mistake.
    #[arg(skip)]
    pub settle_given: bool,

    /// A rollout fails when more machines than this have failed to install
    #[arg(
        long,
        env = "CLANFORGE_MAX_FAILED_MACHINES",
        value_name = "N",
        default_value_t = 0,
        global = true
    )]
    pub max_failed_machines: u64,

    /// Wait on every job even after one fails (by default the first failure ends the gate)
    #[arg(long, env = "CLANFORGE_NO_FAIL_FAST", value_parser = boolish, global = true)]
    pub no_fail_fast: bool,

    /// Write the final result to FILE as one JSON object
    #[arg(long, value_name = "FILE", global = true)]
    pub result_file: Option<PathBuf>,

    /// Write the result as CLANFORGE_<KEY>=value lines (for GitLab's dotenv reports)
    #[arg(long, env = "CLANFORGE_DOTENV", value_name = "FILE", global = true)]
    pub dotenv: Option<PathBuf>,

    /// Print the final result on stdout as one JSON object
    #[arg(long, global = true)]
    pub json: bool,

    /// Log lines as text, or as one JSON object each
    #[arg(
        long,
        env = "CLANFORGE_LOG_FORMAT",
        value_name = "FORMAT",
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// Wait on (or start and deploy) jobs of an embedded simulated API instead: no credentials,
    /// and none of --update-id, --asid or --base-url (the result says it was simulated)
    #[arg(long, env = "CLANFORGE_DEMO", value_parser = boolish, global = true)]
    pub demo: bool,
}

/// The subcommands: those that run ([`Command`]), and `completions`.
// One value per process, parsed once: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    #[command(flatten)]
    Run(Command),
    /// Print the shell completion script for SHELL on stdout
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The default API root.
pub const BASE_URL: &str = "https://api.multiplay.co.uk";
/// The longest `--timeout`: a month is longer than any CI job may run.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);
/// The longest interval or request timeout: an hour between looks is already a long one.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// Where the gate writes its result, and how it logs: known even when the rest of the command
/// line is not valid, so that a usage error is written everywhere a success would be.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub result_file: Option<PathBuf>,
    pub dotenv: Option<PathBuf>,
    pub json: bool,
    pub log_format: LogFormat,
}

/// A command line that can't run: what to say, and where.
#[derive(Debug)]
pub struct Usage {
    pub outputs: Outputs,
    /// Every key given, valid or not: masked all the same.
    pub secrets: Vec<Secret>,
    /// The update ID as given, for the result.
    pub update_id: String,
    pub demo: bool,
    /// One line: what to fix.
    pub message: String,
}

/// Reads the command line (and the environment, and the files it names). `Err` only for what
/// prints and exits (`--help`, `help`, `--version`, `completions`); any other problem is a
/// [`Usage`].
pub fn parse<I, T>(args: I) -> Result<Result<Config, Usage>, Shown>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // `help` and `help deploy` as people type them: the same as `--help` and `deploy --help`.
    if args.get(1).is_some_and(|a| a == "help") {
        args.remove(1);
        args.push("--help".into());
    }
    match Cli::try_parse_from(&args) {
        Ok(Cli {
            command: Some(Sub::Completions { shell }),
            ..
        }) => Err(Shown::Completions(shell)),
        Ok(mut cli) => {
            cli.settle_given = given(&args, "settle")
                || std::env::var_os("CLANFORGE_SETTLE").is_some_and(|v| !v.is_empty());
            Ok(cli
                .config()
                .map(|mut config| {
                    config.warnings = flag_secrets(&args);
                    config
                })
                .map_err(|e| cli.usage(e.to_string())))
        }
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            Err(Shown::Clap(e))
        }
        Err(e) => Ok(Err(lenient::lenient(&args, &e))),
    }
}

/// What the command line asked to be printed instead of a run.
#[derive(Debug)]
pub enum Shown {
    /// `--help`, `--version`.
    Clap(clap::Error),
    /// `completions SHELL`.
    Completions(clap_complete::Shell),
}

impl Shown {
    /// Prints it on stdout; the exit code.
    pub fn print(self) -> u8 {
        match self {
            Self::Clap(e) => {
                let _ = e.print();
                e.exit_code() as u8
            }
            Self::Completions(shell) => {
                let mut command = Cli::command();
                clap_complete::generate(
                    shell,
                    &mut command,
                    "clanforge-wait",
                    &mut std::io::stdout(),
                );
                0
            }
        }
    }
}

/// `--long` (or `--long=…`) stands on the command line.
fn given(args: &[OsString], long: &str) -> bool {
    let (flag, prefix) = (format!("--{long}"), format!("--{long}="));
    args.iter().skip(1).any(|a| {
        let a = a.to_string_lossy();
        a == flag || a.starts_with(&prefix)
    })
}

/// A warning for each secret given as a flag, which any user of the machine can read in a
/// process listing.
fn flag_secrets(args: &[OsString]) -> Vec<String> {
    [
        ("access-key", "CLANFORGE_ACCESS_KEY"),
        ("secret-key", "CLANFORGE_SECRET_KEY or --secret-key-file"),
        ("url", "CLANFORGE_UPDATE_URL or --url-file"),
    ]
    .into_iter()
    .filter(|(long, _)| given(args, long))
    .map(|(long, instead)| {
        format!(
            "--{long} was given as a flag, and flags show in process listings (ps, /proc) to \
             every user of this machine: pass it as {instead} instead"
        )
    })
    .collect()
}

/// A boolean variable as people write it: `1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off`, any
/// case; empty is false. (A flag on the command line is true.)
pub(crate) fn boolish(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "off" | "n" | "f" => Ok(false),
        "1" | "true" | "yes" | "on" | "y" | "t" => Ok(true),
        _ => Err("write 1 or 0 (or true/false, yes/no, on/off)".into()),
    }
}

fn duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    if value.starts_with('-') {
        return Err("a duration can't be negative: write one such as 90s, 5m or \"1h 30m\"".into());
    }
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!("a duration needs a unit, e.g. {value}s"));
    }
    humantime::parse_duration(value)
        .map_err(|e| format!("{e} (write a duration such as 90s, 5m or \"1h 30m\")"))
}

pub(crate) fn secret(value: &str) -> Result<Secret, Infallible> {
    Ok(Secret::new(value.trim()))
}

/// A checked configuration: everything [`crate::main`] needs to run the gate.
#[derive(Debug)]
pub struct Config {
    /// What to wait on, in the order given, without repeats.
    pub jobs: Vec<JobRef>,
    pub asid: String,
    /// `None` with `--demo`: the simulator's address is known only once it serves.
    pub base_url: Option<Url>,
    pub credentials: Credentials,
    /// Extra trusted roots, PEM.
    pub ca_cert: Option<Vec<u8>>,
    pub timeout: Duration,
    pub policy: Policy,
    pub request_timeout: Duration,
    pub stall_timeout: Option<Duration>,
    pub settle: Duration,
    pub max_failed_machines: u64,
    pub fail_fast: bool,
    pub outputs: Outputs,
    /// `start` or `deploy`: what to create before waiting. `jobs` is empty then.
    pub plan: Option<Plan>,
    /// What the log warns of before the first request (a key given as a flag).
    pub warnings: Vec<String>,
}

impl Config {
    /// The IDs of the update jobs, space-separated: the `update_id` key.
    pub fn update_ids(&self) -> String {
        match &self.plan {
            Some(plan) => plan.known.update.clone().unwrap_or_default(),
            None => crate::kind::update_ids(&self.jobs),
        }
    }

    /// Every secret to mask: the keys (but the demo's) and the update URL with its parts.
    pub fn secrets(&self) -> Vec<Secret> {
        let mut secrets = Vec::new();
        if !self.demo() {
            secrets.push(self.credentials.access_key.clone());
            secrets.push(self.credentials.secret_key.clone());
        }
        if let Some(url) = self.plan.as_ref().and_then(|p| p.url.as_ref()) {
            secrets.extend(crate::api::change::url_secrets(url));
        }
        secrets
    }

    /// `--demo`: the API is the embedded simulator.
    pub fn demo(&self) -> bool {
        self.base_url.is_none()
    }
}

/// A flag or variable to fix (exit 2).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum UsageError {
    #[error("--job (CLANFORGE_JOBS) {0}")]
    Job(#[from] RefError),
    #[error(
        "nothing to wait on: name a job as KIND/ID (e.g. update/4711), with --job \
         (CLANFORGE_JOBS) or with --update-id (CLANFORGE_UPDATE_ID); or create one with `start` \
         or `deploy` (see --help)"
    )]
    NothingToWaitOn,
    #[error(
        "--settle ({settle}) is longer than --timeout ({timeout}): an install or rollout with \
         nothing queued would time out before it could count as done; lower --settle or raise \
         --timeout"
    )]
    SettleAboveTimeout { settle: String, timeout: String },
    #[error("{flag} is missing or empty: set it{hint}")]
    Empty {
        flag: &'static str,
        hint: &'static str,
    },
    #[error("--base-url (CLANFORGE_BASE_URL) {0}")]
    BaseUrl(String),
    #[error(
        "--base-url (CLANFORGE_BASE_URL) is plain http:// to {0}: the keys would cross the network \
         unencrypted; use https://, or pass --allow-insecure-http if you must"
    )]
    InsecureHttp(String),
    #[error("{flag} {path}: {reason}")]
    File {
        flag: &'static str,
        path: String,
        reason: String,
    },
    #[error("{flag} must be longer than zero")]
    Zero { flag: &'static str },
    #[error("{flag} is longer than its limit of {max}: lower it")]
    TooLong { flag: &'static str, max: String },
    #[error(
        "--demo (CLANFORGE_DEMO) waits on a simulated API and can't be combined with {flag}: a \
         real job would be reported done without a request to Clanforge; unset CLANFORGE_DEMO \
         (or drop --demo) to wait on the real job"
    )]
    DemoWithRealJob { flag: &'static str },
    #[error(
        "--interval ({interval}) is longer than --max-interval ({max}): lower it or raise the cap"
    )]
    IntervalAboveCap { interval: String, max: String },
    #[error(
        "--if-locked reject rejects the diff that locks the image, which discards it: add \
         --yes-reject-diff to allow that, or use --if-locked wait"
    )]
    RejectNotConfirmed,
    #[error("{flag} must be a positive integer, not {value:?}")]
    NotAnId { flag: &'static str, value: String },
    #[error(
        "job arguments ({0}) can't come with a subcommand: `start` and `deploy` wait on what they \
         create; wait on other jobs in a step of their own"
    )]
    JobsWithCommand(String),
}

pub const DEMO_UPDATE_ID: &str = "1234567";
pub const DEMO_VERSION_ID: &str = "99120";
const DEMO_ASID: &str = "demo";

impl Cli {
    /// `start` or `deploy`, if given.
    fn run_command(&self) -> Option<&Command> {
        match &self.command {
            Some(Sub::Run(command)) => Some(command),
            _ => None,
        }
    }

    /// The outputs the command line names.
    pub fn outputs(&self) -> Outputs {
        Outputs {
            result_file: self.result_file.clone(),
            dotenv: self.dotenv.clone(),
            json: self.json,
            log_format: self.log_format,
        }
    }

    fn usage(&self, message: String) -> Usage {
        let url = self.run_command().and_then(Command::url);
        Usage {
            outputs: self.outputs(),
            secrets: [&self.access_key, &self.secret_key]
                .into_iter()
                .flatten()
                .cloned()
                .chain(url.map(crate::api::change::url_secrets).unwrap_or_default())
                .collect(),
            update_id: self.update_id.clone().unwrap_or_default(),
            demo: self.demo,
            message,
        }
    }

    /// `--demo` with any sign of a real job is refused: a demo must never pass for a result.
    fn check_demo(&self) -> Result<(), UsageError> {
        let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        let key = |v: &Option<Secret>| v.as_ref().is_some_and(|k| !k.is_empty());
        let real = [
            (given(&self.update_id), "--update-id (CLANFORGE_UPDATE_ID)"),
            (
                !self.jobs.is_empty() || !self.job.is_empty(),
                "a job to wait on (KIND/ID, --job, CLANFORGE_JOBS)",
            ),
            (given(&self.asid), "--asid (CLANFORGE_ASID)"),
            (given(&self.base_url), "--base-url (CLANFORGE_BASE_URL)"),
            (key(&self.access_key), "--access-key (CLANFORGE_ACCESS_KEY)"),
            (key(&self.secret_key), "--secret-key (CLANFORGE_SECRET_KEY)"),
            (
                self.secret_key_file.is_some(),
                "--secret-key-file (CLANFORGE_SECRET_KEY_FILE)",
            ),
        ];
        let command = self.run_command().and_then(Command::real_flag);
        let flag = real
            .into_iter()
            .find_map(|(given, flag)| given.then_some(flag))
            .or(command);
        match flag {
            Some(flag) if self.demo => Err(UsageError::DemoWithRealJob { flag }),
            _ => Ok(()),
        }
    }

    /// Every job named: `--update-id`, the `KIND/ID` arguments, `--job` (CLANFORGE_JOBS).
    fn job_refs(&self) -> Result<Vec<JobRef>, UsageError> {
        if self.run_command().is_some() {
            // --job and --update-id may come from the environment (a variable set for another
            // step): only arguments on the command line itself are a mistake here.
            return match self.jobs.as_slice() {
                [] => Ok(Vec::new()),
                jobs => Err(UsageError::JobsWithCommand(jobs.join(" "))),
            };
        }
        let mut jobs = Vec::new();
        // --update-id takes any ID, as it always has.
        if let Some(id) = self
            .update_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
        {
            jobs.push(JobRef::new(JobKind::ImageUpdate, id));
        }
        for reference in self
            .jobs
            .iter()
            .chain(&self.job)
            .flat_map(|v| v.split_whitespace())
        {
            jobs.push(reference.parse()?);
        }
        let mut seen = std::collections::BTreeSet::new();
        jobs.retain(|job| seen.insert(job.clone()));
        match (jobs.is_empty(), self.demo) {
            (false, _) => Ok(jobs),
            (true, true) => Ok(vec![
                JobRef::new(JobKind::ImageUpdate, DEMO_UPDATE_ID),
                JobRef::new(JobKind::ImageVersion, DEMO_VERSION_ID),
                JobRef::new(JobKind::Install, DEMO_VERSION_ID),
            ]),
            (true, false) => Err(UsageError::NothingToWaitOn),
        }
    }

    pub fn config(&self) -> Result<Config, UsageError> {
        self.check_demo()?;
        let required = |value: &Option<String>, flag, fallback: &str| {
            let value = value.as_deref().map(str::trim).unwrap_or_default();
            match (value.is_empty(), self.demo) {
                (false, _) => Ok(value.to_owned()),
                (true, true) => Ok(fallback.to_owned()),
                (true, false) => Err(UsageError::Empty { flag, hint: "" }),
            }
        };
        let jobs = self.job_refs()?;
        let plan = match self.run_command() {
            Some(command) => Some(command.plan(self.demo)?),
            None => None,
        };
        let asid = required(&self.asid, "--asid (CLANFORGE_ASID)", DEMO_ASID)?;
        if !self.demo {
            start::id(&Some(asid.clone()), "--asid (CLANFORGE_ASID)")?;
        }
        let credentials = if self.demo {
            Credentials {
                access_key: Secret::new("demo"),
                secret_key: Secret::new("demo"),
            }
        } else {
            let secret_key = match &self.secret_key_file {
                Some(path) => secret_from_file(path)?,
                None => self.secret_key.clone(),
            };
            Credentials {
                access_key: key(&self.access_key, "--access-key (CLANFORGE_ACCESS_KEY)")?,
                secret_key: key(&secret_key, "--secret-key (CLANFORGE_SECRET_KEY)")?,
            }
        };
        let base_url = if self.demo {
            None
        } else {
            Some(base_url(
                self.base_url.as_deref().unwrap_or(BASE_URL),
                self.allow_insecure_http,
            )?)
        };
        let ca_cert = match &self.ca_cert {
            Some(path) => Some(read("--ca-cert (CLANFORGE_CA_CERT)", path)?),
            None => None,
        };
        let (default_interval, default_max) = if self.demo {
            (Duration::from_secs(1), Duration::from_secs(3))
        } else {
            (Duration::from_secs(5), Duration::from_secs(30))
        };
        let interval = self.interval.unwrap_or(default_interval);
        let max_interval = self.max_interval.unwrap_or(default_max.max(interval));
        for (flag, value, max) in [
            ("--timeout", Some(self.timeout), MAX_TIMEOUT),
            ("--interval", Some(interval), MAX_INTERVAL),
            ("--max-interval", Some(max_interval), MAX_INTERVAL),
            ("--fixed-interval", self.fixed_interval, MAX_INTERVAL),
            (
                "--request-timeout",
                Some(self.request_timeout),
                MAX_INTERVAL,
            ),
        ] {
            if value.is_some_and(|v| v.is_zero()) {
                return Err(UsageError::Zero { flag });
            }
            if value.is_some_and(|v| v > max) {
                let max = humantime::format_duration(max).to_string();
                return Err(UsageError::TooLong { flag, max });
            }
        }
        if self.settle_given && self.settle > self.timeout {
            return Err(UsageError::SettleAboveTimeout {
                settle: humantime::format_duration(self.settle).to_string(),
                timeout: humantime::format_duration(self.timeout).to_string(),
            });
        }
        if interval > max_interval {
            return Err(UsageError::IntervalAboveCap {
                interval: humantime::format_duration(interval).to_string(),
                max: humantime::format_duration(max_interval).to_string(),
            });
        }
        Ok(Config {
            jobs,
            asid,
            base_url,
            credentials,
            ca_cert,
            timeout: self.timeout,
            policy: match self.fixed_interval {
                Some(every) => Policy::Fixed(every),
                None => Policy::Guided {
                    interval,
                    max: max_interval,
                },
            },
            request_timeout: self.request_timeout,
            stall_timeout: self.stall_timeout,
            settle: self.settle,
            max_failed_machines: self.max_failed_machines,
            fail_fast: !self.no_fail_fast,
            outputs: self.outputs(),
            plan,
            warnings: Vec::new(),
        })
    }
}

fn key(value: &Option<Secret>, flag: &'static str) -> Result<Secret, UsageError> {
    match value {
        Some(secret) if !secret.is_empty() => Ok(secret.clone()),
        _ => Err(UsageError::Empty {
            flag,
            hint: " (in CI, check that the secret exists and is passed to this step)",
        }),
    }
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, UsageError> {
    std::fs::read(path).map_err(|e| UsageError::File {
        flag,
        path: path.display().to_string(),
        reason: format!("can't be read ({e})"),
    })
}

/// A secret from a file, without the trailing newline that `echo` and editors leave.
fn secret_from_file(path: &Path) -> Result<Option<Secret>, UsageError> {
    const FLAG: &str = "--secret-key-file (CLANFORGE_SECRET_KEY_FILE)";
    let bytes = read(FLAG, path)?;
    let text = String::from_utf8(bytes).map_err(|_| UsageError::File {
        flag: FLAG,
        path: path.display().to_string(),
        reason: "is not UTF-8 text".into(),
    })?;
    Ok(Some(Secret::new(text.trim_end_matches(['\r', '\n']))))
}

/// Only loopback may be reached over plain HTTP: Basic credentials travel in every request.
fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn base_url(value: &str, allow_insecure_http: bool) -> Result<Url, UsageError> {
    let url: Url = value.trim().parse().map_err(|e| {
        UsageError::BaseUrl(format!(
            "is not a URL ({e}): write e.g. https://api.multiplay.co.uk"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(UsageError::BaseUrl(
            "must be an http:// or https:// URL".into(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UsageError::BaseUrl(
            "must not hold credentials: pass them with --access-key and --secret-key".into(),
        ));
    }
    if url.scheme() == "http" && !allow_insecure_http && !is_loopback(&url) {
        return Err(UsageError::InsecureHttp(
            url.host_str().unwrap_or_default().to_owned(),
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut argv = vec!["clanforge-wait"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("parses")
    }

    const REAL: &[&str] = &[
        "--update-id",
        "42",
        "--asid",
        "7",
        "--access-key",
        "a",
        "--secret-key",
        "s",
    ];

    #[test]
    fn defaults_follow_the_contract() {
        let config = cli(REAL).config().unwrap();
        assert_eq!(config.timeout, Duration::from_secs(1800));
        assert_eq!(
            config.policy,
            Policy::Guided {
                interval: Duration::from_secs(5),
                max: Duration::from_secs(30)
            }
        );
        assert_eq!(config.request_timeout, Duration::from_secs(30));
        assert_eq!(
            config.base_url.unwrap().as_str(),
            "https://api.multiplay.co.uk/"
        );
    }

    #[test]
    fn an_empty_secret_names_its_flag() {
        let mut args = REAL.to_vec();
        args[7] = " ";
        let err = cli(&args).config().unwrap_err().to_string();
        assert!(
            err.starts_with("--secret-key (CLANFORGE_SECRET_KEY) is missing or empty"),
            "{err}"
        );
    }

    #[test]
    fn credentials_in_the_base_url_are_refused() {
        let mut args = REAL.to_vec();
        args.extend(["--base-url", "https://me:pw@api.example.com"]);
        assert!(matches!(cli(&args).config(), Err(UsageError::BaseUrl(_))));
    }

    #[test]
    fn plain_http_reaches_only_this_machine_unless_allowed() {
        for (url, ok) in [
            ("http://127.0.0.1:8080", true),
            ("http://127.9.9.9", true),
            ("http://localhost:1", true),
            ("http://[::1]:1", true),
            ("http://api.multiplay.co.uk", false),
            ("http://10.0.0.5", false),
            ("https://10.0.0.5", true),
        ] {
            assert_eq!(base_url(url, false).is_ok(), ok, "{url}");
            assert!(base_url(url, true).is_ok(), "{url}");
        }
    }

    #[test]
    fn an_interval_above_the_cap_is_refused() {
        let mut args = REAL.to_vec();
        args.extend(["--interval", "1m", "--max-interval", "30s"]);
        assert!(matches!(
            cli(&args).config(),
            Err(UsageError::IntervalAboveCap { .. })
        ));
    }

    #[test]
    fn a_raised_interval_raises_the_default_cap() {
        let mut args = REAL.to_vec();
        args.extend(["--interval", "1m"]);
        let policy = cli(&args).config().unwrap().policy;
        assert!(matches!(policy, Policy::Guided { max, .. } if max == Duration::from_secs(60)));
    }

    #[test]
    fn fixed_interval_replaces_the_policy_and_excludes_the_others() {
        let mut args = REAL.to_vec();
        args.extend(["--fixed-interval", "10s"]);
        assert_eq!(
            cli(&args).config().unwrap().policy,
            Policy::Fixed(Duration::from_secs(10))
        );
        args.extend(["--interval", "2s"]);
        let mut argv = vec!["clanforge-wait"];
        argv.extend_from_slice(&args);
        assert!(Cli::try_parse_from(argv).is_err());
    }

    #[test]
    fn the_demo_needs_nothing_else() {
        let config = cli(&["--demo"]).config().unwrap();
        let jobs: Vec<String> = config.jobs.iter().map(JobRef::reference).collect();
        assert_eq!(jobs, ["update/1234567", "version/99120", "install/99120"]);
        assert!(config.demo());
    }

    #[test]
    fn jobs_come_from_arguments_flags_and_the_variable_without_repeats() {
        let mut args = REAL.to_vec();
        args.extend([
            "diff/7",
            "--job",
            "version/8 install/8",
            "--job",
            "update/42",
            "install",
        ]);
        let jobs: Vec<String> = cli(&args)
            .config()
            .unwrap()
            .jobs
            .iter()
            .map(JobRef::reference)
            .collect();
        assert_eq!(
            jobs,
            ["update/42", "diff/7", "install", "version/8", "install/8"]
        );
    }

    #[test]
    fn a_malformed_reference_is_a_usage_error_that_lists_the_kinds() {
        let mut args = REAL.to_vec();
        args.push("updat/1");
        let error = cli(&args).config().unwrap_err().to_string();
        assert!(
            error.contains("\"updat/1\" is not a job: unknown kind"),
            "{error}"
        );
        assert!(
            error.contains("update, diff, version, install, rollout"),
            "{error}"
        );
    }

    #[test]
    fn the_demo_refuses_every_sign_of_a_real_job() {
        for extra in [
            ["--update-id", "4711"],
            ["--asid", "7"],
            ["--base-url", "https://api.multiplay.co.uk"],
            ["--access-key", "a"],
            ["--secret-key", "s"],
            ["--secret-key-file", "/dev/null"],
        ] {
            let mut args = vec!["--demo"];
            args.extend(extra);
            assert!(
                matches!(cli(&args).config(), Err(UsageError::DemoWithRealJob { .. })),
                "{args:?}"
            );
        }
    }

    #[test]
    fn durations_have_documented_limits() {
        for (flag, ok, too_long) in [
            ("--timeout", "30days", "31days"),
            ("--interval", "1h", "61m"),
            ("--max-interval", "1h", "61m"),
            ("--request-timeout", "1h", "3601s"),
            ("--fixed-interval", "1h", "2h"),
        ] {
            let mut args = REAL.to_vec();
            args.extend([flag, ok]);
            if flag == "--interval" {
                args.extend(["--max-interval", "1h"]);
            }
            assert!(cli(&args).config().is_ok(), "{flag} {ok}");
            let mut args = REAL.to_vec();
            args.extend([flag, too_long]);
            assert!(
                matches!(cli(&args).config(), Err(UsageError::TooLong { .. })),
                "{flag} {too_long}"
            );
        }
    }

    #[test]
    fn a_refused_command_line_still_names_its_outputs_and_keys() {
        let args = [
            "clanforge-wait",
            "--result-file",
            "r.json",
            "--dotenv=ci.env",
            "--json",
            "--secret-key",
            "s3cret",
            "--timeout",
            "soon",
        ];
        let usage = parse(args).unwrap().unwrap_err();
        assert_eq!(usage.outputs.result_file, Some(PathBuf::from("r.json")));
        assert_eq!(usage.outputs.dotenv, Some(PathBuf::from("ci.env")));
        assert!(usage.outputs.json);
        assert_eq!(usage.secrets, [Secret::new("s3cret")]);
        assert!(usage.message.contains("--timeout"), "{}", usage.message);
        assert!(!usage.message.contains('\n'), "{}", usage.message);
    }

    #[test]
    fn help_lists_the_exit_codes_and_the_variables() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("CLANFORGE_SECRET_KEY") && help.contains("Exit codes:"));
    }
}
