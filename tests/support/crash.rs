//! The crash suite's vault and checks, shared by the crash, crash-during-recovery and
//! full-disk tests: the failpoints of each pass, the drops every run starts from, and the
//! promises checked after a crash (every item in exactly one stage folder, none lost, no
//! temp file left, no action started twice). It aborts nothing itself.

use super::TestEnv;
use std::collections::HashMap;

/// Every failpoint in the code, by the command that reaches it.
pub const POINTS: &[(&str, &str)] = &[
    ("process-inbox", "intake:before-items"),
    ("process-inbox", "intake:items-written"),
    ("process-inbox", "intake:original-moved"),
    ("plan", "plan:claimed"),
    ("plan", "plan:before-write"),
    ("plan", "plan:written"),
    ("plan", "plan:ledger-written"),
    ("plan", "plan:moved"),
    ("execute-approved", "execute:intent-written"),
    ("execute-approved", "execute:action-done"),
    ("execute-approved", "execute:moved-done"),
];

/// What every crash run drops into `Inbox/`: a question, a note, a payment to a known payee,
/// a post and a binary file, one item each.
pub const DROPS: &[(&str, &str)] = &[
    (
        "reply.eml",
        "From: Ann <ann@x.example>\nSubject: Call?\n\nCan you call me?\n",
    ),
    ("notes.txt", "Meeting notes. Nothing to do."),
    (
        "hosting.txt",
        "Please pay Hosting Co $49 for the monthly server payment",
    ),
    ("post.md", "Please post on LinkedIn:\nPost: We shipped!"),
    ("photo.png", "\u{0}\u{1}binary"),
];

/// A vault that executes for real (`Hosting Co` a known payee) with [`DROPS`] in its inbox.
pub fn setup() -> TestEnv {
    let env = TestEnv::new();
    env.config("execution:\n  dry_run: false\npolicy:\n  known_payees: [Hosting Co]\n");
    for (n, b) in DROPS {
        env.drop_file(n, b);
    }
    env
}

/// Turns every pending request into a note and approves it, as the owner would.
pub fn approve_all_as_notes(env: &TestEnv) {
    for (id, stage) in env.all_items() {
        if !stage.starts_with("Pending_Approval") {
            continue;
        }
        let rel = format!("{stage}/{id}.md");
        env.set_actions(
            &rel,
            "- kind: note\n  text: handled by hand\n- kind: note\n  text: second\n",
        );
        env.mv(&rel, "Approved");
    }
}

/// Panics naming `point` unless every item is in exactly one stage folder and no action
/// was started twice in the journal; once `recovered`, also unless there are `expect_items`
/// items and no temp file is left.
pub fn check_promises(env: &TestEnv, point: &str, expect_items: usize, recovered: bool) {
    let items = env.all_items();
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    for (id, stage) in &items {
        seen.entry(id.clone()).or_default().push(stage.clone());
    }
    for (id, stages) in &seen {
        assert_eq!(stages.len(), 1, "{point}: `{id}` is in {stages:?}");
    }
    if recovered {
        assert_eq!(seen.len(), expect_items, "{point}: items {items:?}");
        assert!(
            env.temp_files().is_empty(),
            "{point}: temp files left: {:?}",
            env.temp_files()
        );
    }
    // No action was started twice.
    let journal = std::fs::read_to_string(env.path(".aie/journal.jsonl")).unwrap_or_default();
    let mut intents: HashMap<String, usize> = HashMap::new();
    for l in journal.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        if v["phase"] == "intent" {
            *intents
                .entry(v["key"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    for (k, n) in intents {
        assert_eq!(n, 1, "{point}: action {k} started {n} times");
    }
}

/// A fresh vault brought to where `cmd` has work: its items filed, and for
/// execute-approved planned and approved as notes.
pub fn ready_for(env: &TestEnv, cmd: &str) {
    if cmd != "process-inbox" {
        env.ok(&["process-inbox"]);
    }
    if cmd == "execute-approved" {
        env.ok(&["plan"]);
        approve_all_as_notes(env);
    }
}

/// The passes a timer runs next finish the work: every item in exactly one stage and none
/// lost (of `n`), the inbox drained, no claim left behind.
pub fn finish_the_work(env: &TestEnv, what: &str, n: usize) {
    for step in [
        "process-inbox",
        "plan",
        "execute-approved",
        "execute-approved",
    ] {
        let r = env.run(&[step]);
        assert!(r.code == 0 || r.code == 1, "{what}: {step}: {r:?}");
    }
    check_promises(env, what, n, true);
    assert!(
        std::fs::read_dir(env.path("Inbox")).unwrap().count() == 0,
        "{what}: inbox not drained"
    );
    assert!(
        env.items_in("In_Progress/local").is_empty(),
        "{what}: claimed items left behind"
    );
}

/// The front matter of each item back in `Pending_Approval/` because an action's outcome
/// is unknown.
pub fn back_for_review(env: &TestEnv) -> Vec<serde_json::Value> {
    env.all_items()
        .into_iter()
        .filter(|(_, s)| s.starts_with("Pending_Approval"))
        .map(|(id, s)| env.front(&format!("{s}/{id}.md")))
        .filter(|f| {
            f["review"]
                .as_str()
                .is_some_and(|r| r.contains("may or may not have happened"))
        })
        .collect()
}

/// [`setup`] with 91 more drops beside [`DROPS`] (payments, posts and notes in turn): enough
/// for `plan` to claim and plan on two threads, in batches of `AIE_PLAN_BATCH` 20, the
/// worker beginning each batch while the last is finished. Returns it and its item count.
pub fn pipelined_setup() -> (TestEnv, usize) {
    let mut env = setup();
    for i in 0..91 {
        let text = match i % 3 {
            0 => format!(
                "Please pay Hosting Co ${} for the server, month {i}",
                40 + i
            ),
            1 => format!("Please post on LinkedIn:\nPost: We shipped release {i}!"),
            _ => format!("Meeting notes {i}. Nothing to do."),
        };
        env.drop_file(&format!("more-{i}.txt"), text);
    }
    env.env("AIE_PLAN_BATCH", "20");
    (env, DROPS.len() + 91)
}
