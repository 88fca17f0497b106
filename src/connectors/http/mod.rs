//! The one HTTP layer every connector goes through: one `ureq::Agent` with a global timeout
//! and error statuses returned as answers; bounded retries with backoff and jitter that honour
//! `Retry-After` (seconds, milliseconds or an HTTP date) and never wait past the run's
//! deadline, and only where repeating is safe (the caller says whether a request is
//! idempotent; a request that never left is always safe); one `debug` line per call (method,
//! host, path, status, ms: never a header, a query or a body); every text that comes back in
//! an error scrubbed of secrets; and the typed [`HttpError`] each connector maps from, with
//! the one mapping to an action's outcome ([`action_outcome`]). What a vendor's answer means
//! (a spend limit, a revoked grant) stays in its connector, which judges it through a
//! [`Judge`]. No printing, no vault access.
//!
//! Here: the request, the answer and the errors; `client.rs` sends with the retries,
//! `retry.rs` holds the policies, the verdicts and the delays.

mod client;
mod retry;
#[cfg(test)]
mod test_server;

pub use client::Http;
pub use retry::{Judge, RetryPolicy, Verdict, backoff, jitter, retry_after, retry_usual};
#[cfg(test)]
pub(crate) use test_server::test_server;

use crate::executor::ActionOutcome;
use std::time::Duration;

/// The agent: a global timeout (ureq 3 has none by default), HTTP error statuses returned as
/// answers so error bodies and `retry-after` can be read.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("aie/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// The host of a URL, for debug lines and the owner's summaries: never the query string,
/// which may carry a key, nor a `user:password@` before the host.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// The path of a URL without its query.
pub fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match rest.find('/') {
        Some(i) => rest[i..].split('?').next().unwrap_or("/"),
        None => "/",
    }
}

/// Why a call failed, in the terms that decide what happens next.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpError {
    /// Nothing was sent (name lookup, connection or TLS failed, or the deadline came first).
    Unreachable(String),
    /// The request went out and no answer came in time: it may or may not have been done.
    Timeout(String),
    /// The connection broke after the request went out: it may or may not have been done.
    BrokenAfterSend(String),
    /// The server answered with a status that is not a success (after the retries allowed).
    Status {
        code: u16,
        /// The answer's text, scrubbed of secrets, at most [`ERROR_BODY`] bytes.
        body: String,
        /// The delay the server asked for, when it asked.
        retry_after: Option<Duration>,
        /// Why it was not retried further, when it was retryable.
        gave_up: Option<GaveUp>,
    },
}

/// Why retrying stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaveUp {
    /// Every attempt the policy allows was made.
    Attempts(u32),
    /// The next attempt would start after the run's deadline.
    Deadline,
    /// The run's total waiting budget is spent.
    Budget,
    /// The request is not idempotent and the failure leaves its outcome open.
    NotIdempotent,
}

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GaveUp::Attempts(n) => write!(f, "gave up after {n} attempts"),
            GaveUp::Deadline => f.write_str("not retried: the run's deadline comes first"),
            GaveUp::Budget => f.write_str("not retried: the run has waited long enough"),
            GaveUp::NotIdempotent => f.write_str("not retried: repeating it is not safe"),
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Unreachable(m) | HttpError::Timeout(m) | HttpError::BrokenAfterSend(m) => {
                f.write_str(m)
            }
            HttpError::Status {
                code,
                body,
                gave_up,
                ..
            } => {
                write!(f, "answered {code}: {}", body.trim())?;
                match gave_up {
                    Some(g) => write!(f, " ({g})"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for HttpError {}

/// What an action's executor reports for a failed call: the one mapping from the HTTP layer
/// to what happens to the item. Nothing sent: try again next pass. The request went out and
/// no answer (or a gateway's 502/504, or a 500) leaves it open: the owner must look. A server
/// that says it did not take the request (408, 429, 503) is retried next pass; any other
/// status is a failure the owner sees.
pub fn action_outcome(err: &HttpError, service: &str) -> ActionOutcome {
    let text = format!("{service}: {err}");
    match err {
        HttpError::Unreachable(_) => ActionOutcome::Unreachable(text),
        HttpError::Timeout(_) | HttpError::BrokenAfterSend(_) => ActionOutcome::Unknown(text),
        HttpError::Status { code, .. } => match code {
            408 | 429 | 503 => ActionOutcome::Retry(text),
            500 | 502 | 504 => ActionOutcome::Unknown(text),
            _ => ActionOutcome::Failed(text),
        },
    }
}

/// Longest error text kept from an answer.
pub const ERROR_BODY: usize = 4000;

/// The body of a request.
pub enum Body<'a> {
    None,
    Json(&'a serde_json::Value),
    Form(&'a [(&'a str, &'a str)]),
}

/// One request.
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    /// Headers, keys included (never logged).
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Body<'a>,
    /// Whether doing it twice does no harm: only then is a request retried after it may have
    /// reached the server.
    pub idempotent: bool,
    /// Largest answer read, in bytes.
    pub max_body: u64,
}

impl<'a> Request<'a> {
    /// A GET (idempotent) with no query.
    pub fn get(url: &'a str) -> Request<'a> {
        Request {
            method: "GET",
            url,
            query: &[],
            headers: &[],
            body: Body::None,
            idempotent: true,
            max_body: 10 * 1024 * 1024,
        }
    }

    /// A POST; `idempotent` says whether repeating it is safe.
    pub fn post(url: &'a str, body: Body<'a>, idempotent: bool) -> Request<'a> {
        Request {
            method: "POST",
            body,
            idempotent,
            ..Request::get(url)
        }
    }
}

/// An answer: its status, the headers a connector reads, and its body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    headers: Vec<(String, String)>,
    /// The raw body: the connector's data, scrubbed where it is stored.
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as text, scrubbed of every secret of the run.
    pub fn text(&self) -> String {
        crate::secrets::scrub(&String::from_utf8_lossy(&self.body))
    }

    /// Whether the status is a success.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_maps_to_one_action_outcome() {
        let s = |code| HttpError::Status {
            code,
            body: String::new(),
            retry_after: None,
            gave_up: None,
        };
        let kind = |e: &HttpError| match action_outcome(e, "x") {
            ActionOutcome::Ok(_) => "ok",
            ActionOutcome::Retry(_) => "retry",
            ActionOutcome::Unreachable(_) => "unreachable",
            ActionOutcome::Failed(_) => "failed",
            ActionOutcome::Unknown(_) => "unknown",
        };
        assert_eq!(kind(&HttpError::Unreachable("m".into())), "unreachable");
        assert_eq!(kind(&HttpError::Timeout("m".into())), "unknown");
        assert_eq!(kind(&HttpError::BrokenAfterSend("m".into())), "unknown");
        assert_eq!(kind(&s(429)), "retry");
        assert_eq!(kind(&s(503)), "retry");
        assert_eq!(kind(&s(502)), "unknown");
        assert_eq!(kind(&s(400)), "failed");
        assert_eq!(kind(&s(401)), "failed");
    }

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
        // Nor a login written into the URL (`odoo.url` is shown in the owner's summary).
        assert_eq!(
            url_host("https://u:s3cret@books.example:8069/odoo"),
            "books.example:8069"
        );
    }
}
