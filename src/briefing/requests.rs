//! Each subscription the briefing flags becomes a request in `Pending_Approval/accounting/`:
//! one `note` action that needs the owner's approval and runs nothing (approving files it in
//! `Done/` as "reviewed"; cancelling the subscription stays the owner's act). One request per
//! subscription per week: its id is made of the week and the name, and a request whose id
//! is already anywhere in the vault is never written again. Like every request, it is on the
//! approval ledger before its file appears.

use super::{Report, SubReview};
use crate::context::Ctx;
use crate::fsutil;
use crate::vault::approvals::{ApprovalEvent, ApprovalLedger};
use crate::vault::{Item, Stage};
use anyhow::{Context, Result};
use serde_json::{Map, Value};

/// The item of one review request.
fn request(ctx: &Ctx, report: &Report, sub: &SubReview) -> Item {
    let name = crate::dashboard::inline(&sub.name);
    let mut item = Item::new(
        &sub.id,
        "subscription_review",
        "accounting",
        &format!("briefing:{}", report.week),
        &ctx.clock.stamp(),
    );
    item.set("title", format!("Review the subscription {name}"));
    let reasons: String = sub
        .reasons
        .iter()
        .map(|r| format!("- {}\n", crate::dashboard::inline(r)))
        .collect();
    item.body = format!(
        "# Review the subscription {name}\n\nThe Monday briefing of week {} ([[{}]]) flags it:\n\n{reasons}\nApproving or rejecting only records your decision: aie cancels nothing. Cancel it with the vendor if you decide to.\n",
        report.week,
        report
            .file
            .trim_end_matches(".md")
            .rsplit('/')
            .next()
            .unwrap_or(""),
    );
    let mut action = Map::new();
    action.insert("kind".into(), "note".into());
    action.insert(
        "text".into(),
        Value::String(format!("Reviewed the subscription {name}")),
    );
    action.insert("needs_approval".into(), true.into());
    action.insert("rule".into(), "subscription_review".into());
    item.set_actions(vec![action]);
    item.set("status", Stage::PendingApproval(String::new()).status());
    item.set("requested", ctx.clock.stamp());
    item.set("expires", ctx.approval_expiry());
    item.set(
        "summary",
        crate::passes::plan::summary(&item, &ctx.settings),
    );
    item.body = crate::vault::approval_box::with_boxes(&item.body);
    item
}

/// Writes the review requests of `report` that do not exist yet. Returns the ids written.
/// Errors name the request that could not be written.
pub fn file(ctx: &Ctx, report: &Report) -> Result<Vec<String>> {
    let mut written = Vec::new();
    let fresh: Vec<&SubReview> = report
        .subscriptions
        .iter()
        .filter(|s| crate::vault::item::valid_id(&s.id) && ctx.vault.locate(&s.id).is_none())
        .collect();
    if fresh.is_empty() {
        return Ok(written);
    }
    let mut ledger = ApprovalLedger::new(&ctx.vault.aie_dir(), &ctx.vault.logs());
    let stage = Stage::PendingApproval("accounting".into());
    let dir = ctx.vault.stage_dir(&stage);
    for sub in fresh {
        let item = request(ctx, report, sub);
        ledger.append(ctx.approval(
            sub.id.clone(),
            item.actions_hash(),
            ApprovalEvent::Requested,
        ))?;
        ledger.sync()?;
        let target = ctx.vault.item_path(&stage, &sub.id);
        let tmp = fsutil::temp_path_for(&target);
        std::fs::write(&tmp, item.render())
            .with_context(|| format!("cannot write the request `{}`", sub.id))?;
        if let Err(e) = fsutil::move_noreplace(&tmp, &target) {
            let _ = std::fs::remove_file(&tmp);
            return Err(anyhow::anyhow!(
                "cannot write the request `{}`: {e}",
                sub.id
            ));
        }
        written.push(sub.id.clone());
    }
    fsutil::sync_dir(&dir).with_context(|| format!("cannot sync `{}`", dir.display()))?;
    Ok(written)
}
