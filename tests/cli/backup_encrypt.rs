//! `backup.encrypt_to`: every blob in the store is an age file (pyrage, an independent age
//! implementation, decrypts them), no file's content or name is readable in the store, an
//! unchanged file is not stored again, backing up and pruning need only the recipient, and
//! restoring needs the identity (`AIE_BACKUP_IDENTITY` or `--identity FILE`): without it
//! exit 78 naming the secret, with a wrong one a clear error. Keys are made by pyrage at
//! test time.

use crate::support::age;
use crate::support::backup::{comparable, setup};
use crate::support::tree::tree;
use crate::support::{TestEnv, files_under};
use serde_json::Value;
use std::path::{Path, PathBuf};

const CONTENT_CANARY: &str = "CANARY-CONTENT-5be1d0";
const NAME_CANARY: &str = "CANARY-NAME-91fe2c";

/// The `backup:` lines that seal the store to `recipient`.
fn encrypt_to(recipient: &str) -> String {
    format!("  encrypt_to: {recipient}\n")
}

/// Whether `needle` shows in a name or the bytes of a file under `dir`, or in the bytes a
/// file that is a zstd frame (a manifest) decompresses to: compression hides nothing.
fn visible_in(dir: &Path, needle: &str) -> bool {
    let has = |b: &[u8]| b.windows(needle.len()).any(|w| w == needle.as_bytes());
    files_under(dir).iter().any(|p| {
        let bytes = std::fs::read(p).unwrap();
        p.to_string_lossy().contains(needle)
            || has(&bytes)
            || zstd::decode_all(&bytes[..]).is_ok_and(|plain| has(&plain))
    })
}

