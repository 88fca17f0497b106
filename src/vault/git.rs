//! The vault's git repository, driven through the `git` command itself (no library that
//! reimplements git). One small runner: every call gets a clean, predictable environment
//! (no pager, no prompt, no editor), a bounded wait when the caller has a deadline, and an
//! error that names the git command and quotes git's own message. Nothing here decides what
//! to commit or how to merge: `passes::sync` does.

use anyhow::{Result, anyhow};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What a git call returned.
#[derive(Debug)]
pub struct GitOut {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// The repository a vault lives in.
#[derive(Debug, Clone)]
pub struct Git {
    root: PathBuf,
    /// `-c key=value` settings given to every call.
    config: Vec<String>,
    /// Extra environment for every call (`GIT_INDEX_FILE` for a claim's private index).
    envs: Vec<(String, String)>,
    /// Calls that reach the remote give up after this long.
    pub timeout: Option<Duration>,
}

impl Git {
    /// The repository at `root` (the vault root).
    pub fn at(root: &Path) -> Git {
        Git {
            root: root.to_path_buf(),
            config: vec![
                // Git never writes a symbolic link into the vault: a link committed by the
                // other side becomes a plain file holding its target, never followed.
                "core.symlinks=false".into(),
                "core.quotepath=false".into(),
                // No editor, no pager, no hook of the other side: a sync never waits for a
                // human and never runs what a synced file says.
                "core.hooksPath=/dev/null".into(),
                "advice.detachedHead=false".into(),
                // `status` and `add` read only the folders that changed since the last
                // call (the cache lives in the index; git keeps it once it is there).
                "core.untrackedCache=true".into(),
            ],
            envs: Vec::new(),
            timeout: None,
        }
    }

    /// The same repository with `-c key=value` added to every call.
    pub fn with_config(mut self, kv: impl Into<String>) -> Git {
        self.config.push(kv.into());
        self
    }

    /// The same repository with an environment variable set on every call.
    pub fn with_env(mut self, k: &str, v: impl Into<String>) -> Git {
        self.envs.push((k.to_string(), v.into()));
        self
    }

    /// Whether the vault is a git work tree of its own (a `.git` folder at its root).
    pub fn is_repo(&self) -> bool {
        std::fs::symlink_metadata(self.root.join(".git")).is_ok_and(|m| m.is_dir())
    }

