//! `aie restore ID --to DIR [--force]`: rebuild a vault from a snapshot, byte for byte, with
//! modes and times. Restoring over the live vault needs `--force` and first takes a backup
//! of the live vault, so nothing is lost by restoring the wrong snapshot.

use crate::backup::configured::{open_store, take};
use crate::backup::restore;
use crate::context::Cx;
use crate::exit::AieError;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The snapshot (`aie backup --list` names them).
    pub id: String,
    /// The folder to rebuild; it must be empty or missing unless `--force`.
    #[arg(long, value_name = "DIR")]
    pub to: std::path::PathBuf,
    /// Restore over a folder that is not empty (the live vault: after a backup of it).
    #[arg(long)]
    pub force: bool,
    /// The age identity that opens an encrypted store (default: the secret
    /// `AIE_BACKUP_IDENTITY`).
    #[arg(long, value_name = "FILE")]
    pub identity: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

impl crate::cli::CommandArgs for RestoreArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

/// Restores. Errors: backups not set up (exit 78), an unknown or damaged snapshot, a
/// non-empty target without `--force` (exit 2).
pub fn run(cx: &Cx, args: &RestoreArgs) -> Result<Outcome> {
    let ctx = cx.ctx();
    let identity = args.identity.as_deref().map(|f| cx.env.resolve(f));
    let store = open_store(ctx, identity.as_deref())?.ok_or_else(|| {
        AieError::Config("backups are not set up: set `backup.dir` in aie.yaml".into())
    })?;
    let to = cx.env.resolve(&args.to);
    let live = std::fs::canonicalize(&to)
        .ok()
        .zip(std::fs::canonicalize(ctx.vault.root()).ok())
        .is_some_and(|(a, b)| a == b);
    let non_empty = std::fs::read_dir(&to).is_ok_and(|mut d| d.next().is_some());
    if non_empty && !args.force {
        return Err(AieError::Usage(format!(
            "`{}` is not empty{}: give --force to restore over it",
            to.display(),
            if live { " (it is the live vault)" } else { "" }
        ))
        .into());
    }
    // Check the snapshot whole before touching anything.
    let problems = store.verify(&args.id)?;
    if let Some(p) = problems.first() {
        anyhow::bail!("snapshot `{}` is damaged, nothing restored: {p}", args.id);
    }
    let mut out = Outcome::default();
    let mut before = None;
    if live {
        let r = take(ctx, &store)?;
        before = Some(r.id);
    }
    let report = restore::restore(&store, &args.id, &to, non_empty)?;
    ctx.audit.append(crate::audit::AuditEvent {
        target: Some(args.id.clone()),
        result: Some("ok".into()),
        ..crate::audit::AuditEvent::new("restore", None)
    })?;
    out.changed = live;
    out.count("files", report.files);
    out.summary = format!(
        "restored snapshot `{}` into `{}`: {} files, {} bytes{}{}",
        args.id,
        to.display(),
        report.files,
        report.bytes,
        if report.removed > 0 {
            format!(", {} removed", report.removed)
        } else {
            String::new()
        },
        before
            .as_ref()
            .map(|b| format!(" (the vault before it is snapshot `{b}`)"))
            .unwrap_or_default()
    );
    out.json = serde_json::json!({"id": args.id, "to": to, "files": report.files, "bytes": report.bytes, "removed": report.removed, "backup_before": before});
    Ok(out)
}
