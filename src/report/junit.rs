//! `--junit FILE` (`CLANFORGE_JUNIT`): a JUnit XML report, for Jenkins' `junit` step, GitLab's
//! `reports: junit`, Bitbucket, CircleCI and any CI that reads one, on any CI or none.
//!
//! One `<testsuite name="clanforge-wait">` with a `<testcase>` per job: named `KIND/ID`, its
//! class `clanforge-wait.KIND`, its time in seconds. A job that failed, stalled or was left
//! unfinished has a `<failure>`; an API error, a timeout or a cancel, an `<error>`; the job's own
//! log lines are its `<system-out>`. A gate that could not start (a usage error) is one case with
//! an `<error>`, so that the report is never an empty pass.
//!
//! Our own writer, not nextest's `quick-junit`: that would change the layout the fault table's
//! goldens hold, and bring chrono, uuid, newtype-uuid, quick-xml and strip-ansi-escapes in for
//! what these lines do (junitparser and xmllint read the result in the tests).
//!
//! Kept small whatever the run: each job's output is its last lines (see [`super::timeline`]),
//! a message at most [`MAX_MESSAGE`] characters. That keeps under every reader's documented
//! limit (GitLab's, CircleCI's, Bitbucket's are per file, in megabytes).

use super::text::job_line;
use super::timeline::{TimedFile, Timeline};
use crate::event::{Report, ReportError};
use crate::outcome::JobSummary;
use crate::outcome::Word;
use std::fmt::Write as _;
use std::path::PathBuf;

/// A failure's `message` attribute: one line, this long at most.
const MAX_MESSAGE: usize = 1000;

/// The JUnit file, written at the end; it keeps each job's lines for `<system-out>`.
pub(crate) fn file(path: PathBuf) -> Result<TimedFile, ReportError> {
    TimedFile::create("the JUnit file", path, Timeline::with_lines(), xml)
}

/// How a case ended, for its child element.
enum Verdict {
    Passed,
    Failure,
    Error,
}

fn verdict(result: Word) -> Verdict {
    match result {
        Word::Success | Word::DryRun => Verdict::Passed,
        Word::Failed | Word::Stalled | Word::Unfinished => Verdict::Failure,
        Word::Timeout | Word::Error | Word::Cancelled | Word::Running => Verdict::Error,
    }
}

/// The report. Every attribute and text escaped, every character one XML 1.0 allows.
pub(crate) fn xml(report: &Report, timeline: &Timeline) -> String {
    let s = &report.summary;
    // A gate with no job (a usage error, a dry run): one case for the gate itself.
    let gate_case;
    let cases: Vec<&JobSummary> = if s.jobs.is_empty() {
        gate_case = JobSummary {
            job: "clanforge-wait".to_owned(),
            kind: "gate",
            result: s.result,
            error: report.message.clone(),
            elapsed_seconds: s.elapsed_seconds,
            elapsed: std::time::Duration::from_secs(s.elapsed_seconds),
            ..JobSummary::default()
        };
        vec![&gate_case]
    } else {
        s.jobs.iter().collect()
    };
    let count = |wanted: fn(&Verdict) -> bool| {
        cases.iter().filter(|job| wanted(&verdict(job.result))).count()
    };
    let failures = count(|v| matches!(v, Verdict::Failure));
    let errors = count(|v| matches!(v, Verdict::Error));
    let started = humantime::format_rfc3339_seconds(timeline.started).to_string();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"clanforge-wait\" tests=\"{}\" failures=\"{failures}\" \
         errors=\"{errors}\" time=\"{}\">",
        cases.len(),
        s.elapsed_seconds
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"clanforge-wait\" tests=\"{}\" failures=\"{failures}\" \
         errors=\"{errors}\" skipped=\"0\" time=\"{}\" timestamp=\"{}\">",
        cases.len(),
        s.elapsed_seconds,
        escape(started.trim_end_matches('Z')),
    );
    for job in cases {
        case(&mut out, job, timeline);
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// One job's `<testcase>`: its time, a `<failure>` or an `<error>` unless it passed, and its
/// log lines.
fn case(out: &mut String, job: &JobSummary, timeline: &Timeline) {
    let (began, ended) = timeline.interval(job);
    let time = ended.duration_since(began).unwrap_or_default().as_secs_f64();
    let _ = writeln!(
        out,
        "    <testcase name=\"{}\" classname=\"clanforge-wait.{}\" time=\"{time:.3}\">",
        escape(&job.job),
        escape(job.kind),
    );
    let message: String = job_line(job).chars().take(MAX_MESSAGE).collect();
    let element = match verdict(job.result) {
        Verdict::Passed => None,
        Verdict::Failure => Some("failure"),
        Verdict::Error => Some("error"),
    };
    if let Some(element) = element {
        let _ = writeln!(
            out,
            "      <{element} message=\"{}\" type=\"{}\">{}</{element}>",
            escape(&message),
            escape(job.result.as_str()),
            escape(&message),
        );
    }
    let mut lines: Vec<String> =
        timeline.of(&job.job).map(|span| span.lines.iter().cloned().collect()).unwrap_or_default();
    lines.push(format!("{}: {}", job.job, job.result));
    let _ = writeln!(
        out,
        "      <system-out>{}</system-out>\n    </testcase>",
        escape(&lines.join("\n")).replace("&#10;", "\n")
    );
}

/// Text for an attribute or an element: the five XML characters as entities, a line break in an
/// attribute as `&#10;`, and any character XML 1.0 does not allow shown as its escape.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c if allowed(c) => out.push(c),
            c => crate::untrusted::push_escape(&mut out, c),
        }
    }
    out
}

/// XML 1.0's `Char`, without the controls it allows.
fn allowed(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{fffe}' | '\u{ffff}')
}
