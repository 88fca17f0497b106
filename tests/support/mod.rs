//! Test support: a `TestEnv` that makes a vault in a temp folder and runs the real `aie`
//! binary there with a cleared environment and a pinned clock, plus helpers to read what it
//! left behind (stage folders, audit lines, the approvals ledger).

#![allow(dead_code)]

pub mod gmail_fake;
pub mod http;
pub mod smtp;

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// A file under `tests/fixtures/` (`rel` from there), naming the file when it cannot be read.
pub fn fixture(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every regular file under `dir` (none when it does not exist), links neither followed nor
/// listed, in path order.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect();
    out.sort();
    out
}

/// `.aie/state.json` of `env`'s vault.
pub fn state(env: &TestEnv) -> Value {
    serde_json::from_str(&env.read(".aie/state.json")).unwrap()
}

/// The pinned clock of every test.
pub const NOW: &str = "2026-11-23T09:00:00Z";

/// The result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A vault in a temp folder and a way to run `aie` on it.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub vault: PathBuf,
    pub now: String,
    pub envs: Vec<(String, String)>,
}

/// Settings every test vault starts with: drops are taken at once (no settle time).
pub const BASE_CONFIG: &str = "timezone: UTC\nowner:\n  name: Sam Owner\n";

impl TestEnv {
    /// A fresh vault made by `aie init`, with [`BASE_CONFIG`] as its settings.
    pub fn new() -> TestEnv {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("vault");
        let env = TestEnv {
            dir,
            vault,
            now: NOW.to_string(),
            envs: Vec::new(),
        };
        let r = env.run_in(env.dir.path(), &["init", "vault"]);
        assert_eq!(r.code, 0, "init failed: {r:?}");
        env.config("");
        env
    }

    /// Replaces `aie.yaml` with [`BASE_CONFIG`] followed by `extra` (top-level YAML); drops
    /// are taken at once (`inbox.settle_seconds: 0`) unless `extra` has its own `inbox:`.
    pub fn config(&self, extra: &str) {
        let inbox = if extra.lines().any(|l| l.starts_with("inbox:")) {
            ""
        } else {
            "inbox:\n  settle_seconds: 0\n"
        };
        fs::write(
            self.vault.join("aie.yaml"),
            format!("{BASE_CONFIG}{inbox}{extra}"),
        )
        .unwrap();
    }

    /// Sets an environment variable for later runs.
    pub fn env(&mut self, k: &str, v: &str) -> &mut Self {
        self.envs.retain(|(key, _)| key != k);
        self.envs.push((k.to_string(), v.to_string()));
        self
    }

    /// A command for the binary with a cleared environment, the pinned clock and this vault.
    pub fn cmd(&self) -> Command {
        Command::from(self.command_for(&assert_cmd::cargo::cargo_bin("aie")))
    }

    /// `program` (the binary, or a client that spawns it) with the environment `cmd` gives
    /// the binary.
    pub fn command_for(&self, program: &Path) -> std::process::Command {
        let mut c = std::process::Command::new(program);
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AIE_NOW", &self.now)
            .env("AIE_VAULT", &self.vault)
            .current_dir(self.dir.path());
        // A suite run under libfaketime (the real clock set years ahead, to check that no
        // test compares the real clock with the pinned one) keeps it for the binary too.
        for (k, v) in
            std::env::vars().filter(|(k, _)| k == "LD_PRELOAD" || k.starts_with("FAKETIME"))
        {
            c.env(k, v);
        }
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c
    }

