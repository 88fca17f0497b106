//! age keys and decryption by an independent implementation: `tests/support/age_tool.py`
//! (pyrage) in the test venv, completed by `tests/setup.sh` under its file lock when the
//! venv predates the `pyrage` pin. Keys are made at test time; none is committed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The test venv's python with `pyrage` in it (see `smtp::python_with`).
pub fn python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| super::smtp::python_with("pyrage"))
}

fn tool() -> Command {
    let mut c = Command::new(python());
    c.arg(super::smtp::repo().join("tests/support/age_tool.py"));
    c
}

/// A new key pair made by pyrage: (identity `AGE-SECRET-KEY-1...`, recipient `age1...`).
pub fn keygen() -> (String, String) {
    let out = tool().arg("keygen").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let id = lines.next().unwrap().to_string();
    let r = lines.next().unwrap().to_string();
    assert!(
        id.starts_with("AGE-SECRET-KEY-1") && r.starts_with("age1"),
        "{text}"
    );
    (id, r)
}

/// The plain bytes of the age file `blob`, decrypted by pyrage with the identity in `key_file`.
pub fn decrypt(key_file: &Path, blob: &Path) -> Vec<u8> {
    let out = tool()
        .arg("decrypt")
        .arg(key_file)
        .arg(blob)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyrage cannot decrypt `{}`: {}",
        blob.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
