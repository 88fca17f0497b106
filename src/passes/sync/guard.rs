//! What may not change through sync unless the owner signed it: this agent's settings and
//! policy (`aie.yaml`, which also holds `sync.trusted_signers`), the vault's job files
//! (`jobs/`) and the owner's content calendar (`policy.content_calendar`: its posts run
//! without approval, so a line in it is an approval). Anyone who can push to the remote (the cloud agent, a stolen deploy key) is
//! not the owner: a `known_contacts` or `payment_auto_below` they loosen, or a signer key
//! they add, would let this agent act without the approval the owner's policy demands. So an
//! incoming change to one of these paths counts only when every commit that made it is
//! signed by a key in `sync.trusted_signers` (as this agent's settings named them before the
//! merge); otherwise this agent keeps its own version, commits that, and says so under
//! attention. The draft-only agent executes nothing and takes every change as it comes.

use super::incoming::{short, trusted_signatures};
use crate::context::{Ctx, Mode};
use crate::outcome::Outcome;
use crate::vault::git::Git;
use anyhow::{Result, anyhow};

/// Puts back this agent's version (as of `from`, the commit before the merge) of every
/// guarded path that the commits between `from` and HEAD changed without a trusted
/// signature on each of them: the file as it was, or no file when it had none.
pub(super) fn keep_unsigned_settings_out(
    ctx: &Ctx,
    git: &Git,
    from: &str,
    out: &mut Outcome,
) -> Result<()> {
    if ctx.mode == Mode::DraftOnly {
        return Ok(());
    }
    // The settings file, the folder of vault job files, the content calendar.
    let calendar = ctx.settings.policy.content_calendar.as_str();
    let args = [
        "diff",
        "--raw",
        "-z",
        "--no-renames",
        from,
        "HEAD",
        "--",
        "aie.yaml",
        "jobs",
        calendar,
    ];
    let raw = git.run(&args)?;
    let changed: Vec<String> = crate::vault::git::raw_changes(&raw)
        .iter()
        .map(|c| c.path.to_string())
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let signers = trusted_signatures(ctx, git, from)?;
    for path in changed {
        // Merges too: one that writes its own version of the path (differs from every
        // parent) is listed, and is never signed by the owner's key.
        let commits = git.run(&["log", "--format=%H", &format!("{from}..HEAD"), "--", &path])?;
        let unsigned: Vec<&str> = commits
            .lines()
            .filter(|c| !signers.contains_key(*c))
            .collect();
        if unsigned.is_empty() && !commits.trim().is_empty() {
            out.count("signed_settings", 1);
            continue;
        }
        let had = git.call(&["cat-file", "-e", &format!("{from}:{path}")])?.ok;
        if had {
            git.run(&["checkout", from, "--", &path])?;
        } else {
            // Git wrote no link on the way to a path it lists (it refuses to), and one
            // made since is refused here: only the vault's own file is removed.
            let file = ctx.vault.root().join(&path);
            crate::fsutil::check_no_symlink(ctx.vault.root(), &file)?;
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(anyhow!("cannot remove `{path}`: {e}"));
                }
                _ => {}
            }
        }
        let by = match unsigned.first() {
            Some(c) => format!("in commit {}", short(c)),
            None => "in a merge".to_string(),
        };
        out.problem(
            format!("sync-settings:{path}"),
            format!(
                "`{path}` was changed through sync {by}, not signed by a key in sync.trusted_signers: this agent keeps its own version (the change stays in git's history); make it on this machine, or sign the commit that makes it"
            ),
        );
        out.count("unsigned_settings_kept_out", 1);
        out.changed = true;
    }
    Ok(())
}
