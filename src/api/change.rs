//! The calls that change state: the creates and the reject. They are GETs like the status
//! reads, but a different type: a [`Change`] is not `Clone`, [`Client::send`] takes it by
//! value and makes exactly one request, and nothing in the wait loop or its retry schedule can
//! name one. "Never sent twice" is the compiler's job, not the caller's care.
//!
//! What one send can end as is a [`Sent`]: done (with the new job's ID), refused (the API said
//! no: nothing changed), not sent (the request never left), or unknown (it left, and no usable
//! answer came back). Only the caller can resolve an unknown outcome, by reading state.

use super::{Client, PollError, certificate_error, classify, endpoint, transport_error};
use crate::evidence;
use crate::job::object;
use crate::kind::{JobKind, JobRef};
use crate::secret::Secret;
use reqwest::Url;
use std::fmt;
use std::time::Duration;

/// One state-changing request, built once and sent at most once.
#[derive(Debug)]
pub(crate) struct Change {
    call: Call,
}

#[derive(Debug)]
enum Call {
    CreateUpdate {
        image_id: String,
        machine_id: String,
        desc: String,
        /// `None`: the image's default `update_url`.
        url: Option<Secret>,
    },
    CreateDiff {
        image_id: String,
        machine_id: String,
    },
    CreateVersion {
        diff_id: String,
        restart: bool,
        full: bool,
    },
    /// Rejects a diff without reinstalling its machine (`reinstall=0`).
    RejectDiff {
        diff_id: String,
    },
}

impl Change {
    pub(crate) fn create_update(
        image_id: &str,
        machine_id: &str,
        desc: &str,
        url: Option<Secret>,
    ) -> Self {
        Self {
            call: Call::CreateUpdate {
                image_id: image_id.to_owned(),
                machine_id: machine_id.to_owned(),
                desc: desc.to_owned(),
                url,
            },
        }
    }

    pub(crate) fn create_diff(image_id: &str, machine_id: &str) -> Self {
        Self {
            call: Call::CreateDiff {
                image_id: image_id.to_owned(),
                machine_id: machine_id.to_owned(),
            },
        }
    }

    pub(crate) fn create_version(diff_id: &str, restart: bool, full: bool) -> Self {
        Self { call: Call::CreateVersion { diff_id: diff_id.to_owned(), restart, full } }
    }

    pub(crate) fn reject_diff(diff_id: &str) -> Self {
        Self { call: Call::RejectDiff { diff_id: diff_id.to_owned() } }
    }

    /// The kind of job the call makes (or, for a reject, acts on).
    pub(crate) fn kind(&self) -> JobKind {
        match &self.call {
            Call::CreateUpdate { .. } => JobKind::ImageUpdate,
            Call::CreateDiff { .. } | Call::RejectDiff { .. } => JobKind::ImageDiff,
            Call::CreateVersion { .. } => JobKind::ImageVersion,
        }
    }

    fn path(&self) -> Vec<&str> {
        match &self.call {
            Call::CreateUpdate { .. } => vec!["cfp", "v1", "imageupdate", "create"],
            Call::CreateDiff { .. } => vec!["cfp", "v1", "imagediff", "create"],
            Call::CreateVersion { .. } => vec!["cfp", "v1", "imageversion", "create"],
            Call::RejectDiff { diff_id } => vec!["cfp", "v1", "imagediff", diff_id, "reject"],
        }
    }

    /// The query parameters after `accountserviceid`, the URL's as a secret.
    fn params(&self) -> Vec<(&'static str, Param<'_>)> {
        let bit = |b: bool| Param::Text(if b { "1" } else { "0" });
        match &self.call {
            Call::CreateUpdate { image_id, machine_id, desc, url } => {
                let mut params = vec![
                    ("imageid", Param::Text(image_id)),
                    ("machineid", Param::Text(machine_id)),
                    ("desc", Param::Text(desc)),
                ];
                params.extend(url.as_ref().map(|url| ("url", Param::Secret(url))));
                params
            }
            Call::CreateDiff { image_id, machine_id } => {
                vec![("imageid", Param::Text(image_id)), ("machineid", Param::Text(machine_id))]
            }
            Call::CreateVersion { diff_id, restart, full } => {
                let mut params = vec![("diffid", Param::Text(diff_id)), ("restart", bit(*restart))];
                if *full {
                    params.push(("full", bit(true)));
                }
                params
            }
            Call::RejectDiff { .. } => vec![("reinstall", bit(false))],
        }
    }

