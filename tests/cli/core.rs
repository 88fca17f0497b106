//! Core: init, process-inbox, plan, execute-approved, status, demo, and the promises
//! (nothing lost, nothing twice, nothing without approval) on odd and bad input.

use crate::support::TestEnv;
use std::fs;

#[test]
fn init_makes_every_stage_folder_and_never_overwrites() {
    let env = TestEnv::new();
    for d in [
        "Inbox",
        "Needs_Action/email",
        "Needs_Action/social",
        "Needs_Action/accounting",
        "Needs_Action/general",
        "In_Progress/local",
        "Plans/email",
        "Pending_Approval/general",
        "Approved",
        "Rejected",
        "Done",
        "Briefings",
        "Logs",
        "Updates",
        "Attachments",
    ] {
        assert!(env.path(d).is_dir(), "{d} missing");
    }
    for f in [
        "Dashboard.md",
        "Company_Handbook.md",
        "Business_Goals.md",
        ".gitignore",
        ".gitattributes",
    ] {
        assert!(env.path(f).is_file(), "{f} missing");
    }
    assert!(env.read(".gitignore").contains(".aie/"));
    assert!(env.read(".gitattributes").contains("merge=union"));
    assert!(env.read("Business_Goals.md").contains("$10,000"));
    // A second init keeps the owner's edits.
    fs::write(env.path("Company_Handbook.md"), "my rules").unwrap();
    let r = env.run_in(env.dir.path(), &["init", "vault"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.read("Company_Handbook.md"), "my rules");
}

#[test]
fn commands_refuse_a_folder_without_settings_and_recreate_stage_folders() {
    let env = TestEnv::new();
    let empty = env.dir.path().join("not-a-vault");
    fs::create_dir_all(&empty).unwrap();
    let mut c = env.cmd();
    c.env("AIE_VAULT", &empty).arg("process-inbox");
    let r = env.run_cmd(&mut c);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("not-a-vault"), "{r:?}");
    fs::remove_dir_all(env.path("Approved")).unwrap();
    fs::remove_dir_all(env.path("Needs_Action/social")).unwrap();
    env.ok(&["plan"]);
    assert!(env.path("Approved").is_dir() && env.path("Needs_Action/social").is_dir());
}

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

// ---------- odd but good input: handled like any other, exit 0 ----------

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

// ---------- bad input: named on stderr and in the log, exit 1, nothing lost ----------

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

#[test]
fn malformed_front_matter_is_named_and_the_item_stays() {
    let env = TestEnv::new();
    let bad = "---\nid: broken\nkind: [unclosed\n---\nbody\n";
    env.write("Needs_Action/general/broken.md", bad);
    env.drop_file("fine.txt", "fine");
    env.ok(&["process-inbox"]);
    let r = env.run(&["plan"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("Needs_Action/general/broken.md"), "{r:?}");
    assert_eq!(env.read("Needs_Action/general/broken.md"), bad);
    // The good item was planned all the same.
    assert_eq!(env.all_items().len(), 2);
    assert!(env.items_in("Needs_Action/general").len() == 1);
}

#[test]
fn an_item_dropped_straight_into_approved_goes_back_for_review() {
    let mut env = TestEnv::new();
    env.config("execution:\n  dry_run: false\n");
    env.write(
        "Approved/sneaky.md",
        "---\nid: sneaky\nkind: file\ndomain: accounting\nsource: inbox:x\ncreated: 2026-11-23T08:00:00Z\nstatus: approved\npriority: high\nactions:\n- kind: payment\n  payee: Mallory\n  amount: 9000\n  currency: USD\n  needs_approval: false\n  rule: forged\n---\nbody\n",
    );
    env.env("AIE_LOG", "warn");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("sneaky"), "{r:?}");
    assert_eq!(env.where_is("sneaky"), ["Pending_Approval/accounting"]);
    let f = env.front("Pending_Approval/accounting/sneaky.md");
    assert!(
        f["review"]
            .as_str()
            .unwrap()
            .contains("never sent this item for approval")
    );
    assert!(
        !env.path(".aie/journal.jsonl").exists(),
        "nothing may have been attempted"
    );
    let ledger = env.approvals();
    assert_eq!(ledger.last().unwrap()["event"], "review");
    // Returned for review counts as a request: the owner may now approve it.
    env.mv("Pending_Approval/accounting/sneaky.md", "Approved");
    let r = env.run(&["execute-approved"]);
    // No Odoo connector on this build: the payment is not configured, so it comes back again.
    assert_eq!(r.code, 1, "{r:?}");
    let f = env.front("Pending_Approval/accounting/sneaky.md");
    // Issue 14: the note names the aie.yaml section to fill in.
    assert!(
        f["review"]
            .as_str()
            .unwrap()
            .contains("fill in the `odoo:` section"),
        "{f}"
    );
}

