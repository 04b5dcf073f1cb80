//! `check`: is this pipeline set up right? The first step of a long deploy, in the spirit of
//! `gh auth status`. Every request it sends is a read (the account's install list, and
//! `image/options` with `--image-id`); nothing here can name a state-changing call.
//!
//! Each thing looked at becomes one [`Check`] event, in the order a request meets them: the
//! base URL and dialect, the proxy, DNS, the connection, TLS, the HTTP answer, the credentials,
//! the ASID, the server's clock, the latency, the image. A failure that stops the rest (no
//! address, no connection) ends the check there. The words are this module's own: each line
//! says what was seen, and for a failure what to fix.

use crate::api::{Client, PollError, Probed, UNREADABLE};
use crate::cli::Probe;
use crate::event::{Check, CheckVerdict, Checked, Event, Reporter};
use crate::job::unix_now;
use crate::report::text::{advice, poll_error};
use crate::wait::Settings;
use reqwest::Url;
use std::time::{Duration, Instant};

/// A server clock further off than this is worth a warning: ETAs are the server's times.
pub(crate) const CLOCK_SKEW: i64 = 30;

/// Runs every check and reports each as it goes; what they saw is for the verdict to judge.
pub(crate) async fn run(
    client: &Client,
    probe: &Probe,
    settings: &Settings,
    reporters: &mut dyn Reporter,
) -> Checked {
    let started = Instant::now();
    let mut run = Checks { reporters, seen: Vec::new(), requests: 0 };
    run.all(client, probe, settings.request_timeout).await;
    Checked { checks: run.seen, requests: run.requests, elapsed: started.elapsed() }
}

struct Checks<'a> {
    reporters: &'a mut dyn Reporter,
    seen: Vec<Check>,
    requests: u32,
}

