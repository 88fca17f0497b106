//! The language-model capability (`LanguageModel`) and the HTTP exchange its clients share:
//! one JSON POST with the vendors' documented retry rules (the official SDKs' logic): retry
//! 408, 409, 429 and 5xx (529 included), honour `retry-after-ms` / `retry-after`, back off
//! with jitter up to a few seconds, obey `x-should-retry`, never retry a spend-limit or
//! out-of-credit error, and stop at the run's deadline. Never logs a key or a body.

use serde_json::Value;
use std::time::{Duration, Instant};

/// What a planner asks of a model: a system prompt, one user message, and a JSON schema the
/// answer must match (forced through a tool call or an output schema, per API).
#[derive(Debug, Clone)]
pub struct ModelRequest {
    pub system: String,
    pub user: String,
    /// The name of the tool (or output schema) that carries the answer.
    pub tool_name: &'static str,
    pub tool_description: &'static str,
    pub schema: Value,
    pub max_tokens: u32,
}

/// What a model answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReply {
    /// The structured answer, or why none could be read from the response.
    pub answer: Result<Value, String>,
    /// Tokens the call used (input and output).
    pub tokens: u64,
}

/// Why a call gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// Network error, timeout, or a retryable status still failing after the retries (or at
    /// the deadline): the item waits for the next pass.
    Unreachable(String),
    /// The account's spend limit, credit or billing stops every call: never retried.
    SpendLimit(String),
    /// The key, the model name or the base URL is wrong (401, 403, 404).
    Config(String),
    /// The service refused this request (another 4xx): this item only.
    Rejected(String),
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelError::Unreachable(m)
            | ModelError::SpendLimit(m)
            | ModelError::Config(m)
            | ModelError::Rejected(m) => f.write_str(m),
        }
    }
}

/// A language model that answers one request with structured JSON.
pub trait LanguageModel {
    /// `anthropic:<model>`, `openai_compatible:<model>`: written into plans as `planner`.
    fn label(&self) -> String;
    /// One request, with retries, stopping at `deadline`.
    fn complete(
        &self,
        req: &ModelRequest,
        deadline: Option<Instant>,
    ) -> Result<ModelReply, ModelError>;
}

/// Retries after the first attempt (the SDKs' default).
pub const MAX_RETRIES: u32 = 2;
const INITIAL_DELAY: f64 = 0.5;
const MAX_DELAY: f64 = 8.0;

/// One POST target: the URL and its headers (keys included: never logged).
pub struct Exchange<'a> {
    pub agent: &'a ureq::Agent,
    pub url: &'a str,
    pub headers: &'a [(&'a str, String)],
    /// The vendor, for messages (`anthropic`, `openai_compatible`).
    pub service: &'a str,
    /// A secret to scrub from any message built from a response.
    pub secret: Option<&'a str>,
}

/// What to do with a response that is not a success.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Try again after this delay (None: exponential backoff).
    Retry(Option<Duration>),
    /// The spend limit or credit is exhausted: never retried.
    SpendLimit,
    /// Not retryable.
    Fail,
}

/// Whether an error body says the spend limit, credit or billing stops every call
/// (Anthropic: 400 credit/usage-limit messages, 429 `enforced_spend_limit_reached`, 402;
/// OpenAI: 429 `insufficient_quota`).
pub fn is_spend_limit(status: u16, body: &Value) -> bool {
    let err = &body["error"];
    let code = err["details"]["error_code"]
        .as_str()
        .or_else(|| err["code"].as_str())
        .unwrap_or("");
    let kind = err["type"].as_str().unwrap_or("");
    let msg = err["message"].as_str().unwrap_or("");
    if status == 402 || kind == "billing_error" {
        return true;
    }
    if code == "enforced_spend_limit_reached" || code == "insufficient_quota" {
        return true;
    }
    if kind == "insufficient_quota" {
        return true;
    }
    (status == 400 || status == 429)
        && [
            "Your credit balance is too low",
            "You have reached your specified API usage limits",
            "You have reached your specified workspace API usage limits",
            "You have reached your API usage limits",
        ]
        .iter()
        .any(|p| msg.starts_with(p))
}

/// The verdict on a failed response, from its status, `x-should-retry`, retry headers and body.
pub fn classify(
    status: u16,
    should_retry: Option<&str>,
    retry_after_ms: Option<&str>,
    retry_after: Option<&str>,
    body: &Value,
) -> Verdict {
    // The spend limit comes first: retrying it only fails again until access resumes.
    if is_spend_limit(status, body) {
        return Verdict::SpendLimit;
    }
    let retry = match should_retry.map(str::trim) {
        Some("true") => true,
        Some("false") => false,
        _ => matches!(status, 408 | 409 | 429) || status >= 500,
    };
    if retry {
        Verdict::Retry(retry_after_delay(retry_after_ms, retry_after))
    } else {
        Verdict::Fail
    }
}

