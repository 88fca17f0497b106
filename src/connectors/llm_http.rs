//! The language-model capability (`LanguageModel`) and what its clients share: the vendors'
//! documented judgement of a failed answer (the official SDKs' logic: retry 408, 409, 429 and
//! 5xx, 529 included; obey `x-should-retry`; never retry a spend-limit or out-of-credit
//! error) and the mapping of the HTTP layer's errors to [`ModelError`]. The retries, their
//! delays (`retry-after-ms` / `retry-after` up to 60 s, backoff with jitter up to 8 s), the
//! deadline and the scrubbing are the HTTP layer's ([`super::http`]).

use super::capabilities::{Connector, SecretNeed, required};
use super::http::{Body, Http, HttpError, Reply, Request, RetryPolicy};
use crate::config::{LlmProvider, Settings};
use crate::secrets::Secrets;
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

/// The language model's connector: the `llm:` section; Anthropic needs its key, an
/// OpenAI-compatible server may take one.
pub const CONNECTOR: Connector = Connector::of_section(
    "llm",
    &["AIE_ANTHROPIC_API_KEY", "AIE_LLM_API_KEY"],
    needs,
    check,
);

fn needs(s: &Settings) -> Option<Vec<SecretNeed>> {
    match s.llm.provider {
        LlmProvider::Anthropic => Some(required(&["AIE_ANTHROPIC_API_KEY"])),
        LlmProvider::OpenaiCompatible => Some(vec![SecretNeed {
            name: "AIE_LLM_API_KEY",
            optional: true,
        }]),
        LlmProvider::Template => None,
    }
}

/// How long one model call may take before it counts as a network error.
const MODEL_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the model `llm:` names is and how to sign in to it (no network).
struct ModelSetup<'a> {
    provider: LlmProvider,
    base: &'a str,
    key: Option<&'a str>,
    model: &'a str,
}

/// What `llm:` and the secrets say the model is, or None for the template planner. Errors
/// are config errors (exit 78): a missing key, model or base URL.
fn setup<'a>(s: &'a Settings, secrets: &'a Secrets) -> anyhow::Result<Option<ModelSetup<'a>>> {
    let llm = &s.llm;
    Ok(Some(match llm.provider {
        LlmProvider::Template => return Ok(None),
        LlmProvider::Anthropic => {
            secrets.require("llm.provider anthropic", &["AIE_ANTHROPIC_API_KEY"])?;
            ModelSetup {
                provider: llm.provider,
                base: llm
                    .api_base
                    .as_deref()
                    .unwrap_or("https://api.anthropic.com"),
                key: secrets.get("AIE_ANTHROPIC_API_KEY"),
                model: llm.model.as_deref().unwrap_or("claude-sonnet-4-5"),
            }
        }
        LlmProvider::OpenaiCompatible => {
            let (Some(base), Some(model)) = (llm.api_base.as_deref(), llm.model.as_deref()) else {
                return Err(crate::exit::AieError::Config(
                    "llm.provider openai_compatible needs `llm.api_base` (e.g. http://localhost:11434) and `llm.model` in aie.yaml".into(),
                )
                .into());
            };
            ModelSetup {
                provider: llm.provider,
                base,
                key: secrets.get("AIE_LLM_API_KEY"),
                model,
            }
        }
    }))
}

/// The model `llm.provider` names, or None for the template planner (what `plan` and
/// `ceo-briefing` ask with). Errors are config errors (exit 78): a missing key, model or
/// base URL.
pub fn model(s: &Settings, secrets: &Secrets) -> anyhow::Result<Option<Box<dyn LanguageModel>>> {
    let Some(m) = setup(s, secrets)? else {
        return Ok(None);
    };
    Ok(Some(match m.provider {
        LlmProvider::Anthropic => Box::new(super::anthropic::AnthropicClient::new(
            m.base,
            m.key.expect("invariant: the key is required above"),
            &s.llm.api_version,
            m.model,
            MODEL_TIMEOUT,
        )),
        _ => Box::new(super::openai_compatible::OpenAiCompatibleClient::new(
            m.base,
            m.key,
            m.model,
            MODEL_TIMEOUT,
        )),
    }))
}

