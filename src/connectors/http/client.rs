//! The HTTP client of one connector for one run ([`Http`]): each request sent until it
//! succeeds, its connector's judge stops it, or the retries that the policy, the request's
//! idempotence and the deadline allow are spent; one `debug` line per attempt.

use super::retry::{Judge, RetryPolicy, Verdict, backoff, gave_up, jitter, retry_after};
use super::{Body, ERROR_BODY, GaveUp, HttpError, Reply, Request, agent, url_host, url_path};
use std::cell::Cell;
use std::time::{Duration, Instant};

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

    /// The same client, never waiting or sending past `deadline` (the run's).
    pub fn until(mut self, deadline: Option<Instant>) -> Http {
        self.deadline = deadline;
        self
    }

    /// The run's deadline this client keeps to, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
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
        // A path may carry a key (a ping URL's): scrubbed like everything else.
        let (host, path) = (url_host(req.url), self.scrub(url_path(req.url)));
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
            // A wait of nothing ("Retry-After: 0", or a time already past) is no wait asked
            // for: the backoff with jitter applies, so retries never come back to back.
            let wait = asked
                .filter(|d| !d.is_zero() && *d <= self.policy.max_retry_after)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::http::{retry_usual, test_server};
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
    fn a_retry_after_of_nothing_waits_the_backoff_instead() {
        let (url, seen) = serve(vec![
            answer("429 Slow", "retry-after: 0\r\n", ""),
            answer("200 OK", "", "{}"),
        ]);
        let policy = RetryPolicy {
            initial: Duration::from_millis(200),
            max_backoff: Duration::from_millis(200),
            ..fast()
        };
        let http = Http::new("t", Duration::from_secs(5), policy, None);
        http.send(&Request::get(&url), &retry_usual).unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        // The backoff, shortened by its jitter at most by a quarter.
        assert!(seen[1].0.duration_since(seen[0].0) >= Duration::from_millis(140));
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
}
