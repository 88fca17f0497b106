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

use crate::executor::ActionOutcome;
use std::cell::Cell;
use std::time::{Duration, Instant};

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

/// How hard one connector tries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; it doubles each retry up to `max_backoff`.
    pub initial: Duration,
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is ignored (the backoff is used).
    pub max_retry_after: Duration,
    /// Total waiting one client may do in a run without a deadline.
    pub max_total_wait: Duration,
}

impl RetryPolicy {
    /// The language-model SDKs' rules: 2 retries, 0.5 s doubling to 8 s, `Retry-After` up to
    /// 60 s.
    pub const LLM: RetryPolicy = RetryPolicy {
        max_retries: 2,
        initial: Duration::from_millis(500),
        max_backoff: Duration::from_secs(8),
        max_retry_after: Duration::from_secs(60),
        max_total_wait: Duration::from_secs(180),
    };
    /// Google's advice for Gmail: exponential backoff up to 64 s, 6 attempts, and no more
    /// than 3 minutes of waiting in a run.
    pub const GOOGLE: RetryPolicy = RetryPolicy {
        max_retries: 5,
        initial: Duration::from_millis(1000),
        max_backoff: Duration::from_secs(64),
        max_retry_after: Duration::from_secs(64),
        max_total_wait: Duration::from_secs(180),
    };
}

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

/// A connector's verdict on an answer that is not a success.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Try again, after this delay (None: the server's `Retry-After`, else backoff).
    Retry(Option<Duration>),
    /// Return the answer to the connector as [`HttpError::Status`].
    Stop,
}

/// How a connector judges a failed answer.
pub type Judge<'j> = &'j dyn Fn(&Reply) -> Verdict;

/// The usual judgement: 408, 429 and 5xx are retried.
pub fn retry_usual(r: &Reply) -> Verdict {
    if matches!(r.status, 408 | 429) || r.status >= 500 {
        Verdict::Retry(None)
    } else {
        Verdict::Stop
    }
}

/// The HTTP client of one connector for one run: the agent, the retry policy, the deadline,
/// and what it has spent (calls, waiting).
pub struct Http {
    agent: ureq::Agent,
    /// The service's name for messages (`gmail`, `anthropic`).
    pub service: &'static str,
    policy: RetryPolicy,
    deadline: Option<Instant>,
    waited: Cell<Duration>,
    calls: Cell<u64>,
    /// Extra texts to scrub from what comes back (a key not among the run's secrets).
    secrets: crate::secrets::Scrubber,
}

impl Http {
    /// A client with `timeout` per attempt, retrying by `policy`, never past `deadline`.
    pub fn new(
        service: &'static str,
        timeout: Duration,
        policy: RetryPolicy,
        deadline: Option<Instant>,
    ) -> Http {
        Http {
            agent: agent(timeout),
            service,
            policy,
            deadline,
            waited: Cell::new(Duration::ZERO),
            calls: Cell::new(0),
            secrets: crate::secrets::Scrubber::default(),
        }
    }

    /// Also scrubs `values` (and their encodings) from every text that comes back.
    pub fn scrubbing(mut self, values: &[&str]) -> Http {
        self.secrets = crate::secrets::Scrubber::new(values.iter().copied(), &[]);
        self
    }

    /// How many attempts this client made (every retry counts).
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// A text from outside without any secret.
    pub fn scrub(&self, s: &str) -> String {
        crate::secrets::scrub(&self.secrets.scrub(s))
    }

    /// Sends `req` until it succeeds, `judge` stops it, or the retries the policy, the
    /// request's idempotence and the deadline allow are spent. Returns the successful answer;
    /// errors are typed ([`HttpError`]) and their texts scrubbed.
    pub fn send(&self, req: &Request, judge: Judge) -> Result<Reply, HttpError> {
        self.send_before(req, judge, self.deadline)
    }