/// The provider is known and has what it needs to be built (no network).
fn check(s: &Settings, secrets: &Secrets, _vault_root: &std::path::Path) -> anyhow::Result<String> {
    Ok(match setup(s, secrets)? {
        None => "the template planner (no model)".into(),
        Some(m) if m.provider == LlmProvider::Anthropic => {
            format!("anthropic at {}", super::url_host(m.base))
        }
        Some(m) => format!(
            "openai_compatible `{}` at {}",
            m.model,
            super::url_host(m.base)
        ),
    })
}

/// Retries after the first attempt (the SDKs' default).
pub const MAX_RETRIES: u32 = RetryPolicy::LLM.max_retries;

/// The HTTP client of a model: the SDKs' retry policy, and `key` scrubbed from every answer
/// (a proxy may echo the `Authorization` header).
pub fn http(service: &'static str, timeout: Duration, key: Option<&str>) -> Http {
    let h = Http::new(service, timeout, RetryPolicy::LLM, None);
    match key {
        Some(k) => h.scrubbing(&[k]),
        None => h,
    }
}

/// What to do with a response that is not a success.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Try again (after the server's delay, else backoff).
    Retry,
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

/// The verdict on a failed response, from its status, `x-should-retry` and body.
pub fn classify(status: u16, should_retry: Option<&str>, body: &Value) -> Verdict {
    // The spend limit comes first: retrying it only fails again until access resumes.
    if is_spend_limit(status, body) {
        return Verdict::SpendLimit;
    }
    let retry = match should_retry.map(str::trim) {
        Some("true") => true,
        Some("false") => false,
        _ => matches!(status, 408 | 409 | 429) || status >= 500,
    };
    if retry { Verdict::Retry } else { Verdict::Fail }
}

/// [`classify`] as the HTTP layer's judge.
fn judge(r: &Reply) -> super::http::Verdict {
    match classify(r.status, r.header("x-should-retry"), &r.json()) {
        Verdict::Retry => super::http::Verdict::Retry(None),
        Verdict::SpendLimit | Verdict::Fail => super::http::Verdict::Stop,
    }
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

/// POSTs `body` to `url` through `http` with retries (an LLM call has no side effect: it is
/// safe to repeat); returns the text of the first 2xx response, scrubbed.
pub fn post(
    http: &Http,
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
    deadline: Option<Instant>,
) -> Result<String, ModelError> {
    let req = Request {
        headers,
        max_body: 64 * 1024 * 1024,
        ..Request::post(url, Body::Json(body), true)
    };
    match http.send_before(&req, &judge, deadline) {
        Ok(reply) => Ok(reply.text()),
        Err(e) => Err(model_error(http.service, e)),
    }
}

/// The one mapping from the HTTP layer's errors to a model's: what could not be reached or
/// was retried out waits for the next pass; a spend limit stops every call; a wrong key,
/// model or URL is the configuration's; any other refusal is this item's.
pub fn model_error(service: &str, e: HttpError) -> ModelError {
    let HttpError::Status {
        code,
        body,
        gave_up,
        ..
    } = e
    else {
        return ModelError::Unreachable(e.to_string());
    };
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let what = format!("{service} answered {code}: {}", error_text(&json, &body));
    if is_spend_limit(code, &json) {
        return ModelError::SpendLimit(what);
    }
    if let Some(g) = gave_up {
        return ModelError::Unreachable(format!("{what} ({g})"));
    }
    match code {
        401 | 403 | 404 => ModelError::Config(what),
        408 | 409 | 429 | 500.. => ModelError::Unreachable(what),
        _ => ModelError::Rejected(what),
    }
}

/// The URL of `path` under an API base given with or without its `/v1`
/// (`http://localhost:11434` and `http://localhost:11434/v1/` name the same API).
pub fn v1_url(api_base: &str, path: &str) -> String {
    let base = api_base.trim_end_matches('/');
    let base = base.strip_suffix("/v1").unwrap_or(base);
    format!("{base}/v1/{path}")
}

/// A reply from a response's text: `tokens` and `answer` read the parsed body; a body that
/// is not JSON is no answer and no tokens.
pub fn read_reply(
    text: &str,
    tokens: impl FnOnce(&Value) -> u64,
    answer: impl FnOnce(&Value) -> Result<Value, String>,
) -> ModelReply {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => ModelReply {
            tokens: tokens(&v),
            answer: answer(&v),
        },
        Err(e) => ModelReply {
            answer: Err(format!("the response is not JSON: {e}")),
            tokens: 0,
        },
    }
}