/// The server's requested delay: `retry-after-ms`, else `retry-after` in seconds or as an
/// HTTP date. Used only when it is more than 0 and at most 60 seconds (as the SDKs do).
pub fn retry_after_delay(ms: Option<&str>, secs: Option<&str>) -> Option<Duration> {
    let seconds = ms
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v / 1000.0)
        .or_else(|| secs.and_then(|v| v.trim().parse::<f64>().ok()))
        .or_else(|| {
            let date = chrono::DateTime::parse_from_rfc2822(secs?.trim()).ok()?;
            let left = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
            Some(left.num_milliseconds() as f64 / 1000.0)
        })?;
    (seconds.is_finite() && seconds > 0.0 && seconds <= 60.0)
        .then(|| Duration::from_secs_f64(seconds))
}

/// Exponential backoff after `done` retries: `min(0.5 * 2^done, 8)` seconds, times a jitter
/// factor between 0.75 and 1 (`jitter` in 0..1).
pub fn backoff(done: u32, jitter: f64) -> Duration {
    let base = (INITIAL_DELAY * 2f64.powi(done.min(16) as i32)).min(MAX_DELAY);
    Duration::from_secs_f64(base * (1.0 - 0.25 * jitter.clamp(0.0, 1.0)))
}

/// A number in 0..1 that differs from call to call (std's randomly seeded hasher).
fn jitter() -> f64 {
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

/// A short, lenient reading of an error body: `type: message` (OpenAI, Anthropic, Ollama,
/// llama.cpp and `{"error": "text"}` proxies), else the start of the raw text.
pub fn error_text(body: &Value, raw: &str) -> String {
    let err = &body["error"];
    if let Some(s) = err.as_str() {
        return s.to_string();
    }
    let msg = err["message"].as_str().unwrap_or("");
    let kind = err["type"].as_str().unwrap_or("");
    match (kind.is_empty(), msg.is_empty()) {
        (false, false) => format!("{kind}: {msg}"),
        (true, false) => msg.to_string(),
        (false, true) => kind.to_string(),
        (true, true) => raw.trim().chars().take(300).collect(),
    }
}

impl Exchange<'_> {
    /// A message built from a response, without the key or any encoding of it (a proxy may
    /// echo the `Authorization` header), nor any other secret of the run.
    fn scrub(&self, s: String) -> String {
        let s = match self.secret {
            Some(k) => crate::secrets::Scrubber::new([k], &[]).scrub(&s),
            None => s,
        };
        crate::secrets::scrub(&s)
    }

    /// POSTs `body` with retries; returns the text of the first 2xx response.
    pub fn post(&self, body: &Value, deadline: Option<Instant>) -> Result<String, ModelError> {
        let host = super::url_host(self.url);
        let path = super::url_path(self.url);
        let mut done = 0u32;
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Err(ModelError::Unreachable(format!(
                    "{}: the run's deadline came before an answer (after {done} attempts)",
                    self.service
                )));
            }
            let mut req = self.agent.post(self.url);
            for (k, v) in self.headers {
                req = req.header(*k, v);
            }
            if let Some(l) = left {
                let cap = self
                    .agent
                    .config()
                    .timeouts()
                    .global
                    .map_or(l, |g| g.min(l));
                req = req.config().timeout_global(Some(cap)).build();
            }
            let started = Instant::now();
            let (failure, delay) = match req.send_json(body) {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    log::debug!(
                        "POST {host}{path} -> {status} ({} ms)",
                        started.elapsed().as_millis()
                    );
                    let header = |k: &str| {
                        resp.headers()
                            .get(k)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    let (should, ms, secs) = (
                        header("x-should-retry"),
                        header("retry-after-ms"),
                        header("retry-after"),
                    );
                    let text = resp.body_mut().read_to_string().unwrap_or_default();
                    if (200..300).contains(&status) {
                        return Ok(text);
                    }
                    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let what = self.scrub(format!(
                        "{} answered {status}: {}",
                        self.service,
                        error_text(&json, &text)
                    ));
                    match classify(
                        status,
                        should.as_deref(),
                        ms.as_deref(),
                        secs.as_deref(),
                        &json,
                    ) {
                        Verdict::SpendLimit => return Err(ModelError::SpendLimit(what)),
                        Verdict::Fail => {
                            return Err(match status {
                                401 | 403 | 404 => ModelError::Config(what),
                                408 | 409 | 429 | 500.. => ModelError::Unreachable(what),
                                _ => ModelError::Rejected(what),
                            });
                        }
                        Verdict::Retry(delay) => (what, delay),
                    }
                }
                Err(e) => {
                    log::debug!(
                        "POST {host}{path} -> error ({} ms)",
                        started.elapsed().as_millis()
                    );
                    let what =
                        self.scrub(format!("{} is unreachable at {host}: {e}", self.service));
                    (what, None)
                }
            };
            if done >= MAX_RETRIES {
                return Err(ModelError::Unreachable(format!(
                    "{failure} (gave up after {} attempts)",
                    done + 1
                )));
            }
            let wait = delay.unwrap_or_else(|| backoff(done, jitter()));
            if let Some(d) = deadline
                && Instant::now() + wait >= d
            {
                return Err(ModelError::Unreachable(format!(
                    "{failure} (not retried: the run's deadline comes first)"
                )));
            }
            log::debug!(
                "{}: retrying in {} ms: {failure}",
                self.service,
                wait.as_millis()
            );
            std::thread::sleep(wait);
            done += 1;
        }
    }
}

