//! The remote a vault syncs with (`sync.remote`, `sync.branch`): ask for its branches' tips,
//! fetch and push through the git CLI, and the identity commits are made with.

use crate::context::Ctx;
use crate::vault::git::{self, Git};
use anyhow::{Result, anyhow};
use std::collections::BTreeMap;
use std::time::Duration;

/// What the remote said when asked for its branches' tips.
pub(super) enum Heads {
    /// Each branch's tip (`refs/heads/` left out of the names).
    Tips(BTreeMap<String, String>),
    /// No remote of that name is configured: there is nothing to sync.
    NoRemote(String),
    /// The remote cannot be reached (an `Unavailable` error).
    Unreachable(anyhow::Error),
}

/// The tips of the branches of the remote `name` (`git ls-remote --heads`: one small
/// exchange, nothing written here), so a sync that finds the remote where this side is
/// fetches nothing. When the remote cannot be asked, whether it is configured at all tells
/// "nothing to sync" from "unreachable".
pub(super) fn heads(git: &Git, name: &str) -> Result<Heads> {
    let out = match git.call(&["ls-remote", "--heads", "--", name]) {
        Ok(out) => out,
        // Past the deadline (or git could not start): this agent's changes are still
        // committed, and the pass exits 69.
        Err(e) => return Ok(Heads::Unreachable(e)),
    };
    if out.ok {
        let tips = out
            .stdout
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .filter_map(|(sha, r)| {
                Some((r.strip_prefix("refs/heads/")?.to_string(), sha.to_string()))
            })
            .collect();
        return Ok(Heads::Tips(tips));
    }
    if !git.call(&["remote", "get-url", "--", name])?.ok {
        return Ok(Heads::NoRemote(no_remote(name)));
    }
    Ok(Heads::Unreachable(unavailable(name, &out.stderr)))
}

fn no_remote(name: &str) -> String {
    format!("no git remote `{name}` is configured: nothing to sync")
}

fn unavailable(name: &str, stderr: &str) -> anyhow::Error {
    crate::exit::AieError::Unavailable(format!(
        "the remote `{name}` cannot be reached: {}",
        first_line(stderr)
    ))
    .into()
}

/// Why `root` has nothing to sync: it is no git work tree of its own.
pub(super) fn not_a_repo(root: &std::path::Path) -> String {
    format!(
        "`{}` is not a git repository: nothing to sync (README, \"Two agents\", says how to set one up)",
        root.display()
    )
}

/// The remote and branch this vault syncs with.
pub struct Remote {
    pub git: Git,
    pub name: String,
    pub branch: String,
}

impl Remote {
    /// `refs/remotes/<remote>/<branch>`: where fetch leaves the remote's tip.
    pub fn tracking(&self) -> String {
        format!("refs/remotes/{}/{}", self.name, self.branch)
    }

    /// Fetches the remote's branch. `Ok(None)` when the remote has no such branch yet (a new
    /// bare repository); an `Unavailable` error when it cannot be reached.
    pub fn fetch(&self) -> Result<Option<String>> {
        let spec = format!("+refs/heads/{}:{}", self.branch, self.tracking());
        // Only the one ref: no tags, no FETCH_HEAD, and no background maintenance started
        // by a fetch (a commit or a merge still starts it when the repository grew).
        let out = self
            .git
            .clone()
            .with_config("maintenance.auto=false")
            .call(&[
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                &self.name,
                &spec,
            ])?;
        if !out.ok {
            if out.stderr.contains("couldn't find remote ref") {
                return Ok(None);
            }
            return Err(unavailable(&self.name, &out.stderr));
        }
        self.git.rev(&self.tracking())
    }

    /// Pushes `rev` to the remote's branch without force. `Ok(false)` when the remote
    /// refused it because it moved on (fetch, integrate, try again).
    pub fn push(&self, rev: &str) -> Result<bool> {
        let spec = format!("{rev}:refs/heads/{}", self.branch);
        let out = self.git.call(&["push", "--quiet", &self.name, &spec])?;
        if out.ok {
            return Ok(true);
        }
        if git::rejected(&out.stderr) {
            return Ok(false);
        }
        Err(crate::exit::AieError::Unavailable(format!(
            "cannot push to the remote `{}`: {}",
            self.name,
            first_line(&out.stderr)
        ))
        .into())
    }
}

pub(super) fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

/// The remote this vault syncs with, or why there is none (not a git repository, no such
/// remote): then there is nothing to sync.
pub fn remote_of(ctx: &Ctx) -> Result<std::result::Result<Remote, String>> {
    let mut git = Git::at(ctx.vault.root());
    if !git.is_repo() {
        return Ok(Err(not_a_repo(ctx.vault.root())));
    }
    let sync = ctx.settings.sync.clone().unwrap_or_default();
    let name = sync.remote.unwrap_or_else(|| "origin".into());
    if !git.call(&["remote", "get-url", &name])?.ok {
        return Ok(Err(no_remote(&name)));
    }
    let branch = match sync.branch {
        Some(b) => b,
        None => git
            .run(&["symbolic-ref", "--quiet", "--short", "HEAD"])
            .map_err(|_| anyhow!("the vault's git HEAD is not on a branch: set `sync.branch`"))?
            .trim()
            .to_string(),
    };
    if let Some(left) = ctx.time_left() {
        git.timeout = Some(left.max(Duration::from_secs(1)));
    }
    Ok(Ok(Remote { git, name, branch }))
}

/// `-c` settings for commands that commit: the agent is the author; a machine with no git
/// identity commits as the agent too.
pub(crate) fn committer_of(ctx: &Ctx, git: &Git) -> Result<Git> {
    let mut g = git
        .clone()
        .with_config("merge.aie-local.name=keep this agent's version")
        .with_config("merge.aie-local.driver=true");
    let has_identity = git.call(&["config", "user.email"])?.ok;
    if !has_identity {
        g = g
            .with_config(format!("user.name=aie {}", ctx.agent))
            .with_config(format!("user.email={}@aie.invalid", ctx.agent));
    }
    Ok(g)
}
