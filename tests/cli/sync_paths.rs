//! What `sync-vault` stages (issue 12's figures made it stage only what `git status` lists,
//! and scan exactly the staged blobs): odd file names are taken as they are, never as
//! patterns; a secret in a new folder is refused without holding back its neighbours;
//! deletions travel; `.aie/` never does, whatever a synced `.gitignore` says; a sync with
//! nothing new on either side changes nothing.

use crate::support::git::TwoAgents;
use std::fs;

const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n";

#[test]
fn odd_names_are_paths_and_a_refused_secret_holds_back_nothing_else() {
    let two = TwoAgents::new("");
    let l = &two.local;
    l.write("Notes/a b.md", "spaces\n");
    l.write("Notes/ünïcode.md", "unicode\n");
    l.write("Notes/-dash.md", "dash\n");
    l.write("Notes/:(glob)x.md", "magic\n");
    l.write("Notes/fine.md", "fine\n");
    // Taken as a pattern, this name would unstage every note beside it.
    l.write("Notes/*.md", format!("a key\n{KEY}"));
    l.write("Projects/deep/plan.md", "a plan in a new folder\n");
    l.write("Projects/deep/key.md", KEY);
    let r = l.run(&["sync-vault"]);
    assert_eq!(r.code, 1, "the refused files are named: {r:?}");
    assert!(r.stderr.contains("Notes/*.md"), "{r:?}");
    assert!(r.stderr.contains("Projects/deep/key.md"), "{r:?}");
    let files = remote_paths(&two);
    for f in [
        "Notes/a b.md",
        "Notes/ünïcode.md",
        "Notes/-dash.md",
        "Notes/:(glob)x.md",
        "Notes/fine.md",
        "Projects/deep/plan.md",
    ] {
        assert!(files.contains(&f.to_string()), "{f} not pushed: {files:#?}");
    }
    assert!(
        !files
            .iter()
            .any(|f| f.ends_with("key.md") || f == "Notes/*.md")
    );
    assert!(!two.remote_history().contains("BEGIN OPENSSH"));
    // The refused files stay where they are, untouched, for the owner to clean.
    assert_eq!(l.read("Projects/deep/key.md"), KEY);
}

#[test]
fn deletions_travel_and_the_agents_own_state_never_does() {
    let two = TwoAgents::new("");
    let l = &two.local;
    l.write("Notes/old.md", "soon gone\n");
    assert_eq!(l.run(&["sync-vault"]).code, 0);
    assert!(two.remote_files().contains(&"Notes/old.md".to_string()));
    fs::remove_file(l.path("Notes/old.md")).unwrap();
    // A synced .gitignore that forgot `.aie/` cannot make it part of the vault.
    l.write(".gitignore", "*.tmp\n");
    l.write(".aie/extra.txt", "this agent's own\n");
    let r = l.run(&["sync-vault"]);
    assert_eq!(r.code, 0, "{r:?}");
    let files = two.remote_files();
    assert!(!files.contains(&"Notes/old.md".to_string()), "{files:#?}");
    assert!(!files.iter().any(|f| f.starts_with(".aie")), "{files:#?}");
    assert!(files.contains(&".gitignore".to_string()));
}

#[test]
fn a_sync_with_nothing_new_on_either_side_changes_nothing() {
    let two = TwoAgents::new("");
    // The first syncs exchange heartbeats, and the Dashboard and updates each merge
    // refreshes (five rounds before these changes too).
    let settled = (0..8).any(|_| {
        let (a, b) = (
            two.local.run(&["sync-vault"]),
            two.cloud.run(&["sync-vault"]),
        );
        a.stdout.contains("up to date") && b.stdout.contains("up to date")
    });
    assert!(settled);
    let tip = |env| TwoAgents::git(env, &["rev-parse", "HEAD"]);
    let (local, remote) = (tip(&two.local), remote_tip(&two));
    let r = two.local.run(&["sync-vault"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("up to date"), "{r:?}");
    assert_eq!(tip(&two.local), local);
    assert_eq!(remote_tip(&two), remote);
    assert_eq!(local, remote);
    // What the other agent pushed meanwhile still arrives.
    two.cloud.write("Notes/from-cloud.md", "hello\n");
    assert_eq!(two.cloud.run(&["sync-vault"]).code, 0);
    assert_eq!(two.local.run(&["sync-vault"]).code, 0);
    assert_eq!(two.local.read("Notes/from-cloud.md"), "hello\n");
}

fn remote_tip(two: &TwoAgents) -> String {
    crate::support::git::git(
        two.local.dir.path(),
        &two.remote,
        &["rev-parse", "refs/heads/main"],
    )
}

/// Every path in the remote's branch, unquoted.
fn remote_paths(two: &TwoAgents) -> Vec<String> {
    crate::support::git::git(
        two.local.dir.path(),
        &two.remote,
        &["ls-tree", "-r", "-z", "--name-only", "main"],
    )
    .split('\0')
    .filter(|s| !s.is_empty())
    .map(str::to_string)
    .collect()
}
