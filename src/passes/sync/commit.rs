//! The commit of this agent's changes, behind the secret guard: no file that holds a
//! configured secret's value or a known token shape is ever committed.

use super::committer_of;
use crate::context::Ctx;
use crate::outcome::Outcome;
use crate::vault::git::Git;
use anyhow::{Result, anyhow};

/// What `git status` says of the work tree.
#[derive(Debug, Default)]
pub(super) struct Status {
    /// HEAD's commit (none before the first commit).
    pub head: Option<String>,
    /// The branch HEAD is on (none when it is detached).
    pub branch: Option<String>,
    /// Every path that changed, staged or not, untracked included (an untracked folder as
    /// `dir/`), with what `.gitignore` keeps out left out.
    pub changed: Vec<String>,
}

/// One `git status` with the branch: HEAD, the branch, and what changed. Git only stats
/// the tracked files (their stat data in the index says which did not change, so none is
/// read or hashed again) and, through the untracked cache, reads only the folders that
/// changed since the last call (10,000 items in `Done/` cost 10,000 `lstat`s, no reads).
pub(super) fn status(git: &Git) -> Result<Status> {
    let raw = git.run(&[
        "status",
        "--porcelain=v2",
        "--branch",
        "-z",
        // `normal`, not `all`: an untracked folder is one entry (`add` takes it whole), and
        // git's untracked cache serves this mode.
        "--untracked-files=normal",
        "--no-renames",
    ])?;
    let mut st = Status::default();
    for entry in raw.split('\0').filter(|s| !s.is_empty()) {
        if let Some(h) = entry.strip_prefix("# branch.oid ") {
            st.head = (h != "(initial)").then(|| h.to_string());
        } else if let Some(b) = entry.strip_prefix("# branch.head ") {
            st.branch = (b != "(detached)").then(|| b.to_string());
        } else if let Some(path) = changed_path(entry) {
            st.changed.push(path.to_string());
        }
    }
    Ok(st)
}

/// The path of one `--porcelain=v2` entry that is a change: `1` (changed), `u`
/// (unmerged), `?` (untracked); the path is the last field, after a fixed number of them.
fn changed_path(entry: &str) -> Option<&str> {
    let fields = match entry.as_bytes().first()? {
        b'1' => 8,
        b'u' => 10,
        b'?' => 1,
        _ => return None,
    };
    entry.splitn(fields + 1, ' ').nth(fields)
}

/// Commits what changed, as [`commit_changes`] does, after asking `git status` what did.
/// Returns whether it committed.
pub(super) fn commit(ctx: &Ctx, git: &Git, message: &str, out: &mut Outcome) -> Result<bool> {
    let st = status(git)?;
    Ok(commit_changes(ctx, git, &st, message, out)?.is_some())
}

/// Stages the `changed` paths (as `git status` listed them) but `.aie/`, scans exactly
/// what was staged (the blobs that would be committed, not the files, which may change
/// meanwhile), unstages each file the secret guard refuses (naming it), and commits the
/// rest. Returns the new commit, if it made one. Nothing changed: no git call at all.
pub(super) fn commit_changes(
    ctx: &Ctx,
    git: &Git,
    st: &Status,
    message: &str,
    out: &mut Outcome,
) -> Result<Option<String>> {
    let changed = &st.changed;
    if changed.is_empty() {
        return Ok(None);
    }
    let (own, paths): (Vec<&String>, Vec<&String>) =
        changed.iter().partition(|p| p.starts_with(".aie/"));
    // Paths as they are, never read as patterns (`*`, `:(glob)` in a synced file name).
    let literal = git.clone().with_env("GIT_LITERAL_PATHSPECS", "1");
    if !paths.is_empty() {
        literal.run_bytes(
            &[
                "add",
                "--all",
                "--pathspec-from-file=-",
                "--pathspec-file-nul",
            ],
            Some(&nul_list(paths.iter().map(|p| p.as_str()))),
        )?;
    }
    if !own.is_empty() {
        // A synced `.gitignore` cannot make this agent's own state part of the vault.
        git.run(&[
            "rm",
            "-r",
            "--cached",
            "--quiet",
            "--ignore-unmatch",
            "--",
            ".aie",
        ])?;
    }
    let staged = staged(git)?;
    let needles = guard_needles(ctx);
    let scanned: Vec<&Staged> = staged.iter().filter(|s| s.blob.is_some()).collect();
    let contents = blobs(git, scanned.iter().filter_map(|s| s.blob.as_deref()))?;
    let mut refused = Vec::new();
    for (s, bytes) in scanned.iter().zip(&contents) {
        let Some(what) = secret_in(bytes, &needles) else {
            continue;
        };
        let rel = &s.path;
        out.problem(
            format!("secret:{rel}"),
            format!(
                "`{rel}` holds {what}: sync-vault never commits it; remove the secret from the file"
            ),
        );
        out.count("refused_secret", 1);
        refused.push(rel.as_str());
    }
    if !refused.is_empty() {
        literal.run_bytes(
            &[
                "reset",
                "--quiet",
                "--pathspec-from-file=-",
                "--pathspec-file-nul",
            ],
            Some(&nul_list(refused.iter().copied())),
        )?;
    }
    if staged.len() == refused.len() {
        return Ok(None);
    }
    let new = write_commit(ctx, git, st.head.as_deref(), message)?;
    // This agent's own changes committed are no news to it (a Dashboard refresh for them
    // would only make the next sync commit again).
    out.count("committed", 1);
    Ok(Some(new))
}

