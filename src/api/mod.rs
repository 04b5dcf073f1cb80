//! The Clanforge HTTP client: builds the status request, reads the answer with a size cap and
//! hands it to [`error`]'s classification (fatal: stop now; transient: retry on the schedule).
//! Who it is lives in [`credentials`]; the state-changing calls in [`change`]; `--trace-http`
//! in [`trace`].

pub(crate) mod change;
mod credentials;
mod error;
pub(crate) mod trace;

pub(crate) use credentials::Credentials;
pub(crate) use error::{AMBIGUOUS_TRIES, ClientError, UNREADABLE};
pub use error::{Fix, PollError};
use error::{RedirectRefused, certificate_error, classify, root_cause, transport_error};

use crate::job::{Answer, JobStatus};
use crate::kind::{JobRef, same_id};
use crate::untrusted::one_line;
use reqwest::header::{ACCEPT, DATE, HeaderMap, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{StatusCode, Url};
use std::time::{Duration, SystemTime};

/// Answers larger than this are not read: a status answer is a few hundred bytes, and memory
/// stays bounded whatever a server or proxy sends.
pub(crate) const MAX_BODY: usize = 1 << 20;

/// The default cap on a fleet's answers (the install list, the rollout status), which
/// `--max-body` sets: 64 MiB holds about 150,000 install entries of a real answer's size
/// (430 bytes each), three times the 50,000 the gate is measured with.
pub(crate) const MAX_LIST_BODY: usize = 64 << 20;

pub(crate) const USER_AGENT: &str = concat!("clanforge-wait/", env!("CARGO_PKG_VERSION"));

/// A client for one account service ID.
#[derive(Debug)]
pub(crate) struct Client {
    /// Follows a redirect of a read within the base URL's origin only, and none of a
    /// state-changing call (see [`redirects`]).
    http: reqwest::Client,
    base: Url,
    asid: String,
    credentials: Credentials,
    /// The cap on a fleet's answers (`--max-body`).
    max_list_body: usize,
    /// `--trace-http`: every request and its answer, written as it ends. Shared with the
    /// redirect policy, which traces each hop it follows.
    trace: std::sync::Arc<std::sync::OnceLock<trace::Trace>>,
    /// Whether the API has answered yet, and how long it has not been reached.
    reach: std::sync::Mutex<Reach>,
    /// `--unreachable-timeout`.
    unreachable_timeout: Duration,
}

/// A host that has never answered, tried this many times at least, is never reached.
pub(crate) const UNREACHED_TRIES: u32 = 3;

/// Whether the API has answered this client, and the failed tries to reach it before that.
#[derive(Debug, Default)]
struct Reach {
    answered: bool,
    tries: u32,
    since: Option<tokio::time::Instant>,
}

impl Reach {
    /// Counts a try that could not reach the host: `Some` (tries, since the first) once it has
    /// failed `UNREACHED_TRIES` times over `window` with no answer ever; after a first answer,
    /// never (an API restarting mid-deploy is an outage to wait out).
    fn failed(&mut self, window: Duration) -> Option<(u32, Duration)> {
        if self.answered {
            return None;
        }
        self.tries += 1;
        let over = self.since.get_or_insert_with(tokio::time::Instant::now).elapsed();
        (self.tries >= UNREACHED_TRIES && over >= window).then_some((self.tries, over))
    }
}

impl Client {
    /// `ca_cert`: extra trusted roots (PEM), added to the platform's.
    pub(crate) fn new(
        base: Url,
        asid: String,
        credentials: Credentials,
        ca_cert: Option<&[u8]>,
    ) -> Result<Self, ClientError> {
        if base.cannot_be_a_base() {
            return Err(ClientError::Setup(format!("{base} can't be used as a base URL")));
        }
        // reqwest is built without a crypto provider so that only ring is linked (no C
        // toolchain for aws-lc); an `Err` means one is installed already, which is the goal.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let trace = std::sync::Arc::new(std::sync::OnceLock::new());
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers.clone())
            .redirect(redirects(trace.clone(), credentials.scheme()));
        if let Some(pem) = ca_cert {
            let roots = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| ClientError::CaCert(Some(root_cause(&e))))?;
            if roots.is_empty() {
                return Err(ClientError::CaCert(None));
            }
            builder = builder.tls_certs_merge(roots);
        }
        let http = builder.build().map_err(|e| ClientError::Setup(root_cause(&e)))?;
        Ok(Self {
            http,
            base,
            asid,
            credentials,
            max_list_body: MAX_LIST_BODY,
            trace,
            reach: std::sync::Mutex::default(),
            unreachable_timeout: Duration::from_secs(30),
        })
    }

    /// When a host that has failed every try and never answered is given up on: the try that
    /// decides is made then, not a backoff step later.
    pub(crate) fn unreached_until(&self) -> Option<tokio::time::Instant> {
        let reach = self.reach.lock().unwrap_or_else(|e| e.into_inner());
        (reach.since?.checked_add(self.unreachable_timeout)).filter(|_| !reach.answered)
    }

    /// Gives up on a host never reached after `window` (`--unreachable-timeout`).
    pub(crate) fn with_unreachable_timeout(mut self, window: Duration) -> Self {
        self.unreachable_timeout = window;
        self
    }

    /// Reads a fleet's answers (the install list, the rollout status) up to `bytes`.
    pub(crate) fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_list_body = bytes;
        self
    }

    /// The most of an answer from `url` that is read: a fleet's answers may be large, a job's
    /// status never is.
    fn cap(&self, url: &Url) -> Cap {
        let path = url.path();
        let fleet = path.ends_with("/cfp/v1/imageinstall/status")
            || (path.contains("/cfp/v2/project/") && path.ends_with("/status"));
        match fleet {
            true => Cap::Fleet(self.max_list_body),
            false => Cap::Status,
        }
    }

    /// Writes every request and its answer to `trace` from now on.
    pub(crate) fn with_trace(self, trace: trace::Trace) -> Self {
        // Set once, here, before any request: a second trace is never asked for.
        let _ = self.trace.set(trace);
        self
    }

    /// The account service ID every request names.
    pub(crate) fn asid(&self) -> &str {
        &self.asid
    }

    /// The API root requests go to.
    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    /// The credentials' dialect: a token (Bearer), or keys (Basic).
    pub(crate) fn uses_token(&self) -> bool {
        matches!(self.credentials, Credentials::Bearer(_))
    }

    /// `check`'s read: the install list for the account, a read that changes nothing, as it
    /// came and as the wait would read it. The caller bounds its duration.
    pub(crate) async fn probe(&self) -> Probed {
        let list: JobRef = "install".parse().expect("`install` is a job reference");
        let url = self.status_url(&list);
        let started = std::time::Instant::now();
        let fetched = self.fetch_raw(&url).await;
        let took = started.elapsed();
        match fetched {
            Err(e) => Probed {
                path: url.path().to_owned(),
                took,
                status: None,
                server_time: None,
                read: Err(transport_error(&e)),
            },
            Ok(fetched) => Probed {
                path: url.path().to_owned(),
                took,
                status: Some(fetched.status.as_u16()),
                server_time: fetched.server_time,
                read: fetched
                    .read(&list)
                    .map(|_| ())
                    .map_err(|e| self.in_context(e, fetched.challenge.as_deref())),
            },
        }
    }

    /// The job's status endpoint with `?accountserviceid=<asid>`, each part escaped. Jobs that
    /// share a URL (every `install/…`) share its requests.
    pub(crate) fn status_url(&self, job: &JobRef) -> Url {
        endpoint(&self.base, job.path(&self.asid), &self.asid, &[])
    }

    /// One request to `url`, read for each of `jobs` (which all have that status URL). The
    /// caller bounds its duration.
    pub(crate) async fn poll(
        &self,
        url: &Url,
        jobs: &[&JobRef],
    ) -> Vec<Result<JobStatus, PollError>> {
        let fetched = self.fetch(url).await;
        jobs.iter()
            .map(|job| match &fetched {
                Err(error) => Err(error.clone()),
                Ok(fetched) => {
                    fetched.read(job).map_err(|e| self.in_context(e, fetched.challenge.as_deref()))
                }
            })
            .collect()
    }

    async fn fetch(&self, url: &Url) -> Result<Fetched, PollError> {
        self.fetch_raw(url).await.map_err(|e| {
            let error = transport_error(&e);
            // No address, refused, a TLS handshake that fails: the request never reached the
            // API. A timeout may be a slow network, and stays an outage.
            if !e.is_connect() || e.is_timeout() || !error.is_transient() {
                return error;
            }
            let mut reach = self.reach.lock().unwrap_or_else(|e| e.into_inner());
            match reach.failed(self.unreachable_timeout) {
                None => error,
                Some((tries, over)) => {
                    PollError::NeverReached { reason: error.to_string(), tries, over }
                }
            }
        })
    }

    /// An error with what this client knows of its context: a 404 under a base URL with a
    /// path of its own names that path; a refusal says which dialect was refused, and what
    /// the host asked for.
    fn in_context(&self, error: PollError, challenge: Option<&str>) -> PollError {
        match error {
            PollError::Refused { status, message, .. } => PollError::Refused {
                status,
                message,
                challenge: challenge.map(str::to_owned),
                token: matches!(self.credentials, Credentials::Bearer(_)),
            },
            PollError::NotFound { job, message, .. } if self.base.path() != "/" => {
                PollError::NotFound {
                    job,
                    message,
                    base_path: Some(self.base.path().trim_end_matches('/').to_owned()),
                }
            }
            error => error,
        }
    }

    /// One GET with the keys; the transport's error as it came, for callers that must tell a
    /// request that never left from one that did.
    async fn fetch_raw(&self, url: &Url) -> Result<Fetched, reqwest::Error> {
        // Dropped unfinished (a request cut off by its budget), it says so.
        let mut traced = self.trace.get().map(|trace| trace.start(url, self.credentials.scheme()));
        let sent = self.credentials.authorize(self.http.get(url.clone())).send().await;
        let response = match sent {
            Ok(response) => {
                self.reach.lock().unwrap_or_else(|e| e.into_inner()).answered = true;
                response
            }
            Err(e) => {
                if let Some(traced) = &mut traced {
                    traced.failed(&transport_error(&e).to_string());
                }
                return Err(e);
            }
        };
        let status = response.status();
        let headers = traced.is_some().then(|| response.headers().clone());
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok());
        // A Retry-After date counts from the server's own clock (its Date header), so that a
        // server hours off does not make us wait hours.
        let server_date = header(DATE).and_then(|d| httpdate::parse_http_date(d).ok());
        let server_now = server_date.unwrap_or_else(SystemTime::now);
        let retry_after = header(RETRY_AFTER).and_then(|v| parse_retry_after(v, server_now));
        // Only the scheme's word, and only a known one: the rest is the server's text.
        let challenge = header(WWW_AUTHENTICATE)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|scheme| {
                ["Basic", "Bearer"].into_iter().find(|known| known.eq_ignore_ascii_case(scheme))
            })
            .map(str::to_owned);
        let body = read_capped(response, self.cap(url)).await;
        if let Ok(body) = &body
            && url.path().ends_with("/image/options")
        {
            change::hide_update_urls(body);
        }
        if let (Some(traced), Some(headers)) = (&mut traced, &headers) {
            traced.answered(status, headers, body.as_deref().map_err(ToString::to_string));
        }
        Ok(Fetched {
            status,
            retry_after,
            challenge,
            body,
            server_time: server_date
                .and_then(|d| d.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as i64),
        })
    }
}

