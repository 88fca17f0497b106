//! Two agents and one bare remote on local disk: a local agent (the `TestEnv` vault, made a
//! git repository and pushed) and a cloud agent (a clone, `AIE_AGENT=cloud`,
//! `AIE_MODE=draft_only`), both run by the tests. Git is run with a fixed identity and HOME
//! in the temp folder, never the developer's.

use super::TestEnv;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `git ARGS` in `dir` with a test identity; panics when it fails. Returns stdout.
pub fn git(home: &Path, dir: &Path, args: &[&str]) -> String {
    let out = git_cmd(home, dir, args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A git command in `dir` with a test identity (`name` as author and committer).
pub fn git_cmd(home: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .args(args);
    c
}

/// The local agent, the cloud agent and their bare remote.
pub struct TwoAgents {
    pub local: TestEnv,
    pub cloud: TestEnv,
    pub remote: PathBuf,
}

impl TwoAgents {
    /// Both vaults with `extra` settings, the local one committed and pushed, the cloud one
    /// cloned from the remote.
    pub fn new(extra: &str) -> TwoAgents {
        let local = TestEnv::new();
        local.config(extra);
        let home = local.dir.path().to_path_buf();
        let remote = home.join("remote.git");
        git(
            &home,
            &home,
            &["init", "--quiet", "--bare", "-b", "main", "remote.git"],
        );
        git(&home, &local.vault, &["init", "--quiet", "-b", "main"]);
        git(
            &home,
            &local.vault,
            &["remote", "add", "origin", remote.to_str().unwrap()],
        );
        git(&home, &local.vault, &["add", "-A"]);
        git(&home, &local.vault, &["commit", "--quiet", "-m", "init"]);
        git(&home, &local.vault, &["push", "--quiet", "origin", "main"]);
        let mut cloud = TestEnv::new();
        std::fs::remove_dir_all(&cloud.vault).unwrap();
        let chome = cloud.dir.path().to_path_buf();
        git(
            &chome,
            &chome,
            &["clone", "--quiet", remote.to_str().unwrap(), "vault"],
        );
        cloud
            .env("AIE_AGENT", "cloud")
            .env("AIE_MODE", "draft_only");
        // Git keeps no empty folder: any pass makes the layout again.
        cloud.ok(&["process-inbox"]);
        TwoAgents {
            local,
            cloud,
            remote,
        }
    }

    /// Runs `git ARGS` in an agent's vault.
    pub fn git(env: &TestEnv, args: &[&str]) -> String {
        git(env.dir.path(), &env.vault, args)
    }

    /// Every path in the remote's branch, with its content.
    pub fn remote_files(&self) -> Vec<String> {
        let home = self.local.dir.path();
        git(
            home,
            &self.remote,
            &["ls-tree", "-r", "--name-only", "main"],
        )
        .lines()
        .map(str::to_string)
        .collect()
    }

    /// The whole history of the remote as text (every version of every file).
    pub fn remote_history(&self) -> String {
        let home = self.local.dir.path();
        git(
            home,
            &self.remote,
            &["log", "-p", "--all", "--format=%H %an"],
        )
    }
}

/// A new ed25519 SSH key pair at `path` (ssh-keygen, installed by tests/setup.sh); returns
/// its public key line, as `sync.trusted_signers` lists it.
pub fn ssh_key(path: &Path) -> String {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "owner", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen is installed (tests/setup.sh)");
    assert!(st.success());
    std::fs::read_to_string(path.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string()
}

impl TwoAgents {
    /// Commits everything in the cloud's vault by hand (as anyone with the cloud's git
    /// could), claiming the owner as author, signed with the SSH key at `key` when given,
    /// and pushes it.
    pub fn cloud_commits(&self, key: Option<&Path>, message: &str) {
        let home = self.cloud.dir.path();
        git(home, &self.cloud.vault, &["add", "-A"]);
        let signing = key.map(|k| format!("user.signingkey={}", k.display()));
        let mut args = Vec::new();
        if let Some(s) = &signing {
            args.extend(["-c", "gpg.format=ssh", "-c", s.as_str()]);
        }
        args.extend([
            "commit",
            "--quiet",
            "--author",
            "Sam Owner <sam@owner.example>",
        ]);
        if signing.is_some() {
            args.push("-S");
        }
        args.extend(["-m", message]);
        git(home, &self.cloud.vault, &args);
        git(
            home,
            &self.cloud.vault,
            &["push", "--quiet", "origin", "main"],
        );
    }
}

/// Starts `aie ARGS` on `env`'s vault without waiting (as [`TestEnv::cmd`] sets it up).
pub fn spawn(env: &TestEnv, args: &[&str]) -> std::process::Child {
    super::jobs::std_cmd(env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .args(args)
        .spawn()
        .unwrap()
}
