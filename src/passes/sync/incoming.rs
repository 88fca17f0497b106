//! Approvals that arrive through sync: a move into `Approved/` or `Done/` (or a ticked
//! approval box) counts only when the commit that made it is signed by a key in
//! `sync.trusted_signers`; the approval requests the other agent drafted become known here.

use super::commit::commit;
use super::guard::keep_unsigned_settings_out;
use super::merge::conflict_copy;
use crate::context::Ctx;
use crate::fsutil;
use crate::outcome::Outcome;
use crate::vault::approval_box;
use crate::vault::approvals::{ApprovalEvent, ApprovalLedger, ApprovalRecord, Standing};
use crate::vault::git::Git;
use anyhow::{Result, anyhow};
use std::collections::BTreeMap;

/// What one incoming path in an approval folder is.
struct Incoming {
    rel: String,
    /// Git's file mode: `120000` is a symbolic link.
    mode: String,
}

/// Checks every item that arrived in `Approved/` or `Done/` through the commits between
/// `from` and HEAD: the one whose last commit is signed by a trusted key is recorded in
/// this agent's own approval record as the owner's approval (it then runs once, through
/// the normal check); any other goes back to `Pending_Approval/<domain>/` for review.
fn verify_incoming(ctx: &Ctx, git: &Git, from: &str, out: &mut Outcome) -> Result<()> {
    if ctx.mode == crate::context::Mode::DraftOnly {
        // A draft_only agent never executes: what arrives in Approved/ is the local
        // agent's to check, and Done/ is its report.
        return Ok(());
    }
    let raw = git.run(&[
        "diff",
        "--raw",
        "-z",
        "--no-renames",
        "--diff-filter=AM",
        from,
        "HEAD",
        "--",
        "Approved",
        "Done",
        "Pending_Approval",
    ])?;
    let incoming: Vec<Incoming> = crate::vault::git::raw_changes(&raw)
        .into_iter()
        .map(|c| Incoming {
            rel: c.path.to_string(),
            mode: c.mode.to_string(),
        })
        .collect();
    if incoming.is_empty() {
        return Ok(());
    }
    let signers = trusted_signatures(ctx, git, from)?;
    let mut ledger = ApprovalLedger::new(&ctx.vault.aie_dir(), &ctx.vault.logs());
    for inc in incoming {
        let name = inc.rel.rsplit('/').next().unwrap_or("");
        if fsutil::is_ignored_name(name) || !name.ends_with(".md") {
            continue;
        }
        if inc.mode == "120000" {
            out.problem(
                format!("sync-link:{}", inc.rel),
                format!("`{}` is a symbolic link in the synced history: aie wrote it as a plain file holding the link's target and never follows it; delete it", inc.rel),
            );
            continue;
        }
        let commit = git
            .run(&[
                "log",
                "-1",
                "--no-merges",
                "--format=%H",
                &format!("{from}..HEAD"),
                "--",
                &inc.rel,
            ])?
            .trim()
            .to_string();
        let path = ctx.vault.root().join(&inc.rel);
        let Some((mut item, held)) = ctx.vault.read_held_for_pass(&path, out) else {
            continue;
        };
        if inc.rel.starts_with("Pending_Approval/") {
            // A ticked approval box counts like a move into Approved/: only when the commit
            // that made it is signed by a trusted key. Any other tick is cleared before the
            // execute pass can read it.
            if approval_box::ticked(&item.body).is_none() || signers.contains_key(&commit) {
                continue;
            }
            item.body = approval_box::with_boxes(&item.body);
            if fsutil::rewrite_held(&path, held, item.render().as_bytes())?
                == fsutil::Held::Rewritten
            {
                out.count("unsigned_ticks_cleared", 1);
                out.changed = true;
                out.problem(
                    format!("sync-tick:{}", inc.rel),
                    format!(
                        "`{}`: its approval box was ticked in commit {} through sync, not signed by a key in sync.trusted_signers: the tick was cleared; tick it again on this machine",
                        inc.rel,
                        if commit.is_empty() { "unknown" } else { short(&commit) }
                    ),
                );
            }
            continue;
        }
        let id = item.id().to_string();
        // Only a planned item whose actions are all notes has nothing to approve: one with
        // no plan aie reads may get one back (its `actions` line restored) and is checked.
        if item.is_planned()
            && !item
                .actions_ref()
                .iter()
                .any(crate::actions::has_side_effect)
        {
            continue; // no side effect to approve
        }
        if let Some(key) = signers.get(&commit) {
            if inc.rel.starts_with("Approved/") {
                ledger.append(ApprovalRecord {
                    by: Some(format!("signer:{key}")),
                    note: Some(format!(
                        "moved into Approved/ in commit {} signed by a trusted key",
                        short(&commit)
                    )),
                    ..ctx.approval(id.clone(), item.actions_hash(), ApprovalEvent::Requested)
                })?;
                ledger.sync()?;
                out.count("signed_approvals", 1);
            }
            continue;
        }
        let note = format!(
            "it arrived in `{}` through sync (commit {}) not signed by a key in sync.trusted_signers: read it, then move it to Approved/ yourself",
            inc.rel.split('/').next().unwrap_or(""),
            if commit.is_empty() {
                "unknown".into()
            } else {
                short(&commit).to_string()
            }
        );
        match crate::passes::execute::send_back(ctx, &mut ledger, &path, held, &mut item, &note) {
            Ok(fsutil::Held::Rewritten) => {}
            Ok(_) => continue,
            Err(e) => {
                // It cannot go back (a request with its id already waits): it stops being
                // an item at all, so nothing can run it.
                let copy = conflict_copy(&path, "unapproved");
                fsutil::move_noreplace(&path, &copy)
                    .map_err(|m| anyhow!("cannot set `{}` aside: {m}", inc.rel))?;
                log::warn!("`{}` cannot go back for review: {e:#}", inc.rel);
            }
        }
        out.problem(
            format!("sync-approval:{id}"),
            format!(
                "`{}` went back to Pending_Approval for review: {note}",
                inc.rel
            ),
        );
        out.count("returned_for_review", 1);
        out.changed = true;
    }
    Ok(())
}

