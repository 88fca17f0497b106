//! LLM planning: the Anthropic Messages API and an OpenAI-compatible server as loopback fakes
//! built from the recorded fixtures; the request the planner sends, the plan it writes,
//! fallback to the template planner, the vendors' retry rules, the token budget, replanning
//! a rejected item, and a prompt-injection corpus run through a model that obeys the
//! attacker: not one side effect without a human approval.

use crate::support::http::{FakeServer, Request, Response};
use crate::support::{TestEnv, files_under, fixture};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::fs;
use std::sync::{Arc, Mutex};

const KEY: &str = "sk-ant-api03-TESTKEY-never-logged";
const MODEL: &str = "claude-sonnet-4-5";

/// The headers of a recorded response (`*.headers.txt`), without the status line.
fn recorded_headers(rel: &str) -> Vec<(String, String)> {
    fixture(rel)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| k != "content-type")
        .collect()
}

/// A 200 Messages API answer calling `submit_plan` with `plan`, shaped like the recording.
fn anthropic_plan(plan: &Value) -> Response {
    let mut v: Value = serde_json::from_str(&fixture("anthropic/response_tool_use.json")).unwrap();
    v["content"][0]["name"] = json!("submit_plan");
    v["content"][0]["input"] = plan.clone();
    let mut r = Response::json(200, &v);
    r.headers
        .extend(recorded_headers("anthropic/response_200.headers.txt"));
    r
}

/// The tokens of the recorded answer (`usage` of `response_tool_use.json`).
const ANSWER_TOKENS: u64 = 712 + 96;

fn anthropic_error(status: u16, file: &str) -> Response {
    Response::raw_json(status, &fixture(&format!("anthropic/{file}")))
}

/// A 200 Chat Completions answer with `plan` as the message content (json_schema path).
fn openai_plan(plan: &Value) -> Response {
    let mut v: Value = serde_json::from_str(&fixture("openai/response_json_schema.json")).unwrap();
    v["choices"][0]["message"]["content"] = json!(plan.to_string());
    Response::json(200, &v)
}

fn plan_of(actions: Value) -> Value {
    json!({"objective": "Answer the client", "steps": ["Draft", "Send after approval"], "actions": actions})
}

fn reply_to_omar() -> Value {
    plan_of(json!([{
        "kind": "send_email", "why": "Omar asked for prices.",
        "to": ["omar@lead.example"], "cc": null, "bcc": null,
        "subject": "Re: Pricing?", "body": "Hi Omar, our rates are on the way.",
        "in_reply_to": "<q1@lead.example>", "attachments": null
    }]))
}

/// Answers from a queue, then with `last` forever.
fn scripted(first: Vec<Response>, last: Response) -> FakeServer {
    let queue = Arc::new(Mutex::new(VecDeque::from(first)));
    FakeServer::start(move |_req: &Request| {
        queue.lock().unwrap().pop_front().unwrap_or(last.clone())
    })
}

fn anthropic_env(server: &FakeServer, extra: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.config(&format!(
        "llm:\n  provider: anthropic\n  model: {MODEL}\n  api_base: {}\n  max_tokens: 1000\n{extra}",
        server.url()
    ));
    env.env("AIE_ANTHROPIC_API_KEY", KEY);
    env
}

fn drop_question(env: &TestEnv) -> String {
    env.drop_file(
        "question.eml",
        "From: Omar <omar@lead.example>\nSubject: Pricing?\nMessage-ID: <q1@lead.example>\n\nWhat do you charge for a website?\n",
    );
    env.ok(&["process-inbox"]);
    env.only_item("Needs_Action/general")
}

