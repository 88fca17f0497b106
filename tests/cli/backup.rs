//! `aie backup` / `aie restore`: a round trip rebuilds the tree byte for byte with modes and
//! times; secrets and locks are never taken; a symlink is refused by name; a flipped byte is
//! found by `--verify`; a crash at any failpoint leaves the earlier snapshots whole and no
//! half snapshot listed; retention over a year keeps exactly 7 daily, 4 weekly, 6 monthly.

use crate::support::TestEnv;
use crate::support::backup::{comparable, setup};
use crate::support::tree::tree;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, UNIX_EPOCH};

fn list(env: &TestEnv) -> Vec<Value> {
    let r = env.ok(&["backup", "--list", "--json"]);
    serde_json::from_str::<Value>(&r.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn ids(env: &TestEnv) -> Vec<String> {
    list(env)
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_round_trip_rebuilds_the_tree_byte_for_byte_with_modes_and_times() {
    let (env, _) = setup("");
    env.write("Done/café – naïve ✓.md", "---\nid: x\n---\nunicode\n");
    env.write("Attachments/abc/empty.bin", "");
    env.write(
        "Attachments/abc/blob.bin",
        (0..=255u8).cycle().take(70_000).collect::<Vec<u8>>(),
    );
    let script = env.write("notes/run.sh", "#!/bin/sh\necho hi\n");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o750)).unwrap();
    env.set_mtime(
        "notes/run.sh",
        UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789),
    );
    // 10,000 files in 100 folders.
    for i in 0..10_000 {
        env.write(
            &format!("Done/bulk{}/item{i}.md", i % 100),
            format!("item {i}\n").repeat(i % 7),
        );
    }
    std::fs::set_permissions(
        env.path("Done/bulk7"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    // Never taken: tokens, secrets, locks, git.
    env.write(".aie/gmail_token.json", "{\"refresh\":\"SECRET\"}");
    env.write(".aie/secrets.env", "AIE_X=SECRET");
    env.write(".git/config", "[remote] url = https://user:SECRET@h/x");
    env.write(".aie/journal.jsonl", "{\"intent\":1}\n");
    let r = env.ok(&["backup", "--json"]);
    let rep: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(rep["files"].as_u64().unwrap() > 10_000, "{rep}");
    let id = rep["id"].as_str().unwrap().to_string();
    let before = tree(&env.vault, comparable);

    let to = env.dir.path().join("restored");
    let r = env.ok(&["restore", &id, "--to", to.to_str().unwrap()]);
    assert!(r.stdout.contains("restored snapshot"), "{r:?}");
    let after = tree(&to, comparable);
    assert_eq!(before.len(), after.len());
    for (p, n) in &before {
        assert_eq!(after.get(p), Some(n), "`{p}` differs after restore");
    }
    // This agent's records are taken; its secrets, locks and the git folder are not.
    assert!(to.join(".aie/state.json").is_file());
    assert_eq!(
        std::fs::read_to_string(to.join(".aie/journal.jsonl")).unwrap(),
        "{\"intent\":1}\n"
    );
    for p in [
        ".aie/gmail_token.json",
        ".aie/secrets.env",
        ".aie/locks",
        ".git",
    ] {
        assert!(!to.join(p).exists(), "`{p}` must never be backed up");
    }
    // The next night, an unchanged vault stores nothing new but this agent's records.
    let mut env = env;
    env.now = "2026-11-24T03:00:00Z".into();
    let r = env.ok(&["backup", "--json"]);
    let rep: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(rep["new_bytes"].as_u64().unwrap() < 10_000, "{rep}");
    let snaps = list(&env);
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    for s in &snaps {
        for k in ["id", "time", "files", "bytes"] {
            assert!(!s[k].is_null(), "{k} in {s}");
        }
        assert!(chrono::DateTime::parse_from_rfc3339(s["time"].as_str().unwrap()).is_ok());
    }
    // Restoring into a folder that is not empty needs --force.
    let r = env.run(&["restore", &id, "--to", to.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn a_symlink_in_the_vault_is_refused_by_name_and_not_followed() {
    let (env, _) = setup("");
    let outside = env.dir.path().join("outside.txt");
    std::fs::write(&outside, "outside secret").unwrap();
    std::os::unix::fs::symlink(&outside, env.path("Done/link.md")).unwrap();
    let r = env.run(&["backup"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("Done/link.md"), "{r:?}");
    let id = ids(&env).pop().expect("the snapshot is still taken");
    let to = env.dir.path().join("restored");
    env.ok(&["restore", &id, "--to", to.to_str().unwrap()]);
    assert!(std::fs::symlink_metadata(to.join("Done/link.md")).is_err());
}

#[test]
fn verify_finds_a_flipped_byte_in_a_snapshot() {
    let (env, store) = setup("");
    env.write("Done/a.md", "the quick brown fox\n");
    env.ok(&["backup"]);
    let id = ids(&env).pop().unwrap();
    let r = env.ok(&["backup", "--verify"]);
    assert!(r.stdout.contains("verified"), "{r:?}");
    // Flip one byte of the object that holds Done/a.md, inside its pack.
    let packs: Vec<_> = std::fs::read_dir(store.join("packs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pack"))
        .collect();
    assert_eq!(packs.len(), 1, "{packs:?}");
    let mut bytes = std::fs::read(&packs[0]).unwrap();
    let at = bytes
        .windows(5)
        .position(|w| w == b"brown")
        .expect("a short object is stored raw");
    bytes[at] ^= 0x20;
    std::fs::write(&packs[0], bytes).unwrap();
    let r = env.run(&["backup", "--verify", &id]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("Done/a.md"), "{r:?}");
    // A damaged snapshot is never restored from.
    let to = env.dir.path().join("restored");
    let r = env.run(&["restore", &id, "--to", to.to_str().unwrap()]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(!to.join("Done/a.md").exists());
    // A flipped byte in the manifest is found too.
    // (The manifest is zstd-compressed JSON: decompressed, changed, compressed again.)
    let man = store.join("snapshots").join(format!("{id}.json.zst"));
    let plain = zstd::decode_all(&std::fs::read(&man).unwrap()[..]).unwrap();
    let text = String::from_utf8(plain).unwrap();
    assert!(text.starts_with("sha256:"), "{text}");
    let text = text.replace("Done/a.md", "Done/b.md");
    std::fs::write(&man, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
    let r = env.run(&["backup", "--verify", &id]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("damaged"), "{r:?}");
}

#[test]
fn a_crash_at_any_failpoint_of_backup_leaves_earlier_snapshots_whole_and_none_half_listed() {
    for point in [
        "backup:object-written",
        "backup:manifest-temp",
        "backup:verified",
        "backup:renamed",
        "backup:pruned-one",
    ] {
        // Keep two days: the third day's snapshot prunes the first.
        let (mut env, store) = setup("  keep: 2\n  keep_weekly: 0\n  keep_monthly: 0\n");
        env.write("Done/a.md", "first\n");
        env.now = "2026-11-21T03:00:00Z".into();
        env.ok(&["backup"]);
        env.write("Done/b.md", "second\n");
        env.now = "2026-11-22T03:00:00Z".into();
        env.ok(&["backup"]);
        let before = ids(&env);
        assert_eq!(before.len(), 2);
        env.write("Done/c.md", "third\n");
        env.now = "2026-11-23T03:00:00Z".into();
        env.env("AIE_CRASH_AT", point);
        let r = env.run(&["backup"]);
        assert_ne!(r.code, 0, "{point}: {r:?}");
        assert!(r.stderr.contains(point), "{point}: {r:?}");
        env.envs.retain(|(k, _)| k != "AIE_CRASH_AT");
        let now = ids(&env);
        // Every listed snapshot verifies whole.
        for id in &now {
            env.ok(&["backup", "--verify", id]);
        }
        let third = "20261123T030000Z".to_string();
        match point {
            "backup:renamed" => assert_eq!(now, [before.clone(), vec![third]].concat(), "{point}"),
            "backup:pruned-one" => assert_eq!(now, vec![before[1].clone(), third], "{point}"),
            _ => assert_eq!(now, before, "{point}"),
        }
        // The next run finishes the job and leaves no temp file in the store.
        env.now = "2026-11-24T03:00:00Z".into();
        env.ok(&["backup"]);
        let after = ids(&env);
        assert_eq!(after.len(), 2, "{point}: {after:?}");
        assert_eq!(after[1], "20261124T030000Z", "{point}");
        env.ok(&["backup", "--verify"]);
        let temps: Vec<_> = walkdir::WalkDir::new(&store)
            .into_iter()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".aie-tmp"))
            .collect();
        assert!(temps.is_empty(), "{point}: {temps:?}");
        let to = env.dir.path().join("r");
        env.ok(&["restore", "20261124T030000Z", "--to", to.to_str().unwrap()]);
        assert_eq!(
            std::fs::read_to_string(to.join("Done/c.md")).unwrap(),
            "third\n"
        );
    }
}

#[test]
fn retention_over_a_simulated_year_keeps_exactly_the_promised_snapshots() {
    let (mut env, _) = setup("");
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    for d in 0..365 {
        let day = start + chrono::Duration::days(d);
        env.now = format!("{day}T03:00:00Z");
        if d == 364 {
            let r = env.ok(&["backup", "--dry-run", "--json"]);
            let v: Value = serde_json::from_str(&r.stdout).unwrap();
            // Tonight's run would prune the day that falls out of the last seven.
            assert_eq!(
                v["would_prune"],
                serde_json::json!(["20261224T030000Z"]),
                "{v}"
            );
            assert_eq!(ids(&env).len(), 14, "a dry run prunes nothing");
        }
        env.write("Done/daily.md", format!("day {d}\n"));
        env.ok(&["backup"]);
    }
    let want = [
        "20260731T030000Z",
        "20260831T030000Z",
        "20260930T030000Z",
        "20261031T030000Z",
        "20261130T030000Z",
        "20261213T030000Z",
        "20261220T030000Z",
        "20261225T030000Z",
        "20261226T030000Z",
        "20261227T030000Z",
        "20261228T030000Z",
        "20261229T030000Z",
        "20261230T030000Z",
        "20261231T030000Z",
    ];
    assert_eq!(ids(&env), want);
    // Every kept snapshot still restores its own day.
    let to = env.dir.path().join("r");
    env.ok(&["restore", "20260731T030000Z", "--to", to.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(to.join("Done/daily.md")).unwrap(),
        "day 211\n"
    );
}

#[test]
fn restoring_over_the_live_vault_needs_force_and_backs_it_up_first() {
    let (env, _) = setup("");
    env.write("Done/a.md", "original\n");
    env.ok(&["backup"]);
    let id = ids(&env).pop().unwrap();
    env.write("Done/a.md", "changed\n");
    env.write("Done/new.md", "added after\n");
    let vault = env.vault.to_str().unwrap().to_string();
    let r = env.run(&["restore", &id, "--to", &vault]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(env.read("Done/a.md"), "changed\n");
    let mut e2 = env;
    e2.now = "2026-11-23T10:00:00Z".into();
    let r = e2.ok(&["restore", &id, "--to", &vault, "--force", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let before = v["backup_before"].as_str().unwrap().to_string();
    assert_eq!(e2.read("Done/a.md"), "original\n");
    assert!(!e2.path("Done/new.md").exists());
    // The vault as it was before the restore is a snapshot of its own.
    let to = e2.dir.path().join("r");
    e2.ok(&["restore", &before, "--to", to.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(to.join("Done/new.md")).unwrap(),
        "added after\n"
    );
}

#[test]
fn backup_without_a_dir_is_skipped_with_a_note_and_a_dir_inside_the_vault_is_refused() {
    let env = TestEnv::new();
    let r = env.ok(&["backup"]);
    assert!(r.stdout.contains("not set up"), "{r:?}");
    env.config("backup:\n  dir: Backups\n");
    let r = env.run(&["backup"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("inside the vault"), "{r:?}");
}
