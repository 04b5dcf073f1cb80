//! The `start` and `deploy` subcommands: their flags, and the checks that turn them into a
//! [`Plan`]. The flags they share with the wait (keys, ASID, deadline, outputs) are global.

use super::{UsageError, boolish, secret};
use crate::chain::{Ids, IfLocked, Plan, Step, positive_id};
use crate::checkpoint::Recorded;
use crate::secret::Secret;
use clap::{Args, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start one job (an image update, a diff or an image version), once, and wait on it
    Start {
        #[command(subcommand)]
        job: StartJob,
    },
    /// The whole deploy in one step: image update → diff → image version → installs (or the
    /// rollout), each job created once and waited on, under one deadline
    Deploy(DeployArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum StartJob {
    /// Put a new build on the build machine (imageupdate/create, sent once), and wait on it
    Update {
        #[command(flatten)]
        image: ImageArgs,
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        lock: LockArgs,
        #[command(flatten)]
        dry_run: DryRun,
    },
    /// Diff the build machine against the image (imagediff/create, sent once), and wait on it
    Diff {
        #[command(flatten)]
        image: ImageArgs,
        #[command(flatten)]
        lock: LockArgs,
        #[command(flatten)]
        dry_run: DryRun,
    },
    /// Accept a completed diff: package an image version, which starts the fleet's installs
    /// (imageversion/create, sent once), and wait on it
    Version {
        /// The completed diff to accept
        #[arg(long, value_name = "ID", help_heading = "Version")]
        diff_id: Option<String>,
        /// The image, to look up what locks it if the create's answer is lost
        #[arg(long, env = "CLANFORGE_IMAGE_ID", value_name = "ID", help_heading = "Image")]
        image_id: Option<String>,
        /// The image's game, likewise
        #[arg(long, env = "CLANFORGE_GAME_ID", value_name = "ID", help_heading = "Image")]
        game_id: Option<String>,
        #[command(flatten)]
        version: VersionArgs,
        #[command(flatten)]
        dry_run: DryRun,
    },
}

/// The image, its build machine and its game.
#[derive(Debug, Args)]
#[command(next_help_heading = "Image")]
pub(crate) struct ImageArgs {
    /// The game image to update
    #[arg(long, env = "CLANFORGE_IMAGE_ID", value_name = "ID")]
    pub image_id: Option<String>,
    /// The build machine the update runs on and the diff compares
    #[arg(long, env = "CLANFORGE_MACHINE_ID", value_name = "ID")]
    pub machine_id: Option<String>,
    /// The image's game: image/options, which says what locks the image, needs it
    #[arg(long, env = "CLANFORGE_GAME_ID", value_name = "ID")]
    pub game_id: Option<String>,
}

/// Where the build comes from. The URL holds storage credentials.
#[derive(Debug, Args)]
#[command(next_help_heading = "Build source")]
pub(crate) struct SourceArgs {
    /// The build's source (s3://KEY:SECRET@BUCKET/…, steam://USER:PASS@install/APPID/,
    /// gs://…); it holds credentials: prefer CLANFORGE_UPDATE_URL or --url-file to this flag
    /// [default: the image's own update URL]
    #[arg(long, env = "CLANFORGE_UPDATE_URL", value_name = "URL", hide_env_values = true,
          value_parser = secret)]
    pub url: Option<Secret>,
    /// Read the build's source URL from FILE (a trailing newline is dropped)
    #[arg(long, env = "CLANFORGE_UPDATE_URL_FILE", value_name = "FILE", conflicts_with = "url")]
    pub url_file: Option<PathBuf>,
    /// The update's description [default: "clanforge-wait", with the commit when CI names it]
    #[arg(long, env = "CLANFORGE_DESC", value_name = "TEXT")]
    pub desc: Option<String>,
}

/// What to do about a lock.
#[derive(Debug, Args)]
#[command(next_help_heading = "Locks")]
pub(crate) struct LockArgs {
    /// When a diff or an update locks the image: fail (exit 4), wait until nothing does, or
    /// reject the diff (with --yes-reject-diff)
    #[arg(long, env = "CLANFORGE_IF_LOCKED", value_name = "WHAT", default_value = "fail")]
    pub if_locked: IfLocked,
    /// Allow --if-locked reject to reject the diff that locks the image (this discards it)
    #[arg(long, env = "CLANFORGE_YES_REJECT_DIFF", value_parser = boolish)]
    pub yes_reject_diff: bool,
}

