//! A full disk and a vault made read-only mid-pass. The `failpoints` build makes every write
//! after the first `AIE_FAIL_WRITES_AFTER` fail with `AIE_FAIL_ERRNO` (`ENOSPC` fails
//! writes; `EROFS` fails creates, writes and renames), as a small file system that fills
//! up or is remounted read-only would; tests may run as root, where `chmod` stops nothing.
//! For every write of process-inbox, plan and execute-approved in turn: the pass ends with
//! exit 1 (SPEC: "some items failed", named on stderr), the error names the path and the
//! cause; no item is lost or in two stages, no temp file or torn file is left; and the next
//! passes, with space again, finish the work.

use crate::support::TestEnv;
use crate::support::crash::{
    DROPS, check_promises, finish_the_work, pipelined_setup, ready_for, setup,
};

/// Every file a pass may leave is whole: items parse, log and ledger lines are JSON.
fn nothing_half_written(env: &TestEnv, what: &str) {
    for (id, stage) in env.all_items() {
        let p = env.path(&format!("{stage}/{id}.md"));
        let text = std::fs::read_to_string(&p).unwrap();
        if let Err(e) = aie::vault::item::Item::parse(&text) {
            panic!("{what}: `{stage}/{id}.md` is torn: {e:#}\n{text}");
        }
    }
    let mut logs: Vec<std::path::PathBuf> = std::fs::read_dir(env.path("Logs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    logs.push(env.path(".aie/journal.jsonl"));
    logs.push(env.path(".aie/approvals.jsonl"));
    for p in logs {
        for l in std::fs::read_to_string(&p).unwrap_or_default().lines() {
            assert!(
                serde_json::from_str::<serde_json::Value>(l).is_ok(),
                "{what}: torn line in `{}`: {l}",
                p.display()
            );
        }
    }
}

/// Runs `cmd` with the disk failing after `after` writes; true when the fault was hit.
/// A page that is only a report (`Dashboard.md`) that cannot be written is a warning: the
/// pass's work is done (exit 0), and the next pass writes it.
fn pass_on_a_failing_disk(env: &TestEnv, cmd: &str, after: u32, errno: &str) -> bool {
    let what = format!("{cmd} with {errno} after {after} writes");
    let mut c = env.cmd();
    c.env("AIE_FAIL_WRITES_AFTER", after.to_string())
        .env("AIE_FAIL_ERRNO", errno)
        .arg(cmd);
    let r = env.run_cmd(&mut c);
    let cause = match errno {
        "EROFS" => "Read-only file system",
        _ => "No space left on device",
    };
    if !r.stderr.contains(cause) {
        // The pass made fewer writes: it ran as usual (the payment of the setup fails
        // without Odoo, which is exit 1 with or without a full disk).
        assert!(r.code == 0 || r.code == 1, "{what}: {r:?}");
        return false;
    }
    if r.code == 0 {
        let warning = r.stderr.lines().find(|l| l.contains(cause)).unwrap_or("");
        assert!(
            warning.contains("warn") && warning.contains("Dashboard.md`"),
            "{what}: a fault went unreported: {r:?}"
        );
        return true;
    }
    assert_eq!(r.code, 1, "{what}: {r:?}");
    // The error says what happened and where (a path in backticks, inside the vault).
    let line = r
        .stderr
        .lines()
        .find(|l| l.contains(cause))
        .unwrap_or_else(|| panic!("{what}: the cause is not named: {r:?}"));
    assert!(
        line.contains('`') && line.contains(env.vault.to_str().unwrap()),
        "{what}: the path is not named: {line}"
    );
    check_promises(env, &what, DROPS.len(), false);
    assert!(
        env.temp_files().is_empty(),
        "{what}: temp files left: {:?}",
        env.temp_files()
    );
    nothing_half_written(env, &what);
    true
}

/// For each write of `cmd` in turn (until a pass makes no more), fail there, then finish.
/// `sampled`: only writes 0, 1, 2, 4, 7, 11, 17, 26, 40... (each step half again), and the
/// first one past the pass's last write, which keeps the suite fast.
fn every_write_of(cmd: &str, errno: &str, sampled: bool) -> u32 {
    let mut after = 0;
    loop {
        let env = setup();
        ready_for(&env, cmd);
        if !pass_on_a_failing_disk(&env, cmd, after, errno) {
            return after;
        }
        let what = format!("{cmd} after {errno} at write {after}");
        // Space again: the next passes finish the work.
        finish_the_work(&env, &what, DROPS.len());
        nothing_half_written(&env, &what);
        let unfinished: Vec<_> = env
            .all_items()
            .into_iter()
            .filter(|(_, s)| s.starts_with("Needs_Action") || s == "Approved")
            .collect();
        assert!(unfinished.is_empty(), "{what}: left undone: {unfinished:?}");
        after += if sampled { 1 + after / 2 } else { 1 };
        assert!(after < 200, "{cmd}: the pass never stops writing");
    }
}

#[test]
fn a_full_disk_during_a_pass_loses_nothing_and_the_next_pass_finishes() {
    for cmd in ["process-inbox", "plan", "execute-approved"] {
        assert!(every_write_of(cmd, "ENOSPC", true) > 0, "{cmd}");
    }
}

#[test]
fn a_vault_made_read_only_mid_pass_loses_nothing_and_the_next_pass_finishes() {
    for cmd in ["process-inbox", "plan", "execute-approved"] {
        assert!(every_write_of(cmd, "EROFS", true) > 0, "{cmd}");
    }
}

/// Every write of every pass, both faults: minutes, so not in the suite
/// (`cargo test --features failpoints --test cli full_disk -- --ignored`).
#[test]
#[ignore = "every write of every pass takes minutes; the suite runs a sample of them"]
fn every_write_of_every_pass_on_a_full_or_read_only_disk() {
    for errno in ["ENOSPC", "EROFS"] {
        for cmd in ["process-inbox", "plan", "execute-approved"] {
            let n = every_write_of(cmd, errno, false);
            eprintln!("{cmd}: {n} writes failed in turn with {errno}");
        }
    }
}

#[test]
fn a_full_or_read_only_disk_while_the_next_batch_is_planned_loses_nothing() {
    // Writes that fail in the first batch, in the second while the third is planned, and
    // later: each pass loses nothing, and the next passes finish the work.
    for (after, errno) in [(7, "ENOSPC"), (60, "EROFS"), (95, "ENOSPC"), (150, "EROFS")] {
        let (env, n) = pipelined_setup();
        ready_for(&env, "plan");
        let what = format!("pipelined plan with {errno} after {after} writes");
        assert!(
            pass_on_a_failing_disk(&env, "plan", after, errno),
            "{what}: no fault"
        );
        check_promises(&env, &what, n, false);
        nothing_half_written(&env, &what);
        finish_the_work(&env, &what, n);
    }
}
