//! Connector capabilities: the owner's alert goes out through the mail capability (no item,
//! no action), and `doctor`'s list of needed secrets comes from the connectors' own
//! declarations.

use crate::support::TestEnv;
use crate::support::smtp::SmtpServer;
use serde_json::Value;

// `aie alert` built a fake item and a fake `send_email` action to mail the owner; it now
// sends an `OutgoingMail` through the SMTP connector's `Mailer`. What the owner receives is
// unchanged (one mail, the same stable Message-ID), and nothing of an action is recorded.
#[test]
fn alert_mails_the_owner_through_smtp_with_no_item_or_action() {
    let server = SmtpServer::start("plain", &[]);
    let env = TestEnv::new();
    env.write(
        "aie.yaml",
        format!(
            "timezone: UTC\nowner:\n  name: Sam Owner\n  email: sam@owner.example\nexecution:\n  dry_run: false\n{}",
            server.config("none", false)
        ),
    );
    let r = env.run(&["alert", "--unit", "aie-plan.service", "--message", "exit 1"]);
    assert_eq!(r.code, 0, "{r:?}");
    let got = server.messages();
    assert_eq!(got.len(), 1, "one alert mail");
    assert_eq!(got[0].rcpts(), ["sam@owner.example"]);
    assert_eq!(
        got[0].header("Subject").unwrap(),
        "aie: aie-plan.service failed"
    );
    let mid = got[0].header("Message-ID").unwrap();
    assert!(
        mid.starts_with("<aie.alert-aie-plan-service-") && mid.ends_with("@owner.example>"),
        "{mid}"
    );
    assert!(got[0].parsed().body_text(0).unwrap().contains("exit 1"));
    // An alert is not an action: no journal entry, no send_email in the audit, no item.
    let journal = std::fs::read_to_string(env.path(".aie/journal.jsonl")).unwrap_or_default();
    assert!(!journal.contains("send_email"), "{journal}");
    let audit = env.audit();
    assert!(
        audit.iter().all(|a| a["action"] != "send_email"),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|a| a["action"] == "alert" && a["target"] == "aie-plan.service"),
        "{audit:?}"
    );
    assert!(env.all_items().is_empty(), "{:?}", env.all_items());
}

fn doctor_secret_lines(env: &TestEnv) -> Vec<Value> {
    let r = env.run(&["doctor", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{r:?}"));
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "secrets" || c["check"] == "smtp" || c["check"] == "gmail")
        .cloned()
        .collect()
}

// Doctor warned that a relay with `smtp.auth: false` lacked AIE_SMTP_USERNAME and
// AIE_SMTP_PASSWORD: its list of secrets was a table of its own, not the connector's.
#[test]
fn doctor_asks_for_the_smtp_login_only_when_smtp_authenticates() {
    let env = TestEnv::new();
    env.config("smtp:\n  host: 127.0.0.1\n  port: 2525\n  security: none\n  from: a@b.example\n  auth: false\n");
    let lines = doctor_secret_lines(&env);
    let text = serde_json::to_string(&lines).unwrap();
    assert!(!text.contains("AIE_SMTP"), "{text}");
    assert!(
        lines
            .iter()
            .any(|c| c["check"] == "smtp" && c["status"] == "ok"),
        "the connector's own check runs: {text}"
    );
    env.config("smtp:\n  host: 127.0.0.1\n  port: 2525\n  security: none\n  from: a@b.example\n  auth: true\n");
    let lines = doctor_secret_lines(&env);
    let failed: Vec<&Value> = lines.iter().filter(|c| c["status"] == "fail").collect();
    assert_eq!(failed.len(), 1, "{lines:?}");
    let msg = failed[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("AIE_SMTP_USERNAME") && msg.contains("AIE_SMTP_PASSWORD"),
        "{msg}"
    );
}

#[test]
fn doctor_names_the_gmail_secrets_when_gmail_is_set_up_and_checks_its_settings() {
    let mut env = TestEnv::new();
    let r = env.run(&["doctor", "--json"]);
    assert!(!r.stdout.contains("AIE_GMAIL"), "{r:?}");
    env.config("gmail:\n  query: in:inbox\n");
    let text = serde_json::to_string(&doctor_secret_lines(&env)).unwrap();
    for n in [
        "AIE_GMAIL_CLIENT_ID",
        "AIE_GMAIL_CLIENT_SECRET",
        "AIE_GMAIL_REFRESH_TOKEN",
    ] {
        assert!(text.contains(n), "{n}: {text}");
    }
    // With its secrets, Gmail's own check looks at its settings (no network).
    env.env("AIE_GMAIL_CLIENT_ID", "id.apps.example")
        .env("AIE_GMAIL_CLIENT_SECRET", "client-secret")
        .env("AIE_GMAIL_REFRESH_TOKEN", "1//refresh");
    env.config("gmail:\n  query: in:inbox\n  token_url: ftp://tokens.example/token\n");
    let lines = doctor_secret_lines(&env);
    let gmail = lines.iter().find(|c| c["check"] == "gmail").unwrap();
    assert_eq!(gmail["status"], "fail", "{lines:?}");
    assert!(
        gmail["message"]
            .as_str()
            .unwrap()
            .contains("gmail.token_url")
    );
}
