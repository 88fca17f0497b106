//! The planning pass: claim unplanned items by moving them into `In_Progress/<agent>/`
//! (resuming any a crashed run left there), ask the planner for actions, let the policy
//! decide each, write `Plans/<domain>/<id>.plan.md`, record the request or the policy
//! approval in the ledger, and route the item to `Pending_Approval/<domain>/`, `Approved/`
//! or `Done/`. Also moves expired requests to `Rejected/`, and keeps each waiting request's
//! `summary:` true to its actions.
//!
//! Here: the claim loop and the dry-run preview. `batch` plans, writes, records and moves
//! a batch of claimed items; `route` holds the policy's routing and the owner's summary;
//! `review` looks after the requests already waiting.

mod batch;
mod pipeline;
mod review;
mod route;

pub use batch::Claimed;
use review::review_requests;
use route::{apply_plan, destination};
pub use route::{policy_allows, policy_approval, summary};

use crate::context::Ctx;
use crate::fsutil;
use crate::outcome::Outcome;
use crate::par::Pool;
use crate::planner::{PlanInput, Planner};
use crate::vault::Stage;
use crate::vault::approvals::ApprovalLedger;
use crate::vault::waiting::Waiting;
use anyhow::Result;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// How many items are planned and synced together.
const BATCH: usize = 2048;

/// [`BATCH`], or, in a debug build, `AIE_PLAN_BATCH`: tests see several batches with a few
/// items.
fn batch_size() -> usize {
    let set = cfg!(debug_assertions)
        .then(|| std::env::var("AIE_PLAN_BATCH").ok()?.parse().ok())
        .flatten();
    set.filter(|&n: &usize| n > 0).unwrap_or(BATCH)
}

/// One planning pass, with the index of the requests it saw waiting and wrote, for the
/// nudge digest that follows it; the caller saves the index ([`Waiting::save`]), while
/// the digest reads it.
pub fn plan_pass_seeing(ctx: &Ctx, planner: &mut dyn Planner) -> Result<(Outcome, Waiting)> {
    crate::passes::sync::refuse_while_unchecked(ctx, "plan")?;
    let mut out = Outcome::default();
    let mut ledger = ApprovalLedger::new(&ctx.vault.aie_dir(), &ctx.vault.logs());
    let waiting = review_requests(ctx, &mut ledger, &mut out)?;
    if ctx.settings.policy.replan_rejected {
        crate::passes::replan::requeue_rejected(ctx, &mut out)?;
    }
    let guides = Guides::read(ctx, &mut out);
    let mut run = PlanRun::new(guides, ledger, waiting);

    let mine = Stage::InProgress(ctx.agent.clone());
    let mut queue: Vec<PathBuf> = ctx.vault.list(&mine)?;
    let resumed = queue.len();
    for stage in ctx.vault.stages() {
        if let Stage::NeedsAction(_) = stage {
            queue.extend(ctx.vault.list(&stage)?);
        }
    }
    let queue: Vec<(usize, PathBuf)> = queue.into_iter().enumerate().collect();
    let mine = &mine;
    // Without a remote, a claim needs no one's word (`passes::claims`), so a batch's items
    // can be claimed and planned in one step, and the next batch begun while one is
    // finished (`pipeline`). With one, every claim of a batch is confirmed before any is
    // planned. A few items, or one core, keep the steps below on one thread.
    let size = batch_size();
    Pool::with(|pool| -> Result<()> {
        if pool.shares(queue.len())
            && planner.fork().is_some()
            && !crate::passes::claims::need_the_remote(ctx)
        {
            let mut rest = queue.into_iter();
            let batches = std::iter::from_fn(|| {
                Some(rest.by_ref().take(size).collect::<Vec<_>>()).filter(|b| !b.is_empty())
            })
            .collect();
            return pipeline::plan_pipelined(
                ctx, pool, planner, &mut run, mine, resumed, batches, &mut out,
            );
        }
        // In batches: each is claimed (its items read and moved on two threads, where the
        // machine has two cores), then planned, written, recorded and moved before the next.
        let mut queue = queue.into_iter();
        loop {
            let chunk: Vec<(usize, PathBuf)> = queue.by_ref().take(size).collect();
            if chunk.is_empty() {
                return Ok(());
            }
            let mut pending: Vec<Claimed> = Vec::with_capacity(chunk.len());
            let claims = pool.map(chunk, move |(i, path)| claim(ctx, mine, i < resumed, path));
            for (claimed, part) in claims {
                out.absorb(part);
                pending.extend(claimed);
            }
            run.plan_batch_in(ctx, pool, planner, pending, &mut out)?;
        }
    })?;
    let waiting = run.finish(ctx)?;
    out.summary = match out.counts_line() {
        l if l.is_empty() => String::new(),
        l => format!("plan: {l}"),
    };
    out.json = serde_json::json!({"job": "plan"});
    Ok((out, waiting))
}