    /// [`Http::send`] with its own deadline (a model call is given one per request).
    pub fn send_before(
        &self,
        req: &Request,
        judge: Judge,
        deadline: Option<Instant>,
    ) -> Result<Reply, HttpError> {
        let (host, path) = (url_host(req.url), url_path(req.url));
        let mut done = 0u32;
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Err(HttpError::Unreachable(format!(
                    "{}: the run's deadline came before an answer (after {done} attempts)",
                    self.service
                )));
            }
            let started = Instant::now();
            self.calls.set(self.calls.get() + 1);
            let result = self.attempt(req, left);
            let ms = started.elapsed().as_millis();
            // What failed, whether it may be repeated, and the delay asked for.
            let (failure, repeatable, asked) = match result {
                Ok(reply) => {
                    log::debug!("{} {host}{path} -> {} ({ms} ms)", req.method, reply.status);
                    if reply.ok() {
                        return Ok(reply);
                    }
                    let verdict = judge(&reply);
                    let retry_after =
                        retry_after(reply.header("retry-after-ms"), reply.header("retry-after"));
                    let text = String::from_utf8_lossy(&reply.body);
                    let body: String = self.scrub(&text).chars().take(ERROR_BODY).collect();
                    let err = HttpError::Status {
                        code: reply.status,
                        body,
                        retry_after,
                        gave_up: None,
                    };
                    match verdict {
                        Verdict::Stop => return Err(err),
                        Verdict::Retry(d) => {
                            // A server that refused for rate (429) did not do it.
                            let safe = req.idempotent || reply.status == 429;
                            (err, safe, d.or(retry_after))
                        }
                    }
                }
                Err(e) => {
                    log::debug!("{} {host}{path} -> error ({ms} ms)", req.method);
                    let err = self.transport_error(&e, host);
                    let safe = req.idempotent || matches!(err, HttpError::Unreachable(_));
                    (err, safe, None)
                }
            };
            let stop = if !repeatable {
                Some(GaveUp::NotIdempotent)
            } else if done >= self.policy.max_retries {
                Some(GaveUp::Attempts(done + 1))
            } else {
                None
            };
            let wait = asked
                .filter(|d| *d <= self.policy.max_retry_after)
                .unwrap_or_else(|| backoff(&self.policy, done, jitter()));
            let stop = stop.or_else(|| match deadline {
                Some(d) if Instant::now() + wait >= d => Some(GaveUp::Deadline),
                None if self.waited.get() + wait > self.policy.max_total_wait => {
                    Some(GaveUp::Budget)
                }
                _ => None,
            });
            if let Some(why) = stop {
                return Err(gave_up(failure, why));
            }
            log::debug!(
                "{}: retrying in {} ms: {failure}",
                self.service,
                wait.as_millis()
            );
            std::thread::sleep(wait);
            self.waited.set(self.waited.get() + wait);
            done += 1;
        }
    }

    /// One attempt, its timeout cut to the time left.
    fn attempt(&self, req: &Request, left: Option<Duration>) -> Result<Reply, ureq::Error> {
        let cap = |global: Option<Duration>| match (global, left) {
            (Some(g), Some(l)) => Some(g.min(l)),
            (g, l) => g.or(l),
        };
        let global = self.agent.config().timeouts().global;
        let mut resp = if req.method == "GET" {
            prepared(self.agent.get(req.url), req, cap(global)).call()?
        } else {
            let r = prepared(self.agent.post(req.url), req, cap(global));
            match &req.body {
                Body::None => r.send_empty()?,
                Body::Json(v) => r.send_json(v)?,
                Body::Form(f) => r.send_form(f.iter().copied())?,
            }
        };
        let status = resp.status().as_u16();
        let headers = [
            "retry-after",
            "retry-after-ms",
            "x-should-retry",
            "x-rate-limit-reset",
            "x-restli-id",
        ]
        .iter()
        .filter_map(|k| {
            let v = resp.headers().get(*k)?.to_str().ok()?;
            Some((k.to_string(), v.to_string()))
        })
        .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(req.max_body)
            .read_to_vec()?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// A transport error in the terms of what may have happened.
    fn transport_error(&self, e: &ureq::Error, host: &str) -> HttpError {
        use std::io::ErrorKind as K;
        use ureq::Timeout as T;
        let text = self.scrub(&format!("{} is unreachable at {host}: {e}", self.service));
        match e {
            ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::BadUri(_)
            | ureq::Error::Http(_)
            | ureq::Error::Tls(_)
            | ureq::Error::Rustls(_)
            | ureq::Error::Pem(_)
            | ureq::Error::TlsRequired
            | ureq::Error::RequireHttpsOnly(_)
            | ureq::Error::ConnectProxyFailed(_)
            | ureq::Error::Timeout(T::Resolve | T::Connect) => HttpError::Unreachable(text),
            ureq::Error::Io(io)
                if matches!(
                    io.kind(),
                    K::ConnectionRefused
                        | K::AddrNotAvailable
                        | K::NetworkUnreachable
                        | K::HostUnreachable
                        | K::NotFound
                ) =>
            {
                HttpError::Unreachable(text)
            }
            ureq::Error::Timeout(_) => HttpError::Timeout(self.scrub(&format!(
                "{} did not answer in time at {host}: {e}",
                self.service
            ))),
            _ => HttpError::BrokenAfterSend(self.scrub(&format!(
                "the connection to {} at {host} broke: {e}",
                self.service
            ))),
        }
    }
}