/// Checks what a merge brought since `from` (the commit before it) and commits what that
/// puts back: settings and job files changed unsigned keep this agent's version
/// ([`keep_unsigned_settings_out`]), items that arrived unsigned in `Approved/` or `Done/`
/// go back for review ([`verify_incoming`]), the other agent's requests become known
/// ([`import_requests`]).
pub(super) fn check_merge(ctx: &Ctx, git: &Git, from: &str, out: &mut Outcome) -> Result<()> {
    keep_unsigned_settings_out(ctx, git, from, out)?;
    verify_incoming(ctx, git, from, out)?;
    import_requests(ctx, git, from, out)?;
    commit(ctx, git, "aie: returned unsigned changes for review", out)?;
    Ok(())
}

/// Makes the approval requests the other agent drafted known to this agent: each
/// `requested` (or `review`) line of `Logs/approvals.jsonl` that arrived since `from`, for
/// an item this agent's own record knows nothing of and that is not in `Approved/`, is
/// recorded here as a request. A request approves nothing: the owner's move into
/// `Approved/` on this machine (or in a commit signed by a trusted key) still has to come.
fn import_requests(ctx: &Ctx, git: &Git, from: &str, out: &mut Outcome) -> Result<()> {
    let diff = git.run(&[
        "diff",
        "--unified=0",
        "--no-color",
        from,
        "HEAD",
        "--",
        "Logs/approvals.jsonl",
    ])?;
    let mut ledger = ApprovalLedger::new(&ctx.vault.aie_dir(), &ctx.vault.logs());
    for line in diff.lines() {
        let Some(json) = line.strip_prefix('+').filter(|l| !l.starts_with("++")) else {
            continue;
        };
        let Ok(rec) = serde_json::from_str::<ApprovalRecord>(json) else {
            continue;
        };
        if rec.agent == ctx.agent
            || !matches!(rec.event, ApprovalEvent::Requested | ApprovalEvent::Review)
            || crate::vault::item::check_id(&rec.item).is_err()
            || ctx
                .vault
                .item_path(&crate::vault::Stage::Approved, &rec.item)
                .exists()
            || ledger.standing(&rec.item)? != Standing::Unknown
        {
            continue;
        }
        ledger.append(ApprovalRecord {
            by: Some(format!("agent:{}", rec.agent)),
            note: Some(format!("requested by the agent `{}` (synced)", rec.agent)),
            ..ctx.approval(rec.item.clone(), rec.hash.clone(), ApprovalEvent::Requested)
        })?;
        out.count("requests_imported", 1);
    }
    ledger.sync()
}

pub(super) fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// The commits between `from` and HEAD signed by a key of `sync.trusted_signers`, with the
/// key's fingerprint, as git's own SSH signature check says (an allowed-signers file made
/// from the setting, never from the synced vault).
pub(super) fn trusted_signatures(
    ctx: &Ctx,
    git: &Git,
    from: &str,
) -> Result<BTreeMap<String, String>> {
    let keys: Vec<String> = ctx
        .settings
        .sync
        .as_ref()
        .map(|s| s.trusted_signers.clone())
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let dir = ctx.vault.aie_dir().join("sync");
    std::fs::create_dir_all(&dir).map_err(|e| anyhow!("cannot create `{}`: {e}", dir.display()))?;
    let allowed = dir.join("allowed_signers");
    let text: String = keys
        .iter()
        .map(|k| format!("owner namespaces=\"git\" {}\n", k.trim()))
        .collect();
    fsutil::write_atomic(&allowed, text.as_bytes())?;
    let g = git
        .clone()
        .with_config("gpg.format=ssh")
        .with_config(format!("gpg.ssh.allowedSignersFile={}", allowed.display()));
    let log = g.run(&[
        "log",
        "--no-merges",
        "--format=%H %G? %GF",
        &format!("{from}..HEAD"),
    ])?;
    for line in log.lines() {
        let mut f = line.split(' ');
        if let (Some(h), Some("G"), Some(fp)) = (f.next(), f.next(), f.next()) {
            out.insert(h.to_string(), fp.to_string());
        }
    }
    Ok(out)
}
