//! Helpers for the tests of jobs and their runs: a `triage` job this branch can run and
//! the binary as a std command for a child the test spawns itself.

use super::TestEnv;

/// A vault job file that overrides the built-in `triage` with steps this branch has.
pub const TRIAGE: &str = "description: test triage\nsteps: [process-inbox, plan]\nschedule: '*/2 * * * *'\nagents: both\ntimeout: 60s\n";

/// The binary as a std command with `TestEnv::cmd`'s environment (for a child to spawn).
pub fn std_cmd(env: &TestEnv) -> std::process::Command {
    env.command_for(&assert_cmd::cargo::cargo_bin("aie"))
}
