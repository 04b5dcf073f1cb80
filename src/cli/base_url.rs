//! The base URL: http or https, no credentials in it (they go in their own flags), and plain
//! HTTP only to this machine unless `--allow-insecure-http` says otherwise.

use super::UsageError;
use reqwest::Url;

/// Only loopback may be reached over plain HTTP: Basic credentials travel in every request.
fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

pub(super) fn base_url(value: &str, allow_insecure_http: bool) -> Result<Url, UsageError> {
    let url: Url = value.trim().parse().map_err(|e| {
        UsageError::BaseUrl(format!("is not a URL ({e}): write e.g. https://api.multiplay.co.uk"))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(UsageError::BaseUrl("must be an http:// or https:// URL".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UsageError::BaseUrl(
            "must not hold credentials: pass them with --access-key and --secret-key".into(),
        ));
    }
    if url.scheme() == "http" && !allow_insecure_http && !is_loopback(&url) {
        return Err(UsageError::InsecureHttp(url.host_str().unwrap_or_default().to_owned()));
    }
    Ok(url)
}
