//! `aie schedule`: the generated systemd units and crontab (committed and fresh alike), their
//! verification, install and uninstall, timers that fire when the cron expression does, and
//! what it tells the owner (units get no secrets; a system install checks the account).

use crate::support::{TestEnv, mode};

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

// Issue 14, point 1: no word of secrets, lingering, or system units; as root it wrote into /root.
#[test]
fn schedule_says_when_units_get_no_secrets_and_system_installs_check_the_account() {
    let env = TestEnv::new();
    let r = env.ok(&["schedule", "systemd"]);
    assert!(r.stderr.contains("no secrets"), "{r:?}");
    let out = env.dir.path().join("sys");
    let o = out.to_str().unwrap();
    let r = env.run(&[
        "schedule",
        "install",
        "--system",
        "--run-as",
        "no-such-aie-user",
        "--out",
        o,
        "--no-enable",
    ]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("useradd --system"), "{r:?}");
    // The vault's owner is this test's user: another account is refused, with the chown.
    let me = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let other = if me == "root" { "nobody" } else { "root" };
    let r = env.run(&[
        "schedule",
        "install",
        "--system",
        "--run-as",
        other,
        "--out",
        o,
        "--no-enable",
    ]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains(&format!("chown -R {other}:")), "{r:?}");
    let r = env.ok(&[
        "schedule",
        "install",
        "--system",
        "--run-as",
        &me,
        "--out",
        o,
        "--no-enable",
    ]);
    assert!(r.stdout.contains("systemctl list-timers"), "{r:?}");
    let svc = std::fs::read_to_string(out.join("aie-triage.service")).unwrap();
    assert!(svc.contains(&format!("User={me}")), "{svc}");
    assert_eq!(
        mode(&out.join("aie-triage.service")) & 0o044,
        0o044,
        "units are readable"
    );
    // As root, a user install would start timers in root's own session: refused.
    if me == "root" {
        let r = env.run(&["schedule", "install"]);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(r.stderr.contains("--system"), "{r:?}");
    }
}
