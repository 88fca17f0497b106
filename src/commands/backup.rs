//! `aie backup [--dry-run] [--verify [ID]] [--list]`: snapshot the vault into `backup.dir`
//! and prune by the retention rule, check one snapshot, or list them. Skipped with a note
//! when `backup.dir` is not set. The store and its rules live in [`crate::backup`].

use crate::backup::configured::{open_store, take};
use crate::backup::{self, retention};
use crate::context::Cx;
use crate::exit::Exit;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Take no snapshot and prune nothing: show what a run would prune.
    #[arg(long)]
    pub dry_run: bool,
    /// Re-read a snapshot (default: the newest) and check every file's SHA-256.
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
    pub verify: Option<String>,
    /// List the snapshots, oldest first (`--json`: an array of id, time, files, bytes).
    #[arg(long, conflicts_with = "verify")]
    pub list: bool,
    /// The age identity that opens an encrypted store (default: the secret
    /// `AIE_BACKUP_IDENTITY`); only `--verify` needs it.
    #[arg(long, value_name = "FILE")]
    pub identity: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

impl crate::cli::CommandArgs for BackupArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

/// Runs one backup pass. Errors: the store cannot be opened or written (nothing listed).
pub fn run(cx: &Cx, args: &BackupArgs) -> Result<Outcome> {
    let ctx = cx.ctx();
    let mut out = Outcome::default();
    let identity = args.identity.as_deref().map(|f| cx.env.resolve(f));
    let Some(store) = open_store(ctx, identity.as_deref())? else {
        out.summary = "backups are not set up: set `backup.dir` in aie.yaml".into();
        return Ok(out);
    };
    if args.list {
        let list = store.list()?;
        out.summary = list
            .iter()
            .map(|s| format!("{}  {}  {} files  {} bytes", s.id, s.time, s.files, s.bytes))
            .collect::<Vec<_>>()
            .join("\n");
        if list.is_empty() {
            out.summary = "no snapshots yet".into();
        }
        out.json = serde_json::to_value(&list)?;
        return Ok(out);
    }
    if let Some(id) = &args.verify {
        let id = match id.as_str() {
            "" => store.ids()?.pop().ok_or_else(|| {
                anyhow::anyhow!("no snapshot to verify in `{}`", store.root().display())
            })?,
            id => id.to_string(),
        };
        // Encrypted, with no identity here: the outer check only.
        let outer = store.verify_outer(&id);
        let whole = outer.is_none();
        let problems = match outer {
            Some(p) => p,
            None => store.verify(&id)?,
        };
        for p in &problems {
            out.problem(format!("verify:{id}:{p}"), format!("snapshot `{id}`: {p}"));
        }
        if !problems.is_empty() {
            out.exit = Some(Exit::Partial);
        }
        out.summary = match problems.len() {
            0 if whole => format!("snapshot `{id}` verified: every file matches its SHA-256"),
            0 => format!(
                "snapshot `{id}` is encrypted: every object is present and every pack matches its SHA-256; set `{}` (or --identity FILE) to check every file",
                backup::IDENTITY_SECRET
            ),
            n => format!("snapshot `{id}`: {n} problem(s)"),
        };
        out.json = serde_json::json!({"id": id, "ok": problems.is_empty(), "whole": whole, "problems": problems});
        return Ok(out);
    }
    let keep = retention::Keep {
        daily: ctx.settings.backup.keep,
        weekly: ctx.settings.backup.keep_weekly,
        monthly: ctx.settings.backup.keep_monthly,
    };
    let mut snaps: Vec<_> = store
        .list()?
        .into_iter()
        .map(|s| (s.id, crate::clock::parse_time(&s.time)))
        .collect();
    if args.dry_run {
        let next = backup::id_for(ctx.clock.now());
        snaps.push((next, Some(ctx.clock.now())));
        let prune = retention::to_prune(&snaps, keep, ctx.clock.tz());
        out.summary = if prune.is_empty() {
            "dry run: a backup now would prune nothing".into()
        } else {
            format!("dry run: a backup now would prune {}", prune.join(", "))
        };
        out.json = serde_json::json!({"dry_run": true, "would_prune": prune});
        return Ok(out);
    }
    store.clean_temps();
    let report = take(ctx, &store)?;
    for r in &report.refused {
        out.problem(
            format!("refused:{r}"),
            format!("`{r}` is a symbolic link or not a plain file: not backed up"),
        );
    }
    // Prune only after a good snapshot.
    snaps.push((report.id.clone(), Some(ctx.clock.now())));
    let prune = retention::to_prune(&snaps, keep, ctx.clock.tz());
    let (gone, objects) = store.prune(&prune)?;
    out.count("files", report.files);
    out.count("new_files", report.new_objects);
    out.count("pruned", gone as u64);
    out.summary = format!(
        "snapshot `{}`: {} files, {} bytes ({} new); pruned {} snapshot(s), {} object(s)",
        report.id, report.files, report.bytes, report.new_objects, gone, objects
    );
    out.json = serde_json::json!({
        "id": report.id, "files": report.files, "bytes": report.bytes,
        "new_files": report.new_objects, "new_bytes": report.new_bytes,
        "pruned": prune, "refused": report.refused,
    });
    Ok(out)
}
