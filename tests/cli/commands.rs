//! One command shape: every command's report is printed once, by the runner (`--json` too),
//! the runner takes the vault lock its command's table row names, a command run in a
//! subfolder finds its vault upwards, the commands that work outside a vault keep doing so,
//! and each flag is taken only where it acts (a nonsense `--deadline` is a usage error).

use crate::support::TestEnv;
use serde_json::Value;
use std::fs;
use std::fs::File;

/// Before the command table, `alert`, `init`, `schedule` and `demo` ignored `--json`, and
/// `doctor` and `run` printed their JSON themselves without the runner's counts and
/// problems: every report now comes out of the runner as exactly one JSON document.
#[test]
fn every_report_is_one_json_document_printed_by_the_runner() {
    let env = TestEnv::new();
    env.drop_file("note.txt", "call the plumber");
    for args in [
        &["status"][..],
        &["doctor"],
        &["process-inbox"],
        &["plan"],
        &["execute-approved"],
        &["run", "execute"],
        &["alert", "--unit", "aie-execute.service"],
        // Issue 14: `init`, `schedule` and `completions` print no report and take no --json.
    ] {
        let mut argv = args.to_vec();
        argv.push("--json");
        let r = env.run(&argv);
        assert!(r.code == 0 || r.code == 1, "aie {argv:?}: {r:?}");
        // One document: a second one, or text around it, would not parse.
        let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
            panic!("aie {argv:?} printed more or less than one JSON: {e}: {r:?}")
        });
        assert!(
            v["counts"].is_object() && v["problems"].is_array(),
            "aie {argv:?}: not the runner's report: {v}"
        );
    }
}

fn lock_file(env: &TestEnv) -> File {
    let dir = env.path(".aie/locks");
    std::fs::create_dir_all(&dir).unwrap();
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join("vault.lock"))
        .unwrap()
}

/// The runner holds the vault lock as the table says: passes share it (they wait out an
/// exclusive holder such as a coming sync or backup, exit 75), the commands that only read
/// or set up take none.
#[test]
fn the_runner_takes_the_vault_lock_the_command_table_names() {
    let env = TestEnv::new();
    env.drop_file("note.txt", "call the plumber");
    let held = lock_file(&env);
    held.try_lock().unwrap();
    for pass in ["process-inbox", "plan", "execute-approved", "poll-gmail"] {
        let r = env.run(&[pass]);
        assert_eq!(r.code, 75, "{pass} under an exclusive vault lock: {r:?}");
    }
    assert!(env.items_in("Needs_Action/general").is_empty());
    // Reports and set-up take no vault lock.
    env.ok(&["status"]);
    env.ok(&["schedule", "cron"]);
    env.ok(&["alert", "--unit", "aie-execute.service"]);
    assert_ne!(env.run(&["doctor"]).code, 75);
    held.unlock().unwrap();
    // A shared holder (another pass) does not stop a pass.
    held.try_lock_shared().unwrap();
    env.ok(&["process-inbox"]);
    assert_eq!(env.items_in("Needs_Action/general").len(), 1);
    env.ok(&["plan"]);
    held.unlock().unwrap();
}

/// init, demo, completions and man work in a folder that is no vault; a vault command there
/// is a layout error (78), and doctor still reports what to fix before it exits 78.
#[test]
fn setup_commands_work_outside_a_vault() {
    let env = TestEnv::new();
    let empty = env.dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let r = env.run_in(&empty, &["completions", "bash"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("_aie"), "{r:?}");
    let r = env.run_in(&empty, &["man"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH aie"),
        "{r:?}"
    );
    assert_eq!(env.run_in(&empty, &["status"]).code, 78);
    let r = env.run_in(&empty, &["doctor"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stdout.contains("FAIL"), "{r:?}");
    let r = env.run_in(&empty, &["init"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("created the aie vault"), "{r:?}");
    assert!(empty.join("aie.yaml").is_file());
    let r = env.run_in(&empty, &["init"]);
    assert!(r.stdout.contains("is already an aie vault"), "{r:?}");
    let demo = env.dir.path().join("demo");
    let r = env.run_in(&empty, &["demo", demo.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("aie demo: a sample vault at"), "{r:?}");
    assert!(r.stdout.contains("where the items are now:"), "{r:?}");
}

#[test]
fn a_held_lock_exits_75_and_changes_nothing() {
    let env = TestEnv::new();
    env.drop_file("a.txt", "hello");
    fs::create_dir_all(env.path(".aie/locks")).unwrap();
    let f = fs::File::create(env.path(".aie/locks/process-inbox.lock")).unwrap();
    f.try_lock().unwrap();
    let r = env.run(&["process-inbox"]);
    assert_eq!(r.code, 75, "{r:?}");
    assert!(env.path("Inbox/a.txt").exists());
    // status shows who holds it.
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    assert!(
        v["locks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == "process-inbox" && l["held"] == true)
    );
    drop(f);
    env.ok(&["process-inbox"]);
    assert!(!env.path("Inbox/a.txt").exists());
}

#[test]
fn usage_errors_exit_2_and_help_lists_the_core_commands() {
    let env = TestEnv::new();
    assert_eq!(env.run(&["no-such-command"]).code, 2);
    assert_eq!(env.run(&["process-inbox", "--bogus"]).code, 2);
    let r = env.ok(&["--help"]);
    for c in [
        "init",
        "demo",
        "process-inbox",
        "plan",
        "execute-approved",
        "status",
    ] {
        assert!(r.stdout.contains(c), "{c} missing from --help");
    }
}

// Issue 14, point 8: `cd Pending_Approval && aie status` advised a vault inside the vault.
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

// Issue 14, point 11: `--deadline 0` did nothing, `-1` was "unexpected argument", and `--json` or
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
