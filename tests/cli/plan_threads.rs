//! `aie plan` over a batch big enough to be worked on two threads (`par`): what it writes,
//! records and moves is what planning the same items a few at a time gives, and one bad
//! item among many stops only itself.

use crate::support::TestEnv;
use crate::support::git::git;
use crate::support::tree::tree;
use serde_json::Value;
use std::collections::BTreeSet;

/// Items in the big batch: well above the size from which a pass uses two threads.
const MANY: usize = 96;

/// The text of drop `i`: invoices, bills, payments, posts, mails and plain notes in turn.
fn drop_text(i: usize) -> (String, String) {
    match i % 6 {
        0 => (
            format!("invoice-{i}.txt"),
            format!(
                "Please invoice us for the October retainer, ${},{:03}.00.\nClient: Bolt {i} Ltd\n",
                1 + i % 9,
                i * 7 % 1000
            ),
        ),
        1 => (
            format!("mail-{i}.eml"),
            format!(
                "From: Ann {i} <ann{i}@x.example>\nSubject: Question {i}\n\nCan you call me about project {i}?\n"
            ),
        ),
        2 => (
            format!("post-{i}.txt"),
            format!("Please post on LinkedIn: we opened our office number {i}. Thanks!\n"),
        ),
        3 => (
            format!("bill-{i}.txt"),
            format!(
                "Vendor bill from Acme Hosting {i}: hosting for November, total $4{i}.50, due in 30 days.\n"
            ),
        ),
        4 => (
            format!("notes-{i}.txt"),
            format!("Meeting notes {i}. Nothing to do.\n"),
        ),
        _ => (
            format!("pay-{i}.txt"),
            format!("Please pay the invoice INV-{i} from Paper Co, $1{i}.00.\n"),
        ),
    }
}

/// What a pass left: every item and plan file (path, bytes), the ledger's lines and the
/// `planned` audit lines.
type Left = (Vec<(String, Vec<u8>)>, BTreeSet<String>, BTreeSet<String>);

/// A vault whose drops `range` are filed in `Needs_Action/`, ready for `plan`.
fn filed(range: std::ops::Range<usize>) -> TestEnv {
    let env = TestEnv::new();
    drop_and_file(&env, range);
    env
}

/// Drops `range` into the vault's `Inbox/` and files them.
fn drop_and_file(env: &TestEnv, range: std::ops::Range<usize>) {
    for i in range {
        let (name, text) = drop_text(i);
        env.drop_file(&name, text);
    }
    env.ok(&["process-inbox"]);
}

/// Item files, plan files and the approval request lines, as data to compare.
fn result(env: &TestEnv) -> Left {
    let stages = [
        "Needs_Action",
        "In_Progress",
        "Pending_Approval",
        "Approved",
        "Done",
        "Plans",
    ];
    let files = tree(&env.vault, |rel| {
        stages.iter().any(|s| rel.starts_with(s)) && rel.ends_with(".md")
    })
    .into_iter()
    .map(|(rel, node)| (rel, node.bytes))
    .collect();
    // The ledger's lines, without the sequence number (its order is the order of the
    // records, which differs between one pass and several).
    let ledger = env
        .approvals()
        .iter()
        .map(|r| format!("{} {} {} {}", r["item"], r["event"], r["hash"], r["by"]))
        .collect();
    let audit = env
        .audit()
        .iter()
        .filter(|a| a["event"] == "planned")
        .map(|a| format!("{} {} {}", a["item"], a["target"], a["parameters"]))
        .collect();
    (files, ledger, audit)
}

#[test]
fn a_big_batch_gives_what_planning_a_few_items_at_a_time_gives() {
    same_as_a_few_at_a_time(None);
}

#[test]
fn batches_begun_while_the_last_is_finished_give_what_planning_a_few_items_at_a_time_gives() {
    // Five batches: the worker claims and plans each while this thread finishes the last.
    same_as_a_few_at_a_time(Some(20));
}