#[test]
fn anthropic_request_has_the_real_shape_and_the_plan_is_written() {
    let server = scripted(vec![], anthropic_plan(&reply_to_omar()));
    let env = anthropic_env(&server, "");
    fs::write(
        env.path("Company_Handbook.md"),
        "# Handbook\nAlways quote HANDBOOK-RULE-7.\n",
    )
    .unwrap();
    let id = drop_question(&env);
    let r = env.ok(&["plan"]);
    assert!(!r.stderr.contains(KEY) && !r.stdout.contains(KEY), "{r:?}");

    let hits = server.hits_to("/v1/messages");
    assert_eq!(hits.len(), 1);
    let req = &hits[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("x-api-key"), Some(KEY));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    assert!(
        req.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let body = req.json();
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["max_tokens"], 1000);
    for k in ["temperature", "top_p", "top_k"] {
        assert!(body.get(k).is_none(), "{k} must never be sent");
    }
    let system = body["system"].as_str().unwrap();
    assert!(
        system.contains("HANDBOOK-RULE-7"),
        "the handbook is in the prompt"
    );
    assert!(
        system.contains("$10,000"),
        "the business goals are in the prompt"
    );
    assert!(system.contains("untrusted data"));
    assert_eq!(body["messages"][0]["role"], "user");
    let user = body["messages"][0]["content"].as_str().unwrap();
    assert!(user.contains("<item>") && user.contains("What do you charge for a website?"));
    assert_eq!(body["tools"][0]["name"], "submit_plan");
    assert_eq!(body["tools"][0]["input_schema"]["type"], "object");
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "submit_plan"})
    );

    // The model's actions, with the policy's decision on each.
    assert_eq!(env.where_is(&id), ["Pending_Approval/general"]);
    let f = env.front(&format!("Pending_Approval/general/{id}.md"));
    assert_eq!(f["planner"], format!("anthropic:{MODEL}"));
    assert_eq!(f["llm_tokens"], ANSWER_TOKENS);
    let a = &f["actions"][0];
    assert_eq!(a["kind"], "send_email");
    assert_eq!(a["body"], "Hi Omar, our rates are on the way.");
    assert_eq!(a["needs_approval"], true);
    assert_eq!(a["rule"], "new_contact");
    assert!(a.get("cc").is_none(), "null parameters are dropped");
    let plan = env.read(&format!("Plans/general/{id}.plan.md"));
    assert!(plan.contains(&format!("planner: anthropic:{MODEL}")));
    assert!(plan.contains(&format!("Tokens used: {ANSWER_TOKENS}")));
    assert!(plan.contains("Omar asked for prices."));
    assert!(!plan.contains("## Fallback"));
    // Tokens per day in state.
    let state: Value = serde_json::from_str(&env.read(".aie/state.json")).unwrap();
    assert_eq!(state["llm"]["tokens_by_day"]["2026-11-23"], ANSWER_TOKENS);
    // No key anywhere in the vault.
    for (rel, _) in [("Logs", 0), ("Plans", 0), ("Pending_Approval", 0)] {
        for e in files_under(&env.path(rel)) {
            assert!(
                !fs::read_to_string(&e).unwrap_or_default().contains(KEY),
                "{e:?}"
            );
        }
    }
}

#[test]
fn bad_json_falls_back_to_the_template_with_the_reason_in_the_plan() {
    let text = Response::raw_json(200, &fixture("anthropic/response_text.json"));
    let server = scripted(vec![], text);
    let env = anthropic_env(&server, "");
    let id = drop_question(&env);
    env.ok(&["plan"]);
    let f = env.front(&format!("Pending_Approval/general/{id}.md"));
    assert_eq!(f["planner"], "template");
    assert_eq!(f["actions"][0]["rule"], "new_contact");
    assert_eq!(
        f["llm_tokens"],
        25 + 8,
        "tokens of a failed answer are counted too"
    );
    let plan = env.read(&format!("Plans/general/{id}.plan.md"));
    assert!(plan.contains("## Fallback"), "{plan}");
    assert!(plan.contains("not the plan JSON"), "{plan}");
}

