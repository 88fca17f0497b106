//! `aie plan`: where each item goes, what it waits for, and what a bad item does to the pass.

use crate::support::TestEnv;

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
