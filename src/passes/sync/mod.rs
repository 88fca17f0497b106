//! `sync-vault`: one pass of sharing the vault with the other agent through git, under the
//! exclusive vault lock. Commit this agent's changes (after the secret guard), fetch,
//! integrate the remote's commits by the vault's own merge rules, check every approval that
//! arrived through sync, push without force. The merge rules live in `.git/info/attributes`
//! (this machine's, never synced, so a synced `.gitattributes` cannot loosen them): audit
//! logs and the approvals trail merge line by line, `Dashboard.md` keeps this agent's
//! version, and every other file both sides changed is a conflict that aie settles by
//! keeping this agent's version and the other one beside it under a `.sync-conflict-` name
//! (never an item), listed under attention. A move into `Approved/` or `Done/` that arrived
//! through sync counts only when the commit that made it is signed by a key in
//! `sync.trusted_signers`; any other goes back to `Pending_Approval/` for review. So does a
//! change to the settings (`aie.yaml`) or the vault's job files: unsigned, the local agent
//! keeps its own version (`guard.rs`).

mod commit;
mod guard;
mod incoming;
mod merge;
mod remote;

pub use commit::token_shape;
pub(crate) use remote::committer_of;
pub use remote::{Remote, remote_of};

use crate::context::Ctx;
use crate::exit::Exit;
use crate::fsutil;
use crate::outcome::Outcome;
use crate::vault::git::Git;
use anyhow::{Result, anyhow};
use commit::{commit_changes, status};
use incoming::check_merge;
use merge::integrate;
use remote::{Heads, first_line};
use std::time::Duration;

/// The merge rules of the vault (see the module header).
const ATTRIBUTES: &str = "\
# Written by aie sync-vault: the vault's merge rules (this file wins over .gitattributes).
* merge=binary
Logs/*.jsonl merge=union
Logs/**/*.jsonl merge=union
Dashboard.md merge=aie-local
";

/// Where a merge that has not been checked yet is remembered (the commit before it), so a
/// crash between the merge and the approval check is checked by the next sync.
const VERIFY_MARK: &str = "sync_verify_from";

/// The commit before a merge through sync that is not checked yet (a crash came between the
/// merge and its check), when there is one. Until `sync-vault` checks it, a full agent reads
/// its settings as they were in that commit ([`crate::context::Ctx::open`]): an unsigned
/// change to `aie.yaml` that the merge brought is never this agent's policy, not even for a
/// moment.
pub fn unchecked_merge(aie_dir: &std::path::Path) -> Option<String> {
    let from = std::fs::read_to_string(aie_dir.join(VERIFY_MARK)).ok()?;
    let from = from.trim();
    (!from.is_empty() && from.bytes().all(|b| b.is_ascii_hexdigit())).then(|| from.to_string())
}

/// Refuses (exit 75, nothing changed) a pass that acts on the settings, the job files or
/// the content calendar while a merge through sync is unchecked on a full agent: the
/// merged files may hold an unsigned change that the check would keep out. `plan` and
/// `execute-approved` call it first; the next `sync-vault` checks the merge (the `sync` and
/// `execute` jobs run it before anything else).
pub fn refuse_while_unchecked(ctx: &Ctx, pass: &str) -> Result<()> {
    if ctx.mode == crate::context::Mode::DraftOnly {
        return Ok(());
    }
    match unchecked_merge(&ctx.vault.aie_dir()) {
        None => Ok(()),
        Some(from) => Err(crate::exit::AieError::Deferred(format!(
            "{pass}: skipped: a sync-vault stopped after merging the remote's changes (on {}) and before checking them; the next sync-vault checks them",
            &from[..from.len().min(12)]
        ))
        .into()),
    }
}

/// How many times a push that the remote refused (it moved on meanwhile) is retried.
const PUSH_TRIES: usize = 4;