    /// `GET /cfp/v1/imageupdate/create?accountserviceid=7&imageid=…`, as `--dry-run` and the log
    /// print it: the update URL shows its scheme and host only, the keys are never part of it,
    /// and a secret in another parameter (a key pasted into `--desc`) is redacted.
    pub(crate) fn shown(&self, asid: &str) -> String {
        let text: Vec<(&str, &str)> = self
            .params()
            .into_iter()
            .filter_map(|(name, value)| match value {
                Param::Text(value) => Some((name, value)),
                Param::Secret(_) => None,
            })
            .collect();
        let base = Url::parse("http://x/").expect("a fixed URL parses");
        let url = endpoint(&base, self.path(), asid, &text);
        let mut shown = format!("GET {}?{}", url.path(), url.query().unwrap_or_default());
        for (name, value) in self.params() {
            if let Param::Secret(url) = value {
                shown.push_str(&format!("&{name}={}", url_shown(url)));
            }
        }
        crate::untrusted::redact(&shown)
    }
}

enum Param<'a> {
    Text(&'a str),
    Secret(&'a Secret),
}

/// The schemes whose user-info holds storage credentials that the API decodes once more
/// than the query: "credentials in the URL must be double-encoded" (the operator's docs).
const CREDENTIAL_SCHEMES: [&str; 4] = ["s3", "gs", "steam", "cos"];

/// The update URL as it goes into the `url` parameter: for `s3://`, `gs://`, `steam://` and
/// `cos://`, a user and password given raw (an AWS secret key holds `/`, `+` and `=`) are
/// percent-encoded, so that with the query's own encoding they arrive double-encoded; a part
/// that holds a `%XX` escape already is taken as encoded and sent as given, never twice. The
/// user-info ends at the URL's last `@` (storage keys hold none).
pub(crate) fn url_sent(url: &str) -> String {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    if !CREDENTIAL_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) {
        return url.to_owned();
    }
    let Some((userinfo, host_and_path)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    let encoded = match userinfo.split_once(':') {
        Some((user, password)) => format!("{}:{}", encoded(user), encoded(password)),
        None => encoded(userinfo),
    };
    format!("{scheme}://{encoded}@{host_and_path}")
}

/// One part of the user-info, percent-encoded unless it is already (it holds a `%XX`).
fn encoded(part: &str) -> String {
    let bytes = part.as_bytes();
    let escaped = (0..bytes.len()).any(|i| {
        bytes[i] == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    });
    if escaped {
        return part.to_owned();
    }
    percent_encoding::utf8_percent_encode(part, crate::untrusted::COMPONENT).to_string()
}

/// An update URL as it may be shown: its scheme and host, nothing of its path, user, password
/// or query (`s3://bucket/…`).
pub(crate) fn url_shown(url: &Secret) -> String {
    match Url::parse(&url_sent(url.expose())) {
        Ok(parsed) => match parsed.host_str() {
            Some(host) if !host.is_empty() => format!("{}://{host}/…", parsed.scheme()),
            _ => format!("{}:…", parsed.scheme()),
        },
        Err(_) => "(hidden)".to_owned(),
    }
}

/// The URL and each secret part of it, as written and decoded.
pub(crate) fn url_secrets(url: &Secret) -> Vec<Secret> {
    let whole = url.expose().trim();
    let sent = url_sent(whole);
    let mut parts = vec![whole.to_owned(), sent.clone()];
    // The user and password as given, raw: a URL parser can't find them when they hold `/`.
    if let Some((_, rest)) = whole.split_once("://")
        && let Some((userinfo, _)) = rest.rsplit_once('@')
    {
        parts.push(userinfo.to_owned());
        parts.extend(
            userinfo
                .split_once(':')
                .map(|(u, p)| [u.to_owned(), p.to_owned()])
                .into_iter()
                .flatten(),
        );
    }
    if let Ok(parsed) = Url::parse(&sent) {
        parts.push(parsed.username().to_owned());
        parts.extend(parsed.password().map(str::to_owned));
        parts.extend(
            parsed
                .query_pairs()
                .filter(|(name, _)| name != "region" && name != "requesttimeout")
                .map(|(_, value)| value.into_owned()),
        );
    }
    let decoded: Vec<String> = parts.iter().filter_map(|p| percent_decode(p)).collect();
    parts.extend(decoded);
    // A part this short would mask common words in the log; the whole URL still covers it.
    parts.retain(|p| p.len() >= 6);
    parts.sort();
    parts.dedup();
    parts.into_iter().map(Secret::new).collect()
}

/// Registers the image's own update URLs an answer holds (`image/options` sends the image's
/// `update_url`, credentials and all) as secrets, parts too, before the trace or an error's
/// excerpt shows them: read from the text, so that an answer that is not JSON is covered too.
pub(crate) fn hide_update_urls(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    for (at, key) in text.match_indices("\"update_url\"") {
        let after = &text[at + key.len()..];
        let Some(value) =
            after.trim_start().strip_prefix(':').and_then(|v| v.trim_start().strip_prefix('"'))
        else {
            continue;
        };
        // The string up to its closing quote, its escapes undone (`\/` is PHP's `/`).
        let mut url = String::new();
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => url.extend(chars.next()),
                c => url.push(c),
            }
        }
        if !url.trim().is_empty() {
            crate::untrusted::redact_also(&url_secrets(&Secret::new(url)));
        }
    }
}