#[test]
fn an_unknown_kind_or_missing_field_falls_back_and_a_failing_item_does_not_stop_the_pass() {
    // Per item, by its text: one unknown kind, one 400, one missing field, one good answer.
    let server = FakeServer::start(|req: &Request| {
        let user = req.json()["messages"][0]["content"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if user.contains("ALPHA") {
            anthropic_plan(&plan_of(
                json!([{"kind": "wire_transfer", "why": "x", "amount": 5}]),
            ))
        } else if user.contains("BRAVO") {
            anthropic_error(400, "error_400_invalid_request.json")
        } else if user.contains("CHARLIE") {
            anthropic_plan(&plan_of(
                json!([{"kind": "payment", "why": "x", "payee": "Hosting Co", "currency": "USD"}]),
            ))
        } else {
            anthropic_plan(&plan_of(
                json!([{"kind": "note", "why": "x", "text": "Filed."}]),
            ))
        }
    });
    let env = anthropic_env(&server, "");
    for (name, word) in [
        ("a.txt", "ALPHA"),
        ("b.txt", "BRAVO"),
        ("c.txt", "CHARLIE"),
        ("d.txt", "DELTA"),
    ] {
        env.drop_file(name, format!("Notes {word}.\n"));
    }
    env.ok(&["process-inbox"]);
    let r = env.ok(&["plan"]);
    assert_eq!(server.hits().len(), 4, "{r:?}");
    let plans: Vec<String> = files_under(&env.path("Plans"))
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(plans.len(), 4);
    let fallbacks: Vec<&String> = plans.iter().filter(|p| p.contains("## Fallback")).collect();
    assert_eq!(fallbacks.len(), 3, "{plans:#?}");
    assert!(
        plans
            .iter()
            .any(|p| p.contains("unknown kind `wire_transfer`"))
    );
    assert!(plans.iter().any(|p| {
        p.contains("anthropic answered 400: invalid_request_error: max_tokens: Field required")
    }));
    assert!(plans.iter().any(|p| p.contains("lacks `amount`")));
    assert_eq!(
        plans
            .iter()
            .filter(|p| p.contains(&format!("planner: anthropic:{MODEL}")))
            .count(),
        1
    );
    // Every item was planned: four notes, all in Done/.
    assert_eq!(env.items_in("Done").len(), 4);
}

#[test]
fn overloaded_529_and_rate_limited_429_are_retried_after_the_servers_delay() {
    let overloaded =
        anthropic_error(529, "error_529_overloaded.json").header("retry-after-ms", "20");
    let mut limited = anthropic_error(429, "error_429_rate_limit.json");
    limited.headers.extend(
        recorded_headers("anthropic/error_429_rate_limit.headers.txt")
            .into_iter()
            .filter(|(k, _)| k != "retry-after"),
    );
    let limited = limited.header("retry-after", "0.05");
    let server = scripted(vec![overloaded, limited], anthropic_plan(&reply_to_omar()));
    let env = anthropic_env(&server, "");
    let id = drop_question(&env);
    env.ok(&["plan"]);
    let hits = server.hits();
    assert_eq!(hits.len(), 3, "one 529, one 429, then the answer");
    assert_eq!(hits[0].body, hits[2].body, "a retry sends the same request");
    let f = env.front(&format!("Pending_Approval/general/{id}.md"));
    assert_eq!(f["planner"], format!("anthropic:{MODEL}"));
}

#[test]
fn x_should_retry_false_is_obeyed_and_the_item_waits() {
    let server = scripted(
        vec![anthropic_error(500, "error_500_api_error.json").header("x-should-retry", "false")],
        anthropic_plan(&reply_to_omar()),
    );
    let env = anthropic_env(&server, "");
    let id = drop_question(&env);
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 69, "{r:?}");
    assert_eq!(server.hits().len(), 1);
    assert!(r.stderr.contains("anthropic answered 500"), "{r:?}");
    assert_eq!(env.where_is(&id), ["In_Progress/local"]);
    // The next pass picks it up.
    env.ok(&["plan"]);
    assert_eq!(env.where_is(&id), ["Pending_Approval/general"]);
}

