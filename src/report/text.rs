//! The verdict's words: the last line, the error and what to fix, on every path (the log and
//! `check` word their own progress lines). The loop and the client state facts (and, as a
//! [`Fix`], what would help), `verdict` says what they mean and asks this module for the words.

use crate::api::{Fix, PollError};
use crate::chain::{IfLocked, Step};
use crate::event::{
    Check, CheckVerdict, Checked, End, Finished, Found, GateRun, Report, StartError,
};
use crate::job::JobStatus;
use crate::kind::{JobKind, JobRef};
use crate::outcome::{JobSummary, Outcome, Signal, whole_seconds};
use crate::untrusted::one_line;
use std::time::Duration;

/// What to do about an error, naming the flags.
pub(crate) fn advice(fix: Fix) -> &'static str {
    match fix {
        Fix::Credentials => {
            "check --access-key, --secret-key and --asid; if this is the operator's host \
             (api.multiplay.dev), it takes a token: set CLANFORGE_TOKEN"
        }
        Fix::Token => {
            "check --token (CLANFORGE_TOKEN); if this is Unity's host (api.multiplay.co.uk), it \
             takes access and secret keys: set CLANFORGE_ACCESS_KEY and CLANFORGE_SECRET_KEY"
        }
        Fix::JobId => "check the job's ID and --asid",
        Fix::CaCert => "if a proxy intercepts TLS, pass its certificate authority with --ca-cert",
        Fix::RequestTimeout => "raise --request-timeout if the API is this slow",
        Fix::Reach => {
            "check the host in --base-url (CLANFORGE_BASE_URL) and this machine's way to it \
             (DNS, firewall, proxy): run `clanforge-wait check`, which says which"
        }
        Fix::BaseUrlPath => {
            "check the job's ID and --asid; and check --base-url: it has a path of its own, and \
             the gate adds /cfp/v1/… itself (give only the scheme and host, e.g. \
             https://api.multiplay.co.uk)"
        }
    }
}

/// The final line, marked when the API was `--demo`'s: a demo must never pass for a result.
pub(crate) fn simulated_mark(message: String, simulated: bool) -> String {
    if simulated {
        format!("{message} [simulated by --demo: no request reached Clanforge]")
    } else {
        message
    }
}

/// A poll's error with what would fix it.
pub(crate) fn poll_error(error: &PollError) -> String {
    match error.fix() {
        Some(fix) => format!("{error}: {}", advice(fix)),
        None => error.to_string(),
    }
}

/// A wait's error and line: one job's words, a chain's, or the sum of many jobs'.
pub(crate) fn gate_words(
    run: &GateRun,
    outcome: Outcome,
    decider: usize,
    words: &[(String, String)],
) -> (String, String) {
    if let Some(step) = run.step {
        return chain_words(run, outcome, step, &words[decider]);
    }
    if run.jobs.len() == 1 {
        return words[0].clone();
    }
    let reference = run.jobs[decider].job.reference();
    let results: Vec<String> =
        run.jobs.iter().map(|f| format!("{} {}", f.job.reference(), f.end.result())).collect();
    let error = match &words[decider].0 {
        error if error.is_empty() => String::new(),
        error => format!("{reference}: {error}"),
    };
    // The sum, once; the job that decided the outcome with its error, not its own time again.
    let mut message = format!(
        "{} jobs after {} and {}: {}",
        run.jobs.len(),
        human(run.elapsed),
        count(run.requests, "request"),
        results.join(", "),
    );
    if !error.is_empty() {
        message.push_str(&format!("; {error}"));
    }
    (error, message)
}

/// `check`'s error and line: how many passed, or the first that failed.
pub(crate) fn check_words(checked: &Checked) -> (String, String) {
    let passed = checked.count(CheckVerdict::Ok);
    let failed: Vec<&Check> = checked.failed().collect();
    match failed.first() {
        None => (
            String::new(),
            format!(
                "check passed: {passed} checks ok{}, {} read-only requests, nothing changed",
                match checked.count(CheckVerdict::Warning) {
                    0 => String::new(),
                    1 => ", 1 warning".to_owned(),
                    n => format!(", {n} warnings"),
                },
                checked.requests
            ),
        ),
        Some(first) => {
            let error = format!("{}: {}", first.name, first.detail);
            let message = format!(
                "check failed ({} of {} checks): {error}",
                failed.len(),
                failed.len() + passed
            );
            (error, message)
        }
    }
}