/// Strips a Markdown code fence around JSON text, as some models add one.
pub fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn spend_limits_are_never_retried() {
        for (status, f) in [
            (400, "anthropic/error_400_credit_balance_too_low.json"),
            (400, "anthropic/error_400_spend_limit_org.json"),
            (400, "anthropic/error_400_spend_limit_workspace.json"),
            (429, "anthropic/error_429_tier_spend_cap.json"),
            (429, "openai/error_429_insufficient_quota.json"),
        ] {
            // Even when the server says to retry, and gives a delay.
            assert_eq!(
                classify(status, Some("true"), Some("10"), None, &fixture(f)),
                Verdict::SpendLimit,
                "{f}"
            );
        }
        assert_eq!(
            classify(402, None, None, None, &Value::Null),
            Verdict::SpendLimit
        );
    }

    #[test]
    fn retryable_statuses_follow_the_sdk() {
        let rl = fixture("anthropic/error_429_rate_limit.json");
        assert_eq!(
            classify(429, None, None, Some("17"), &rl),
            Verdict::Retry(Some(Duration::from_secs(17)))
        );
        let ov = fixture("anthropic/error_529_overloaded.json");
        assert_eq!(classify(529, None, None, None, &ov), Verdict::Retry(None));
        assert_eq!(
            classify(500, None, Some("250"), Some("3"), &Value::Null),
            Verdict::Retry(Some(Duration::from_millis(250)))
        );
        for s in [408, 409, 502, 503] {
            assert!(matches!(
                classify(s, None, None, None, &Value::Null),
                Verdict::Retry(_)
            ));
        }
        for s in [400, 401, 403, 404, 413] {
            assert_eq!(classify(s, None, None, None, &Value::Null), Verdict::Fail);
        }
        // x-should-retry overrides the status rules both ways.
        assert_eq!(classify(529, Some("false"), None, None, &ov), Verdict::Fail);
        assert_eq!(
            classify(400, Some("true"), None, None, &Value::Null),
            Verdict::Retry(None)
        );
    }

    #[test]
    fn retry_after_is_used_only_between_0_and_60_seconds() {
        assert_eq!(
            retry_after_delay(Some("1500"), Some("9")),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after_delay(None, Some("0.5")),
            Some(Duration::from_millis(500))
        );
        assert_eq!(retry_after_delay(None, Some("0")), None);
        assert_eq!(retry_after_delay(None, Some("61")), None);
        assert_eq!(retry_after_delay(None, Some("soon")), None);
        assert_eq!(retry_after_delay(None, None), None);
        let in_5s = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc2822();
        let d = retry_after_delay(None, Some(&in_5s)).unwrap();
        assert!(
            d > Duration::from_secs(3) && d <= Duration::from_secs(5),
            "{d:?}"
        );
    }

    #[test]
    fn backoff_doubles_up_to_8_seconds_with_jitter_below() {
        assert_eq!(backoff(0, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(5, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(0, 1.0), Duration::from_millis(375));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }

    #[test]
    fn error_text_reads_every_vendor_shape() {
        let a = fixture("anthropic/error_529_overloaded.json");
        assert_eq!(error_text(&a, ""), "overloaded_error: Overloaded");
        let l = fixture("openai/error_500_llamacpp.json");
        assert!(error_text(&l, "").starts_with("server_error: response_format"));
        assert_eq!(
            error_text(&json!({"error": "bad gateway"}), ""),
            "bad gateway"
        );
        assert_eq!(error_text(&Value::Null, "  <html>oops  "), "<html>oops");
    }

    #[test]
    fn fences_are_stripped() {
        assert_eq!(strip_fence("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(strip_fence(" {\"a\":1} "), "{\"a\":1}");
    }
}
