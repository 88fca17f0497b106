//! Helpers for the tests of jobs and their runs: a `triage` job this branch can run, the
//! state file as JSON, and the binary as a std command for a child the test spawns itself.

use super::TestEnv;
use serde_json::Value;

/// A vault job file that overrides the built-in `triage` with steps this branch has.
pub const TRIAGE: &str = "description: test triage\nsteps: [process-inbox, plan]\nschedule: '*/2 * * * *'\nagents: both\ntimeout: 60s\n";

/// `.aie/state.json` of `env`'s vault.
pub fn state(env: &TestEnv) -> Value {
    serde_json::from_str(&env.read(".aie/state.json")).unwrap()
}

/// The binary as a std command with `TestEnv::cmd`'s environment (for a child to spawn).
pub fn std_cmd(env: &TestEnv) -> std::process::Command {
    env.command_for(&assert_cmd::cargo::cargo_bin("aie"))
}
