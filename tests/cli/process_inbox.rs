//! `aie process-inbox` (intake): every drop in `Inbox/` becomes one item, odd but good input
//! (a file name that is not UTF-8 too) is handled like any other, and bad input is named,
//! exit 1, with nothing lost.

use crate::support::TestEnv;
use std::fs;

#[test]
fn a_dropped_file_flows_to_pending_approval_with_plan_ledger_and_audit() {
    let env = TestEnv::new();
    env.drop_file(
        "question.eml",
        "From: Omar <omar@lead.example>\nSubject: Pricing?\nMessage-ID: <q1@lead.example>\n\nWhat do you charge?\n",
    );
    env.ok(&["process-inbox"]);
    let id = env.only_item("Needs_Action/general");
    assert!(
        env.path(&format!("Attachments/{id}/question.eml"))
            .is_file()
    );
    assert!(env.items_in("Inbox").is_empty());
    let f = env.front(&format!("Needs_Action/general/{id}.md"));
    assert_eq!(f["kind"], "email");
    assert_eq!(f["source"], "inbox:question.eml");
    assert_eq!(f["from"], "Omar <omar@lead.example>");
    assert_eq!(f["created"], "2026-11-23T09:00:00Z");

    env.ok(&["plan"]);
    assert_eq!(env.where_is(&id), ["Pending_Approval/general"]);
    let f = env.front(&format!("Pending_Approval/general/{id}.md"));
    let a = &f["actions"][0];
    assert_eq!(a["kind"], "send_email");
    assert_eq!(a["to"][0], "omar@lead.example");
    assert_eq!(a["needs_approval"], true);
    assert_eq!(a["rule"], "new_contact");
    assert_eq!(f["expires"], "2026-11-24T09:00:00Z");
    assert!(f["summary"].as_str().unwrap().contains("omar@lead.example"));
    assert!(env.path(&format!("Plans/general/{id}.plan.md")).is_file());
    let ledger = env.approvals();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["event"], "requested");
    assert_eq!(ledger[0]["item"], id.as_str());
    let audit = env.audit();
    assert!(
        audit
            .iter()
            .any(|l| l["action"] == "item_created" && l["item"] == id.as_str())
    );
    assert!(
        audit
            .iter()
            .any(|l| l["action"] == "planned" && l["approval_status"] == "pending")
    );
}

