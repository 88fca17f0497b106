//! `aie doctor`: one line per check for a healthy set-up, and each broken one with its fix; a
//! fresh vault only warns, colours only on a terminal, and the secrets it asks for come from
//! the connectors' own declarations (SMTP login only when SMTP authenticates, Gmail's only
//! when Gmail is set up).

use crate::support::TestEnv;
use crate::support::jobs::TRIAGE;
use serde_json::Value;
use std::path::Path;

/// A vault doctor finds healthy: a triage this branch can run, user units installed and
/// enabled under the test HOME.
fn healthy() -> TestEnv {
    let env = TestEnv::new();
    env.write("jobs/triage.yaml", TRIAGE);
    env.ok(&["schedule", "install", "--no-enable"]);
    let dir = env.dir.path().join(".config/systemd/user");
    let wants = dir.join("timers.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    // Every installed timer is enabled (whatever built-in jobs there are).
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let t = e.file_name();
        if t.to_string_lossy().ends_with(".timer") {
            std::os::unix::fs::symlink(dir.join(&t), wants.join(&t)).unwrap();
        }
    }
    env
}

fn doctor_line<'a>(r: &'a crate::support::Run, check: &str) -> &'a str {
    r.stdout
        .lines()
        .find(|l| l[5..].starts_with(&format!("{check}:")) && l.starts_with("FAIL"))
        .unwrap_or_else(|| panic!("no failing `{check}` line: {r:?}"))
}

#[test]
fn doctor_passes_a_healthy_setup_and_prints_one_line_per_check() {
    let env = healthy();
    let r = env.run(&["doctor"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("FAIL"), "{r:?}");
    for check in [
        "config",
        "secrets file",
        "vault layout",
        "locks",
        "clock",
        "jobs",
        "schedule",
    ] {
        assert!(
            r.stdout
                .lines()
                .any(|l| l[5..].starts_with(&format!("{check}:"))),
            "{check}: {r:?}"
        );
    }
    let r = env.run(&["doctor", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] != "fail")
    );
}

