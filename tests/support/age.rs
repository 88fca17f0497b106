//! age keys and decryption by an independent implementation: `tests/support/age_tool.py`
//! (pyrage) in the test venv, completed by `tests/setup.sh` under its file lock when the
//! venv predates the `pyrage` pin. Keys are made at test time; none is committed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pyrage_importable(py: &Path) -> bool {
    Command::new(py)
        .args(["-c", "import pyrage"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The test venv's python with `pyrage` in it.
pub fn python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let py = super::smtp::python().to_path_buf();
        if pyrage_importable(&py) {
            return py;
        }
        let lock = std::fs::File::create(repo().join("target/test-venv.setup.lock")).unwrap();
        lock.lock().unwrap();
        if !pyrage_importable(&py) {
            let out = Command::new("bash")
                .arg(repo().join("tests/setup.sh"))
                .stdin(Stdio::null())
                .output()
                .expect("cannot run tests/setup.sh");
            assert!(
                out.status.success(),
                "tests/setup.sh failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            pyrage_importable(&py),
            "`pyrage` is not importable by {}",
            py.display()
        );
        py
    })
}

fn tool() -> Command {
    let mut c = Command::new(python());
    c.arg(repo().join("tests/support/age_tool.py"));
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
