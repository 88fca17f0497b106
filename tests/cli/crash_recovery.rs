//! Crash during recovery: abort a pass at failpoint *i*, then abort the run that recovers
//! from it at failpoint *j* of the same pass, for every pair (*i*, *j*) of each pass; the
//! passes after that finish the work, with the checks of the crash suite (every item in
//! exactly one stage, none lost, no temp file left, no action started twice). All 43 pairs
//! (9 of process-inbox, 25 of plan, 9 of execute-approved) take minutes: they run in the
//! ignored `every_pair_of_failpoints_of_every_pass`; the suite runs, for every *i*, the
//! pairs whose *j* is *i* itself or the pass's first failpoint (19 pairs).

use crate::support::crash::{
    DROPS, POINTS, back_for_review, check_promises, finish_the_work, ready_for, setup,
};

/// The pairs of one pass, run in order (`all`: every pair, else the suite's subset).
fn pairs_of(pass: &str, all: bool) {
    let points: Vec<&str> = POINTS
        .iter()
        .filter(|(c, _)| *c == pass)
        .map(|(_, p)| *p)
        .collect();
    let first = points[0];
    for i in &points {
        for j in &points {
            if all || j == i || *j == first {
                crash_twice(pass, i, j);
            }
        }
    }
}

fn crash_twice(cmd: &str, i: &str, j: &str) {
    let what = format!("{i} then {j}");
    let env = setup();
    let n = DROPS.len();
    ready_for(&env, cmd);
    let mut c = env.cmd();
    c.env("AIE_CRASH_AT", i).arg(cmd);
    let r = env.run_cmd(&mut c);
    assert!(r.stderr.contains(i), "{what}: {i} was never reached: {r:?}");
    check_promises(&env, &what, n, false);
    // The recovery run crashes too, wherever it reaches `j` (it may finish without it).
    let mut c = env.cmd();
    c.env("AIE_CRASH_AT", j).arg(cmd);
    let r = env.run_cmd(&mut c);
    if r.stderr.contains(j) {
        assert_ne!(r.code, 0, "{what}: {r:?}");
    } else {
        assert!(r.code == 0 || r.code == 1, "{what}: recovery: {r:?}");
    }
    check_promises(&env, &what, n, false);
    finish_the_work(&env, &what, n);
    // An action in flight at either crash is not retried blindly: its item is back for
    // review with the action's outcome unknown, and nothing else is.
    let reviewed = back_for_review(&env);
    for f in &reviewed {
        assert!(
            f["actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["result"] == "unknown"),
            "{what}: {f:?}"
        );
    }
    if cmd == "execute-approved" && i != "execute:moved-done" {
        assert!(
            (1..=2).contains(&reviewed.len()),
            "{what}: {} items back for review",
            reviewed.len()
        );
    }
    if cmd != "execute-approved" {
        assert!(reviewed.is_empty(), "{what}: {reviewed:?}");
    }
}

#[test]
fn intake_crashes_during_its_own_recovery() {
    pairs_of("process-inbox", false);
}

#[test]
fn plan_crashes_during_its_own_recovery() {
    pairs_of("plan", false);
}

#[test]
fn execute_crashes_during_its_own_recovery() {
    pairs_of("execute-approved", false);
}

/// Every pair (`cargo test --features failpoints --test cli crash_recovery -- --ignored`).
#[test]
#[ignore = "all 43 pairs take minutes; the suite runs a subset of them"]
fn every_pair_of_failpoints_of_every_pass() {
    for pass in ["process-inbox", "plan", "execute-approved"] {
        pairs_of(pass, true);
    }
}