    /// Runs `aie ARGS` on the vault.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_cmd(self.cmd().args(args))
    }

    /// Runs `aie ARGS` in `cwd` without `AIE_VAULT`.
    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let mut c = self.cmd();
        c.env_remove("AIE_VAULT").current_dir(cwd).args(args);
        self.run_cmd(&mut c)
    }

    pub fn run_cmd(&self, c: &mut Command) -> Run {
        let out = c.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        }
    }

    /// Runs and asserts the exit code.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, 0, "aie {args:?}: {r:?}");
        r
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.vault.join(rel)
    }

    /// Drops a file into `Inbox/`.
    pub fn drop_file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.vault.join("Inbox").join(name);
        fs::write(&p, bytes).unwrap();
        p
    }

    /// Writes a file anywhere in the vault (making folders).
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.vault.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, bytes).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.vault.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// Sets the modification time of the vault file `rel` to `time`. aie judges a file's age
    /// by the real clock, not the pinned one, so `time` comes from the real clock or a fixed
    /// date.
    pub fn set_mtime(&self, rel: &str, time: std::time::SystemTime) {
        fs::File::options()
            .write(true)
            .open(self.vault.join(rel))
            .and_then(|f| f.set_modified(time))
            .unwrap_or_else(|e| panic!("set the mtime of {rel}: {e}"));
    }

    /// Names of the item files (`*.md`) directly in `rel`, sorted.
    pub fn items_in(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.vault.join(rel))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .filter(|n| n.ends_with(".md") && !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Every stage folder (vault-relative) that holds `<id>.md`.
    pub fn where_is(&self, id: &str) -> Vec<String> {
        let mut found = Vec::new();
        for top in ["Needs_Action", "In_Progress", "Pending_Approval"] {
            if let Ok(rd) = fs::read_dir(self.vault.join(top)) {
                for e in rd.flatten() {
                    if e.path().join(format!("{id}.md")).exists() {
                        found.push(format!("{top}/{}", e.file_name().to_string_lossy()));
                    }
                }
            }
        }
        for top in ["Approved", "Rejected", "Done"] {
            if self.vault.join(top).join(format!("{id}.md")).exists() {
                found.push(top.to_string());
            }
        }
        found
    }

    /// Ids of every item in every stage folder, with where each is (sorted by id).
    pub fn all_items(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut dirs: Vec<(String, PathBuf)> = Vec::new();
        for top in ["Needs_Action", "In_Progress", "Pending_Approval"] {
            if let Ok(rd) = fs::read_dir(self.vault.join(top)) {
                for e in rd.flatten() {
                    dirs.push((
                        format!("{top}/{}", e.file_name().to_string_lossy()),
                        e.path(),
                    ));
                }
            }
        }
        for top in ["Approved", "Rejected", "Done"] {
            dirs.push((top.to_string(), self.vault.join(top)));
        }
        for (rel, d) in dirs {
            if let Ok(rd) = fs::read_dir(&d) {
                for e in rd.flatten() {
                    let n = e.file_name().to_string_lossy().to_string();
                    if let Some(id) = n.strip_suffix(".md").filter(|_| !n.starts_with('.')) {
                        out.push((id.to_string(), rel.clone()));
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// Files whose names start with `.aie-tmp-` anywhere in the vault (none may be left).
    pub fn temp_files(&self) -> Vec<PathBuf> {
        files_under(&self.vault)
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(".aie-tmp-"))
            })
            .collect()
    }

    /// Every audit line of every day, in order.
    pub fn audit(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = fs::read_dir(self.vault.join("Logs"))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| {
            p.extension().is_some_and(|e| e == "jsonl")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("20"))
        });
        files.sort();
        files
            .iter()
            .flat_map(|p| {
                fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect::<Vec<Value>>()
            })
            .collect()
    }

    /// Lines of `Logs/approvals.jsonl`.
    pub fn approvals(&self) -> Vec<Value> {
        fs::read_to_string(self.vault.join("Logs/approvals.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The front matter of an item file, as JSON, with the item's actions under `actions`
    /// wherever the file keeps them (the body's `## Actions` block since issue 9, or the
    /// front matter of an item written before): what aie reads.
    pub fn front(&self, rel: &str) -> Value {
        let mut front = self.front_matter(rel);
        if let Some(actions) = self.body_actions(rel) {
            front["actions"] = actions;
        }
        front
    }

    /// The front matter of an item file exactly as written, as JSON.
    pub fn front_matter(&self, rel: &str) -> Value {
        let text = self.read(rel);
        let rest = text.strip_prefix("---\n").expect("front matter");
        let end = rest.find("\n---\n").expect("closing ---");
        serde_saphyr::from_str(&rest[..end + 1]).unwrap()
    }

    /// Moves a file inside the vault, as the owner would in Obsidian.
    pub fn mv(&self, from: &str, to_dir: &str) {
        let src = self.vault.join(from);
        let dst = self.vault.join(to_dir).join(src.file_name().unwrap());
        fs::create_dir_all(dst.parent().unwrap()).unwrap();
        fs::rename(&src, &dst).unwrap();
    }

    /// Replaces the actions of a planned item with `actions_yaml` (a YAML list at column
    /// 0), as the owner editing the `yaml aie-actions` block in Obsidian would.
    pub fn set_actions(&self, rel: &str, actions_yaml: &str) {
        let text = self.read(rel);
        let (start, end) = actions_block(&text).expect("a planned item");
        let edited = format!("{}{actions_yaml}{}", &text[..start], &text[end..]);
        fs::write(self.vault.join(rel), edited).unwrap();
    }

    /// The actions of the body's last `## Actions` block, if it has one.
    pub fn body_actions(&self, rel: &str) -> Option<Value> {
        let text = self.read(rel);
        let (start, end) = actions_block(&text)?;
        Some(serde_saphyr::from_str(&text[start..end]).unwrap())
    }

    /// Drops `bytes` as `Inbox/<name>`, files and plans it: the id of the one request it
    /// makes in `Pending_Approval/<domain>/`.
    pub fn request(&self, name: &str, bytes: impl AsRef<[u8]>, domain: &str) -> String {
        self.drop_file(name, bytes);
        self.ok(&["process-inbox"]);
        self.ok(&["plan"]);
        self.only_item(&format!("Pending_Approval/{domain}"))
    }

    /// The single item id in a stage folder (panics when there is not exactly one).
    pub fn only_item(&self, rel: &str) -> String {
        let items = self.items_in(rel);
        assert_eq!(items.len(), 1, "expected one item in {rel}: {items:?}");
        items[0].trim_end_matches(".md").to_string()
    }
}

pub mod echo_smtp;

/// The byte range of the YAML inside the last `## Actions` section's `yaml aie-actions`
/// block of an item's text.
pub fn actions_block(text: &str) -> Option<(usize, usize)> {
    let heading = text.rfind("\n## Actions\n")?;
    let open = "```yaml aie-actions\n";
    let start = text[heading..].find(open)? + heading + open.len();
    let end = text[start..].find("\n```").map(|e| start + e + 1)?;
    Some((start, end))
}
pub mod age;
pub mod approved;
pub mod backup;
pub mod crash;
pub mod git;
pub mod jobs;
pub mod mcp;
pub mod odoo_fake;
pub mod social_fake;
pub mod tree;

/// The permission bits of a file or folder (`mode & 0o777`).
pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A new client's question: one mail that `plan` files as a request waiting for approval.
pub const QUESTION: &str = "From: Pat Client <pat@client.example>\nSubject: Opening hours\n\nCan you tell me when you open?\n";

/// The ids of the requests waiting in Pending_Approval/<domain>/, with their folder.
pub fn waiting(env: &TestEnv) -> Vec<(String, String)> {
    env.all_items()
        .into_iter()
        .filter(|(_, rel)| rel.starts_with("Pending_Approval"))
        .collect()
}

/// Drops [`QUESTION`], files it and plans it.
pub fn plan_the_question(env: &TestEnv) {
    env.drop_file("q.eml", QUESTION);
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
}

/// A seed mail of the demo vault (`vault_template/demo/`), with CRLF line ends.
pub fn seed(name: &str) -> Vec<u8> {
    let text = fs::read_to_string(format!(
        "{}/vault_template/demo/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    text.replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}