/// What one read of `check`'s found.
#[derive(Debug)]
pub(crate) struct Probed {
    /// The path read.
    pub path: String,
    pub took: Duration,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The server's clock (its `Date`), Unix seconds.
    pub server_time: Option<i64>,
    /// The answer read as the wait reads it: fine, or what went wrong.
    pub read: Result<(), PollError>,
}

/// `base` with `segments` appended (each escaped) and the query `accountserviceid=<asid>` then
/// `params`: every endpoint's URL. `base` must be able to be a base (`Client::new` checks).
pub(crate) fn endpoint<'a>(
    base: &Url,
    segments: impl IntoIterator<Item = &'a str>,
    asid: &str,
    params: &[(&str, &str)],
) -> Url {
    let mut url = base.clone();
    url.path_segments_mut()
        .expect("Client::new refuses URLs that can't be a base")
        .pop_if_empty()
        .extend(segments);
    // The operator's v1 calls take no ASID: without one, none is sent.
    let asid = [("accountserviceid", asid)].into_iter().filter(|(_, a)| !a.is_empty());
    let pairs: Vec<(&str, &str)> = asid.chain(params.iter().copied()).collect();
    url.set_query(None);
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    url
}

/// An answer as it came, before it is read for a job.
#[derive(Debug)]
struct Fetched {
    status: StatusCode,
    retry_after: Option<Duration>,
    /// The auth scheme a refusal's `WWW-Authenticate` names.
    challenge: Option<String>,
    body: Result<Vec<u8>, PollError>,
    server_time: Option<i64>,
}

