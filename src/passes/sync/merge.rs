//! Integrating the remote's commits by the vault's merge rules: a conflict keeps this
//! agent's version at its place and the other one beside it under a `.sync-conflict-` name
//! (never an item), listed under attention.

use super::incoming::check_merge;
use super::{committer_of, first_line};
use crate::audit::AuditEvent;
use crate::context::Ctx;
use crate::fsutil;
use crate::outcome::Outcome;
use crate::vault::git::Git;
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Integrates the remote's tip `theirs` into HEAD by the vault's rules, then checks what
/// arrived in `Approved/` and `Done/`. `head` is HEAD's commit, as the caller knows it.
/// Returns whether HEAD moved.
pub(super) fn integrate(
    ctx: &Ctx,
    git: &Git,
    theirs: &str,
    head: Option<&str>,
    mark: &Path,
    out: &mut Outcome,
) -> Result<bool> {
    let Some(head) = head.map(str::to_string) else {
        // A vault with no commit of its own yet takes the remote's history as it is.
        git.run(&["reset", "--quiet", theirs])?;
        git.run(&["checkout", "--quiet", "--", "."]).ok();
        return Ok(true);
    };
    if git.is_ancestor(theirs, &head)? {
        return Ok(false);
    }
    fsutil::write_atomic(mark, head.as_bytes())?;
    let g = committer_of(ctx, git)?;
    let merged = g.call(&["merge", "--quiet", "--no-edit", "--no-verify", theirs])?;
    if !merged.ok {
        let conflicts = git.run(&["ls-files", "--unmerged", "-z"])?;
        if conflicts.is_empty() {
            // Nothing conflicts: git refused to start (an untracked file in the way).
            g.call(&["merge", "--abort"]).ok();
            std::fs::remove_file(mark).ok();
            out.problem(
                "sync:merge",
                format!(
                    "cannot merge the remote's changes: {}",
                    first_line(&merged.stderr)
                ),
            );
            return Ok(false);
        }
        settle_conflicts(ctx, git, &conflicts, out)?;
        g.run(&["add", "--all"])?;
        let author = format!("{} <{}@aie.invalid>", ctx.agent, ctx.agent);
        g.run(&[
            "commit",
            "--quiet",
            "--no-edit",
            "--no-verify",
            "--author",
            &author,
        ])?;
    }
    out.count("merged", 1);
    out.changed = true;
    drop_stale_own_claims(ctx, git, &head)?;
    check_merge(ctx, git, &head, out)?;
    std::fs::remove_file(mark).ok();
    Ok(true)
}

/// Settles every conflicted path: this agent's version stays at its place (when it has
/// one), the other side's goes beside it under a `.sync-conflict-` name; each is listed
/// under attention. Nothing is lost.
fn settle_conflicts(ctx: &Ctx, git: &Git, unmerged: &str, out: &mut Outcome) -> Result<()> {
    // `<mode> <sha> <stage>\t<path>` entries.
    let mut by_path: BTreeMap<String, [Option<(String, String)>; 4]> = BTreeMap::new();
    for entry in unmerged.split('\0').filter(|s| !s.is_empty()) {
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let f: Vec<&str> = meta.split(' ').collect();
        let (Some(mode), Some(sha), Some(stage)) = (f.first(), f.get(1), f.get(2)) else {
            continue;
        };
        let n: usize = stage.parse().unwrap_or(0);
        if n < 4 {
            by_path.entry(path.to_string()).or_default()[n] =
                Some((mode.to_string(), sha.to_string()));
        }
    }
    let stamp = ctx.clock.now().format("%Y%m%d-%H%M%S").to_string();
    // This agent's own claims, pushed earlier and moved on here since (see
    // [`drop_stale_own_claims`]): the remote's copy is an older state of an item this side
    // holds, not a second version.
    let mine = format!("In_Progress/{}/", ctx.agent);
    let own_claims: BTreeSet<String> = by_path
        .iter()
        .filter(|(rel, st)| rel.starts_with(&mine) && st[2].is_none() && st[3].is_some())
        .filter_map(|(rel, _)| Some((item_id_of(rel)?, rel)))
        .filter(|(id, rel)| item_elsewhere(ctx, id, rel))
        .map(|(id, _)| id)
        .collect();
    for (rel, stages) in by_path {
        let path = ctx.vault.root().join(&rel);
        let ours = stages[2].clone();
        let theirs = stages[3].clone();
        // This agent's version stays at its place (or stays gone).
        let mine = match &ours {
            Some((_, sha)) => Some(git.blob(sha)?),
            None => None,
        };
        std::fs::remove_file(&path).ok();
        if let Some(bytes) = mine {
            fsutil::write_atomic(&path, &bytes)?;
        }
        if item_id_of(&rel).is_some_and(|id| own_claims.contains(&id)) {
            continue;
        }
        let Some((_, their_sha)) = theirs else {
            out.problem(
                format!("sync-conflict:{rel}"),
                format!("`{rel}` was changed here and deleted on the other agent: this agent's version stays"),
            );
            continue;
        };
        let copy = conflict_copy(&path, &stamp);
        fsutil::write_atomic(&copy, &git.blob(&their_sha)?)?;
        let copy_rel = ctx.vault.rel(&copy);
        let kind = if in_stage_folder(&rel) {
            "item"
        } else {
            "file"
        };
        let here = if ours.is_some() {
            "this agent's version stays"
        } else {
            "this agent had moved or deleted it"
        };
        out.problem(
            format!("sync-conflict:{rel}"),
            format!("the {kind} `{rel}` was changed on both agents: {here}, the other agent's version is `{copy_rel}`; compare them and keep one"),
        );
        out.count("conflicts", 1);
        ctx.audit.append(AuditEvent {
            target: Some(copy_rel),
            result: Some("kept_both".into()),
            ..AuditEvent::new("sync_conflict", None)
        })?;
    }
    Ok(())
}

