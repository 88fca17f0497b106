//! `aie run`: a job's steps, exit codes, lock, timeout, pings and the record of its run.

use crate::support::http::{FakeServer, Response};
use crate::support::jobs::{TRIAGE, std_cmd};
use crate::support::{TestEnv, state};
use serde_json::Value;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A ping server whose `/start` blocks until released: it says when a start arrived, and
/// answers it once the test sends on the release channel.
struct BlockingPings {
    server: FakeServer,
    arrived: Receiver<()>,
    release: Sender<()>,
}

fn blocking_pings() -> BlockingPings {
    let (arrived_tx, arrived) = mpsc::channel::<()>();
    let (release, release_rx) = mpsc::channel::<()>();
    let arrived_tx = Arc::new(Mutex::new(arrived_tx));
    let release_rx = Arc::new(Mutex::new(release_rx));
    let server = FakeServer::start(move |r| {
        if r.path().ends_with("/start") {
            arrived_tx.lock().unwrap().send(()).unwrap();
            // Bounded so that a failing test cannot hang the suite.
            let _ = release_rx
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(60));
        }
        Response::text(200, "text/plain", "OK")
    });
    BlockingPings {
        server,
        arrived,
        release,
    }
}

#[test]
fn a_job_that_succeeds_prints_nothing_and_records_each_step_and_the_job() {
    let env = TestEnv::new();
    env.write("jobs/triage.yaml", TRIAGE);
    env.drop_file("note.txt", "please check the numbers\n");
    let r = env.run(&["run", "triage"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    assert_eq!(r.stderr, "", "{r:?}");
    let s = state(&env);
    assert_eq!(s["jobs"]["triage"]["last_exit"], 0);
    assert!(s["jobs"]["triage"]["last_success"].is_string());
    assert_eq!(s["jobs"]["process-inbox"]["last_exit"], 0);
    assert_eq!(s["jobs"]["plan"]["last_exit"], 0);
    assert_eq!(s["jobs"]["triage"]["steps"].as_array().unwrap().len(), 2);
    // One record of the job's run: no `run` section beside `jobs` any more.
    assert!(s["run"].is_null(), "{s}");
    // `status --json` shows the steps of the job's last run.
    let st: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    let shown = st["jobs"]["triage"]["steps"].as_array().unwrap();
    assert_eq!(shown.len(), 2, "{st}");
    assert_eq!(shown[0]["step"], "process-inbox", "{st}");
    let audit = env.audit();
    let steps: Vec<&Value> = audit
        .iter()
        .filter(|l| l["action"] == "run_step" && l["job"] == "triage")
        .collect();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["target"], "process-inbox");
    assert!(
        audit
            .iter()
            .any(|l| l["action"] == "run_job" && l["job"] == "triage" && l["result"] == "ok")
    );
    // The step did its work: the drop became an item and was planned.
    assert!(env.items_in("Inbox").is_empty());
}

#[test]
fn a_failing_step_gives_the_worst_code_and_continue_or_stop_decides_the_rest() {
    let env = TestEnv::new();
    env.write(
        "aie.yaml",
        "timezone: UTC\ninbox:\n  settle_seconds: 0\n  max_file_bytes: 10\n",
    );
    env.drop_file("big.txt", "far more than ten bytes of text\n");
    env.write("jobs/triage.yaml", TRIAGE);
    let r = env.run(&["run", "triage"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("big.txt"), "{r:?}");
    assert!(r.stderr.contains("step `process-inbox` exited 1"), "{r:?}");
    let s = state(&env);
    assert_eq!(s["jobs"]["triage"]["last_exit"], 1);
    assert_eq!(s["jobs"]["triage"]["consecutive_failures"], 1);
    assert!(s["jobs"]["triage"]["last_success"].is_null());
    // continue: plan ran after the failed step.
    assert_eq!(s["jobs"]["plan"]["last_exit"], 0);
    // stop: plan is not started (a new bad drop: a known problem is reported once only).
    env.drop_file("big2.txt", "another file of more than ten bytes\n");
    env.write("jobs/triage.yaml", format!("{TRIAGE}on_failure: stop\n"));
    let r = env.run(&["run", "triage"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("not started: plan"), "{r:?}");
    let s = state(&env);
    assert_eq!(s["jobs"]["triage"]["consecutive_failures"], 2);
    assert_eq!(s["jobs"]["triage"]["skipped"][0], "plan");
}

#[test]
fn a_step_that_is_not_an_aie_vault_command_is_refused_before_anything_runs() {
    let env = TestEnv::new();
    env.drop_file("note.txt", "hello\n");
    for (step, says) in [
        ("frobnicate", "is not an aie command this binary can run"),
        ("'sh -c true'", "is not an aie command this binary can run"),
        ("'run triage'", "cannot be a job step"),
    ] {
        env.write(
            "jobs/triage.yaml",
            format!("description: d\nsteps: [process-inbox, {step}]\nschedule: '*/2 * * * *'\n"),
        );
        let r = env.run(&["run", "triage"]);
        assert_eq!(r.code, 78, "{step}: {r:?}");
        assert!(r.stderr.contains(says), "{step}: {r:?}");
        assert!(r.stderr.contains("job `triage`"), "{r:?}");
        // Nothing ran: the drop is still in the Inbox.
        assert_eq!(env.items_in("Inbox").len(), 0);
        assert!(env.path("Inbox/note.txt").exists());
    }
    let r = env.run(&["run", "nosuchjob"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no job named `nosuchjob`"), "{r:?}");
}

#[test]
fn two_concurrent_runs_of_triage_give_one_run_and_one_75() {
    let env = TestEnv::new();
    let pings = blocking_pings();
    env.write(
        "jobs/triage.yaml",
        format!("{TRIAGE}ping_url: {}/abc-uuid\n", pings.server.url()),
    );
    let first = std_cmd(&env)
        .args(["run", "triage"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first run holds the job lock while its start ping waits.
    pings
        .arrived
        .recv_timeout(Duration::from_secs(30))
        .expect("first run pinged /start");
    let second = env.run(&["run", "triage"]);
    assert_eq!(second.code, 75, "{second:?}");
    assert_eq!(second.stdout, "");
    pings.release.send(()).unwrap();
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let paths: Vec<String> = pings
        .server
        .hits()
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    assert_eq!(paths, vec!["/abc-uuid/start", "/abc-uuid/0"]);
    let s = state(&env);
    assert_eq!(s["jobs"]["triage"]["last_exit"], 0);
    assert_eq!(s["jobs"]["triage"]["consecutive_failures"], 0);
    let runs = env
        .audit()
        .iter()
        .filter(|l| l["action"] == "run_job")
        .count();
    assert_eq!(runs, 1);
}

#[test]
fn a_job_past_its_timeout_is_stopped_with_code_1_and_recorded() {
    let env = TestEnv::new();
    let pings = blocking_pings();
    env.write(
        "jobs/triage.yaml",
        format!(
            "description: slow\nsteps: [process-inbox, plan]\nschedule: '*/2 * * * *'\ntimeout: 2s\nping_url: {}/p\n",
            pings.server.url()
        ),
    );
    // The start ping never answers in time, so the watchdog ends the run.
    let r = env.run(&["run", "triage"]);
    let _ = pings.release.send(());
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("timed out after 2s"), "{r:?}");
    let s = state(&env);
    assert_eq!(s["jobs"]["triage"]["last_exit"], 1);
    assert_eq!(s["jobs"]["triage"]["consecutive_failures"], 1);
    assert!(
        s["attention"]["run-triage:timeout"]["message"]
            .as_str()
            .unwrap()
            .contains("timeout of 2s"),
        "{s}"
    );
    assert!(
        env.audit()
            .iter()
            .any(|l| l["action"] == "run_job" && l["result"] == "timeout")
    );
    // The lock was released with the process: the next run goes ahead.
    env.write("jobs/triage.yaml", TRIAGE);
    env.ok(&["run", "triage"]);
    assert!(state(&env)["attention"]["run-triage:timeout"].is_null());
}

#[test]
fn a_local_only_job_is_refused_on_the_cloud_agent() {
    let mut env = TestEnv::new();
    env.env("AIE_MODE", "draft_only").env("AIE_AGENT", "cloud");
    let r = env.run(&["run", "execute"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("local agent only"), "{r:?}");
}

/// Regression: a misspelt key in a vault job file (`timout: 5m`) was refused without the
/// nearest key or its line.
#[test]
fn a_misspelt_key_in_a_job_file_is_named_with_file_line_and_nearest_key() {
    let env = TestEnv::new();
    env.write("jobs/triage.yaml", format!("{TRIAGE}timout: 5m\n"));
    let line = TRIAGE.lines().count() + 1;
    let r = env.run(&["run", "triage"]);
    assert_eq!(r.code, 78, "{r:?}");
    assert!(r.stderr.contains("unknown key `timout` in `"), "{r:?}");
    assert!(
        r.stderr.contains(&format!(
            "jobs/triage.yaml` line {line}: did you mean `timeout`?"
        )),
        "{r:?}"
    );
}

/// One broken job file stops its own job only: the other timers keep running (each run
/// warns, naming the file), and the broken job is refused with the file named, never
/// replaced by the built-in job of its name.
#[test]
fn a_broken_job_file_stops_its_own_job_only() {
    let env = TestEnv::new();
    env.write("jobs/nightly-backup.yaml", "steps: [backup\n");
    env.write(
        "jobs/extra.yaml",
        "description: d\nsteps: [plan]\nschedul: '* * * * *'\n",
    );
    env.drop_file("note.txt", "hello\n");
    let r = env.run(&["run", "triage"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("jobs/nightly-backup.yaml") && r.stderr.contains("jobs/extra.yaml"),
        "{r:?}"
    );
    assert!(!env.path("Inbox/note.txt").exists(), "triage ran");
    for job in ["nightly-backup", "extra"] {
        let r = env.run(&["run", job]);
        assert_eq!(r.code, 78, "{job}: {r:?}");
        assert!(
            r.stderr.contains(&format!("jobs/{job}.yaml")),
            "{job}: {r:?}"
        );
    }
    // Health names both.
    let r = env.run(&["health-check", "--json"]);
    assert!(
        r.stdout.contains("jobs/extra.yaml") && r.stdout.contains("jobs/nightly-backup.yaml"),
        "{r:?}"
    );
}

/// A job file in the vault may come from anyone who can write the vault (a synced agent), so
/// a step never approves or rejects: an `approve` step ran as a pass and approved the
/// request without the owner.
#[test]
fn a_vault_job_file_can_never_approve_or_reject_a_request() {
    let env = TestEnv::new();
    let id = env.request("q.eml", crate::support::QUESTION, "general");
    for decision in ["approve", "reject"] {
        env.write(
            "jobs/triage.yaml",
            format!(
                "description: sneaky\nsteps: [\"{decision} {id}\", plan]\nschedule: '*/2 * * * *'\nagents: both\ntimeout: 60s\n"
            ),
        );
        let r = env.run(&["run", "triage"]);
        assert_eq!(r.code, 78, "{decision}: {r:?}");
        assert!(r.stderr.contains("cannot be a job step"), "{r:?}");
        assert_eq!(
            env.where_is(&id),
            ["Pending_Approval/general"],
            "{decision}"
        );
    }
}
