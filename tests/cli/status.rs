//! `aie status`: queues, jobs, locks and what needs attention, the jobs that missed their
//! runs (listed under attention), and the jobs that are not set up.

use crate::support::TestEnv;
use crate::support::jobs::TRIAGE;
use serde_json::Value;

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
fn status_flags_a_job_with_no_success_within_twice_its_period() {
    let mut env = TestEnv::new();
    env.write("jobs/triage.yaml", TRIAGE);
    // Every known job is listed, even before it ever ran.
    let r = env.ok(&["status", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    for job in ["triage", "execute"] {
        assert_eq!(v["jobs"][job]["overdue"], false, "{job}: {v}");
        assert!(v["jobs"][job]["next_due"].is_string(), "{job}: {v}");
        assert!(v["jobs"][job]["last_start"].is_null());
    }
    env.ok(&["run", "triage"]);
    let r = env.ok(&["status", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["jobs"]["triage"]["next_due"], "2026-11-23T09:02:00Z");
    assert_eq!(v["jobs"]["triage"]["overdue"], false);
    // Three minutes on: late, but within twice the period.
    env.now = "2026-11-23T09:03:00Z".into();
    let v: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v["jobs"]["triage"]["overdue"], false);
    // Five minutes on with no run: the timer stopped firing.
    env.now = "2026-11-23T09:05:00Z".into();
    let r = env.ok(&["status", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["jobs"]["triage"]["overdue"], true, "{v}");
    assert_eq!(
        v["jobs"]["execute"]["overdue"], false,
        "never ran: not overdue"
    );
    let r = env.ok(&["status"]);
    assert!(r.stdout.contains("OVERDUE"), "{r:?}");
    // A run clears it.
    env.ok(&["run", "triage"]);
    let v: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v["jobs"]["triage"]["overdue"], false);
    assert_eq!(v["jobs"]["triage"]["next_due"], "2026-11-23T09:06:00Z");
}

// Issue 14, point 6: a job that never ran was never overdue, overdue jobs were not under attention,
// next due showed in the past, and poll-gmail showed a success without Gmail set up.
#[test]
fn status_puts_overdue_jobs_under_attention_and_says_what_is_not_set_up() {
    let mut env = TestEnv::new();
    let units = env.dir.path().join("units");
    env.ok(&[
        "schedule",
        "install",
        "--no-enable",
        "--out",
        units.to_str().unwrap(),
    ]);
    env.ok(&["poll-gmail"]);
    env.now = "2026-11-23T12:00:00Z".into();
    let v: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    let triage = &v["jobs"]["triage"];
    assert_eq!(triage["overdue"], true, "{v}");
    assert!(
        triage["next_due"].as_str().unwrap() > "2026-11-23T12:00:00",
        "{v}"
    );
    assert!(
        v["attention"]
            .to_string()
            .contains("job `triage` is overdue"),
        "{v}"
    );
    assert_eq!(v["jobs"]["poll-gmail"]["set_up"], false, "{v}");
    let text = env.ok(&["status"]).stdout;
    assert!(
        text.contains("not set up (no `gmail:` in aie.yaml)"),
        "{text}"
    );
    assert!(!text.contains("attention:\n  nothing"), "{text}");
}