/// `%xx` sequences decoded, when there are any and they decode to UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8().ok()?;
    Some(decoded.into_owned())
}

/// How one send ended.
// "Not sent" is the outcome's own name, the words the log uses for it.
#[allow(clippy::enum_variant_names)]
#[derive(Debug)]
pub(crate) enum Sent {
    /// The API answered with the new job's ID (for a reject, the diff's).
    Done { id: String },
    /// The API answered no: nothing changed. A lock names the job that holds it.
    Refused { error: PollError, lock: Option<JobRef> },
    /// The request never left this machine (no connection): nothing changed.
    NotSent(String),
    /// The request left, and no usable answer came: the job may or may not exist.
    Unknown(String),
}

impl Client {
    /// Sends `change`, once, within `budget`. Never retried here or anywhere: an unknown
    /// outcome is for the caller to resolve by reading state.
    pub(crate) async fn send(&self, change: Change, budget: Duration) -> Sent {
        let url = self.change_url(&change);
        let scrubbed = |text: String| crate::untrusted::redact(&text);
        let fetched = match tokio::time::timeout(budget, self.fetch_raw(&url)).await {
            Err(_) => {
                return Sent::Unknown(format!(
                    "no answer within {}",
                    humantime::format_duration(budget)
                ));
            }
            // No connection, or a certificate refused: the request never left.
            Ok(Err(error)) if error.is_connect() || certificate_error(&error).is_some() => {
                return Sent::NotSent(scrubbed(transport_error(&error).to_string()));
            }
            Ok(Err(error)) => return Sent::Unknown(scrubbed(transport_error(&error).to_string())),
            // Not followed: the create reached a server, which may have done it.
            Ok(Ok(fetched)) if fetched.status.is_redirection() => {
                return Sent::Unknown(format!(
                    "the API answered with a redirect (HTTP {}), which a state-changing call \
                     never follows",
                    fetched.status
                ));
            }
            Ok(Ok(fetched)) => fetched,
        };
        // The new job's ID (a reject's answer names its diff).
        let key = change.kind().id_key().expect("every change acts on a job that names its ID");
        let what = Endpoint(&change);
        let read = |body: &[u8]| {
            // An ID is a number, read as sent (not through the filter, which could redact part
            // of it); anything else is no ID.
            object(body).map(|answer| {
                answer
                    .map(|obj| obj.get(key).and_then(evidence::id).map(|id| id.to_string()))
                    .map_err(Into::into)
            })
        };
        let answer = classify(&what, fetched.status, None, &fetched.body, read)
            .map_err(|e| self.in_context(e, fetched.challenge.as_deref()));
        match answer {
            Ok(Some(id)) => Sent::Done { id },
            Ok(None) => {
                Sent::Unknown(format!("the answer (HTTP {}) holds no {key}", fetched.status))
            }
            // A 5xx, a 408 or 429, an unreadable body: the request may have done its work.
            Err(error) if error.is_transient() => Sent::Unknown(scrubbed(error.to_string())),
            Err(error) => {
                let lock = match &error {
                    PollError::Api { locked_by, .. } => locked_by.clone(),
                    _ => None,
                };
                let error = match error {
                    PollError::Api { code, message, locked_by } => {
                        PollError::Api { code, message: scrubbed(message), locked_by }
                    }
                    other => other,
                };
                Sent::Refused { error, lock }
            }
        }
    }