/// One `plan` of [`MANY`] items (in batches of `batch`, or the default), against the same
/// drops planned a few at a time.
fn same_as_a_few_at_a_time(batch: Option<usize>) {
    let mut big = filed(0..MANY);
    if let Some(n) = batch {
        big.env("AIE_PLAN_BATCH", &n.to_string());
    }
    let r = big.ok(&["plan", "--json", "-vv"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["counts"]["planned"], MANY as u64, "{r:?}");
    let batches = MANY.div_ceil(batch.unwrap_or(MANY));
    assert!(
        r.stderr
            .contains(&format!("plan: {MANY} items in {batches} batches")),
        "{}",
        r.stderr
    );

    // The same drops, planned eight at a time: every pass stays on one thread.
    let small = TestEnv::new();
    for start in (0..MANY).step_by(8) {
        drop_and_file(&small, start..(start + 8).min(MANY));
        small.ok(&["plan"]);
    }

    let (files, ledger, audit) = result(&big);
    let (want_files, want_ledger, want_audit) = result(&small);
    assert_eq!(
        files.iter().map(|(p, _)| p).collect::<Vec<_>>(),
        want_files.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for ((path, bytes), (_, want)) in files.iter().zip(&want_files) {
        assert!(
            bytes == want,
            "{path} differs:\n{}\n--- planned a few at a time:\n{}",
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(want)
        );
    }
    assert_eq!(ledger, want_ledger);
    assert_eq!(audit, want_audit);
    // Every item was planned and moved on: nothing waits, nothing is left half-written.
    assert!(big.items_in("In_Progress/local").is_empty());
    assert!(big.temp_files().is_empty());
    assert_eq!(big.all_items().len(), MANY);
    // One request or policy approval line per item that went to Pending_Approval/ or Approved/.
    let waiting_or_approved = big
        .all_items()
        .iter()
        .filter(|(_, at)| at.starts_with("Pending_Approval") || at == "Approved")
        .count();
    assert_eq!(ledger.len(), waiting_or_approved);
    // This agent's own record numbers its lines 1, 2, 3... with no gap or repeat.
    let local = std::fs::read_to_string(big.path(".aie/approvals.jsonl")).unwrap();
    let seqs: Vec<u64> = local
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
}

#[test]
fn in_a_big_batch_a_bad_item_and_an_unwritable_plan_stop_only_themselves() {
    let mut env = filed(0..MANY);
    // Four batches, each begun while the last is finished.
    env.env("AIE_PLAN_BATCH", "30");
    a_bad_item_and_an_unwritable_plan_stop_only_themselves(env, true);
}

#[test]
fn with_a_remote_a_big_batch_is_claimed_confirmed_then_planned_and_stops_only_what_fails() {
    let env = filed(0..MANY);
    // A remote that claims need the word of: every batch's claims are confirmed before any
    // of its items is planned, so the steps keep their pauses (on two threads).
    let home = env.dir.path().to_path_buf();
    git(
        &home,
        &home,
        &["init", "--quiet", "--bare", "-b", "main", "remote.git"],
    );
    let remote = home.join("remote.git");
    git(&home, &env.vault, &["init", "--quiet", "-b", "main"]);
    git(
        &home,
        &env.vault,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    a_bad_item_and_an_unwritable_plan_stop_only_themselves(env, false);
}

/// A malformed item and an item whose plan file is a planted link, among [`MANY`] others in
/// one pass (`pipelined`: claimed and planned in one step, batch after batch).
fn a_bad_item_and_an_unwritable_plan_stop_only_themselves(env: TestEnv, pipelined: bool) {
    let bad = "---\nid: broken\nkind: [unclosed\n---\nbody\n";
    env.write("Needs_Action/general/broken.md", bad);
    // One item's plan file is a link planted in the vault: it is never written through.
    let (victim, domain) = env
        .all_items()
        .into_iter()
        .find(|(_, at)| at == "Needs_Action/accounting")
        .map(|(id, at)| (id, at.trim_start_matches("Needs_Action/").to_string()))
        .unwrap();
    let outside = env.dir.path().join("outside.md");
    std::fs::write(&outside, "not the vault's\n").unwrap();
    std::fs::create_dir_all(env.path(&format!("Plans/{domain}"))).unwrap();
    std::os::unix::fs::symlink(
        &outside,
        env.path(&format!("Plans/{domain}/{victim}.plan.md")),
    )
    .unwrap();

    let r = env.run(&["plan", "--json", "-vv"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        r.stderr.contains(" batches, each claimed and planned"),
        pipelined,
        "{}",
        r.stderr
    );
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["counts"]["planned"], (MANY - 1) as u64, "{r:?}");
    assert!(r.stderr.contains("Needs_Action/general/broken.md"), "{r:?}");
    assert!(r.stderr.contains(&victim), "{r:?}");
    assert_eq!(env.read("Needs_Action/general/broken.md"), bad);
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "not the vault's\n"
    );
    // The victim waits, claimed, for the next pass; every other item moved on.
    assert_eq!(env.where_is(&victim), vec!["In_Progress/local".to_string()]);
    let moved_on = env
        .all_items()
        .iter()
        .filter(|(_, at)| !at.starts_with("Needs_Action") && !at.starts_with("In_Progress"))
        .count();
    assert_eq!(moved_on, MANY - 1);
    assert!(env.temp_files().is_empty());
}