/// One sync pass. When nothing changed on either side it costs two git calls, run side by
/// side: `status` (HEAD, the branch, what changed) and `ls-remote` (the remote's tip,
/// nothing fetched).
pub fn sync_pass(ctx: &Ctx) -> Result<Outcome> {
    let mut out = Outcome {
        json: serde_json::json!({"job": "sync-vault"}),
        ..Outcome::default()
    };
    let nothing = |mut out: Outcome, why: String| {
        out.summary = format!("sync-vault: {why}");
        out.json = serde_json::json!({"job": "sync-vault", "synced": false, "reason": why});
        Ok(out)
    };
    let mut git = Git::at(ctx.vault.root());
    if !git.is_repo() {
        return nothing(out, remote::not_a_repo(ctx.vault.root()));
    }
    if let Some(left) = ctx.time_left() {
        git.timeout = Some(left.max(Duration::from_secs(1)));
    }
    let settings = ctx.settings.sync.clone().unwrap_or_default();
    let name = settings.remote.unwrap_or_else(|| "origin".into());
    // The remote is asked while `git status` reads the work tree (both mostly wait: on the
    // remote, on the disk). With no remote configured there is nothing to sync, and
    // nothing was changed; an unreachable one still gets this agent's changes committed.
    let (heads, st) = std::thread::scope(|s| {
        let asking = s.spawn(|| remote::heads(&git, &name));
        let st = status(&git);
        let heads = asking
            .join()
            .unwrap_or_else(|_| Err(anyhow!("asking the remote `{name}` stopped")));
        (heads, st)
    });
    let tips = match heads? {
        Heads::NoRemote(why) => return nothing(out, why),
        Heads::Tips(t) => Ok(t),
        Heads::Unreachable(e) => Err(e),
    };
    let mut st = st?;
    let git = &git;
    prepare(ctx, git, &mut out)?;
    // A merge that a crash left unchecked is checked first.
    let mark = ctx.vault.aie_dir().join(VERIFY_MARK);
    if let Ok(from) = std::fs::read_to_string(&mark) {
        check_merge(ctx, git, from.trim(), &mut out)?;
        std::fs::remove_file(&mark).ok();
        st = status(git)?;
    }
    // Written after `status` looked: its one path is added to what changed.
    if let Some(rel) = heartbeat(ctx)? {
        st.changed.push(rel);
    }
    let branch = match (settings.branch, st.branch.clone()) {
        (Some(b), _) | (None, Some(b)) => b,
        (None, None) => {
            return Err(anyhow!(
                "the vault's git HEAD is not on a branch: set `sync.branch`"
            ));
        }
    };
    let mut head = st.head.clone();
    let message = format!("aie sync: {}", ctx.agent);
    if let Some(new) = commit_changes(ctx, git, &st, &message, &mut out)? {
        head = Some(new);
    }
    let tips = match tips {
        Ok(t) => t,
        Err(e) => return unreachable(ctx, e, out),
    };
    let remote = Remote {
        git: git.clone(),
        name,
        branch,
    };
    // The first round takes the tip `ls-remote` saw: fetched only when this side's history
    // does not hold it yet.
    let mut seen = Some(tips.get(&remote.branch).cloned());
    let mut pushed = false;
    for _ in 0..PUSH_TRIES {
        let (theirs, held) = match seen.take() {
            Some(tip) if known(git, tip.as_deref(), head.as_deref())? => (tip, true),
            _ => match remote.fetch() {
                Ok(t) => (t, false),
                Err(e) => return unreachable(ctx, e, out),
            },
        };
        // The common case, nothing new on either side: the remote's tip is HEAD, so there
        // is nothing to merge or push.
        if theirs.is_some() && theirs == head {
            pushed = true;
            break;
        }
        // A tip this side's history holds has nothing to integrate.
        if let Some(theirs) = theirs.as_deref().filter(|_| !held)
            && integrate(ctx, git, theirs, head.as_deref(), &mark, &mut out)?
        {
            head = git.rev("HEAD")?;
        }
        let Some(h) = head.clone() else {
            return Err(anyhow!("the vault's git repository has no commit yet"));
        };
        if theirs.as_deref() == Some(h.as_str()) {
            pushed = true;
            break;
        }
        match remote.push(&h) {
            Ok(true) => {
                out.count("pushed", 1);
                pushed = true;
                break;
            }
            Ok(false) => continue,
            Err(e) => return unreachable(ctx, e, out),
        }
    }
    if !pushed {
        out.problem(
            "sync:push",
            format!(
                "the remote `{}` kept moving: {PUSH_TRIES} pushes refused; the next sync tries again",
                remote.name
            ),
        );
    }
    out.summary = match out.counts_line() {
        l if l.is_empty() => "sync-vault: up to date".into(),
        l => format!("sync-vault: {l}"),
    };
    out.json = serde_json::json!({
        "job": "sync-vault",
        "synced": pushed,
        "remote": remote.name,
        "branch": remote.branch,
    });
    Ok(out)
}

