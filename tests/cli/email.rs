//! Email in and out: poll-gmail against the loopback Gmail fake (pages, history, faults,
//! crashes), send_email through a real SMTP server (aiosmtpd: plain, AUTH, STARTTLS,
//! implicit TLS; refusals before and after DATA), `aie auth gmail`, and the offline
//! handover from mail to a delivered, threaded reply.

use crate::support::TestEnv;
use crate::support::approved::approved_replies;
use crate::support::gmail_fake::gmail_env;
use crate::support::gmail_fake::{self, GmailFake, simple_raw};
use crate::support::http::Response;
use crate::support::smtp::SmtpServer;
use std::fs;
use std::time::Duration;

fn with_attachment(name: &str, payload_b64: &str) -> Vec<u8> {
    format!(
        "From: \"Fournisseur SARL\" <compta@fournisseur.example>\r\nTo: sam@owner.example\r\nSubject: Facture INV/2024/00117\r\nMessage-ID: <inv117@fournisseur.example>\r\nIn-Reply-To: <q1@owner.example>\r\nReferences: <q0@owner.example> <q1@owner.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nBonjour, ci-joint la facture de 1 250,00 =E2=82=AC.\r\n--B\r\nContent-Type: application/pdf; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{payload_b64}\r\n--B--\r\n"
    )
    .into_bytes()
}

