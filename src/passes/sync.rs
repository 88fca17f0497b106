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
//! `sync.trusted_signers`; any other goes back to `Pending_Approval/` for review.

use crate::audit::AuditEvent;
use crate::context::Ctx;
use crate::exit::Exit;
use crate::fsutil;
use crate::outcome::Outcome;
use crate::vault::approval_box;
use crate::vault::approvals::{ApprovalEvent, ApprovalLedger, ApprovalRecord, Standing};
use crate::vault::git::{self, Git};
use anyhow::{Result, anyhow};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
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

/// How many times a push that the remote refused (it moved on meanwhile) is retried.
const PUSH_TRIES: usize = 4;

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
        let out = self
            .git
            .call(&["fetch", "--quiet", "--no-tags", &self.name, &spec])?;
        if !out.ok {
            if out.stderr.contains("couldn't find remote ref") {
                return Ok(None);
            }
            return Err(crate::exit::AieError::Unavailable(format!(
                "the remote `{}` cannot be reached: {}",
                self.name,
                first_line(&out.stderr)
            ))
            .into());
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

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

/// The remote this vault syncs with, or why there is none (not a git repository, no such
/// remote): then there is nothing to sync.
pub fn remote_of(ctx: &Ctx) -> Result<std::result::Result<Remote, String>> {
    let mut git = Git::at(ctx.vault.root());
    if !git.is_repo() {
        return Ok(Err(format!(
            "`{}` is not a git repository: nothing to sync (README, \"Two agents\", says how to set one up)",
            ctx.vault.root().display()
        )));
    }
    let sync = ctx.settings.sync.clone().unwrap_or_default();
    let name = sync.remote.unwrap_or_else(|| "origin".into());
    if !git.call(&["remote", "get-url", &name])?.ok {
        return Ok(Err(format!(
            "no git remote `{name}` is configured: nothing to sync"
        )));
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

/// One sync pass.
pub fn sync_pass(ctx: &Ctx) -> Result<Outcome> {
    let mut out = Outcome {
        json: serde_json::json!({"job": "sync-vault"}),
        ..Outcome::default()
    };
    let remote = match remote_of(ctx)? {
        Ok(r) => r,
        Err(why) => {
            out.summary = format!("sync-vault: {why}");
            out.json = serde_json::json!({"job": "sync-vault", "synced": false, "reason": why});
            return Ok(out);
        }
    };
    let git = &remote.git;
    prepare(ctx, git, &mut out)?;
    // A merge that a crash left unchecked is checked first.
    let mark = ctx.vault.aie_dir().join(VERIFY_MARK);
    if let Ok(from) = std::fs::read_to_string(&mark) {
        verify_incoming(ctx, git, from.trim(), &mut out)?;
        import_requests(ctx, git, from.trim(), &mut out)?;
        commit(
            ctx,
            git,
            "aie: returned unsigned approvals for review",
            &mut out,
        )?;
        std::fs::remove_file(&mark).ok();
    }
    write_heartbeat(ctx)?;
    commit(ctx, git, &format!("aie sync: {}", ctx.agent), &mut out)?;
    let mut pushed = false;
    for _ in 0..PUSH_TRIES {
        let theirs = match remote.fetch() {
            Ok(t) => t,
            Err(e) => return unreachable(ctx, e, out),
        };
        // The common case, nothing new on either side: the remote's tip is HEAD, so there
        // is nothing to merge or push (one rev-parse, no merge-base, no push).
        let before = git.rev("HEAD")?;
        if theirs.is_some() && theirs == before {
            pushed = true;
            break;
        }
        if let Some(theirs) = &theirs {
            integrate(ctx, git, theirs, before.as_deref(), &mark, &mut out)?;
        }
        let head = git
            .rev("HEAD")?
            .ok_or_else(|| anyhow!("the vault's git repository has no commit yet"))?;
        if theirs.as_deref() == Some(head.as_str()) {
            pushed = true;
            break;
        }
        match remote.push(&head) {
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

/// Stages every change of the vault but `.aie/`, unstages each file the secret guard
/// refuses (naming it), and commits the rest. Returns whether it committed.
fn commit(ctx: &Ctx, git: &Git, message: &str, out: &mut Outcome) -> Result<bool> {
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

/// Integrates the remote's tip `theirs` into HEAD by the vault's rules, then checks what
/// arrived in `Approved/` and `Done/`.
/// `head` is HEAD's commit, as the caller just read it.
fn integrate(
    ctx: &Ctx,
    git: &Git,
    theirs: &str,
    head: Option<&str>,
    mark: &Path,
    out: &mut Outcome,
) -> Result<()> {
    let Some(head) = head.map(str::to_string) else {
        // A vault with no commit of its own yet takes the remote's history as it is.
        git.run(&["reset", "--quiet", theirs])?;
        git.run(&["checkout", "--quiet", "--", "."]).ok();
        return Ok(());
    };
    if git.is_ancestor(theirs, &head)? {
        return Ok(());
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
            return Ok(());
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
    verify_incoming(ctx, git, &head, out)?;
    import_requests(ctx, git, &head, out)?;
    commit(ctx, git, "aie: returned unsigned approvals for review", out)?;
    std::fs::remove_file(mark).ok();
    Ok(())
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
        if item_id_of(&rel).is_some_and(|id| own_claims.contains(&id)) {
            match &ours {
                Some((_, sha)) => {
                    let bytes = blob(git, sha)?;
                    std::fs::remove_file(&path).ok();
                    fsutil::write_atomic(&path, &bytes)?;
                }
                None => {
                    std::fs::remove_file(&path).ok();
                }
            }
            continue;
        }
        match &ours {
            Some((_, sha)) => {
                let bytes = blob(git, sha)?;
                std::fs::remove_file(&path).ok();
                fsutil::write_atomic(&path, &bytes)?;
            }
            None => {
                std::fs::remove_file(&path).ok();
            }
        }
        let Some((_, their_sha)) = theirs else {
            out.problem(
                format!("sync-conflict:{rel}"),
                format!("`{rel}` was changed here and deleted on the other agent: this agent's version stays"),
            );
            continue;
        };
        let copy = conflict_copy(&path, &stamp);
        fsutil::write_atomic(&copy, &blob(git, &their_sha)?)?;
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

fn blob(git: &Git, sha: &str) -> Result<Vec<u8>> {
    let out = std::process::Command::new("git")
        .current_dir(git.git_dir().parent().unwrap_or(Path::new(".")))
        .args(["cat-file", "blob", sha])
        .output()
        .map_err(|e| anyhow!("cannot run `git cat-file`: {e}"))?;
    if !out.status.success() {
        return Err(anyhow!("cannot read the git object `{sha}`"));
    }
    Ok(out.stdout)
}

/// A free name beside `path` that is not an item: `<stem>.sync-conflict-<stamp>[-n].<ext>`.
fn conflict_copy(path: &Path, stamp: &str) -> std::path::PathBuf {
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
    let mut incoming = Vec::new();
    let mut fields = raw.split('\0');
    while let (Some(meta), Some(rel)) = (fields.next(), fields.next()) {
        let mode = meta.split(' ').nth(1).unwrap_or("").to_string();
        incoming.push(Incoming {
            rel: rel.to_string(),
            mode,
        });
    }
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
        if item
            .actions()
            .iter()
            .all(|a| a.get("kind").and_then(|k| k.as_str()) == Some("note"))
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

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// The commits between `from` and HEAD signed by a key of `sync.trusted_signers`, with the
/// key's fingerprint, as git's own SSH signature check says (an allowed-signers file made
/// from the setting, never from the synced vault).
fn trusted_signatures(ctx: &Ctx, git: &Git, from: &str) -> Result<BTreeMap<String, String>> {
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

/// This agent's heartbeat in the vault (`Logs/heartbeats/<agent>.json`): when it last
/// synced, its version and mode. Only this agent writes its own file.
pub fn write_heartbeat(ctx: &Ctx) -> Result<()> {
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
        return Ok(());
    }
    fsutil::write_atomic(&path, text.as_bytes())
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

    #[test]
    fn a_conflict_copy_is_never_an_item() {
        let d = tempfile::tempdir().unwrap();
        let p = conflict_copy(&d.path().join("x1.md"), "20261123-090000");
        let name = p.file_name().unwrap().to_str().unwrap();
        assert!(crate::fsutil::is_ignored_name(name), "{name}");
        assert!(name.starts_with("x1.sync-conflict-"));
    }
}