/// The plan JSON in a model's text answer (a Markdown fence around it is stripped).
pub fn plan_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(strip_fence(text))
        .map_err(|e| format!("the answer is not the plan JSON: {e}"))
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

/// The text of `tests/fixtures/<rel>` (for the model clients' unit tests).
#[cfg(test)]
pub(crate) fn fixture_text(rel: &str) -> String {
    let path = format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        serde_json::from_str(&fixture_text(name)).unwrap()
    }

    // plan built its model with its own copy of this connector's check (provider, secret,
    // default base URL, config error): both now go through `setup` (issue 9).
    #[test]
    fn the_check_and_the_planners_build_the_same_model() {
        let settings =
            |yaml: &str| Settings::parse(yaml, std::path::Path::new("aie.yaml")).unwrap();
        let env = std::collections::BTreeMap::from([(
            "AIE_ANTHROPIC_API_KEY".to_string(),
            "sk-ant-test-0123456789".to_string(),
        )]);
        let with_key = Secrets::load(&env, None, None).unwrap();
        let none = Secrets::default();
        let root = std::path::Path::new("/nonexistent");
        let template = settings("timezone: UTC\n");
        assert!(model(&template, &none).unwrap().is_none());
        let anthropic = settings("llm:\n  provider: anthropic\n  model: claude-x\n");
        let m = model(&anthropic, &with_key).unwrap().unwrap();
        assert_eq!(m.label(), "anthropic:claude-x");
        assert_eq!(
            check(&anthropic, &with_key, root).unwrap(),
            "anthropic at api.anthropic.com"
        );
        for e in [
            model(&anthropic, &none).map(|_| ()),
            check(&anthropic, &none, root).map(|_| ()),
        ] {
            assert!(format!("{:#}", e.unwrap_err()).contains("AIE_ANTHROPIC_API_KEY"));
        }
        let local = settings("llm:\n  provider: openai_compatible\n  model: llama\n");
        for e in [
            model(&local, &none).map(|_| ()),
            check(&local, &none, root).map(|_| ()),
        ] {
            assert!(format!("{:#}", e.unwrap_err()).contains("llm.api_base"));
        }
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
            // Even when the server says to retry.
            assert_eq!(
                classify(status, Some("true"), &fixture(f)),
                Verdict::SpendLimit,
                "{f}"
            );
        }
        assert_eq!(classify(402, None, &Value::Null), Verdict::SpendLimit);
    }

    #[test]
    fn retryable_statuses_follow_the_sdk() {
        let rl = fixture("anthropic/error_429_rate_limit.json");
        assert_eq!(classify(429, None, &rl), Verdict::Retry);
        let ov = fixture("anthropic/error_529_overloaded.json");
        assert_eq!(classify(529, None, &ov), Verdict::Retry);
        for s in [408, 409, 500, 502, 503] {
            assert_eq!(classify(s, None, &Value::Null), Verdict::Retry);
        }
        for s in [400, 401, 403, 404, 413] {
            assert_eq!(classify(s, None, &Value::Null), Verdict::Fail);
        }
        // x-should-retry overrides the status rules both ways.
        assert_eq!(classify(529, Some("false"), &ov), Verdict::Fail);
        assert_eq!(classify(400, Some("true"), &Value::Null), Verdict::Retry);
    }

    #[test]
    fn http_errors_map_to_model_errors() {
        let st = |code, body: &str, gave_up| HttpError::Status {
            code,
            body: body.into(),
            retry_after: None,
            gave_up,
        };
        let credit = fixture_text("anthropic/error_400_credit_balance_too_low.json");
        assert!(matches!(
            model_error("a", st(400, &credit, None)),
            ModelError::SpendLimit(_)
        ));
        assert!(matches!(
            model_error("a", st(401, "", None)),
            ModelError::Config(_)
        ));
        assert!(matches!(
            model_error("a", st(400, "", None)),
            ModelError::Rejected(_)
        ));
        let out = model_error(
            "a",
            st(529, "", Some(super::super::http::GaveUp::Attempts(3))),
        );
        assert_eq!(
            out,
            ModelError::Unreachable("a answered 529:  (gave up after 3 attempts)".into())
        );
        assert!(matches!(
            model_error("a", HttpError::Timeout("t".into())),
            ModelError::Unreachable(_)
        ));
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
