//! The checks that turn the flags into a [`Config`]: what each value must be, and what the
//! values must be together. Every error names the flag (and variable) to fix.

use super::action::{Action, Api, Probe};
use super::args::{BASE_URL, CheckArgs, Cli, MAX_INTERVAL, MAX_TIMEOUT, Sub, TOKEN_BASE_URL};
use super::base_url::base_url;
use super::errors::UsageError;
use super::files;
use super::start::{self, Command};
use super::{Outputs, Usage};
use crate::api::Credentials;
use crate::api::trace::TraceTo;
use crate::kind::{JobKind, JobRef};
use crate::schedule::Policy;
use crate::secret::Secret;
use crate::wait::Settings;
use std::time::Duration;

/// A checked configuration: everything [`crate::main`] needs to run the gate.
#[derive(Debug)]
pub(crate) struct Config {
    pub action: Action,
    pub api: Api,
    pub asid: String,
    pub credentials: Credentials,
    /// Extra trusted roots, PEM.
    pub ca_cert: Option<Vec<u8>>,
    /// The deadline, the schedule and the rest of the wait's rules.
    pub settings: Settings,
    /// `--trace-http`: where each request and its answer are written.
    pub trace: Option<TraceTo>,
    /// `--max-body`: the cap on a fleet's answers, in bytes.
    pub max_body: usize,
    /// `--unreachable-timeout`: how long a host never reached is tried.
    pub unreachable_timeout: std::time::Duration,
}

impl Config {
    /// The IDs of the update jobs, space-separated: the `update_id` key.
    pub(crate) fn update_ids(&self) -> String {
        match &self.action {
            Action::Wait(jobs) => crate::kind::update_ids(jobs),
            Action::Start(plan) | Action::DryRun(plan) => {
                plan.known.update.clone().unwrap_or_default()
            }
            Action::Check(_) => String::new(),
        }
    }

    /// Every secret to mask: the keys (but the demo's) and the update URL with its parts.
    pub(crate) fn secrets(&self) -> Vec<Secret> {
        let mut secrets = Vec::new();
        if !self.demo() {
            secrets.extend(self.credentials.secrets());
        }
        if let Some(url) = self.action.plan().and_then(|p| p.url.as_ref()) {
            secrets.extend(crate::api::change::url_secrets(url));
        }
        secrets
    }

    /// `--demo`: the API is the embedded simulator.
    pub(crate) fn demo(&self) -> bool {
        matches!(self.api, Api::Demo)
    }
}

pub(crate) const DEMO_UPDATE_ID: &str = "1234567";
pub(crate) const DEMO_VERSION_ID: &str = "99120";
const DEMO_ASID: &str = "demo";
/// `--demo --demo-token`'s token, which the simulator takes as the operator's host would.
pub(crate) const DEMO_TOKEN: &str = "demo";

impl Cli {
    /// `start` or `deploy`, if given.
    fn run_command(&self) -> Option<&Command> {
        match &self.command {
            Some(Sub::Run(command)) => Some(command),
            _ => None,
        }
    }

    /// `check`, if given.
    fn check_args(&self) -> Option<&CheckArgs> {
        match &self.command {
            Some(Sub::Check(check)) => Some(check),
            _ => None,
        }
    }

    /// `check`'s probe: the demo's image with `--demo`, else the image given, if any.
    fn probe(&self, check: &CheckArgs) -> Result<Probe, UsageError> {
        if self.demo {
            return Ok(Probe {
                image: Some((start::DEMO_GAME_ID.to_owned(), start::DEMO_IMAGE_ID.to_owned())),
            });
        }
        let game = start::id(&check.game_id, "--game-id (CLANFORGE_GAME_ID)")?;
        let image = start::id(&check.image_id, "--image-id (CLANFORGE_IMAGE_ID)")?;
        match (game, image) {
            (Some(game), Some(image)) => Ok(Probe { image: Some((game, image)) }),
            (None, Some(_)) => Err(UsageError::Empty {
                flag: "--game-id (CLANFORGE_GAME_ID)",
                hint: ": image/options, which finds the image, needs its game",
            }),
            // A game alone (CLANFORGE_GAME_ID set for the deploy steps) asks nothing.
            (_, None) => Ok(Probe { image: None }),
        }
    }

