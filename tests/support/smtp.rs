//! A real SMTP server per test: `tests/support/smtp_server.py` (aiosmtpd) on `127.0.0.1`
//! with a port the server picks itself, written to a port file. The Python comes from
//! `AIE_TEST_PYTHON`, else `target/test-venv/bin/python`; when neither exists,
//! `tests/setup.sh` runs once (a `OnceLock` in this process, a file lock across processes).
//! The server is killed when the handle drops.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The test venv's python, set up once.
pub fn python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        if let Some(p) = std::env::var_os("AIE_TEST_PYTHON").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        let venv_py = repo().join("target/test-venv/bin/python");
        if venv_py.exists() && aiosmtpd_importable(&venv_py) {
            return venv_py;
        }
        // Across test processes: one runs setup.sh, the others wait on the lock.
        fs::create_dir_all(repo().join("target")).unwrap();
        let lock = fs::File::create(repo().join("target/test-venv.setup.lock")).unwrap();
        lock.lock().unwrap();
        if !(venv_py.exists() && aiosmtpd_importable(&venv_py)) {
            let text = run_setup();
            if let Some(p) = text
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("AIE_TEST_PYTHON="))
            {
                return PathBuf::from(p.trim());
            }
        }
        venv_py
    })
}

/// Runs `tests/setup.sh` (the caller holds the setup lock): its standard output.
fn run_setup() -> String {
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
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The test venv's python when it can import `module` (a package `tests/setup.sh` pins);
/// a venv made before that pin is completed by `tests/setup.sh`, under the same file lock.
pub fn python_with(module: &str) -> PathBuf {
    let importable = |py: &Path| {
        Command::new(py)
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let py = python().to_path_buf();
    if importable(&py) {
        return py;
    }
    let lock = fs::File::create(repo().join("target/test-venv.setup.lock")).unwrap();
    lock.lock().unwrap();
    if !importable(&py) {
        run_setup();
    }
    assert!(
        importable(&py),
        "`{module}` is not importable by {}",
        py.display()
    );
    py
}

fn aiosmtpd_importable(py: &Path) -> bool {
    Command::new(py)
        .args(["-c", "import aiosmtpd.smtp, cryptography.x509"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The DATA bytes as text (CRLF kept).
    pub eml: String,
    /// `mail_from`, `rcpt_tos`, `peer`, `auth_user`.
    pub meta: serde_json::Value,
}

impl Received {
    /// The value of the first header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.eml.split("\r\n\r\n").next().unwrap_or("");
        let mut out: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                // A folded continuation of the header being read.
                if let Some(o) = out.as_mut() {
                    o.push(' ');
                    o.push_str(line.trim());
                }
                continue;
            }
            if out.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                out = Some(v.trim().to_string());
            }
        }
        out
    }

    /// The message parsed with mail-parser (for bodies and attachments).
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.eml.as_bytes())
            .expect("received message parses")
    }

    pub fn rcpts(&self) -> Vec<String> {
        self.meta["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }
}

/// A running aiosmtpd.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// The CA that signed the server's certificate (TLS modes).
    pub ca: Option<PathBuf>,
}

impl SmtpServer {
    /// Starts `smtp_server.py --mode MODE EXTRA...`; TLS modes get a fresh CA and certificate.
    pub fn start(mode: &str, extra: &[&str]) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let out = dir.path().join("out");
        let mut cmd = Command::new(python());
        cmd.arg(repo().join("tests/support/smtp_server.py"))
            .arg("--port-file")
            .arg(&port_file)
            .arg("--out")
            .arg(&out)
            .args(["--mode", mode, "--max-seconds", "600"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut ca = None;
        if mode == "starttls" || mode == "tls" {
            let certs = dir.path().join("certs");
            let st = Command::new(python())
                .arg(repo().join("tests/support/make_cert.py"))
                .arg(&certs)
                .status()
                .unwrap();
            assert!(st.success(), "make_cert.py failed");
            cmd.arg("--cert")
                .arg(certs.join("server.pem"))
                .arg("--key")
                .arg(certs.join("server.key"));
            ca = Some(certs.join("ca.pem"));
        }
        let mut child = cmd.spawn().expect("cannot start smtp_server.py");
        // Readiness of a child process: poll its port file, bounded.
        let end = Instant::now() + Duration::from_secs(30);
        let port = loop {
            if let Ok(t) = fs::read_to_string(&port_file)
                && let Ok(p) = t.trim().parse::<u16>()
            {
                break p;
            }
            if let Some(st) = child.try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read;
                child.stderr.take().unwrap().read_to_string(&mut err).ok();
                panic!("smtp_server.py exited ({st}) before listening:\n{err}");
            }
            assert!(Instant::now() < end, "smtp_server.py did not start in 30 s");
            std::thread::sleep(Duration::from_millis(20));
        };
        SmtpServer {
            child,
            port,
            dir,
            ca,
        }
    }

    /// The `smtp:` section of aie.yaml for this server.
    pub fn config(&self, security: &str, auth: bool) -> String {
        let mut s = format!(
            "smtp:\n  host: 127.0.0.1\n  port: {}\n  security: {security}\n  from: Sam Owner <sam@owner.example>\n  auth: {auth}\n  timeout_seconds: 10\n",
            self.port
        );
        if let Some(ca) = &self.ca {
            s.push_str(&format!("  ca_file: {}\n", ca.display()));
        }
        s
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        let out = self.dir.path().join("out");
        let mut names: Vec<String> = fs::read_dir(&out)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|n| {
                let stem = n.trim_end_matches(".json");
                Received {
                    eml: String::from_utf8_lossy(
                        &fs::read(out.join(format!("{stem}.eml"))).unwrap(),
                    )
                    .to_string(),
                    meta: serde_json::from_str(&fs::read_to_string(out.join(n)).unwrap()).unwrap(),
                }
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