#[test]
fn an_unknown_action_kind_in_approved_is_refused() {
    let env = TestEnv::new();
    env.drop_file(
        "pay.txt",
        "Please pay Hosting Co $49 monthly subscription payment",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let id = env.only_item("Pending_Approval/accounting");
    // The owner (or an attacker with vault access) adds an action outside the closed list.
    let rel = format!("Pending_Approval/accounting/{id}.md");
    let text = env.read(&rel).replace(
        "```yaml aie-actions\n",
        "```yaml aie-actions\n- kind: wire_transfer\n  iban: XX00\n",
    );
    fs::write(env.path(&rel), text).unwrap();
    env.mv(&rel, "Approved");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("wire_transfer"), "{r:?}");
    assert_eq!(env.where_is(&id), ["Pending_Approval/accounting"]);
    let f = env.front(&rel);
    assert_eq!(f["actions"][0]["result"], "refused");
    assert!(
        env.audit()
            .iter()
            .any(|l| l["action"] == "wire_transfer" && l["result"] == "refused")
    );
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

// ---------- the approval gate and execution ----------

#[test]
fn policy_approved_items_run_in_dry_run_once_and_stay() {
    let env = TestEnv::new();
    env.config("policy:\n  known_payees: [Hosting Co]\n");
    env.drop_file(
        "hosting.txt",
        "Please pay Hosting Co $49 for the monthly server payment",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let id = env.only_item("Approved");
    let f = env.front(&format!("Approved/{id}.md"));
    assert_eq!(f["approved_by"], "policy:recurring_known_payee_small");
    assert_eq!(env.approvals()[0]["event"], "policy");
    let r = env.ok(&["execute-approved"]);
    assert!(r.stdout.contains("Record a payment of 49"), "{r:?}");
    assert_eq!(env.where_is(&id), ["Approved"]);
    assert_eq!(
        env.front(&format!("Approved/{id}.md"))["actions"][0]["result"],
        "dry_run"
    );
    let dry = |env: &TestEnv| {
        env.audit()
            .iter()
            .filter(|l| l["result"] == "dry_run")
            .count()
    };
    assert_eq!(dry(&env), 1);
    // Once per action identity, not on every pass.
    let r = env.ok(&["execute-approved"]);
    assert!(!r.stdout.contains("Record a payment"), "{r:?}");
    assert_eq!(dry(&env), 1);
    assert!(
        !env.path(".aie/journal.jsonl").exists(),
        "dry-run writes no journal entry"
    );
    assert!(
        env.read(&format!("Plans/accounting/{id}.plan.md"))
            .contains("Dry run")
    );
}

#[test]
fn an_edit_after_approval_sends_the_item_back_and_notes_run_to_done() {
    let env = TestEnv::new();
    env.config("execution:\n  dry_run: false\n");
    // A plan whose only real action is a note-like one: approve a note by hand.
    env.drop_file(
        "q.eml",
        "From: Ann <ann@x.example>\nSubject: Hi\n\nCan you call me?\n",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let id = env.only_item("Pending_Approval/general");
    let rel = format!("Pending_Approval/general/{id}.md");
    // The owner rewrites the request into a note before approving: allowed.
    env.set_actions(&rel, "- kind: note\n  text: called her instead\n");
    env.mv(&rel, "Approved");
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&id), ["Done"]);
    let f = env.front(&format!("Done/{id}.md"));
    assert_eq!(f["actions"][0]["result"], "ok");
    assert_eq!(f["status"], "done");
    let bound: Vec<_> = env
        .approvals()
        .into_iter()
        .filter(|l| l["event"] == "bound")
        .collect();
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0]["by"], "human");
}

