//! `aie doctor`: one line per check for a healthy set-up, and each broken one with its fix.

use crate::support::TestEnv;
use crate::support::jobs::TRIAGE;
use serde_json::Value;

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
