//! The gate: this agent's own approval record decides whether an item in `Approved/` may
//! run, binding its actions' hash on first sight, or must go back for review.

use super::record::Step;
use crate::context::Ctx;
use crate::journal::{Journal, KeyState};
use crate::vault::Item;
use crate::vault::approvals::{ApprovalEvent, ApprovalLedger, ApprovalRecord, Standing};
use crate::vault::item::action_key;
use anyhow::Result;
use serde_json::Value;

/// What let an item run in this pass.
pub(super) struct Approval {
    /// `human` or `policy:<rule>`.
    pub(super) by: String,
    /// The owner approved a request of this agent's in this pass. Only such an approval
    /// re-opens an action whose file records that it ended (`failed`, `refused`, `unknown`).
    pub(super) fresh: bool,
}

/// Checks this agent's own approval record (never the shared trail alone).
/// `Ok(approval)` when the item may run (binding its hash on first sight); `Err(note)` when
/// it must go back for review.
pub(super) fn check_approval(
    ctx: &Ctx,
    ledger: &mut ApprovalLedger,
    journal: &mut Journal,
    item: &Item,
) -> Result<std::result::Result<Approval, String>> {
    let id = item.id().to_string();
    let hash = item.actions_hash();
    let record =
        |ledger: &mut ApprovalLedger, event: ApprovalEvent, by: &str, note: Option<&str>| {
            ledger.append(ApprovalRecord {
                by: Some(by.to_string()),
                note: note.map(str::to_string),
                ..ctx.approval(id.clone(), hash.clone(), event)
            })
        };
    Ok(match ledger.standing(&id)? {
        Standing::Unknown => {
            // No request or policy approval of this agent's. Only the policy, deciding
            // afresh on the item's data alone, may still approve it, and only the exact
            // actions the shared trail says a policy approved (a plan of the other agent):
            // a line anyone can write there never approves more than the policy would.
            let by = crate::passes::plan::policy_approval(ctx, item);
            match by {
                Some(by) if ledger.shared_policy_claim(&id, &hash)?.is_some() => {
                    record(
                        ledger,
                        ApprovalEvent::Policy,
                        &by,
                        Some("decided afresh by this agent's policy"),
                    )?;
                    record(ledger, ApprovalEvent::Bound, &by, None)?;
                    ledger.sync()?;
                    Ok(Approval { by, fresh: false })
                }
                _ => Err("aie never sent this item for approval, and no policy approved it: read it, then move it to Approved/ again".into()),
            }
        }
        Standing::Expired => Err("its approval request expired, which counts as a refusal: this is a new request, read it, then move it to Approved/ again".into()),
        Standing::PolicyApproved { hash: h, by } => {
            if h == hash {
                record(ledger, ApprovalEvent::Bound, &by, None)?;
                ledger.sync()?;
                Ok(Approval { by, fresh: false })
            } else {
                Err("its actions changed after the policy approved them: approve the new actions yourself".into())
            }
        }
        Standing::AwaitingBinding { .. } => {
            record(ledger, ApprovalEvent::Bound, "human", None)?;
            ledger.sync()?;
            // The owner approved it again after an unknown outcome: that means "retry it".
            // Only this fresh approval re-opens such an action (after the binding is durable;
            // a crash in between only sends the item back for review once more).
            for a in item.actions() {
                let key = action_key(&id, &a);
                if journal.state(&key) == KeyState::Finished("unknown".into()) {
                    let kind = a.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
                    let step = Step {
                        ctx,
                        key: &key,
                        item: &id,
                        kind: &kind,
                    };
                    journal.record(step.outcome(
                        "reapproved",
                        "approved again by the owner after an unknown outcome",
                    ))?;
                }
            }
            Ok(Approval {
                by: "human".into(),
                fresh: true,
            })
        }
        Standing::Bound { hash: h, by } => {
            if h == hash {
                Ok(Approval { by, fresh: false })
            } else {
                Err("its actions changed after it was approved: approve the new actions again".into())
            }
        }
    })
}
