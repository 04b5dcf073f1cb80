//! The log, for a person reading a CI log at 2 a.m.: a line whenever the state or progress
//! changes, a heartbeat while nothing does, a warning for each retry, and one final line that
//! says what happened. On a terminal a progress bar per job replaces the progress lines.

use super::LogMode;
use super::text::{count, human, poll_error, polled_words};
use crate::api::PollError;
use crate::chain::{IfLocked, Step};
use crate::event::{Check, CheckVerdict, Event, Report, ReportError, Reporter};
use crate::job::{JobStatus, Phase, unix_now};
use crate::kind::{JobKind, JobRef};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;
use tokio::time::Instant;
use tracing::{error, info, warn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// A line at least this often while nothing changes.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(60);

/// Installs the process's log subscriber for `mode` and returns the reporter that writes to it.
pub(crate) fn init(mode: LogMode) -> LogReporter {
    let started = std::time::Instant::now();
    // A log that can't be written (stderr on /dev/full, a closed pipe) is dropped: the
    // subscriber's own report of it would panic on the same stderr.
    let builder = tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .log_internal_errors(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO);
    // `Err` only when a subscriber is installed already (tests calling in twice): keep it.
    let bar = match mode {
        LogMode::Json => {
            let _ = tracing::subscriber::set_global_default(
                builder.json().flatten_event(true).finish(),
            );
            None
        }
        LogMode::Plain => {
            let _ = tracing::subscriber::set_global_default(plain(io::stderr, started));
            None
        }
        LogMode::Bar => {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let _ = tracing::subscriber::set_global_default(
                builder
                    .with_writer(AboveBars(multi.clone()))
                    .with_timer(Elapsed(started))
                    .fmt_fields(message_only())
                    .finish(),
            );
            Some(Bars { multi, jobs: BTreeMap::new() })
        }
    };
    LogReporter::new(bar)
}

/// On a terminal, one bar per job, in the order they first report, under the log lines.
#[derive(Debug)]
struct Bars {
    multi: MultiProgress,
    jobs: BTreeMap<JobRef, ProgressBar>,
}

impl Bars {
    /// The job's bar, added below the others at its first report.
    fn of(&mut self, job: &JobRef) -> &ProgressBar {
        self.jobs.entry(job.clone()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(100));
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] [{bar:30}] {pos:>3}% {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        })
    }

    /// Every bar off the screen: nothing spins after the gate (a cancelled one too).
    fn clear(&self) {
        for bar in self.jobs.values() {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

/// The subscriber of plain lines (a CI log), writing to `writer`: `  4.2s  INFO Running, 42%`.
pub(crate) fn plain<W>(
    writer: W,
    started: std::time::Instant,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_writer(writer)
        .log_internal_errors(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_timer(Elapsed(started))
        .fmt_fields(message_only())
        .finish()
}

#[derive(Debug)]
pub(crate) struct LogReporter {
    bars: Option<Bars>,
    /// The state and progress last shown, per job.
    last: BTreeMap<JobRef, (String, Option<u8>)>,
    /// A start or deploy: the step under way and the number of steps; lines name both.
    step: Option<(usize, usize)>,
    last_line: Instant,
    started: Instant,
}

/// The events whose lines are a few words: each its own, so that `on_event` reads as a table.
impl LogReporter {
    fn polled(&mut self, job: &JobRef, status: &JobStatus, poll: u32, idle: bool) {
        let shown = (polled_words(status, idle), status.progress);
        // Nothing queued yet: the settle line says what the job waits for, and until when.
        if idle && self.bars.is_none() {
            self.last.insert(job.clone(), shown);
            return;
        }
        if self.last.get(job) == Some(&shown) {
            self.heartbeat(poll);
        } else {
            self.last.insert(job.clone(), shown);
            self.progress(job, status, poll, idle);
        }
    }

    fn settling(&mut self, job: &JobRef, settle: Duration) {
        self.line();
        info!(
            "{}nothing is queued yet: waiting until {:.1}s (--settle {}, from the start) for \
             work to appear; none by then is done",
            self.prefix(job),
            settle.as_secs_f64(),
            human(settle)
        );
    }

    fn creating(&mut self, step: Step, request: &str) {
        self.line();
        let (index, total) = self.step.unwrap_or((1, 1));
        info!(
            step = step.step_name(),
            "[{index}/{total}] {}: {request} (changes state: sent once, never retried)",
            step.step_name()
        );
    }

    fn adopted(&mut self, job: &JobRef, created: i64) {
        self.line();
        warn!(
            job = %job.reference(),
            "{}the create's answer was lost; image/options names {job}, made after the request \
             went out (jobcreated {created}): waiting on it as the one created",
            self.prefix(job)
        );
    }

    fn dry_run(&mut self, requests: &[String]) {
        self.line();
        info!("dry run: these requests would go out, in order; none is sent");
        for request in requests {
            info!("  {request}");
        }
    }

    fn checked(&mut self, check: &Check) {
        self.line();
        let Check { name, verdict, detail } = check;
        match verdict {
            CheckVerdict::Ok => info!("check {name}: ok, {detail}"),
            CheckVerdict::Info => info!("check {name}: {detail}"),
            CheckVerdict::Warning => warn!("check {name}: warning, {detail}"),
            CheckVerdict::Failed => error!("check {name}: FAILED, {detail}"),
        }
    }
}

impl Reporter for LogReporter {
    fn on_event(&mut self, event: &Event<'_>) {
        match event {
            Event::Started { jobs, urls, timeout } => self.started(jobs, urls, *timeout),
            Event::Polled { job, status, poll, idle } => self.polled(job, status, *poll, *idle),
            Event::Tick => self.heartbeat(0),
            Event::UnknownState { job, status } => self.unknown_state(job, status),
            Event::Settling { job, settle } => self.settling(job, *settle),
            Event::Step { index, total, step, job } => self.step(*index, *total, *step, *job),
            Event::Creating { step, request } => self.creating(*step, request),
            Event::Created { job, .. } => {
                self.line();
                info!(job = %job.reference(), "{}created", self.prefix(job));
            }
            Event::Adopted { job, created } => self.adopted(job, *created),
            Event::Locked { lock, image, if_locked } => self.locked(lock, image, *if_locked),
            Event::Unlocked { image } => {
                self.line();
                info!("image {image} is no longer locked");
            }
            Event::Rejected { diff } => {
                self.line();
                warn!("rejected {diff} (reinstall=0): it no longer locks the image");
            }
            Event::NoChanges { diff, full } => self.no_changes(diff, *full),
            Event::DryRun { requests } => self.dry_run(requests),
            Event::Checked { check } => self.checked(check),
            Event::ReadRetrying { what, error, failures, wait } => {
                self.retrying(&format!("reading {what}: "), error, *failures, *wait)
            }
            Event::Retrying { job, error, failures, wait } => {
                self.retrying(&self.prefix(job), error, *failures, *wait)
            }
        }
    }

    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        if let Some(bars) = &self.bars {
            bars.clear();
        }
        let (result, code) = (report.summary.result.as_str(), report.outcome.exit_code());
        match report.outcome {
            outcome if outcome.is_success() => {
                info!(result, exit_code = code, "{}", report.message)
            }
            _ => error!(result, exit_code = code, "{}", report.message),
        }
        Ok(())
    }
}

impl LogReporter {
    /// A reporter that logs to whatever subscriber is in force (see [`init`]), without a bar:
    /// for the tests, which install their own.
    #[cfg(feature = "test-support")]
    pub(crate) fn plain_lines() -> Self {
        Self::new(None)
    }

    fn new(bars: Option<Bars>) -> Self {
        Self {
            bars,
            last: BTreeMap::new(),
            step: None,
            last_line: Instant::now(),
            started: Instant::now(),
        }
    }

    fn line(&mut self) {
        self.last_line = Instant::now();
    }

    fn started(&mut self, jobs: &[JobRef], urls: &[String], timeout: Duration) {
        self.line();
        match (jobs, urls) {
            ([job], [url]) => {
                info!(job = %job.reference(), "waiting up to {} on {job} ({url})", human(timeout));
            }
            _ => {
                let refs: Vec<String> = jobs.iter().map(JobRef::reference).collect();
                info!(
                    "waiting up to {} on {} jobs: {}",
                    human(timeout),
                    jobs.len(),
                    refs.join(", ")
                );
            }
        }
    }

    fn unknown_state(&mut self, job: &JobRef, status: &JobStatus) {
        self.line();
        warn!(
            state_id = status.state_id,
            "{}the API reports a job state this gate does not know ({}{}); waiting on until it \
             ends or the deadline passes",
            self.prefix(job),
            status.state_label(),
            status.state_id.map(|id| format!(", jobstateid {id}")).unwrap_or_default()
        );
    }

    fn step(&mut self, index: usize, total: usize, step: Step, job: Option<&JobRef>) {
        self.line();
        self.step = Some((index, total));
        match job {
            Some(job) if step.creates() => info!(
                step = step.step_name(),
                "{}made already (given or resumed): waiting on it, not creating another",
                self.prefix(job)
            ),
            Some(job) => info!(step = step.step_name(), "{}waiting", self.prefix(job)),
            None => info!(
                step = step.step_name(),
                "[{index}/{total}] {}: creating it",
                step.step_name()
            ),
        }
    }

    fn locked(&mut self, lock: &JobRef, image: &str, if_locked: IfLocked) {
        self.line();
        let what = match (if_locked, lock.kind) {
            (IfLocked::Wait, _) => "waiting until nothing locks it (--if-locked wait)",
            (IfLocked::Reject, JobKind::ImageDiff) => {
                "rejecting that diff once it has ended (--if-locked reject)"
            }
            _ => "stopping (--if-locked fail)",
        };
        warn!(locked_by = %lock.reference(), "image {image} is locked by {lock}: {what}");
    }

    fn no_changes(&mut self, diff: &JobRef, full: bool) {
        self.line();
        let next = if full {
            "--full: a full version is packaged all the same"
        } else {
            "a version of it needs --full"
        };
        warn!(
            "{}{diff} found no changes (nothing added, modified or removed); {next}",
            self.prefix(diff)
        );
    }

    /// A transient failure, and when the next try comes.
    fn retrying(&mut self, what: &str, error: &PollError, failures: u32, wait: Duration) {
        self.line();
        warn!(failures, "{what}{}; retrying in {}", poll_error(error), human(wait));
    }

    /// "update/2: " when there are several jobs, "[2/4] diff 218595: " in a chain, else nothing.
    /// Every line about a job names it, with one job as with many; a step's, with its place.
    fn prefix(&self, job: &JobRef) -> String {
        match self.step {
            Some((index, total)) => format!("[{index}/{total}] {}: ", step_job(job)),
            None => format!("{}: ", job.reference()),
        }
    }

    fn progress(&mut self, job: &JobRef, status: &JobStatus, poll: u32, idle: bool) {
        let mut text = format!("{}{}", self.prefix(job), polled_words(status, idle));
        if let Some(c) = status.counts {
            text.push_str(&format!(" ({} left", c.pending));
            if c.failed > 0 {
                text.push_str(&format!(", {} failed", c.failed));
            }
            if let Some(done) = c.completed {
                text.push_str(&format!(", {done} done"));
            }
            text.push(')');
        }
        if let Some(eta) = eta(status).filter(|_| status.state.phase() == Phase::Waiting) {
            text.push_str(&format!(", {eta}"));
        }
        match &mut self.bars {
            Some(bars) => {
                let bar = bars.of(job);
                bar.set_position(status.progress.map_or(0, u64::from));
                bar.set_message(text);
                // An ended job's bar stops spinning and stays, at its last words.
                if status.state.phase() != Phase::Waiting {
                    bar.finish();
                }
            }
            None => {
                self.line();
                info!(
                    job = %job.reference(),
                    state = status.state_label(),
                    state_id = status.state_id,
                    progress = status.progress,
                    poll,
                    "{text}"
                );
            }
        }
    }

    fn heartbeat(&mut self, poll: u32) {
        if self.bars.is_some() || self.last_line.elapsed() < HEARTBEAT {
            return;
        }
        self.line();
        let shown = |(state, progress): &(String, Option<u8>)| match progress {
            Some(p) => format!("{state}, {p}%"),
            None => state.clone(),
        };
        // Each job by name, with one job as with many.
        let seen = match self.last.is_empty() {
            true => "no status yet".to_owned(),
            false => {
                let all: Vec<String> = self
                    .last
                    .iter()
                    .map(|(job, last)| format!("{} {}", job.reference(), shown(last)))
                    .collect();
                all.join("; ")
            }
        };
        let polls = if poll > 0 { format!(" ({})", count(poll, "poll")) } else { String::new() };
        info!("still waiting: {seen} after {}{polls}", human(self.started.elapsed()));
    }
}

/// A job as a step's line names it: "diff 218595", "installs of version 5003".
fn step_job(job: &JobRef) -> String {
    let step = job.kind.step_name();
    match job.kind {
        JobKind::Install => format!("installs of version {}", job.id),
        JobKind::Rollout => format!("rollout of image {}", job.id),
        JobKind::ImageUpdate | JobKind::ImageDiff | JobKind::ImageVersion if job.id.is_empty() => {
            step.to_owned()
        }
        JobKind::ImageUpdate | JobKind::ImageDiff | JobKind::ImageVersion => {
            format!("{step} {}", job.id)
        }
    }
}

/// "ETA in 3m 10s", from `jobeta`, counted by the server's clock when it sent one; nothing
/// when the ETA is not plausible (the schedule ignores it then too).
fn eta(status: &JobStatus) -> Option<String> {
    let offset = status.eta_offset(unix_now())?;
    let apart = Duration::from_secs(offset.unsigned_abs());
    Some(if offset == 0 {
        "ETA now".to_owned()
    } else if offset > 0 {
        format!("ETA in {}", human(apart))
    } else {
        format!("ETA passed {} ago", human(apart))
    })
}

/// Text lines carry the message alone: the structured fields are for `--log-format json`, and
/// every message already says in words what they hold.
fn message_only() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> {
    tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        if field.name() == "message" { write!(w, "{value:?}") } else { Ok(()) }
    })
}

/// Log-line time as seconds since the gate started: what matters in a CI log.
struct Elapsed(std::time::Instant);

impl FormatTime for Elapsed {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        write!(w, "{:>6.1}s", self.0.elapsed().as_secs_f64())
    }
}

/// Writes log lines above the progress bars.
#[derive(Clone)]
struct AboveBars(MultiProgress);

impl<'a> MakeWriter<'a> for AboveBars {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(self.0.clone(), Vec::new())
    }
}

/// One log line, printed whole when dropped so the bars are redrawn once per line.
struct Line(MultiProgress, Vec<u8>);

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.1.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let line = std::mem::take(&mut self.1);
        self.0.suspend(|| {
            let _ = io::stderr().write_all(&line);
        });
    }
}

#[cfg(test)]
mod tests;
