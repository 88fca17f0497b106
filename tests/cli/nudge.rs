//! Nudges at the end of `plan`: one digest mail (aiosmtpd) listing the requests older than
//! `policy.nudge_after` with what each will do; none again within `policy.nudge_every`; none
//! in `policy.quiet_hours`.

use crate::support::TestEnv;
use crate::support::smtp::SmtpServer;

fn request(env: &TestEnv, id: &str, requested: &str) {
    env.write(
        &format!("Pending_Approval/email/{id}.md"),
        format!("---\nid: {id}\nkind: email\ndomain: email\nsource: inbox:{id}.eml\ncreated: {requested}\nstatus: pending_approval\npriority: normal\nrequested: {requested}\nexpires: 2026-11-24T08:00:00Z\nactions: \"## Actions\"\n---\nbody\n\n## Actions\n```yaml aie-actions\n- kind: send_email\n  to: [ann@x.example]\n  subject: Quote {id}\n  body: Here it is\n  needs_approval: true\n  rule: unknown_recipient\n```\n"),
    );
}

#[test]
fn one_digest_lists_old_requests_then_waits_and_keeps_quiet_at_night() {
    let server = SmtpServer::start("plain", &[]);
    let mut env = TestEnv::new();
    env.write(
        "aie.yaml",
        format!(
            "timezone: UTC\nowner:\n  name: Sam Owner\n  email: sam@owner.example\npolicy:\n  quiet_hours: \"22:00-07:00\"\n{}",
            server.config("none", false)
        ),
    );
    request(&env, "old1", "2026-11-23T03:00:00Z");
    request(&env, "new1", "2026-11-23T08:00:00Z");
    env.ok(&["plan"]);
    let msgs = server.messages();
    assert_eq!(msgs.len(), 1, "one digest");
    let text = msgs[0].parsed().body_text(0).unwrap().to_string();
    assert!(text.contains("old1 (waiting 6 h"), "{text}");
    assert!(
        text.contains("ann@x.example") && text.contains("Quote old1"),
        "{text}"
    );
    assert!(!text.contains("new1"), "{text}");
    // Within nudge_every (4h): nothing more.
    env.now = String::from("2026-11-23T12:00:00Z");
    env.ok(&["plan"]);
    assert_eq!(server.messages().len(), 1);
    // Night: quiet.
    env.now = String::from("2026-11-23T23:00:00Z");
    env.ok(&["plan"]);
    assert_eq!(server.messages().len(), 1);
    // Morning: the next digest, with both.
    env.now = String::from("2026-11-24T07:30:00Z");
    env.ok(&["plan"]);
    let msgs = server.messages();
    assert_eq!(msgs.len(), 2);
    let text = msgs[1].parsed().body_text(0).unwrap().to_string();
    assert!(text.contains("old1") && text.contains("new1"), "{text}");
}
