//! The Anthropic Messages API (`POST {llm.api_base}/v1/messages`) as a [`LanguageModel`]: the
//! answer is forced through a tool call (`tool_choice` naming the one tool), which every
//! model of the API supports. Never sends `temperature`, `top_p` or `top_k` (API version
//! `2026-10-21` rejects them). The key goes in `x-api-key` and nowhere else.

use super::http::Http;
use super::llm_http::{
    LanguageModel, ModelError, ModelReply, ModelRequest, plan_json, read_reply, strip_fence,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A client of one model.
pub struct AnthropicClient {
    http: Http,
    url: String,
    key: String,
    version: String,
    model: String,
}

impl AnthropicClient {
    /// A client for `model` at `api_base` (e.g. `https://api.anthropic.com`); builds no
    /// connection until the first call.
    pub fn new(
        api_base: &str,
        key: &str,
        version: &str,
        model: &str,
        timeout: Duration,
    ) -> AnthropicClient {
        AnthropicClient {
            http: super::llm_http::http("anthropic", timeout, Some(key)),
            url: super::llm_http::v1_url(api_base, "messages"),
            key: key.to_string(),
            version: version.to_string(),
            model: model.to_string(),
        }
    }

    /// The request body (pure, for tests).
    pub fn body(&self, req: &ModelRequest) -> Value {
        json!({
            "model": self.model,
            "max_tokens": req.max_tokens,
            "system": req.system,
            "messages": [{"role": "user", "content": req.user}],
            "tools": [{
                "name": req.tool_name,
                "description": req.tool_description,
                "input_schema": req.schema,
            }],
            "tool_choice": {"type": "tool", "name": req.tool_name},
        })
    }
}

/// Reads a Messages API response: the named tool's `input` (an object), else JSON in a text
/// block; an answer cut at `max_tokens` or refused is no answer. Tokens count input, output
/// and cache tokens.
pub fn parse_reply(text: &str, tool: &str) -> ModelReply {
    read_reply(text, tokens, |v| answer(v, tool))
}

/// Input, output and cache tokens together.
fn tokens(v: &Value) -> u64 {
    let u = &v["usage"];
    [
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ]
    .iter()
    .filter_map(|k| u[*k].as_u64())
    .sum()
}

fn answer(v: &Value, tool: &str) -> Result<Value, String> {
    match v["stop_reason"].as_str() {
        Some("max_tokens") => {
            return Err(
                "the answer was cut at max_tokens (raise `llm.max_tokens` in aie.yaml)".into(),
            );
        }
        Some("refusal") => return Err("the model refused to answer".into()),
        _ => {}
    }
    let blocks = v["content"]
        .as_array()
        .ok_or("the response has no `content` blocks")?;
    if let Some(b) = blocks
        .iter()
        .find(|b| b["type"] == "tool_use" && b["name"] == tool)
    {
        return match &b["input"] {
            Value::Object(_) => Ok(b["input"].clone()),
            Value::String(s) => serde_json::from_str(strip_fence(s))
                .map_err(|e| format!("the tool input is not JSON: {e}")),
            _ => Err("the tool input is not an object".into()),
        };
    }
    let text: String = blocks
        .iter()
        .filter(|b| b["type"] == "text")
        .filter_map(|b| b["text"].as_str())
        .collect();
    if text.trim().is_empty() {
        return Err(format!("the answer has no `{tool}` tool call"));
    }
    plan_json(&text)
}

impl LanguageModel for AnthropicClient {
    fn label(&self) -> String {
        format!("anthropic:{}", self.model)
    }

    fn complete(
        &self,
        req: &ModelRequest,
        deadline: Option<Instant>,
    ) -> Result<ModelReply, ModelError> {
        let headers = [
            ("x-api-key", self.key.as_str()),
            ("anthropic-version", self.version.as_str()),
        ];
        let text =
            super::llm_http::post(&self.http, &self.url, &headers, &self.body(req), deadline)?;
        Ok(parse_reply(&text, req.tool_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        crate::connectors::llm_http::fixture_text(&format!("anthropic/{name}"))
    }

    #[test]
    fn tool_use_input_is_the_answer_and_tokens_add_up() {
        let r = parse_reply(&fixture("response_tool_use.json"), "record_document");
        assert_eq!(r.answer.unwrap()["document_number"], "INV/2024/00117");
        assert_eq!(r.tokens, 712 + 96);
    }

    #[test]
    fn text_json_is_read_and_cut_answers_are_refused() {
        let r = parse_reply(
            &fixture("response_structured_output.json"),
            "record_document",
        );
        assert_eq!(r.answer.unwrap()["total_amount"], 1250.0);
        let r = parse_reply(&fixture("response_max_tokens.json"), "record_document");
        assert!(r.answer.unwrap_err().contains("max_tokens"));
        assert_eq!(r.tokens, 712 + 32);
        let r = parse_reply(&fixture("response_text.json"), "record_document");
        assert!(r.answer.unwrap_err().contains("not the plan JSON"));
        let r = parse_reply(&fixture("response_tool_use.json"), "submit_plan");
        assert!(r.answer.is_err());
    }

    #[test]
    fn body_forces_the_tool_and_never_sends_sampling_parameters() {
        let c = AnthropicClient::new(
            "http://127.0.0.1:9/",
            "k",
            "2023-06-01",
            "m",
            Duration::from_secs(1),
        );
        assert_eq!(c.url, "http://127.0.0.1:9/v1/messages");
        let req = ModelRequest {
            system: "s".into(),
            user: "u".into(),
            tool_name: "submit_plan",
            tool_description: "d",
            schema: json!({"type": "object"}),
            max_tokens: 100,
        };
        let b = c.body(&req);
        assert_eq!(
            b["tool_choice"],
            json!({"type": "tool", "name": "submit_plan"})
        );
        assert_eq!(b["system"], "s");
        assert_eq!(b["messages"][0]["content"], "u");
        for k in ["temperature", "top_p", "top_k"] {
            assert!(b.get(k).is_none());
        }
    }
}