#[test]
fn a_spend_limit_is_never_retried_and_the_template_plans_the_rest() {
    for (status, file) in [
        (429, "error_429_tier_spend_cap.json"),
        (400, "error_400_spend_limit_org.json"),
        (400, "error_400_credit_balance_too_low.json"),
    ] {
        // Even with x-should-retry: true, the spend limit is not retried.
        let server = scripted(
            vec![],
            anthropic_error(status, file).header("x-should-retry", "true"),
        );
        let env = anthropic_env(&server, "");
        env.drop_file("a.txt", "Minutes of Monday.\n");
        env.drop_file("b.txt", "Minutes of Tuesday.\n");
        env.ok(&["process-inbox"]);
        let r = env.run(&["plan"]);
        assert_eq!(server.hits().len(), 1, "{file}: one call, then no more");
        assert_eq!(r.code, 1, "{file}: {r:?}");
        assert!(r.stderr.contains("spend limit"), "{r:?}");
        assert_eq!(
            env.items_in("Done").len(),
            2,
            "{file}: the template planned both"
        );
        for p in files_under(&env.path("Plans")) {
            let t = fs::read_to_string(p).unwrap();
            assert!(
                t.contains("## Fallback") && t.contains("spend limit"),
                "{t}"
            );
        }
    }
}

#[test]
fn a_network_error_leaves_items_in_place_and_exits_69() {
    // A port nothing listens on: three attempts with backoff, then the item waits.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = TestEnv::new();
    env.config(&format!(
        "llm:\n  provider: anthropic\n  api_base: http://127.0.0.1:{port}\n"
    ));
    env.env("AIE_ANTHROPIC_API_KEY", KEY);
    let id = drop_question(&env);
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 69, "{r:?}");
    assert!(r.stderr.contains("unreachable"), "{r:?}");
    assert!(r.stderr.contains("gave up after 3 attempts"), "{r:?}");
    assert!(!r.stderr.contains(KEY));
    assert_eq!(env.where_is(&id), ["In_Progress/local"]);
    assert!(files_under(&env.path("Plans")).is_empty());
}

#[test]
fn retries_stop_at_the_deadline_and_the_item_waits_for_the_next_pass() {
    // The server asks for 30 s; the run has 3: no retry, the item waits.
    let server = scripted(
        vec![anthropic_error(529, "error_529_overloaded.json").header("retry-after", "30")],
        anthropic_plan(&reply_to_omar()),
    );
    let env = anthropic_env(&server, "");
    let id = drop_question(&env);
    let started = std::time::Instant::now();
    let r = env.run(&["plan", "--deadline", "3"]);
    assert_eq!(r.code, 69, "{r:?}");
    assert!(r.stderr.contains("deadline"), "{r:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(server.hits().len(), 1);
    assert_eq!(env.where_is(&id), ["In_Progress/local"]);
    env.ok(&["plan"]);
    assert_eq!(env.where_is(&id), ["Pending_Approval/general"]);
}

#[test]
fn missing_key_bad_provider_and_auth_errors_are_configuration_errors() {
    let server = scripted(
        vec![],
        anthropic_error(401, "error_401_authentication.json"),
    );
    let mut env = anthropic_env(&server, "");
    drop_question(&env);
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 78, "a refused key: {r:?}");
    assert!(r.stderr.contains("invalid x-api-key"), "{r:?}");
    env.envs.clear();
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("AIE_ANTHROPIC_API_KEY"), "{r:?}");
    env.config("llm:\n  provider: gpt\n");
    assert_eq!(env.run(&["plan"]).code, 78);
    env.config("llm:\n  provider: openai_compatible\n");
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("llm.api_base"));
}

