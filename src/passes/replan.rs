//! `policy.replan_rejected`: an item the owner moved to `Rejected/` with a `reason:` is
//! planned again, once, with that reason as feedback. The planning pass calls this before it
//! claims work: each such item moves into `In_Progress/<agent>/` with `feedback:` and
//! `replanned_from_rejection: true` (so it never loops), its old actions kept aside in the
//! body's `## Rejected actions` section. Reasons aie wrote itself (an expired request) are not the owner's.

use crate::audit::AuditEvent;
use crate::context::Ctx;
use crate::fsutil;
use crate::outcome::Outcome;
use crate::vault::{Item, Stage};
use anyhow::Result;

/// The start of the reason aie writes when a request expires (`planning::review_requests`).
const EXPIRED_PREFIX: &str = "approval request expired";

/// Keys of the last request that the new plan replaces.
const STALE_KEYS: &[&str] = &[
    "reason",
    "actions",
    "planned",
    "planner",
    "requested",
    "expires",
    "summary",
    "review",
    "approved_by",
    "llm_tokens",
];

/// Whether a rejected item is to be planned again: the owner gave a reason, and it was not
/// planned again before.
pub fn wants_replan(item: &Item) -> bool {
    let reason = item.str("reason").trim();
    !reason.is_empty()
        && !reason.starts_with(EXPIRED_PREFIX)
        && item
            .front
            .get("replanned_from_rejection")
            .and_then(|v| v.as_bool())
            != Some(true)
}

/// Turns a rejected item into one to plan again (pure).
pub fn prepare(item: &mut Item) {
    let reason = item.str("reason").trim().to_string();
    item.reject_actions();
    for k in STALE_KEYS {
        item.front.shift_remove(*k);
    }
    item.set("feedback", reason);
    item.set("replanned_from_rejection", true);
    item.set("status", "in_progress");
}

/// Moves every rejected item with an owner's reason back into planning, once.
pub fn requeue_rejected(ctx: &Ctx, out: &mut Outcome) -> Result<()> {
    let mine = Stage::InProgress(ctx.agent.clone());
    let mut moved = false;
    // Only files changed since the last scan can have gained a reason: an item's inode
    // change time moves when it is renamed into Rejected/ and when it is edited. Times on
    // disk are only ever compared with times on disk (the newest change seen by the last
    // scan), never with a clock; a little slack covers a write during the previous scan.
    let since = ctx.state.load()?.replan.map_or(0, |r| r.scanned_until);
    let mut newest = since;
    for path in ctx.vault.list(&Stage::Rejected)? {
        use std::os::unix::fs::MetadataExt;
        let changed = std::fs::symlink_metadata(&path)
            .map(|m| m.ctime())
            .unwrap_or(i64::MAX);
        if changed != i64::MAX {
            newest = newest.max(changed);
        }
        if changed < since - 2 {
            continue;
        }
        let Ok((mut item, held)) = Item::read_held(&path) else {
            continue;
        };
        if !wants_replan(&item) {
            continue;
        }
        let id = item.id().to_string();
        prepare(&mut item);
        // Rewrite in place first: a crash leaves it in Rejected/ marked, never planned twice.
        // Only the file read: an owner who moved or saved it meanwhile wins.
        if fsutil::rewrite_held(&path, held, item.render().as_bytes())? != fsutil::Held::Rewritten {
            continue;
        }
        match ctx.vault.move_item(&path, &mine) {
            Ok(_) => {
                moved = true;
                out.count("replanned_from_rejection", 1);
                out.changed = true;
                out.activity.push(format!(
                    "[[{id}]] planned again with your reason as feedback"
                ));
                ctx.audit.append(AuditEvent {
                    target: Some(mine.rel().display().to_string()),
                    approval_status: Some("rejected".into()),
                    result: Some("ok".into()),
                    ..AuditEvent::new("replan_rejected", Some(&id))
                })?;
            }
            Err(e) => out.problem(
                format!("item:{id}"),
                format!("cannot move `{id}` back into planning: {e:#}"),
            ),
        }
    }
    if moved {
        fsutil::sync_fs(ctx.vault.root())?;
    }
    ctx.state.update(|s| {
        s.replan = Some(crate::state::ReplanState {
            scanned_until: newest,
        });
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(reason: &str) -> Item {
        let mut i = Item::new("r", "email", "email", "gmail:1", "2026-11-22T10:00:00Z");
        i.set("reason", reason);
        i.set("status", "pending_approval");
        i.set("expires", "2026-11-23T10:00:00Z");
        i.set_actions(vec![
            serde_json::json!({"kind": "note", "text": "x", "rule": "note"})
                .as_object()
                .unwrap()
                .clone(),
        ]);
        i
    }

    #[test]
    fn only_owner_reasons_replan_and_only_once() {
        assert!(wants_replan(&rejected("too formal, say hi")));
        assert!(!wants_replan(&rejected("")));
        assert!(!wants_replan(&rejected(
            "approval request expired at 2026-11-23T10:00:00Z"
        )));
        let mut i = rejected("wrong amount: 450");
        prepare(&mut i);
        assert_eq!(i.str("feedback"), "wrong amount: 450");
        assert!(!i.is_planned() && !i.front.contains_key("actions"));
        assert!(
            i.body
                .contains("## Rejected actions\n\n```yaml aie-rejected-actions\n")
        );
        // Written and read again, the rejected actions are not actions.
        let again = Item::parse(&i.render()).unwrap();
        assert!(!again.is_planned() && again.actions().is_empty());
        assert!(!i.front.contains_key("expires") && !i.front.contains_key("reason"));
        // Rejected again with a new reason: it stays rejected.
        i.set("reason", "still wrong");
        assert!(!wants_replan(&i));
    }
}
