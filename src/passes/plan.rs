//! The planning pass: claim unplanned items by moving them into `In_Progress/<agent>/`
//! (resuming any a crashed run left there), ask the planner for actions, let the policy
//! decide each, write `Plans/<domain>/<id>.plan.md`, record the request or the policy
//! approval in the ledger, and route the item to `Pending_Approval/<domain>/`, `Approved/`
//! or `Done/`. Also moves expired requests to `Rejected/`, and keeps each waiting request's
//! `summary:` true to its actions.

use crate::audit::AuditEvent;
use crate::clock::parse_time;
use crate::context::Ctx;
use crate::executor::preview;
use crate::fsutil::{self, WriteBatch};
use crate::grounding;
use crate::outcome::Outcome;
use crate::planner::{Plan, PlanInput, Planner};
use crate::policy::Origin;
use crate::vault::approvals::{ApprovalEvent, ApprovalLedger, ApprovalRecord, Standing};
use crate::vault::{Item, Stage};
use anyhow::Result;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// How many items are planned and synced together.
const BATCH: usize = 2048;

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

/// One planning pass.
pub fn plan_pass(ctx: &Ctx, planner: &mut dyn Planner) -> Result<Outcome> {
    let mut out = Outcome::default();
    let mut ledger = ApprovalLedger::new(&ctx.vault.aie_dir(), &ctx.vault.logs());
    review_requests(ctx, &mut ledger, &mut out)?;
    if ctx.settings.policy.replan_rejected {
        crate::passes::replan::requeue_rejected(ctx, &mut out)?;
    }
    let handbook = read_guide(ctx, "Company_Handbook.md", &mut out);
    let goals = read_guide(ctx, "Business_Goals.md", &mut out);

    let mine = Stage::InProgress(ctx.agent.clone());
    let mut queue: Vec<PathBuf> = ctx.vault.list(&mine)?;
    let resumed = queue.len();
    for stage in ctx.vault.stages() {
        if let Stage::NeedsAction(_) = stage {
            queue.extend(ctx.vault.list(&stage)?);
        }
    }
    let mut pending: Vec<Claimed> = Vec::new();
    for (i, path) in queue.into_iter().enumerate() {
        if ctx.past_deadline() {
            out.count("deferred", 1);
            continue;
        }
        let rel = ctx.vault.rel(&path);
        let Some(item) = ctx.vault.read_for_pass(&path, &mut out) else {
            continue;
        };
        let from = (i >= resumed).then(|| path.clone());
        let path = if i < resumed {
            out.count("resumed", 1);
            path
        } else {
            match ctx.vault.move_item(&path, &mine) {
                Ok(p) => {
                    fsutil::failpoint("plan:claimed");
                    p
                }
                Err(e) => {
                    // Another agent took it first, or the folder is read-only.
                    out.problem(
                        format!("item:{rel}"),
                        format!("cannot claim `{rel}`: {e:#}"),
                    );
                    continue;
                }
            }
        };
        pending.push(Claimed {
            path,
            item,
            resumed: i < resumed,
            from,
        });
        if pending.len() >= BATCH {
            plan_batch(
                ctx,
                planner,
                &handbook,
                &goals,
                std::mem::take(&mut pending),
                &mut ledger,
                &mut out,
            )?;
        }
    }
    plan_batch(
        ctx,
        planner,
        &handbook,
        &goals,
        pending,
        &mut ledger,
        &mut out,
    )?;
    ctx.audit.sync()?;
    out.summary = match out.counts_line() {
        l if l.is_empty() => String::new(),
        l => format!("plan: {l}"),
    };
    out.json = serde_json::json!({"job": "plan"});
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
pub fn plan_batch(
    ctx: &Ctx,
    planner: &mut dyn Planner,
    handbook: &str,
    goals: &str,
    claimed: Vec<Claimed>,
    ledger: &mut ApprovalLedger,
    out: &mut Outcome,
) -> Result<()> {
    let claimed = confirm_claims(ctx, claimed, out)?;
    if claimed.is_empty() {
        return Ok(());
    }
    let wa_template = ctx
        .settings
        .whatsapp
        .as_ref()
        .and_then(|w| w.reply_template.as_deref());
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
            let input = PlanInput {
                item: &item,
                owner: &ctx.settings.owner,
                handbook,
                goals,
                now: Some(ctx.clock.now()),
                whatsapp_template: wa_template,
            };
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

/// `plan --dry-run`: plans every unplanned item in memory and reports where each would go
/// and under which rules. Claims, writes and moves nothing (nor expires anything).
pub fn preview_pass(ctx: &Ctx, planner: &mut dyn Planner) -> Result<Outcome> {
    let mut out = Outcome::default();
    let handbook = read_guide(ctx, "Company_Handbook.md", &mut out);
    let goals = read_guide(ctx, "Business_Goals.md", &mut out);
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
            let input = PlanInput {
                item: &item,
                owner: &ctx.settings.owner,
                handbook: &handbook,
                goals: &goals,
                now: Some(ctx.clock.now()),
                whatsapp_template: ctx
                    .settings
                    .whatsapp
                    .as_ref()
                    .and_then(|w| w.reply_template.as_deref()),
            };
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

/// The text of a guide the planner reads (`Company_Handbook.md`, `Business_Goals.md`), or
/// "" when it is missing. One that is a symbolic link is never read (its target would go to
/// the planner): a problem names it.
pub fn read_guide(ctx: &Ctx, name: &str, out: &mut Outcome) -> String {
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

/// Where a planned item goes: Done when every action is a note (or there is none),
/// Pending_Approval when any action needs a human, Approved otherwise.
fn destination(item: &Item) -> Stage {
    let actions = item.actions_ref();
    if actions
        .iter()
        .all(|a| a.get("kind").and_then(Value::as_str) == Some("note"))
    {
        return Stage::Done;
    }
    let needs = actions
        .iter()
        .any(|a| a.get("needs_approval").and_then(Value::as_bool) != Some(false));
    if needs {
        Stage::PendingApproval(item.domain().to_string())
    } else {
        Stage::Approved
    }
}

/// What the policy needs to know of an item's origin, owned (the item is rewritten while
/// its actions are decided).
struct OwnedOrigin {
    source: String,
    platform: String,
    post_text: String,
    sender: String,
    sender_authenticated: bool,
}

impl OwnedOrigin {
    fn of(item: &Item) -> OwnedOrigin {
        OwnedOrigin {
            source: item.str("source").to_string(),
            platform: item.str("platform").to_string(),
            post_text: item.str("post_text").to_string(),
            // Written by intake and poll-gmail from what they verified, never from the mail.
            sender: item.str("sender").to_string(),
            sender_authenticated: item
                .front
                .get("sender_authenticated")
                .and_then(Value::as_bool)
                == Some(true),
        }
    }

    fn origin(&self) -> Origin<'_> {
        Origin {
            source: &self.source,
            calendar_post: self
                .source
                .starts_with("calendar:")
                .then_some((self.platform.as_str(), self.post_text.as_str())),
            sender: Some(self.sender.as_str()).filter(|s| !s.is_empty()),
            sender_authenticated: self.sender_authenticated,
        }
    }
}

/// Lets the policy decide one action: whatever a planner, or the file, said about approval
/// is discarded first.
fn decide_into(
    ctx: &Ctx,
    origin: &Origin,
    facts: &grounding::ItemFacts,
    a: &mut Map<String, Value>,
) -> crate::policy::Decision {
    a.shift_remove("needs_approval");
    a.shift_remove("rule");
    a.shift_remove("result");
    let d = grounding::decide_for_item(&ctx.settings.policy, origin, a, facts);
    a.insert("needs_approval".into(), d.needs_approval.into());
    a.insert("rule".into(), d.rule.into());
    d
}

/// Decides every action of an already planned item afresh (an item resumed from
/// `In_Progress/` is routed by the policy's verdict, never by flags read from its file).
fn redecide(ctx: &Ctx, item: &mut Item) {
    let owned = OwnedOrigin::of(item);
    let origin = owned.origin();
    let facts = grounding::ItemFacts::of(item, ctx.settings.owner.email.as_deref());
    let mut actions = item.actions();
    for a in &mut actions {
        decide_into(ctx, &origin, &facts, a);
    }
    item.set_actions(actions);
}

/// Writes the plan's actions (with the policy's decisions) into the item; returns the
/// plan file's text.
fn apply_plan(ctx: &Ctx, item: &mut Item, plan: &Plan) -> String {
    let owned = OwnedOrigin::of(item);
    let origin = owned.origin();
    let facts = grounding::ItemFacts::of(item, ctx.settings.owner.email.as_deref());
    let mut actions: Vec<Map<String, Value>> = Vec::new();
    let mut lines = Vec::new();
    for (n, p) in plan.proposals.iter().enumerate() {
        let mut a = p.action.clone();
        let d = decide_into(ctx, &origin, &facts, &mut a);
        let kind = a
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        lines.push(format!(
            "### {}. `{kind}`\n\n{}\n\nPolicy: {} (rule `{}`).\n\n```\n{}\n```\n",
            n + 1,
            p.why,
            if d.needs_approval {
                "needs your approval"
            } else {
                "runs without approval"
            },
            d.rule,
            preview(&a)
        ));
        actions.push(a);
    }
    item.set_actions(actions);
    item.set("planned", ctx.clock.stamp());
    item.set("planner", plan.planner.as_str());
    if let Some(t) = plan.tokens {
        item.set("llm_tokens", t);
    }
    let id = item.id().to_string();
    let mut text = format!(
        "---\nitem: {id}\nplanner: {}\ncreated: {}\n---\n# Plan for [[{id}]]\n\n## Objective\n{}\n\n## Steps\n",
        plan.planner,
        ctx.clock.stamp(),
        plan.objective
    );
    for s in &plan.steps {
        text.push_str(&format!("- [ ] {s}\n"));
    }
    if let Some(r) = &plan.fallback_reason {
        text.push_str(&format!(
            "\n## Fallback\nThe template planner wrote this plan because: {r}\n"
        ));
    }
    if let Some(t) = plan.tokens {
        text.push_str(&format!("\nTokens used: {t}\n"));
    }
    text.push_str("\n## Proposed actions\n\n");
    text.push_str(&lines.join("\n"));
    text
}

/// Sets status, approval and expiry fields for the stage the item goes to.
fn set_routing_fields(ctx: &Ctx, item: &mut Item, to: &Stage) {
    item.set("status", to.status());
    match to {
        Stage::PendingApproval(_) => {
            item.set("requested", ctx.clock.stamp());
            item.set("expires", ctx.approval_expiry());
            item.set("summary", summary(item));
            item.body = crate::vault::approval_box::with_boxes(&item.body);
        }
        Stage::Approved => {
            item.set("approved_by", policy_by(item));
        }
        Stage::Done => {
            let mut actions = item.actions();
            for a in &mut actions {
                a.insert("result".into(), "ok".into());
            }
            item.set_actions(actions);
        }
        _ => {}
    }
}

/// `policy:<rule>` for an item the policy approved: the rule of its first real action.
fn policy_by(item: &Item) -> String {
    let rule = item
        .actions_ref()
        .iter()
        .filter(|a| a.get("kind").and_then(Value::as_str) != Some("note"))
        .find_map(|a| a.get("rule").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| "note".into());
    format!("policy:{rule}")
}

/// The `policy:<rule>` under which the policy alone, deciding every action of `item` afresh
/// on the item's data (never on flags in its file), lets all of them run; `None` when any
/// needs a human or there is none. For an item in `Approved/` this agent holds no proof for.
pub fn policy_approval(ctx: &Ctx, item: &Item) -> Option<String> {
    let mut probe = item.clone();
    redecide(ctx, &mut probe);
    let actions = probe.actions();
    let allowed = !actions.is_empty()
        && actions
            .iter()
            .all(|a| a.get("needs_approval").and_then(Value::as_bool) == Some(false));
    allowed.then(|| policy_by(&probe))
}

/// A plain-language summary of exactly what will happen: every recipient (to, cc, bcc),
/// attachment, amount and platform of every action. The owner approves what it says, so it
/// is rebuilt from the actions whenever aie writes a request or sees one edited.
pub fn summary(item: &Item) -> String {
    let parts: Vec<String> = item
        .actions_ref()
        .iter()
        .map(|a| {
            let needs = if a.get("needs_approval").and_then(Value::as_bool) == Some(false) {
                ""
            } else {
                " [needs approval]"
            };
            let kind = crate::actions::kind_of(a);
            let what = match crate::actions::get(kind) {
                None => format!("`{kind}` (not an action aie runs: it will be refused)"),
                Some(k) => match k.check(a) {
                    Ok(()) => k.summary(a),
                    Err(e) => format!("{} (it will be refused: {e:#})", k.summary(a)),
                },
            };
            format!("{what}{needs}")
        })
        .collect();
    format!("If approved, aie will {}.", parts.join("; then "))
}

/// Looks at every request waiting in `Pending_Approval/`: one whose `expires` has passed
/// moves to `Rejected/` with the reason (a refusal: approving it again needs a new
/// request); for the others, the `summary:` is rebuilt from the actions when the owner (or
/// anyone) edited them, and a request this agent holds no open record of (drafted by the
/// other agent, or returned by a pass that stopped before recording it) is recorded as
/// this agent's request of exactly what it saw waiting.
///
/// A request found with nothing to do is remembered by its file's name, inode, change and
/// modification times and size (`.aie/review-seen.json`), with its `expires`: while all of
/// them stay the same and it has not expired, it is not read again (10,000 waiting requests
/// cost a second a pass). Disk times are only compared with disk times.
fn review_requests(ctx: &Ctx, ledger: &mut ApprovalLedger, out: &mut Outcome) -> Result<()> {
    let now = ctx.clock.now();
    let mut moved = false;
    let seen_path = ctx.vault.aie_dir().join("review-seen.json");
    let seen = ReviewSeen::load(&seen_path);
    let mut still = ReviewSeen::default();
    for stage in ctx.vault.stages() {
        let Stage::PendingApproval(domain) = &stage else {
            continue;
        };
        for path in ctx.vault.list(&stage)? {
            let key = ctx.vault.rel(&path);
            let stamp = FileStamp::of(&path);
            if let Some(stamp) = &stamp
                && let Some((was, expires)) = seen.0.get(&key)
                && was == stamp
                && parse_time(expires).is_none_or(|t| t > now)
            {
                still.0.insert(key, (stamp.clone(), expires.clone()));
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
                let remember = |still: &mut ReviewSeen, item: &Item| {
                    if let Some(s) = FileStamp::of(&path) {
                        still
                            .0
                            .insert(key.clone(), (s, item.str("expires").to_string()));
                    }
                };
                let want = summary(&item);
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
                remember(&mut still, &item);
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
    if still != seen {
        // A lost write only costs a full read next pass.
        let _ = serde_json::to_vec(&still.0)
            .map_err(anyhow::Error::from)
            .and_then(|b| fsutil::write_atomic(&seen_path, &b));
    }
    if moved {
        ledger.sync()?;
        fsutil::sync_fs(ctx.vault.root())?;
    }
    Ok(())
}

/// What identifies a file's version on disk without reading it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct FileStamp {
    ino: u64,
    ctime: (i64, i64),
    mtime: (i64, i64),
    size: u64,
}

impl FileStamp {
    fn of(path: &std::path::Path) -> Option<FileStamp> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::symlink_metadata(path).ok()?;
        Some(FileStamp {
            ino: m.ino(),
            ctime: (m.ctime(), m.ctime_nsec()),
            mtime: (m.mtime(), m.mtime_nsec()),
            size: m.size(),
        })
    }
}

/// Requests found with nothing to do: file (relative to the vault) -> its stamp and `expires`.
#[derive(Debug, Default, PartialEq)]
struct ReviewSeen(std::collections::BTreeMap<String, (FileStamp, String)>);

impl ReviewSeen {
    fn load(path: &std::path::Path) -> ReviewSeen {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .map(ReviewSeen)
            .unwrap_or_default()
    }
}