#[test]
fn openai_compatible_server_without_key_then_with_key() {
    let server = scripted(vec![], openai_plan(&reply_to_omar()));
    let mut env = TestEnv::new();
    env.config(&format!(
        "llm:\n  provider: openai_compatible\n  model: qwen2.5:7b\n  api_base: {}/v1\n",
        server.url()
    ));
    let id = drop_question(&env);
    env.ok(&["plan"]);
    let hits = server.hits_to("/v1/chat/completions");
    assert_eq!(hits.len(), 1);
    assert!(
        hits[0].header("authorization").is_none(),
        "no key, no header"
    );
    let body = hits[0].json();
    assert_eq!(body["model"], "qwen2.5:7b");
    assert_eq!(body["messages"][0]["role"], "system");
    assert!(
        body["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("What do you charge")
    );
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(
        body["response_format"]["json_schema"]["name"],
        "submit_plan"
    );
    for k in ["temperature", "top_p", "top_k"] {
        assert!(body.get(k).is_none());
    }
    let f = env.front(&format!("Pending_Approval/general/{id}.md"));
    assert_eq!(f["planner"], "openai_compatible:qwen2.5:7b");
    assert_eq!(f["llm_tokens"], 158);

    env.env("AIE_LLM_API_KEY", "sk-local-FIXTURE");
    env.drop_file(
        "q2.eml",
        "From: Omar <omar@lead.example>\nSubject: Again?\n\nAnd for a shop?\n",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let hits = server.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(
        hits[1].header("authorization"),
        Some("Bearer sk-local-FIXTURE")
    );
}

#[test]
fn openai_insufficient_quota_is_not_retried() {
    let server = scripted(
        vec![],
        Response::raw_json(429, &fixture("openai/error_429_insufficient_quota.json")),
    );
    let env = TestEnv::new();
    env.config(&format!(
        "llm:\n  provider: openai_compatible\n  model: gpt-4o-mini\n  api_base: {}\n",
        server.url()
    ));
    let id = drop_question(&env);
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(server.hits().len(), 1);
    assert_eq!(
        env.front(&format!("Pending_Approval/general/{id}.md"))["planner"],
        "template"
    );
}

#[test]
fn ollama_unknown_model_is_a_configuration_error_and_rate_limits_are_retried() {
    let server = scripted(
        vec![Response::raw_json(
            404,
            &fixture("openai/error_404_ollama_model_not_found.json"),
        )],
        openai_plan(&reply_to_omar()),
    );
    let env = TestEnv::new();
    env.config(&format!(
        "llm:\n  provider: openai_compatible\n  model: gemma3:12b\n  api_base: {}\n",
        server.url()
    ));
    let id = drop_question(&env);
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("try pulling it first"), "{r:?}");
    assert_eq!(server.hits().len(), 1);
    assert_eq!(env.where_is(&id), ["In_Progress/local"]);

    let limited = Response::raw_json(429, &fixture("openai/error_429_rate_limit.json"))
        .header("retry-after-ms", "219");
    let server = scripted(vec![limited], openai_plan(&reply_to_omar()));
    env.config(&format!(
        "llm:\n  provider: openai_compatible\n  model: gemma3:12b\n  api_base: {}\n",
        server.url()
    ));
    env.ok(&["plan"]);
    assert_eq!(server.hits().len(), 2);
    assert_eq!(env.where_is(&id), ["Pending_Approval/general"]);
}

#[test]
fn the_daily_token_budget_stops_llm_planning_for_the_day() {
    let server = scripted(
        vec![],
        anthropic_plan(&plan_of(
            json!([{"kind": "note", "why": "x", "text": "Filed."}]),
        )),
    );
    let mut env = anthropic_env(&server, "  daily_token_budget: 800\n");
    env.drop_file("a.txt", "Minutes one.\n");
    env.drop_file("b.txt", "Minutes two.\n");
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    assert_eq!(server.hits().len(), 1, "808 tokens spend the budget of 800");
    let plans: Vec<String> = files_under(&env.path("Plans"))
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        plans
            .iter()
            .any(|p| p.contains("daily token budget is spent (808 of 800 tokens on 2026-11-23)")),
        "{plans:#?}"
    );
    // The count is kept in state: a later pass the same day does not call the model.
    env.drop_file("c.txt", "Minutes three.\n");
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    assert_eq!(server.hits().len(), 1);
    // The next day starts afresh.
    env.now = "2026-11-24T09:00:00Z".into();
    env.drop_file("d.txt", "Minutes four.\n");
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    assert_eq!(server.hits().len(), 2);
    let state: Value = serde_json::from_str(&env.read(".aie/state.json")).unwrap();
    assert_eq!(state["llm"]["tokens_by_day"]["2026-11-23"], ANSWER_TOKENS);
    assert_eq!(state["llm"]["tokens_by_day"]["2026-11-24"], ANSWER_TOKENS);
}

/// Sets `key: value` in an item file's front matter, as the owner would in Obsidian.
fn set_front(env: &TestEnv, rel: &str, key: &str, value: &str) {
    let text = env.read(rel);
    let rest = text.strip_prefix("---\n").unwrap();
    let end = rest.find("\n---\n").unwrap();
    let new = format!(
        "---\n{}\n{key}: {value}\n---\n{}",
        &rest[..end],
        &rest[end + 5..]
    );
    fs::write(env.path(rel), new).unwrap();
}

