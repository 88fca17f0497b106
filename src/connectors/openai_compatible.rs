//! OpenAI-compatible Chat Completions (`POST {llm.api_base}/v1/chat/completions`) as a
//! [`LanguageModel`], for local servers such as Ollama or llama.cpp so mail can stay on the
//! owner's machine. The answer is forced through `response_format: json_schema`, the path
//! both local servers enforce by grammar. The key (`AIE_LLM_API_KEY`) is optional; when set
//! it goes in `Authorization: Bearer` and nowhere else. Never sends sampling parameters.

use super::http::Http;
use super::llm_http::{LanguageModel, ModelError, ModelReply, ModelRequest, plan_json, read_reply};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A client of one model on one server.
pub struct OpenAiCompatibleClient {
    http: Http,
    url: String,
    key: Option<String>,
    model: String,
}

impl OpenAiCompatibleClient {
    /// A client for `model` at `api_base` (`http://localhost:11434`, or with `/v1`); builds
    /// no connection until the first call.
    pub fn new(
        api_base: &str,
        key: Option<&str>,
        model: &str,
        timeout: Duration,
    ) -> OpenAiCompatibleClient {
        OpenAiCompatibleClient {
            http: super::llm_http::http("openai_compatible", timeout, key),
            url: super::llm_http::v1_url(api_base, "chat/completions"),
            key: key.map(str::to_string),
            model: model.to_string(),
        }
    }

    /// The request body (pure, for tests).
    pub fn body(&self, req: &ModelRequest) -> Value {
        json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": req.system},
                {"role": "user", "content": req.user},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": req.tool_name, "strict": true, "schema": req.schema},
            },
            "max_tokens": req.max_tokens,
        })
    }
}

/// Reads a Chat Completions response: a tool call's `arguments` (a JSON string), else the
/// message content; a refusal or an answer cut at the length limit is no answer.
pub fn parse_reply(text: &str) -> ModelReply {
    read_reply(text, tokens, answer)
}

/// `total_tokens`, else prompt and completion tokens together.
fn tokens(v: &Value) -> u64 {
    let u = &v["usage"];
    u["total_tokens"].as_u64().unwrap_or_else(|| {
        u["prompt_tokens"].as_u64().unwrap_or(0) + u["completion_tokens"].as_u64().unwrap_or(0)
    })
}

fn answer(v: &Value) -> Result<Value, String> {
    let choice = &v["choices"][0];
    let msg = &choice["message"];
    if !msg.is_object() {
        return Err("the response has no `choices[0].message`".to_string());
    }
    if choice["finish_reason"] == "length" {
        return Err(
            "the answer was cut at the length limit (raise `llm.max_tokens` in aie.yaml)".into(),
        );
    }
    if let Some(r) = msg["refusal"].as_str().filter(|r| !r.is_empty()) {
        return Err(format!("the model refused: {r}"));
    }
    let text = msg["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .or_else(|| msg["content"].as_str())
        .unwrap_or("");
    if text.trim().is_empty() {
        return Err("the answer is empty".into());
    }
    plan_json(text)
}

impl LanguageModel for OpenAiCompatibleClient {
    fn label(&self) -> String {
        format!("openai_compatible:{}", self.model)
    }

    fn complete(
        &self,
        req: &ModelRequest,
        deadline: Option<Instant>,
    ) -> Result<ModelReply, ModelError> {
        let auth = self.key.as_ref().map(|k| format!("Bearer {k}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| ("authorization", a))
            .into_iter()
            .collect();
        let text =
            super::llm_http::post(&self.http, &self.url, &headers, &self.body(req), deadline)?;
        Ok(parse_reply(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        crate::connectors::llm_http::fixture_text(&format!("openai/{name}"))
    }

    #[test]
    fn tool_call_arguments_and_content_are_read() {
        for f in [
            "response_tool_calls.json",
            "response_tool_calls_ollama.json",
            "response_json_schema.json",
        ] {
            let r = parse_reply(&fixture(f));
            assert_eq!(r.answer.unwrap()["currency"], "EUR", "{f}");
        }
        assert_eq!(
            parse_reply(&fixture("response_tool_calls.json")).tokens,
            183
        );
    }

    #[test]
    fn refusals_and_cut_answers_are_no_answer() {
        let r = parse_reply(
            r#"{"choices":[{"message":{"content":null,"refusal":"I can't"},"finish_reason":"stop"}]}"#,
        );
        assert!(r.answer.unwrap_err().contains("refused"));
        let r = parse_reply(
            r#"{"choices":[{"message":{"content":"{\"a\":"},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#,
        );
        assert!(r.answer.unwrap_err().contains("length"));
        assert_eq!(r.tokens, 7);
    }

    #[test]
    fn url_takes_a_base_with_or_without_v1() {
        let d = Duration::from_secs(1);
        let a = OpenAiCompatibleClient::new("http://127.0.0.1:11434", None, "m", d);
        let b = OpenAiCompatibleClient::new("http://127.0.0.1:11434/v1/", None, "m", d);
        assert_eq!(a.url, "http://127.0.0.1:11434/v1/chat/completions");
        assert_eq!(a.url, b.url);
    }
}