/// How the version is packaged.
#[derive(Debug, Args)]
#[command(next_help_heading = "Version")]
pub(crate) struct VersionArgs {
    /// Stop the affected servers during the install and restart them after (restart=1)
    #[arg(long, env = "CLANFORGE_RESTART", value_parser = boolish)]
    pub restart: bool,
    /// Package a full image instead of a differential one (full=1; needed when the diff found
    /// no changes)
    #[arg(long, env = "CLANFORGE_FULL", value_parser = boolish)]
    pub full: bool,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Steps")]
pub(crate) struct DryRun {
    /// Print every request the command would send (never the keys, the URL as scheme and host)
    /// and exit 0 without sending any
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Steps")]
pub(crate) struct DeployArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub version: VersionArgs,
    #[command(flatten)]
    pub lock: LockArgs,
    /// The last step to wait on: the version, its installs (the install list) or the image's
    /// rollout (the v2 image status)
    #[arg(
        long,
        env = "CLANFORGE_UNTIL",
        value_name = "STEP",
        default_value = "installs",
        help_heading = "Steps"
    )]
    pub until: Until,
    /// Pick up where the run that wrote this result file stopped: the steps it made are not
    /// made again (a missing or empty file starts from the update)
    #[arg(long, value_name = "FILE", help_heading = "Steps")]
    pub resume_from: Option<PathBuf>,
    /// An image update made already: wait on it instead of creating one
    #[arg(long, value_name = "ID", help_heading = "Steps")]
    pub update_id: Option<String>,
    /// A diff made already: wait on it (and make no update)
    #[arg(long, value_name = "ID", help_heading = "Steps")]
    pub diff_id: Option<String>,
    /// An image version made already: wait on it (and make no update or diff)
    #[arg(long, value_name = "ID", help_heading = "Steps")]
    pub image_version_id: Option<String>,
    #[command(flatten)]
    pub dry_run: DryRun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Until {
    Version,
    Installs,
    Rollout,
}

/// `--demo`'s image: what the simulated deploy works on.
pub(crate) const DEMO_GAME_ID: &str = "42";
pub(crate) const DEMO_IMAGE_ID: &str = "1234";
pub(crate) const DEMO_MACHINE_ID: &str = "5678";

impl Command {
    /// The checked plan. `demo`: the IDs a demo needs default to the simulated image's.
    pub(crate) fn plan(&self, demo: bool) -> Result<Plan, UsageError> {
        match self {
            Self::Start { job } => job.plan(demo),
            Self::Deploy(args) => args.plan(demo),
        }
    }

    /// `--dry-run`: print the requests instead of sending them.
    pub(crate) fn dry_run(&self) -> bool {
        match self {
            Self::Start { job } => match job {
                StartJob::Update { dry_run, .. }
                | StartJob::Diff { dry_run, .. }
                | StartJob::Version { dry_run, .. } => dry_run.dry_run,
            },
            Self::Deploy(args) => args.dry_run.dry_run,
        }
    }

    /// Any flag that names a real image or job, for `--demo`'s refusal.
    pub(crate) fn real_flag(&self) -> Option<&'static str> {
        let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        let image = |a: &ImageArgs| {
            [
                (given(&a.image_id), "--image-id (CLANFORGE_IMAGE_ID)"),
                (given(&a.machine_id), "--machine-id (CLANFORGE_MACHINE_ID)"),
                (given(&a.game_id), "--game-id (CLANFORGE_GAME_ID)"),
            ]
            .into_iter()
            .find_map(|(given, flag)| given.then_some(flag))
        };
        let url = |s: &SourceArgs| {
            (s.url.is_some() || s.url_file.is_some()).then_some("--url (CLANFORGE_UPDATE_URL)")
        };
        match self {
            Self::Start { job } => match job {
                StartJob::Update { image: i, source, .. } => image(i).or_else(|| url(source)),
                StartJob::Diff { image: i, .. } => image(i),
                StartJob::Version { diff_id, .. } => given(diff_id).then_some("--diff-id"),
            },
            Self::Deploy(args) => image(&args.image).or_else(|| url(&args.source)).or_else(|| {
                [
                    (given(&args.update_id), "--update-id"),
                    (given(&args.diff_id), "--diff-id"),
                    (given(&args.image_version_id), "--image-version-id"),
                    (args.resume_from.is_some(), "--resume-from"),
                ]
                .into_iter()
                .find_map(|(given, flag)| given.then_some(flag))
            }),
        }
    }
}

impl StartJob {
    fn plan(&self, demo: bool) -> Result<Plan, UsageError> {
        match self {
            Self::Update { image, source, lock, .. } => {
                let mut plan = base("start update", vec![Step::ImageUpdate], image, lock, demo)?;
                source.apply(&mut plan)?;
                Ok(plan)
            }
            Self::Diff { image, lock, .. } => {
                base("start diff", vec![Step::ImageDiff], image, lock, demo)
            }
            Self::Version { diff_id, image_id, game_id, version, .. } => {
                let diff = id(diff_id, "--diff-id")?.ok_or(UsageError::Empty {
                    flag: "--diff-id",
                    hint: ": the completed diff to make a version of",
                })?;
                Ok(Plan {
                    command: "start version",
                    steps: vec![Step::ImageVersion],
                    image_id: id(image_id, "--image-id (CLANFORGE_IMAGE_ID)")?,
                    machine_id: None,
                    game_id: id(game_id, "--game-id (CLANFORGE_GAME_ID)")?,
                    url: None,
                    desc: String::new(),
                    restart: version.restart,
                    full: version.full,
                    if_locked: IfLocked::Fail,
                    known: Ids { diff: Some(diff), ..Ids::default() },
                })
            }
        }
    }
}