    /// The outputs the command line names.
    pub(crate) fn outputs(&self) -> Outputs {
        Outputs {
            result_file: self.result_file.clone(),
            dotenv: self.dotenv.clone(),
            junit: self.junit.clone(),
            summary: self.summary.clone(),
            json: self.json,
            log_format: self.log_format,
        }
    }

    pub(super) fn usage(&self, error: UsageError) -> Usage {
        Usage {
            outputs: self.outputs(),
            update_id: self.update_id.clone().unwrap_or_default(),
            demo: self.demo,
            error,
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
            (self.secret_key_file.is_some(), "--secret-key-file (CLANFORGE_SECRET_KEY_FILE)"),
            (key(&self.token), "--token (CLANFORGE_TOKEN)"),
            (self.token_file.is_some(), "--token-file (CLANFORGE_TOKEN_FILE)"),
        ];
        if !self.demo {
            return Ok(());
        }
        let refused = |flag, why, instead| Err(UsageError::DemoWithRealJob { flag, why, instead });
        if let Some(flag) = real.into_iter().find_map(|(given, flag)| given.then_some(flag)) {
            let why = "a real job would be reported done";
            return refused(flag, why, "to wait on the real job");
        }
        if let Some(flag) = self.run_command().and_then(Command::real_flag) {
            return match flag {
                "--resume-from" => refused(
                    flag,
                    "the result file is a real deploy's, and its jobs would be resumed against \
                     the simulator and reported done",
                    "to resume the real deploy",
                ),
                _ => refused(
                    flag,
                    "a real image would be reported deployed",
                    "to deploy the real image",
                ),
            };
        }
        // The demo's check looks at its own image: naming that one is no real image.
        let real_image =
            |v: &Option<String>, demo: &str| v.as_deref().is_some_and(|v| v.trim() != demo);
        match self.check_args() {
            Some(c)
                if real_image(&c.image_id, super::start::DEMO_IMAGE_ID)
                    || real_image(&c.game_id, super::start::DEMO_GAME_ID) =>
            {
                refused(
                    "--image-id or --game-id (CLANFORGE_IMAGE_ID, CLANFORGE_GAME_ID)",
                    "the demo checks its own image only (--image-id 1234 --game-id 42), and a \
                     real one would be reported found",
                    "to check the real image",
                )
            }
            _ => Ok(()),
        }
    }