#[test]
fn odd_but_good_drops_all_become_items() {
    let env = TestEnv::new();
    env.drop_file("empty.txt", "");
    env.drop_file("photo.png", [0x89u8, b'P', b'N', b'G', 0, 0, 1, 2, 255, 0]);
    env.drop_file("latin1.txt", [b'c', b'a', b'f', 0xe9, b'\n']);
    env.drop_file("name with spaces.txt", "hello");
    env.drop_file("ünïcødé ✓.md", "unicode name");
    env.drop_file("-leading-dash.txt", "dash");
    let r = env.run(&["process-inbox"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        env.items_in("Inbox").is_empty(),
        "inbox not emptied: {:?}",
        fs::read_dir(env.path("Inbox")).unwrap().count()
    );
    let items = env.all_items();
    assert_eq!(items.len(), 6, "{items:?}");
    // Originals are kept byte for byte beside their items.
    let png = items
        .iter()
        .find(|(id, _)| id.starts_with("photo-"))
        .unwrap();
    assert_eq!(
        fs::read(env.path(&format!("Attachments/{}/photo.png", png.0))).unwrap()[0],
        0x89
    );
    let f = env.front(&format!("{}/{}.md", png.1, png.0));
    assert_eq!(f["content_type"], "image/png");
    // The whole chain runs over them.
    env.ok(&["plan"]);
    env.ok(&["execute-approved"]);
    assert_eq!(env.all_items().len(), 6);
}

#[test]
fn identical_redrop_is_a_logged_duplicate_and_a_reused_name_is_a_new_item() {
    let env = TestEnv::new();
    env.drop_file("note.txt", "first version");
    env.ok(&["process-inbox"]);
    let id = env.only_item("Needs_Action/general");
    env.drop_file("note.txt", "first version");
    let r = env.ok(&["process-inbox"]);
    assert!(r.stdout.contains("duplicates: 1"), "{r:?}");
    assert_eq!(env.all_items().len(), 1);
    assert!(env.path(&format!("Attachments/{id}/note.txt")).is_file());
    assert!(
        env.path(&format!("Attachments/{id}/note (2).txt"))
            .is_file()
    );
    assert!(
        env.audit()
            .iter()
            .any(|l| l["action"] == "duplicate" && l["item"] == id.as_str())
    );
    // Same name, new content: a new item.
    env.drop_file("note.txt", "second version");
    env.ok(&["process-inbox"]);
    assert_eq!(env.all_items().len(), 2);
    // Already processed and planned: a re-drop is still a duplicate, wherever the item is.
    env.ok(&["plan"]);
    env.drop_file("note.txt", "first version");
    env.ok(&["process-inbox"]);
    assert_eq!(env.all_items().len(), 2);
}

#[test]
fn editor_temp_files_and_dot_files_are_left_alone() {
    let env = TestEnv::new();
    for n in [
        ".hidden",
        "draft.md~",
        "x.tmp",
        ".x.md.swp",
        "a.sync-conflict-20261122.md",
    ] {
        env.drop_file(n, "x");
    }
    env.ok(&["process-inbox"]);
    assert!(env.all_items().is_empty());
    assert_eq!(fs::read_dir(env.path("Inbox")).unwrap().count(), 5);
}

#[test]
fn a_drop_still_being_written_waits() {
    let env = TestEnv::new();
    env.config("inbox:\n  settle_seconds: 3600\n");
    let p = env.drop_file("fresh.txt", "being written");
    // "Just written" by this process's clock, so the test holds with the real clock faked too.
    fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    let r = env.ok(&["process-inbox"]);
    assert!(r.stdout.contains("settling: 1"), "{r:?}");
    assert!(env.path("Inbox/fresh.txt").exists());
}

#[test]
fn symlink_out_of_the_vault_is_not_followed() {
    let env = TestEnv::new();
    let outside = env.dir.path().join("secret.txt");
    fs::write(&outside, "outside").unwrap();
    std::os::unix::fs::symlink(&outside, env.path("Inbox/link.txt")).unwrap();
    let r = env.run(&["process-inbox"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("Inbox/link.txt") && r.stderr.contains("symbolic link"),
        "{r:?}"
    );
    assert!(env.path("Inbox/link.txt").symlink_metadata().is_ok());
    assert!(env.all_items().is_empty());
    assert_eq!(fs::read_to_string(&outside).unwrap(), "outside");
    assert!(
        env.audit()
            .iter()
            .any(|l| l["target"] == "Inbox/link.txt" && l["result"] == "failed")
    );
}

#[test]
fn a_folder_in_the_inbox_is_reported_and_left() {
    let env = TestEnv::new();
    fs::create_dir(env.path("Inbox/a folder")).unwrap();
    fs::write(env.path("Inbox/a folder/inside.txt"), "x").unwrap();
    let r = env.run(&["process-inbox"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("Inbox/a folder"), "{r:?}");
    assert!(env.path("Inbox/a folder/inside.txt").exists());
}

#[test]
fn a_file_over_the_size_limit_stays_and_is_reported_once() {
    let env = TestEnv::new();
    env.config("inbox:\n  settle_seconds: 0\n  max_file_bytes: 100\n");
    env.drop_file("big.bin", vec![b'x'; 101]);
    env.drop_file("small.txt", "ok");
    let r = env.run(&["process-inbox"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("Inbox/big.bin") && r.stderr.contains("over the limit"),
        "{r:?}"
    );
    assert!(env.path("Inbox/big.bin").exists());
    assert_eq!(env.all_items().len(), 1);
    // The same failure is not re-alerted every pass: it stays under attention instead.
    let r = env.run(&["process-inbox"]);
    assert_eq!(r.code, 0, "{r:?}");
    let s = env.ok(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
    assert!(
        v["attention"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["message"].as_str().unwrap().contains("big.bin"))
    );
    // Once it is gone, the attention entry clears.
    fs::remove_file(env.path("Inbox/big.bin")).unwrap();
    env.ok(&["process-inbox"]);
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    assert!(v["attention"].as_array().unwrap().is_empty(), "{v}");
}

/// Makes a folder read-only even for root (chattr +i), undone on drop.
struct ReadOnly(std::path::PathBuf);

impl ReadOnly {
    fn new(p: std::path::PathBuf) -> Option<ReadOnly> {
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .arg(&p)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(ReadOnly(p));
        }
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o555)).unwrap();
        // chmod does not stop root: only trust it when it really denies a write.
        let probe = p.join(".probe");
        if fs::write(&probe, "x").is_ok() {
            let _ = fs::remove_file(probe);
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
            return None;
        }
        Some(ReadOnly(p))
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o755));
    }
}

#[test]
fn a_read_only_stage_folder_fails_cleanly() {
    let env = TestEnv::new();
    env.drop_file("a.txt", "general content");
    let Some(_guard) = ReadOnly::new(env.path("Needs_Action/general")) else {
        eprintln!("skipped: cannot make a folder read-only here (neither chattr nor chmod works)");
        return;
    };
    let r = env.run(&["process-inbox"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("Inbox/a.txt"), "{r:?}");
    assert!(env.path("Inbox/a.txt").exists(), "the drop must stay");
    drop(_guard);
    assert!(env.temp_files().is_empty(), "{:?}", env.temp_files());
    env.ok(&["process-inbox"]);
    assert_eq!(env.all_items().len(), 1);
}

// Issue 14: a deadline of 0 started nothing and said nothing: it is refused now (usage, 2),
// and nothing is taken.
#[test]
fn a_zero_deadline_is_refused_and_starts_no_item() {
    let env = TestEnv::new();
    env.drop_file("a.txt", "hello");
    let r = env.run(&["process-inbox", "--deadline", "0"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(env.path("Inbox/a.txt").exists());
}

/// Regression (finding 14): an Inbox file whose name is not UTF-8 was moved to
/// `Attachments/` under a lossy name (U+FFFD for each bad byte): the original name was gone.
#[test]
fn an_inbox_name_that_is_not_utf8_is_kept_recoverable() {
    use std::os::unix::ffi::OsStrExt;
    let env = TestEnv::new();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9 100%.txt");
    fs::write(env.path("Inbox").join(name), "menu\n").unwrap();
    env.ok(&["process-inbox"]);
    let id = env.only_item("Needs_Action/general");
    let dir = env.path(&format!("Attachments/{id}"));
    let files: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(files, ["caf%E9 100%25.txt"]);
    assert_eq!(fs::read_to_string(dir.join(&files[0])).unwrap(), "menu\n");
    let front = env.front(&format!("Needs_Action/general/{id}.md"));
    assert_eq!(front["source"], "inbox:caf%E9 100%25.txt", "{front}");
}