/// Commits the index on top of `head` with the agent as author; returns the new commit.
/// Git's own plumbing: the tree from the index (only the folders that changed are
/// hashed again), the commit, and the branch moved only from `head` (a compare-and-swap).
/// Unlike `git commit`, it does not stat every file of the vault again (`status` just
/// did). A merge a crash left unfinished (`MERGE_HEAD`) is concluded by `git commit`.
fn write_commit(ctx: &Ctx, git: &Git, head: Option<&str>, message: &str) -> Result<String> {
    let g = committer_of(ctx, git)?
        .with_env("GIT_AUTHOR_NAME", ctx.agent.clone())
        .with_env("GIT_AUTHOR_EMAIL", format!("{}@aie.invalid", ctx.agent));
    let merging = std::fs::symlink_metadata(git.git_dir().join("MERGE_HEAD")).is_ok();
    if merging || head.is_none() {
        g.run(&["commit", "--quiet", "--no-verify", "-m", message])?;
        return git
            .rev("HEAD")?
            .ok_or_else(|| anyhow!("`git commit` made no commit"));
    }
    let parent = head.unwrap_or_default();
    let tree = g.run(&["write-tree"])?.trim().to_string();
    let new = g
        .run(&["commit-tree", &tree, "-p", parent, "-m", message])?
        .trim()
        .to_string();
    let reflog = format!("commit: {message}");
    g.run(&["update-ref", "-m", &reflog, "HEAD", &new, parent])?;
    // About one commit in sixteen (its id starts with `0`) asks git whether the repository
    // wants packing (`gc --auto`: in the background, only past git's thresholds), as
    // `git commit` does every time.
    if new.starts_with('0') {
        g.call(&["gc", "--auto", "--quiet"])?;
    }
    Ok(new)
}

fn nul_list<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let mut v = Vec::new();
    for p in paths {
        v.extend_from_slice(p.as_bytes());
        v.push(0);
    }
    v
}

/// One staged change: its path, and the blob it stages (none for a deletion).
struct Staged {
    path: String,
    blob: Option<String>,
}

/// Every change staged for the next commit (`git diff --cached --raw`).
fn staged(git: &Git) -> Result<Vec<Staged>> {
    let raw = git.run(&[
        "diff",
        "--cached",
        "--raw",
        "-z",
        "--no-renames",
        "--no-abbrev",
    ])?;
    let mut out = Vec::new();
    for c in crate::vault::git::raw_changes(&raw) {
        if c.status.is_empty() {
            continue;
        }
        // Added, modified or changed type: a blob to scan. A deletion adds nothing, nor does
        // a gitlink (a nested repository: no content here).
        let adds = ["A", "M", "T"].iter().any(|s| c.status.starts_with(s));
        let blob = (adds && c.mode != "160000").then(|| c.blob.to_string());
        out.push(Staged {
            path: c.path.to_string(),
            blob,
        });
    }
    Ok(out)
}

/// The contents of the blobs `shas`, in order, read by one `git cat-file --batch`.
fn blobs<'a>(git: &Git, shas: impl Iterator<Item = &'a str>) -> Result<Vec<Vec<u8>>> {
    let shas: Vec<&str> = shas.collect();
    if shas.is_empty() {
        return Ok(Vec::new());
    }
    let input: String = shas.iter().map(|s| format!("{s}\n")).collect();
    let raw = git.run_bytes(&["cat-file", "--batch"], Some(input.as_bytes()))?;
    let mut out = Vec::with_capacity(shas.len());
    let mut rest = raw.as_slice();
    for sha in shas {
        // `<sha> blob <size>\n<content>\n`
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| anyhow!("cannot read the git object `{sha}`"))?;
        let head = String::from_utf8_lossy(&rest[..nl]).to_string();
        let size: usize = head
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .filter(|_| head.starts_with(sha) && !head.ends_with(" missing"))
            .ok_or_else(|| anyhow!("cannot read the git object `{sha}`: {head}"))?;
        let body = rest
            .get(nl + 1..nl + 1 + size)
            .ok_or_else(|| anyhow!("cannot read the git object `{sha}`: cut short"))?;
        out.push(body.to_vec());
        rest = rest.get(nl + 2 + size..).unwrap_or_default();
    }
    Ok(out)
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

/// What secret `bytes` (a file's content) hold, if any: a configured value, or a known
/// token shape.
fn secret_in(bytes: &[u8], needles: &[String]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
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
    fn status_entries_give_their_whole_path() {
        let z = "0000000000000000000000000000000000000000";
        let one = format!("1 .M N... 100644 100644 100644 {z} {z} Notes/a b.md");
        assert_eq!(changed_path(&one), Some("Notes/a b.md"));
        let unmerged = format!("u UU N... 100644 100644 100644 100644 {z} {z} {z} Done/x 1.md");
        assert_eq!(changed_path(&unmerged), Some("Done/x 1.md"));
        assert_eq!(changed_path("? Inbox/new dir/"), Some("Inbox/new dir/"));
        assert_eq!(changed_path("# branch.oid (initial)"), None);
        assert_eq!(changed_path("! ignored.tmp"), None);
    }

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
