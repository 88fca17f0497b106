//! The official Python MCP client (`tests/support/mcp_client.py`, the `mcp` package that
//! `tests/setup.sh` pins into the test venv) run against `aie mcp` on a test vault, and a
//! raw stdio session for what the SDK hides (closing stdin).

use super::TestEnv;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

/// The test venv's python with `mcp` in it (see `smtp::python_with`).
pub fn python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| super::smtp::python_with("mcp.client.stdio"))
}

/// The `aie` binary under test.
pub fn aie_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("aie")
}

/// Runs the Python client in `mode` with `args`; returns its JSON report and its raw
/// stdout (to search for what must never leave the server).
pub fn client(env: &TestEnv, mode: &str, args: &[&str]) -> (Value, String) {
    let script = super::smtp::repo().join("tests/support/mcp_client.py");
    let out = env
        .command_for(python())
        .arg(script)
        .arg(mode)
        .arg(aie_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run the MCP client");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "the MCP client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (v, stdout)
}