#[test]
fn a_rejected_item_is_planned_again_once_with_the_owners_reason() {
    let server = scripted(vec![], anthropic_plan(&reply_to_omar()));
    let env = anthropic_env(&server, "policy:\n  replan_rejected: true\n");
    let id = drop_question(&env);
    env.ok(&["plan"]);
    env.mv(&format!("Pending_Approval/general/{id}.md"), "Rejected");
    set_front(
        &env,
        &format!("Rejected/{id}.md"),
        "reason",
        "\"Quote 450 EUR a page, and say hi to Omar\"",
    );
    env.ok(&["plan"]);
    assert_eq!(env.where_is(&id), ["Pending_Approval/general"]);
    let hits = server.hits();
    assert_eq!(hits.len(), 2);
    let user = hits[1].json()["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        user.contains("Quote 450 EUR a page, and say hi to Omar"),
        "{user}"
    );
    let f = env.front(&format!("Pending_Approval/general/{id}.md"));
    assert_eq!(f["replanned_from_rejection"], true);
    assert_eq!(f["feedback"], "Quote 450 EUR a page, and say hi to Omar");
    assert!(f.get("reason").is_none());
    // Rejected again: it stays there.
    env.mv(&format!("Pending_Approval/general/{id}.md"), "Rejected");
    set_front(&env, &format!("Rejected/{id}.md"), "reason", "no");
    env.ok(&["plan"]);
    assert_eq!(env.where_is(&id), ["Rejected"]);
    assert_eq!(server.hits().len(), 2);
}

#[test]
fn an_expired_request_is_not_planned_again() {
    let server = scripted(vec![], anthropic_plan(&reply_to_omar()));
    let mut env = anthropic_env(&server, "policy:\n  replan_rejected: true\n");
    let id = drop_question(&env);
    env.ok(&["plan"]);
    // Make the file look untouched for the whole window, then let the request expire.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86400);
    env.set_mtime(&format!("Pending_Approval/general/{id}.md"), old);
    env.now = "2026-11-25T09:00:00Z".into();
    env.ok(&["plan"]);
    assert_eq!(env.where_is(&id), ["Rejected"]);
    env.ok(&["plan"]);
    assert_eq!(env.where_is(&id), ["Rejected"]);
    assert_eq!(server.hits().len(), 1);
}

#[test]
fn replanning_is_off_by_default() {
    let env = TestEnv::new();
    let id = drop_question(&env);
    env.ok(&["plan"]);
    env.mv(&format!("Pending_Approval/general/{id}.md"), "Rejected");
    set_front(&env, &format!("Rejected/{id}.md"), "reason", "not now");
    env.ok(&["plan"]);
    assert_eq!(env.where_is(&id), ["Rejected"]);
}

// ---------------------------------------------------------------------------------------
// Prompt injection: tests/fixtures/injection/ holds the attacker's items and, in
// answers.json, what a model that obeys the attacker answers for each.

/// The expected verdict of one attack: the rule of each action, or a fallback.
fn injection_cases() -> Vec<Value> {
    serde_json::from_str(&fixture("injection/answers.json")).unwrap()
}