/// A chain's error and line: the steps as they went, and the step it stopped at.
fn chain_words(
    run: &GateRun,
    outcome: Outcome,
    step: Step,
    (error, message): &(String, String),
) -> (String, String) {
    let steps: Vec<String> =
        run.jobs.iter().map(|f| format!("{} {}", f.job.reference(), f.end.result())).collect();
    let after = format!("after {} and {}", human(run.elapsed), count(run.requests, "request"));
    if outcome == Outcome::Completed {
        return (String::new(), format!("every step completed {after}: {}", steps.join(" → ")));
    }
    let error = if error.is_empty() {
        String::new()
    } else {
        format!("{} step: {error}", step.step_name())
    };
    let message = format!(
        "stopped at the {} step {after} ({}): {message}",
        step.step_name(),
        steps.join(" → ")
    );
    (error, message)
}

/// A job a step made, or the one it was about to make.
fn label(job: &JobRef) -> String {
    if job.id.is_empty() { format!("the new {}", job.kind.noun()) } else { job.to_string() }
}

/// Why a step made no job, and what to do.
fn start_words(job: &JobRef, error: &StartError) -> String {
    let noun = job.kind.noun();
    match error {
        StartError::Locked { lock, image, if_locked, raced } => {
            locked_words(lock, image, *if_locked, *raced)
        }
        StartError::Checkpoint(error) => format!(
            "{error}: the deploy stopped here, before a create no rerun could know of; free the \
             space or fix the path, then run again with --resume-from"
        ),
        StartError::NotSent(reason) => format!(
            "the {noun}'s create could not be sent ({reason}): nothing was created; run the \
             step again"
        ),
        StartError::Unknown { reason, found } => unknown_words(job, noun, reason, found),
        StartError::LockOutlasted { lock, image } => format!(
            "image {image} was still locked by {lock} when the deadline (--timeout) passed, \
             so no {noun} was created; accept or reject {lock} in Clanforge, or raise --timeout"
        ),
        StartError::NoChanges { diff } => format!(
            "{diff} found no changes (nothing added, modified or removed): the image already \
             holds this build, and a version of an empty diff must be a full one. The diff locks \
             the image until a version is made from it or it is rejected: run again with \
             --resume-from (or --diff-id {}) and --full to package a full version, or reject it",
            diff.id
        ),
        StartError::Missing(what) => format!("{what} is needed for this step: pass it"),
    }
}

/// Why a lock stopped a step, and what to do about it.
fn locked_words(lock: &JobRef, image: &str, if_locked: IfLocked, raced: bool) -> String {
    let what = if raced {
        format!(
            "image {image} is locked by {lock}: it appeared between the gate's check and \
             its create, which the API refused (nothing was created)"
        )
    } else {
        format!("image {image} is locked by {lock}")
    };
    let advice = match (lock.kind, if_locked) {
        (JobKind::ImageDiff, _) if !raced => {
            "a diff holds the lock until a version is made from it or it is rejected: \
             accept or reject it in Clanforge, or run again with --if-locked wait (wait \
             for that) or --if-locked reject --yes-reject-diff (reject it)"
        }
        (JobKind::ImageDiff, _) => {
            "run again: --if-locked decides what to do about it (fail, wait, or \
             reject with --yes-reject-diff)"
        }
        (_, IfLocked::Reject) => {
            "an update can't be rejected: wait for it to end with --if-locked wait"
        }
        _ => "wait for that update to end, or run again with --if-locked wait",
    };
    format!("{what}; {advice}")
}

