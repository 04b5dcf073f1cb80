//! The flags themselves: clap's definitions, their variables and defaults, and the parsers of
//! their values. What the values must satisfy together is in [`super::config`].

use super::start::Command;
use crate::outcome::exit_codes_help;
use crate::secret::Secret;
use clap::{Parser, ValueEnum};
use std::convert::Infallible;
use std::path::PathBuf;
use std::time::Duration;

const ABOUT: &str = "Wait for Multiplay Clanforge deploy jobs to finish (image updates, diffs, \
                     versions, installs, rollouts): the CI gate between uploading a server build \
                     and rolling it out.";

const USAGE: &str = "clanforge-wait [OPTIONS] [JOB]...\n       \
                     clanforge-wait [OPTIONS] start <update|diff|version> [START OPTIONS]\n       \
                     clanforge-wait [OPTIONS] deploy [DEPLOY OPTIONS]\n       \
                     clanforge-wait [OPTIONS] check [--image-id ID --game-id ID]\n       \
                     clanforge-wait completions <bash|zsh|fish|powershell|elvish>";

const AFTER_HELP: &str = "With several jobs, the exit code is the worst outcome, in this order: 2, 4, 1, \
                          5, 3, 0 (a signal's code wins over all).\n\
                          Pass the token or the keys through the environment (CLANFORGE_TOKEN; \
                          CLANFORGE_ACCESS_KEY, CLANFORGE_SECRET_KEY) rather than flags: flags \
                          show in process listings.";

#[derive(Debug, Parser)]
#[command(name = "clanforge-wait", version, about = ABOUT, subcommand_negates_reqs = true,
          disable_help_subcommand = true, override_usage = USAGE,
          after_help = format!("{}\n{AFTER_HELP}", exit_codes_help()))]
pub(crate) struct Cli {
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

    /// API token, for the operator's host (api.multiplay.dev, Bearer auth) instead of the keys
    #[arg(long, env = "CLANFORGE_TOKEN", value_name = "TOKEN", hide_env_values = true,
          value_parser = secret, global = true)]
    pub token: Option<Secret>,

    /// Read the API token from FILE; a trailing newline is dropped
    #[arg(
        long,
        env = "CLANFORGE_TOKEN_FILE",
        value_name = "FILE",
        conflicts_with = "token",
        global = true
    )]
    pub token_file: Option<PathBuf>,

    /// API root [default: https://api.multiplay.dev with a token, https://api.multiplay.co.uk
    /// with keys]
    #[arg(
        long,
        env = "CLANFORGE_BASE_URL",
        value_name = "URL",
        global = true,
        hide_env_values = true
    )]
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

    /// Give up (exit 4) on a host never reached: no address, connections refused or TLS
    /// failing on every try for this long (and 3 tries), with no answer yet; once the API has
    /// answered, the same faults are retried until --timeout
    #[arg(long, env = "CLANFORGE_UNREACHABLE_TIMEOUT", value_name = "DURATION",
          default_value = "30s", value_parser = duration, allow_hyphen_values = true, global = true)]
    pub unreachable_timeout: Duration,

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
    #[arg(long, env = "CLANFORGE_RESULT_FILE", value_name = "FILE", global = true)]
    pub result_file: Option<PathBuf>,

    /// Write the result as CLANFORGE_<KEY>=value lines (for GitLab's dotenv reports)
    #[arg(long, env = "CLANFORGE_DOTENV", value_name = "FILE", global = true)]
    pub dotenv: Option<PathBuf>,

    /// Write a JUnit XML report to FILE, a test case per job (for Jenkins' junit step, GitLab's
    /// test report, and any CI that reads JUnit)
    #[arg(long, env = "CLANFORGE_JUNIT", value_name = "FILE", global = true)]
    pub junit: Option<PathBuf>,

    /// Write a Markdown summary to FILE: a table of the jobs and a Mermaid chart of when each ran
    #[arg(long, env = "CLANFORGE_SUMMARY", value_name = "FILE", global = true)]
    pub summary: Option<PathBuf>,

    /// Print the final result on stdout as one JSON object
    #[arg(long, env = "CLANFORGE_JSON", value_parser = boolish, global = true)]
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

    /// The most of a fleet's answer (the install list, the rollout status) that is read, as
    /// 64MiB or 256MiB (1MiB to 1GiB); a job's status is capped at 1MiB whatever this is
    #[arg(long, env = "CLANFORGE_MAX_BODY", value_name = "SIZE", default_value = "64MiB",
          value_parser = size, global = true)]
    pub max_body: usize,

    /// Write each HTTP request and its answer (status, Date, Retry-After, Content-Type, time,
    /// the body's first 4 KiB) to stderr, or append them to FILE, with every secret redacted:
    /// what to attach to a bug report
    #[arg(long, env = "CLANFORGE_TRACE_HTTP", value_name = "FILE", num_args = 0..=1,
          require_equals = true, default_missing_value = "-", global = true)]
    pub trace_http: Option<String>,

    /// Wait on (or start and deploy) jobs of an embedded simulated API instead: no credentials,
    /// and none of --update-id, --asid or --base-url (the result says it was simulated)
    #[arg(long, env = "CLANFORGE_DEMO", value_parser = boolish, global = true)]
    pub demo: bool,

    /// With --demo: the simulated API speaks the operator's dialect (a token as Bearer auth,
    /// no ASID on v1 calls) instead of Unity's (keys as Basic auth, an ASID on every call)
    #[arg(long, env = "CLANFORGE_DEMO_TOKEN", value_parser = boolish, global = true)]
    pub demo_token: bool,
}

