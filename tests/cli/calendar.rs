//! The content calendar: due posts become items approved by policy, inbound post requests
//! wait for the owner.

use crate::support::TestEnv;

#[test]
fn due_calendar_posts_run_by_policy_and_inbound_post_requests_wait() {
    let env = TestEnv::new();
    env.write(
        "Content_Calendar.md",
        "# Content Calendar\n- 2026-11-23 08:00 linkedin: We are hiring a bookkeeper!\n- 2026-12-24 08:00 x: Not due yet\n",
    );
    env.drop_file(
        "post idea.txt",
        "Please post on LinkedIn:\nPost: Buy now, limited offer!",
    );
    let r = env.ok(&["process-inbox"]);
    assert!(r.stdout.contains("calendar_posts: 1"), "{r:?}");
    env.ok(&["plan"]);
    let cal = env.only_item("Approved");
    let f = env.front(&format!("Approved/{cal}.md"));
    assert_eq!(f["approved_by"], "policy:content_calendar");
    assert_eq!(f["actions"][0]["text"], "We are hiring a bookkeeper!");
    let inbound = env.only_item("Pending_Approval/social");
    let f = env.front(&format!("Pending_Approval/social/{inbound}.md"));
    assert_eq!(f["actions"][0]["rule"], "social_not_from_calendar");
    // A calendar entry becomes an item once, not every pass.
    env.ok(&["process-inbox"]);
    assert_eq!(env.all_items().len(), 2);
}
