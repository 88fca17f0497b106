//! One batch of claimed items: confirm the claims (with a git remote), plan each item,
//! write its plan and its routing, record the requests and policy approvals in the ledger,
//! then move each item to its stage.

use super::route::{apply_plan, destination, redecide, set_routing_fields};
use crate::audit::AuditEvent;
use crate::context::Ctx;
use crate::fsutil::{self, WriteBatch};
use crate::outcome::Outcome;
use crate::par::Pool;
use crate::planner::Planner;
use crate::vault::approvals::{ApprovalEvent, ApprovalLedger, ApprovalRecord};
use crate::vault::waiting::{Seen, Stamp, Waiting};
use crate::vault::{Item, Stage};
use anyhow::Result;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// An item claimed for planning, with where it is now.
pub struct Claimed {
    pub path: PathBuf,
    pub item: Item,
    /// Left in `In_Progress/` by a run that crashed: keep its plan if it has one.
    pub resumed: bool,
    /// Where this pass claimed it from (None when resumed).
    pub from: Option<PathBuf>,
}

/// An item planned and its rewrite staged, waiting to be moved to its stage: what the
/// ledger, the move and its audit line need of it. Its text is not kept: a batch holds
/// thousands of these.
pub(super) struct Routed {
    path: PathBuf,
    to: Stage,
    /// The approval hash of its actions, computed once.
    hash: String,
    /// Its id, and what the index of waiting requests keeps of it.
    seen: Seen,
    title: String,
    approved_by: String,
    /// The kinds of its actions, for its audit line.
    kinds: Vec<Value>,
}

impl Routed {
    fn new(path: PathBuf, item: &Item, to: Stage, hash: String) -> Routed {
        Routed {
            path,
            to,
            hash,
            seen: Seen::of(item),
            title: item.str("title").to_string(),
            approved_by: item.str("approved_by").to_string(),
            kinds: item
                .actions_ref()
                .iter()
                .map(|a| a.get("kind").cloned().unwrap_or(Value::Null))
                .collect(),
        }
    }

    fn id(&self) -> &str {
        &self.seen.id
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn plan_batch<'env>(
    ctx: &'env Ctx,
    pool: &Pool<'env>,
    planner: &mut dyn Planner,
    guides: &Arc<super::Guides>,
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
    let (prepared, batch) = prepare_all(ctx, pool, planner, guides, claimed);
    finish_batch(ctx, pool, prepared, batch, ledger, waiting, out)
}

/// The rest of a batch once its items are prepared, in their order: commit the staged
/// rewrites, record the requests and policy approvals in the ledger, then move each item
/// to its stage, with its audit line.
pub(super) fn finish_batch<'env>(
    ctx: &'env Ctx,
    pool: &Pool<'env>,
    prepared: Vec<Prepared>,
    batch: WriteBatch,
    ledger: &mut ApprovalLedger,
    waiting: &mut Waiting,
    out: &mut Outcome,
) -> Result<()> {
    let mut routed: Vec<Routed> = Vec::with_capacity(prepared.len());
    for p in prepared {
        match p {
            Prepared::Deferred => out.count("deferred", 1),
            Prepared::Problem { id, message } => out.problem(format!("item:{id}"), message),
            Prepared::Ready { routed: r, planned } => {
                if planned {
                    out.count("planned", 1);
                }
                routed.push(*r);
            }
        }
    }
    fsutil::failpoint("plan:before-write");
    // One item whose rewrite fails is reported and stays; the others go on.
    let results = batch.commit_in(ctx.vault.root(), pool)?;
    let mut kept = Vec::with_capacity(routed.len());
    for (r, res) in routed.into_iter().zip(results) {
        match res {
            Ok(_) => kept.push(r),
            Err(e) => out.problem(
                format!("item:{}", r.id()),
                format!("{e:#}; it waits in `{}`", ctx.vault.rel(&r.path)),
            ),
        }
    }
    let routed = kept;
    fsutil::failpoint("plan:written");
    // The ledger knows of each request and policy approval before the item is moved.
    let records = routed.iter().filter_map(|r| {
        let (event, by) = match &r.to {
            Stage::PendingApproval(_) => (ApprovalEvent::Requested, None),
            Stage::Approved => (ApprovalEvent::Policy, Some(r.approved_by.clone())),
            _ => return None,
        };
        Some(ApprovalRecord {
            by,
            ..ctx.approval(r.id().to_string(), r.hash.clone(), event)
        })
    });
    ledger.append_all(records.collect())?;
    ledger.sync()?;
    fsutil::failpoint("plan:ledger-written");
    // The moves on up to two threads, each with its audit line; what each did is recorded
    // below, in the items' order, and the audit lines written at once.
    let moved = pool.map(routed, move |r| move_routed(ctx, r));
    let mut lines = String::new();
    for m in moved {
        let m = match m {
            Ok(m) => m,
            Err((key, message)) => {
                out.problem(key, message);
                continue;
            }
        };
        if let Some((rel, seen)) = m.waiting {
            waiting.note_seen(rel, seen);
        }
        out.changed = true;
        out.count(m.count, 1);
        out.activity.push(m.activity);
        lines.push_str(&m.audit);
    }
    ctx.audit.write(&lines)?;
    fsutil::sync_fs(ctx.vault.root())?;
    Ok(())
}

