//! The passes over the vault, in the order an item meets them: `intake` (files dropped in
//! `Inbox/` and the content calendar), `gmail_poll` (new Gmail messages), `plan` (claim,
//! plan and route by policy; `replan` brings back items the owner rejected with a reason)
//! and `execute` (run what was approved, with the journal around each side effect). Each
//! is one function from the open vault to an [`crate::outcome::Outcome`]; none prints.

use crate::audit::AuditEvent;
use crate::context::Ctx;
use crate::outcome::Outcome;
use crate::vault::{Item, Stage};
use anyhow::Result;
use serde_json::Value;

pub mod claims;
pub mod decide;
pub mod execute;
pub mod failover;
pub mod gmail_poll;
pub mod health;
pub mod intake;
pub mod plan;
pub mod replan;
pub mod social_poll;
pub mod sync;
pub mod whatsapp_ingest;

/// Files a new `item` from an outside message in `Needs_Action/<its domain>/` (written
/// atomically, the folder made when missing), counts it in `items`, tells the dashboard
/// `activity`, and audits `item_created` from its `source` with `parameters`.
pub fn file_new_item(
    ctx: &Ctx,
    out: &mut Outcome,
    item: &Item,
    parameters: Value,
    activity: String,
) -> Result<()> {
    let stage = Stage::NeedsAction(item.str("domain").to_string());
    let path = ctx.vault.item_path(&stage, item.id());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::fsutil::write_atomic(&path, item.render().as_bytes())?;
    out.count("items", 1);
    out.changed = true;
    out.activity.push(activity);
    ctx.audit.append(AuditEvent::item_created(
        item.id(),
        item.str("source").to_string(),
        parameters,
    ))
}
