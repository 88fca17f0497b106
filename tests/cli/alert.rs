//! `aie alert`: a failed unit is recorded in the logs, the state and the dashboard until its
//! job succeeds, names `journalctl --user` for a user unit, and is mailed to the owner through
//! the SMTP connector when `smtp:` is set up (no item, no action).

use crate::support::jobs::TRIAGE;
use crate::support::smtp::SmtpServer;
use crate::support::{TestEnv, state};
use serde_json::Value;

#[test]
fn alert_records_the_failed_unit_in_logs_state_and_the_dashboard_until_the_job_succeeds() {
    let env = TestEnv::new();
    env.write("jobs/triage.yaml", TRIAGE);
    let r = env.run(&["alert", "--unit", "aie-triage.service"]);
    assert_eq!(r.code, 0, "{r:?}");
    let line: Value =
        serde_json::from_str(env.read("Logs/alerts/2026-11-23.jsonl").trim()).unwrap();
    assert_eq!(line["unit"], "aie-triage.service");
    let s = state(&env);
    assert!(
        s["attention"]["alert:aie-triage.service"]["message"]
            .as_str()
            .unwrap()
            .contains("aie-triage.service failed")
    );
    assert!(
        env.read("Dashboard.md")
            .contains("aie-triage.service failed")
    );
    assert!(env.audit().iter().any(|l| l["action"] == "alert"));
    let r = env.run(&["alert", "--unit", "x; rm -rf /"]);
    assert_eq!(r.code, 2, "{r:?}");
    // The next success of the job clears it.
    env.ok(&["run", "triage"]);
    assert!(state(&env)["attention"]["alert:aie-triage.service"].is_null());
}

// Issue 14, point 3: the alert said `journalctl -u`, wrong for user units.
#[test]
fn an_alert_from_a_user_unit_names_journalctl_user() {
    let env = TestEnv::new();
    let dir = env.dir.path().join("units");
    env.ok(&[
        "schedule",
        "install",
        "--no-enable",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let alert = std::fs::read_to_string(dir.join("aie-alert@.service")).unwrap();
    assert!(alert.contains("alert --user --unit %i"), "{alert}");
    env.ok(&["alert", "--user", "--unit", "aie-triage.service"]);
    let v: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    assert!(
        v["attention"]
            .to_string()
            .contains("journalctl --user -u aie-triage.service"),
        "{v}"
    );
}

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