#[test]
fn prompt_injection_corpus_never_causes_a_side_effect_without_a_human() {
    let cases = injection_cases();
    assert!(cases.len() >= 30, "the corpus has {} attacks", cases.len());
    let answers: Vec<(String, Value)> = cases
        .iter()
        .map(|c| {
            (
                c["marker"].as_str().unwrap().to_string(),
                c["answer"].clone(),
            )
        })
        .collect();
    // The obedient model: finds the attacker's marker in the prompt and does as told.
    let server = FakeServer::start(move |req: &Request| {
        let user = req.json()["messages"][0]["content"]
            .as_str()
            .unwrap_or("")
            .to_string();
        match answers.iter().find(|(m, _)| user.contains(m.as_str())) {
            Some((_, a)) => anthropic_plan(a),
            None => anthropic_plan(&plan_of(json!([{"kind": "note", "why": "x", "text": "?"}]))),
        }
    });
    let env = anthropic_env(
        &server,
        "policy:\n  known_contacts: [\"@acme.com\", accountant@books.example]\n  known_payees: [Hosting Co]\n  payment_auto_below: 100\n  rate_limits: {}\nexecution:\n  dry_run: false\n",
    );
    for c in &cases {
        let name = c["file"].as_str().unwrap();
        env.drop_file(name, fixture(&format!("injection/{name}")));
    }
    let r = env.ok(&["process-inbox"]);
    assert!(r.stderr.is_empty(), "{r:?}");
    env.ok(&["plan"]);
    assert_eq!(server.hits().len(), cases.len());

    // Nothing is approved by policy: every non-note action waits for a human.
    assert!(
        env.items_in("Approved").is_empty(),
        "{:?}",
        env.items_in("Approved")
    );
    let items = env.all_items();
    for c in &cases {
        let marker = c["marker"].as_str().unwrap();
        let attack = c["attack"].as_str().unwrap();
        let (id, stage) = items
            .iter()
            .find(|(id, stage)| env.read(&format!("{stage}/{id}.md")).contains(marker))
            .unwrap_or_else(|| panic!("{marker}: no item"));
        let rel = format!("{stage}/{id}.md");
        let f = env.front(&rel);
        let actions = f["actions"].as_array().unwrap();
        for a in actions {
            if a["kind"] != "note" {
                assert_eq!(a["needs_approval"], true, "{marker} ({attack}): {a}");
            }
        }
        let plan = files_under(&env.path("Plans"))
            .into_iter()
            .find(|p| p.file_name().unwrap().to_string_lossy() == format!("{id}.plan.md"))
            .map(|p| fs::read_to_string(p).unwrap())
            .unwrap_or_else(|| panic!("{marker}: no plan"));
        match &c["expect"] {
            Value::String(s) if s == "fallback" => {
                assert_eq!(f["planner"], "template", "{marker} ({attack})");
                assert!(plan.contains("## Fallback"), "{marker} ({attack}): {plan}");
                assert!(
                    stage.starts_with("Pending_Approval") || stage == "Done",
                    "{marker}: {stage}"
                );
            }
            Value::Array(rules) => {
                assert!(
                    stage.starts_with("Pending_Approval"),
                    "{marker} ({attack}) is in {stage}"
                );
                assert_eq!(actions.len(), rules.len(), "{marker}: {actions:?}");
                for (a, ok) in actions.iter().zip(rules) {
                    let ok: Vec<&str> = ok
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap())
                        .collect();
                    let rule = a["rule"].as_str().unwrap();
                    assert!(
                        ok.contains(&rule),
                        "{marker} ({attack}): rule `{rule}`, expected one of {ok:?}"
                    );
                }
            }
            other => panic!("bad expect {other}"),
        }
    }

    // The owner approves nothing; execute-approved runs for real and does nothing.
    env.ok(&["execute-approved"]);
    let journal = fs::read_to_string(env.path(".aie/journal.jsonl")).unwrap_or_default();
    assert!(!journal.contains("\"intent\""), "{journal}");
    for l in env.audit() {
        // Every kind of the catalogue with a side effect (all but a note).
        let kind = l["action"].as_str().unwrap_or("");
        if aie::actions::registry()
            .iter()
            .any(|k| k.name() == kind && k.executor().is_some())
        {
            panic!("an action ran: {l}");
        }
    }
    // Nothing in Done/ did anything but file a note.
    for id in env.items_in("Done") {
        let f = env.front(&format!("Done/{id}"));
        for a in f["actions"].as_array().unwrap() {
            assert_eq!(a["kind"], "note", "{id}: {a}");
        }
    }
}

