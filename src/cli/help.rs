//! The command line as `--help` shows it and the parser reads it: clap's definitions
//! ([`super::args`]) with each subcommand's own flags first and the shared ones under headings,
//! the flags a subcommand does not read left out of its help, and the exit codes at the end of
//! every help (from the one table, [`crate::outcome::EXIT_CODES`]).

use super::Cli;
use crate::outcome::exit_codes_help;
use clap::CommandFactory;

/// The shared (global) flags, by heading, in the order the help shows them.
const HEADINGS: [(&str, &[&str]); 4] = [
    (
        "Connection",
        &[
            "asid",
            "access_key",
            "secret_key",
            "secret_key_file",
            "token",
            "token_file",
            "base_url",
            "ca_cert",
            "allow_insecure_http",
        ],
    ),
    (
        "Waiting",
        &[
            "timeout",
            "interval",
            "max_interval",
            "fixed_interval",
            "request_timeout",
            "unreachable_timeout",
            "stall_timeout",
            "settle",
            "max_failed_machines",
            "no_fail_fast",
            "max_body",
        ],
    ),
    ("Outputs", &["result_file", "dotenv", "junit", "summary", "json", "log_format", "trace_http"]),
    ("Demo", &["demo", "demo_token"]),
];

/// The shared flags `check` does not read: it polls nothing and sends a request or two.
const NOT_FOR_CHECK: [&str; 8] = [
    "interval",
    "max_interval",
    "fixed_interval",
    "unreachable_timeout",
    "stall_timeout",
    "settle",
    "max_failed_machines",
    "no_fail_fast",
];

/// The command line's definition, as shown and as parsed.
pub(crate) fn command() -> clap::Command {
    let mut command = Cli::command().mut_args(|arg| {
        let id = arg.get_id().as_str().to_owned();
        match HEADINGS.iter().find(|(_, ids)| ids.contains(&id.as_str())) {
            Some((heading, _)) => arg.help_heading(*heading),
            None => arg,
        }
    });
    command = with_exit_codes(command);
    let shared: Vec<&str> = HEADINGS.iter().flat_map(|(_, ids)| ids.iter()).copied().collect();
    let command = hide_in(command, "check", &NOT_FOR_CHECK);
    hide_in(command, "completions", &shared)
}

/// The first shared flag given on the command line, by its long name (`--timeout`): for
/// `completions`, which prints a script and takes none of them (their variables are ignored).
pub(super) fn gate_flag_given(matches: &clap::ArgMatches) -> Option<String> {
    let levels = [Some(matches), matches.subcommand_matches("completions")];
    let given = |id: &&&str| {
        levels
            .iter()
            .flatten()
            .any(|m| m.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
    };
    let id = HEADINGS.iter().flat_map(|(_, ids)| ids.iter()).find(given)?;
    Some(format!("--{}", id.replace('_', "-")))
}

/// Every help ends with the exit codes.
fn with_exit_codes(command: clap::Command) -> clap::Command {
    let codes = exit_codes_help();
    command.mut_subcommands(|sub| {
        let sub = match sub.get_after_help() {
            Some(_) => sub,
            None => sub.after_help(codes.clone()),
        };
        with_exit_codes(sub)
    })
}

/// Leaves the shared flags `ids` out of the help of subcommand `name` (it still takes them from
/// the environment): a hidden copy of each, given to the subcommand before clap hands the
/// shared flags down, stands in for it there.
fn hide_in(command: clap::Command, name: &str, ids: &[&str]) -> clap::Command {
    let hidden: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|arg| ids.contains(&arg.get_id().as_str()))
        .map(|arg| arg.clone().hide(true).help_heading(None))
        .collect();
    command.mut_subcommand(name, |sub| sub.args(hidden))
}