    /// The `.git` folder.
    pub fn git_dir(&self) -> PathBuf {
        self.root.join(".git")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        c.current_dir(&self.root)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_EDITOR", "true")
            .env("GIT_PAGER", "cat")
            .env("LC_ALL", "C")
            .env(
                "GIT_SSH_COMMAND",
                "ssh -o BatchMode=yes -o ConnectTimeout=10",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for kv in &self.config {
            c.arg("-c").arg(kv);
        }
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c.args(args);
        c
    }

    /// Runs `git ARGS` and returns what it said, whether or not it succeeded. An error
    /// only when git cannot be started or runs past the timeout.
    pub fn call(&self, args: &[&str]) -> Result<GitOut> {
        self.call_with_input(args, None)
    }

    /// [`Git::call`] with `input` on git's stdin.
    pub fn call_with_input(&self, args: &[&str], input: Option<&[u8]>) -> Result<GitOut> {
        let out = self.call_raw(args, input)?;
        Ok(GitOut {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }

    /// Runs `git ARGS` with `input` on its stdin, its output as bytes (an object's content
    /// need not be text); an error quoting git when it fails.
    pub fn run_bytes(&self, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>> {
        let out = self.call_raw(args, input)?;
        if !out.status.success() {
            return Err(anyhow!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(out.stdout)
    }

    /// The content of the blob `sha`.
    pub fn blob(&self, sha: &str) -> Result<Vec<u8>> {
        self.run_bytes(&["cat-file", "blob", sha], None)
            .map_err(|e| anyhow!("cannot read the git object `{sha}`: {e:#}"))
    }

    fn call_raw(&self, args: &[&str], input: Option<&[u8]>) -> Result<Output> {
        let mut c = self.command(args);
        if input.is_some() {
            c.stdin(Stdio::piped());
        }
        let mut child = c
            .spawn()
            .map_err(|e| anyhow!("cannot run `git {}`: {e}", args.join(" ")))?;
        let Some(bytes) = input else {
            return match self.timeout {
                None => child.wait_with_output(),
                Some(limit) => wait_bounded(child, limit, args)?,
            }
            .map_err(|e| anyhow!("cannot run `git {}`: {e}", args.join(" ")));
        };
        // The input is written while the output is read, so neither pipe can fill up and
        // stop both sides (a batch of many objects both ways).
        let mut stdin = child.stdin.take().expect("invariant: stdin is piped");
        std::thread::scope(|s| {
            let writer = s.spawn(move || std::io::Write::write_all(&mut stdin, bytes));
            let out = match self.timeout {
                None => child.wait_with_output(),
                Some(limit) => wait_bounded(child, limit, args)?,
            }
            .map_err(|e| anyhow!("cannot run `git {}`: {e}", args.join(" ")))?;
            match writer.join() {
                Ok(Ok(())) => Ok(out),
                // git stopped reading early: what it said tells why.
                Ok(Err(_)) if !out.status.success() => Ok(out),
                Ok(Err(e)) => Err(anyhow!("cannot write to `git {}`: {e}", args.join(" "))),
                Err(_) => Err(anyhow!("cannot write to `git {}`", args.join(" "))),
            }
        })
    }

    /// Runs `git ARGS` and returns its stdout; an error quoting git when it fails.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        let out = self.call(args)?;
        if !out.ok {
            return Err(anyhow!("`git {}` failed: {}", args.join(" "), out.stderr));
        }
        Ok(out.stdout)
    }

    /// The commit `rev` names, or None when it names none.
    pub fn rev(&self, rev: &str) -> Result<Option<String>> {
        let spec = format!("{rev}^{{commit}}");
        let out = self.call(&["rev-parse", "--verify", "--quiet", &spec])?;
        Ok(out.ok.then(|| out.stdout.trim().to_string()))
    }

    /// Whether `a` is an ancestor of (or equal to) `b`.
    pub fn is_ancestor(&self, a: &str, b: &str) -> Result<bool> {
        Ok(self.call(&["merge-base", "--is-ancestor", a, b])?.ok)
    }
}

/// Waits for `child` at most `limit`; kills it (and says so) past that.
fn wait_bounded(
    mut child: std::process::Child,
    limit: Duration,
    args: &[&str],
) -> Result<std::io::Result<Output>> {
    let start = Instant::now();
    // Read the pipes on threads so a chatty git never blocks on a full pipe.
    let mut so = child.stdout.take();
    let mut se = child.stderr.take();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(s) = so.as_mut() {
            let _ = std::io::Read::read_to_end(s, &mut v);
        }
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(s) = se.as_mut() {
            let _ = std::io::Read::read_to_end(s, &mut v);
        }
        v
    });
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Ok(Ok(Output {
                    status,
                    stdout: t_out.join().unwrap_or_default(),
                    stderr: t_err.join().unwrap_or_default(),
                }));
            }
            Ok(None) if start.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(crate::exit::AieError::Unavailable(format!(
                    "`git {}` took longer than {}s: stopped",
                    args.join(" "),
                    limit.as_secs()
                ))
                .into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Ok(Err(e)),
        }
    }
}

/// One record of `git diff --raw -z --no-renames`: the new mode (`120000` is a link,
/// `160000` a nested repository), the new blob (zeros for a deletion), the status letter and
/// the path. A field git left out is empty.
#[derive(Debug, PartialEq, Eq)]
pub struct RawChange<'a> {
    pub mode: &'a str,
    pub blob: &'a str,
    pub status: &'a str,
    pub path: &'a str,
}

/// The records of `git diff --raw -z --no-renames` output: `:<old mode> <new mode> <old sha>
/// <new sha> <status>`, a NUL, the path, a NUL; and so on.
pub fn raw_changes(raw: &str) -> Vec<RawChange<'_>> {
    let mut out = Vec::new();
    let mut fields = raw.split('\0');
    while let (Some(meta), Some(path)) = (fields.next(), fields.next()) {
        let mut f = meta.split(' ');
        let mut next = || f.next().unwrap_or("");
        let (_, mode, _, blob, status) = (next(), next(), next(), next(), next());
        out.push(RawChange {
            mode,
            blob,
            status,
            path,
        });
    }
    out
}

/// Whether git's message says the remote could not be reached at all (as opposed to a
/// push the remote refused).
pub fn unreachable(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    [
        "could not read from remote",
        "does not appear to be a git repository",
        "unable to access",
        "could not resolve host",
        "connection refused",
        "connection timed out",
        "no such file or directory",
        "not found",
    ]
    .iter()
    .any(|m| s.contains(m))
}

/// Whether git's message says a push was refused because the remote moved on.
pub fn rejected(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    ["rejected", "non-fast-forward", "fetch first", "stale info"]
        .iter()
        .any(|m| s.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_diff_records_are_read_with_their_mode_blob_status_and_path() {
        let raw = ":000000 100644 0000000 1111111 A\0Approved/a b.md\0:100644 120000 2222222 3333333 T\0Done/link.md\0:100644 000000 4444444 0000000 D\0Done/gone.md\0";
        let got = raw_changes(raw);
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0],
            RawChange {
                mode: "100644",
                blob: "1111111",
                status: "A",
                path: "Approved/a b.md"
            }
        );
        assert_eq!((got[1].mode, got[1].status), ("120000", "T"));
        assert_eq!((got[2].blob, got[2].path), ("0000000", "Done/gone.md"));
        assert!(raw_changes("").is_empty());
    }
}