/// A create whose outcome is unknown: what the gate found when it looked, and what to check.
fn unknown_words(job: &JobRef, noun: &str, reason: &str, found: &Found) -> String {
    let head = format!(
        "the {noun}'s create went out and its outcome is unknown ({reason}); it was not \
         sent again"
    );
    let check = "check the image's jobs in the Clanforge dashboard before you run the \
                 step again";
    let found = match found {
        Found::Nothing if job.kind == JobKind::ImageUpdate => format!(
            "nothing locks the image now: no image update is running, so most likely \
             none was made (or one was made and has already ended); {check}"
        ),
        Found::Nothing => {
            format!("nothing locks the image now, so most likely no {noun} was made; {check}")
        }
        Found::Older { job, created } => format!(
            "{job} locks the image but was made before the gate's request{}, so it is not \
             the one the gate asked for; {check}",
            created
                .map(|c| format!(" (jobcreated {c})"))
                .unwrap_or_else(|| " (or says no jobcreated)".into())
        ),
        Found::Other(job) => format!("{job} locks the image; {check}"),
        Found::StillLocked(diff) => format!(
            "{diff} still locks the image, so nothing came of it; run the step again (a \
             deploy: --resume-from its result file)"
        ),
        Found::Released(diff) => format!(
            "{diff} no longer locks the image, so a version was most likely made from it, \
             its ID unknown; check the image's versions in the Clanforge dashboard, and \
             follow the rollout with `clanforge-wait rollout/<imageid>`"
        ),
        Found::CantCheck => format!(
            "pass --game-id and --image-id so that the gate can look up what locks the \
             image (image/options); {check}"
        ),
        Found::ReadFailed(error) => {
            format!("reading the lock failed too ({}); {check}", poll_error(error))
        }
    };
    format!("{head}: {found}")
}

/// One job's error (empty when none) and its line for a person.
pub(crate) fn job_words(finished: &Finished) -> (String, String) {
    let job = &finished.job;
    // A step that made no job names the job it was about to make.
    let shown = label(job);
    let last = finished.last.as_ref();
    let seen = last_seen(finished);
    let after = format!("after {} and {}", human(finished.elapsed), count(finished.polls, "poll"));
    match &finished.end {
        End::Completed if job.kind.settles() && !finished.seen_work => (
            String::new(),
            format!(
                "{job} completed: nothing was queued within the {} settle period (--settle) \
                 ({seen}) {after}",
                human(finished.settle)
            ),
        ),
        End::Completed if job.kind.settles() => (
            String::new(),
            format!("{job} completed: its work was seen and is gone ({seen}) {after}"),
        ),
        End::Completed => (String::new(), format!("{job} completed ({seen}) {after}")),
        End::JobFailed => failed_words(job, last, &after),
        End::Refused(error) => {
            let error = poll_error(error);
            let message = format!("{shown}: {error}");
            (error, message)
        }
        End::Start(why) => {
            let error = start_words(job, why);
            (error.clone(), error)
        }
        End::TimedOut | End::RetryAfterPastDeadline(_) => {
            let error = gave_up_words(finished, &shown, &after, &seen);
            (error.clone(), error)
        }
        End::Stalled(sat) => {
            let limit = finished.stall_timeout.map(human).unwrap_or_default();
            let error = format!(
                "{job} has sat at {seen} for {} (--stall-timeout {limit}) {after}: the job looks \
                 stuck; check it in the Clanforge dashboard",
                human(*sat)
            );
            (error.clone(), error)
        }
        End::Cancelled(signal) => {
            let error = format!("cancelled by {} {after}", signal_name(*signal));
            let message = format!(
                "{error}; {shown} was last seen {seen} and may still be running in Clanforge"
            );
            (error, message)
        }
        End::Unfinished => {
            let error = format!(
                "not waited on to the end: another job failed first (--no-fail-fast waits on \
                 every job); last seen: {seen}"
            );
            (error.clone(), error)
        }
    }
}

/// A job that failed: its error, or why it counts as failed; and the line that says so.
fn failed_words(job: &JobRef, last: Option<&JobStatus>, after: &str) -> (String, String) {
    let counts = last.and_then(|s| s.counts);
    let mut why = format!("state {}", last.map_or("unknown", |s| s.state_label()));
    if last.is_some_and(|s| s.failed) {
        why.push_str(", jobfailed set");
    }
    if let Some(c) = counts.filter(|c| c.failed > 0) {
        why = format!("{} failed", count(c.failed as u32, "machine or install"));
    }
    let error =
        last.and_then(|s| s.error.as_deref()).map(one_line).unwrap_or_else(|| match counts {
            Some(c) if job.kind == JobKind::Rollout => format!(
                "{} failed to install (--max-failed-machines allows fewer)",
                count(c.failed as u32, "machine")
            ),
            _ => format!("the job ended with {why}"),
        });
    let message = format!("{job} failed ({why}) {after}: {error}");
    (error, message)
}

