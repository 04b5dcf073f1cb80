use super::*;
use crate::cli::parse;
use clap::{CommandFactory, Parser};
use std::path::PathBuf;

fn cli(args: &[&str]) -> Cli {
    let mut argv = vec!["clanforge-wait"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).expect("parses")
}

fn waited(config: &Config) -> &[JobRef] {
    match &config.action {
        Action::Wait(jobs) => jobs,
        _ => &[],
    }
}

const REAL: &[&str] =
    &["--update-id", "42", "--asid", "7", "--access-key", "a", "--secret-key", "s"];

#[test]
fn defaults_follow_the_contract() {
    let config = cli(REAL).config().unwrap();
    assert_eq!(config.settings.timeout, Duration::from_secs(1800));
    assert_eq!(
        config.settings.policy,
        Policy::Guided { interval: Duration::from_secs(5), max: Duration::from_secs(30) }
    );
    assert_eq!(config.settings.request_timeout, Duration::from_secs(30));
    assert!(
        matches!(&config.api, Api::Real(url) if url.as_str() == "https://api.multiplay.co.uk/")
    );
}

#[test]
fn an_empty_secret_names_its_flag() {
    let mut args = REAL.to_vec();
    args[7] = " ";
    let err = cli(&args).config().unwrap_err().to_string();
    assert!(err.starts_with("--secret-key (CLANFORGE_SECRET_KEY) is missing or empty"), "{err}");
}

#[test]
fn credentials_in_the_base_url_are_refused() {
    let mut args = REAL.to_vec();
    args.extend(["--base-url", "https://me:pw@api.example.com"]);
    assert!(matches!(cli(&args).config(), Err(UsageError::BaseUrl(_))));
}

#[test]
fn an_interval_above_the_cap_is_refused() {
    let mut args = REAL.to_vec();
    args.extend(["--interval", "1m", "--max-interval", "30s"]);
    assert!(matches!(cli(&args).config(), Err(UsageError::IntervalAboveCap { .. })));
}

#[test]
fn a_raised_interval_raises_the_default_cap() {
    let mut args = REAL.to_vec();
    args.extend(["--interval", "1m"]);
    let policy = cli(&args).config().unwrap().settings.policy;
    assert!(matches!(policy, Policy::Guided { max, .. } if max == Duration::from_secs(60)));
}

#[test]
fn fixed_interval_replaces_the_policy_and_excludes_the_others() {
    let mut args = REAL.to_vec();
    args.extend(["--fixed-interval", "10s"]);
    assert_eq!(
        cli(&args).config().unwrap().settings.policy,
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
    let jobs: Vec<String> = waited(&config).iter().map(JobRef::reference).collect();
    assert_eq!(jobs, ["update/1234567", "version/99120", "install/99120"]);
    assert!(config.demo());
}

#[test]
fn jobs_come_from_arguments_flags_and_the_variable_without_repeats() {
    let mut args = REAL.to_vec();
    args.extend(["diff/7", "--job", "version/8 install/8", "--job", "update/42", "install"]);
    let jobs: Vec<String> =
        waited(&cli(&args).config().unwrap()).iter().map(JobRef::reference).collect();
    assert_eq!(jobs, ["update/42", "diff/7", "install", "version/8", "install/8"]);
}

#[test]
fn a_malformed_reference_is_a_usage_error_that_lists_the_kinds() {
    let mut args = REAL.to_vec();
    args.push("updat/1");
    let error = cli(&args).config().unwrap_err().to_string();
    assert!(error.contains("\"updat/1\" is not a job: unknown kind"), "{error}");
    assert!(error.contains("update, diff, version, install, rollout"), "{error}");
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
        assert!(matches!(cli(&args).config(), Err(UsageError::DemoWithRealJob { .. })), "{args:?}");
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
    let usage = parse(args).unwrap();
    assert!(usage.config.is_err());
    assert_eq!(usage.outputs.result_file, Some(PathBuf::from("r.json")));
    assert_eq!(usage.outputs.dotenv, Some(PathBuf::from("ci.env")));
    assert!(usage.outputs.json);
    assert_eq!(usage.secrets, [Secret::new("s3cret")]);
    let message = usage.config.unwrap_err().to_string();
    assert!(message.contains("--timeout"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn help_lists_the_exit_codes_and_the_variables() {
    let help = Cli::command().render_long_help().to_string();
    assert!(help.contains("CLANFORGE_SECRET_KEY") && help.contains("Exit codes:"));
}
