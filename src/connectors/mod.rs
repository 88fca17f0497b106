//! Connectors to outside services: one small trait per capability, one file per service
//! behind it, and one shared HTTP agent. Connectors are built lazily (no connection unless
//! something is sent) and take every base URL from `aie.yaml`; nothing hard-codes a host.

pub mod anthropic;
pub mod gmail;
pub mod llm_http;
pub mod mail_auth;
pub mod mime;
pub mod openai_compatible;
pub mod smtp;

use std::time::Duration;

/// The one HTTP agent every connector uses: a global timeout (ureq 3 has none by default),
/// and HTTP error statuses returned as responses so error bodies and `retry-after` can be read.
pub fn http_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("aie/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// The host of a URL, for debug lines (never the query string, which may carry a key).
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// The path of a URL without its query.
pub fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match rest.find('/') {
        Some(i) => rest[i..].split('?').next().unwrap_or("/"),
        None => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_path_never_include_the_query() {
        assert_eq!(
            url_host("http://127.0.0.1:8080/v1/messages?key=s"),
            "127.0.0.1:8080"
        );
        assert_eq!(
            url_path("http://127.0.0.1:8080/v1/messages?key=s"),
            "/v1/messages"
        );
        assert_eq!(url_path("http://h"), "/");
    }
}
