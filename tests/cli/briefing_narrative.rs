//! The briefing's executive summary in words from a model (the Anthropic loopback fake): the
//! prompt holds the figures alone (no item id, title or body), the narrative stands in the
//! file, the same figures ask no model again, and a failing model leaves the template text.

use crate::support::http::{FakeServer, Request, Response};
use crate::support::{TestEnv, fixture};
use serde_json::{Value, json};

const FILE: &str = "Briefings/2026-11-23_Monday_Briefing.md";

fn summary_reply(text: &str) -> Response {
    let mut v: Value = serde_json::from_str(&fixture("anthropic/response_tool_use.json")).unwrap();
    v["content"][0]["name"] = json!("submit_summary");
    v["content"][0]["input"] = json!({ "summary": text });
    Response::json(200, &v)
}

fn env_with(server: &FakeServer) -> TestEnv {
    let mut env = TestEnv::new();
    env.config(&format!(
        "llm:\n  provider: anthropic\n  model: claude-sonnet-4-5\n  api_base: {}\n  max_tokens: 1000\n",
        server.url()
    ));
    env.env("AIE_ANTHROPIC_API_KEY", "sk-ant-api03-TESTKEY");
    env.write(
        "Done/zebra-item-7.md",
        "---\nid: zebra-item-7\nkind: email\ndomain: email\nsource: inbox:zebra.eml\ncreated: 2026-11-16T08:00:00Z\nstatus: done\npriority: normal\ntitle: Zebra stripes quote\ncompleted: 2026-11-18T12:00:00Z\n---\nThe client Zebra Corp asks about the okapi contract.\n",
    );
    env
}

#[test]
fn the_model_writes_the_summary_from_the_figures_alone_once() {
    let server = FakeServer::start(|_r: &Request| summary_reply("A calm week: one email done."));
    let env = env_with(&server);
    let r = env.ok(&["ceo-briefing", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["llm_narrative"], true, "{v}");
    let text = env.read(FILE);
    assert!(
        text.contains("## Executive summary\nA calm week: one email done.\n\n*Written by anthropic:claude-sonnet-4-5 from the figures below.*"),
        "{text}"
    );
    let hits = server.hits_to("/v1/messages");
    assert_eq!(hits.len(), 1);
    let prompt = hits[0].body_str().to_lowercase();
    for secret in ["zebra", "okapi", "stripes"] {
        assert!(!prompt.contains(secret), "{secret} leaked into {prompt}");
    }
    assert!(prompt.contains("completed_by_domain"), "{prompt}");
    assert!(prompt.contains("\\\"email\\\":1"), "{prompt}");
    // The same figures again: no call, no rewrite.
    let r = env.ok(&["ceo-briefing", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["written"], "unchanged", "{v}");
    assert_eq!(server.hits_to("/v1/messages").len(), 1);
    assert_eq!(env.read(FILE), text);
}

#[test]
fn a_failing_model_leaves_the_template_summary() {
    let server = FakeServer::start(|_r: &Request| {
        Response::raw_json(400, &fixture("anthropic/error_400_invalid_request.json"))
    });
    let env = env_with(&server);
    let r = env.ok(&["ceo-briefing", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["llm_narrative"], false, "{v}");
    assert!(
        v["llm"]
            .as_str()
            .unwrap()
            .starts_with("the template summary"),
        "{v}"
    );
    let text = env.read(FILE);
    assert!(
        text.contains("## Executive summary\n1 item(s) completed."),
        "{text}"
    );
    assert!(!text.contains("Written by"), "{text}");
    assert_eq!(
        server.hits_to("/v1/messages").len(),
        1,
        "a 400 is not retried"
    );
}
