//! The packed backup store: small objects live in pack files; a store written before packs
//! (one file per object) still restores and is added to; pruning repacks a pack once more
//! than a quarter of it is dead, and a crash in the middle of a repack loses nothing.

use crate::support::backup::setup;
use crate::support::files_under;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Bytes deflate cannot shrink (so they are stored raw and can be searched for).
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

fn stored_anywhere(store: &Path, needle: &[u8]) -> bool {
    files_under(store).iter().any(|p| {
        std::fs::read(p)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
    })
}

#[test]
fn small_files_go_into_one_pack_and_an_unchanged_file_is_not_stored_again() {
    let (mut env, store) = setup("");
    for i in 0..50 {
        env.write(&format!("Done/n{i}.md"), format!("note {i}\n"));
    }
    env.ok(&["backup"]);
    assert_eq!(files_in(&store.join("packs"), "pack").len(), 1);
    let loose = walkdir::WalkDir::new(store.join("objects"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .count();
    assert_eq!(loose, 0, "small objects are packed");
    env.write("Done/n0.md", "changed\n");
    env.now = "2026-11-24T03:00:00Z".into();
    let r = env.ok(&["backup", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    // The changed note, plus this agent's own records the first run rewrote (`.aie/`).
    let new = v["new_files"].as_u64().unwrap();
    assert!((1..=3).contains(&new), "{v}");
    assert_eq!(files_in(&store.join("packs"), "pack").len(), 2);
    env.ok(&["backup", "--verify"]);
}

#[test]
fn a_store_written_before_packs_still_restores_and_takes_new_snapshots() {
    let (mut env, store) = setup("");
    // The old layout, as the code before packs wrote it: one `r`/`z` object per file.
    let body = b"written by the old store\n".to_vec();
    let hash = sha256_hex(&body);
    let dir = store.join("objects").join(&hash[..2]);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(store.join("snapshots")).unwrap();
    std::fs::write(dir.join(&hash), [b"r".as_slice(), &body].concat()).unwrap();
    let manifest = serde_json::json!({
        "version": 1, "id": "20261101T030000Z", "time": "2026-11-01T03:00:00+00:00",
        "agent": "local", "files": 1, "bytes": body.len(),
        "entries": [
            {"path": ".", "kind": "dir", "mode": 0o755, "mtime": 1_790_000_000, "mtime_ns": 0},
            {"path": "Done", "kind": "dir", "mode": 0o755, "mtime": 1_790_000_000, "mtime_ns": 0},
            {"path": "Done/old.md", "kind": "file", "mode": 0o640, "mtime": 1_790_000_000,
             "mtime_ns": 5, "size": body.len(), "sha256": hash},
        ],
    })
    .to_string();
    std::fs::write(
        store.join("snapshots/20261101T030000Z.json"),
        format!("sha256:{}\n{manifest}\n", sha256_hex(manifest.as_bytes())),
    )
    .unwrap();
    env.ok(&["backup", "--verify", "20261101T030000Z"]);
    let to = env.dir.path().join("r");
    env.ok(&["restore", "20261101T030000Z", "--to", to.to_str().unwrap()]);
    assert_eq!(std::fs::read(to.join("Done/old.md")).unwrap(), body);
    // A new snapshot in the same store does not store the old object again.
    env.write("Done/old.md", &body);
    env.write("Done/new.md", "new\n");
    let r = env.ok(&["backup", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let new = v["new_files"].as_u64().unwrap();
    let files = v["files"].as_u64().unwrap();
    assert_eq!(new, files - 1, "the old object is reused: {v}");
    // The new manifest is compressed JSON beside the old plain one, and both are listed.
    let id = v["id"].as_str().unwrap();
    let stored = std::fs::read(store.join(format!("snapshots/{id}.json.zst"))).unwrap();
    let text = String::from_utf8(zstd::decode_all(&stored[..]).unwrap()).unwrap();
    assert!(
        text.starts_with("sha256:") && text.contains("Done/new.md"),
        "{text}"
    );
    assert!(
        stored.len() < text.len() / 2,
        "{} of {}",
        stored.len(),
        text.len()
    );
    let r = env.ok(&["backup", "--list", "--json"]);
    let list: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    env.now = "2026-11-24T03:00:00Z".into();
    env.ok(&["backup", "--verify"]);
}

#[test]
fn pruning_repacks_a_mostly_dead_pack_and_a_crash_mid_repack_loses_nothing() {
    for crash in [false, true] {
        let (mut env, store) = setup("  keep: 1\n  keep_weekly: 0\n  keep_monthly: 0\n");
        let gone = noise(1, 20_000);
        let stays = noise(2, 2_000);
        env.write("Done/big.bin", &gone);
        env.write("Done/small.bin", &stays);
        env.now = "2026-11-21T03:00:00Z".into();
        env.ok(&["backup"]);
        std::fs::remove_file(env.vault.join("Done/big.bin")).unwrap();
        env.now = "2026-11-22T03:00:00Z".into();
        if crash {
            env.env("AIE_CRASH_AT", "backup:repacked");
            let r = env.run(&["backup"]);
            assert!(r.stderr.contains("backup:repacked"), "{r:?}");
            env.envs.retain(|(k, _)| k != "AIE_CRASH_AT");
            // The day-2 snapshot is whole; the old pack is still there beside the new one.
            env.ok(&["backup", "--verify"]);
            env.now = "2026-11-23T03:00:00Z".into();
            env.ok(&["backup"]);
        } else {
            env.ok(&["backup"]);
        }
        assert!(
            !stored_anywhere(&store, &gone[..64]),
            "crash {crash}: dead bytes pruned"
        );
        assert!(stored_anywhere(&store, &stays[..64]), "crash {crash}");
        let ids: Vec<String> =
            serde_json::from_str::<Value>(&env.ok(&["backup", "--list", "--json"]).stdout)
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_string())
                .collect();
        assert_eq!(ids.len(), 1, "{ids:?}");
        env.ok(&["backup", "--verify"]);
        let to = env.dir.path().join("r");
        env.ok(&["restore", &ids[0], "--to", to.to_str().unwrap()]);
        assert_eq!(std::fs::read(to.join("Done/small.bin")).unwrap(), stays);
        assert!(!to.join("Done/big.bin").exists());
    }
}
