//! `--trace-http`: every request the client sends and what came back, for a bug report when
//! the real API answers something the gate did not expect.
//!
//! A request's lines are written in one piece once it ends, however it ends: answered, failed,
//! or cut off by its time budget (the [`Pending`] guard writes on drop). Nothing secret is
//! written: the `Authorization` header shows its scheme only, the update URL its scheme and
//! host, and every secret the run knows (the keys, the token, the Basic header's value, the
//! URL and each part of it) is `***` wherever the server may have echoed it. The body's first
//! 4 KiB are kept on one line, with every control and invisible format character escaped.

use super::change::url_shown;
use crate::secret::Secret;
use crate::untrusted::{escaped, escaped_start};
use reqwest::header::{CONTENT_TYPE, DATE, HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

/// How much of a body the trace keeps.
pub(crate) const BODY_BYTES: usize = 4096;

/// Where the trace goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TraceTo {
    Stderr,
    /// Appended to, created if missing.
    File(PathBuf),
}

impl TraceTo {
    /// `--trace-http`'s value: none or `-` is stderr; CLANFORGE_TRACE_HTTP may also be a word
    /// that turns it on (`1`, `true`) or off (`0`, `false`, empty: `None`).
    pub(crate) fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        match value.to_ascii_lowercase().as_str() {
            "" | "0" | "false" | "no" | "off" => None,
            "-" | "1" | "true" | "yes" | "on" | "stderr" => Some(Self::Stderr),
            _ => Some(Self::File(PathBuf::from(value))),
        }
    }
}

/// The open trace.
pub(crate) struct Trace {
    sink: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace").finish_non_exhaustive()
    }
}

impl Trace {
    /// Opens the trace. Every secret the run knows is redacted from everything it writes (see
    /// [`crate::untrusted`]).
    pub(crate) fn open(to: &TraceTo) -> io::Result<Self> {
        let sink: Box<dyn Write + Send> = match to {
            TraceTo::Stderr => Box::new(io::stderr()),
            TraceTo::File(path) => Box::new(append(path)?),
        };
        Ok(Self { sink: Mutex::new(sink) })
    }

    /// A request about to be sent with `scheme` auth: its lines are written when the returned
    /// guard is finished or dropped.
    pub(crate) fn start(&self, url: &Url, scheme: &str) -> Pending<'_> {
        let at = humantime::format_rfc3339_millis(SystemTime::now());
        Pending {
            trace: self,
            head: format!("trace {at} GET {} (auth {scheme} ***)", self.target(url)),
            started: Instant::now(),
            outcome: None,
        }
    }

    /// A redirect followed: the request it makes, on a line of its own (its answer is the one
    /// the first request's lines end with).
    pub(crate) fn redirected(&self, url: &Url, scheme: &str) {
        let at = humantime::format_rfc3339_millis(SystemTime::now());
        self.write(&format!(
            "trace {at} GET {} (auth {scheme} ***) (a redirect followed)\n",
            self.target(url)
        ));
    }

    /// The path and query as they may be shown: the update URL as its scheme and host, and
    /// every other value scrubbed of the run's secrets.
    fn target(&self, url: &Url) -> String {
        let mut shown = url.path().to_owned();
        let pairs: Vec<String> = url
            .query_pairs()
            .map(|(name, value)| match name.as_ref() {
                "url" => format!("url={}", url_shown(&Secret::new(value.into_owned()))),
                _ => format!("{name}={value}"),
            })
            .collect();
        if !pairs.is_empty() {
            shown.push('?');
            shown.push_str(&pairs.join("&"));
        }
        escaped(&shown)
    }

    fn write(&self, text: &str) {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        // A trace that can't be written must not stop the gate: it is a diagnostic.
        let _ = sink.write_all(text.as_bytes()).and_then(|()| sink.flush());
    }
}

/// Opens `path` to append to it, as `--trace-http` does: set-up checks it before any request.
pub(crate) fn append(path: &Path) -> io::Result<std::fs::File> {
    crate::append::open_append(path)
}

/// A request in flight. Dropped unfinished, it was cut off (its budget or the deadline ran
/// out, or the gate was cancelled) and says so.
pub(crate) struct Pending<'a> {
    trace: &'a Trace,
    head: String,
    started: Instant,
    outcome: Option<String>,
}

impl std::fmt::Debug for Pending<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl Pending<'_> {
    /// The answer's status, headers and body (or why the body could not be read).
    pub(crate) fn answered(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Result<&[u8], String>,
    ) {
        let took = self.took();
        let header =
            |name| headers.get(name).map(|v| escaped(&String::from_utf8_lossy(v.as_bytes())));
        let mut text = format!("trace   HTTP {status} in {took}");
        for (name, value) in [
            ("Date", header(DATE)),
            ("Retry-After", header(RETRY_AFTER)),
            ("Content-Type", header(CONTENT_TYPE)),
        ] {
            if let Some(value) = value {
                let _ = write!(text, "; {name}: {value}");
            }
        }
        text.push('\n');
        match body {
            Ok(body) => {
                let more = if body.len() > BODY_BYTES { " (first 4 KiB)" } else { "" };
                // Redacted before it is cut: a secret across the cut leaves no half.
                let _ = writeln!(
                    text,
                    "trace   body, {} bytes{more}: {}",
                    body.len(),
                    escaped_start(body, BODY_BYTES)
                );
            }
            Err(why) => {
                let _ = writeln!(text, "trace   body not read: {}", escaped(&why));
            }
        }
        self.outcome = Some(text);
    }

    /// No answer: the transport's error.
    pub(crate) fn failed(&mut self, error: &str) {
        let took = self.took();
        self.outcome = Some(format!("trace   no answer after {took}: {}\n", escaped(error)));
    }

    fn took(&self) -> String {
        let ms = self.started.elapsed().as_millis();
        format!("{ms} ms")
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let outcome = self.outcome.take().unwrap_or_else(|| {
            format!(
                "trace   cut off after {}: no answer within the request's time (--request-timeout \
                 or the deadline)\n",
                self.took()
            )
        });
        self.trace.write(&format!("{}\n{outcome}", self.head));
    }
}
