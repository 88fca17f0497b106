//! The commit of this agent's changes, behind the secret guard: no file that holds a
//! configured secret's value or a known token shape is ever committed.

use super::committer_of;
use crate::context::Ctx;
use crate::fsutil;
use crate::outcome::Outcome;
use crate::vault::git::Git;
use anyhow::Result;
use std::path::Path;

/// Stages every change of the vault but `.aie/`, unstages each file the secret guard
/// refuses (naming it), and commits the rest. Returns whether it committed.
pub(super) fn commit(ctx: &Ctx, git: &Git, message: &str, out: &mut Outcome) -> Result<bool> {
    // One `git status` tells whether anything changed (staged or not, untracked included,
    // with what `.gitignore` keeps out left out, as `add --all` would): when nothing did,
    // nothing is staged, scanned or committed. The untracked cache lets git skip reading
    // folders that did not change since the last sync (10,000 items in `Done/`).
    let status = git.run(&[
        "-c",
        "core.untrackedCache=true",
        "status",
        "--porcelain",
        "-z",
        "--untracked-files=all",
        "--no-renames",
    ])?;
    if status.is_empty() {
        return Ok(false);
    }
    git.run(&["add", "--all"])?;
    let staged = git.run(&[
        "diff",
        "--cached",
        "--name-only",
        "-z",
        "--no-renames",
        "--diff-filter=AM",
    ])?;
    let needles = guard_needles(ctx);
    for rel in staged.split('\0').filter(|s| !s.is_empty()) {
        if rel.starts_with(".aie/") {
            // A synced `.gitignore` cannot make this agent's own state part of the vault.
            git.run(&["rm", "-r", "--cached", "--quiet", "--", ".aie"])?;
            continue;
        }
        if let Some(what) = secret_in(ctx.vault.root(), rel, &needles) {
            git.run(&["reset", "--quiet", "--", rel])?;
            out.problem(
                format!("secret:{rel}"),
                format!("`{rel}` holds {what}: sync-vault never commits it; remove the secret from the file"),
            );
            out.count("refused_secret", 1);
        }
    }
    if git.call(&["diff", "--cached", "--quiet"])?.ok {
        return Ok(false);
    }
    let author = format!("{} <{}@aie.invalid>", ctx.agent, ctx.agent);
    committer_of(ctx, git)?.run(&[
        "commit",
        "--quiet",
        "--no-verify",
        "--author",
        &author,
        "-m",
        message,
    ])?;
    // This agent's own changes committed are no news to it (a Dashboard refresh for them
    // would only make the next sync commit again).
    out.count("committed", 1);
    Ok(true)
}

/// The texts the secret guard looks for: every configured secret's value (not the
/// user names and client ids, which are not secret and appear in mail).
fn guard_needles(ctx: &Ctx) -> Vec<String> {
    crate::connectors::capabilities::secret_names()
        .filter(|n| !n.ends_with("_USERNAME") && !n.ends_with("_CLIENT_ID"))
        .filter_map(|n| ctx.secrets.get(n))
        .filter(|v| v.len() >= 8)
        .map(str::to_string)
        .collect()
}

/// What secret `rel` holds, if any: a configured value, or a known token shape.
fn secret_in(root: &Path, rel: &str, needles: &[String]) -> Option<String> {
    let path = root.join(rel);
    let (bytes, _) = fsutil::read_regular_nofollow(&path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    if needles.iter().any(|n| text.contains(n.as_str())) {
        return Some("a configured secret's value".into());
    }
    token_shape(&text).map(|shape| format!("what looks like {shape}"))
}

/// Known credential shapes: a prefix and the least number of token characters after it.
const TOKEN_SHAPES: &[(&str, usize, &str)] = &[
    ("-----BEGIN OPENSSH PRIVATE KEY-----", 0, "a private key"),
    ("-----BEGIN RSA PRIVATE KEY-----", 0, "a private key"),
    ("-----BEGIN EC PRIVATE KEY-----", 0, "a private key"),
    ("-----BEGIN PRIVATE KEY-----", 0, "a private key"),
    ("sk-ant-", 20, "an Anthropic API key"),
    ("sk-proj-", 20, "an OpenAI API key"),
    ("ghp_", 30, "a GitHub token"),
    ("github_pat_", 30, "a GitHub token"),
    ("xoxb-", 20, "a Slack token"),
    ("xoxp-", 20, "a Slack token"),
    ("AKIA", 16, "an AWS access key"),
    ("ya29.", 30, "a Google access token"),
    ("1//0", 30, "a Google refresh token"),
    ("EAAG", 60, "a Facebook access token"),
];

/// The kind of credential `text` seems to hold.
pub fn token_shape(text: &str) -> Option<&'static str> {
    for (prefix, min, what) in TOKEN_SHAPES {
        for (at, _) in text.match_indices(prefix) {
            // A token starts at a word boundary.
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric()) {
                continue;
            }
            let tail = text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_./+=".contains(*c))
                .count();
            if tail >= *min {
                return Some(what);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes_are_found_at_word_starts_only() {
        assert_eq!(
            token_shape("key: sk-ant-api03-abcdefghijklmnopqrstuvwxyz"),
            Some("an Anthropic API key")
        );
        assert_eq!(
            token_shape("ghp_0123456789abcdefghijklmnopqrstuvwxyz"),
            Some("a GitHub token")
        );
        assert_eq!(token_shape("task-ant-x and ghp_short"), None);
        assert_eq!(
            token_shape("-----BEGIN OPENSSH PRIVATE KEY-----\n"),
            Some("a private key")
        );
    }
}
