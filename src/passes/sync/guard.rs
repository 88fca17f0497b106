//! What may not change through sync unless the owner signed it: this agent's settings and
//! policy (`aie.yaml`, which also holds `sync.trusted_signers`), the vault's job files
//! (`jobs/`), the owner's content calendar (`policy.content_calendar`: its posts run
//! without approval, so a line in it is an approval) and a CA file SMTP trusts inside the
//! vault. Anyone who can push to the remote (the cloud agent, a stolen deploy key) is not
//! the owner: a `known_contacts` or `payment_auto_below` they loosen, or a signer key they
//! add, would let this agent act without the approval the owner's policy demands. So an
//! incoming change to one of these paths counts only when every commit that made it is
//! signed by a key in `sync.trusted_signers` (as this agent's settings named them before the
//! merge); otherwise this agent keeps its own version, commits that, and says so under
//! attention. The draft-only agent executes nothing and takes every change as it comes.

use super::incoming::{short, trusted_signatures};
use crate::config::Settings;
use crate::context::{Ctx, Mode};
use crate::outcome::Outcome;
use crate::vault::git::Git;
use anyhow::{Result, anyhow};

/// The vault paths guarded: the settings file, the folder of vault job files, the content
/// calendar and a CA file SMTP trusts inside the vault (an added root certificate would let
/// whoever wrote it read the SMTP login), as `settings` names them. A file outside the vault
/// (an absolute path, a `..` on the way) is not synced, and git refuses it as a path: it is
/// left out, so such a setting never stops a sync.
fn guarded(settings: &Settings) -> Vec<String> {
    let named = [
        Some(settings.policy.content_calendar.as_str()),
        settings.smtp.as_ref().and_then(|s| s.ca_file.as_deref()),
    ];
    let in_vault = |p: &&str| {
        std::path::Path::new(p)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
    };
    ["aie.yaml", "jobs"]
        .into_iter()
        .chain(named.into_iter().flatten().filter(in_vault))
        .map(str::to_string)
        .collect()
}

/// Puts back this agent's version (as of `from`, the commit before the merge) of every
/// guarded path that the commits between `from` and HEAD changed without a trusted
/// signature on each of them: the file as it was, or no file when it had none. The paths
/// are those this agent's settings name, and those the merged `aie.yaml` names (a signed
/// change that moves the calendar does not leave the new one unguarded). Copies that sync
/// itself set aside (`.sync-conflict-`) are no settings and stay.
pub(super) fn keep_unsigned_settings_out(
    ctx: &Ctx,
    git: &Git,
    from: &str,
    out: &mut Outcome,
) -> Result<()> {
    if ctx.mode == Mode::DraftOnly {
        return Ok(());
    }
    let mut paths = guarded(&ctx.settings);
    let merged = ctx.vault.settings_path();
    if let Ok(Some(bytes)) = crate::fsutil::read_vault_file(ctx.vault.root(), &merged)
        && let Ok(theirs) = Settings::parse(&String::from_utf8_lossy(&bytes), &merged)
    {
        paths.extend(guarded(&theirs));
    }
    paths.sort();
    paths.dedup();
    // Paths are taken literally (a job file named `[ab].yaml` is not a pattern).
    let mut args = vec![
        "--literal-pathspecs",
        "diff",
        "--raw",
        "-z",
        "--no-renames",
        from,
        "HEAD",
        "--",
    ];
    args.extend(paths.iter().map(String::as_str));
    let raw = git.run(&args)?;
    let changed: Vec<String> = crate::vault::git::raw_changes(&raw)
        .iter()
        .map(|c| c.path.to_string())
        .filter(|p| !crate::fsutil::is_ignored_name(p.rsplit('/').next().unwrap_or(p)))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let signers = trusted_signatures(ctx, git, from)?;
    for path in changed {
        // Merges too: one that writes its own version of the path (differs from every
        // parent) is listed, and is never signed by the owner's key.
        let range = format!("{from}..HEAD");
        let commits = git.run(&[
            "--literal-pathspecs",
            "log",
            "--format=%H",
            &range,
            "--",
            &path,
        ])?;
        let unsigned: Vec<&str> = commits
            .lines()
            .filter(|c| !signers.contains_key(*c))
            .collect();
        if unsigned.is_empty() && !commits.trim().is_empty() {
            out.count("signed_settings", 1);
            continue;
        }
        let kept = keep_local_edit(ctx, git, &path)?;
        let had = git.call(&["cat-file", "-e", &format!("{from}:{path}")])?.ok;
        if had {
            git.run(&["--literal-pathspecs", "checkout", from, "--", &path])?;
        } else {
            remove(ctx, &path)?;
        }
        let by = match unsigned.first() {
            Some(c) => format!("in commit {}", short(c)),
            None => "in a merge".to_string(),
        };
        let aside = match kept {
            Some(copy) => format!("; your edit of it made since the merge is kept as `{copy}`"),
            None => String::new(),
        };
        out.problem(
            format!("sync-settings:{path}"),
            format!(
                "`{path}` was changed through sync {by}, not signed by a key in sync.trusted_signers: this agent keeps its own version (the change stays in git's history); make it on this machine, or sign the commit that makes it{aside}"
            ),
        );
        out.count("unsigned_settings_kept_out", 1);
        out.changed = true;
    }
    Ok(())
}

