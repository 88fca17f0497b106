//! The requests waiting in `Pending_Approval/`: expire the old ones, keep each summary true
//! to its actions, and record what this agent sees waiting; unchanged files are not re-read.

use super::route::summary;
use crate::audit::AuditEvent;
use crate::clock::parse_time;
use crate::context::Ctx;
use crate::fsutil;
use crate::outcome::Outcome;
use crate::vault::approvals::{ApprovalEvent, ApprovalLedger, ApprovalRecord, Standing};
use crate::vault::waiting::Waiting;
use crate::vault::{Item, Stage};
use anyhow::Result;

/// Looks at every request waiting in `Pending_Approval/`: one whose `expires` has passed
/// moves to `Rejected/` with the reason (a refusal: approving it again needs a new
/// request); for the others, the `summary:` is rebuilt from the actions when the owner (or
/// anyone) edited them, and a request this agent holds no open record of (drafted by the
/// other agent, or returned by a pass that stopped before recording it) is recorded as
/// this agent's request of exactly what it saw waiting.
///
/// A request found with nothing to do is remembered in the index of waiting requests
/// ([`Waiting`]): while its file stays the same and it has not expired, it is not read again
/// (10,000 waiting requests cost a second a pass). Returns that index, for the pass to add
/// the requests it writes and to save.
pub(super) fn review_requests(
    ctx: &Ctx,
    ledger: &mut ApprovalLedger,
    out: &mut Outcome,
) -> Result<Waiting> {
    let now = ctx.clock.now();
    let mut moved = false;
    let seen = Waiting::load(&ctx.vault.aie_dir());
    let mut still = seen.empty_like();
    for stage in ctx.vault.stages() {
        let Stage::PendingApproval(domain) = &stage else {
            continue;
        };
        for path in ctx.vault.list(&stage)? {
            let key = ctx.vault.rel(&path);
            if let Some(s) = seen.current(&key, &path)
                && parse_time(&s.expires).is_none_or(|t| t > now)
            {
                still.keep(&key, s);
                continue;
            }
            // Never the file's age on disk: that is the real clock, and expiry is judged by
            // the pinned one (an owner's edit also moves the mtime).
            let Ok((mut item, held)) = Item::read_held(&path) else {
                continue;
            };
            let id = item.id().to_string();
            let expired = parse_time(item.str("expires")).is_some_and(|t| t <= now);
            if !expired {
                let want = summary(&item, &ctx.settings);
                if item.str("summary") != want {
                    item.set("summary", want);
                    // Only the file read: an owner who moved or saved it meanwhile wins.
                    if fsutil::rewrite_held(&path, held, item.render().as_bytes())?
                        != fsutil::Held::Rewritten
                    {
                        continue;
                    }
                    out.count("summary_rebuilt", 1);
                    out.changed = true;
                }
                if !matches!(ledger.standing(&id)?, Standing::AwaitingBinding { .. }) {
                    ledger.append(ApprovalRecord {
                        note: Some(format!("seen waiting in Pending_Approval/{domain}/")),
                        ..ctx.approval(id.clone(), item.actions_hash(), ApprovalEvent::Requested)
                    })?;
                    moved = true;
                }
                still.note(&key, &path, &item);
                continue;
            }
            item.set("status", "rejected");
            item.set(
                "reason",
                format!("approval request expired at {}", item.str("expires")),
            );
            if fsutil::rewrite_held(&path, held, item.render().as_bytes())?
                != fsutil::Held::Rewritten
            {
                continue;
            }
            if ctx.vault.move_item(&path, &Stage::Rejected).is_ok() {
                moved = true;
                out.count("expired", 1);
                out.changed = true;
                out.activity.push(format!(
                    "[[{id}]] expired without approval: moved to Rejected/"
                ));
                ledger.append(ctx.approval(
                    id.clone(),
                    item.actions_hash(),
                    ApprovalEvent::Expired,
                ))?;
                ctx.audit.append(AuditEvent {
                    target: Some("Rejected".into()),
                    approval_status: Some("expired".into()),
                    result: Some("ok".into()),
                    ..AuditEvent::new("expired", Some(&id))
                })?;
            }
        }
    }
    still.compare(&seen);
    if moved {
        ledger.sync()?;
        fsutil::sync_fs(ctx.vault.root())?;
    }
    Ok(still)
}
