//! `aie demo`: the whole chain in dry run, without settings.

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
