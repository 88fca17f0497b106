//! One batch of claimed items: confirm the claims (with a git remote), plan each item,
//! write its plan and its routing, record the requests and policy approvals in the ledger,
//! then move each item to its stage.

use super::route::{apply_plan, destination, redecide, set_routing_fields};
use crate::audit::AuditEvent;
use crate::context::Ctx;
use crate::fsutil::{self, WriteBatch};
use crate::outcome::Outcome;
use crate::planner::Planner;
use crate::vault::approvals::{ApprovalEvent, ApprovalLedger, ApprovalRecord};
use crate::vault::waiting::Waiting;
use crate::vault::{Item, Stage};
use anyhow::Result;
use serde_json::Value;
use std::path::PathBuf;

/// An item claimed for planning, with where it is now.
pub struct Claimed {
    pub path: PathBuf,
    pub item: Item,
    /// Left in `In_Progress/` by a run that crashed: keep its plan if it has one.
    pub resumed: bool,
    /// Where this pass claimed it from (None when resumed).
    pub from: Option<PathBuf>,
}

/// An item planned and rewritten, waiting to be moved to its stage.
struct Routed {
    path: PathBuf,
    item: Item,
    to: Stage,
    /// The approval hash of its actions, computed once.
    hash: String,
}

pub(super) fn plan_batch(
    ctx: &Ctx,
    planner: &mut dyn Planner,
    guides: &super::Guides,
    claimed: Vec<Claimed>,
    ledger: &mut ApprovalLedger,
    waiting: &mut Waiting,
    out: &mut Outcome,
) -> Result<()> {
    let claimed = confirm_claims(ctx, claimed, out)?;
    if claimed.is_empty() {
        return Ok(());
    }
    // The claims become durable with the batch's sync below, before any rewrite lands.
    let mut batch = WriteBatch::new();
    let mut routed: Vec<Routed> = Vec::new();
    for Claimed {
        path,
        mut item,
        resumed,
        ..
    } in claimed
    {
        let id = item.id().to_string();
        let already = resumed
            && item.is_planned()
            && item.actions_ref().iter().all(|a| a.contains_key("rule"))
            && ctx.vault.plan_path(item.domain(), &id).exists();
        if !already && ctx.past_deadline() {
            // Claimed but not planned: it waits in In_Progress/ for the next pass.
            out.count("deferred", 1);
            continue;
        }
        if !already {
            let input = super::plan_input(ctx, &item, guides);
            let plan = match planner.plan(&input) {
                Ok(p) => p,
                Err(e) => {
                    out.problem(
                        format!("item:{id}"),
                        format!(
                            "cannot plan `{id}`: {e:#}; it waits in `{}`",
                            ctx.vault.rel(&path)
                        ),
                    );
                    continue;
                }
            };
            let plan_text = apply_plan(ctx, &mut item, &plan);
            let plan_path = ctx.vault.plan_path(item.domain(), &id);
            // Written in place: a plan torn by a crash belongs to an item that is still
            // unplanned (its rewrite lands only after the batch's sync), so it is rewritten.
            // A plan file that cannot be written (a link, say) stops this item only.
            if let Err(e) = batch.write_direct(&plan_path, plan_text.as_bytes()) {
                out.problem(
                    format!("item:{id}"),
                    format!("{e:#}; `{id}` waits in `{}`", ctx.vault.rel(&path)),
                );
                continue;
            }
            out.count("planned", 1);
        } else {
            redecide(ctx, &mut item);
        }
        let to = destination(&item);
        set_routing_fields(ctx, &mut item, &to);
        if let Err(e) = batch.stage(&path, item.render().as_bytes()) {
            out.problem(
                format!("item:{id}"),
                format!("{e:#}; `{id}` waits in `{}`", ctx.vault.rel(&path)),
            );
            continue;
        }
        let hash = item.actions_hash();
        routed.push(Routed {
            path,
            item,
            to,
            hash,
        });
    }
    fsutil::failpoint("plan:before-write");
    // One item whose rewrite fails is reported and stays; the others go on.
    let results = batch.commit(ctx.vault.root())?;
    let mut kept = Vec::with_capacity(routed.len());
    for (r, res) in routed.into_iter().zip(results) {
        match res {
            Ok(_) => kept.push(r),
            Err(e) => out.problem(
                format!("item:{}", r.item.id()),
                format!("{e:#}; it waits in `{}`", ctx.vault.rel(&r.path)),
            ),
        }
    }
    let routed = kept;
    fsutil::failpoint("plan:written");
    // The ledger knows of each request and policy approval before the item is moved.
    for r in &routed {
        let hash = r.hash.clone();
        let rec = match &r.to {
            Stage::PendingApproval(_) => Some((ApprovalEvent::Requested, None)),
            Stage::Approved => Some((
                ApprovalEvent::Policy,
                Some(r.item.str("approved_by").to_string()),
            )),
            _ => None,
        };
        if let Some((event, by)) = rec {
            ledger.append(ApprovalRecord {
                by,
                ..ctx.approval(r.item.id().to_string(), hash, event)
            })?;
        }
    }
    ledger.sync()?;
    fsutil::failpoint("plan:ledger-written");
    for r in routed {
        let id = r.item.id().to_string();
        match ctx.vault.move_item(&r.path, &r.to) {
            // Known without reading it again, to the next pass and the nudge digest.
            Ok(to) if matches!(r.to, Stage::PendingApproval(_)) => {
                waiting.note(&ctx.vault.rel(&to), &to, &r.item)
            }
            Ok(_) => {}
            Err(e) => {
                out.problem(
                    format!("item:{id}"),
                    format!("cannot move `{id}` to `{}`: {e:#}", r.to.rel().display()),
                );
                continue;
            }
        }
        fsutil::failpoint("plan:moved");
        out.changed = true;
        let (name, status) = match &r.to {
            Stage::PendingApproval(_) => ("pending_approval", Some("pending")),
            Stage::Approved => ("approved_by_policy", Some("approved")),
            _ => ("done", None),
        };
        out.count(name, 1);
        // The title is a mail subject or a file name: data, escaped for the Dashboard line.
        let title = crate::dashboard::inline(r.item.str("title"));
        out.activity.push(match &r.to {
            Stage::PendingApproval(_) => format!("[[{id}]] waits for approval: {title}"),
            Stage::Approved => format!("[[{id}]] approved by {}", r.item.str("approved_by")),
            _ => format!("[[{id}]] filed in Done/: {title}"),
        });
        let kinds: Vec<Value> = r
            .item
            .actions_ref()
            .iter()
            .map(|a| a.get("kind").cloned().unwrap_or(Value::Null))
            .collect();
        ctx.audit.append(AuditEvent {
            target: Some(r.to.rel().display().to_string()),
            parameters: serde_json::json!({"actions": kinds, "hash": r.hash}),
            approval_status: status.map(str::to_string),
            approved_by: Some(r.item.str("approved_by").to_string()).filter(|s| !s.is_empty()),
            result: Some("ok".into()),
            ..AuditEvent::new("planned", Some(&id))
        })?;
    }
    fsutil::sync_fs(ctx.vault.root())?;
    Ok(())
}

