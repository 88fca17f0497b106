//! Secrets: no secret reaches a log, the state or a report.

use crate::support::{TestEnv, files_under};
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
