//! `aie alert`: a failed unit is recorded in the logs, the state and the dashboard until its
//! job succeeds.

use crate::support::jobs::TRIAGE;
use crate::support::{TestEnv, state};
use serde_json::Value;

#[test]
fn alert_records_the_failed_unit_in_logs_state_and_the_dashboard_until_the_job_succeeds() {
    let env = TestEnv::new();
    env.write("jobs/triage.yaml", TRIAGE);
    let r = env.run(&["alert", "--unit", "aie-triage.service"]);
    assert_eq!(r.code, 0, "{r:?}");
    let line: Value =
        serde_json::from_str(env.read("Logs/alerts/2026-11-23.jsonl").trim()).unwrap();
    assert_eq!(line["unit"], "aie-triage.service");
    let s = state(&env);
    assert!(
        s["attention"]["alert:aie-triage.service"]["message"]
            .as_str()
            .unwrap()
            .contains("aie-triage.service failed")
    );
    assert!(
        env.read("Dashboard.md")
            .contains("aie-triage.service failed")
    );
    assert!(env.audit().iter().any(|l| l["action"] == "alert"));
    let r = env.run(&["alert", "--unit", "x; rm -rf /"]);
    assert_eq!(r.code, 2, "{r:?}");
    // The next success of the job clears it.
    env.ok(&["run", "triage"]);
    assert!(state(&env)["attention"]["alert:aie-triage.service"].is_null());
}
