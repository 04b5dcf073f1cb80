//! A command line that clap refused, read leniently: the outputs it names and the secrets to
//! mask, found wherever they stand, and clap's message made one line that says what to fix and
//! where the bad value came from (a flag, or a variable).

use super::{Cli, LogFormat, Outputs, Usage, UsageError};
use crate::secret::Secret;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

/// What can still be read from a command line clap refused: the outputs, the keys to mask.
/// Each value is looked for three ways, so that one bad argument hides none after it: clap's
/// reading with nothing required and every value plain text, then the arguments themselves
/// (`--flag VALUE`, `--flag=VALUE`), then the flag's variable.
pub(super) fn lenient(args: &[OsString], error: &clap::Error) -> Usage {
    let mut message = message(args, error);
    let mut usage = unread(args, String::new());
    for (id, named, what) in [
        ("result_file", &usage.outputs.result_file, "no result file was written"),
        ("dotenv", &usage.outputs.dotenv, "no dotenv file was written"),
        ("junit", &usage.outputs.junit, "no JUnit file was written"),
        ("summary", &usage.outputs.summary, "no summary file was written"),
    ] {
        let long = Flag::of(id).map(|f| f.long).unwrap_or_default();
        if named.is_none() && message.contains(&format!("--{long}")) {
            message.push_str(&format!("; {what}: fix --{long} to have one"));
        }
    }
    usage.error = UsageError::CommandLine(message);
    usage
}

/// What a command line names (its outputs, the update ID, whether it is a demo), read without
/// opening any file it names: for a line that can't run with `message`.
pub(super) fn unread(args: &[OsString], message: String) -> Usage {
    let loose = Loose::read(args);
    let (value, text, flag) =
        (|id: &str| loose.value(id), |id: &str| loose.text(id), |id: &str| loose.flag(id));
    let outputs = Outputs {
        result_file: value("result_file").map(PathBuf::from),
        dotenv: value("dotenv").map(PathBuf::from),
        junit: value("junit").map(PathBuf::from),
        summary: value("summary").map(PathBuf::from),
        json: flag("json") && !Flag::of("json").is_some_and(|f| f.env_says_false()),
        log_format: text("log_format")
            .and_then(|f| LogFormat::from_str(&f, true).ok())
            .unwrap_or_default(),
    };
    Usage {
        outputs,
        update_id: text("update_id").unwrap_or_default(),
        demo: flag("demo") && !Flag::of("demo").is_some_and(|f| f.env_says_false()),
        error: UsageError::CommandLine(message),
    }
}

/// The variables a proxy is read from (reqwest's), whose user-info is a secret too.
const PROXY_VARIABLES: [&str; 6] =
    ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/// Every secret the command line gives, valid or not, so that it is masked all the same: the
/// keys and the update URL (with each of its parts) from their flags or variables, the base
/// URL's and the proxies' user-info, and any argument that looks like a URL with credentials,
/// wherever it stands.
pub(super) fn secrets(args: &[OsString]) -> Vec<Secret> {
    let loose = Loose::read(args);
    let text = |id: &str| loose.text(id);
    let keys = ["access_key", "secret_key", "token"]
        .into_iter()
        .filter_map(text)
        .filter(|key| !key.is_empty())
        .map(Secret::new);
    // The base URL and the proxies may carry a user and password of their own.
    let proxies = PROXY_VARIABLES.into_iter().filter_map(|name| std::env::var(name).ok());
    let urls: Vec<Secret> = text("url")
        .into_iter()
        .chain(text("base_url").and_then(|url| credential_url(&url)))
        .chain(proxies.filter_map(|url| credential_url(&url)))
        .chain(args.iter().filter_map(|arg| credential_url(&arg.to_string_lossy())))
        .filter(|url| !url.is_empty())
        .map(Secret::new)
        .collect();
    let mut secrets: Vec<Secret> = Vec::new();
    super::add_secrets(
        &mut secrets,
        keys.chain(urls.iter().flat_map(crate::api::change::url_secrets)),
    );
    secrets
}

/// A command line read by clap with nothing required and every value plain text, so that one
/// bad argument hides none after it; a value not found there is looked for in the arguments
/// themselves (`--flag VALUE`, `--flag=VALUE`), then in the flag's variable.
struct Loose<'a> {
    matches: clap::ArgMatches,
    args: &'a [OsString],
}

impl<'a> Loose<'a> {
    fn read(args: &'a [OsString]) -> Self {
        let matches = loosen(Cli::command())
            .ignore_errors(true)
            .try_get_matches_from(args)
            .unwrap_or_default();
        Self { matches, args }
    }

