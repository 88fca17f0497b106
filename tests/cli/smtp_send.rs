//! `send_email` over SMTP, against a real server (aiosmtpd): plain, AUTH, STARTTLS and
//! implicit TLS; one connection a pass; refusals before and after DATA; wrong or missing
//! credentials; an unreachable server; the hourly rate limit; a killed executor; the handover
//! from a Gmail mail to a delivered, threaded reply; and the 200-email benchmark.

use crate::support::approved::approved_replies;
use crate::support::gmail_fake::{GmailFake, gmail_env};
use crate::support::seed;
use crate::support::smtp::SmtpServer;
use crate::support::{Run, TestEnv};
use std::fs;

fn smtp_env(server: &SmtpServer, security: &str, auth: bool) -> TestEnv {
    let mut env = TestEnv::new();
    env.config(&format!(
        "execution:\n  dry_run: false\n{}",
        server.config(security, auth)
    ));
    env.env("AIE_SMTP_USERNAME", "alice")
        .env("AIE_SMTP_PASSWORD", "s3cret!");
    env
}

#[test]
fn approved_reply_is_sent_threaded_exactly_once_in_every_security_mode() {
    for (mode, security, auth) in [
        ("plain", "none", false),
        ("auth", "none", true),
        ("starttls", "starttls", true),
        ("tls", "tls", true),
    ] {
        let extra: &[&str] = if auth {
            &["--auth", "--user", "alice", "--password", "s3cret!"]
        } else {
            &[]
        };
        let server = SmtpServer::start(mode, extra);
        let env = smtp_env(&server, security, auth);
        let ids = approved_replies(&env, 1, true);
        let r = env.run(&["execute-approved"]);
        assert_eq!(r.code, 0, "{mode}: {r:?}");
        assert_eq!(env.where_is(&ids[0]), ["Done"], "{mode}");
        let got = server.messages();
        assert_eq!(got.len(), 1, "{mode}");
        let m = &got[0];
        assert_eq!(m.meta["mail_from"], "sam@owner.example");
        assert_eq!(m.rcpts(), ["client0@client.example"]);
        assert_eq!(
            m.meta["auth_user"],
            if auth {
                "alice".into()
            } else {
                serde_json::Value::Null
            }
        );
        assert_eq!(m.header("Subject").as_deref(), Some("Re: Question 0"));
        assert_eq!(
            m.header("From").as_deref(),
            Some("\"Sam Owner\" <sam@owner.example>")
        );
        assert_eq!(m.header("To").as_deref(), Some("client0@client.example"));
        assert_eq!(
            m.header("In-Reply-To").as_deref(),
            Some("<q0@client.example>")
        );
        assert_eq!(
            m.header("References").as_deref(),
            Some("<root0@client.example> <q0@client.example>")
        );
        let mid = m.header("Message-ID").unwrap();
        assert!(
            mid.starts_with("<aie.") && mid.ends_with("@owner.example>"),
            "{mid}"
        );
        let body = m.parsed().body_text(0).unwrap().replace("\r\n", "\n");
        assert!(body.starts_with("Hi Client,"), "{body}");
        assert!(body.contains("Best regards,\nSam Owner"), "{body}");
        assert!(body.contains("> Can you send me the price list?"), "{body}");
        // The audit log records the send; a second pass sends nothing.
        let sent: Vec<_> = env
            .audit()
            .into_iter()
            .filter(|a| a["action"] == "send_email" && a["result"] == "ok")
            .collect();
        assert_eq!(sent.len(), 1, "{mode}");
        env.ok(&["execute-approved"]);
        assert_eq!(server.messages().len(), 1, "{mode}");
    }
}

