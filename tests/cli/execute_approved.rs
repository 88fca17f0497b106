//! `aie execute-approved`: the approval gate and execution (dry run, forged or unknown
//! actions, draft-only agents, rate limits).

use crate::support::TestEnv;
use std::fs;

#[test]
fn an_item_dropped_straight_into_approved_goes_back_for_review() {
    let mut env = TestEnv::new();
    env.config("execution:\n  dry_run: false\n");
    env.write(
        "Approved/sneaky.md",
        "---\nid: sneaky\nkind: file\ndomain: accounting\nsource: inbox:x\ncreated: 2026-11-23T08:00:00Z\nstatus: approved\npriority: high\nactions:\n- kind: payment\n  payee: Mallory\n  amount: 9000\n  currency: USD\n  needs_approval: false\n  rule: forged\n---\nbody\n",
    );
    env.env("AIE_LOG", "warn");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("sneaky"), "{r:?}");
    assert_eq!(env.where_is("sneaky"), ["Pending_Approval/accounting"]);
    let f = env.front("Pending_Approval/accounting/sneaky.md");
    assert!(
        f["review"]
            .as_str()
            .unwrap()
            .contains("never sent this item for approval")
    );
    assert!(
        !env.path(".aie/journal.jsonl").exists(),
        "nothing may have been attempted"
    );
    let ledger = env.approvals();
    assert_eq!(ledger.last().unwrap()["event"], "review");
    // Returned for review counts as a request: the owner may now approve it.
    env.mv("Pending_Approval/accounting/sneaky.md", "Approved");
    let r = env.run(&["execute-approved"]);
    // No Odoo connector on this build: the payment is not configured, so it comes back again.
    assert_eq!(r.code, 1, "{r:?}");
    let f = env.front("Pending_Approval/accounting/sneaky.md");
    // Issue 14: the note names the aie.yaml section to fill in.
    assert!(
        f["review"]
            .as_str()
            .unwrap()
            .contains("fill in the `odoo:` section"),
        "{f}"
    );
}

/// A payment dropped in the Inbox, filed and planned: its id and its request's path.
fn payment_request(env: &TestEnv) -> (String, String) {
    let id = env.request(
        "pay.txt",
        "Please pay Hosting Co $49 monthly subscription payment",
        "accounting",
    );
    let rel = format!("Pending_Approval/accounting/{id}.md");
    (id, rel)
}

/// The owner deleted the `actions` property (Obsidian shows it as an odd text property): the
/// plan was dropped without a word, the summary read "If approved, aie will ." and the
/// approved item went to Done/ with nothing run.
#[test]
fn a_request_whose_actions_property_was_deleted_is_never_done_unrun() {
    let env = TestEnv::new();
    let (id, rel) = payment_request(&env);
    let text = env.read(&rel);
    assert!(text.contains("\nactions: \"## Actions\"\n"), "{text}");
    fs::write(
        env.path(&rel),
        text.replace("\nactions: \"## Actions\"\n", "\n"),
    )
    .unwrap();
    // The next pass tells the owner in the summary, instead of an empty promise.
    env.ok(&["plan"]);
    let summary = env.front(&rel)["summary"].as_str().unwrap().to_string();
    assert!(summary.contains("no `actions` property"), "{summary}");
    env.ok(&["approve", &id]);
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(env.where_is(&id), ["Pending_Approval/accounting"]);
    let review = env.front(&rel)["review"].as_str().unwrap().to_string();
    assert!(review.contains("`actions: \"## Actions\"`"), "{review}");
    assert!(!env.path(".aie/journal.jsonl").exists(), "nothing ran");
    // The plan is still in the body: putting the line back brings it back.
    assert!(env.read(&rel).contains("```yaml aie-actions\n"));
}

#[test]
fn an_unknown_action_kind_in_approved_is_refused() {
    let env = TestEnv::new();
    let (id, rel) = payment_request(&env);
    // The owner (or an attacker with vault access) adds an action outside the closed list.
    let text = env.read(&rel).replace(
        "```yaml aie-actions\n",
        "```yaml aie-actions\n- kind: wire_transfer\n  iban: XX00\n",
    );
    fs::write(env.path(&rel), text).unwrap();
    env.mv(&rel, "Approved");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("wire_transfer"), "{r:?}");
    assert_eq!(env.where_is(&id), ["Pending_Approval/accounting"]);
    let f = env.front(&rel);
    assert_eq!(f["actions"][0]["result"], "refused");
    assert!(
        env.audit()
            .iter()
            .any(|l| l["action"] == "wire_transfer" && l["result"] == "refused")
    );
}