#[test]
fn doctor_reports_each_broken_setup_with_its_fix() {
    let mut env = healthy();
    // A secrets file anyone can read.
    let loose = env.dir.path().join("secrets");
    std::fs::write(&loose, "AIE_X_TOKEN=abc\n").unwrap();
    std::fs::set_permissions(&loose, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    env.env("AIE_SECRETS_FILE", loose.to_str().unwrap());
    let r = env.run(&["doctor"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        doctor_line(&r, "secrets file").contains("chmod 600"),
        "{r:?}"
    );
    assert!(
        !r.stdout.contains("abc"),
        "a secret value was printed: {r:?}"
    );
    // A private secrets file, but inside the vault.
    let inside = env.write("secrets.env", "AIE_X_TOKEN=abc\n");
    std::fs::set_permissions(&inside, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    env.env("AIE_SECRETS_FILE", inside.to_str().unwrap());
    let r = env.run(&["doctor"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        doctor_line(&r, "secrets file").contains("inside the vault"),
        "{r:?}"
    );
    env.envs.clear();
    // A missing stage folder (doctor does not recreate it).
    std::fs::remove_dir_all(env.path("Needs_Action/social")).unwrap();
    let r = env.run(&["doctor"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        doctor_line(&r, "vault layout").contains("Needs_Action/social"),
        "{r:?}"
    );
    assert!(
        doctor_line(&r, "vault layout").contains("aie init"),
        "{r:?}"
    );
    assert!(!env.path("Needs_Action/social").exists());
    std::fs::create_dir_all(env.path("Needs_Action/social")).unwrap();
    // Unknown keys, top-level and nested: every one is named, and (issue 9) settings that
    // do not read are a config error, 78, for doctor as for every command.
    env.config(
        "frobnicate: 1\npolicy:\n  aproval_expires: 1h\n  rate_limits:\n    social_post: 2\n",
    );
    let r = env.run(&["doctor", "--json"]);
    assert_eq!(r.code, 78, "{r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let config = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "config")
        .unwrap();
    assert_eq!(config["status"], "fail");
    let msg = config["message"].as_str().unwrap();
    assert!(
        msg.contains("frobnicate") && msg.contains("policy.aproval_expires"),
        "{msg}"
    );
    assert!(!msg.contains("social_post"), "{msg}");
    env.config("");
    // A configured service without its secrets.
    env.config("x:\n  api_base: http://127.0.0.1:9\n");
    let r = env.run(&["doctor"]);
    assert!(doctor_line(&r, "secrets").contains("AIE_X_TOKEN"), "{r:?}");
    env.config("");
    // A job whose step this binary does not have.
    env.write(
        "jobs/triage.yaml",
        "description: d\nsteps: [frobnicate]\nschedule: '*/2 * * * *'\nagents: both\n",
    );
    let r = env.run(&["doctor"]);
    assert!(doctor_line(&r, "jobs").contains("frobnicate"), "{r:?}");
    env.write("jobs/triage.yaml", TRIAGE);
    // Timers removed, and no crontab runs aie.
    env.ok(&["schedule", "uninstall", "--no-enable"]);
    let r = env.run(&["doctor"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        doctor_line(&r, "schedule").contains("aie schedule install"),
        "{r:?}"
    );
}

#[test]
fn doctor_checks_that_the_sync_remote_answers() {
    let env = healthy();
    let bare = env.dir.path().join("remote.git");
    let st = std::process::Command::new("git")
        .args(["init", "--bare", "-q"])
        .arg(&bare)
        .status()
        .unwrap();
    assert!(st.success());
    env.config(&format!("sync:\n  remote: {}\n", bare.display()));
    let r = env.run(&["doctor"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("ok   sync remote:"), "{r:?}");
    env.config(&format!(
        "sync:\n  remote: {}\n",
        env.dir.path().join("gone.git").display()
    ));
    let r = env.run(&["doctor"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        doctor_line(&r, "sync remote").contains("does not answer"),
        "{r:?}"
    );
}

#[test]
fn doctor_reports_a_lock_held_on_behalf_of_a_process_that_is_gone() {
    let env = healthy();
    let dir = env.path(".aie/locks");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plan.lock");
    // This test process holds the lock, but the holder text names a pid that is gone (as
    // when a child inherited the descriptor of a dead run).
    std::fs::write(&path, "pid 2147483600 job plan agent local since x").unwrap();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    f.try_lock().unwrap();
    let r = env.run(&["doctor"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        doctor_line(&r, "locks").contains("`plan` (pid 2147483600)"),
        "{r:?}"
    );
    drop(f);
    let r = env.run(&["doctor"]);
    assert_eq!(r.code, 0, "{r:?}");
}

// Issue 14, point 10: doctor failed (exit 1) on a fresh vault only because nothing was scheduled
// yet; its tags were never coloured.
#[test]
fn doctor_on_a_fresh_vault_warns_and_colours_only_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let env = TestEnv::new();
    let fresh = dir.path().join("v");
    env.ok(&["init", fresh.to_str().unwrap()]);
    // Units are looked for in an empty folder: what this machine has installed is not ours.
    let units = dir.path().join("units");
    std::fs::create_dir(&units).unwrap();
    let mut c = env.cmd();
    c.env("AIE_VAULT", &fresh).env_remove("AIE_NOW").args([
        "doctor",
        "--units",
        units.to_str().unwrap(),
    ]);
    let r = env.run_cmd(&mut c);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("FAIL"), "{r:?}");
    let line = r.stdout.lines().find(|l| l.contains("schedule:")).unwrap();
    assert!(
        line.starts_with("warn") && line.contains("not scheduled yet"),
        "{line}"
    );
    assert!(!r.stdout.contains('\x1b'), "no colour in a pipe: {r:?}");
    // On a terminal (script(1) gives it one): coloured, unless NO_COLOR.
    if which("script") {
        let bin = env!("CARGO_BIN_EXE_aie");
        for (no_color, want) in [(None, true), (Some("1"), false)] {
            let mut c = std::process::Command::new("script");
            let line = format!("{bin} doctor --units {}", units.display());
            c.args(["-qec", &line, "/dev/null"])
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("HOME", env.dir.path())
                .env("AIE_VAULT", &fresh);
            if let Some(v) = no_color {
                c.env("NO_COLOR", v);
            }
            let out = c.output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                text.contains("\x1b[33mwarn\x1b[0m"),
                want,
                "NO_COLOR {no_color:?}: {text}"
            );
        }
    }
}

fn which(cmd: &str) -> bool {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .any(|d| Path::new(d).join(cmd).is_file())
}

/// The checks of `doctor --json` whose name `keep` keeps.
fn doctor_checks(env: &TestEnv, keep: impl Fn(&str) -> bool) -> Vec<Value> {
    let r = env.run(&["doctor", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{r:?}"));
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| keep(c["check"].as_str().unwrap()))
        .cloned()
        .collect()
}

fn doctor_secret_lines(env: &TestEnv) -> Vec<Value> {
    doctor_checks(env, |c| matches!(c, "secrets" | "smtp" | "gmail"))
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

/// The checks of `doctor --json` whose name starts with `prefix`.
fn checks_named(env: &TestEnv, prefix: &str) -> Vec<Value> {
    doctor_checks(env, |c| c.starts_with(prefix))
}

fn status_of(checks: &[Value], name: &str) -> String {
    let c = checks.iter().find(|c| c["check"] == name);
    let c = c.unwrap_or_else(|| panic!("no `{name}` in {checks:?}"));
    c["status"].as_str().unwrap().to_string()
}

// Doctor asked Odoo and the social platforms live but never Gmail nor the mail server:
// health-check had those two live checks of its own (issue 9). Both now come from the
// connectors, so doctor asks every one that has a live check.
#[test]
fn doctor_checks_the_gmail_token_and_the_smtp_login_live() {
    use crate::support::gmail_fake::{GmailFake, gmail_env};
    use crate::support::smtp::SmtpServer;
    let fake = GmailFake::start();
    let server = SmtpServer::start("auth", &["--user", "alice", "--password", "right"]);
    let mut env = gmail_env(&fake, "");
    env.config(&format!(
        "{}{}",
        fake.config(""),
        server.config("none", true)
    ));
    env.env("AIE_SMTP_USERNAME", "alice")
        .env("AIE_SMTP_PASSWORD", "right");
    let gmail = checks_named(&env, "gmail");
    assert_eq!(status_of(&gmail, "gmail token"), "ok", "{gmail:?}");
    assert_eq!(status_of(&checks_named(&env, "smtp"), "smtp login"), "ok");
    // A revoked grant and a wrong password: each fails with its fix, never the secret.
    // (The access token is cached: without the cache, the grant is asked again.)
    fake.mailbox.lock().unwrap().invalid_grant = true;
    std::fs::remove_file(env.vault.join(".aie/gmail_token.json")).unwrap();
    env.env("AIE_SMTP_PASSWORD", "wrong-pass-4321");
    let r = env.run(&["doctor"]);
    assert_eq!(r.code, 1, "{r:?}");
    let line = doctor_line(&r, "gmail token");
    assert!(line.contains("aie auth gmail"), "{line}");
    assert!(
        doctor_line(&r, "smtp login").contains("AIE_SMTP_PASSWORD"),
        "{r:?}"
    );
    assert!(!r.stdout.contains("wrong-pass-4321"), "{r:?}");
    // The cloud agent sends nothing: no SMTP login asked for, none tried.
    env.env("AIE_MODE", "draft_only")
        .env("AIE_SMTP_PASSWORD", "");
    let smtp = checks_named(&env, "smtp");
    assert!(smtp.is_empty(), "{smtp:?}");
    let secrets = serde_json::to_string(&checks_named(&env, "secrets")).unwrap();
    assert!(!secrets.contains("AIE_SMTP"), "{secrets}");
}