/// Reads the item at `path` and claims it (moves it into `mine`), unless it was `resumed`
/// there. What went wrong is in the returned outcome; the item then stays where it is.
fn claim(ctx: &Ctx, mine: &Stage, resumed: bool, path: PathBuf) -> (Option<Claimed>, Outcome) {
    let mut out = Outcome::default();
    if ctx.past_deadline() {
        out.count("deferred", 1);
        return (None, out);
    }
    let Some(item) = ctx.vault.read_for_pass(&path, &mut out) else {
        return (None, out);
    };
    if resumed {
        out.count("resumed", 1);
        let claimed = Claimed {
            path,
            item,
            resumed,
            from: None,
        };
        return (Some(claimed), out);
    }
    match ctx.vault.move_item(&path, mine) {
        Ok(p) => {
            fsutil::failpoint("plan:claimed");
            let claimed = Claimed {
                path: p,
                item,
                resumed,
                from: Some(path),
            };
            (Some(claimed), out)
        }
        Err(e) => {
            // Another agent took it first, or the folder is read-only.
            let rel = ctx.vault.rel(&path);
            out.problem(
                format!("item:{rel}"),
                format!("cannot claim `{rel}`: {e:#}"),
            );
            (None, out)
        }
    }
}

/// `plan --dry-run`: plans every unplanned item in memory and reports where each would go
/// and under which rules. Claims, writes and moves nothing (nor expires anything).
pub fn preview_pass(ctx: &Ctx, planner: &mut dyn Planner) -> Result<Outcome> {
    let mut out = Outcome::default();
    let guides = Guides::read(ctx, &mut out);
    let mut lines = Vec::new();
    let mut previews = Vec::new();
    for stage in ctx.vault.stages() {
        let Stage::NeedsAction(_) = stage else {
            continue;
        };
        for path in ctx.vault.list(&stage)? {
            if ctx.past_deadline() {
                out.count("deferred", 1);
                continue;
            }
            let rel = ctx.vault.rel(&path);
            let Some(mut item) = ctx.vault.read_for_pass(&path, &mut out) else {
                continue;
            };
            let input = plan_input(ctx, &item, &guides);
            let plan = match planner.plan(&input) {
                Ok(p) => p,
                Err(e) => {
                    out.problem(format!("item:{rel}"), format!("cannot plan `{rel}`: {e:#}"));
                    continue;
                }
            };
            apply_plan(ctx, &mut item, &plan);
            let to = destination(&item);
            out.count("would_plan", 1);
            let rules: Vec<String> = item
                .actions()
                .iter()
                .map(|a| {
                    format!(
                        "{} ({}{})",
                        a.get("kind").and_then(Value::as_str).unwrap_or("?"),
                        if a.get("needs_approval").and_then(Value::as_bool) == Some(false) {
                            ""
                        } else {
                            "needs approval, "
                        },
                        a.get("rule").and_then(Value::as_str).unwrap_or("?")
                    )
                })
                .collect();
            lines.push(format!(
                "{rel} -> {}: {}",
                to.rel().display(),
                rules.join(", ")
            ));
            previews.push(serde_json::json!({
                "item": item.id(),
                "from": rel,
                "to": to.rel().display().to_string(),
                "actions": item.actions(),
            }));
        }
    }
    out.summary = if lines.is_empty() {
        String::new()
    } else {
        format!("plan (dry-run: nothing was written):\n{}", lines.join("\n"))
    };
    out.json = serde_json::json!({"job": "plan", "dry_run": true, "items": previews});
    Ok(out)
}