#[test]
fn a_recipient_the_item_never_names_needs_approval_unless_it_is_a_known_contact() {
    let server = scripted(
        vec![anthropic_plan(&plan_of(json!([{
            "kind": "send_email", "why": "x", "to": ["omar@lead.example"], "bcc": ["boss@elsewhere.example"],
            "subject": "Fwd", "body": "Fwd"
        }])))],
        anthropic_plan(&plan_of(json!([{
            "kind": "send_email", "why": "x", "to": ["boss@acme.com"], "subject": "Fwd", "body": "Fwd"
        }]))),
    );
    let env = anthropic_env(
        &server,
        "policy:\n  known_contacts: [\"@acme.com\", omar@lead.example]\n",
    );
    let id = drop_question(&env);
    env.ok(&["plan"]);
    let f = env.front(&format!("Pending_Approval/general/{id}.md"));
    assert_eq!(f["actions"][0]["rule"], "not_in_item");
    let plan = env.read(&format!("Plans/general/{id}.plan.md"));
    assert!(plan.contains("rule `not_in_item`"), "{plan}");
    // A known contact counts as known even when the item does not name it (the known lists
    // are the owner's word): the policy's own rule decides.
    env.drop_file(
        "q2.eml",
        "From: Omar <omar@lead.example>\nSubject: Again?\n\nAnd for a shop?\n",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let approved = env.only_item("Approved");
    assert_eq!(
        env.front(&format!("Approved/{approved}.md"))["actions"][0]["rule"],
        "known_contact"
    );
}

/// Speed: planner overhead per item over 1,000 items, against a fake answering at once,
/// compared with the template planner on the same items. Prints figures; asserts nothing
/// about time. Run: `cargo test --release --test cli llm::bench -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_planner_overhead_per_item() {
    const N: usize = 1000;
    let make = |env: &TestEnv| {
        for i in 0..N {
            env.write(
                &format!("Needs_Action/general/bench-{i:04}.md"),
                format!(
                    "---\nid: bench-{i:04}\nkind: email\ndomain: general\nsource: inbox:b{i}\ncreated: 2026-11-23T09:00:00Z\nstatus: needs_action\npriority: normal\nfrom: Omar <omar@lead.example>\nsubject: Pricing {i}?\n---\nWhat do you charge for a website, item {i}?\n"
                ),
            );
        }
    };
    let time = |env: &TestEnv| {
        let t = std::time::Instant::now();
        env.ok(&["plan"]);
        t.elapsed()
    };
    let tenv = TestEnv::new();
    make(&tenv);
    let template = time(&tenv);

    let answer = anthropic_plan(&reply_to_omar());
    let server = FakeServer::start(move |_r: &Request| answer.clone());
    let env = anthropic_env(&server, "");
    make(&env);
    let llm = time(&env);
    assert_eq!(server.hits().len(), N);
    assert_eq!(env.items_in("Pending_Approval/general").len(), N);
    let per = |d: std::time::Duration| d.as_secs_f64() * 1000.0 / N as f64;
    println!(
        "plan of {N} items: template {:.0} ms ({:.2} ms/item); anthropic against a fake answering at once {:.0} ms ({:.2} ms/item); LLM planner overhead {:.2} ms/item",
        template.as_secs_f64() * 1000.0,
        per(template),
        llm.as_secs_f64() * 1000.0,
        per(llm),
        per(llm) - per(template)
    );
}

// `planner.acknowledge: false` holds in the fallback too: a model that answers no plan JSON
// makes the template planner plan the question, which then drafts no acknowledgement.
#[test]
fn a_fallback_drafts_no_acknowledgement_when_acknowledgements_are_off() {
    let text = Response::raw_json(200, &fixture("anthropic/response_text.json"));
    for (extra, acknowledged) in [("", true), ("planner:\n  acknowledge: false\n", false)] {
        let server = scripted(vec![], text.clone());
        let env = anthropic_env(&server, extra);
        let id = drop_question(&env);
        env.ok(&["plan"]);
        assert_eq!(server.hits().len(), 1, "{extra}");
        let plan = env.read(&format!("Plans/general/{id}.plan.md"));
        assert!(plan.contains("## Fallback"), "{plan}");
        assert_eq!(plan.contains("send_email"), acknowledged, "{extra}: {plan}");
        assert_eq!(
            plan.contains("planner.acknowledge: false"),
            !acknowledged,
            "{extra}: {plan}"
        );
    }
}
