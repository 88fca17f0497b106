//! Secrets: no secret reaches a log, the state or a report, not even from a server's reply
//! that echoes the password in one of its encodings; a missing secrets file is a config error
//! that read-only commands survive with a warning.

use crate::support::echo_smtp::EchoSmtp;
use crate::support::{TestEnv, files_under};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use std::fs;

#[test]
fn no_secret_reaches_a_log_state_or_report() {
    let mut env = TestEnv::new();
    let secret = "sk-live-SUPERSECRET-123456";
    env.env("AIE_SMTP_PASSWORD", secret)
        .env("AIE_ANTHROPIC_API_KEY", secret);
    env.config("policy:\n  known_contacts: ['@x.example']\n");
    // The owner's own content happens to contain the secret (a pasted key in a mail).
    env.drop_file(
        "q.eml",
        format!("From: Ann <ann@x.example>\nSubject: key {secret}\n\nCan you check {secret}?\n"),
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let r = env.ok(&["execute-approved", "--json"]);
    let s = env.ok(&["status", "--json"]);
    let mut files = files_under(&env.path("Logs"));
    files.extend(files_under(&env.path(".aie")));
    files.push(env.path("Dashboard.md"));
    assert!(files.len() > 3);
    for f in files {
        let text = String::from_utf8_lossy(&fs::read(&f).unwrap()).to_string();
        assert!(!text.contains(secret), "secret in `{}`", f.display());
    }
    // The dry-run report shows the owner's message as it would be sent, which is theirs to
    // see; the status report must not.
    assert!(!s.stdout.contains(secret));
    assert!(r.code == 0);
}

// Issue 14, point 9: a missing AIE_SECRETS_FILE exited 1, and refused read-only commands too.
#[test]
fn a_missing_secrets_file_is_a_config_error_that_read_only_commands_survive() {
    let mut env = TestEnv::new();
    let missing = env.dir.path().join("no-such-secrets");
    env.env("AIE_SECRETS_FILE", missing.to_str().unwrap());
    let r = env.run(&["process-inbox"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("no-such-secrets"), "{r:?}");
    for args in [&["status"][..], &["schedule", "cron"]] {
        let r = env.run(args);
        assert_eq!(r.code, 0, "aie {args:?}: {r:?}");
        assert!(
            r.stderr.contains("no-such-secrets"),
            "a warning names it: {r:?}"
        );
    }
}

/// Every place a secret could end up: the whole temp folder (vault, `.aie/`, logs) and the
/// command's output.
fn leaks(env: &TestEnv, out: &str, needles: &[String]) -> Vec<String> {
    let files = files_under(env.dir.path());
    let mut found = Vec::new();
    for n in needles {
        if out.contains(n.as_str()) {
            found.push(format!("{n} in the output"));
        }
        for f in &files {
            let text = String::from_utf8_lossy(&fs::read(f).unwrap()).to_string();
            if text.contains(n.as_str()) {
                found.push(format!("{n} in {}", f.display()));
            }
        }
    }
    found
}

/// Regression (finding 13): a 5xx reply that repeats the AUTH PLAIN string and the
/// password in base64 was stored unscrubbed in the item's `review:`, the approvals ledger,
/// the journal, the audit log and the Dashboard (only the raw password was scrubbed).
#[test]
fn a_server_reply_echoing_the_password_leaves_no_trace_of_it() {
    let password = "Tr0ub4dor&3/+x~";
    let server = EchoSmtp::start(password);
    let mut env = TestEnv::new();
    env.config(&format!(
        "execution:\n  dry_run: false\n{}",
        server.config()
    ));
    env.env("AIE_SMTP_USERNAME", "alice@owner.example")
        .env("AIE_SMTP_PASSWORD", password);
    let id = env.request("q.eml",
        "From: Client <client@client.example>\nTo: sam@owner.example\nSubject: Price list\nMessage-ID: <q@client.example>\n\nCan you send me the price list?\n", "general");
    env.mv(&format!("Pending_Approval/general/{id}.md"), "Approved");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(!server.auth_lines.lock().unwrap().is_empty(), "{r:?}");
    let r2 = env.run(&["status"]);
    // The refusal itself is kept, without the secret.
    assert_eq!(env.where_is(&id), ["Pending_Approval/general"]);
    let review = env.front(&format!("Pending_Approval/general/{id}.md"))["review"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        review.contains("550") && review.contains("[secret]"),
        "{review}"
    );
    let plain = format!("\0alice@owner.example\0{password}");
    let mut needles = vec![
        password.to_string(),
        STANDARD.encode(&plain),
        STANDARD_NO_PAD.encode(&plain),
        URL_SAFE.encode(password),
        URL_SAFE_NO_PAD.encode(password),
        STANDARD.encode(password),
        "Tr0ub4dor%263%2F%2Bx~".to_string(),
    ];
    // The piece of `base64("xy" + password + "z")` that encodes only the password.
    let inside = STANDARD.encode(format!("xy{password}z"));
    needles.push(inside[3..inside.len() - 4].to_string());
    let out = format!("{}{}{}{}", r.stdout, r.stderr, r2.stdout, r2.stderr);
    let found = leaks(&env, &out, &needles);
    assert!(found.is_empty(), "{found:#?}\n{r:?}");
}