/// With a git remote, a claim counts once pushed (`passes::claims`): the claims the other
/// agent won, or that could not be confirmed (the remote unreachable), are undone, each
/// item moved back where this pass took it from; lost ones are audited as `claim_lost`.
fn confirm_claims(ctx: &Ctx, claimed: Vec<Claimed>, out: &mut Outcome) -> Result<Vec<Claimed>> {
    let rel = |p: &PathBuf| ctx.vault.rel(p);
    let moves: Vec<(String, String)> = claimed
        .iter()
        .filter_map(|c| Some((rel(c.from.as_ref()?), rel(&c.path))))
        .collect();
    if moves.is_empty() {
        return Ok(claimed);
    }
    let res = crate::passes::claims::confirm(ctx, &moves)?;
    if res.lost.is_empty() && res.unconfirmed.is_none() {
        return Ok(claimed);
    }
    let lost: Vec<&str> = res.lost.iter().map(|&i| moves[i].1.as_str()).collect();
    let mut kept = Vec::new();
    for c in claimed {
        let Some(from) = &c.from else {
            kept.push(c);
            continue;
        };
        let here = rel(&c.path);
        let is_lost = lost.contains(&here.as_str());
        if !is_lost && res.unconfirmed.is_none() {
            kept.push(c);
            continue;
        }
        // Undo: back where it was, so this side's copy matches the remote's history.
        fsutil::move_noreplace(&c.path, from)
            .map_err(|e| anyhow::anyhow!("cannot undo the claim of `{here}`: {e}"))?;
        let id = c.item.id().to_string();
        if is_lost {
            ctx.audit.append(AuditEvent {
                target: Some(rel(from)),
                result: Some("lost".into()),
                ..AuditEvent::new("claim_lost", Some(&id))
            })?;
            out.count("claim_lost", 1);
        } else {
            out.count("claim_unconfirmed", 1);
        }
    }
    if let Some(why) = res.unconfirmed {
        log::warn!("plan: claims not confirmed, the items wait for the next pass: {why}");
    }
    Ok(kept)
}