impl Checks<'_> {
    fn say(&mut self, name: &'static str, verdict: CheckVerdict, detail: impl Into<String>) {
        let check = Check { name, verdict, detail: detail.into() };
        self.reporters.on_event(&Event::Checked { check: &check });
        self.seen.push(check);
    }

    /// A failed check: `false`, for the caller to stop on.
    fn failed(&mut self, name: &'static str, detail: impl Into<String>) -> bool {
        self.say(name, CheckVerdict::Failed, detail);
        false
    }

    async fn all(&mut self, client: &Client, probe: &Probe, budget: Duration) {
        let base = client.base().clone();
        self.base_url(client, &base);
        let proxy = proxy_for(&base, |name| std::env::var(name).ok());
        match &proxy {
            Some((var, shown)) => {
                self.say("proxy", CheckVerdict::Info, format!("{shown} (from {var})"))
            }
            None => self.say("proxy", CheckVerdict::Info, "none: requests go straight to the host"),
        }
        if !self.network(&base, proxy.is_some(), budget).await {
            return;
        }
        let Some(first) = self.read(client, budget).await else {
            return;
        };
        self.tls(&base, &first);
        let Some(status) = first.status else {
            // A TLS failure has its line already.
            if let Err(error) = &first.read
                && !tls_failure(error)
            {
                self.say(
                    "request",
                    CheckVerdict::Failed,
                    format!("no answer: {}", poll_error(error)),
                );
            }
            return;
        };
        let status = reqwest::StatusCode::from_u16(status)
            .map_or_else(|_| status.to_string(), |s| s.to_string());
        self.say(
            "request",
            CheckVerdict::Info,
            format!("HTTP {status} to GET {} in {} ms", first.path, first.took.as_millis()),
        );
        let accepted = self.answer(client, &first);
        self.clock(first.server_time);
        if accepted {
            if let Some(second) = self.read(client, budget).await {
                self.say(
                    "latency",
                    CheckVerdict::Info,
                    format!(
                        "{} ms for the first request (connection and TLS set-up included), {} ms \
                         for the next",
                        first.took.as_millis(),
                        second.took.as_millis()
                    ),
                );
            }
            if let Some((game, image)) = &probe.image {
                self.image(client, game, image, budget).await;
            }
        }
    }

    fn base_url(&mut self, client: &Client, base: &Url) {
        let host = base.host_str().unwrap_or_default();
        let whose = match host {
            "api.multiplay.dev" => "the operator's host",
            "api.multiplay.co.uk" => "Unity's host",
            "localhost" | "127.0.0.1" | "::1" | "[::1]" => "this machine",
            _ => "not a host the docs name (a proxy, a mirror or a simulator?)",
        };
        let dialect = if client.uses_token() {
            "a token (Bearer auth)"
        } else {
            "access and secret keys (Basic auth)"
        };
        self.say("base URL", CheckVerdict::Info, format!("{base} ({whose}), with {dialect}"));
        // The classic mistakes a request would only show as a refusal or a 404.
        match (host, client.uses_token()) {
            ("api.multiplay.co.uk", true) => self.say(
                "dialect",
                CheckVerdict::Warning,
                "Unity's host takes access and secret keys; a token is for the operator's host \
                 (api.multiplay.dev): drop --base-url, or set CLANFORGE_ACCESS_KEY and \
                 CLANFORGE_SECRET_KEY instead of CLANFORGE_TOKEN",
            ),
            ("api.multiplay.dev", false) => self.say(
                "dialect",
                CheckVerdict::Warning,
                "the operator's host takes a token: set CLANFORGE_TOKEN (and unset the keys)",
            ),
            _ => {}
        }
        let path = base.path().trim_end_matches('/');
        if !path.is_empty() {
            let cfp = path.contains("/cfp");
            self.say(
                "base path",
                if cfp { CheckVerdict::Warning } else { CheckVerdict::Info },
                if cfp {
                    format!(
                        "--base-url has a path of its own ({path}), and the gate adds /cfp/v1/… \
                         itself: give only the scheme and host (e.g. {}://{host}{})",
                        base.scheme(),
                        base.port().map(|p| format!(":{p}")).unwrap_or_default()
                    )
                } else {
                    format!("{path} is kept before each /cfp/… path (a proxy's prefix?)")
                },
            );
        }
        if client.asid().is_empty() {
            self.say(
                "ASID",
                CheckVerdict::Info,
                "none given: the operator's v1 calls take none (rollout/… needs --asid)",
            );
        }
    }

    /// DNS and a TCP connection, straight to the host or to the proxy. `false`: nothing
    /// further can work.
    async fn network(&mut self, base: &Url, proxied: bool, budget: Duration) -> bool {
        let host = base.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
        let port = base.port_or_known_default().unwrap_or(443);
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            self.say("DNS", CheckVerdict::Info, format!("none needed: {ip} is an address"));
            return proxied || self.connect((ip, port).into(), budget).await;
        }
        let started = Instant::now();
        let found =
            tokio::time::timeout(budget, tokio::net::lookup_host((host.as_str(), port))).await;
        let addrs: Vec<std::net::SocketAddr> = match found {
            Ok(Ok(addrs)) => addrs.collect(),
            Ok(Err(e)) if proxied => {
                self.say(
                    "DNS",
                    CheckVerdict::Info,
                    format!("{host} does not resolve here ({e}); the proxy resolves it"),
                );
                return true;
            }
            Ok(Err(e)) => {
                let fix = "check the host in --base-url and the runner's DNS";
                return self.failed("DNS", format!("{host} does not resolve ({e}): {fix}"));
            }
            Err(_) => {
                let within = humantime::format_duration(budget);
                return self.failed("DNS", format!("no answer for {host} within {within}"));
            }
        };
        let shown: Vec<String> = addrs.iter().take(3).map(|a| a.ip().to_string()).collect();
        let more = addrs.len().saturating_sub(3);
        self.say(
            "DNS",
            CheckVerdict::Ok,
            format!(
                "{host} is {}{} ({} ms)",
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() },
                started.elapsed().as_millis()
            ),
        );
        if proxied {
            // The connection goes to the proxy; the request shows whether it gets through.
            return true;
        }
        match addrs.first().copied() {
            Some(addr) => self.connect(addr, budget).await,
            None => self.failed("connect", format!("{host} has no address")),
        }
    }

    async fn connect(&mut self, addr: std::net::SocketAddr, budget: Duration) -> bool {
        let started = Instant::now();
        match tokio::time::timeout(budget, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {
                self.say(
                    "connect",
                    CheckVerdict::Ok,
                    format!("{addr} in {} ms", started.elapsed().as_millis()),
                );
                true
            }
            Ok(Err(e)) => {
                let fix = "check the port in --base-url and the runner's firewall";
                self.failed("connect", format!("could not connect to {addr} ({e}): {fix}"))
            }
            Err(_) => {
                let within = humantime::format_duration(budget);
                let why = "a firewall dropping packets?";
                self.failed("connect", format!("no connection to {addr} within {within}: {why}"))
            }
        }
    }

    /// One read of the install list, within `budget`; `None` when it took longer.
    async fn read(&mut self, client: &Client, budget: Duration) -> Option<Probed> {
        self.requests += 1;
        match tokio::time::timeout(budget, client.probe()).await {
            Ok(probed) => Some(probed),
            Err(_) => {
                self.say(
                    "request",
                    CheckVerdict::Failed,
                    format!(
                        "no answer within {}: {}",
                        humantime::format_duration(budget),
                        advice(crate::api::Fix::RequestTimeout)
                    ),
                );
                None
            }
        }
    }

    fn tls(&mut self, base: &Url, first: &Probed) {
        match (&first.read, base.scheme()) {
            (Err(e), _) if tls_failure(e) => self.say("TLS", CheckVerdict::Failed, poll_error(e)),
            (_, "https") if first.status.is_some() => self.say(
                "TLS",
                CheckVerdict::Ok,
                "the certificate is trusted (rustls, the platform's roots and any --ca-cert)",
            ),
            (_, "http") => self.say("TLS", CheckVerdict::Info, "none: plain http://"),
            _ => {}
        }
    }

    /// What the answer says of the credentials and the ASID. `true`: both accepted.
    fn answer(&mut self, client: &Client, first: &Probed) -> bool {
        let token = client.uses_token();
        let dialect = if token { "the token" } else { "the keys" };
        match &first.read {
            Ok(()) => {
                self.say("credentials", CheckVerdict::Ok, format!("{dialect} accepted"));
                if !client.asid().is_empty() {
                    self.say(
                        "ASID",
                        CheckVerdict::Ok,
                        format!("{} accepted: its install list came back", client.asid()),
                    );
                }
                true
            }
            Err(error @ PollError::Refused { challenge, token, .. }) => {
                let fix = refused_fix(challenge.as_deref(), *token, error);
                self.say(
                    "credentials",
                    CheckVerdict::Failed,
                    format!("{dialect} refused: {error}: {fix}"),
                );
                false
            }
            Err(PollError::NotFound { base_path, .. }) => {
                let fix = match base_path {
                    Some(path) => format!(
                        "--base-url has a path of its own ({path}), and the gate adds /cfp/v1/… \
                         itself: give only the scheme and host"
                    ),
                    None => "is this the Clanforge API? check --base-url".to_owned(),
                };
                self.say(
                    "API",
                    CheckVerdict::Failed,
                    format!("HTTP 404 on the install list: {fix}"),
                );
                false
            }
            Err(PollError::Transient { reason, .. }) if reason.starts_with(UNREADABLE) => {
                let fix = "check --base-url (a captive proxy answers HTML too)";
                self.failed("API", format!("{reason}: is this the Clanforge API? {fix}"))
            }
            Err(error @ PollError::Rejected { message, .. })
                if client.asid().is_empty()
                    && message.as_deref().is_some_and(|m| m.contains("accountserviceid")) =>
            {
                let fix = "this host wants an account service ID: set CLANFORGE_ASID";
                self.failed("ASID", format!("{error}: {fix}"))
            }
            Err(error) => self.failed("API", poll_error(error)),
        }
    }

    fn clock(&mut self, server_time: Option<i64>) {
        let Some(server) = server_time else {
            self.say(
                "clock",
                CheckVerdict::Warning,
                "the answer has no Date header: the server's clock can't be compared",
            );
            return;
        };
        let skew = server - unix_now();
        let words = match skew {
            0 => "agrees with ours (to the second)".to_owned(),
            s if s > 0 => format!("is {s} s ahead of ours"),
            s => format!("is {} s behind ours", -s),
        };
        if skew.abs() > CLOCK_SKEW {
            self.say(
                "clock",
                CheckVerdict::Warning,
                format!(
                    "the server's clock {words}: job ETAs are the server's times, so the gate's \
                     guess of when to look is off by as much; check this machine's clock (NTP)"
                ),
            );
        } else {
            self.say("clock", CheckVerdict::Ok, format!("the server's clock {words}"));
        }
    }

    async fn image(&mut self, client: &Client, game: &str, image: &str, budget: Duration) {
        self.requests += 1;
        let what = format!("image {image} of game {game}");
        match tokio::time::timeout(budget, client.options(game, image)).await {
            Ok(Ok(options)) => {
                let lock = match &options.lock {
                    Some(lock) => {
                        format!("locked by {lock}: a deploy now would stop there (see --if-locked)")
                    }
                    None => "nothing locks it".to_owned(),
                };
                self.say("image", CheckVerdict::Ok, format!("{what} found; {lock}"));
            }
            Ok(Err(PollError::NotFound { .. })) => self.say(
                "image",
                CheckVerdict::Failed,
                format!("{what} not found (HTTP 404): check --image-id and --game-id"),
            ),
            Ok(Err(error)) => {
                self.say("image", CheckVerdict::Failed, format!("{what}: {}", poll_error(&error)))
            }
            Err(_) => self.say(
                "image",
                CheckVerdict::Failed,
                format!("{what}: no answer within {}", humantime::format_duration(budget)),
            ),
        }
    }
}

