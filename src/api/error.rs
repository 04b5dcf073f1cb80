//! What can go wrong with a request, classified: an answer's HTTP status and body become a
//! value or a [`PollError`] that says whether trying again could help, and what would fix it.
//! The HTTP status alone is not trusted: a 2xx body can still be an error (`success: false`),
//! and a proxy can answer 200 with an HTML page.

use super::change;
use crate::job::{Answer, BodyError};
use crate::kind::JobRef;
use crate::untrusted::{excerpt, one_line};
use reqwest::StatusCode;
use std::time::Duration;

/// How many ambiguous answers in a row end a job: a server mid-update may send one, but a gate
/// that keeps being told nothing clear says so (exit 4) rather than wait out its deadline.
pub(crate) const AMBIGUOUS_TRIES: u32 = 3;

/// How a transient error for a body that is not JSON begins.
pub(crate) const UNREADABLE: &str = "unreadable answer";

/// What can go wrong with one poll. The messages state facts; what the user can do about one
/// is a [`Fix`], which the reporters put into words.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PollError {
    #[error(
        "the API refused the credentials or the account service ID (HTTP {status}{}{})",
        detail(.message),
        challenge.as_ref().map(|c| format!("; it asks for {c} auth")).unwrap_or_default()
    )]
    Refused {
        status: u16,
        message: Option<String>,
        /// The scheme the host's `WWW-Authenticate` names (`Basic`, `Bearer`), if it sent one.
        challenge: Option<String>,
        /// The refused credentials were a token (the operator's dialect), not keys.
        token: bool,
    },
    #[error(
        "the API has no {job} for this account service ID (HTTP 404{})",
        detail(.message)
    )]
    NotFound {
        job: String,
        message: Option<String>,
        /// The base URL's own path (`/cfp/v1`), when it has one: a doubled path 404s everywhere.
        base_path: Option<String>,
    },
    /// The answer names another job than the one asked for: a misrouted or cached answer,
    /// whose state says nothing about ours.
    #[error("the API answered for {key} {got} when asked for {job}")]
    WrongJob { job: String, key: &'static str, got: String },
    #[error("the API rejected the request (HTTP {status}{})", detail(.message))]
    Rejected { status: u16, message: Option<String> },
    #[error("the API reported an error{}: {message}", code.map(|c| format!(" (error_code {c})")).unwrap_or_default())]
    Api {
        code: Option<i64>,
        message: String,
        /// The job the message says locks the image ("image locked by diffid: 218595").
        locked_by: Option<JobRef>,
    },
    #[error("the API's answer can't be used: {0}")]
    Unusable(String),
    /// A field the verdict reads says neither one thing nor the other: never a success. Retried
    /// as a bad answer, then the gate's end ([`AMBIGUOUS_TRIES`]).
    #[error("the API's answer is ambiguous: {0}; not read as a success")]
    Ambiguous(crate::evidence::Ambiguous),
    /// Retrying would meet the same certificate.
    #[error("the API's TLS certificate is not trusted ({0})")]
    Untrusted(String),
    /// The base URL's scheme is not the server's: retrying meets the same server.
    #[error("wrong scheme? --base-url is {0}")]
    WrongScheme(String),
    /// A redirect the client does not follow: to another origin, from https to http, or one
    /// hop too many. Retrying meets the same redirect.
    #[error("{0}")]
    Redirect(String),
    /// No try reached the API (no address, refused, TLS failing) since the first, for
    /// `--unreachable-timeout` and [`super::UNREACHED_TRIES`] tries, and it never answered:
    /// the host or this machine's network is misconfigured, not down for a moment.
    #[error(
        "the API was never reached: {reason} (each of {tries} tries over {})",
        humantime::format_duration(match over.as_secs() {
            0 => Duration::from_millis(over.subsec_millis().into()),
            secs => Duration::from_secs(secs),
        })
    )]
    NeverReached { reason: String, tries: u32, over: Duration },
    /// The request took longer than its budget. Worth another try.
    #[error("no answer within {}", humantime::format_duration(*.within))]
    NoAnswer { within: Duration },
    /// Worth another try: 408, 429, 5xx, a broken connection, a timeout, an unreadable body.
    #[error("{reason}")]
    Transient { reason: String, retry_after: Option<Duration> },
}

/// What would fix an error, as a value: the reporters and the CLI name the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// The access key, the secret key or the ASID; or the host takes a token.
    Credentials,
    /// The token; or the host takes keys.
    Token,
    /// The job's ID or the ASID.
    JobId,
    /// Trust the certificate authority of a TLS-intercepting proxy.
    CaCert,
    /// Allow a request more time.
    RequestTimeout,
    /// The job's ID or the ASID, or the base URL's own path.
    BaseUrlPath,
    /// The host, or this machine's way to it (DNS, firewall, proxy).
    Reach,
}

impl PollError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. } | Self::NoAnswer { .. } | Self::Ambiguous(_))
    }

    pub fn fix(&self) -> Option<Fix> {
        match self {
            Self::Refused { token: true, .. } => Some(Fix::Token),
            Self::Refused { .. } => Some(Fix::Credentials),
            Self::NotFound { base_path: Some(_), .. } => Some(Fix::BaseUrlPath),
            Self::NotFound { .. } => Some(Fix::JobId),
            Self::Untrusted(_) => Some(Fix::CaCert),
            Self::NoAnswer { .. } => Some(Fix::RequestTimeout),
            Self::NeverReached { .. } => Some(Fix::Reach),
            _ => None,
        }
    }

    /// The wait the server asked for with `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn transient(reason: impl Into<String>) -> Self {
        Self::Transient { reason: reason.into(), retry_after: None }
    }
}