/// A job the deadline (or a `Retry-After` past it) ended: what was last seen, and what to do.
fn gave_up_words(finished: &Finished, shown: &str, after: &str, seen: &str) -> String {
    let limit = human(finished.timeout);
    let why = match &finished.end {
        End::RetryAfterPastDeadline(asked) => format!(
            "the API asked for a {} pause (Retry-After), past the {limit} deadline",
            human(*asked),
        ),
        _ => format!("the {limit} deadline (--timeout) passed"),
    };
    format!(
        "gave up waiting on {shown} {after}: {why}; last seen: {seen}; the job may still be \
         running in Clanforge (raise --timeout if such jobs take longer)"
    )
}

/// A gate stopped by a signal before its first request.
pub(crate) fn cancelled_before_start(signal: Signal) -> String {
    format!(
        "cancelled by {} before the first request: nothing was asked of Clanforge",
        signal_name(signal)
    )
}

/// A gate whose command line's files were still not read when its deadline passed.
pub(crate) fn files_not_read(deadline: Duration) -> String {
    format!(
        "the {} deadline (--timeout) passed while the gate read the files its command line \
         names (a FIFO or a process substitution with no writer?): nothing was asked of \
         Clanforge",
        humantime::format_duration(deadline)
    )
}

/// The dry run's line.
pub(crate) fn dry_run(requests: usize) -> String {
    format!(
        "dry run: {} printed above; none was sent, nothing was created",
        count(requests as u32, "request")
    )
}

fn signal_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Interrupt => "SIGINT",
        Signal::Terminate => "SIGTERM",
        Signal::Hangup => "SIGHUP",
    }
}

/// "Running, 42%", or what kept us from seeing a status.
fn last_seen(finished: &Finished) -> String {
    match (&finished.last, &finished.last_error) {
        (Some(status), _) => describe(status),
        (None, Some(error)) => format!("no status yet (last error: {})", poll_error(error)),
        (None, None) => "no status yet".to_owned(),
    }
}

/// "Running, 42%".
/// A poll as a reporter shows it: `idle` (nothing queued yet) never reads as Complete.
pub(crate) fn polled_words(status: &JobStatus, idle: bool) -> String {
    match idle {
        true => "nothing queued yet".to_owned(),
        false => describe(status),
    }
}

pub(crate) fn describe(status: &JobStatus) -> String {
    match status.progress {
        Some(p) => format!("{}, {p}%", status.state_label()),
        None => status.state_label().to_owned(),
    }
}

/// What a CI shows as its problems when the gate does not succeed: one per job that did not
/// complete (its reference, and what happened to it), or, when no job says why (a usage error,
/// a cancel before the first request, a refused start), one for the gate. Empty on success.
pub(crate) fn problems(report: &Report) -> Vec<(String, String)> {
    if report.outcome.is_success() {
        return Vec::new();
    }
    let mut problems: Vec<(String, String)> = report
        .summary
        .jobs
        .iter()
        .filter(|job| !job.result.passed())
        .map(|job| (job.job.clone(), job_line(job)))
        .collect();
    if problems.is_empty() {
        problems.push(("gate".to_owned(), report.message.clone()));
    }
    problems
}

/// A job as a CI's problem or a report's failure names it: `update/424242: failed: disk full`.
pub(crate) fn job_line(job: &JobSummary) -> String {
    if job.error.is_empty() {
        format!("{}: {}", job.job, job.result)
    } else {
        format!("{}: {}: {}", job.job, job.result, job.error)
    }
}

/// "1 poll", "3 polls".
pub fn count(n: u32, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// A duration for a person: "350ms", "4.2s", "1m 30s".
pub fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(10) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        humantime::format_duration(Duration::from_secs(whole_seconds(d))).to_string()
    }
}
