//! Settings: `aie.yaml` is read strictly by every command. An unknown or misspelt key, or a
//! value outside a setting's choices, is exit 78 naming the key, the file, the line and the
//! nearest known key (or the allowed values), so a typo can never loosen the policy.

use crate::support::TestEnv;
use std::fs;

/// Every command that reads a vault's settings, as run by the owner, cron or a job.
const COMMANDS: &[&[&str]] = &[
    &["process-inbox"],
    &["plan"],
    &["execute-approved"],
    &["status"],
    &["status", "--json"],
    &["poll-gmail"],
    &["doctor"],
    &["run", "triage"],
    &["schedule", "systemd"],
    &["schedule", "cron"],
    &["alert", "--unit", "aie-triage.service"],
    &["auth", "gmail"],
];

/// Settings with `payment_auto_below` misspelt on line 7: the owner means payments of 40 and
/// more to wait for them.
const TYPO: &str = "timezone: UTC\nowner:\n  name: Sam Owner\ninbox:\n  settle_seconds: 0\npolicy:\n  payment_auto_belw: 40\n  known_payees: [Hosting Co]\n";

fn expected(env: &TestEnv) -> String {
    format!(
        "unknown setting `policy.payment_auto_belw` in `{}` line 7: did you mean `policy.payment_auto_below`?",
        env.path("aie.yaml").display()
    )
}

#[test]
fn every_command_refuses_a_misspelt_key_naming_key_file_line_and_suggestion() {
    let env = TestEnv::new();
    env.write("aie.yaml", TYPO);
    let want = expected(&env);
    for args in COMMANDS {
        let r = env.run(args);
        assert_eq!(r.code, 78, "aie {args:?}: {r:?}");
        // doctor prints it as its failing `config` check; every other command as its error.
        let shown = if args[0] == "doctor" {
            &r.stdout
        } else {
            &r.stderr
        };
        assert!(shown.contains(&want), "aie {args:?}: {r:?}");
    }
    let r = env.run(&["doctor", "--json"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stdout.contains("policy.payment_auto_belw"), "{r:?}");
}

/// Regression (issue 9): `payment_auto_belw: 40` was silently ignored, the default (100)
/// applied, and a $49 payment the owner meant to review was approved by policy and run.
/// Now no command runs on such settings: the drop stays in Inbox/, nothing is planned,
/// approved or executed; once the key is spelt right the payment waits for the owner.
#[test]
fn a_misspelt_payment_threshold_no_longer_approves_a_payment_by_policy() {
    let env = TestEnv::new();
    env.write("aie.yaml", TYPO);
    env.drop_file(
        "hosting.txt",
        "Please pay Hosting Co $49 for the monthly server payment",
    );
    for args in [&["process-inbox"][..], &["plan"], &["execute-approved"]] {
        let r = env.run(args);
        assert_eq!(r.code, 78, "aie {args:?}: {r:?}");
        assert!(r.stderr.contains(&expected(&env)), "{r:?}");
    }
    assert!(env.path("Inbox/hosting.txt").exists(), "the drop must stay");
    assert!(env.all_items().is_empty(), "{:?}", env.all_items());
    assert!(env.items_in("Approved").is_empty());
    assert!(!env.path("Logs/approvals.jsonl").exists());
    // Spelt right, the owner's threshold holds: $49 is not below 40.
    env.write("aie.yaml", TYPO.replace("_belw", "_below"));
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    assert!(env.items_in("Approved").is_empty());
    assert_eq!(env.items_in("Pending_Approval/accounting").len(), 1);
}

#[test]
fn a_key_in_the_wrong_section_and_a_value_outside_its_choices_are_refused() {
    let env = TestEnv::new();
    let file = env.path("aie.yaml").display().to_string();
    // The right name at the wrong level: it would have been ignored.
    env.config("payment_auto_below: 40\n");
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "unknown setting `payment_auto_below` in `{file}` line 6: did you mean `policy.payment_auto_below`?"
        )),
        "{r:?}"
    );
    for (extra, key, choices) in [
        (
            "smtp:\n  security: ssl\n",
            "smtp.security",
            "starttls, tls, none",
        ),
        (
            "gmail:\n  mark: read\n",
            "gmail.mark",
            "unread, label, both",
        ),
        (
            "llm:\n  provider: gpt\n",
            "llm.provider",
            "template, anthropic, openai_compatible",
        ),
        ("odoo:\n  api: xmlrpc\n", "odoo.api", "jsonrpc, json2"),
    ] {
        env.config(extra);
        let r = env.run(&["status"]);
        assert_eq!(r.code, 78, "{extra}: {r:?}");
        assert!(
            r.stderr
                .contains(&format!("invalid value for `{key}` in `{file}` line 7: ")),
            "{r:?}"
        );
        assert!(r.stderr.contains(choices), "{r:?}");
    }
    // A misspelt action kind in the rate limits would leave the real kind at its default.
    env.config("policy:\n  rate_limits:\n    send_emial: 1\n");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("did you mean `send_email`?"), "{r:?}");
    // YAML that does not parse names the file and the line, never `<input>`.
    env.config("policy: [\n");
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(
        r.stderr.contains(&format!("cannot parse `{file}` line ")),
        "{r:?}"
    );
    assert!(!r.stderr.contains("<input>"), "{r:?}");
}

