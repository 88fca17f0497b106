//! `aie demo`: the whole chain in dry run, without settings, ending with a command the owner
//! can run from where they are.

use crate::support::TestEnv;
use std::fs;

#[test]
fn demo_runs_the_whole_chain_in_dry_run_without_config() {
    let env = TestEnv::new();
    let dir = env.dir.path().join("demo-vault");
    let r = env.run_in(env.dir.path(), &["demo", dir.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("dry-run"), "{r:?}");
    assert!(r.stdout.contains("Dashboard.md"), "{r:?}");
    let count = |d: &str| fs::read_dir(dir.join(d)).map(|rd| rd.count()).unwrap_or(0);
    assert_eq!(count("Inbox"), 0);
    assert!(count("Done") >= 1 && count("Approved") >= 1);
    assert!(count("Pending_Approval/social") + count("Pending_Approval/general") >= 2);
    assert!(
        !dir.join(".aie/journal.jsonl").exists(),
        "demo never executes for real"
    );
    // A second demo into the same folder refuses instead of mixing vaults.
    let r = env.run_in(env.dir.path(), &["demo", dir.to_str().unwrap()]);
    assert_ne!(r.code, 0);
}

// Issue 14, point 13: the demo's closing hint said `aie ...`, not on PATH after `cargo run`.
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
