//! Subscriptions to review in the Monday briefing: unused longer than the goal's days, two of
//! the same kind (the `Business_Goals.md` table), and a cost up more than the goal's
//! percentage (Odoo, in `briefing.rs`). Each becomes one request per subscription per week
//! that runs nothing when approved, and is never filed twice.

use crate::support::TestEnv;
use serde_json::Value;

const GOALS: &str = "# Business Goals\n\n## Subscriptions\n- Flag any subscription unused for 30 days.\n- Flag any subscription whose cost went up by more than 20 %.\n\n| Subscription | Kind | Last used |\n|---|---|---|\n| Notion | notes | 2026-09-01 |\n| Obsidian Sync | Notes | 2026-11-21 |\n| Figma | design | 2026-11-20 |\n| Canva | video | 2026-10-23 |\n";

const NOTION: &str = "subscription-review-2026-w47-notion";
const OBSIDIAN: &str = "subscription-review-2026-w47-obsidian-sync";

fn env() -> TestEnv {
    let env = TestEnv::new();
    env.config("execution:\n  dry_run: false\n");
    env.write("Business_Goals.md", GOALS);
    env
}

#[test]
fn unused_and_same_kind_subscriptions_become_one_request_each_per_week() {
    let env = env();
    let r = env.ok(&["ceo-briefing", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["requests"], serde_json::json!([NOTION, OBSIDIAN]), "{v}");
    // Canva: 30 days before the week's end (22 Nov) is exactly the limit, not over it.
    let subs = &v["report"]["subscriptions"];
    assert_eq!(subs.as_array().unwrap().len(), 2, "{subs}");
    assert_eq!(
        subs[0]["reasons"],
        serde_json::json!([
            "unused for 82 days (last used 2026-09-01)",
            "the same kind (`notes`) as Obsidian Sync"
        ])
    );
    let text = env.read("Briefings/2026-11-23_Monday_Briefing.md");
    assert!(
        text.contains(&format!("- Review Notion: unused for 82 days (last used 2026-09-01); the same kind (`notes`) as Obsidian Sync; decide in [[{NOTION}]]")),
        "{text}"
    );
    let rel = format!("Pending_Approval/accounting/{NOTION}.md");
    let req = env.read(&rel);
    assert!(
        req.trim_end().ends_with("- [ ] Approve\n- [ ] Reject"),
        "{req}"
    );
    assert!(req.contains("aie cancels nothing"), "{req}");
    let front = env.front(&rel);
    assert_eq!(front["status"], "pending_approval");
    assert_eq!(
        front["summary"],
        "If approved, aie will file a note [needs approval]."
    );
    assert!(req.contains("Reviewed the subscription Notion"), "{req}");
    // Only notes: approving it runs nothing but filing it.
    assert!(
        !req.contains("send_email") && !req.contains("odoo"),
        "{req}"
    );
    // The same week again: nothing new, even after the owner decided.
    env.ok(&["reject", OBSIDIAN, "--reason", "keep it"]);
    let r = env.ok(&["ceo-briefing", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["requests"], serde_json::json!([]), "{v}");
    assert_eq!(env.where_is(OBSIDIAN), ["Rejected"]);
    assert_eq!(env.where_is(NOTION), ["Pending_Approval/accounting"]);
    // Approved: it goes to Done with its note, nothing else happens.
    env.ok(&["approve", NOTION]);
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(NOTION), ["Done"]);
    let done = env.read(&format!("Done/{NOTION}.md"));
    assert!(done.contains("result: ok"), "{done}");
    // The next week asks again (a new request), the owner's old decisions stay.
    let r = env.ok(&["ceo-briefing", "--week", "2026-W48", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let new = v["requests"].as_array().unwrap();
    assert!(
        new.iter()
            .any(|i| i == "subscription-review-2026-w48-notion"),
        "{v}"
    );
}

#[test]
fn stdout_only_shows_and_files_no_request() {
    let env = env();
    let r = env.ok(&["ceo-briefing", "--stdout"]);
    assert!(r.stdout.contains("Review Notion"), "{r:?}");
    assert!(env.where_is(NOTION).is_empty());
}