impl Fetched {
    fn read(&self, job: &JobRef) -> Result<JobStatus, PollError> {
        let read = |body: &[u8]| {
            job.read(body).map(|answer| match answer {
                Answer::Status(status) => Ok(status),
                error @ Answer::Error { .. } => Err(error.into()),
            })
        };
        let mut status = classify(job, self.status, self.retry_after, &self.body, read)?;
        if let (Some(got), Some(key)) = (status.job_id.as_deref(), job.kind.id_key())
            && !same_id(got, &job.id)
        {
            return Err(PollError::WrongJob { job: job.to_string(), key, got: one_line(got) });
        }
        status.server_time = self.server_time;
        Ok(status)
    }
}

/// How much of an answer is read.
#[derive(Debug, Clone, Copy)]
enum Cap {
    /// A job's status, an options read, a create's answer: [`MAX_BODY`].
    Status,
    /// The install list or the rollout status: `--max-body`.
    Fleet(usize),
}

/// Reads the body, refusing more than [`MAX_BODY`] bytes without buffering them.
async fn read_capped(mut response: reqwest::Response, cap: Cap) -> Result<Vec<u8>, PollError> {
    let (cap, hint) = match cap {
        Cap::Status => (MAX_BODY, ""),
        Cap::Fleet(bytes) => (bytes, " (a fleet's answer: raise --max-body)"),
    };
    let too_large = || PollError::transient(format!("the answer is larger than {cap} bytes{hint}"));
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    // Reserved once when the size is announced: growing by doubling would hold twice as much.
    let announced = response.content_length().map_or(0, |n| n as usize);
    let mut body = Vec::with_capacity(announced);
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        PollError::transient(format!(
            "the connection broke while reading the answer: {}",
            root_cause(&e)
        ))
    })? {
        if body.len() + chunk.len() > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The most redirects one request follows: a moved path needs one, a loop never ends.
pub(crate) const MAX_REDIRECTS: usize = 3;

/// The redirect policy of reads: a hop is followed only within the origin (scheme, host and
/// port) the request went to, so no answer from elsewhere is believed and `https` is never
/// downgraded, and at most [`MAX_REDIRECTS`] of them; each one followed is logged. Anything
/// else is an error that names where it pointed (without its query, which is the server's).
fn redirects(
    trace: std::sync::Arc<std::sync::OnceLock<trace::Trace>>,
    scheme: &'static str,
) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let first = attempt.previous().first().cloned();
        // A state-changing call reached a server, which may have done it: its redirect is
        // handed back as the answer, never followed (that would send the call again).
        let changes = first.as_ref().is_some_and(|first| {
            let path = first.path();
            ["/create", "/reject", "/retry"].iter().any(|end| path.ends_with(end))
        });
        if changes {
            return attempt.stop();
        }
        let to = attempt.url();
        let shown = format!(
            "{}://{}{}{}",
            to.scheme(),
            to.host_str().unwrap_or_default(),
            to.port().map(|p| format!(":{p}")).unwrap_or_default(),
            crate::untrusted::visible_words(to.path())
        );
        let status = attempt.status().as_u16();
        let same_origin = first.as_ref().is_some_and(|first| first.origin() == to.origin());
        if !same_origin {
            let from = first.map(|f| f.origin().ascii_serialization()).unwrap_or_default();
            let why = if from.starts_with("https:") && to.scheme() == "http" {
                "a downgrade from https to http"
            } else {
                "another origin than --base-url's"
            };
            return attempt.error(RedirectRefused(format!(
                "the API redirected (HTTP {status}) to {shown}, {why}: not followed, and its \
                 answer not trusted; check --base-url (or the proxy that rewrites it)"
            )));
        }
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(RedirectRefused(format!(
                "the API redirected more than {MAX_REDIRECTS} times (last to {shown}): a \
                 redirect loop? check --base-url"
            )));
        }
        tracing::warn!("the API redirected (HTTP {status}) to {shown}: followed (same origin)");
        if let Some(trace) = trace.get() {
            trace.redirected(to, scheme);
        }
        attempt.follow()
    })
}

/// `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3); a date in the past is 0.
/// More seconds than a `u64` holds are read as the most it holds: "very long" is what the
/// server meant, and the schedule's arithmetic saturates.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests;
