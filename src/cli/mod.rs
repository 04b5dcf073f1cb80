//! The command line: flags ([`args`]), their environment fallbacks, and the checks that turn
//! them into a [`Config`] ([`config`]); a command line clap refused is still read for its
//! outputs and secrets ([`lenient`]). Every error names the flag (and variable) to fix.

mod action;
mod args;
mod base_url;
mod config;
mod errors;
mod files;
mod help;
mod lenient;
pub(crate) mod start;

pub(crate) use action::{Action, Api, Probe};
pub(crate) use args::{Cli, LogFormat, Sub};
#[cfg(feature = "test-support")]
pub use args::{MAX_INTERVAL, MAX_TIMEOUT};
pub(crate) use args::{boolish, secret};
pub(crate) use config::{Config, DEMO_TOKEN, DEMO_UPDATE_ID, DEMO_VERSION_ID};
pub(crate) use errors::UsageError;
#[cfg(feature = "test-support")]
pub(crate) use help::command;

use crate::secret::Secret;
use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;
use std::path::PathBuf;

/// Where the gate writes its result, and how it logs: known even when the rest of the command
/// line is not valid, so that a usage error is written everywhere a success would be.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outputs {
    pub result_file: Option<PathBuf>,
    pub dotenv: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub json: bool,
    pub log_format: LogFormat,
}

/// A command line that can't run: what to say, and where.
#[derive(Debug)]
struct Usage {
    pub outputs: Outputs,
    /// The update ID as given, for the result.
    pub update_id: String,
    pub demo: bool,
    /// What to fix.
    pub error: UsageError,
}

/// A command line, read: where its outputs go and what to mask, known on every path, and the
/// run it asks for, or why it can't run.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub outputs: Outputs,
    /// Every secret given, valid or not: masked all the same.
    pub secrets: Vec<Secret>,
    /// The `update_id` key (as given, for a command line that can't run).
    pub update_id: String,
    pub demo: bool,
    /// The run, or one line that says what to fix (exit 2).
    pub config: Result<Config, UsageError>,
    /// What the log warns of before anything else: a secret given as a flag, a `CLANFORGE_*`
    /// variable nothing reads.
    pub warnings: Vec<String>,
}

impl Parsed {
    /// A command line that can't run. `secrets`: every one it gives ([`lenient::secrets`]).
    fn refused(usage: Usage, secrets: Vec<Secret>) -> Self {
        Self {
            outputs: usage.outputs,
            secrets,
            update_id: usage.update_id,
            demo: usage.demo,
            config: Err(usage.error),
            warnings: Vec::new(),
        }
    }

    /// A run. Its secrets: every one the command line gives, and those read from the files it
    /// names (`--secret-key-file`, `--url-file`).
    fn ready(outputs: Outputs, config: Config, mut secrets: Vec<Secret>) -> Self {
        add_secrets(&mut secrets, config.secrets());
        Self {
            outputs,
            secrets,
            update_id: config.update_ids(),
            demo: config.demo(),
            config: Ok(config),
            warnings: Vec::new(),
        }
    }
}

/// Reads the command line (and the environment, and the files it names). `Err` only for what
/// prints and exits (`--help`, `help`, `--version`, `completions`).
pub(crate) fn parse<I, T>(args: I) -> Result<Parsed, Shown>
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
    trace_file_after_a_space(&mut args);
    // Found once, the same way on every path: what is given (flags, variables, anything that
    // looks like a URL with credentials), whether clap takes the line or not.
    let secrets = lenient::secrets(&args);
    let unknown = unknown_variables(std::env::vars_os().map(|(name, _)| name));
    let parsed = match help::command()
        .try_get_matches_from(&args)
        .and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)))
    {
        Ok((cli @ Cli { command: Some(Sub::Completions { shell }), .. }, matches)) => {
            match help::gate_flag_given(&matches) {
                None => return Err(Shown::Completions(shell)),
                Some(flag) => {
                    Parsed::refused(cli.usage(UsageError::NotForCompletions(flag)), secrets)
                }
            }
        }
        Ok((mut cli, _)) => {
            cli.settle_given = lenient::chosen(&args, "settle");
            match cli.config() {
                Ok(config) => {
                    let mut parsed = Parsed::ready(cli.outputs(), config, secrets);
                    parsed.warnings = flag_secrets(&args);
                    parsed
                }
                Err(e) => Parsed::refused(cli.usage(e), secrets),
            }
        }
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return Err(Shown::Clap(e));
        }
        Err(e) => Parsed::refused(lenient::lenient(&args, &e), secrets),
    };
    let mut parsed = parsed;
    parsed.warnings.extend(unknown);
    Ok(parsed)
}