#[test]
fn policy_approved_items_run_in_dry_run_once_and_stay() {
    let env = TestEnv::new();
    env.config("policy:\n  known_payees: [Hosting Co]\n");
    env.drop_file(
        "hosting.txt",
        "Please pay Hosting Co $49 for the monthly server payment",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let id = env.only_item("Approved");
    let f = env.front(&format!("Approved/{id}.md"));
    assert_eq!(f["approved_by"], "policy:recurring_known_payee_small");
    assert_eq!(env.approvals()[0]["event"], "policy");
    let r = env.ok(&["execute-approved"]);
    assert!(r.stdout.contains("Record a payment of 49"), "{r:?}");
    assert_eq!(env.where_is(&id), ["Approved"]);
    assert_eq!(
        env.front(&format!("Approved/{id}.md"))["actions"][0]["result"],
        "dry_run"
    );
    let dry = |env: &TestEnv| {
        env.audit()
            .iter()
            .filter(|l| l["result"] == "dry_run")
            .count()
    };
    assert_eq!(dry(&env), 1);
    // Once per action identity, not on every pass.
    let r = env.ok(&["execute-approved"]);
    assert!(!r.stdout.contains("Record a payment"), "{r:?}");
    assert_eq!(dry(&env), 1);
    assert!(
        !env.path(".aie/journal.jsonl").exists(),
        "dry-run writes no journal entry"
    );
    assert!(
        env.read(&format!("Plans/accounting/{id}.plan.md"))
            .contains("Dry run")
    );
}

#[test]
fn draft_only_agent_never_executes_and_never_writes_the_dashboard() {
    let mut env = TestEnv::new();
    env.config("execution:\n  dry_run: false\npolicy:\n  known_payees: [Hosting Co]\n");
    env.env("AIE_MODE", "draft_only").env("AIE_AGENT", "cloud");
    let dash = env.read("Dashboard.md");
    env.drop_file(
        "hosting.txt",
        "Please pay Hosting Co $49 for the monthly server payment",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    assert!(env.path("In_Progress/cloud").is_dir());
    let id = env.only_item("Approved");
    let r = env.ok(&["execute-approved"]);
    assert!(r.stdout.contains("draft_only"), "{r:?}");
    assert_eq!(env.where_is(&id), ["Approved"]);
    assert!(!env.path(".aie/journal.jsonl").exists());
    assert_eq!(env.read("Dashboard.md"), dash);
    // It reports in Updates/ instead.
    assert!(env.read("Updates/cloud.md").contains("| approved | 1 |"));
}

#[test]
fn rate_limited_actions_wait_for_the_next_window_and_are_never_dropped() {
    let mut env = TestEnv::new();
    env.config("execution:\n  dry_run: false\npolicy:\n  rate_limits:\n    note: 1\n");
    for i in 0..2 {
        env.drop_file(
            &format!("q{i}.eml"),
            format!("From: Ann <ann@x.example>\nSubject: Q{i}\n\nCan you call me?\n"),
        );
    }
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    for id in env.items_in("Pending_Approval/general") {
        let rel = format!("Pending_Approval/general/{id}");
        env.set_actions(&rel, "- kind: note\n  text: done by phone\n");
        env.mv(&rel, "Approved");
    }
    let r = env.ok(&["execute-approved"]);
    assert!(
        r.stdout.contains("executed: 1") && r.stdout.contains("rate_limited: 1"),
        "{r:?}"
    );
    assert_eq!(env.items_in("Done").len(), 1);
    assert_eq!(env.items_in("Approved").len(), 1);
    // Still inside the hour: it keeps waiting.
    env.now = "2026-11-23T09:30:00Z".into();
    env.ok(&["execute-approved"]);
    assert_eq!(env.items_in("Approved").len(), 1);
    // The next window: it runs.
    env.now = "2026-11-23T10:01:00Z".into();
    env.ok(&["execute-approved"]);
    assert_eq!(env.items_in("Done").len(), 2);
}
