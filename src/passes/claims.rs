//! Claims that hold across machines. With a git remote, a claim counts once it is pushed:
//! for a batch of items this agent moved into `In_Progress/<agent>/`, build one commit on
//! top of the remote's tip that makes the same moves (in a private index, never touching the
//! work tree or the branch) and push it without force. A refused push means the remote
//! moved on: fetch, and every item no longer where it was on the remote was taken by the
//! other agent (lost); try again with the rest. A claim of an item the remote has never
//! seen (made on this machine since the last sync) is the rename alone. With no remote the
//! rename alone is the claim, as on one machine. The sync that follows merges the pushed
//! claim commit with this side's own history (`passes::sync`).

use crate::context::Ctx;
use crate::passes::sync::{committer_of, remote_of};
use anyhow::{Result, anyhow};
use std::collections::BTreeMap;

/// How many times a refused claim push is retried (each retry drops what was lost).
const TRIES: usize = 8;

/// What became of a batch of claims.
#[derive(Debug, Default)]
pub struct ClaimResult {
    /// Indexes (into the moves given) of the claims the other agent won: undo them.
    pub lost: Vec<usize>,
    /// Why no claim could be confirmed (the remote is unreachable): undo them all.
    pub unconfirmed: Option<String>,
}

/// Whether a claim made now waits for the remote's word ([`confirm`]): not when the vault
/// has no remote (or is no git repository), where the rename alone is the claim.
pub fn need_the_remote(ctx: &Ctx) -> bool {
    !matches!(remote_of(ctx), Ok(Err(_)))
}

/// Confirms the claims `moves` (`(from, to)` paths relative to the vault root, the files
/// already renamed locally) on the remote, when there is one.
pub fn confirm(ctx: &Ctx, moves: &[(String, String)]) -> Result<ClaimResult> {
    let mut res = ClaimResult::default();
    if moves.is_empty() {
        return Ok(res);
    }
    let remote = match remote_of(ctx)? {
        Ok(r) => r,
        Err(_) => return Ok(res),
    };
    let index = ctx.vault.aie_dir().join("claim.index");
    let git =
        committer_of(ctx, &remote.git)?.with_env("GIT_INDEX_FILE", index.display().to_string());
    // Which moves need the remote's word: those of items this side's history holds (they
    // came through sync, so the other agent may hold them too). An item made here since
    // the last sync is known to no one else: the rename is its claim.
    let known = match remote.git.rev("HEAD")? {
        Some(head) => entries(&remote.git, &head, moves.iter().map(|m| m.0.as_str()))?,
        None => BTreeMap::new(),
    };
    let mut open: Vec<usize> = (0..moves.len())
        .filter(|&i| known.contains_key(&moves[i].0))
        .collect();
    if open.is_empty() {
        return Ok(res);
    }
    for _ in 0..TRIES {
        let tip = match remote.fetch() {
            Ok(Some(t)) => t,
            // The remote has no branch yet: nothing is on it to compete for.
            Ok(None) => return Ok(res),
            Err(e) => {
                res.unconfirmed = Some(format!("{e:#}"));
                return Ok(res);
            }
        };
        let on_remote = entries(&remote.git, &tip, open.iter().map(|&i| moves[i].0.as_str()))?;
        let mut keep = Vec::new();
        for i in open {
            if on_remote.contains_key(&moves[i].0) {
                keep.push(i);
            } else {
                // No longer where it was on the remote: the other agent took it.
                res.lost.push(i);
            }
        }
        open = keep;
        if open.is_empty() {
            return Ok(res);
        }
        git.run(&["read-tree", &tip])?;
        let mut info = String::new();
        for &i in &open {
            let (from, to) = &moves[i];
            let (mode, sha) = &on_remote[from];
            info.push_str(&format!("0 {}\t{from}\n", "0".repeat(40)));
            info.push_str(&format!("{mode} {sha}\t{to}\n"));
        }
        let out = git.call_with_input(&["update-index", "--index-info"], Some(info.as_bytes()))?;
        if !out.ok {
            return Err(anyhow!("cannot prepare the claim commit: {}", out.stderr));
        }
        let tree = git.run(&["write-tree"])?.trim().to_string();
        let msg = format!("aie claim: {} takes {} item(s)", ctx.agent, open.len());
        let commit = git
            .run(&["commit-tree", &tree, "-p", &tip, "-m", &msg])?
            .trim()
            .to_string();
        match remote.push(&commit) {
            Ok(true) => return Ok(res),
            Ok(false) => continue,
            Err(e) => {
                res.unconfirmed = Some(format!("{e:#}"));
                return Ok(res);
            }
        }
    }
    res.unconfirmed = Some(format!(
        "the remote kept moving: {TRIES} claim pushes refused"
    ));
    Ok(res)
}

/// The `(mode, blob)` of each of `paths` in commit `tip` (absent paths are left out).
fn entries<'a>(
    git: &crate::vault::git::Git,
    tip: &str,
    paths: impl Iterator<Item = &'a str>,
) -> Result<BTreeMap<String, (String, String)>> {
    let mut args = vec!["ls-tree", "-z", tip, "--"];
    let paths: Vec<&str> = paths.collect();
    args.extend(paths.iter().copied());
    let out = git.run(&args)?;
    let mut map = BTreeMap::new();
    for entry in out.split('\0').filter(|s| !s.is_empty()) {
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let f: Vec<&str> = meta.split(' ').collect();
        if let (Some(mode), Some(&"blob"), Some(sha)) = (f.first(), f.get(1), f.get(2)) {
            map.insert(path.to_string(), (mode.to_string(), sha.to_string()));
        }
    }
    Ok(map)
}
