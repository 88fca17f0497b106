//! Two agents end to end (issue 12), through the built-in jobs: a mail the cloud drafts while
//! the local agent is offline is approved and sent once after it comes back, and the
//! Dashboard shows it; the cloud agent, given fakes of every sending service, sends nothing
//! in a day of jobs but its alerts to the owner's own address.

use crate::support::TestEnv;
use crate::support::git::TwoAgents;
use crate::support::http::{FakeServer, Response};
use crate::support::smtp::SmtpServer;

/// A mail from a client that plans into a request for a reply.
const QUESTION: &str = "From: Client <client@client.example>\nTo: sam@owner.example\nSubject: Question\nMessage-ID: <q2@client.example>\n\nCan you send me the price list?\n";

#[test]
fn a_mail_drafted_while_the_local_agent_is_offline_is_sent_once_after_it_returns() {
    let server = SmtpServer::start("plain", &[]);
    let two = TwoAgents::new(&format!(
        "execution:\n  dry_run: false\n{}",
        server.config("none", false)
    ));
    let url = two.remote.to_str().unwrap().to_string();
    TwoAgents::git(
        &two.local,
        &["remote", "set-url", "origin", "/nonexistent/remote.git"],
    );
    // The cloud drafts and shares it (triage ends with a sync).
    two.cloud.drop_file("q.eml", QUESTION);
    let r = two.cloud.run(&["run", "triage"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(two.cloud.items_in("Pending_Approval/general").len(), 1);
    // The local agent is offline: its execute job cannot sync, sends nothing.
    let r = two.local.run(&["run", "execute"]);
    assert_eq!(r.code, 69, "{r:?}");
    assert!(server.messages().is_empty());
    // Back online: the next run brings the request in.
    TwoAgents::git(&two.local, &["remote", "set-url", "origin", &url]);
    let r = two.local.run(&["run", "execute"]);
    assert_eq!(r.code, 0, "{r:?}");
    let id = two.local.only_item("Pending_Approval/general");
    // The owner approves on the local machine; the execute job runs it once.
    two.local
        .mv(&format!("Pending_Approval/general/{id}.md"), "Approved");
    assert_eq!(two.local.run(&["run", "execute"]).code, 0);
    assert_eq!(two.local.run(&["run", "execute"]).code, 0);
    let sent = server.messages();
    assert_eq!(sent.len(), 1, "exactly once");
    assert_eq!(sent[0].rcpts(), vec!["client@client.example".to_string()]);
    assert_eq!(two.local.items_in("Done"), vec![format!("{id}.md")]);
    // The cloud hears of it; the local Dashboard shows it, and the cloud's heartbeat.
    assert_eq!(two.cloud.run(&["sync-vault"]).code, 0);
    assert_eq!(two.cloud.items_in("Done"), vec![format!("{id}.md")]);
    assert_eq!(two.local.run(&["run", "sync"]).code, 0);
    let dash = two.local.read("Dashboard.md");
    assert!(dash.contains("| done | 1 |"), "{dash}");
    assert!(dash.contains("## Health"), "{dash}");
    assert!(dash.contains("Heartbeat of cloud (draft_only)"), "{dash}");
    // The cloud never writes the Dashboard: its report is Updates/cloud.md.
    assert!(two.cloud.path("Updates/cloud.md").is_file());
    let log = TwoAgents::git(&two.local, &["log", "--format=%an", "--", "Dashboard.md"]);
    assert!(!log.contains("cloud"), "{log}");
}

#[test]
fn the_cloud_agent_sends_nothing_in_a_day_of_jobs_but_alerts_to_the_owner() {
    let smtp = SmtpServer::start("plain", &[]);
    // Reading sources (poll-social's comments and mentions) is not sending: the fake answers
    // reads with empty pages, and only a request that could send counts below.
    let fake = FakeServer::start(|r| {
        if r.method == "GET" && r.target.contains("/users/me") {
            Response::json(
                200,
                &serde_json::json!({"data": {"id": "9", "username": "owner"}}),
            )
        } else if r.method == "GET" {
            Response::json(200, &serde_json::json!({"data": []}))
        } else {
            Response::json(200, &serde_json::json!({"id": "1"}))
        }
    });
    let base = fake.url();
    let mut env = TestEnv::new();
    env.write(
        "aie.yaml",
        format!(
        "timezone: UTC\ninbox:\n  settle_seconds: 0\nowner:\n  name: Sam Owner\n  email: sam@owner.example\nexecution:\n  dry_run: false\n{}\
         policy:\n  known_contacts: ['@client.example']\n\
         odoo:\n  url: {base}\n  db: d\nfacebook:\n  graph_base: {base}\n  page_id: '1'\n\
         instagram:\n  graph_base: {base}\n  user_id: '2'\nwhatsapp:\n  graph_base: {base}\n  phone_number_id: '3'\n\
         x:\n  api_base: {base}\nlinkedin:\n  api_base: {base}\n  author: 'urn:li:person:4'\n\
         health:\n  min_free_mb: 1\n  down_after: 1\n  checks:\n    - name: closed\n      tcp: 127.0.0.1:1\n",
        smtp.config("none", false)
    ),
    );
    env.env("AIE_AGENT", "cloud").env("AIE_MODE", "draft_only");
    for k in [
        "AIE_ODOO_USERNAME",
        "AIE_ODOO_API_KEY",
        "AIE_FACEBOOK_TOKEN",
        "AIE_INSTAGRAM_TOKEN",
        "AIE_WHATSAPP_TOKEN",
        "AIE_X_TOKEN",
        "AIE_LINKEDIN_TOKEN",
    ] {
        env.env(k, "fake-token-value-123");
    }
    env.drop_file("q.eml", QUESTION);
    let dashboard = env.read("Dashboard.md");
    // A day of jobs, one round an hour: triage, sync and health; the execute job is refused.
    for hour in 0..24 {
        env.now = format!("2026-11-23T{hour:02}:00:00Z");
        assert_eq!(env.run(&["run", "triage"]).code, 0);
        assert_eq!(env.run(&["run", "sync"]).code, 0);
        // The `closed` check is DOWN all day: the health job exits 1 (SPEC), accepted by
        // its unit (`SuccessExitStatus=75 1`).
        assert_eq!(env.run(&["run", "health"]).code, 1);
        assert_eq!(env.run(&["run", "execute"]).code, 78);
        let r = env.run(&["execute-approved"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout.contains("draft_only"), "{r:?}");
    }
    // The reply to a known contact was approved by policy: it waits in Approved/ for the
    // local agent, which decides it again by its own policy before it runs.
    assert_eq!(env.items_in("Approved").len(), 1, "nothing executed");
    let sends: Vec<_> = fake
        .hits()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert!(sends.is_empty(), "{sends:?}");
    let mails = smtp.messages();
    assert!(!mails.is_empty(), "the DOWN alert is mailed to the owner");
    for m in &mails {
        assert_eq!(m.rcpts(), vec!["sam@owner.example".to_string()]);
    }
    assert_eq!(
        env.read("Dashboard.md"),
        dashboard,
        "the cloud never writes it"
    );
    assert!(env.read("Updates/cloud.md").contains("## Health"));
}