/// `err` noting why it was not retried further.
fn gave_up(err: HttpError, why: GaveUp) -> HttpError {
    match err {
        HttpError::Status {
            code,
            body,
            retry_after,
            ..
        } => HttpError::Status {
            code,
            body,
            retry_after,
            gave_up: Some(why),
        },
        HttpError::Unreachable(m) => HttpError::Unreachable(format!("{m} ({why})")),
        HttpError::Timeout(m) => HttpError::Timeout(format!("{m} ({why})")),
        HttpError::BrokenAfterSend(m) => HttpError::BrokenAfterSend(format!("{m} ({why})")),
    }
}

/// The server's requested delay: `retry-after-ms`, else `retry-after` in seconds or as an
/// HTTP date. None when it is absent, unreadable, or not in the future.
pub fn retry_after(ms: Option<&str>, secs: Option<&str>) -> Option<Duration> {
    let seconds = ms
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v / 1000.0)
        .or_else(|| secs.and_then(|v| v.trim().parse::<f64>().ok()))
        .or_else(|| {
            let date = chrono::DateTime::parse_from_rfc2822(secs?.trim()).ok()?;
            let left = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
            Some(left.num_milliseconds() as f64 / 1000.0)
        })?;
    // At most a day: a larger number is a mistake, and Duration would overflow on inf.
    (seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0)
        .then(|| Duration::from_secs_f64(seconds))
}

/// Exponential backoff after `done` retries: `min(initial * 2^done, max_backoff)`, times a
/// jitter factor between 0.75 and 1 (`jitter` in 0..1), so clients that failed together do
/// not come back together.
pub fn backoff(p: &RetryPolicy, done: u32, jitter: f64) -> Duration {
    let base = p
        .initial
        .saturating_mul(1u32 << done.min(16))
        .min(p.max_backoff);
    base.mul_f64(1.0 - 0.25 * jitter.clamp(0.0, 1.0))
}

/// A number in 0..1 that differs from call to call (std's randomly seeded hasher).
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// `r` with the request's query and headers, its timeout `timeout`.
fn prepared<B>(
    r: ureq::RequestBuilder<B>,
    req: &Request,
    timeout: Option<Duration>,
) -> ureq::RequestBuilder<B> {
    let mut r = r.query_pairs(req.query.iter().copied());
    for (k, v) in req.headers {
        r = r.header(*k, *v);
    }
    r.config().timeout_global(timeout).build()
}