/// An edit of `path` on this machine since the merge (the work tree differs from HEAD: a
/// crash came between the merge and this check, and the owner edited the file meanwhile),
/// set aside under a `.sync-conflict-` name before this agent's version is put back, so
/// nothing the owner wrote is lost. Returns the copy's vault path.
fn keep_local_edit(ctx: &Ctx, git: &Git, path: &str) -> Result<Option<String>> {
    let file = ctx.vault.root().join(path);
    if !std::fs::symlink_metadata(&file).is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let in_head = git
        .call(&["rev-parse", "--verify", "--quiet", &format!("HEAD:{path}")])?
        .stdout
        .trim()
        .to_string();
    let on_disk = git
        .run(&["--literal-pathspecs", "hash-object", "--", path])?
        .trim()
        .to_string();
    if on_disk == in_head {
        return Ok(None);
    }
    let copy = super::merge::conflict_copy(&file, "local");
    std::fs::copy(&file, &copy)
        .map_err(|e| anyhow!("cannot set `{path}` aside before putting it back: {e}"))?;
    let rel = copy
        .strip_prefix(ctx.vault.root())
        .unwrap_or(&copy)
        .to_string_lossy()
        .into_owned();
    Ok(Some(rel))
}

/// Removes what the merge put at `path`, which this agent's version does not have: a file,
/// a link (removed, never followed) or the empty folder a submodule entry leaves. The
/// folders on the way must not be links. Sync stages the removal when it commits.
fn remove(ctx: &Ctx, path: &str) -> Result<()> {
    let root = ctx.vault.root();
    let file = root.join(path);
    if let Some(parent) = file.parent().filter(|p| *p != root) {
        crate::fsutil::check_no_symlink(root, parent)?;
    }
    let gone = match std::fs::symlink_metadata(&file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => std::fs::remove_dir(&file),
        Ok(_) => std::fs::remove_file(&file),
    };
    gone.map_err(|e| anyhow!("cannot remove `{path}`, which an unsigned commit added: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths outside the vault are never handed to git (it refuses them, and the sync would
    /// stop for good): only the vault's own files are guarded.
    #[test]
    fn only_paths_inside_the_vault_are_guarded() {
        let yaml = "policy:\n  content_calendar: ../Calendar.md\nsmtp:\n  host: h\n  ca_file: certs/ca.pem\n";
        let s = Settings::parse(yaml, std::path::Path::new("aie.yaml")).unwrap();
        assert_eq!(guarded(&s), ["aie.yaml", "jobs", "certs/ca.pem"]);
        let yaml = "smtp:\n  host: h\n  ca_file: /etc/ssl/ca.pem\n";
        let s = Settings::parse(yaml, std::path::Path::new("aie.yaml")).unwrap();
        assert_eq!(guarded(&s), ["aie.yaml", "jobs", "Content_Calendar.md"]);
    }
}