    /// A flag after a subcommand is in that subcommand's matches (globals included): the
    /// innermost subcommand first.
    fn levels(&self) -> Vec<&clap::ArgMatches> {
        let mut levels = vec![&self.matches];
        while let Some((_, sub)) = levels[levels.len() - 1].subcommand() {
            levels.push(sub);
        }
        levels.reverse();
        levels
    }

    fn value(&self, id: &str) -> Option<OsString> {
        self.levels()
            .into_iter()
            .find_map(|m| m.try_get_one::<OsString>(id).ok().flatten().cloned())
            .or_else(|| Flag::of(id).and_then(|flag| flag.find(self.args)))
    }

    fn text(&self, id: &str) -> Option<String> {
        self.value(id).map(|v| v.to_string_lossy().trim().to_owned())
    }

    fn flag(&self, id: &str) -> bool {
        self.levels().into_iter().any(|m| m.try_get_one::<bool>(id).ok().flatten() == Some(&true))
            || Flag::of(id).is_some_and(|flag| flag.given(self.args))
    }
}

/// The value of clap's argument `id` as given (flag or variable), read leniently.
pub(super) fn text_of(args: &[OsString], id: &str) -> Option<String> {
    Loose::read(args).text(id)
}

/// Clap's argument `id` was given, on the command line or by its variable, not defaulted.
pub(super) fn chosen(args: &[OsString], id: &str) -> bool {
    Flag::of(id).is_some_and(|flag| flag.chosen(args))
}

/// One flag as the command line and the environment may give it.
struct Flag {
    long: String,
    env: Option<String>,
    /// Its value is never shown (a key).
    secret: bool,
}

impl Flag {
    /// The flag of clap's argument `id`, in the command or any subcommand.
    fn of(id: &str) -> Option<Self> {
        Self::find_in(&Cli::command(), &|arg| arg.get_id() == id)
    }

    /// The flag named `--long`.
    fn by_long(long: &str) -> Option<Self> {
        Self::find_in(&Cli::command(), &|arg| arg.get_long() == Some(long))
    }

    fn find_in(command: &clap::Command, pick: &dyn Fn(&clap::Arg) -> bool) -> Option<Self> {
        let flag = command.get_arguments().find(|a| pick(a)).and_then(|arg| {
            Some(Self {
                long: arg.get_long()?.to_owned(),
                env: arg.get_env().and_then(|e| e.to_str()).map(str::to_owned),
                secret: arg.is_hide_env_values_set(),
            })
        });
        flag.or_else(|| command.get_subcommands().find_map(|sub| Self::find_in(sub, pick)))
    }

    /// The last value given as `--long VALUE` or `--long=VALUE`, else the variable's.
    fn find(&self, args: &[OsString]) -> Option<OsString> {
        let (flag, prefix) = (format!("--{}", self.long), format!("--{}=", self.long));
        let mut found = None;
        let mut rest = args.iter().skip(1);
        while let Some(arg) = rest.next() {
            let text = arg.to_string_lossy();
            if text == "--" {
                break;
            }
            if text == flag {
                // A flag where the value should be is not the value.
                found = rest
                    .next()
                    .filter(|v| !v.to_string_lossy().starts_with("--"))
                    .cloned()
                    .or(found);
            } else if let Some(value) = text.strip_prefix(&prefix) {
                found = Some(value.into());
            }
        }
        found.or_else(|| self.env_value())
    }

    /// The variable's value, if it is set and not empty.
    fn env_value(&self) -> Option<OsString> {
        self.env.as_deref().and_then(std::env::var_os).filter(|v| !v.is_empty())
    }

    /// The flag stands on the command line (`--long` or `--long=…`).
    fn given(&self, args: &[OsString]) -> bool {
        super::given(args, &self.long)
    }

    /// Given on the command line or by its variable (set and not empty), not defaulted.
    fn chosen(&self, args: &[OsString]) -> bool {
        self.given(args) || self.env_value().is_some()
    }

    /// The variable is set to a word for false (`0`, `false`, `no`, `off`, empty).
    fn env_says_false(&self) -> bool {
        self.env
            .as_deref()
            .and_then(|name| std::env::var(name).ok())
            .is_some_and(|v| super::boolish(&v) == Ok(false))
    }

    /// Where the value came from, for a person: `--long`, or `VAR="value"` when the variable
    /// gave it (`VAR (set in the environment)` for a key, whose value is never shown).
    fn source(&self, args: &[OsString]) -> String {
        match self.env.as_deref().filter(|_| !self.given(args)) {
            Some(var) if self.secret => format!("{var} (set in the environment)"),
            Some(var) => {
                let value = std::env::var(var).unwrap_or_default();
                format!("{var}={value:?}")
            }
            None => format!("--{}", self.long),
        }
    }
}

/// The `--long` of clap's `--long <VALUE>`.
fn long_of(arg: &str) -> Option<&str> {
    arg.split([' ', '=']).next()?.strip_prefix("--")
}