fn write_vault(env: &TestEnv) {
    env.write(
        &format!("Clients/{NAME_CANARY}.md"),
        format!("---\nid: c1\n---\nthe plan: {CONTENT_CANARY}\n"),
    );
    env.write("Done/note.md", "a short note\n");
    // Over 1 MiB: a loose object, sealed in many 64 KiB chunks.
    env.write(
        "Attachments/big.bin",
        (0..1_200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<u8>>(),
    );
}

fn backup(env: &TestEnv) -> Value {
    serde_json::from_str(&env.ok(&["backup", "--json"]).stdout).unwrap()
}

/// A secrets file outside the vault, mode 600, holding `AIE_BACKUP_IDENTITY`.
fn secrets_file(env: &TestEnv, identity: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = env.dir.path().join("secrets.env");
    std::fs::write(&p, format!("AIE_BACKUP_IDENTITY={identity}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

#[test]
fn a_plain_store_shows_the_canaries_so_the_search_below_can_fail() {
    let (env, store) = setup("");
    write_vault(&env);
    backup(&env);
    assert!(visible_in(&store, CONTENT_CANARY));
    assert!(visible_in(&store, NAME_CANARY));
}

#[test]
fn an_encrypted_round_trip_hides_names_and_content_and_still_dedupes() {
    let (identity, recipient) = age::keygen();
    let (mut env, store) = setup(&encrypt_to(&recipient));
    write_vault(&env);
    // Backing up needs only the recipient: no identity anywhere yet.
    let first = backup(&env);
    let id = first["id"].as_str().unwrap().to_string();
    assert!(
        !visible_in(&store, CONTENT_CANARY),
        "content readable in the store"
    );
    assert!(
        !visible_in(&store, NAME_CANARY),
        "a file name readable in the store"
    );
    for p in files_under(&store) {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".refs") && !name.ends_with(".idx") {
            let head = std::fs::read(&p).unwrap();
            assert!(
                head.starts_with(b"age-encryption.org/v1\n"),
                "`{name}` is not age"
            );
        }
    }
    // The next night: the unchanged 1.2 MB file is not stored again, with no identity.
    env.now = "2026-11-24T03:00:00Z".into();
    let second = backup(&env);
    assert!(second["new_bytes"].as_u64().unwrap() < 100_000, "{second}");
    let list: Value =
        serde_json::from_str(&env.ok(&["backup", "--list", "--json"]).stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert_eq!(list[0]["files"], first["files"], "{list}");

    // Restoring needs the identity: here from the secrets file.
    let before = tree(&env.vault, comparable);
    let secrets = secrets_file(&env, &identity);
    env.env("AIE_SECRETS_FILE", secrets.to_str().unwrap());
    env.ok(&["backup", "--verify", &id]);
    let to = env.dir.path().join("restored");
    env.ok(&["restore", &id, "--to", to.to_str().unwrap()]);
    let after = tree(&to, comparable);
    assert_eq!(before.len(), after.len());
    for (p, n) in &before {
        assert_eq!(after.get(p), Some(n), "`{p}` differs after restore");
    }
    // What the host could see stays hidden: no key in the store either.
    assert!(!visible_in(&store, &identity));
}

#[test]
fn restore_without_the_identity_exits_78_naming_it_and_verify_checks_the_packs() {
    let (_, recipient) = age::keygen();
    let (env, store) = setup(&encrypt_to(&recipient));
    write_vault(&env);
    let id = backup(&env)["id"].as_str().unwrap().to_string();
    let to = env.dir.path().join("restored");
    let r = env.run(&["restore", &id, "--to", to.to_str().unwrap()]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("AIE_BACKUP_IDENTITY"), "{r:?}");
    assert!(!to.join("Done/note.md").exists());
    // `--verify` without it checks what it can: objects present, packs whole.
    let r = env.ok(&["backup", "--verify", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (v["ok"].as_bool(), v["whole"].as_bool()),
        (Some(true), Some(false))
    );
    let r = env.ok(&["backup", "--verify"]);
    assert!(r.stdout.contains("AIE_BACKUP_IDENTITY"), "{r:?}");
    // A flipped byte in a pack is found without the identity.
    let pack = files_under(&store.join("packs"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|x| x == "pack"))
        .unwrap();
    let mut bytes = std::fs::read(&pack).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(&pack, bytes).unwrap();
    let r = env.run(&["backup", "--verify", &id]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("does not match its SHA-256"), "{r:?}");
    // A restore still checks every file, so it needs the identity: still exit 78.
    let r = env.run(&["restore", &id, "--to", to.to_str().unwrap()]);
    assert_eq!(r.code, 78, "{r:?}");
}

#[test]
fn a_wrong_identity_is_refused_clearly_and_never_echoed() {
    let (_, recipient) = age::keygen();
    let (other, _) = age::keygen();
    let (env, _) = setup(&encrypt_to(&recipient));
    write_vault(&env);
    let id = backup(&env)["id"].as_str().unwrap().to_string();
    let key = env.dir.path().join("other.key");
    std::fs::write(&key, format!("# created by pyrage\n{other}\n")).unwrap();
    let to = env.dir.path().join("restored");
    let r = env.run(&[
        "restore",
        &id,
        "--to",
        to.to_str().unwrap(),
        "--identity",
        key.to_str().unwrap(),
    ]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("not encrypted to this identity"), "{r:?}");
    assert!(!r.stderr.contains(&other) && !r.stdout.contains(&other));
    assert!(!to.join("Done/note.md").exists());
    // Garbage where a key belongs: exit 78, and the text is not echoed either.
    std::fs::write(&key, "AGE-SECRET-KEY-1NOTAKEY\n").unwrap();
    let r = env.run(&["backup", "--verify", "--identity", key.to_str().unwrap()]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("not an age identity"), "{r:?}");
}

#[test]
fn pyrage_decrypts_the_manifest_and_a_large_object_aie_wrote() {
    let (identity, recipient) = age::keygen();
    let (env, store) = setup(&encrypt_to(&recipient));
    write_vault(&env);
    let id = backup(&env)["id"].as_str().unwrap().to_string();
    let key = env.dir.path().join("id.key");
    std::fs::write(&key, format!("{identity}\n")).unwrap();
    let manifest = age::decrypt(&key, &store.join(format!("snapshots/{id}.json.zst")));
    let text = String::from_utf8(zstd::decode_all(&manifest[..]).unwrap()).unwrap();
    assert!(text.starts_with("sha256:"), "{text}");
    assert!(text.contains(NAME_CANARY), "{text}");
    // The big file is a loose object: its header byte, then its bytes (raw or deflated).
    let big = std::fs::read(env.path("Attachments/big.bin")).unwrap();
    let hash: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&big)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let object = age::decrypt(&key, &store.join(format!("objects/{}/{hash}", &hash[..2])));
    match object.split_first() {
        Some((b'r', rest)) => assert_eq!(rest, &big[..]),
        Some((b's', rest)) => assert_eq!(zstd::stream::decode_all(rest).unwrap(), big),
        other => panic!("unexpected object header {:?}", other.map(|o| o.0)),
    }
}

#[test]
fn encrypt_to_on_a_store_with_plain_snapshots_is_refused() {
    let (env, store) = setup("");
    write_vault(&env);
    backup(&env);
    let (_, recipient) = age::keygen();
    env.config(&format!(
        "backup:\n  dir: {}\n  encrypt_to: {recipient}\n",
        store.display()
    ));
    let r = env.run(&["backup"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("plain snapshots"), "{r:?}");
    let r = env.run(&["backup"]);
    assert_eq!(r.code, 78, "{r:?}");
    // A recipient that is not an age key is a settings error.
    env.config(&format!(
        "backup:\n  dir: {}\n  encrypt_to: age1example\n",
        store.display()
    ));
    let r = env.run(&["backup"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("not an age recipient"), "{r:?}");
}

#[test]
fn pruning_an_encrypted_store_needs_no_identity_and_keeps_what_is_named() {
    let (identity, recipient) = age::keygen();
    let (mut env, store) = setup(&encrypt_to(&recipient));
    env.config(&format!(
        "backup:\n  dir: {}\n  encrypt_to: {recipient}\n  keep: 1\n  keep_weekly: 0\n  keep_monthly: 0\n",
        store.display()
    ));
    write_vault(&env);
    backup(&env);
    std::fs::remove_file(env.path("Attachments/big.bin")).unwrap();
    env.write("Done/note.md", "a changed note\n");
    env.now = "2026-11-24T03:00:00Z".into();
    let r = backup(&env);
    let id = r["id"].as_str().unwrap().to_string();
    assert_eq!(r["pruned"].as_array().unwrap().len(), 1, "{r}");
    assert!(
        files_under(&store.join("objects")).is_empty(),
        "the big object is dead"
    );
    assert_eq!(
        files_under(&store.join("snapshots")).len(),
        2,
        "one manifest and its refs"
    );
    env.env("AIE_BACKUP_IDENTITY", &identity);
    env.ok(&["backup", "--verify"]);
    let to = env.dir.path().join("restored");
    env.ok(&["restore", &id, "--to", to.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(to.join("Done/note.md")).unwrap(),
        "a changed note\n"
    );
}