    fn change_url(&self, change: &Change) -> Url {
        let params: Vec<(&str, &str)> = change
            .params()
            .into_iter()
            .map(|(name, value)| match value {
                Param::Text(text) => (name, text),
                Param::Secret(secret) => (name, secret.expose()),
            })
            .collect();
        // The update URL's credentials, encoded once here and once more as a query value.
        let sent: Vec<(String, String)> = params
            .into_iter()
            .map(|(name, value)| match name {
                "url" => (name.to_owned(), url_sent(value)),
                _ => (name.to_owned(), value.to_owned()),
            })
            .collect();
        let params: Vec<(&str, &str)> =
            sent.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        endpoint(&self.base, change.path(), &self.asid, &params)
    }

    /// `image/options` for one image: which diff or update locks it now. A read: safe to
    /// repeat on the schedule.
    pub(crate) async fn options(
        &self,
        game_id: &str,
        image_id: &str,
    ) -> Result<ImageOptions, PollError> {
        let url = self.options_url(game_id, image_id);
        let fetched = self.fetch(&url).await?;
        let read = |body: &[u8]| {
            object(body).map(|answer| {
                answer
                    .map(|obj| {
                        let id = |key| {
                            // 0 or an empty value is no lock.
                            obj.get(key)
                                .and_then(evidence::id)
                                .filter(|&id| id != 0)
                                .map(|id| id.to_string())
                        };
                        let diff = id("diffid").map(|id| JobRef::new(JobKind::ImageDiff, id));
                        let update = id("updateid").map(|id| JobRef::new(JobKind::ImageUpdate, id));
                        ImageOptions { lock: diff.or(update), server_time: None }
                    })
                    .map_err(Into::into)
            })
        };
        let what = format!("image {image_id} of game {game_id}");
        let mut options = classify(&what, fetched.status, fetched.retry_after, &fetched.body, read)
            .map_err(|e| self.in_context(e, fetched.challenge.as_deref()))?;
        options.server_time = fetched.server_time;
        Ok(options)
    }

    /// The `image/options` URL, as the reads go out and as `--dry-run` shows it.
    pub(crate) fn options_url(&self, game_id: &str, image_id: &str) -> Url {
        let params = [("gameid", game_id), ("imageid", image_id)];
        endpoint(&self.base, ["cfp", "v1", "image", "options"], &self.asid, &params)
    }
}

/// What `image/options` says about one image. Its `update_url` (which may hold storage
/// credentials) is never read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ImageOptions {
    /// The diff (first) or update that locks the image now.
    pub lock: Option<JobRef>,
    /// The server's clock when it answered, Unix seconds.
    pub server_time: Option<i64>,
}

/// The job named in "image locked by diffid: 218595" (or `updateid`).
pub(crate) fn lock_in(message: &str) -> Option<JobRef> {
    let lower = message.to_ascii_lowercase();
    let (kind, rest) = [("diffid", JobKind::ImageDiff), ("updateid", JobKind::ImageUpdate)]
        .into_iter()
        .find_map(|(key, kind)| {
            let at = lower.find("locked by ")?;
            let rest = lower[at + 10..].trim_start();
            let rest = rest.strip_prefix(key)?;
            Some((kind, rest.trim_start_matches([':', ' ', '#'])))
        })?;
    let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!id.is_empty()).then(|| JobRef::new(kind, id))
}

/// A change's endpoint, for error messages ("the API has no … for this ASID").
struct Endpoint<'a>(&'a Change);

impl fmt::Display for Endpoint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "endpoint /{}", self.0.path().join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_message_names_its_job() {
        assert_eq!(
            lock_in("image locked by diffid: 218595"),
            Some(JobRef::new(JobKind::ImageDiff, "218595"))
        );
        assert_eq!(
            lock_in("Image locked by updateid: 77"),
            Some(JobRef::new(JobKind::ImageUpdate, "77"))
        );
        assert_eq!(lock_in("image not found"), None);
        assert_eq!(lock_in("image locked by diffid: "), None);
    }
}
