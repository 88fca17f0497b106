//! The official Python MCP client (`tests/support/mcp_client.py`, the `mcp` package that
//! `tests/setup.sh` pins into the test venv) run against `aie mcp` on a test vault, and a
//! raw stdio session for what the SDK hides (closing stdin).

use super::TestEnv;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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

/// A command with the environment `env.cmd()` gives the binary (cleared, pinned clock,
/// this vault), for a program other than `aie`.
pub fn command_like(env: &TestEnv, program: &Path) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", env.dir.path())
        .env("AIE_NOW", &env.now)
        .env("AIE_VAULT", &env.vault)
        .current_dir(env.dir.path());
    for (k, v) in std::env::vars().filter(|(k, _)| k == "LD_PRELOAD" || k.starts_with("FAKETIME")) {
        c.env(k, v);
    }
    for (k, v) in &env.envs {
        c.env(k, v);
    }
    c
}

/// Runs the Python client in `mode` with `args`; returns its JSON report and its raw
/// stdout (to search for what must never leave the server).
pub fn client(env: &TestEnv, mode: &str, args: &[&str]) -> (Value, String) {
    let script = super::smtp::repo().join("tests/support/mcp_client.py");
    let out = command_like(env, python())
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