/// The id of the item at `rel` (a stage folder's `<id>.md`), if it names one.
fn item_id_of(rel: &str) -> Option<String> {
    if !in_stage_folder(rel) {
        return None;
    }
    let name = rel.rsplit('/').next()?;
    if fsutil::is_ignored_name(name) {
        return None;
    }
    name.strip_suffix(".md").map(str::to_string)
}

/// A claim this agent pushed (`In_Progress/<agent>/<id>.md` on the remote) comes back with
/// the merge once this side has moved the item on (planned it): when git saw no conflict
/// (the move was not recognised as a rename), the merge re-adds the old claim beside the
/// item's real place. Such a copy is removed; a claim whose item is nowhere else stays.
fn drop_stale_own_claims(ctx: &Ctx, git: &Git, before: &str) -> Result<()> {
    let mine = format!("In_Progress/{}", ctx.agent);
    let added = git.run(&[
        "diff",
        "--name-only",
        "-z",
        "--no-renames",
        "--diff-filter=A",
        before,
        "HEAD",
        "--",
        &mine,
    ])?;
    for rel in added.split('\0').filter(|s| !s.is_empty()) {
        let Some(id) = item_id_of(rel) else { continue };
        if item_elsewhere(ctx, &id, rel) {
            git.run(&["rm", "--quiet", "--", rel])?;
        }
    }
    Ok(())
}

/// Whether item `id` has a file in a stage folder other than `rel`.
fn item_elsewhere(ctx: &Ctx, id: &str, rel: &str) -> bool {
    let here = ctx.vault.root().join(rel);
    ctx.vault
        .stages()
        .into_iter()
        .map(|s| ctx.vault.item_path(&s, id))
        .any(|p| p != here && std::fs::symlink_metadata(&p).is_ok())
}

/// A free name beside `path` that is not an item: `<stem>.sync-conflict-<stamp>[-n].<ext>`.
pub(super) fn conflict_copy(path: &Path, stamp: &str) -> std::path::PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.clone(), String::new()),
    };
    (0..)
        .map(|n| {
            let tail = if n == 0 {
                String::new()
            } else {
                format!("-{n}")
            };
            dir.join(format!("{stem}.sync-conflict-{stamp}{tail}{ext}"))
        })
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .expect("invariant: some numbered name is free")
}

fn in_stage_folder(rel: &str) -> bool {
    [
        "Needs_Action/",
        "In_Progress/",
        "Pending_Approval/",
        "Approved/",
        "Rejected/",
        "Done/",
    ]
    .iter()
    .any(|p| rel.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_copy_is_never_an_item() {
        let d = tempfile::tempdir().unwrap();
        let p = conflict_copy(&d.path().join("x1.md"), "20261123-090000");
        let name = p.file_name().unwrap().to_str().unwrap();
        assert!(crate::fsutil::is_ignored_name(name), "{name}");
        assert!(name.starts_with("x1.sync-conflict-"));
    }
}