/// A subcommand given without the one it needs (`start` without `update`): what it takes.
fn needs_subcommand(args: &[OsString]) -> Option<String> {
    let mut command = Cli::command();
    let mut path = Vec::new();
    for arg in args.iter().skip(1).filter_map(|a| a.to_str()) {
        if let Some(sub) = command.find_subcommand(arg) {
            path.push(arg.to_owned());
            command = sub.clone();
        }
    }
    let names: Vec<&str> = command.get_subcommands().map(clap::Command::get_name).collect();
    let path = path.join(" ");
    (!names.is_empty()).then(|| {
        format!(
            "`{path}` needs one of: {}; e.g. clanforge-wait {path} {} (see clanforge-wait {path} \
             --help)",
            names.join(", "),
            names[0]
        )
    })
}

/// A missing argument, named, with its variable where it has one: one line.
fn missing(error: &clap::Error) -> String {
    let missing: Vec<String> = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::Strings(args)) => args.clone(),
        Some(ContextValue::String(arg)) => vec![arg.clone()],
        _ => return clap_message(error),
    };
    let named: Vec<String> = missing
        .iter()
        .map(|arg| {
            let env = long_of(arg).and_then(Flag::by_long).and_then(|flag| flag.env.clone());
            match env {
                Some(env) => format!("{arg} (or {env})"),
                None => arg.clone(),
            }
        })
        .collect();
    format!("missing {}: give it (see --help)", named.join(", "))
}

fn context(error: &clap::Error, kind: ContextKind) -> Option<String> {
    match error.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(s) => Some(s.join(", ")),
        _ => None,
    }
}

/// An argument that looks like a URL with credentials (`--url=s3://key:secret@…`, or one put
/// where clap did not expect it): masked all the same when the command line is refused.
fn credential_url(arg: &str) -> Option<String> {
    let url = arg.strip_prefix("--url=").unwrap_or(arg).trim();
    let creds = url.split_once("://").is_some_and(|(_, rest)| rest.contains('@'))
        || url.contains("credentials=");
    creds.then(|| url.to_owned())
}

/// `command` and its subcommands with nothing required and every value read as plain text.
fn loosen(command: clap::Command) -> clap::Command {
    command
        .mut_args(|arg| {
            let arg = arg.required(false);
            if arg.get_action().takes_values() {
                arg.value_parser(clap::value_parser!(OsString))
            } else {
                arg
            }
        })
        .mut_subcommands(loosen)
}

/// What to fix, on one line: where clap's own words would name a flag for a value that came
/// from a variable, or a conflict with one, they name the variable and its value instead.
pub(super) fn message(args: &[OsString], error: &clap::Error) -> String {
    let invalid = context(error, ContextKind::InvalidArg);
    let flag = invalid.as_deref().and_then(long_of).and_then(Flag::by_long);
    match (error.kind(), flag) {
        (ErrorKind::ValueValidation | ErrorKind::InvalidValue, Some(flag))
            if flag.env.is_some() && !flag.given(args) =>
        {
            let reason = match error.kind() {
                ErrorKind::ValueValidation => {
                    std::error::Error::source(error).map(ToString::to_string).unwrap_or_default()
                }
                _ => match context(error, ContextKind::ValidValue) {
                    Some(valid) => format!("write one of {valid}"),
                    None => "it needs a value".into(),
                },
            };
            format!("{}: {reason}", flag.source(args))
        }
        (ErrorKind::ArgumentConflict, Some(flag)) => {
            let prior = context(error, ContextKind::PriorArg)
                .as_deref()
                .and_then(long_of)
                .and_then(Flag::by_long);
            match prior {
                Some(prior) => {
                    let (a, b) = (flag.source(args), prior.source(args));
                    format!("{a} and {b} can't both be given: keep one of them")
                }
                None => clap_message(error),
            }
        }
        (ErrorKind::MissingRequiredArgument, _) => missing(error),
        (ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand, _) => {
            needs_subcommand(args).unwrap_or_else(|| clap_message(error))
        }
        (ErrorKind::UnknownArgument, _)
            if invalid
                .as_deref()
                .is_some_and(|a| a.len() > 1 && a.as_bytes()[1].is_ascii_digit()) =>
        {
            format!(
                "{} (a negative duration? durations are positive, such as 5m)",
                clap_message(error)
            )
        }
        _ => clap_message(error),
    }
}

/// clap's message on one line, without its usage block: the same words in the log and in every
/// output. Its tips (a similar flag) stay.
pub(super) fn clap_message(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let mut line = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .map(|l| l.strip_prefix("tip: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("; ");
    if let Some(rest) = line.strip_prefix("error: ") {
        line = rest.to_owned();
    }
    line
}