#[test]
fn actions_changed_after_aie_saw_the_approval_go_back() {
    let env = TestEnv::new();
    env.config("policy:\n  known_payees: [Hosting Co]\n");
    env.drop_file(
        "hosting.txt",
        "Please pay Hosting Co $49 for the monthly server payment",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let id = env.only_item("Approved");
    env.ok(&["execute-approved"]);
    let rel = format!("Approved/{id}.md");
    fs::write(
        env.path(&rel),
        env.read(&rel).replace("amount: 49.0", "amount: 4900.0"),
    )
    .unwrap();
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(env.where_is(&id), ["Pending_Approval/accounting"]);
    assert!(
        env.front(&format!("Pending_Approval/accounting/{id}.md"))["review"]
            .as_str()
            .unwrap()
            .contains("changed")
    );
}

#[test]
fn expired_requests_move_to_rejected_with_the_reason() {
    let mut env = TestEnv::new();
    env.drop_file(
        "q.eml",
        "From: Ann <ann@x.example>\nSubject: Hi\n\nCan you call me?\n",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let id = env.only_item("Pending_Approval/general");
    // The file's own age is judged by the real clock: make it old.
    let p = env.path(&format!("Pending_Approval/general/{id}.md"));
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86400);
    fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(old)
        .unwrap();
    env.now = "2026-11-25T09:00:00Z".into();
    env.env("AIE_LOG", "warn");
    env.ok(&["plan"]);
    assert_eq!(env.where_is(&id), ["Rejected"]);
    assert!(
        env.front(&format!("Rejected/{id}.md"))["reason"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    assert_eq!(env.approvals().last().unwrap()["event"], "expired");
}

#[test]
fn draft_only_agent_never_executes_and_never_writes_the_dashboard() {
    let mut env = TestEnv::new();
    env.config("execution:\n  dry_run: false\npolicy:\n  known_payees: [Hosting Co]\n");
    env.env("AIE_MODE", "draft_only").env("AIE_AGENT", "cloud");
    let dash = env.read("Dashboard.md");
    env.drop_file(
        "hosting.txt",
        "Please pay Hosting Co $49 for the monthly server payment",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    assert!(env.path("In_Progress/cloud").is_dir());
    let id = env.only_item("Approved");
    let r = env.ok(&["execute-approved"]);
    assert!(r.stdout.contains("draft_only"), "{r:?}");
    assert_eq!(env.where_is(&id), ["Approved"]);
    assert!(!env.path(".aie/journal.jsonl").exists());
    assert_eq!(env.read("Dashboard.md"), dash);
    // It reports in Updates/ instead.
    assert!(env.read("Updates/cloud.md").contains("| approved | 1 |"));
}

#[test]
fn dashboard_is_rewritten_between_markers_only_when_something_changed() {
    let env = TestEnv::new();
    let notes = "# Dashboard\n\nMy own notes.\n\n";
    let text = env.read("Dashboard.md");
    let start = text.find("<!-- aie:dashboard:start -->").unwrap();
    fs::write(
        env.path("Dashboard.md"),
        format!("{notes}{}", &text[start..]),
    )
    .unwrap();
    env.drop_file(
        "q.eml",
        "From: Ann <ann@x.example>\nSubject: Hi\n\nCan you call me?\n",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let d = env.read("Dashboard.md");
    assert!(d.starts_with(notes), "{d}");
    assert!(d.contains("| pending_approval | 1 |"), "{d}");
    assert!(d.contains("[["), "pending items are wikilinks: {d}");
    let before = fs::metadata(env.path("Dashboard.md"))
        .unwrap()
        .modified()
        .unwrap();
    // An idle pass does not touch it.
    env.ok(&["plan"]);
    env.ok(&["process-inbox"]);
    assert_eq!(
        fs::metadata(env.path("Dashboard.md"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
}

#[test]
fn status_json_has_queues_jobs_locks_and_attention() {
    let env = TestEnv::new();
    env.drop_file("a.txt", "hello");
    env.ok(&["process-inbox"]);
    let r = env.ok(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["queues"]["needs_action"], 1);
    assert_eq!(v["queues"]["done"], 0);
    let j = &v["jobs"]["process-inbox"];
    assert_eq!(j["last_exit"], 0);
    assert_eq!(j["last_success"], "2026-11-23T09:00:00Z");
    assert!(j.get("next_due").is_some() && j.get("overdue").is_some());
    assert!(v["locks"].is_array());
    assert!(v["attention"].is_array());
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

#[test]
fn due_calendar_posts_run_by_policy_and_inbound_post_requests_wait() {
    let env = TestEnv::new();
    env.write(
        "Content_Calendar.md",
        "# Content Calendar\n- 2026-11-23 08:00 linkedin: We are hiring a bookkeeper!\n- 2026-12-24 08:00 x: Not due yet\n",
    );
    env.drop_file(
        "post idea.txt",
        "Please post on LinkedIn:\nPost: Buy now, limited offer!",
    );
    let r = env.ok(&["process-inbox"]);
    assert!(r.stdout.contains("calendar_posts: 1"), "{r:?}");
    env.ok(&["plan"]);
    let cal = env.only_item("Approved");
    let f = env.front(&format!("Approved/{cal}.md"));
    assert_eq!(f["approved_by"], "policy:content_calendar");
    assert_eq!(f["actions"][0]["text"], "We are hiring a bookkeeper!");
    let inbound = env.only_item("Pending_Approval/social");
    let f = env.front(&format!("Pending_Approval/social/{inbound}.md"));
    assert_eq!(f["actions"][0]["rule"], "social_not_from_calendar");
    // A calendar entry becomes an item once, not every pass.
    env.ok(&["process-inbox"]);
    assert_eq!(env.all_items().len(), 2);
}

#[test]
fn rate_limited_actions_wait_for_the_next_window_and_are_never_dropped() {
    let mut env = TestEnv::new();
    env.config("execution:\n  dry_run: false\npolicy:\n  rate_limits:\n    note: 1\n");
    for i in 0..2 {
        env.drop_file(
            &format!("q{i}.eml"),
            format!("From: Ann <ann@x.example>\nSubject: Q{i}\n\nCan you call me?\n"),
        );
    }
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    for id in env.items_in("Pending_Approval/general") {
        let rel = format!("Pending_Approval/general/{id}");
        env.set_actions(&rel, "- kind: note\n  text: done by phone\n");
        env.mv(&rel, "Approved");
    }
    let r = env.ok(&["execute-approved"]);
    assert!(
        r.stdout.contains("executed: 1") && r.stdout.contains("rate_limited: 1"),
        "{r:?}"
    );
    assert_eq!(env.items_in("Done").len(), 1);
    assert_eq!(env.items_in("Approved").len(), 1);
    // Still inside the hour: it keeps waiting.
    env.now = "2026-11-23T09:30:00Z".into();
    env.ok(&["execute-approved"]);
    assert_eq!(env.items_in("Approved").len(), 1);
    // The next window: it runs.
    env.now = "2026-11-23T10:01:00Z".into();
    env.ok(&["execute-approved"]);
    assert_eq!(env.items_in("Done").len(), 2);
}

#[test]
fn every_vault_command_exits_78_in_a_folder_without_settings() {
    let env = TestEnv::new();
    let empty = env.dir.path().join("plain-folder");
    fs::create_dir_all(&empty).unwrap();
    for args in [
        &["process-inbox"][..],
        &["plan"],
        &["execute-approved"],
        &["status"],
        &["doctor"],
        &["run", "execute"],
        &["schedule", "cron"],
        &["alert", "--unit", "aie-execute.service"],
    ] {
        let mut c = env.cmd();
        c.env("AIE_VAULT", &empty).args(args);
        let r = env.run_cmd(&mut c);
        assert_eq!(r.code, 78, "{args:?}: {r:?}");
    }
    assert!(
        fs::read_dir(&empty).unwrap().next().is_none(),
        "nothing may be created there"
    );
}

#[test]
fn no_secret_reaches_a_log_state_or_report() {
    let mut env = TestEnv::new();
    let secret = "sk-live-SUPERSECRET-123456";
    env.env("AIE_SMTP_PASSWORD", secret)
        .env("AIE_ANTHROPIC_API_KEY", secret);
    env.config("policy:\n  known_contacts: ['@x.example']\n");
    // The owner's own content happens to contain the secret (a pasted key in a mail).
    env.drop_file(
        "q.eml",
        format!("From: Ann <ann@x.example>\nSubject: key {secret}\n\nCan you check {secret}?\n"),
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let r = env.ok(&["execute-approved", "--json"]);
    let s = env.ok(&["status", "--json"]);
    fn walk(d: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in fs::read_dir(d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.path());
            }
        }
    }
    let mut files = Vec::new();
    walk(&env.path("Logs"), &mut files);
    walk(&env.path(".aie"), &mut files);
    files.push(env.path("Dashboard.md"));
    assert!(files.len() > 3);
    for f in files {
        let text = String::from_utf8_lossy(&fs::read(&f).unwrap()).to_string();
        assert!(!text.contains(secret), "secret in `{}`", f.display());
    }
    // The dry-run report shows the owner's message as it would be sent, which is theirs to
    // see; the status report must not.
    assert!(!s.stdout.contains(secret));
    assert!(r.code == 0);
}

#[test]
fn plan_dry_run_shows_where_each_item_would_go_and_changes_nothing() {
    let env = TestEnv::new();
    env.drop_file(
        "q.eml",
        "From: Ann <ann@x.example>\nSubject: Hi\n\nCan you call me?\n",
    );
    env.drop_file("notes.txt", "Meeting notes. Nothing to do.");
    env.ok(&["process-inbox"]);
    let before = env.all_items();
    let r = env.ok(&["plan", "--dry-run"]);
    assert!(
        r.stdout.contains("Pending_Approval/general") && r.stdout.contains("new_contact"),
        "{r:?}"
    );
    assert!(r.stdout.contains("-> Done"), "{r:?}");
    assert_eq!(env.all_items(), before);
    assert!(env.approvals().is_empty());
    assert!(env.items_in("Plans/general").is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["plan", "--dry-run", "--json"]).stdout).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
}

#[test]
fn an_email_with_no_address_to_find_waits_with_missing_recipient() {
    let env = TestEnv::new();
    // A dropped note asks for an invoice but names no address: the owner must add one.
    env.drop_file(
        "invoice.txt",
        "Please invoice us for the October retainer, $2,000.\nClient: Bolt Ltd",
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let id = env.only_item("Pending_Approval/accounting");
    let f = env.front(&format!("Pending_Approval/accounting/{id}.md"));
    let actions = f["actions"].as_array().unwrap();
    assert_eq!(actions[0]["kind"], "odoo_invoice");
    assert_eq!(actions[0]["partner"], "Bolt Ltd");
    assert_eq!(actions[1]["kind"], "send_email");
    assert_eq!(actions[1]["to"], serde_json::json!([]));
    assert_eq!(actions[1]["rule"], "missing_recipient");
    assert!(
        f["summary"].as_str().unwrap().contains("no recipient yet"),
        "{f}"
    );
}

/// Regression: the approvals ledger is ordered by instant, not by the text of local times,
/// which at a daylight-saving fall-back would put a later binding before an earlier request.
#[test]
fn an_edit_after_approval_goes_back_across_a_dst_fall_back() {
    let mut env = TestEnv::new();
    let cfg = env
        .read("aie.yaml")
        .replace("timezone: UTC", "timezone: America/New_York");
    fs::write(env.path("aie.yaml"), cfg).unwrap();
    env.write(
        "Approved/t.md",
        "---\nid: t\nkind: file\ndomain: general\nsource: inbox:t\ncreated: 2026-11-01T00:00:00Z\nstatus: approved\npriority: normal\nactions:\n- kind: send_email\n  to: [ann@x.example]\n  subject: hi\n  body: hello\n---\nbody\n",
    );
    // 01:50 EDT: never requested, so it goes back for review (a new request).
    env.now = "2026-11-01T05:50:00Z".into();
    assert_eq!(env.run(&["execute-approved"]).code, 1);
    env.mv("Pending_Approval/general/t.md", "Approved");
    // 01:10 EST (later, though it reads earlier): the owner's approval is bound.
    env.now = "2026-11-01T06:10:00Z".into();
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is("t"), ["Approved"]);
    // Then the recipient is changed: that was not approved.
    let text = env
        .read("Approved/t.md")
        .replace("ann@x.example", "x@evil.example");
    fs::write(env.path("Approved/t.md"), text).unwrap();
    env.now = "2026-11-01T06:20:00Z".into();
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(env.where_is("t"), ["Pending_Approval/general"]);
}