    /// Every job named: `--update-id`, the `KIND/ID` arguments, `--job` (CLANFORGE_JOBS).
    fn job_refs(&self) -> Result<Vec<JobRef>, UsageError> {
        if self.run_command().is_some() || self.check_args().is_some() {
            // --job and --update-id may come from the environment (a variable set for another
            // step): only arguments on the command line itself are a mistake here.
            return match self.jobs.as_slice() {
                [] => Ok(Vec::new()),
                jobs => Err(UsageError::JobsWithCommand(jobs.join(" "))),
            };
        }
        let mut jobs = Vec::new();
        // A positive integer, as every ID: `..` or `a/b` would change the URL's shape.
        if let Some(id) = start::id(&self.update_id, "--update-id (CLANFORGE_UPDATE_ID)")? {
            jobs.push(JobRef::new(JobKind::ImageUpdate, id));
        }
        // Each named where it was given: an argument, or --job (and its variable).
        for reference in self.jobs.iter().flat_map(|v| v.split_whitespace()) {
            jobs.push(reference.parse().map_err(UsageError::JobArgument)?);
        }
        for reference in self.job.iter().flat_map(|v| v.split_whitespace()) {
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

    pub(crate) fn config(&self) -> Result<Config, UsageError> {
        if self.demo_token && !self.demo {
            return Err(UsageError::Empty {
                flag: "--demo (CLANFORGE_DEMO)",
                hint: ": --demo-token (CLANFORGE_DEMO_TOKEN) only says which dialect the \
                       simulated API speaks",
            });
        }
        self.check_demo()?;
        let jobs = self.job_refs()?;
        let action = match self.run_command() {
            None if let Some(check) = self.check_args() => Action::Check(self.probe(check)?),
            Some(command) => {
                let plan = command.plan(self.demo)?;
                match command.dry_run() {
                    true => Action::DryRun(plan),
                    false => Action::Start(plan),
                }
            }
            None => Action::Wait(jobs),
        };
        let credentials = self.credentials()?;
        let bearer = matches!(credentials, Credentials::Bearer(_));
        let asid = self.asid(bearer, &action)?;
        let api = self.api(bearer)?;
        let ca_cert = match &self.ca_cert {
            Some(path) => {
                Some(files::read("--ca-cert (CLANFORGE_CA_CERT)", path, files::CA_CERT_CAP)?)
            }
            None => None,
        };
        let policy = self.policy()?;
        if self.settle_given && self.settle > self.timeout {
            return Err(UsageError::SettleAboveTimeout {
                settle: humantime::format_duration(self.settle).to_string(),
                timeout: humantime::format_duration(self.timeout).to_string(),
            });
        }
        Ok(Config {
            action,
            api,
            asid,
            credentials,
            ca_cert,
            settings: Settings {
                timeout: self.timeout,
                request_timeout: self.request_timeout,
                stall_timeout: self.stall_timeout,
                settle: self.settle,
                fail_fast: !self.no_fail_fast,
                max_failed_machines: self.max_failed_machines,
                policy,
                seed: None,
            },
            trace: self.trace_http.as_deref().and_then(TraceTo::parse),
            max_body: self.max_body,
            unreachable_timeout: self.unreachable_timeout,
        })
    }

    /// The account service ID: given (a positive integer), the demo's, or none with a token
    /// (the operator's v1 calls take none) where the action needs none.
    fn asid(&self, bearer: bool, action: &Action) -> Result<String, UsageError> {
        let given = self.asid.as_deref().map(str::trim).unwrap_or_default();
        let asid = match (given.is_empty(), bearer, self.demo) {
            (false, _, _) => given.to_owned(),
            (true, true, _) => String::new(),
            (true, false, true) => DEMO_ASID.to_owned(),
            (true, false, false) => {
                return Err(UsageError::Empty { flag: "--asid (CLANFORGE_ASID)", hint: "" });
            }
        };
        if !self.demo && !asid.is_empty() {
            start::id(&Some(asid.clone()), "--asid (CLANFORGE_ASID)")?;
        }
        if asid.is_empty() {
            needs_no_asid(action)?;
        }
        Ok(asid)
    }

    /// The API: the demo's simulator, or the base URL (by default the dialect's host).
    fn api(&self, bearer: bool) -> Result<Api, UsageError> {
        if self.demo {
            return Ok(Api::Demo);
        }
        let default = if bearer { TOKEN_BASE_URL } else { BASE_URL };
        Ok(Api::Real(base_url(
            self.base_url.as_deref().unwrap_or(default),
            self.allow_insecure_http,
        )?))
    }

    /// The keys: the demo's placeholders, or both given (the secret key perhaps from a file).
    fn credentials(&self) -> Result<Credentials, UsageError> {
        if self.demo && self.demo_token {
            Ok(Credentials::Bearer(Secret::new(DEMO_TOKEN)))
        } else if self.demo {
            Ok(Credentials::Basic {
                access_key: Secret::new("demo"),
                secret_key: Secret::new("demo"),
            })
        } else {
            let token = match &self.token_file {
                Some(path) => files::secret("--token-file (CLANFORGE_TOKEN_FILE)", path)?,
                None => self.token.clone(),
            };
            let token = token.filter(|t| !t.is_empty());
            let given = |k: &Option<Secret>| k.as_ref().is_some_and(|k| !k.is_empty());
            let keys = given(&self.access_key)
                || given(&self.secret_key)
                || self.secret_key_file.is_some();
            match (token, keys) {
                (Some(_), true) => Err(UsageError::TwoDialects),
                (Some(token), false) => Ok(Credentials::Bearer(token)),
                (None, false) => Err(UsageError::NoCredentials),
                (None, true) => {
                    let secret_key = match &self.secret_key_file {
                        Some(path) => {
                            files::secret("--secret-key-file (CLANFORGE_SECRET_KEY_FILE)", path)?
                        }
                        None => self.secret_key.clone(),
                    };
                    let access_key = key(&self.access_key, "--access-key (CLANFORGE_ACCESS_KEY)")?;
                    // Basic auth splits user from password at the first ':'.
                    if access_key.expose().contains(':') {
                        return Err(UsageError::ColonInAccessKey);
                    }
                    Ok(Credentials::Basic {
                        access_key,
                        secret_key: key(&secret_key, "--secret-key (CLANFORGE_SECRET_KEY)")?,
                    })
                }
            }
        }
    }

    /// The polling policy, each duration within its limit.
    fn policy(&self) -> Result<Policy, UsageError> {
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
            ("--request-timeout", Some(self.request_timeout), MAX_INTERVAL),
            ("--unreachable-timeout", Some(self.unreachable_timeout), MAX_TIMEOUT),
        ] {
            if value.is_some_and(|v| v.is_zero()) {
                return Err(UsageError::Zero { flag });
            }
            if value.is_some_and(|v| v > max) {
                let max = humantime::format_duration(max).to_string();
                return Err(UsageError::TooLong { flag, max });
            }
        }
        if interval > max_interval {
            return Err(UsageError::IntervalAboveCap {
                interval: humantime::format_duration(interval).to_string(),
                max: humantime::format_duration(max_interval).to_string(),
            });
        }
        Ok(match self.fixed_interval {
            Some(every) => Policy::Fixed(every),
            None => Policy::Guided { interval, max: max_interval },
        })
    }
}

/// Without an ASID (a token, none given), nothing may need one: the rollout status has it in
/// its path.
fn needs_no_asid(action: &Action) -> Result<(), UsageError> {
    let kind = match action {
        Action::Wait(jobs) => {
            jobs.iter().find(|job| job.kind == JobKind::Rollout).map(JobRef::reference)
        }
        Action::Start(plan) | Action::DryRun(plan) => {
            plan.steps.contains(&JobKind::Rollout).then(|| "deploy --until rollout".to_owned())
        }
        Action::Check(_) => None,
    };
    match kind {
        Some(kind) => Err(UsageError::AsidNeeded { kind }),
        None => Ok(()),
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

// The policy a command line makes, which no output shows; what it refuses is tested from
// outside (tests/command_line.rs).
#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        let mut argv = vec!["clanforge-wait"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("parses")
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
    fn a_raised_interval_raises_the_default_cap() {
        let mut args = REAL.to_vec();
        args.extend(["--interval", "1m"]);
        let policy = cli(&args).config().unwrap().settings.policy;
        assert!(matches!(policy, Policy::Guided { max, .. } if max == Duration::from_secs(60)));
    }

    #[test]
    fn fixed_interval_replaces_the_policy() {
        let mut args = REAL.to_vec();
        args.extend(["--fixed-interval", "10s"]);
        assert_eq!(
            cli(&args).config().unwrap().settings.policy,
            Policy::Fixed(Duration::from_secs(10))
        );
    }
}