/// A duration, quiet hours or an alert level that does not parse was replaced by its default
/// without a word (`approval_expires: 2 dayz` kept requests for 24 h; a misspelt level made
/// every alert critical).
#[test]
fn a_duration_quiet_hours_or_level_that_does_not_parse_is_refused() {
    let env = TestEnv::new();
    let file = env.path("aie.yaml").display().to_string();
    for (extra, key, line, says) in [
        (
            "policy:\n  approval_expires: 2 dayz\n",
            "policy.approval_expires",
            7,
            "`2 dayz` is not a duration",
        ),
        (
            "policy:\n  nudge_every: 0\n",
            "policy.nudge_every",
            7,
            "`0` is not a duration",
        ),
        (
            "policy:\n  quiet_hours: late\n",
            "policy.quiet_hours",
            7,
            "HH:MM-HH:MM",
        ),
        (
            "failover:\n  hold_down: half an hour\n",
            "failover.hold_down",
            7,
            "is not a duration",
        ),
        (
            "health:\n  max_wait: two days\n",
            "health.max_wait",
            7,
            "is not a duration",
        ),
        (
            "health:\n  live_every: 0\n",
            "health.live_every",
            7,
            "`0` is not a duration",
        ),
        (
            "health:\n  checks:\n  - name: web\n    tcp: 127.0.0.1:9\n    level: critcal\n",
            "health.checks[0].level",
            10,
            "info, warning, critical",
        ),
    ] {
        env.config(extra);
        for cmd in [&["status"][..], &["plan"], &["doctor"]] {
            let r = env.run(cmd);
            assert_eq!(r.code, 78, "{extra} {cmd:?}: {r:?}");
            // `doctor` reports on stdout, one line per check; the others fail on stderr.
            let said = format!("{}{}", r.stdout, r.stderr);
            assert!(
                said.contains(&format!(
                    "invalid value for `{key}` in `{file}` line {line}: "
                )),
                "{r:?}"
            );
            assert!(said.contains(says), "{r:?}");
        }
    }
    // The same settings, written well, load.
    env.config(
        "policy:\n  approval_expires: 2d\n  quiet_hours: '22:00-07:00'\nhealth:\n  max_wait: 90m\n",
    );
    env.ok(&["status"]);
}

#[test]
fn the_template_settings_load() {
    let env = TestEnv::new();
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vault_template/aie.yaml"),
    )
    .unwrap();
    env.write("aie.yaml", &template);
    env.ok(&["status"]);
    let r = env.run(&["doctor", "--json"]);
    assert!(r.stdout.contains("parses and every key is known"), "{r:?}");
}