fn detail(message: &Option<String>) -> String {
    message.as_deref().map(|m| format!(": {}", one_line(m))).unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// The extra certificate authority given is not one.
    #[error("holds no PEM certificate{}", .0.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    CaCert(Option<String>),
    #[error("could not set up the HTTP client: {0}")]
    Setup(String),
}

/// What a body reader makes of a 2xx body: the value, or the API's error answer.
pub(super) type Read<T> = Result<Result<T, Refusal>, BodyError>;

/// An error answer's code and message (shown, and as said: see [`Answer::Error`]).
#[derive(Debug)]
pub(super) struct Refusal {
    code: Option<i64>,
    message: String,
    said: String,
}

impl From<Answer> for Refusal {
    fn from(answer: Answer) -> Self {
        match answer {
            Answer::Error { code, message, said } => Self { code, message, said },
            Answer::Status(_) => {
                let message = "a job status where none was expected".to_owned();
                Self { code: None, said: message.clone(), message }
            }
        }
    }
}

/// An answer from `what` (a job, an endpoint), classified by its status and read by `read`.
pub(super) fn classify<T>(
    what: &dyn std::fmt::Display,
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &Result<Vec<u8>, PollError>,
    read: impl Fn(&[u8]) -> Read<T>,
) -> Result<T, PollError> {
    // On an error status the body is only a detail; it may be missing or unreadable.
    let message = || {
        body.as_ref().ok().and_then(|b| match read(b) {
            Ok(Err(Refusal { message, .. })) => Some(message),
            _ => None,
        })
    };
    let code = status.as_u16();
    match code {
        401 | 403 => Err(PollError::Refused {
            status: code,
            message: message(),
            challenge: None,
            token: false,
        }),
        404 => {
            Err(PollError::NotFound { job: what.to_string(), message: message(), base_path: None })
        }
        408 | 429 | 500..=599 => {
            Err(PollError::Transient { reason: format!("HTTP {status} from the API"), retry_after })
        }
        200..=299 => match read(body.as_ref().map_err(Clone::clone)?) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(Refusal { code, message, said })) => {
                Err(PollError::Api { code, locked_by: change::lock_in(&said), message })
            }
            Err(e @ BodyError::NotJson { .. }) => Err(PollError::Transient {
                reason: format!("{UNREADABLE} (HTTP {code}): {e}"),
                retry_after,
            }),
            Err(e @ BodyError::NoState { .. }) => Err(PollError::Unusable(e.to_string())),
            Err(BodyError::Ambiguous(unclear)) => Err(PollError::Ambiguous(unclear)),
        },
        _ => Err(PollError::Rejected {
            status: code,
            message: message().or_else(|| body.as_deref().ok().map(excerpt)),
        }),
    }
}

pub(super) fn transport_error(e: &reqwest::Error) -> PollError {
    if let Some(tls) = certificate_error(e) {
        return PollError::Untrusted(tls.to_string());
    }
    if let Some(wrong) = wrong_scheme(e) {
        return PollError::WrongScheme(wrong);
    }
    if e.is_redirect() {
        let why = std::error::Error::source(e)
            .and_then(|s| s.downcast_ref::<RedirectRefused>())
            .map_or_else(|| root_cause(e), ToString::to_string);
        return PollError::Redirect(why);
    }
    let host = e
        .url()
        .and_then(|u| {
            u.host_str().map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
        })
        .unwrap_or_else(|| "the API".to_owned());
    let reason = if e.is_timeout() {
        format!("the request to {host} timed out")
    } else if e.is_connect() {
        format!("could not connect to {host}: {}", root_cause(e))
    } else {
        format!("the request to {host} failed: {}", root_cause(e))
    };
    PollError::transient(reason)
}

/// A certificate rustls refused, wherever it sits in the chain. `io::Error::source` skips the
/// error it wraps (and they nest), so each `io::Error` is opened by hand.
pub(super) fn certificate_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut cause = Some(e);
    while let Some(error) = cause {
        let inner = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        for candidate in [Some(error), inner].into_iter().flatten() {
            if let Some(tls @ rustls::Error::InvalidCertificate(_)) = candidate.downcast_ref() {
                return Some(tls);
            }
        }
        cause = inner.or_else(|| error.source());
    }
    None
}

/// A scheme that does not match the server: `https://` to a port that answers in plain HTTP
/// (rustls reads its answer as a corrupt record), or `http://` to a TLS port (the answer is no
/// HTTP). Retrying meets the same server: it is a configuration error, told at once.
pub(super) fn wrong_scheme(e: &reqwest::Error) -> Option<String> {
    let url = e.url()?;
    let host = url.host_str().unwrap_or_default();
    let cause = root_cause(e);
    match url.scheme() {
        "https" if cause.contains("InvalidContentType") || cause.contains("corrupt message") => {
            Some(format!(
                "https:// to {host}, which answers in plain HTTP ({cause}): use http:// for a \
                 server on this machine, or check the port"
            ))
        }
        "http" if cause.contains("invalid HTTP version") => Some(format!(
            "http:// to {host}, which does not answer in HTTP ({cause}): a TLS port wants \
             https://"
        )),
        _ => None,
    }
}

/// The innermost cause: "Connection refused (os error 111)" says more than reqwest's wrapper.
pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    one_line(&cause.to_string())
}

/// Why a redirect was not followed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct RedirectRefused(pub(super) String);
