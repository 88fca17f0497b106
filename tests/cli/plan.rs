//! `aie plan`: where each item goes, what it waits for, and what a bad item does to the pass;
//! the automatic acknowledgement and its switch, an invoice request planned as the invoice,
//! its posting and the mail that carries it, items saved with a byte order mark, and
//! waiting requests skipped while unchanged.

use crate::support::gmail_fake::{GmailFake, gmail_env};
use crate::support::{TestEnv, plan_the_question, seed, waiting};
use std::fs;

#[test]
fn malformed_front_matter_is_named_and_the_item_stays() {
    let env = TestEnv::new();
    let bad = "---\nid: broken\nkind: [unclosed\n---\nbody\n";
    env.write("Needs_Action/general/broken.md", bad);
    env.drop_file("fine.txt", "fine");
    env.ok(&["process-inbox"]);
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("Needs_Action/general/broken.md"), "{r:?}");
    assert_eq!(env.read("Needs_Action/general/broken.md"), bad);
    // The good item was planned all the same.
    assert_eq!(env.all_items().len(), 2);
    assert!(env.items_in("Needs_Action/general").len() == 1);
}

#[test]
fn plan_dry_run_shows_where_each_item_would_go_and_changes_nothing() {
    let env = TestEnv::new();
    env.drop_file(
        "q.eml",
        "From: Ann <ann@x.example>\nSubject: Hi\n\nCan you call me?\n",
    );
    env.drop_file("notes.txt", "Meeting notes. Nothing to do.");
    env.ok(&["process-inbox"]);
    let before = env.all_items();
    let r = env.ok(&["plan", "--dry-run"]);
    assert!(
        r.stdout.contains("Pending_Approval/general") && r.stdout.contains("new_contact"),
        "{r:?}"
    );
    assert!(r.stdout.contains("-> Done"), "{r:?}");
    assert_eq!(env.all_items(), before);
    assert!(env.approvals().is_empty());
    assert!(env.items_in("Plans/general").is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["plan", "--dry-run", "--json"]).stdout).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
}