/// A loopback server for unit tests: answers connection `i` with `answer(i)` (`None` closes
/// it unanswered, after reading the request) and keeps what `record` makes of each request
/// line and body. Returns its `http://` base URL and the records.
#[cfg(test)]
pub(crate) fn test_server<T: Send + 'static>(
    record: impl Fn(String, Vec<u8>) -> T + Send + 'static,
    answer: impl Fn(usize) -> Option<String> + Send + 'static,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<T>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (i, s) in l.incoming().enumerate() {
            let mut s = s.unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut first = String::new();
            r.read_line(&mut first).unwrap();
            let mut len = 0;
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if h.trim().is_empty() {
                    break;
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            log.lock()
                .unwrap()
                .push(record(first.trim().to_string(), body));
            if let Some(reply) = answer(i) {
                let _ = s.write_all(reply.as_bytes());
            }
        }
    });
    (url, seen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// A loopback server that answers each connection with the next scripted reply (the
    /// last one repeats) and records the request lines. `None` closes the connection after
    /// reading the request, without an answer.
    type Seen = Arc<Mutex<Vec<(Instant, String)>>>;

    fn serve(replies: Vec<Option<String>>) -> (String, Seen) {
        test_server(
            |first, _| (Instant::now(), first),
            move |i| replies[i.min(replies.len() - 1)].clone(),
        )
    }

    fn answer(status: &str, headers: &str, body: &str) -> Option<String> {
        Some(format!(
            "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ))
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            initial: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(5),
            max_total_wait: Duration::from_secs(5),
        }
    }

    #[test]
    fn retry_after_reads_seconds_milliseconds_and_http_dates() {
        assert_eq!(retry_after(None, Some("17")), Some(Duration::from_secs(17)));
        assert_eq!(
            retry_after(Some("250"), Some("3")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(None, Some("0.5")),
            Some(Duration::from_millis(500))
        );
        for bad in ["0", "-3", "soon", "inf", "100000"] {
            assert_eq!(retry_after(None, Some(bad)), None, "{bad}");
        }
        assert_eq!(retry_after(None, None), None);
        let in_5s = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc2822();
        let d = retry_after(None, Some(&in_5s)).unwrap();
        assert!(
            d > Duration::from_secs(3) && d <= Duration::from_secs(5),
            "{d:?}"
        );
        let past = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc2822();
        assert_eq!(retry_after(None, Some(&past)), None);
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_jitter_only_shortens_it_by_a_quarter() {
        let p = RetryPolicy::LLM;
        assert_eq!(backoff(&p, 0, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(&p, 1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(&p, 5, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(&p, 40, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(&p, 0, 1.0), Duration::from_millis(375));
        for _ in 0..200 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
            let b = backoff(&RetryPolicy::GOOGLE, 2, j);
            assert!(
                b > Duration::from_secs(3) && b <= Duration::from_secs(4),
                "{b:?}"
            );
        }
    }

    #[test]
    fn a_retryable_answer_is_retried_after_the_servers_delay_then_succeeds() {
        let (url, seen) = serve(vec![
            answer("503 Unavailable", "retry-after-ms: 200\r\n", "busy"),
            answer("200 OK", "", "{\"a\":1}"),
        ]);
        let http = Http::new("t", Duration::from_secs(5), fast(), None);
        let r = http.send(&Request::get(&url), &retry_usual).unwrap();
        assert_eq!(r.json()["a"], 1);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen[1].0.duration_since(seen[0].0) >= Duration::from_millis(190));
        assert_eq!(http.calls(), 2);
    }

    #[test]
    fn retries_are_bounded_and_a_stop_verdict_is_returned_at_once() {
        let (url, seen) = serve(vec![answer("500 Oops", "", "token=s3cr3t-value")]);
        let http =
            Http::new("t", Duration::from_secs(5), fast(), None).scrubbing(&["s3cr3t-value"]);
        let err = http.send(&Request::get(&url), &retry_usual).unwrap_err();
        assert_eq!(seen.lock().unwrap().len(), 4, "1 + max_retries");
        let HttpError::Status {
            code,
            body,
            gave_up,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((*code, gave_up), (500, &Some(GaveUp::Attempts(4))));
        // The body that comes back is scrubbed.
        assert_eq!(body, "token=[secret]");
        let (url, seen) = serve(vec![answer("400 Bad", "", "no")]);
        let err = http.send(&Request::get(&url), &retry_usual).unwrap_err();
        assert!(matches!(
            err,
            HttpError::Status {
                code: 400,
                gave_up: None,
                ..
            }
        ));
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn only_idempotent_requests_are_repeated_after_they_may_have_arrived() {
        // The connection closes without an answer: the request may have been done.
        let (url, seen) = serve(vec![None, answer("200 OK", "", "{}")]);
        let http = Http::new("t", Duration::from_secs(5), fast(), None);
        let empty = serde_json::json!({});
        let once = Request::post(&url, Body::Json(&empty), false);
        let err = http.send(&once, &retry_usual).unwrap_err();
        assert!(matches!(err, HttpError::BrokenAfterSend(_)), "{err:?}");
        assert!(err.to_string().contains("not safe"), "{err}");
        assert_eq!(seen.lock().unwrap().len(), 1);
        // A 500 to a request that is not idempotent is not repeated either...
        let (url, seen) = serve(vec![answer("500 Oops", "", ""), answer("200 OK", "", "")]);
        let once = Request::post(&url, Body::None, false);
        assert!(http.send(&once, &retry_usual).is_err());
        assert_eq!(seen.lock().unwrap().len(), 1);
        // ...but a 429 (the server did not take it) is, and so is an idempotent request.
        let (url, seen) = serve(vec![answer("429 Slow", "", ""), answer("200 OK", "", "")]);
        let once = Request::post(&url, Body::None, false);
        assert!(http.send(&once, &retry_usual).is_ok());
        assert_eq!(seen.lock().unwrap().len(), 2);
        let (url, _) = serve(vec![None, answer("200 OK", "", "")]);
        let again = Request::post(&url, Body::None, true);
        assert!(http.send(&again, &retry_usual).is_ok());
    }

    #[test]
    fn the_deadline_stops_retrying_and_nothing_sent_is_unreachable() {
        let (url, seen) = serve(vec![answer("429 Slow", "retry-after: 3\r\n", "")]);
        let deadline = Instant::now() + Duration::from_secs(1);
        let http = Http::new("t", Duration::from_secs(5), fast(), Some(deadline));
        let started = Instant::now();
        let err = http.send(&Request::get(&url), &retry_usual).unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(900), "no wait");
        assert!(matches!(
            err,
            HttpError::Status {
                gave_up: Some(GaveUp::Deadline),
                ..
            }
        ));
        assert_eq!(seen.lock().unwrap().len(), 1);
        // A port nothing listens on: nothing was sent, so it is retried, then unreachable.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x?key=k", l.local_addr().unwrap());
        drop(l);
        let http = Http::new("t", Duration::from_secs(5), fast(), None);
        let once = Request::post(&url, Body::None, false);
        let err = http.send(&once, &retry_usual).unwrap_err();
        assert!(matches!(err, HttpError::Unreachable(_)), "{err:?}");
        assert!(
            err.to_string().contains("gave up after 4 attempts"),
            "{err}"
        );
        assert!(!err.to_string().contains("key=k"), "{err}");
    }

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
    }
}