/// Every setting SPEC.md names ("Settings and secrets"), each in the form it documents.
const SPEC_COMPLETE: &str = r#"timezone: Europe/Berlin
owner:
  name: Sam Owner
  email: sam@owner.example
  business: Owner Ltd
inbox:
  max_file_bytes: 1048576
  settle_seconds: 0
routing:
  domains:
    legal: [contract]
  high_priority: [urgent]
  low_priority: [fyi]
policy:
  known_contacts: ["@acme.example"]
  known_payees: [Hosting Co]
  payment_auto_below: 50
  rate_limits: {send_email: 5, payment: 1, social_post: 2}
  approval_expires: 48h
  bulk_recipients: 3
  content_calendar: Content_Calendar.md
  replan_rejected: true
  nudge_after: 2h
  nudge_every: 6h
  quiet_hours: "22:00-07:00"
execution:
  dry_run: true
llm:
  provider: template
  model: claude-sonnet-4-5
  api_base: https://api.anthropic.com
  api_version: "2023-06-01"
  max_tokens: 1000
  daily_token_budget: 100000
planner:
  acknowledge: true
smtp:
  host: smtp.example.com
  port: 587
  security: starttls
  from: "Sam Owner <sam@owner.example>"
  ca_file: /etc/ssl/ca.pem
  timeout_seconds: 30
  auth: false
gmail:
  api_base: https://gmail.googleapis.com
  token_url: https://oauth2.googleapis.com/token
  auth_url: https://accounts.google.com/o/oauth2/v2/auth
  query: "is:unread"
  mark: label
  max_per_run: 50
  max_attachment_bytes: 1048576
  timeout_seconds: 60
  authserv_id: mx.google.com
odoo:
  url: https://odoo.example.com
  db: owner
  api: json2
facebook:
  graph_base: https://graph.facebook.com/v21.0
  page_id: "123"
instagram:
  graph_base: https://graph.facebook.com/v21.0
  user_id: "456"
whatsapp:
  graph_base: https://graph.facebook.com/v21.0
  phone_number_id: "789"
  verify_token: hook-word
x:
  api_base: https://api.x.com
linkedin:
  api_base: https://api.linkedin.com
  author: "urn:li:person:abc"
  version: "202506"
sync:
  remote: /nonexistent/remote.git
  branch: main
  trusted_signers: ["ssh-ed25519 AAAA owner"]
zones:
  - name: home
    health_url: https://home.example/health
  - name: vps
failover:
  auto_failback: true
alerts:
  webhook_url: https://hooks.example/aie
backup:
  dir: /var/backups/aie
  keep: 14
  encrypt_to: age1example
"#;

#[test]
fn a_settings_file_with_every_spec_setting_loads() {
    let env = TestEnv::new();
    env.write("aie.yaml", SPEC_COMPLETE);
    env.ok(&["status"]);
    env.ok(&["process-inbox"]);
    let r = env.run(&["doctor", "--json"]);
    assert!(r.stdout.contains("parses and every key is known"), "{r:?}");
}

#[test]
fn every_vault_command_exits_78_in_a_folder_without_settings() {
    let env = TestEnv::new();
    let empty = env.dir.path().join("plain-folder");
    fs::create_dir_all(&empty).unwrap();
    for args in [
        &["process-inbox"][..],
        &["plan"],
        &["execute-approved"],
        &["status"],
        &["doctor"],
        &["run", "execute"],
        &["schedule", "cron"],
        &["alert", "--unit", "aie-execute.service"],
    ] {
        let mut c = env.cmd();
        c.env("AIE_VAULT", &empty).args(args);
        let r = env.run_cmd(&mut c);
        assert_eq!(r.code, 78, "{args:?}: {r:?}");
    }
    assert!(
        fs::read_dir(&empty).unwrap().next().is_none(),
        "nothing may be created there"
    );
}
