//! The owner's decision on a request, however it was given: a ticked box in the item
//! (Obsidian on a phone), or `aie approve ID` / `aie reject ID`. Each is exactly a move of
//! the file into `Approved/` or `Rejected/`: the execution pass's gate then decides as for
//! any move (this agent's ledger, the actions hash bound on first sight, review when the
//! actions changed). The boxes are put back unticked before the move, so a request that
//! comes back for review never carries a stale tick.

use crate::audit::AuditEvent;
use crate::context::{Ctx, Mode};
use crate::fsutil;
use crate::outcome::Outcome;
use crate::vault::approval_box::{self, Tick};
use crate::vault::{Item, Stage};
use anyhow::Result;
use std::path::Path;

/// How the decision came.
#[derive(Debug, Clone, Copy)]
pub enum Via {
    Checkbox,
    Command,
}

/// Moves the request at `path` to `Approved/` or `Rejected/` (with `reason` on a rejection),
/// boxes unticked first. Returns false when the file changed or went away meanwhile.
pub fn decide(ctx: &Ctx, path: &Path, tick: Tick, reason: Option<&str>, via: Via) -> Result<bool> {
    let (mut item, held) = Item::read_held(path)?;
    item.body = approval_box::with_boxes(&item.body);
    let to = match tick {
        Tick::Approve => Stage::Approved,
        Tick::Reject => Stage::Rejected,
    };
    if let Some(r) = reason.map(str::trim).filter(|r| !r.is_empty()) {
        item.set("reason", r);
    }
    if fsutil::rewrite_held(path, held, item.render().as_bytes())? != fsutil::Held::Rewritten {
        return Ok(false);
    }
    ctx.vault.move_item(path, &to)?;
    fsutil::sync_dir(&ctx.vault.stage_dir(&to)).ok();
    let (action, via) = match (tick, via) {
        (Tick::Approve, v) => ("approved", v),
        (Tick::Reject, v) => ("rejected", v),
    };
    ctx.audit.append(AuditEvent {
        target: Some(to.rel().display().to_string()),
        result: Some(action.into()),
        approval_status: Some(
            match via {
                Via::Checkbox => "checkbox",
                Via::Command => "command",
            }
            .into(),
        ),
        ..AuditEvent::new("owner_decision", Some(item.id()))
    })?;
    Ok(true)
}

/// Acts on every ticked box in `Pending_Approval/` (the local agent only: a `draft_only`
/// agent never moves a request on the owner's behalf). Counts `approved_by_box` and
/// `rejected_by_box`; a request that cannot be moved is a problem, and stays.
pub fn apply_ticks(ctx: &Ctx, out: &mut Outcome) -> Result<()> {
    if ctx.mode != Mode::Full {
        return Ok(());
    }
    for (path, tick) in approval_box::ticked_items(&ctx.vault)? {
        let rel = ctx.vault.rel(&path);
        match decide(ctx, &path, tick, None, Via::Checkbox) {
            Ok(true) => out.count(
                match tick {
                    Tick::Approve => "approved_by_box",
                    Tick::Reject => "rejected_by_box",
                },
                1,
            ),
            Ok(false) => {}
            Err(e) => out.problem(format!("box:{rel}"), format!("`{rel}`: {e:#}; it stays")),
        }
    }
    Ok(())
}