/// The subcommands: those that run ([`Command`]), and `completions`.
// One value per process, parsed once: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Sub {
    #[command(flatten)]
    Run(Command),
    /// Is this pipeline set up right? Read-only requests (the install list; image/options with
    /// --image-id) that check the base URL, the network, TLS, the credentials, the ASID and the
    /// server's clock, and say what to fix
    Check(CheckArgs),
    /// Print the shell completion script for SHELL on stdout
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
}

/// `check`'s own flags.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Image")]
pub(crate) struct CheckArgs {
    /// Also look the image up (image/options): found, and what locks it
    #[arg(long, env = "CLANFORGE_IMAGE_ID", value_name = "ID")]
    pub image_id: Option<String>,
    /// The image's game, which image/options needs
    #[arg(long, env = "CLANFORGE_GAME_ID", value_name = "ID")]
    pub game_id: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The default API root for access and secret keys: Unity's host.
pub(super) const BASE_URL: &str = "https://api.multiplay.co.uk";
/// The default API root for a token: the operator's host.
pub(super) const TOKEN_BASE_URL: &str = "https://api.multiplay.dev";
/// The longest `--timeout`: a month is longer than any CI job may run.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);
/// `--timeout`'s default, as its `default_value` says.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The longest interval or request timeout: an hour between looks is already a long one.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// A boolean variable as people write it: `1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off`, any
/// case; empty is false. (A flag on the command line is true.) Not clap's `BoolishValueParser`,
/// which takes the same words but refuses the empty value an unset CI input arrives as.
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

/// A size in bytes: a number and a unit (`B`, `KiB`, `MiB`, `GiB`, or `KB`, `MB`, `GB`, any
/// case), from 1 MiB to 1 GiB. Our own: a size crate would still leave the unit required, the
/// range and each message that says what to write here, which is most of these lines.
fn size(value: &str) -> Result<usize, String> {
    let value = value.trim();
    let split = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let unit_bytes: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" => return Err(format!("a size needs a unit, e.g. {number}MiB")),
        "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!("unknown unit {other:?}: write a size such as 64MiB"));
        }
    };
    let bytes = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_bytes))
        .ok_or_else(|| "write a size such as 64MiB or 256MiB".to_owned())?;
    match bytes {
        b if b < 1 << 20 => Err("at least 1MiB: a job's status alone may be that large".into()),
        b if b > 1 << 30 => Err("at most 1GiB".into()),
        b => Ok(b as usize),
    }
}

pub(crate) fn secret(value: &str) -> Result<Secret, Infallible> {
    Ok(Secret::new(value.trim()))
}