impl DeployArgs {
    fn plan(&self, demo: bool) -> Result<Plan, UsageError> {
        let last = match self.until {
            Until::Version => Step::ImageVersion,
            Until::Installs => Step::Install,
            Until::Rollout => Step::Rollout,
        };
        let mut steps = vec![Step::ImageUpdate, Step::ImageDiff, Step::ImageVersion, last];
        steps.dedup();
        let mut plan = base("deploy", steps, &self.image, &self.lock, demo)?;
        self.source.apply(&mut plan)?;
        plan.restart = self.version.restart;
        plan.full = self.version.full;
        let mut known = match &self.resume_from {
            Some(path) => resume(path)?,
            None => Ids::default(),
        };
        for (value, flag, slot) in [
            (&self.update_id, "--update-id", &mut known.update),
            (&self.diff_id, "--diff-id", &mut known.diff),
            (&self.image_version_id, "--image-version-id", &mut known.version),
        ] {
            if let Some(id) = id(value, flag)? {
                *slot = Some(id);
            }
        }
        let known = known.settled();
        // A step made means every step before it is done: start at the latest one made.
        let latest = [Step::ImageVersion, Step::ImageDiff, Step::ImageUpdate]
            .into_iter()
            .find(|&step| known.job(step).is_some());
        if let Some(latest) = latest {
            plan.steps.retain(|&step| step >= latest);
        }
        plan.known = known;
        Ok(plan)
    }
}

impl SourceArgs {
    fn apply(&self, plan: &mut Plan) -> Result<(), UsageError> {
        const FLAG: &str = "--url-file (CLANFORGE_UPDATE_URL_FILE)";
        plan.url = match &self.url_file {
            Some(path) => {
                let text = super::files::text(FLAG, path, super::files::SECRET_CAP)?;
                Some(Secret::new(text.trim()))
            }
            None => self.url.clone(),
        }
        .filter(|url| !url.is_empty());
        plan.desc = match self.desc.as_deref().map(str::trim) {
            Some(desc) if !desc.is_empty() => desc.to_owned(),
            _ => default_desc(|name| std::env::var(name).ok()),
        };
        Ok(())
    }
}

/// "clanforge-wait", and the commit when the CI system names it.
fn default_desc(var: impl Fn(&str) -> Option<String>) -> String {
    let commit = var("CI_COMMIT_SHORT_SHA")
        .or_else(|| var("GITHUB_SHA").map(|sha| sha.chars().take(8).collect()))
        .filter(|sha| !sha.trim().is_empty());
    match commit {
        Some(sha) => format!("clanforge-wait: commit {sha}"),
        None => "clanforge-wait".to_owned(),
    }
}

/// The plan's common part: the image's IDs and the lock policy.
fn base(
    command: &'static str,
    steps: Vec<Step>,
    image: &ImageArgs,
    lock: &LockArgs,
    demo: bool,
) -> Result<Plan, UsageError> {
    let needed =
        |value: &Option<String>, flag: &'static str, fallback: &str| match (id(value, flag)?, demo)
        {
            (Some(id), _) => Ok(id),
            (None, true) => Ok(fallback.to_owned()),
            (None, false) => Err(UsageError::Empty { flag, hint: "" }),
        };
    if lock.if_locked == IfLocked::Reject && !lock.yes_reject_diff {
        return Err(UsageError::RejectNotConfirmed);
    }
    Ok(Plan {
        command,
        steps,
        image_id: Some(needed(&image.image_id, "--image-id (CLANFORGE_IMAGE_ID)", DEMO_IMAGE_ID)?),
        machine_id: Some(needed(
            &image.machine_id,
            "--machine-id (CLANFORGE_MACHINE_ID)",
            DEMO_MACHINE_ID,
        )?),
        game_id: Some(needed(&image.game_id, "--game-id (CLANFORGE_GAME_ID)", DEMO_GAME_ID)?),
        url: None,
        desc: String::new(),
        restart: false,
        full: false,
        if_locked: lock.if_locked,
        known: Ids::default(),
    })
}

/// An ID flag: absent, or a positive integer.
pub(super) fn id(value: &Option<String>, flag: &'static str) -> Result<Option<String>, UsageError> {
    let value = value.as_deref().unwrap_or_default();
    positive_id(value).map_err(|()| UsageError::NotAnId { flag, value: value.trim().to_owned() })
}

/// The IDs an earlier run wrote to its result file. A file that is not there, or empty (a run
/// stopped before it wrote anything), resumes nothing.
fn resume(path: &Path) -> Result<Ids, UsageError> {
    const FLAG: &str = "--resume-from";
    if !path.exists() {
        return Ok(Ids::default());
    }
    let text = super::files::text(FLAG, path, super::files::RESUME_CAP)?;
    if text.trim().is_empty() {
        return Ok(Ids::default());
    }
    let invalid =
        |reason: String| UsageError::File { flag: FLAG, path: path.display().to_string(), reason };
    Recorded::from_json(&text)
        .map_err(|e| invalid(format!("is not a result file ({e})")))?
        .resume()
        .map_err(invalid)
}
