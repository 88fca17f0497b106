//! Issue 14: what a new owner trips over in the first week, from install to a server that
//! runs the timers. Each test is named for what misled or stopped the owner.

use crate::support::TestEnv;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

const QUESTION: &str = "From: Pat Client <pat@client.example>\nSubject: Opening hours\n\nCan you tell me when you open?\n";

/// The ids of the requests waiting in Pending_Approval/<domain>/, with their folder.
fn waiting(env: &TestEnv) -> Vec<(String, String)> {
    env.all_items()
        .into_iter()
        .filter(|(_, rel)| rel.starts_with("Pending_Approval"))
        .collect()
}

/// Takes the one request waiting for approval and approves it (the move the owner makes).
fn approve_the_request(env: &TestEnv) -> String {
    let w = waiting(env);
    assert_eq!(w.len(), 1, "{w:?}");
    let (id, rel) = w[0].clone();
    std::fs::rename(
        env.path(&format!("{rel}/{id}.md")),
        env.path(&format!("Approved/{id}.md")),
    )
    .unwrap();
    id
}

// Point 8: `cd Pending_Approval && aie status` advised a vault inside the vault.
#[test]
fn a_command_in_a_vault_subfolder_finds_the_vault_upwards() {
    let env = TestEnv::new();
    let r = env.run_in(&env.path("Pending_Approval/email"), &["status"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(env.vault.to_str().unwrap()), "{r:?}");
    // Outside any vault it still refuses, naming the folder.
    let r = env.run_in(env.dir.path(), &["status"]);
    assert_eq!(r.code, 78, "{r:?}");
}

// Point 9: a missing AIE_SECRETS_FILE exited 1, and refused read-only commands too.
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

// Point 11: `--deadline 0` did nothing, `-1` was "unexpected argument", and `--json` or
// `--deadline` were offered where they do nothing.
#[test]
fn nonsense_deadlines_are_refused_and_flags_appear_only_where_they_act() {
    let env = TestEnv::new();
    for bad in ["0", "-1", "nan", "soon"] {
        let r = env.run(&["process-inbox", "--deadline", bad]);
        assert_eq!(r.code, 2, "{bad}: {r:?}");
        assert!(r.stderr.contains("is not a deadline"), "{bad}: {r:?}");
    }
    env.drop_file("a.txt", "hello");
    let r = env.ok(&["process-inbox", "--deadline", "30"]);
    assert!(
        env.path("Inbox/a.txt").exists() == r.stdout.contains("deferred"),
        "{r:?}"
    );
    for args in [
        &["man", "--json"][..],
        &["completions", "bash", "--json"],
        &["init", "--json"],
        &["schedule", "systemd", "--json"],
        &["init", "--deadline", "5"],
        &["status", "--deadline", "5"],
        &["man", "--deadline", "5"],
    ] {
        let r = env.run(args);
        assert_eq!(r.code, 2, "aie {args:?} should not take the flag: {r:?}");
    }
    let help = env.ok(&["man", "--help"]).stdout;
    assert!(
        !help.contains("--json") && !help.contains("--deadline"),
        "{help}"
    );
    let help = env.ok(&["plan", "--help"]).stdout;
    assert!(
        help.contains("--json") && help.contains("--deadline"),
        "{help}"
    );
}

// Point 2: `aie init` made folders 0755 and files 0644: clients' mail world-readable.
#[test]
fn the_vault_and_what_aie_writes_into_it_are_private_unless_shared_with_the_group() {
    let env = TestEnv::new();
    assert_eq!(mode(&env.vault), 0o700);
    assert_eq!(mode(&env.path("Needs_Action/email")), 0o700);
    assert_eq!(mode(&env.path("Company_Handbook.md")), 0o600);
    env.drop_file("mail.txt", QUESTION);
    std::fs::set_permissions(
        env.path("Inbox/mail.txt"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    env.ok(&["process-inbox"]);
    let items = env.all_items();
    assert_eq!(items.len(), 1, "{items:?}");
    let item = env.path(&format!("{}/{}.md", items[0].1, items[0].0));
    assert_eq!(mode(&item), 0o600, "{}", item.display());
    assert_eq!(mode(&env.path("Dashboard.md")), 0o600);
    // The one setting for an owner who edits as another user of the group.
    env.config("vault:\n  shared_group: true\n");
    env.drop_file("b.txt", "call the plumber");
    env.ok(&["process-inbox"]);
    let shared = env
        .all_items()
        .into_iter()
        .find(|(id, rel)| env.read(&format!("{rel}/{id}.md")).contains("plumber"))
        .unwrap();
    assert_eq!(
        mode(&env.path(&format!("{}/{}.md", shared.1, shared.0))),
        0o660
    );
}

// Point 10: doctor failed (exit 1) on a fresh vault only because nothing was scheduled yet;
// its tags were never coloured.
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

// Point 3: the alert said `journalctl -u`, wrong for user units.
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

/// Drops the question, files it and plans it.
fn plan_the_question(env: &TestEnv) {
    env.drop_file("q.eml", QUESTION);
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
}

// Point 7: every question got an automatic acknowledgement, and nothing said so.
#[test]
fn the_automatic_acknowledgement_is_announced_and_can_be_turned_off() {
    let env = TestEnv::new();
    let template = std::fs::read_to_string(env.dir.path().join("vault/Dashboard.md")).unwrap();
    assert!(
        template.contains("planner.acknowledge: false"),
        "{template}"
    );
    plan_the_question(&env);
    assert_eq!(waiting(&env).len(), 1);
    assert!(env.read("Dashboard.md").contains("Acknowledgements on"));
    let env = TestEnv::new();
    env.config("planner:\n  acknowledge: false\n");
    plan_the_question(&env);
    assert!(waiting(&env).is_empty());
    let done = env.items_in("Done");
    assert_eq!(done.len(), 1);
    let item = env.read(&format!("Done/{}", done[0]));
    assert!(
        item.contains("planner.acknowledge: false") && !item.contains("send_email"),
        "{item}"
    );
    assert!(!env.read("Dashboard.md").contains("Acknowledgements on"));
}

// Points 4 and 5: a request sent back for review looked like an ordinary request, and the
// Dashboard said the items still waited after an approval and a dry run.
#[test]
fn the_dashboard_shows_dry_runs_and_requests_sent_back_for_review_with_their_note() {
    let env = TestEnv::new();
    plan_the_question(&env);
    let id = approve_the_request(&env);
    let id = id.as_str();
    env.ok(&["execute-approved"]);
    let dash = env.read("Dashboard.md");
    assert!(dash.contains("**Dry-run**"), "{dash}");
    assert!(
        dash.contains(&format!("[[{id}]] send_email: dry run")),
        "{dash}"
    );
    assert!(env.ok(&["status"]).stdout.contains("execution: dry-run"));
    // Live, with no smtp: the action comes back for review, the note names the section.
    env.config("execution:\n  dry_run: false\n");
    let r = env.run(&["doctor"]);
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("execution:"))
        .unwrap_or_default();
    assert!(
        line.starts_with("warn") && line.contains("no `smtp:`"),
        "{r:?}"
    );
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("`smtp:` section of aie.yaml"), "{r:?}");
    let dash = env.read("Dashboard.md");
    let review = dash.find("## Sent back for your review").expect(&dash);
    let waiting = dash.find("## Waiting for your approval").unwrap();
    assert!(review < waiting, "{dash}");
    let section = &dash[review..waiting];
    let line = section.lines().find(|l| l.contains(id)).expect(section);
    assert!(
        line.find("`smtp:`").unwrap() < line.find("Proposed").unwrap(),
        "the note comes first: {line}"
    );
    assert!(dash[waiting..].contains("Nothing is waiting"), "{dash}");
    assert!(dash.contains("**Live**"), "{dash}");
}

// Point 6: a job that never ran was never overdue, overdue jobs were not under attention,
// next due showed in the past, and poll-gmail showed a success without Gmail set up.
#[test]
fn status_puts_overdue_jobs_under_attention_and_says_what_is_not_set_up() {
    let mut env = TestEnv::new();
    let units = env.dir.path().join("units");
    env.ok(&[
        "schedule",
        "install",
        "--no-enable",
        "--out",
        units.to_str().unwrap(),
    ]);
    env.ok(&["poll-gmail"]);
    env.now = "2026-11-23T12:00:00Z".into();
    let v: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    let triage = &v["jobs"]["triage"];
    assert_eq!(triage["overdue"], true, "{v}");
    assert!(
        triage["next_due"].as_str().unwrap() > "2026-11-23T12:00:00",
        "{v}"
    );
    assert!(
        v["attention"]
            .to_string()
            .contains("job `triage` is overdue"),
        "{v}"
    );
    assert_eq!(v["jobs"]["poll-gmail"]["set_up"], false, "{v}");
    let text = env.ok(&["status"]).stdout;
    assert!(
        text.contains("not set up (no `gmail:` in aie.yaml)"),
        "{text}"
    );
    assert!(!text.contains("attention:\n  nothing"), "{text}");
}

// Point 12: `aie man` named pages that did not exist and had no EXIT STATUS, ENVIRONMENT, FILES.
#[test]
fn the_man_page_has_its_sections_and_every_page_it_names_is_shipped() {
    let env = TestEnv::new();
    let page = env.ok(&["man"]).stdout;
    for s in [
        ".SH \"EXIT STATUS\"",
        ".SH \"ENVIRONMENT\"",
        ".SH \"FILES\"",
        "AIE_SECRETS_FILE",
        "78",
    ] {
        assert!(page.contains(s), "{s}");
    }
    let dir = env.dir.path().join("man");
    env.ok(&["man", "--out", dir.to_str().unwrap()]);
    let pages: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect();
    let mut named = Vec::new();
    for (file, text) in &pages {
        for n in text
            .split("aie\\-")
            .skip(1)
            .filter_map(|r| r.split("(1)").next())
            .filter(|n| !n.contains(char::is_whitespace))
        {
            named.push((file.clone(), format!("aie-{}.1", n.replace("\\-", "-"))));
        }
    }
    assert!(named.len() >= 10, "{named:?}");
    assert!(
        named
            .iter()
            .any(|(f, n)| f == "aie-schedule.1" && n == "aie-schedule-systemd.1"),
        "{named:?}"
    );
    for (file, n) in named {
        assert!(
            dir.join(&n).is_file(),
            "{file} names {n} but it is not shipped"
        );
    }
    assert!(
        pages.iter().all(|(f, _)| !f.contains("help")),
        "clap's help subcommand needs no page"
    );
}

// Point 1: no word of secrets, lingering, or system units; as root it wrote into /root.
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

// Point 13: the demo's closing hint said `aie ...`, not on PATH after `cargo run`.
#[test]
fn the_demo_ends_with_a_command_that_runs_from_where_the_owner_is() {
    let env = TestEnv::new();
    let d = env.dir.path().join("demo");
    let r = env.run(&["demo", d.to_str().unwrap()]);
    assert!(r.code == 0 || r.code == 1, "{r:?}");
    // The test binary lives under target/: the hint is a cargo command.
    assert!(
        r.stdout
            .contains(&format!("cargo run -- status --vault {}", d.display())),
        "{r:?}"
    );
}