/// `--trace-http FILE`, written as curl's `--trace FILE` is: taken as `--trace-http=FILE` when
/// FILE is neither a job (`--trace-http update/1` traces to stderr and waits on the job) nor a
/// subcommand nor a flag.
fn trace_file_after_a_space(args: &mut Vec<OsString>) {
    let Some(at) = args.iter().position(|a| a == "--trace-http") else {
        return;
    };
    let Some(next) = args.get(at + 1).map(|a| a.to_string_lossy().into_owned()) else {
        return;
    };
    let file = !next.starts_with('-')
        && next != "help"
        && Cli::command().find_subcommand(&next).is_none()
        && next.parse::<crate::kind::JobRef>().is_err();
    if file {
        args[at] = format!("--trace-http={next}").into();
        args.remove(at + 1);
    }
}

/// `CLANFORGE_*` names the project's other files use and the gate does not read: the GitLab
/// template's command line, and (by prefix) the install script's and the template's
/// `CLANFORGE_WAIT_*`; the test suite's switch for the platforms' parsers.
const NOT_OURS: [&str; 3] = ["CLANFORGE_COMMAND", "CLANFORGE_ORACLES", "CLANFORGE_WAIT_"];

/// A warning for each `CLANFORGE_*` variable among `names` that no flag reads and no output of
/// ours sets (a dotenv file's keys come back as variables in a later job), naming the closest
/// one that is read: `CLANFORGE_TIMOUT` is silently ignored otherwise.
fn unknown_variables(names: impl Iterator<Item = OsString>) -> Vec<String> {
    let mut known = Vec::new();
    let mut stack = vec![Cli::command()];
    while let Some(command) = stack.pop() {
        known.extend(
            command
                .get_arguments()
                .filter_map(|arg| arg.get_env())
                .map(|env| env.to_string_lossy().into_owned()),
        );
        stack.extend(command.get_subcommands().cloned());
    }
    let set =
        crate::outcome::Summary::default().pairs().map(|(key, _)| crate::outcome::variable(key));
    let mut unknown: Vec<String> = names
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.starts_with("CLANFORGE_"))
        .filter(|name| !known.contains(name) && !set.contains(name))
        .filter(|name| !NOT_OURS.iter().any(|other| name.starts_with(other)))
        .collect();
    unknown.sort();
    unknown.dedup();
    unknown
        .into_iter()
        .map(|name| {
            let closest = known
                .iter()
                .min_by_key(|candidate| strsim::levenshtein(&name, candidate))
                .map(|c| format!(" (did you mean {c}?)"))
                .unwrap_or_default();
            format!(
                "{name} is set, but clanforge-wait reads no such variable{closest}: it is ignored"
            )
        })
        .collect()
}

/// A command line whose reading did not finish (an input file that blocked, then a signal or
/// the deadline came): what it names, found without opening any file, and `why` it can't run.
pub(crate) fn unread(args: &[OsString], why: String) -> Parsed {
    Parsed::refused(lenient::unread(args, why), lenient::secrets(args))
}

/// How long reading the command line's files may take: its `--timeout`, whose deadline bounds
/// every path (the default when it can't be read).
pub(crate) fn setup_deadline(args: &[OsString]) -> std::time::Duration {
    lenient::text_of(args, "timeout")
        .and_then(|t| humantime::parse_duration(&t).ok())
        .unwrap_or(args::DEFAULT_TIMEOUT)
}

/// What the command line asked to be printed instead of a run.
#[derive(Debug)]
pub(crate) enum Shown {
    /// `--help`, `--version`.
    Clap(clap::Error),
    /// `completions SHELL`.
    Completions(clap_complete::Shell),
}

impl Shown {
    /// Prints it on stdout. A stdout that can't take it (`| head -1` closed it) is not an
    /// error to report, and never a panic: the script is made first, then written.
    pub(crate) fn print(self) {
        match self {
            Self::Clap(e) => {
                let _ = e.print();
            }
            Self::Completions(shell) => {
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut help::command(), "clanforge-wait", &mut script);
                let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            }
        }
    }
}

/// Adds each of `more` to `secrets` that is not there yet: every secret masked once.
fn add_secrets(secrets: &mut Vec<Secret>, more: impl IntoIterator<Item = Secret>) {
    for secret in more {
        if !secrets.contains(&secret) {
            secrets.push(secret);
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
        ("token", "CLANFORGE_TOKEN or --token-file"),
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