/// Whether the remote's tip `tip` (as `ls-remote` saw it) needs no fetch: the remote has
/// no such branch yet, or this side's history already holds it (HEAD itself, or an
/// ancestor of HEAD: only this side moved on, a push does).
fn known(git: &Git, tip: Option<&str>, head: Option<&str>) -> Result<bool> {
    Ok(match (tip, head) {
        (None, _) => true,
        (Some(t), Some(h)) => t == h || git.is_ancestor(t, h)?,
        (Some(_), None) => false,
    })
}

/// The remote could not be reached: what was committed stays committed (nothing lost), and
/// the pass exits 69.
fn unreachable(ctx: &Ctx, e: anyhow::Error, mut out: Outcome) -> Result<Outcome> {
    log::warn!("{e:#}");
    out.summary = format!(
        "sync-vault: {e:#}; this agent's changes are committed locally and wait for the next sync"
    );
    out.exit = Some(Exit::Unavailable);
    let _ = ctx;
    Ok(out)
}

/// Writes the merge rules, and recovers a lock a killed git left (no other aie command runs
/// while sync holds the vault alone).
fn prepare(ctx: &Ctx, git: &Git, out: &mut Outcome) -> Result<()> {
    let lock = git.git_dir().join("index.lock");
    if std::fs::symlink_metadata(&lock).is_ok() {
        std::fs::remove_file(&lock)
            .map_err(|e| anyhow!("cannot remove the stale `{}`: {e}", lock.display()))?;
        log::warn!("removed a stale `.git/index.lock` left by a git that was stopped");
        out.count("stale_lock_removed", 1);
    }
    let info = git.git_dir().join("info");
    let attrs = info.join("attributes");
    if std::fs::read_to_string(&attrs).ok().as_deref() != Some(ATTRIBUTES) {
        std::fs::create_dir_all(&info)
            .map_err(|e| anyhow!("cannot create `{}`: {e}", info.display()))?;
        fsutil::write_atomic(&attrs, ATTRIBUTES.as_bytes())?;
    }
    let _ = ctx;
    Ok(())
}

/// This agent's heartbeat in the vault (`Logs/heartbeats/<agent>.json`): when it last
/// synced, its version and mode. Only this agent writes its own file.
pub fn write_heartbeat(ctx: &Ctx) -> Result<()> {
    heartbeat(ctx).map(|_| ())
}

/// [`write_heartbeat`]; returns the file's path in the vault when it changed.
fn heartbeat(ctx: &Ctx) -> Result<Option<String>> {
    let dir = ctx.vault.logs().join("heartbeats");
    std::fs::create_dir_all(&dir).map_err(|e| anyhow!("cannot create `{}`: {e}", dir.display()))?;
    let beat = serde_json::json!({
        "agent": ctx.agent,
        "mode": ctx.mode.name(),
        "version": env!("CARGO_PKG_VERSION"),
        "ts": ctx.clock.stamp(),
    });
    let path = dir.join(format!("{}.json", ctx.agent));
    let text = serde_json::to_string_pretty(&beat).expect("invariant: json serializes") + "\n";
    if fsutil::read_regular_nofollow(&path)
        .ok()
        .is_some_and(|(b, _)| b == text.as_bytes())
    {
        return Ok(None);
    }
    fsutil::write_atomic(&path, text.as_bytes())?;
    Ok(Some(ctx.vault.rel(&path)))
}
