//! `aie poll-gmail` against the loopback Gmail fake: every page imported once and marked only
//! after its item exists, history and its expiry, retries (429, 5xx, Retry-After, the
//! deadline), cached and revoked tokens, broken or hostile mail and attachment names, a
//! killed poll, and the 1,000-message benchmark.

use crate::support::TestEnv;
use crate::support::gmail_fake::{self, GmailFake, gmail_env, simple_raw};
use crate::support::http::Response;
use std::fs;
use std::time::Duration;

fn with_attachment(name: &str, payload_b64: &str) -> Vec<u8> {
    format!(
        "From: \"Fournisseur SARL\" <compta@fournisseur.example>\r\nTo: sam@owner.example\r\nSubject: Facture INV/2024/00117\r\nMessage-ID: <inv117@fournisseur.example>\r\nIn-Reply-To: <q1@owner.example>\r\nReferences: <q0@owner.example> <q1@owner.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nBonjour, ci-joint la facture de 1 250,00 =E2=82=AC.\r\n--B\r\nContent-Type: application/pdf; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{payload_b64}\r\n--B--\r\n"
    )
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

/// Regression (finding 14): a right-to-left override stayed in an attachment's file name
/// (`invoice\u{202E}fdp.exe` reads as `invoiceexe.pdf`), and the 120-character cut of a long
/// name dropped its extension.
#[test]
fn attachment_names_lose_bidi_overrides_and_keep_their_extension() {
    let fake = GmailFake::start();
    let long = format!("{}.pdf", "r".repeat(200));
    for (id, name) in [
        ("rlo", "invoice\u{202E}fdp.exe".to_string()),
        ("long", long),
    ] {
        fake.add(
            id,
            format!(
                "From: a@b.example\r\nTo: sam@owner.example\r\nSubject: {id}\r\nMessage-ID: <{id}@b.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=UTF-8''{}\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--B--\r\n",
                percent(&name)
            )
            .into_bytes(),
        );
    }
    let mut env = TestEnv::new();
    env.config(&fake.config(""));
    env.env("AIE_GMAIL_CLIENT_ID", gmail_fake::CLIENT_ID)
        .env("AIE_GMAIL_CLIENT_SECRET", gmail_fake::CLIENT_SECRET)
        .env("AIE_GMAIL_REFRESH_TOKEN", gmail_fake::REFRESH_TOKEN);
    fake.mailbox.lock().unwrap().vault = Some(env.vault.clone());
    env.ok(&["poll-gmail"]);
    let names = |id: &str| -> Vec<String> {
        fs::read_dir(env.path(&format!("Attachments/gmail-{id}")))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect()
    };
    assert_eq!(names("rlo"), ["invoicefdp.exe"]);
    let long = names("long");
    assert_eq!(long.len(), 1);
    assert!(
        long[0].ends_with(".pdf") && long[0].chars().count() <= 120,
        "{long:?}"
    );
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

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
