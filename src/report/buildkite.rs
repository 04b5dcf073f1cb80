//! Buildkite (`BUILDKITE=true`): the log under a `--- ` group (re-opened with `^^^ +++` when the
//! gate does not succeed, so the failure is in sight), an annotation with the Markdown summary
//! (`buildkite-agent annotate`, one context per gate, replaced as it updates), and meta-data
//! for later steps (`clanforge-result`, and the IDs a deploy made).
//!
//! The agent is run as Buildkite documents it, with the summary on stdin. No agent on PATH, or
//! one that fails: one warning, and the gate's own exit code stands.

use super::timeline::Timeline;
use super::{log_line, markdown};
use crate::event::{Event, Report, ReportError, Reporter};
use crate::kind::JobRef;
use crate::outcome::Word;
use std::io::{self, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one call of the agent may take before the gate gives up on it.
const AGENT_LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct Buildkite {
    /// The annotation's context, once the gate's first job is known: `clanforge-wait-` and that
    /// job (`clanforge-wait-update-424242`), so that a retried step replaces its own annotation
    /// and two gates in one step keep theirs apart.
    context: Option<String>,
    timeline: Timeline,
    /// The agent could not be run: said once, not tried again.
    agent_failed: bool,
}

impl Buildkite {
    pub(crate) fn start(title: &str) -> Self {
        log_line(&format!("--- {title}"));
        Self { context: None, timeline: Timeline::default(), agent_failed: false }
    }

    /// Runs `buildkite-agent ARGS`, `stdin` on its standard input.
    fn agent(&mut self, args: &[&str], stdin: &str) {
        if self.agent_failed {
            return;
        }
        if let Err(why) = run_agent(args, stdin) {
            self.agent_failed = true;
            tracing::warn!(
                "buildkite-agent {} failed ({why}): no annotation or meta-data from this gate; \
                 its exit code stands",
                args.first().unwrap_or(&"")
            );
        }
    }

    fn annotate(&mut self, context: &str, style: &str, body: &str) {
        self.agent(&["annotate", "--style", style, "--context", context], body);
    }
}

impl Reporter for Buildkite {
    fn on_event(&mut self, event: &Event<'_>) {
        self.timeline.on_event(event);
        if let Event::Started { jobs, .. } = event
            && self.context.is_none()
        {
            let names: Vec<String> = jobs.iter().map(JobRef::reference).collect();
            let context = super::ci_key(names.first().map_or("", String::as_str));
            let body = format!("### clanforge-wait: waiting on {}\n", names.join(", "));
            self.annotate(&context, "info", &body);
            self.context = Some(context);
        }
    }

    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        let s = &report.summary;
        if !report.outcome.is_success() {
            log_line("^^^ +++");
        }
        // A gate that never started waiting (a usage error) is keyed by what it reports.
        let context = self
            .context
            .clone()
            .unwrap_or_else(|| super::ci_key(s.jobs.first().map_or("", |job| job.job.as_str())));
        let style = match s.result {
            Word::Success | Word::DryRun => "success",
            Word::Cancelled | Word::Timeout | Word::Stalled => "warning",
            Word::Failed | Word::Error | Word::Running | Word::Unfinished => "error",
        };
        self.annotate(&context, style, &markdown::summary(report, &self.timeline));
        for (key, value) in [
            ("clanforge-result", s.result.to_string()),
            ("clanforge-update-id", s.update_id.clone()),
            ("clanforge-diff-id", s.diff_id.clone()),
            ("clanforge-image-version-id", s.image_version_id.clone()),
        ] {
            if !value.is_empty() {
                self.agent(&["meta-data", "set", key, &value], "");
            }
        }
        Ok(())
    }
}

/// One call of the agent, bounded by [`AGENT_LIMIT`]; its output goes to the log.
fn run_agent(args: &[&str], stdin: &str) -> Result<(), String> {
    let mut child = Command::new("buildkite-agent")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => "not on PATH".to_owned(),
            _ => e.to_string(),
        })?;
    // Written from a thread: an agent that stops reading must not stop the gate (the deadline
    // below still holds, and killing the agent closes the pipe). A closed pipe is the agent's
    // to explain.
    if let Some(mut input) = child.stdin.take() {
        let stdin = stdin.to_owned();
        std::thread::spawn(move || {
            let _ = input.write_all(stdin.as_bytes());
        });
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(status.to_string()),
            Ok(None) if started.elapsed() > AGENT_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer in {}s", AGENT_LIMIT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(e.to_string()),
        }
    }
}