/// A seed mail of the demo vault (`vault_template/demo/`), with CRLF line ends.
fn seed(name: &str) -> Vec<u8> {
    let text = fs::read_to_string(format!(
        "{}/vault_template/demo/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

const HTML_ONLY: &str = "From: Lead <lead@prospect.example>\r\nTo: sam@owner.example\r\nSubject: Quote?\r\nMessage-ID: <html1@prospect.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<html><body><p>Could you send a quote for the caf=E9 website?</p><p>Thanks&nbsp;a lot</p></body></html>\r\n";

#[test]
fn poll_gmail_imports_all_pages_once_and_marks_only_after_the_item_exists() {
    let fake = GmailFake::start();
    fake.mailbox.lock().unwrap().page_size = 2;
    fake.add(
        "m1",
        simple_raw(
            "Bob <bob@client.example>",
            "Meeting",
            "<m1@client.example>",
            "Can we meet on Tuesday?",
        ),
    );
    fake.add("m2", with_attachment("INV-2024-00117.pdf", "JVBERi0xLjQK"));
    fake.add("m3", HTML_ONLY.as_bytes().to_vec());
    let env = gmail_env(&fake, "");
    let r = env.run(&["poll-gmail"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        env.items_in("Needs_Action/email"),
        ["gmail-m1.md", "gmail-m2.md", "gmail-m3.md"]
    );
    // Two pages of messages.list (page size 2).
    assert_eq!(
        fake.count("GET", "/users/me/messages") - 3,
        2,
        "{:?}",
        fake.requests()
    );
    let f = env.front("Needs_Action/email/gmail-m2.md");
    assert_eq!(f["id"], "gmail-m2");
    assert_eq!(f["kind"], "email");
    assert_eq!(f["domain"], "email");
    assert_eq!(f["source"], "gmail:m2");
    assert_eq!(f["gmail_id"], "m2");
    assert_eq!(f["thread_id"], "tm2");
    assert_eq!(f["from"], "Fournisseur SARL <compta@fournisseur.example>");
    assert_eq!(f["to"][0], "sam@owner.example");
    assert_eq!(f["subject"], "Facture INV/2024/00117");
    assert_eq!(f["message_id"], "<inv117@fournisseur.example>");
    assert_eq!(f["references"][0], "<q0@owner.example>");
    assert_eq!(f["references"][1], "<q1@owner.example>");
    assert_eq!(f["attachments"][0], "INV-2024-00117.pdf");
    assert!(
        env.read("Needs_Action/email/gmail-m2.md")
            .contains("1 250,00 €")
    );
    assert_eq!(
        fs::read(env.path("Attachments/gmail-m2/INV-2024-00117.pdf")).unwrap(),
        b"%PDF-1.4\n"
    );
    // HTML-only mail becomes readable text, charset decoded.
    let m3 = env.read("Needs_Action/email/gmail-m3.md");
    assert!(
        m3.contains("Could you send a quote for the café website?"),
        "{m3}"
    );
    assert!(!m3.contains("<p>"), "{m3}");
    // Marked: UNREAD removed, the label created once and added.
    for id in ["m1", "m2", "m3"] {
        let labels = fake.labels_of(id);
        assert!(!labels.contains(&"UNREAD".to_string()), "{labels:?}");
        assert!(
            labels.contains(&"Label_18".to_string())
                || labels.iter().any(|l| l.starts_with("Label_")),
            "{labels:?}"
        );
    }
    assert_eq!(fake.count("POST", "/labels"), 1);
    assert!(fake.mailbox.lock().unwrap().marked_too_early.is_empty());
    // State is in .aie/, never the vault.
    let state = env.read(".aie/state.json");
    assert!(state.contains("\"history_id\""), "{state}");
    assert!(env.path(".aie/gmail_token.json").is_file());

    // A second run: history has nothing new, nothing is imported twice, the token is reused.
    let r = env.run(&["poll-gmail"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.items_in("Needs_Action/email").len(), 3);
    assert_eq!(
        fake.count("POST", "/token"),
        1,
        "the cached access token is reused"
    );
    assert_eq!(fake.count("GET", "/history"), 1);
    // New mail arrives: only it is imported, through history.list.
    fake.add(
        "m4",
        simple_raw("Ann <ann@x.example>", "Hello", "<m4@x.example>", "Hi"),
    );
    // Mail the query would not list (not important, or sent by the owner) is left alone.
    fake.add_with_labels(
        "m5",
        simple_raw("News <n@x.example>", "Digest", "<m5@x.example>", "news"),
        &["UNREAD", "INBOX"],
    );
    fake.add_with_labels(
        "m6",
        simple_raw("sam@owner.example", "Sent", "<m6@x.example>", "sent"),
        &["SENT"],
    );
    env.ok(&["poll-gmail"]);
    assert_eq!(env.items_in("Needs_Action/email").len(), 4);
    assert_eq!(fake.count("GET", "/messages/m5"), 0);
    assert_eq!(fake.count("GET", "/messages/m6"), 0);
    assert_eq!(fake.count("GET", "/messages/m1"), 1, "never fetched twice");
    let audit = env.audit();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a["action"] == "item_created")
            .count(),
        4
    );
    let token = fs::read_to_string(env.path(".aie/gmail_token.json")).unwrap();
    assert!(!token.contains(gmail_fake::REFRESH_TOKEN));
    assert!(!env.read("Needs_Action/email/gmail-m1.md").contains("ya29"));
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

#[test]
fn poll_gmail_retries_429_and_500_honouring_retry_after() {
    let fake = GmailFake::start();
    fake.add("r1", simple_raw("a@x.example", "One", "<r1@x>", "one"));
    fake.add("r2", simple_raw("b@x.example", "Two", "<r2@x>", "two"));
    fake.fail_next(
        "GET",
        "/messages/r",
        Response::raw_json(
            429,
            &gmail_fake::fixture("error_429_rate_limit_exceeded.json"),
        )
        .header("retry-after", "1"),
    );
    fake.fail_next(
        "POST",
        "/batchModify",
        Response::raw_json(500, &gmail_fake::fixture("error_500_backend_error.json")),
    );
    fake.fail_next(
        "GET",
        "/messages/r2",
        Response::raw_json(
            403,
            &gmail_fake::fixture("error_403_user_rate_limit_exceeded.json"),
        ),
    );
    let env = gmail_env(&fake, "");
    let r = env.run(&["poll-gmail"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.items_in("Needs_Action/email").len(), 2);
    // The retry after the 429 waited at least the Retry-After second.
    let log = fake.mailbox.lock().unwrap().log.clone();
    let gets: Vec<_> = log
        .iter()
        .filter(|(_, m, p)| m == "GET" && p.contains("/messages/r"))
        .collect();
    assert!(gets.len() >= 3, "{gets:?}");
    assert!(gets[1].0.duration_since(gets[0].0) >= Duration::from_millis(950));
}

#[test]
fn a_rejected_cached_access_token_is_refreshed_once() {
    let fake = GmailFake::start();
    fake.add("s1", simple_raw("a@x.example", "One", "<s1@x>", "one"));
    let env = gmail_env(&fake, "");
    // A cached token that has not expired by its clock, but that Google no longer takes.
    // Token lifetimes are real-world times (the real clock), so an hour from now.
    let expires_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    use sha2::Digest as _;
    let grant: String = sha2::Sha256::digest(gmail_fake::REFRESH_TOKEN.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    env.write(
        ".aie/gmail_token.json",
        serde_json::json!({"access_token": "ya29.stale", "expires_at": expires_at,
            "client_id": gmail_fake::CLIENT_ID, "token_url": format!("{}/token", fake.server.url()),
            "grant": grant})
        .to_string(),
    );
    let r = env.run(&["poll-gmail"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(fake.count("POST", "/token"), 1);
    assert_eq!(env.items_in("Needs_Action/email"), ["gmail-s1.md"]);
    assert!(!env.read(".aie/gmail_token.json").contains("ya29.stale"));
}

#[test]
fn retry_after_past_the_deadline_gives_up_without_marking() {
    let fake = GmailFake::start();
    fake.add("d1", simple_raw("a@x.example", "One", "<d1@x>", "one"));
    fake.fail_next(
        "GET",
        "/messages/d1",
        Response::raw_json(
            429,
            &gmail_fake::fixture("error_429_too_many_concurrent.json"),
        )
        .header("retry-after", "30"),
    );
    let env = gmail_env(&fake, "");
    let r = env.run(&["poll-gmail", "--deadline", "5"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("`d1`") && r.stderr.contains("deadline"),
        "{r:?}"
    );
    assert!(fake.labels_of("d1").contains(&"UNREAD".to_string()));
    // The next pass imports it.
    env.ok(&["poll-gmail"]);
    assert_eq!(env.items_in("Needs_Action/email"), ["gmail-d1.md"]);
}

#[test]
fn expired_history_id_triggers_one_full_resync() {
    let fake = GmailFake::start();
    fake.add("h1", simple_raw("a@x.example", "One", "<h1@x>", "one"));
    let env = gmail_env(&fake, "");
    env.ok(&["poll-gmail"]);
    fake.add("h2", simple_raw("b@x.example", "Two", "<h2@x>", "two"));
    fake.mailbox.lock().unwrap().oldest_history = 10_000;
    let r = env.run(&["poll-gmail"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        env.items_in("Needs_Action/email"),
        ["gmail-h1.md", "gmail-h2.md"]
    );
    assert_eq!(fake.count("GET", "/history"), 1, "no loop on 404");
    assert_eq!(r.stderr.matches("expired").count(), 1, "{r:?}");
    // Re-baselined: the next run uses history again, successfully.
    fake.mailbox.lock().unwrap().oldest_history = 0;
    env.ok(&["poll-gmail"]);
    assert_eq!(fake.count("GET", "/history"), 2);
    assert_eq!(env.items_in("Needs_Action/email").len(), 2);
}

#[test]
fn revoked_refresh_token_exits_69_and_asks_to_reauthorise() {
    let fake = GmailFake::start();
    fake.add("x1", simple_raw("a@x.example", "One", "<x1@x>", "one"));
    fake.mailbox.lock().unwrap().invalid_grant = true;
    let env = gmail_env(&fake, "");
    let r = env.run(&["poll-gmail"]);
    assert_eq!(r.code, 69, "{r:?}");
    assert!(r.stderr.contains("aie auth gmail"), "{r:?}");
    assert!(!r.stderr.contains(gmail_fake::REFRESH_TOKEN));
    assert!(env.items_in("Needs_Action/email").is_empty());
}

#[test]
fn gmail_not_set_up_is_skipped_and_missing_secrets_exit_78() {
    let env = TestEnv::new();
    let r = env.run(&["poll-gmail"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("not set up"), "{r:?}");
    let fake = GmailFake::start();
    env.config(&fake.config(""));
    let r = env.run(&["poll-gmail"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("AIE_GMAIL_REFRESH_TOKEN"), "{r:?}");
}

#[test]
fn malformed_mail_huge_mail_and_hostile_names_are_handled() {
    let fake = GmailFake::start();
    // Broken MIME: a multipart with no boundary and a truncated part.
    fake.add(
        "bad",
        b"From: x@y.example\r\nSubject: broken\r\nContent-Type: multipart/mixed\r\n\r\n--\r\nContent-Type: text/plain\r\n\r\nstill readable text\r\n".to_vec(),
    );
    // A raw that is not base64url at all.
    fake.add_raw_text("undecodable", "***not base64***");
    // A 64 KiB attachment over a 16 KiB limit: the size proves the limit, not the bulk.
    let big = "QUFB".repeat(64 * 1024 / 3);
    let mut lines = String::new();
    for chunk in big.as_bytes().chunks(76) {
        lines.push_str(std::str::from_utf8(chunk).unwrap());
        lines.push_str("\r\n");
    }
    fake.add("huge", with_attachment("big.pdf", &lines));
    fake.add(
        "evil",
        with_attachment("../../etc/passwd", "cm9vdDp4OjA6MA=="),
    );
    let env = gmail_env(&fake, "  max_attachment_bytes: 16384\n");
    let r = env.run(&["poll-gmail"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("`undecodable`"), "{r:?}");
    assert!(
        fake.labels_of("undecodable")
            .contains(&"UNREAD".to_string())
    );
    assert_eq!(
        env.items_in("Needs_Action/email"),
        ["gmail-bad.md", "gmail-evil.md", "gmail-huge.md"]
    );
    assert!(
        env.read("Needs_Action/email/gmail-bad.md")
            .contains("still readable text")
    );
    let huge = env.front("Needs_Action/email/gmail-huge.md");
    assert!(
        huge["attachments_skipped"][0]
            .as_str()
            .unwrap()
            .starts_with("big.pdf (")
    );
    assert!(!env.path("Attachments/gmail-huge/big.pdf").exists());
    assert_eq!(
        fs::read(env.path("Attachments/gmail-evil/passwd")).unwrap(),
        b"root:x:0:0"
    );
    assert!(!env.dir.path().join("etc").exists());
    assert!(!env.vault.join("etc").exists());
    // The undecodable one stays pending: tried again, still named, nothing duplicated.
    let r = env.run(&["poll-gmail"]);
    assert_eq!(r.code, 0, "a repeated problem is reported once: {r:?}");
    assert_eq!(env.items_in("Needs_Action/email").len(), 3);
    assert_eq!(fake.count("GET", "/messages/undecodable"), 2);
}

#[cfg(feature = "failpoints")]
#[test]
fn a_killed_poll_neither_skips_nor_reimports() {
    let fake = GmailFake::start();
    for i in 1..=3 {
        fake.add(
            &format!("k{i}"),
            simple_raw("a@x.example", "Hi", &format!("<k{i}@x>"), "hi"),
        );
    }
    let mut env = gmail_env(&fake, "");
    for point in ["gmail:item-written", "gmail:marked"] {
        env.env("AIE_CRASH_AT", point);
        let r = env.run(&["poll-gmail"]);
        assert_ne!(r.code, 0, "{r:?}");
    }
    env.env("AIE_CRASH_AT", "");
    env.ok(&["poll-gmail"]);
    assert_eq!(
        env.items_in("Needs_Action/email"),
        ["gmail-k1.md", "gmail-k2.md", "gmail-k3.md"]
    );
    for i in 1..=3 {
        assert_eq!(fake.count("GET", &format!("/messages/k{i}")), 1);
        assert!(
            !fake
                .labels_of(&format!("k{i}"))
                .contains(&"UNREAD".to_string())
        );
    }
    assert!(fake.mailbox.lock().unwrap().marked_too_early.is_empty());
    assert_eq!(
        env.audit()
            .iter()
            .filter(|a| a["action"] == "item_created")
            .count(),
        3
    );
}

#[test]
fn auth_gmail_runs_the_loopback_pkce_flow() {
    use std::io::{BufRead, BufReader, Read, Write};
    let fake = GmailFake::start();
    let env = gmail_env(&fake, "");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("aie"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AIE_VAULT", &env.vault)
        .env("AIE_GMAIL_CLIENT_ID", gmail_fake::CLIENT_ID)
        .env("AIE_GMAIL_CLIENT_SECRET", gmail_fake::CLIENT_SECRET)
        .args(["auth", "gmail", "--no-browser", "--timeout", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut url = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if line.starts_with("http") {
            url = line.trim().to_string();
            break;
        }
        line.clear();
    }
    assert!(
        url.starts_with(&format!("{}/o/oauth2/v2/auth?", fake.server.url())),
        "{url}"
    );
    let q = |k: &str| {
        url.split_once('?').unwrap().1.split('&').find_map(|kv| {
            let (a, b) = kv.split_once('=')?;
            (a == k).then(|| crate::support::http::percent_decode(b))
        })
    };
    assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(q("access_type").as_deref(), Some("offline"));
    let redirect = q("redirect_uri").unwrap();
    let port = redirect.rsplit(':').next().unwrap();
    // The scripted browser: Google sends it back with a code.
    let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    write!(
        s,
        "GET /?state={}&code=4%2F0AVGzR1Bfixture-authcode&scope=x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        q("state").unwrap()
    )
    .unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        "AIE_GMAIL_REFRESH_TOKEN=1//0gFixtureRefreshTokenCgYIARAAGBASNwF-L9IrFixture"
    );
    let exchange = fake.server.hits_to("/token");
    assert_eq!(exchange.len(), 1);
    let body = exchange[0].body_str();
    let field = |k: &str| {
        body.split('&').find_map(|kv| {
            let (a, b) = kv.split_once('=')?;
            (a == k).then(|| crate::support::http::percent_decode(b))
        })
    };
    assert_eq!(field("grant_type").as_deref(), Some("authorization_code"));
    assert_eq!(field("code").as_deref(), Some("4/0AVGzR1Bfixture-authcode"));
    assert_eq!(field("redirect_uri"), Some(redirect));
    // The verifier sent matches the challenge in the consent URL.
    use base64::Engine as _;
    use sha2::Digest as _;
    let verifier = field("code_verifier").unwrap();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    assert_eq!(Some(challenge), q("code_challenge"));
}

// ---------------------------------------------------------------- send_email over SMTP

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

#[test]
fn refusals_before_data_retry_and_5xx_or_lost_replies_go_back_for_review() {
    // 450 on RCPT: stays approved, retried next pass.
    let server = SmtpServer::start("plain", &["--fail-rcpt", "client0@client.example"]);
    let env = smtp_env(&server, "none", false);
    let ids = approved_replies(&env, 1, true);
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("450"), "{r:?}");
    assert_eq!(env.where_is(&ids[0]), ["Approved"]);
    assert!(server.messages().is_empty());
    drop(server);

    // 550 on RCPT: back to Pending_Approval with the server's reply.
    let server = SmtpServer::start("plain", &["--reject-rcpt", "client0@client.example"]);
    let env = smtp_env(&server, "none", false);
    let ids = approved_replies(&env, 1, true);
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(env.where_is(&ids[0]), ["Pending_Approval/general"]);
    let f = env.front(&format!("Pending_Approval/general/{}.md", ids[0]));
    assert!(
        f["review"]
            .as_str()
            .unwrap()
            .contains("550 5.1.1 user unknown"),
        "{f}"
    );
    drop(server);

    // The connection drops after DATA: unknown outcome, back for review, never re-sent.
    let server = SmtpServer::start("plain", &["--drop-after-data", "0"]);
    let env = smtp_env(&server, "none", false);
    let ids = approved_replies(&env, 1, true);
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(env.where_is(&ids[0]), ["Pending_Approval/general"]);
    let f = env.front(&format!("Pending_Approval/general/{}.md", ids[0]));
    assert_eq!(f["actions"][0]["result"], "unknown");
    assert!(
        f["review"]
            .as_str()
            .unwrap()
            .contains("may or may not have happened"),
        "{f}"
    );
    env.ok(&["execute-approved"]);
    assert!(server.messages().is_empty());
    drop(server);

    // 554 after DATA: failed with the reply.
    let server = SmtpServer::start("plain", &["--reject-data"]);
    let env = smtp_env(&server, "none", false);
    let ids = approved_replies(&env, 1, true);
    env.run(&["execute-approved"]);
    let f = env.front(&format!("Pending_Approval/general/{}.md", ids[0]));
    assert!(f["review"].as_str().unwrap().contains("554"), "{f}");
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

// ---------------------------------------------------------------- benchmarks (benches/email.sh)

/// Prints how long poll-gmail takes to import 1,000 new messages from the loopback fake.
/// Run with `benches/email.sh`; it asserts only that the work was done.
#[test]
#[ignore = "benchmark: run benches/email.sh"]
fn bench_poll_gmail_1000_messages() {
    let fake = GmailFake::start();
    fake.mailbox.lock().unwrap().page_size = 500;
    for i in 0..1000 {
        fake.add(
            &format!("b{i:04}"),
            simple_raw(
                &format!("Sender {i} <s{i}@bench.example>"),
                &format!("Bench message {i}"),
                &format!("<b{i}@bench.example>"),
                "Hello,\r\n\r\nCould you confirm the order?\r\n\r\nThanks",
            ),
        );
    }
    let env = gmail_env(&fake, "  max_per_run: 1000\n");
    fake.mailbox.lock().unwrap().vault = None;
    let t = std::time::Instant::now();
    let r = env.run(&["poll-gmail"]);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.items_in("Needs_Action/email").len(), 1000);
    println!(
        "BENCH poll-gmail: 1000 messages imported and marked in {secs:.2} s ({:.1} ms/message, {} HTTP calls)",
        secs * 1000.0 / 1000.0,
        fake.server.hits().len()
    );
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

#[test]
fn alert_mails_the_owner_when_smtp_is_set_up() {
    let server = SmtpServer::start("plain", &[]);
    let env = TestEnv::new();
    env.write(
        "aie.yaml",
        format!(
            "timezone: UTC\nowner:\n  name: Sam Owner\n  email: sam@owner.example\n{}",
            server.config("none", false)
        ),
    );
    let r = env.run(&["alert", "--unit", "aie-triage.service"]);
    assert_eq!(r.code, 0, "{r:?}");
    let got = server.messages();
    assert_eq!(got.len(), 1, "one alert mail");
    assert_eq!(got[0].rcpts(), ["sam@owner.example"]);
    assert!(
        got[0]
            .header("Subject")
            .unwrap()
            .contains("aie-triage.service failed")
    );
    // The alert itself is recorded whatever happens to the mail.
    assert!(env.path("Logs/alerts").is_dir());
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