/// A certificate refused, or a scheme that is not the server's: the TLS line's failures.
fn tls_failure(error: &PollError) -> bool {
    matches!(error, PollError::Untrusted(_) | PollError::WrongScheme(_))
}

/// The proxy reqwest will use for `url`, as `(variable, scheme://host:port)`: the proxy's
/// user and password are never shown. `NO_PROXY` is read as reqwest reads it, for host names:
/// `*`, or a host or domain suffix in a comma-separated list.
fn proxy_for(url: &Url, var: impl Fn(&str) -> Option<String>) -> Option<(String, String)> {
    let host = url.host_str().unwrap_or_default();
    let get = |name: &str| {
        [name.to_owned(), name.to_ascii_lowercase()]
            .into_iter()
            .find_map(|n| var(&n).filter(|v| !v.trim().is_empty()).map(|v| (n, v)))
    };
    if let Some((_, list)) = get("NO_PROXY") {
        let skip = list.split(',').map(str::trim).any(|entry| {
            let entry = entry.trim_start_matches('.');
            entry == "*" || host == entry || host.ends_with(&format!(".{entry}"))
        });
        if skip {
            return None;
        }
    }
    let scheme_var = if url.scheme() == "https" { "HTTPS_PROXY" } else { "HTTP_PROXY" };
    let (name, value) = get(scheme_var).or_else(|| get("ALL_PROXY"))?;
    let shown = match Url::parse(&value).or_else(|_| Url::parse(&format!("http://{value}"))) {
        Ok(proxy) => format!(
            "{}://{}{}",
            proxy.scheme(),
            proxy.host_str().unwrap_or_default(),
            proxy.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "(unreadable)".to_owned(),
    };
    Some((name, shown))
}

/// What to do about refused credentials: the other dialect when the host's challenge names it.
fn refused_fix(challenge: Option<&str>, token: bool, error: &PollError) -> String {
    match (challenge, token) {
        (Some("Bearer"), false) => "this host takes a token: set CLANFORGE_TOKEN (and unset \
             CLANFORGE_ACCESS_KEY and CLANFORGE_SECRET_KEY)"
            .to_owned(),
        (Some("Basic"), true) => "this host takes access and secret keys: set \
             CLANFORGE_ACCESS_KEY and CLANFORGE_SECRET_KEY (and unset CLANFORGE_TOKEN)"
            .to_owned(),
        _ => error.fix().map(advice).unwrap_or_default().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn the_proxy_is_shown_without_its_password() {
        let url = Url::parse("https://api.multiplay.dev").unwrap();
        assert_eq!(
            proxy_for(&url, vars(&[("HTTPS_PROXY", "http://bob:hunter22@proxy.corp:3128")])),
            Some(("HTTPS_PROXY".into(), "http://proxy.corp:3128".into()))
        );
        assert_eq!(
            proxy_for(
                &url,
                vars(&[
                    ("https_proxy", "proxy.corp:8080"),
                    ("NO_PROXY", "localhost, .multiplay.dev")
                ])
            ),
            None
        );
        assert_eq!(proxy_for(&url, vars(&[("HTTP_PROXY", "http://p:1")])), None);
    }
}
