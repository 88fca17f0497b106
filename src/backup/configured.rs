//! The store `aie.yaml` configures (`backup.dir`, its keys), opened for the vault of a
//! [`Ctx`], and one snapshot of that vault with its audit line: what `aie backup` and
//! `aie restore` (which snapshots the live vault before restoring over it) share. Never
//! prints.

use super::{BackupReport, Store, id_for, keys};
use crate::audit::AuditEvent;
use crate::context::Ctx;
use anyhow::Result;
use std::path::Path;

/// Opens the store `backup.dir` names, with its keys (`backup.encrypt_to`; the identity
/// from `identity_file` or the secret `AIE_BACKUP_IDENTITY`); `None` when backups are not
/// set up. Errors: a key that does not parse (exit 78), a store that cannot be opened.
pub fn open_store(ctx: &Ctx, identity_file: Option<&Path>) -> Result<Option<Store>> {
    let Some(dir) = ctx
        .settings
        .backup
        .dir
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    else {
        return Ok(None);
    };
    let seal = keys::recipient(&ctx.settings)?;
    let identity = keys::identity(&ctx.secrets, identity_file)?;
    Ok(Some(
        Store::open(Path::new(dir), ctx.vault.root())?.with_keys(seal, identity),
    ))
}

/// Takes one snapshot of the vault (encrypted when `backup.encrypt_to` is set) and records
/// it in the audit log. Errors: the store cannot be written (no snapshot is listed).
pub fn take(ctx: &Ctx, store: &Store) -> Result<BackupReport> {
    let report = store.snapshot(
        ctx.vault.root(),
        &id_for(ctx.clock.now()),
        &ctx.clock.stamp(),
        &ctx.agent,
    )?;
    ctx.audit.append(AuditEvent {
        target: Some(report.id.clone()),
        result: Some("ok".into()),
        ..AuditEvent::new("backup", None)
    })?;
    Ok(report)
}