#[test]
fn one_connection_carries_every_message_of_a_pass_with_attachments() {
    let server = SmtpServer::start("plain", &[]);
    let env = smtp_env(&server, "none", false);
    let ids = approved_replies(&env, 3, true);
    // The owner edits one request to attach a file from the item's Attachments/ folder.
    let path = format!("Approved/{}.md", ids[1]);
    let text = env.read(&path);
    let text = text.replacen(
        "  in_reply_to:",
        "  attachments:\n  - price-list.pdf\n  in_reply_to:",
        1,
    );
    assert!(text.contains("price-list.pdf"), "{text}");
    fs::write(env.path(&path), text).unwrap();
    env.write(
        &format!("Attachments/{}/price-list.pdf", ids[1]),
        b"%PDF-1.4 prices",
    );
    // The owner may edit a request before approving it: all three go out in one pass.
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 0, "{r:?}");
    let got = server.messages();
    assert_eq!(got.len(), 3);
    // One connection carried them all: the same client port.
    assert_eq!(got[0].meta["peer"], got[1].meta["peer"]);
    assert_eq!(got[1].meta["peer"], got[2].meta["peer"]);
    let m = got[1].parsed();
    let att = m.attachments().next().expect("an attachment");
    use mail_parser::MimeHeaders;
    assert_eq!(att.attachment_name(), Some("price-list.pdf"));
    assert_eq!(att.contents(), b"%PDF-1.4 prices");
}

/// One approved reply, executed against a server started with `faults`: the server, the
/// vault, the reply's id and the run.
fn one_reply_against(faults: &[&str]) -> (SmtpServer, TestEnv, String, Run) {
    let server = SmtpServer::start("plain", faults);
    let env = smtp_env(&server, "none", false);
    let id = approved_replies(&env, 1, true).remove(0);
    let r = env.run(&["execute-approved"]);
    (server, env, id, r)
}

