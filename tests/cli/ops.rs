//! Operations: `aie run` (codes, lock, timeout, pings, state), missed-run detection in
//! `status`, the generated systemd units and crontab, `alert`, `doctor`, completions, man.

use crate::support::TestEnv;
use crate::support::http::{FakeServer, Response};
use serde_json::Value;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A vault job file that overrides the built-in `triage` with steps this branch has.
const TRIAGE: &str = "description: test triage\nsteps: [process-inbox, plan]\nschedule: '*/2 * * * *'\nagents: both\ntimeout: 60s\n";

fn state(env: &TestEnv) -> Value {
    serde_json::from_str(&env.read(".aie/state.json")).unwrap()
}

/// A ping server whose `/start` blocks until released: it says when a start arrived, and
/// answers it once the test sends on the release channel.
struct BlockingPings {
    server: FakeServer,
    arrived: Receiver<()>,
    release: Sender<()>,
}

fn blocking_pings() -> BlockingPings {
    let (arrived_tx, arrived) = mpsc::channel::<()>();
    let (release, release_rx) = mpsc::channel::<()>();
    let arrived_tx = Arc::new(Mutex::new(arrived_tx));
    let release_rx = Arc::new(Mutex::new(release_rx));
    let server = FakeServer::start(move |r| {
        if r.path().ends_with("/start") {
            arrived_tx.lock().unwrap().send(()).unwrap();
            // Bounded so that a failing test cannot hang the suite.
            let _ = release_rx
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(60));
        }
        Response::text(200, "text/plain", "OK")
    });
    BlockingPings {
        server,
        arrived,
        release,
    }
}

/// The binary as a std command with `TestEnv::cmd`'s environment (for a child to spawn).
fn std_cmd(env: &TestEnv) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("aie"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", env.dir.path())
        .env("AIE_NOW", &env.now)
        .env("AIE_VAULT", &env.vault)
        .current_dir(env.dir.path());
    for (k, v) in &env.envs {
        c.env(k, v);
    }
    c
}