#[test]
fn an_email_with_no_address_to_find_waits_with_missing_recipient() {
    let env = TestEnv::new();
    // A dropped note asks for an invoice but names no address: the owner must add one.
    env.drop_file(
        "invoice.txt",
        "Please invoice us for the October retainer, $2,000.\nClient: Bolt Ltd",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    // The draft runs by the policy first (here as a dry run); then the owner is asked.
    env.only_item("Approved");
    env.ok(&["execute-approved"]);
    let id = env.only_item("Pending_Approval/accounting");
    let f = env.front(&format!("Pending_Approval/accounting/{id}.md"));
    assert!(f["prepared"].as_str().unwrap().contains("dry run"), "{f}");
    let actions = f["actions"].as_array().unwrap();
    assert_eq!(actions[0]["kind"], "odoo_invoice");
    assert_eq!(actions[0]["result"], "dry_run");
    assert_eq!(actions[0]["partner"], "Bolt Ltd");
    assert_eq!(actions[1]["kind"], "odoo_post_invoice");
    assert_eq!(actions[2]["kind"], "send_email");
    assert_eq!(actions[2]["to"], serde_json::json!([]));
    assert_eq!(actions[2]["rule"], "missing_recipient");
    assert!(
        f["summary"].as_str().unwrap().contains("no recipient yet"),
        "{f}"
    );
}

// Issue 14, point 7: every question got an automatic acknowledgement, and nothing said so.
#[test]
fn the_automatic_acknowledgement_is_announced_and_can_be_turned_off() {
    let env = TestEnv::new();
    let template = std::fs::read_to_string(env.dir.path().join("vault/Dashboard.md")).unwrap();
    assert!(
        template.contains("planner.acknowledge: false"),
        "{template}"
    );
    plan_the_question(&env);
    assert_eq!(waiting(&env).len(), 1);
    assert!(env.read("Dashboard.md").contains("Acknowledgements on"));
    let env = TestEnv::new();
    env.config("planner:\n  acknowledge: false\n");
    plan_the_question(&env);
    assert!(waiting(&env).is_empty());
    let done = env.items_in("Done");
    assert_eq!(done.len(), 1);
    let item = env.read(&format!("Done/{}", done[0]));
    assert!(
        item.contains("planner.acknowledge: false") && !item.contains("send_email"),
        "{item}"
    );
    assert!(!env.read("Dashboard.md").contains("Acknowledgements on"));
}

#[test]
fn an_invoice_request_by_mail_plans_the_invoice_and_the_email_that_carries_it() {
    let fake = GmailFake::start();
    fake.add("inv1", seed("invoice request - Acme.eml"));
    let env = gmail_env(&fake, "");
    env.ok(&["poll-gmail"]);
    env.ok(&["plan"]);
    // Drafting the invoice runs by the policy (`draft_invoice`): the item is approved for
    // that much; execute-approved asks the owner for the rest once the draft exists.
    let f = env.front("Approved/gmail-inv1.md");
    assert_eq!(f["approved_by"], "policy:draft_invoice", "{f}");
    let actions = f["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 3, "{f}");
    assert_eq!(actions[0]["needs_approval"], false);
    assert_eq!(actions[1]["needs_approval"], true);
    assert_eq!(actions[2]["needs_approval"], true);
    // The invoice first, then posting it; the email runs only after both and carries the
    // posted invoice (issue 10: a client never receives a draft).
    assert_eq!(actions[0]["kind"], "odoo_invoice");
    assert_eq!(actions[0]["partner"], "Acme Corp");
    assert_eq!(actions[0]["lines"][0]["price_unit"], 1500.0);
    assert_eq!(actions[0]["ref"], "PO 4411");
    assert_eq!(actions[1]["kind"], "odoo_post_invoice");
    assert_eq!(actions[2]["kind"], "send_email");
    assert_eq!(actions[2]["to"][0], "jane@acme-corp.example");
    assert_eq!(
        actions[2]["in_reply_to"],
        "<jan-invoice-001@acme-corp.example>"
    );
    let body = actions[2]["body"].as_str().unwrap();
    assert!(
        body.contains("1,500.00 USD") && body.contains("PO 4411"),
        "{body}"
    );
}

/// Regression (finding 14): an item saved by an editor that writes a byte order mark before
/// `---` could not be read ("no front matter") and stopped in its folder.
#[test]
fn an_item_with_a_byte_order_mark_is_read() {
    let env = TestEnv::new();
    env.drop_file("a.txt", "hello\n");
    env.ok(&["process-inbox"]);
    let id = env.only_item("Needs_Action/general");
    let rel = format!("Needs_Action/general/{id}.md");
    let text = env.read(&rel);
    fs::write(env.path(&rel), format!("\u{feff}{text}")).unwrap();
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        env.where_is(&id)
            .iter()
            .all(|s| s != "Needs_Action/general"),
        "{r:?}"
    );
}

/// `plan` skips waiting requests unchanged since its last pass (issue 9, speed): an owner's
/// edit of one is still seen, and one left alone still expires on the pinned clock.
#[test]
fn unchanged_requests_are_skipped_but_edits_and_expiry_are_still_seen() {
    let mut env = TestEnv::new();
    env.drop_file(
        "q.eml",
        "From: Ann <ann@x.example>\nSubject: Hi\n\nCan you call me?\n",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    env.ok(&["plan"]);
    let id = env.only_item("Pending_Approval/general");
    let rel = format!("Pending_Approval/general/{id}.md");
    assert!(env.path(".aie/review-seen.json").exists());
    env.set_actions(&rel, "- kind: note\n  text: called her\n");
    env.ok(&["plan"]);
    assert_eq!(
        env.front_matter(&rel)["summary"],
        "If approved, aie will file a note [needs approval]."
    );
    env.env("AIE_NOW", "2026-12-31T00:00:00Z");
    env.ok(&["plan"]);
    assert_eq!(env.where_is(&id), ["Rejected"]);
}