/// What a planner is given for `item`: the owner, the guides, the pinned clock and the
/// WhatsApp reply template, as every planner (the plan pass, `plan --dry-run`, MCP's
/// prompt) sees them.
pub fn plan_input<'a>(
    ctx: &'a Ctx,
    item: &'a crate::vault::Item,
    guides: &'a Guides,
) -> PlanInput<'a> {
    PlanInput {
        item,
        owner: &ctx.settings.owner,
        handbook: &guides.handbook,
        goals: &guides.goals,
        now: Some(ctx.clock.now()),
        whatsapp_template: ctx
            .settings
            .whatsapp
            .as_ref()
            .and_then(|w| w.reply_template.as_deref()),
    }
}

/// The owner's guides a planner reads: `Company_Handbook.md` and `Business_Goals.md`.
pub struct Guides {
    pub handbook: String,
    pub goals: String,
}

impl Guides {
    /// Reads both guides; one that is missing reads as "". One that is a symbolic link is
    /// never read (its target would go to the planner): a problem in `out` names it.
    pub fn read(ctx: &Ctx, out: &mut Outcome) -> Guides {
        Guides {
            handbook: read_guide(ctx, "Company_Handbook.md", out),
            goals: read_guide(ctx, "Business_Goals.md", out),
        }
    }
}

fn read_guide(ctx: &Ctx, name: &str, out: &mut Outcome) -> String {
    match fsutil::read_vault_file(ctx.vault.root(), &ctx.vault.root().join(name)) {
        Ok(bytes) => bytes
            .map(|b| String::from_utf8_lossy(&b).to_string())
            .unwrap_or_default(),
        Err(e) => {
            out.problem(
                format!("file:{name}"),
                format!("{e:#}: planning goes on without it"),
            );
            String::new()
        }
    }
}

/// What the batches of one planning run share: the guides, the approval ledger and the
/// index of waiting requests (the plan pass, and MCP's `propose_plan` for one item).
pub struct PlanRun {
    guides: Arc<Guides>,
    ledger: ApprovalLedger,
    waiting: Waiting,
}

impl PlanRun {
    pub fn new(guides: Guides, ledger: ApprovalLedger, waiting: Waiting) -> PlanRun {
        PlanRun {
            guides: Arc::new(guides),
            ledger,
            waiting,
        }
    }

    /// Plans, writes, records and moves a batch of claimed items ([`batch`]), on this
    /// thread.
    pub fn plan_batch(
        &mut self,
        ctx: &Ctx,
        planner: &mut dyn Planner,
        claimed: Vec<Claimed>,
        out: &mut Outcome,
    ) -> Result<()> {
        self.plan_batch_in(ctx, &Pool::none(), planner, claimed, out)
    }

    /// [`PlanRun::plan_batch`], sharing the work with `pool`'s worker.
    pub fn plan_batch_in<'env>(
        &mut self,
        ctx: &'env Ctx,
        pool: &Pool<'env>,
        planner: &mut dyn Planner,
        claimed: Vec<Claimed>,
        out: &mut Outcome,
    ) -> Result<()> {
        batch::plan_batch(
            ctx,
            pool,
            planner,
            &self.guides,
            claimed,
            &mut self.ledger,
            &mut self.waiting,
            out,
        )
    }

    /// Syncs the audit log: the run is over. Returns the index of waiting requests, for
    /// the caller to save.
    pub fn finish(self, ctx: &Ctx) -> Result<Waiting> {
        ctx.audit.sync()?;
        Ok(self.waiting)
    }
}