/// An item moved to its stage, with what the pass records of it.
struct Moved {
    /// The count it adds to.
    count: &'static str,
    /// Its line in the dashboard's recent activity.
    activity: String,
    /// Its `planned` audit line.
    audit: String,
    /// What the index of waiting requests keeps of it (a request), at its path in the vault.
    waiting: Option<(String, Seen)>,
}

/// Moves a routed item to its stage; the error is a problem (key, message) naming it.
fn move_routed(ctx: &Ctx, r: Routed) -> std::result::Result<Moved, (String, String)> {
    let id = r.id();
    let to = ctx.vault.move_item(&r.path, &r.to).map_err(|e| {
        (
            format!("item:{id}"),
            format!("cannot move `{id}` to `{}`: {e:#}", r.to.rel().display()),
        )
    })?;
    fsutil::failpoint("plan:moved");
    // Known without reading it again, to the next pass and the nudge digest.
    let waiting = match r.to {
        Stage::PendingApproval(_) => Stamp::of_in(ctx.vault.held_root(), &to)
            .map(|stamp| (ctx.vault.rel(&to), r.seen.clone().at(stamp))),
        _ => None,
    };
    let (count, status) = match &r.to {
        Stage::PendingApproval(_) => ("pending_approval", Some("pending")),
        Stage::Approved => ("approved_by_policy", Some("approved")),
        _ => ("done", None),
    };
    // The title is a mail subject or a file name: data, escaped for the Dashboard line.
    let title = crate::dashboard::inline(&r.title);
    let activity = match &r.to {
        Stage::PendingApproval(_) => format!("[[{id}]] waits for approval: {title}"),
        Stage::Approved => format!("[[{id}]] approved by {}", r.approved_by),
        _ => format!("[[{id}]] filed in Done/: {title}"),
    };
    let audit = ctx.audit.line(AuditEvent {
        target: Some(r.to.rel().display().to_string()),
        parameters: serde_json::json!({"actions": r.kinds, "hash": r.hash}),
        approval_status: status.map(str::to_string),
        approved_by: Some(r.approved_by.clone()).filter(|s| !s.is_empty()),
        result: Some("ok".into()),
        ..AuditEvent::new("planned", Some(id))
    });
    Ok(Moved {
        count,
        activity,
        audit,
        waiting,
    })
}

/// What became of one claimed item before the batch's commit.
pub(super) enum Prepared {
    /// Claimed but not planned (past the deadline): it waits in In_Progress/ for the next pass.
    Deferred,
    /// Not planned or not written; it waits where it is.
    Problem { id: String, message: String },
    /// Planned (or kept, when resumed with its plan) and its rewrite staged.
    Ready { routed: Box<Routed>, planned: bool },
}