#[test]
fn a_job_that_succeeds_prints_nothing_and_records_each_step_and_the_job() {
    let env = TestEnv::new();
    env.write("jobs/triage.yaml", TRIAGE);
    env.drop_file("note.txt", "please check the numbers\n");
    let r = env.run(&["run", "triage"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    assert_eq!(r.stderr, "", "{r:?}");
    let s = state(&env);
    assert_eq!(s["jobs"]["triage"]["last_exit"], 0);
    assert!(s["jobs"]["triage"]["last_success"].is_string());
    assert_eq!(s["jobs"]["process-inbox"]["last_exit"], 0);
    assert_eq!(s["jobs"]["plan"]["last_exit"], 0);
    assert_eq!(s["run"]["triage"]["steps"].as_array().unwrap().len(), 2);
    let audit = env.audit();
    let steps: Vec<&Value> = audit
        .iter()
        .filter(|l| l["action"] == "run_step" && l["job"] == "triage")
        .collect();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["target"], "process-inbox");
    assert!(
        audit
            .iter()
            .any(|l| l["action"] == "run_job" && l["job"] == "triage" && l["result"] == "ok")
    );
    // The step did its work: the drop became an item and was planned.
    assert!(env.items_in("Inbox").is_empty());
}

#[test]
fn a_failing_step_gives_the_worst_code_and_continue_or_stop_decides_the_rest() {
    let env = TestEnv::new();
    env.write(
        "aie.yaml",
        "timezone: UTC\ninbox:\n  settle_seconds: 0\n  max_file_bytes: 10\n",
    );
    env.drop_file("big.txt", "far more than ten bytes of text\n");
    env.write("jobs/triage.yaml", TRIAGE);
    let r = env.run(&["run", "triage"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("big.txt"), "{r:?}");
    assert!(r.stderr.contains("step `process-inbox` exited 1"), "{r:?}");
    let s = state(&env);
    assert_eq!(s["jobs"]["triage"]["last_exit"], 1);
    assert_eq!(s["jobs"]["triage"]["consecutive_failures"], 1);
    assert!(s["jobs"]["triage"]["last_success"].is_null());
    // continue: plan ran after the failed step.
    assert_eq!(s["jobs"]["plan"]["last_exit"], 0);
    // stop: plan is not started (a new bad drop: a known problem is reported once only).
    env.drop_file("big2.txt", "another file of more than ten bytes\n");
    env.write("jobs/triage.yaml", format!("{TRIAGE}on_failure: stop\n"));
    let r = env.run(&["run", "triage"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("not started: plan"), "{r:?}");
    let s = state(&env);
    assert_eq!(s["jobs"]["triage"]["consecutive_failures"], 2);
    assert_eq!(s["run"]["triage"]["skipped"][0], "plan");
}

#[test]
fn a_step_that_is_not_an_aie_vault_command_is_refused_before_anything_runs() {
    let env = TestEnv::new();
    env.drop_file("note.txt", "hello\n");
    for (step, says) in [
        ("frobnicate", "is not an aie command this binary can run"),
        ("'sh -c true'", "is not an aie command this binary can run"),
        ("'run triage'", "cannot be a job step"),
    ] {
        env.write(
            "jobs/triage.yaml",
            format!("description: d\nsteps: [process-inbox, {step}]\nschedule: '*/2 * * * *'\n"),
        );
        let r = env.run(&["run", "triage"]);
        assert_eq!(r.code, 78, "{step}: {r:?}");
        assert!(r.stderr.contains(says), "{step}: {r:?}");
        assert!(r.stderr.contains("job `triage`"), "{r:?}");
        // Nothing ran: the drop is still in the Inbox.
        assert_eq!(env.items_in("Inbox").len(), 0);
        assert!(env.path("Inbox/note.txt").exists());
    }
    let r = env.run(&["run", "nosuchjob"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no job named `nosuchjob`"), "{r:?}");
}

#[test]
fn two_concurrent_runs_of_triage_give_one_run_and_one_75() {
    let env = TestEnv::new();
    let pings = blocking_pings();
    env.write(
        "jobs/triage.yaml",
        format!("{TRIAGE}ping_url: {}/abc-uuid\n", pings.server.url()),
    );
    let first = std_cmd(&env)
        .args(["run", "triage"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first run holds the job lock while its start ping waits.
    pings
        .arrived
        .recv_timeout(Duration::from_secs(30))
        .expect("first run pinged /start");
    let second = env.run(&["run", "triage"]);
    assert_eq!(second.code, 75, "{second:?}");
    assert_eq!(second.stdout, "");
    pings.release.send(()).unwrap();
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let paths: Vec<String> = pings
        .server
        .hits()
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    assert_eq!(paths, vec!["/abc-uuid/start", "/abc-uuid/0"]);
    let s = state(&env);
    assert_eq!(s["jobs"]["triage"]["last_exit"], 0);
    assert_eq!(s["jobs"]["triage"]["consecutive_failures"], 0);
    let runs = env
        .audit()
        .iter()
        .filter(|l| l["action"] == "run_job")
        .count();
    assert_eq!(runs, 1);
}

#[test]
fn a_job_past_its_timeout_is_stopped_with_code_1_and_recorded() {
    let env = TestEnv::new();
    let pings = blocking_pings();
    env.write(
        "jobs/triage.yaml",
        format!(
            "description: slow\nsteps: [process-inbox, plan]\nschedule: '*/2 * * * *'\ntimeout: 2s\nping_url: {}/p\n",
            pings.server.url()
        ),
    );
    // The start ping never answers in time, so the watchdog ends the run.
    let r = env.run(&["run", "triage"]);
    let _ = pings.release.send(());
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("timed out after 2s"), "{r:?}");
    let s = state(&env);
    assert_eq!(s["jobs"]["triage"]["last_exit"], 1);
    assert_eq!(s["jobs"]["triage"]["consecutive_failures"], 1);
    assert!(
        s["attention"]["run-triage:timeout"]["message"]
            .as_str()
            .unwrap()
            .contains("timeout of 2s"),
        "{s}"
    );
    assert!(
        env.audit()
            .iter()
            .any(|l| l["action"] == "run_job" && l["result"] == "timeout")
    );
    // The lock was released with the process: the next run goes ahead.
    env.write("jobs/triage.yaml", TRIAGE);
    env.ok(&["run", "triage"]);
    assert!(state(&env)["attention"]["run-triage:timeout"].is_null());
}

#[test]
fn a_local_only_job_is_refused_on_the_cloud_agent() {
    let mut env = TestEnv::new();
    env.env("AIE_MODE", "draft_only").env("AIE_AGENT", "cloud");
    let r = env.run(&["run", "execute"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("local agent only"), "{r:?}");
}

/// The repo's own folder (the committed `jobs/`, `systemd/` and `cron/`).
fn repo(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Files of a folder as (name, text), sorted.
fn files_of(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The arguments that produce the committed `systemd/` and `cron/` folders.
const REFERENCE: &[&str] = &[
    "--binary",
    "/usr/local/bin/aie",
    "--vault-path",
    "/var/lib/aie/vault",
    "--secrets-file",
    "/etc/aie/secrets",
];

#[test]
fn committed_systemd_and_cron_folders_match_a_fresh_generation_from_jobs() {
    let env = TestEnv::new();
    let out = env.dir.path().join("gen");
    let mut args = vec!["schedule", "systemd", "--out", out.to_str().unwrap()];
    args.extend(REFERENCE);
    env.ok(&args);
    let mut args = vec!["schedule", "cron", "--out", out.to_str().unwrap()];
    args.extend(REFERENCE);
    env.ok(&args);
    let generated = files_of(&out);
    let mut committed = files_of(&repo("systemd"));
    committed.extend(files_of(&repo("cron")));
    committed.sort();
    let names = |v: &[(String, String)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&committed),
        names(&generated),
        "systemd/ and cron/ drifted from jobs/: regenerate them (see README)"
    );
    for ((name, want), (_, got)) in committed.iter().zip(&generated) {
        assert_eq!(
            want, got,
            "`{name}` drifted from jobs/: regenerate it (see README)"
        );
    }
    // Every job file of the repo is built in, and has its unit pair and crontab line.
    let builtin: Vec<String> = aie::schedule::jobs::BUILTIN
        .iter()
        .map(|b| b.0.to_string())
        .collect();
    let mut files: Vec<String> = files_of(&repo("jobs"))
        .into_iter()
        .map(|(n, _)| n.trim_end_matches(".yaml").to_string())
        .collect();
    files.sort();
    let mut b = builtin.clone();
    b.sort();
    assert_eq!(files, b, "jobs/ and jobs::BUILTIN differ");
    for name in builtin {
        assert!(out.join(format!("aie-{name}.service")).is_file());
        assert!(out.join(format!("aie-{name}.timer")).is_file());
    }
}

#[test]
fn the_crontab_parses_and_has_one_line_per_job() {
    let env = TestEnv::new();
    let r = env.ok(&["schedule", "cron", "--binary", "/usr/local/bin/aie"]);
    assert!(r.stdout.contains("CRON_TZ=UTC\n"), "{r:?}");
    assert!(
        r.stdout.contains("PATH=/usr/local/bin:/usr/bin:/bin\n"),
        "{r:?}"
    );
    assert!(r.stdout.contains(&format!(
        "AIE_VAULT={}\n",
        env.vault.canonicalize().unwrap().display()
    )));
    let mut seen = Vec::new();
    for line in r.stdout.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.split_whitespace().next().unwrap();
        if first.contains('=') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 8, "not `m h dom mon dow aie run JOB`: {line}");
        let expr = fields[..5].join(" ");
        aie::schedule::cron::Cron::parse(&expr).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(&fields[5..7], ["/usr/local/bin/aie", "run"]);
        seen.push((fields[7].to_string(), expr));
    }
    let mut want: Vec<(String, String)> = aie::schedule::jobs::builtin()
        .into_iter()
        .map(|j| (j.name, j.schedule.text))
        .collect();
    want.sort();
    seen.sort();
    assert_eq!(seen, want);
    // A vault job file changes the crontab: it is read from jobs/, never written twice.
    env.write(
        "jobs/execute.yaml",
        "description: d\nsteps: [execute-approved]\nschedule: '30 2 * * *'\nagents: local\n",
    );
    let r = env.ok(&["schedule", "cron", "--binary", "/usr/local/bin/aie"]);
    assert!(
        r.stdout
            .contains("\n30 2 * * * /usr/local/bin/aie run execute\n"),
        "{r:?}"
    );
}

/// `systemd-analyze`, or None (with the reason printed) when this machine lacks it.
fn systemd_analyze() -> Option<&'static str> {
    let ok = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: systemd-analyze is not installed (apt-get install systemd)");
        return None;
    }
    Some("systemd-analyze")
}

fn generate_units(env: &TestEnv, binary: &str, vault_path: Option<&str>) -> std::path::PathBuf {
    let out = env
        .dir
        .path()
        .join(format!("units-{}", vault_path.is_some()));
    let mut args = vec![
        "schedule",
        "systemd",
        "--out",
        out.to_str().unwrap(),
        "--binary",
        binary,
        "--secrets-file",
        "/etc/aie/secrets",
    ];
    if let Some(v) = vault_path {
        args.extend(["--vault-path", v]);
    }
    env.ok(&args);
    out
}

#[test]
fn generated_system_units_pass_systemd_analyze_verify_and_score_3_or_lower() {
    let Some(sa) = systemd_analyze() else { return };
    let env = TestEnv::new();
    for vault_path in [None, Some("/home/sam/My Vault")] {
        let out = generate_units(&env, env!("CARGO_BIN_EXE_aie"), vault_path);
        // The alert template is checked through an instance, as systemd starts it.
        std::fs::copy(
            out.join("aie-alert@.service"),
            out.join("aie-alert@aie-triage.service.service"),
        )
        .unwrap();
        // And the WhatsApp delivery service through one connection's instance.
        std::fs::copy(
            out.join("aie-whatsapp@.service"),
            out.join("aie-whatsapp@1.service"),
        )
        .unwrap();
        let units: Vec<String> = files_of(&out).into_iter().map(|f| f.0).collect();
        let v = std::process::Command::new(sa)
            .arg("verify")
            .args(&units)
            .current_dir(&out)
            .output()
            .unwrap();
        assert!(
            v.status.success() && v.stderr.is_empty(),
            "verify {vault_path:?}: {}",
            String::from_utf8_lossy(&v.stderr)
        );
        for unit in units
            .iter()
            .filter(|u| u.ends_with(".service") && !u.ends_with("@.service"))
        {
            let s = std::process::Command::new(sa)
                .args(["security", "--offline=true", &format!("./{unit}")])
                .current_dir(&out)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&s.stdout);
            let score: f64 = text
                .lines()
                .find_map(|l| l.split("Overall exposure level for ").nth(1))
                .and_then(|l| l.split(": ").nth(1))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no score for {unit}: {text}"));
            assert!(score <= 3.0, "{unit} scores {score}:\n{text}");
        }
    }
    // User units (as `aie schedule install` writes them) verify with the user manager too.
    let user = env.dir.path().join("user-units");
    env.ok(&[
        "schedule",
        "install",
        "--no-enable",
        "--out",
        user.to_str().unwrap(),
    ]);
    let runtime = env.dir.path().join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    let units: Vec<String> = files_of(&user).into_iter().map(|f| f.0).collect();
    let v = std::process::Command::new(sa)
        .args(["--user", "verify"])
        .args(&units)
        .env("XDG_RUNTIME_DIR", &runtime)
        .current_dir(&user)
        .output()
        .unwrap();
    assert!(
        v.status.success() && v.stderr.is_empty(),
        "user verify: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    // verify does fail: on a unit whose binary is missing.
    let out = generate_units(&env, "/nonexistent/aie", None);
    let v = std::process::Command::new(sa)
        .args(["verify", "aie-triage.service"])
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(!v.status.success(), "verify accepted a missing binary");
}

#[test]
fn install_writes_user_units_and_uninstall_removes_only_ours() {
    let env = TestEnv::new();
    let dir = env.dir.path().join("user-units");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("aie-mine.service"),
        "[Service]\nExecStart=/bin/true\n",
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let r = env.ok(&["schedule", "install", "--out", d, "--no-enable"]);
    assert!(r.stdout.contains("aie-triage.timer"), "{r:?}");
    let t = std::fs::read_to_string(dir.join("aie-triage.service")).unwrap();
    assert!(!t.contains("User="), "user units run as the user: {t}");
    assert!(
        std::fs::read_to_string(dir.join("aie-execute.timer"))
            .unwrap()
            .contains("OnCalendar=*-*-* *:00/5:00 UTC")
    );
    let r = env.ok(&["schedule", "uninstall", "--out", d, "--no-enable"]);
    assert!(r.stdout.contains("removed"), "{r:?}");
    let left: Vec<String> = files_of(&dir).into_iter().map(|f| f.0).collect();
    assert_eq!(left, ["aie-mine.service"]);
    let r = env.ok(&[
        "schedule",
        "install",
        "--cron",
        "--binary",
        "/usr/local/bin/aie",
    ]);
    assert!(r.stdout.contains("crontab -e"), "{r:?}");
    assert!(
        r.stdout
            .contains("*/2 * * * * /usr/local/bin/aie run triage"),
        "{r:?}"
    );
}

#[test]
fn status_flags_a_job_with_no_success_within_twice_its_period() {
    let mut env = TestEnv::new();
    env.write("jobs/triage.yaml", TRIAGE);
    // Every known job is listed, even before it ever ran.
    let r = env.ok(&["status", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    for job in ["triage", "execute"] {
        assert_eq!(v["jobs"][job]["overdue"], false, "{job}: {v}");
        assert!(v["jobs"][job]["next_due"].is_string(), "{job}: {v}");
        assert!(v["jobs"][job]["last_start"].is_null());
    }
    env.ok(&["run", "triage"]);
    let r = env.ok(&["status", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["jobs"]["triage"]["next_due"], "2026-11-23T09:02:00Z");
    assert_eq!(v["jobs"]["triage"]["overdue"], false);
    // Three minutes on: late, but within twice the period.
    env.now = "2026-11-23T09:03:00Z".into();
    let v: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v["jobs"]["triage"]["overdue"], false);
    // Five minutes on with no run: the timer stopped firing.
    env.now = "2026-11-23T09:05:00Z".into();
    let r = env.ok(&["status", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["jobs"]["triage"]["overdue"], true, "{v}");
    assert_eq!(
        v["jobs"]["execute"]["overdue"], false,
        "never ran: not overdue"
    );
    let r = env.ok(&["status"]);
    assert!(r.stdout.contains("OVERDUE"), "{r:?}");
    // A run clears it.
    env.ok(&["run", "triage"]);
    let v: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v["jobs"]["triage"]["overdue"], false);
    assert_eq!(v["jobs"]["triage"]["next_due"], "2026-11-23T09:06:00Z");
}

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

#[test]
fn completions_and_man_page_come_from_the_command_line_definitions() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish"] {
        let r = env.ok(&["completions", shell]);
        assert!(
            r.stdout.contains("schedule") && r.stdout.contains("process-inbox"),
            "{shell}"
        );
    }
    assert_eq!(env.run(&["completions", "tcsh"]).code, 2);
    let r = env.ok(&["man"]);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH aie"),
        "{}",
        &r.stdout[..200]
    );
    assert!(r.stdout.contains("execute\\-approved") || r.stdout.contains("execute-approved"));
}

/// The next `n` firings systemd computes for the `OnCalendar=` values from `base`.
fn systemd_elapses(sa: &str, values: &[String], base: &str, n: usize) -> Vec<String> {
    let mut all = Vec::new();
    for v in values {
        let out = std::process::Command::new(sa)
            .args([
                "calendar",
                &format!("--iterations={n}"),
                &format!("--base-time={base}"),
                v,
            ])
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{v}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("Next elapse: ").or_else(|| {
                line.split_once(": ")
                    .filter(|(k, _)| k.starts_with("Iter."))
                    .map(|(_, r)| r)
            }) {
                // `Thu 2026-11-26 23:00:00 UTC`
                let f: Vec<&str> = rest.split_whitespace().collect();
                all.push(format!("{}T{}Z", f[1], f[2]));
            }
        }
    }
    all.sort();
    all.dedup();
    all.truncate(n);
    all
}

#[test]
fn timers_fire_when_the_cron_expression_does() {
    let Some(sa) = systemd_analyze() else { return };
    for (expr, tz, base) in [
        ("*/2 * * * *", "UTC", "2026-11-23T09:00:00Z"),
        ("*/5 * * * *", "Asia/Karachi", "2026-11-23T09:03:00Z"),
        ("0 7 * * 1", "Europe/Berlin", "2026-11-23T09:00:00Z"),
        ("30 2 * * *", "Europe/Berlin", "2027-03-26T12:00:00Z"),
        ("30 2 * * *", "Europe/Berlin", "2027-10-30T12:00:00Z"),
        ("0 0 1 * fri", "Europe/Berlin", "2026-11-23T09:00:00Z"),
        (
            "15 9-17/4 * jan,jul mon-fri",
            "Asia/Karachi",
            "2026-11-23T09:00:00Z",
        ),
        ("@monthly", "America/New_York", "2026-11-23T09:00:00Z"),
    ] {
        let cron = aie::schedule::cron::Cron::parse(expr).unwrap();
        let tz: chrono_tz::Tz = tz.parse().unwrap();
        let mut t = chrono::DateTime::parse_from_rfc3339(base)
            .unwrap()
            .with_timezone(&chrono::Utc);
        let mut ours = Vec::new();
        for _ in 0..4 {
            t = cron.next_after(t, tz).unwrap();
            ours.push(t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        let base_sd = base.replace('T', " ").replace('Z', " UTC");
        let theirs = systemd_elapses(sa, &cron.on_calendar(&tz.to_string()), &base_sd, 4);
        assert_eq!(ours, theirs, "`{expr}` in {tz}");
    }
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
