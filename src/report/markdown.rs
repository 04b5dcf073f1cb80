//! The Markdown summary of a gate: a table of its jobs, and a Mermaid `gantt` of when each ran,
//! coloured by how it ended. GitHub's step summary, Buildkite's annotation and `--summary FILE`
//! all show it; a viewer that doesn't render Mermaid still has the table.

use super::text::human;
use super::timeline::{TimedFile, Timeline};
use crate::event::{Report, ReportError};
use crate::outcome::Word;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A cell's length: the summary stays well under GitHub's 1 MiB per step and Buildkite's 1 MiB
/// per annotation.
pub const MAX_CELL: usize = 4096;

/// The table, then the chart.
pub(crate) fn summary(report: &Report, timeline: &Timeline) -> String {
    let mut text = table(report);
    text.push_str(&gantt(report, timeline));
    text
}

/// A Markdown table of the result, one row per job, every cell escaped.
pub(crate) fn table(report: &Report) -> String {
    let s = &report.summary;
    let mut table = format!(
        "### clanforge-wait: {}{}\n\n\
         | job | result | state | progress | elapsed | polls | error |\n\
         |---|---|---|---|---|---|---|\n",
        cell(s.result.as_str()),
        if s.simulated { " (simulated by --demo: not a real Clanforge job)" } else { "" },
    );
    for job in &s.jobs {
        let progress = job.progress.map(|p| format!("{p}%")).unwrap_or_default();
        let elapsed = human(Duration::from_secs(job.elapsed_seconds));
        let cells = [
            job.job.as_str(),
            job.result.as_str(),
            job.state.as_str(),
            progress.as_str(),
            elapsed.as_str(),
            &job.polls.to_string(),
            job.error.as_str(),
        ]
        .map(cell);
        table.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    // A gate that could not start has no job rows: say why in one.
    if s.jobs.is_empty() {
        let cells =
            [s.update_id.as_str(), s.result.as_str(), "", "", "", "0", s.error.as_str()].map(cell);
        table.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    table.push('\n');
    table
}

/// Table-cell text: no HTML, no column breaks, no line breaks, bounded length.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().take(MAX_CELL) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\\' | '`' | '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Mermaid `gantt` of the jobs, a section per kind, each bar from the job's first event to its
/// end: `done` (grey) for completed, `crit` (red) for failed, stalled, timed out or refused,
/// `active` (blue) for one stopped before its end. Nothing in it is the server's text: a bar is
/// named by its kind, its ID (digits) and our result word. Empty for a gate without jobs.
pub(crate) fn gantt(report: &Report, timeline: &Timeline) -> String {
    let jobs = &report.summary.jobs;
    if jobs.is_empty() {
        return String::new();
    }
    let mut chart = format!(
        "```mermaid\ngantt\n    title clanforge-wait: {}\n    dateFormat YYYY-MM-DDTHH:mm:ss\n    \
         axisFormat %H:%M:%S\n",
        report.summary.result
    );
    let mut sections: Vec<&str> = Vec::new();
    for job in jobs {
        if !sections.contains(&job.kind) {
            sections.push(job.kind);
        }
    }
    for section in sections {
        chart.push_str(&format!("    section {}\n", name(section)));
        for (n, job) in jobs.iter().enumerate().filter(|(_, j)| j.kind == section) {
            let (began, ended) = timeline.interval(job);
            // A bar of no length is not drawn: one second at least.
            let ended = ended.max(began + Duration::from_secs(1));
            let tag = match job.result {
                Word::Success | Word::DryRun => "done",
                Word::Unfinished | Word::Cancelled => "active",
                Word::Failed | Word::Timeout | Word::Stalled | Word::Error | Word::Running => {
                    "crit"
                }
            };
            chart.push_str(&format!(
                "    {} {} ({}) :{tag}, job{n}, {}, {}\n",
                name(job.kind),
                name(&job.id),
                name(job.result.as_str()),
                clock(began),
                clock(ended),
            ));
        }
    }
    chart.push_str("```\n\n");
    chart
}

/// A bar's or section's name: what Mermaid reads as syntax (`:` ends a name, `;` and `#` start
/// other things, a line break ends the line) left out.
pub fn name(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, ':' | ';' | '#' | '%') && !c.is_control()).collect()
}

/// A time as the chart's `dateFormat` reads it, in UTC.
pub fn clock(at: SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(at).to_string();
    text.trim_end_matches('Z').to_owned()
}

/// `--summary FILE` (`CLANFORGE_SUMMARY`): the Markdown summary, on any CI or none.
pub(crate) fn file(path: PathBuf) -> Result<TimedFile, ReportError> {
    TimedFile::create("the summary file", path, Timeline::default(), summary)
}