/// Prepares every claimed item ([`prepare`]), in their order, with the writes staged in one
/// batch in that order. With a planner that can be copied (the template planner) and enough
/// items ([`crate::par`]), the second half is prepared on a second thread: planning and
/// writing are most of a pass, and each item's only depend on that item.
fn prepare_all<'env>(
    ctx: &'env Ctx,
    pool: &Pool<'env>,
    planner: &mut dyn Planner,
    guides: &Arc<super::Guides>,
    claimed: Vec<Claimed>,
) -> (Vec<Prepared>, WriteBatch) {
    let fork = pool.shares(claimed.len()).then(|| planner.fork()).flatten();
    let Some(mut other) = fork else {
        return prepare_each(ctx, planner, guides, claimed);
    };
    let mut first = claimed;
    let second = first.split_off(first.len() / 2);
    let theirs = Arc::clone(guides);
    let rest = pool.spawn(move || prepare_each(ctx, other.as_mut(), &theirs, second));
    let (mut prepared, mut batch) = prepare_each(ctx, planner, guides, first);
    match rest.recv() {
        Ok((more, more_batch)) => {
            prepared.extend(more);
            batch.extend(more_batch);
        }
        Err(_) => {
            batch.abandon();
            panic!("a pass's worker thread panicked while planning");
        }
    }
    (prepared, batch)
}

/// [`prepare`] for each item in turn, staging into one batch.
fn prepare_each(
    ctx: &Ctx,
    planner: &mut dyn Planner,
    guides: &super::Guides,
    claimed: Vec<Claimed>,
) -> (Vec<Prepared>, WriteBatch) {
    let mut batch = WriteBatch::within(ctx.vault.anchor());
    let prepared = claimed
        .into_iter()
        .map(|c| prepare(ctx, planner, guides, c, &mut batch))
        .collect();
    (prepared, batch)
}

/// Plans one claimed item (unless it was resumed with its plan), writes its plan file,
/// decides where it goes and stages its rewrite in `batch`.
pub(super) fn prepare(
    ctx: &Ctx,
    planner: &mut dyn Planner,
    guides: &super::Guides,
    claimed: Claimed,
    batch: &mut WriteBatch,
) -> Prepared {
    let Claimed {
        path,
        mut item,
        resumed,
        ..
    } = claimed;
    let id = item.id().to_string();
    let waits = |e: &dyn std::fmt::Display| Prepared::Problem {
        message: format!("{e}; `{id}` waits in `{}`", ctx.vault.rel(&path)),
        id: id.clone(),
    };
    let already = resumed
        && item.is_planned()
        && item.actions_ref().iter().all(|a| a.contains_key("rule"))
        && ctx.vault.plan_path(item.domain(), &id).exists();
    if !already && ctx.past_deadline() {
        return Prepared::Deferred;
    }
    if !already {
        let input = super::plan_input(ctx, &item, guides);
        let plan = match planner.plan(&input) {
            Ok(p) => p,
            Err(e) => {
                return Prepared::Problem {
                    message: format!(
                        "cannot plan `{id}`: {e:#}; it waits in `{}`",
                        ctx.vault.rel(&path)
                    ),
                    id,
                };
            }
        };
        let plan_text = apply_plan(ctx, &mut item, &plan);
        let plan_path = ctx.vault.plan_path(item.domain(), &id);
        // Written in place: a plan torn by a crash belongs to an item that is still
        // unplanned (its rewrite lands only after the batch's sync), so it is rewritten.
        // A plan file that cannot be written (a link, say) stops this item only.
        if let Err(e) = batch.write_direct(&plan_path, plan_text.as_bytes()) {
            return waits(&format_args!("{e:#}"));
        }
    } else {
        redecide(ctx, &mut item);
    }
    let to = destination(&item);
    set_routing_fields(ctx, &mut item, &to);
    if let Err(e) = batch.stage(&path, item.render().as_bytes()) {
        return waits(&format_args!("{e:#}"));
    }
    let hash = item.actions_hash();
    Prepared::Ready {
        routed: Box::new(Routed::new(path, &item, to, hash)),
        planned: !already,
    }
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