/// The `review:` of an item sent back to the owner.
fn review_of(env: &TestEnv, id: &str) -> String {
    env.front(&format!("Pending_Approval/general/{id}.md"))["review"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn refusals_before_data_retry_and_5xx_or_lost_replies_go_back_for_review() {
    // 450 on RCPT: stays approved, retried next pass.
    let (server, env, id, r) = one_reply_against(&["--fail-rcpt", "client0@client.example"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("450"), "{r:?}");
    assert_eq!(env.where_is(&id), ["Approved"]);
    assert!(server.messages().is_empty());
    drop(server);

    // 550 on RCPT: back to Pending_Approval with the server's reply.
    let (server, env, id, r) = one_reply_against(&["--reject-rcpt", "client0@client.example"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(env.where_is(&id), ["Pending_Approval/general"]);
    let review = review_of(&env, &id);
    assert!(review.contains("550 5.1.1 user unknown"), "{review}");
    drop(server);

    // The connection drops after DATA: unknown outcome, back for review, never re-sent.
    let (server, env, id, r) = one_reply_against(&["--drop-after-data", "0"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(env.where_is(&id), ["Pending_Approval/general"]);
    let f = env.front(&format!("Pending_Approval/general/{id}.md"));
    assert_eq!(f["actions"][0]["result"], "unknown");
    let review = review_of(&env, &id);
    assert!(review.contains("may or may not have happened"), "{review}");
    env.ok(&["execute-approved"]);
    assert!(server.messages().is_empty());
    drop(server);

    // 554 after DATA: failed with the reply.
    let (_server, env, id, _) = one_reply_against(&["--reject-data"]);
    let review = review_of(&env, &id);
    assert!(review.contains("554"), "{review}");
}

#[test]
fn wrong_password_says_so_and_missing_credentials_exit_78() {
    let server = SmtpServer::start("auth", &["--user", "alice", "--password", "right"]);
    let mut env = smtp_env(&server, "none", true);
    let ids = approved_replies(&env, 1, true);
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("wrong SMTP password"), "{r:?}");
    assert!(!r.stderr.contains("s3cret!"), "{r:?}");
    assert_eq!(env.where_is(&ids[0]), ["Approved"]);
    env.env("AIE_SMTP_PASSWORD", "");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("AIE_SMTP_PASSWORD"), "{r:?}");
    assert!(server.messages().is_empty());
}

#[test]
fn rate_limit_of_ten_an_hour_applies_to_real_sends() {
    let server = SmtpServer::start("plain", &[]);
    let env = smtp_env(&server, "none", false);
    approved_replies(&env, 12, true);
    let r = env.run(&["execute-approved", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(server.messages().len(), 10);
    assert_eq!(env.items_in("Approved").len(), 2);
    assert_eq!(env.items_in("Done").len(), 10);
    env.ok(&["execute-approved"]);
    assert_eq!(server.messages().len(), 10, "still inside the hour");
}

/// Regression (issue 8, finding 6): a `rate_limits:` section naming only `payment` made the
/// mail limit vanish, so every policy-approved mail went out in one pass.
#[test]
fn a_rate_limits_section_naming_another_kind_keeps_the_mail_limit() {
    let server = SmtpServer::start("plain", &[]);
    let env = smtp_env(&server, "none", false);
    approved_replies(&env, 12, true);
    env.config(&format!(
        "execution:\n  dry_run: false\npolicy:\n  rate_limits:\n    payment: 2\n{}",
        server.config("none", false)
    ));
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(server.messages().len(), 10);
    assert_eq!(env.items_in("Approved").len(), 2);
}

#[cfg(feature = "failpoints")]
#[test]
fn an_executor_killed_mid_pass_never_sends_twice() {
    let server = SmtpServer::start("plain", &[]);
    let mut env = smtp_env(&server, "none", false);
    let ids = approved_replies(&env, 3, true);
    // Killed after the first message went out, before its outcome was written.
    env.env("AIE_CRASH_AT", "execute:action-done");
    let r = env.run(&["execute-approved"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert_eq!(server.messages().len(), 1);
    env.env("AIE_CRASH_AT", "");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    let got = server.messages();
    assert_eq!(got.len(), 3, "each approved email arrives exactly once");
    let mut rcpts: Vec<String> = got.iter().map(|m| m.rcpts()[0].clone()).collect();
    rcpts.sort();
    rcpts.dedup();
    assert_eq!(rcpts.len(), 3);
    // The one in flight is back for review, marked unknown.
    let back = env.items_in("Pending_Approval/general");
    assert_eq!(back.len(), 1);
    assert!(ids.contains(&back[0].trim_end_matches(".md").to_string()));
    assert_eq!(env.items_in("Done").len(), 2);
}

#[test]
fn an_unreachable_smtp_server_exits_69_and_the_mail_waits_untouched() {
    let gone = SmtpServer::start("plain", &[]);
    let env = smtp_env(&gone, "none", false);
    let ids = approved_replies(&env, 2, true);
    let before: Vec<String> = ids
        .iter()
        .map(|id| env.read(&format!("Approved/{id}.md")))
        .collect();
    drop(gone); // nothing listens on its port any more
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 69, "{r:?}");
    assert!(r.stderr.contains("cannot connect"), "{r:?}");
    for (id, text) in ids.iter().zip(&before) {
        assert_eq!(
            &env.read(&format!("Approved/{id}.md")),
            text,
            "the item is left as it was"
        );
    }
    // The server is back: both go out, once each.
    let server = SmtpServer::start("plain", &[]);
    env.config(&format!(
        "execution:\n  dry_run: false\n{}",
        server.config("none", false)
    ));
    env.ok(&["execute-approved"]);
    assert_eq!(server.messages().len(), 2);
    for id in &ids {
        assert_eq!(env.where_is(id), ["Done"]);
    }
}

#[test]
fn offline_handover_from_mail_to_a_delivered_threaded_reply() {
    // The seed mail of the demo vault arrives in Gmail.
    let fake = GmailFake::start();
    let id = "gmail-18f2a4c1b7e09d31";
    fake.add("18f2a4c1b7e09d31", seed("question from a new lead.eml"));
    let server = SmtpServer::start(
        "starttls",
        &["--auth", "--user", "alice", "--password", "s3cret!"],
    );
    let mut env = gmail_env(&fake, "");
    env.config(&format!(
        "execution:\n  dry_run: false\n{}{}",
        fake.config(""),
        server.config("starttls", true)
    ));
    env.env("AIE_SMTP_USERNAME", "alice")
        .env("AIE_SMTP_PASSWORD", "s3cret!");
    // poll-gmail and plan make a draft reply that waits for the owner.
    env.ok(&["poll-gmail"]);
    env.ok(&["plan"]);
    assert_eq!(env.where_is(id), ["Pending_Approval/email"]);
    let f = env.front(&format!("Pending_Approval/email/{id}.md"));
    assert_eq!(f["actions"][0]["kind"], "send_email");
    assert_eq!(f["actions"][0]["to"][0], "omar@newlead.example");
    assert_eq!(f["actions"][0]["in_reply_to"], "<lead-42@newlead.example>");
    assert!(
        server.messages().is_empty(),
        "nothing is sent before approval"
    );
    // The owner approves by moving the file; execute-approved sends it.
    env.mv(&format!("Pending_Approval/email/{id}.md"), "Approved");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 0, "{r:?}");
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpts(), ["omar@newlead.example"]);
    assert_eq!(got[0].meta["auth_user"], "alice");
    assert_eq!(
        got[0].header("Subject").as_deref(),
        Some("Re: Do you work with small retailers?")
    );
    assert_eq!(
        got[0].header("In-Reply-To").as_deref(),
        Some("<lead-42@newlead.example>")
    );
    assert_eq!(
        got[0].header("References").as_deref(),
        Some("<lead-42@newlead.example>")
    );
    let body = got[0].parsed().body_text(0).unwrap().replace("\r\n", "\n");
    assert!(body.starts_with("Hi Omar,"), "{body}");
    assert!(body.contains("Sam Owner"), "{body}");
    assert!(
        body.contains(
            "> We run two small shops. Do you offer bookkeeping for retailers, and what would it cost?"
        ),
        "{body}"
    );
    assert!(!body.contains("[["), "no vault links in the quote: {body}");
    assert_eq!(env.where_is(id), ["Done"]);
    let done = env.front(&format!("Done/{id}.md"));
    assert_eq!(done["actions"][0]["result"], "ok");
    assert_eq!(done["approved_by"], "human");
    let audit = env.audit();
    let send = audit
        .iter()
        .find(|a| a["action"] == "send_email")
        .expect("the send is audited");
    assert_eq!(send["result"], "ok");
    assert_eq!(send["item"], id);
    assert_eq!(send["approved_by"], "human");
    assert!(!serde_json::to_string(&audit).unwrap().contains("s3cret!"));
}

/// Prints how long execute-approved takes to send 200 approved emails over one SMTP
/// connection to aiosmtpd (rate limit raised for the bench).
#[test]
#[ignore = "benchmark: run benches/email.sh"]
fn bench_execute_approved_200_emails() {
    let server = SmtpServer::start("plain", &[]);
    let env = TestEnv::new();
    env.config(&format!(
        "execution:\n  dry_run: false\npolicy:\n  rate_limits:\n    send_email: 1000\n{}",
        server.config("none", false)
    ));
    approved_replies(&env, 200, true);
    let t = std::time::Instant::now();
    let r = env.run(&["execute-approved"]);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(r.code, 0, "{r:?}");
    let got = server.messages();
    assert_eq!(got.len(), 200);
    let peers: std::collections::HashSet<String> =
        got.iter().map(|m| m.meta["peer"].to_string()).collect();
    println!(
        "BENCH execute-approved: 200 emails sent in {secs:.2} s ({:.1} ms/email, {} SMTP connection(s))",
        secs * 1000.0 / 200.0,
        peers.len()
    );
}
