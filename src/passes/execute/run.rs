//! Runs one approved item's actions in order, each through its executor with the journal
//! around it: intent before the side effect, outcome after; dry-run shows each once.

use super::Fate;
use super::approval::Approval;
use super::record::{DrySeen, Step, append_dry_run, audit_action};
use super::verdict::{Resume, Then, detail_of, resume_of, verdict_of};
use crate::audit::AuditEvent;
use crate::context::Ctx;
use crate::executor::{ActionOutcome, Executors, preview};
use crate::exit::Exit;
use crate::fsutil;
use crate::journal::Journal;
use crate::outcome::Outcome;
use crate::vault::Item;
use crate::vault::item::action_key;
use anyhow::Result;
use serde_json::Value;

fn set_result(item: &mut Item, n: usize, result: &str) {
    let mut actions = item.actions();
    if let Some(a) = actions.get_mut(n) {
        a.insert("result".into(), result.into());
    }
    item.set_actions(actions);
}

#[allow(clippy::too_many_arguments)]
pub(super) fn run_actions(
    ctx: &Ctx,
    executors: &mut Executors,
    journal: &mut Journal,
    seen: &mut DrySeen,
    item: &mut Item,
    approval: &Approval,
    live: bool,
    previews: &mut Vec<(String, String, String)>,
    out: &mut Outcome,
) -> Result<Fate> {
    let id = item.id().to_string();
    // An item with no plan aie reads is not done: nothing of it ran.
    if !item.is_planned() {
        return Ok(Fate::Review(Item::NO_PLAN.to_string()));
    }
    let approved_by = approval.by.as_str();
    let actions = item.actions();
    // The closed list: one unknown kind, or one action whose parameters its kind does not
    // read (an unknown parameter, a wrong type), and nothing of the item runs.
    let refused: Vec<(usize, String, String)> = actions
        .iter()
        .enumerate()
        .filter_map(|(n, a)| {
            let k = crate::actions::kind_of(a).to_string();
            crate::actions::check(a)
                .err()
                .map(|e| (n, k, format!("{e:#}")))
        })
        .collect();
    if !refused.is_empty() {
        for (n, k, why) in &refused {
            set_result(item, *n, "refused");
            ctx.audit.append(AuditEvent {
                parameters: Value::Object(actions[*n].clone()),
                approval_status: Some("approved".into()),
                approved_by: Some(approved_by.to_string()),
                result: Some("refused".into()),
                error: Some(why.clone()),
                ..AuditEvent::new(if k.is_empty() { "unknown" } else { k }, Some(&id))
            })?;
        }
        let list: Vec<String> = refused
            .iter()
            .map(|(n, k, why)| match crate::actions::get(k) {
                None => format!("action {} has kind `{k}`, which aie never runs", n + 1),
                Some(_) => format!("action {}: {why}", n + 1),
            })
            .collect();
        return Ok(Fate::Review(format!(
            "{} (allowed kinds: {})",
            list.join("; "),
            crate::actions::names()
        )));
    }
    // Approved by a policy rule, not by the owner: only the actions the policy lets run
    // (decided afresh, never read from the file) run; the first one that needs the owner
    // turns the item into a request for the rest.
    let allowed = approval
        .by
        .starts_with("policy:")
        .then(|| crate::passes::plan::policy_allows(ctx, item));
    let mut waiting = false;
    for (n, action) in actions.iter().enumerate() {
        let kind = action
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let key = action_key(&id, action);
        let step = Step {
            ctx,
            key: &key,
            item: &id,
            kind: &kind,
        };
        let recorded = action.get("result").and_then(Value::as_str).unwrap_or("");
        match resume_of(recorded, &journal.state(&key), approval.fresh, n, &kind) {
            Resume::Skip => continue,
            Resume::MarkOk => {
                set_result(item, n, "ok");
                continue;
            }
            Resume::Review(note) => return Ok(Fate::Review(note)),
            Resume::Unknown { record, note } => {
                if record {
                    journal.record(
                        step.outcome("unknown", "no outcome recorded: the run stopped mid-action"),
                    )?;
                    fsutil::failpoint("execute:unknown-recorded");
                    audit_action(
                        ctx,
                        &id,
                        action,
                        approved_by,
                        "unknown",
                        Some("the run stopped mid-action: outcome unknown"),
                    )?;
                }
                set_result(item, n, "unknown");
                out.count("unknown", 1);
                return Ok(Fate::Review(note));
            }
            Resume::Run => {}
        }
        if let Some(allowed) = &allowed
            && !allowed.get(n).copied().unwrap_or(false)
        {
            return Ok(Fate::AskOwner(prepared_note(item, n, live)));
        }
        if !live {
            set_result(item, n, "dry_run");
            if seen.insert(&key)? {
                let text = preview(action);
                append_dry_run(ctx, item, &kind, &text)?;
                audit_action(ctx, &id, action, approved_by, "dry_run", None)?;
                previews.push((id.clone(), kind.clone(), text));
                out.activity.push(format!(
                    "[[{id}]] {kind}: dry run, nothing sent (see the item)"
                ));
                out.count("dry_run", 1);
                out.changed = true;
            }
            continue;
        }
        // A post scheduled for later waits in Approved/ until it is due.
        if let Some(at) = crate::actions::read(action)
            .ok()
            .and_then(|typed| typed.not_before())
            && at > ctx.clock.now()
        {
            item.set("status", "scheduled");
            item.set("due", ctx.clock.format(at));
            out.count("scheduled", 1);
            waiting = true;
            break;
        }
        if let Some(limit) = ctx.settings.policy.rate_limits.get(&kind) {
            let since = ctx.clock.now() - chrono::Duration::hours(1);
            if journal.intents_since(&kind, since) >= *limit as usize {
                out.count("rate_limited", 1);
                waiting = true;
                break;
            }
        }
        // A reply that attaches this item's Odoo invoice goes out only with the posted
        // invoice's PDF: until then it waits here, saying why.
        let resolved;
        let action = if kind == "send_email" {
            use crate::connectors::odoo_ledger::{Attach, attach_invoice};
            match attach_invoice(&ctx.settings, &ctx.secrets, ctx.vault.root(), item, action) {
                Attach::Ready(a) => {
                    item.front.swap_remove("waiting");
                    resolved = a;
                    &resolved
                }
                Attach::Wait(why) => {
                    if item.str("waiting") != why {
                        item.set("waiting", why.as_str());
                        out.changed = true;
                    }
                    out.count("waiting_for_invoice", 1);
                    out.activity
                        .push(format!("[[{id}]] send_email waits: {why}"));
                    waiting = true;
                    break;
                }
                Attach::Fail(why) => {
                    out.count("failed", 1);
                    return Ok(Fate::Review(format!(
                        "action {} (`send_email`) was not sent: {why}",
                        n + 1
                    )));
                }
            }
        } else {
            action
        };
        let executor = match executors.get(&kind) {
            Ok(Some(e)) => e,
            Ok(None) => {
                let section = crate::actions::section_of(action)
                    .map(|s| format!("fill in the `{s}:` section of aie.yaml"))
                    .unwrap_or_else(|| "set up its service in aie.yaml".into());
                return Ok(Fate::Review(format!(
                    "action {} (`{kind}`): no connector is set up for it, so nothing was done: {section}, then approve it again",
                    n + 1
                )));
            }
            Err(e) if crate::exit::exit_for(&e) == Exit::Unavailable => {
                // The service is out of reach before anything was sent (a login): the item
                // waits as it is, like an unreachable action.
                out.count("unreachable", 1);
                log::error!(
                    "`{id}` action {} (`{kind}`) waits for the next pass: {e:#}",
                    n + 1
                );
                waiting = true;
                break;
            }
            Err(e) => {
                out.exit = Some(
                    out.exit
                        .unwrap_or(Exit::Ok)
                        .worst(crate::exit::exit_for(&e)),
                );
                out.problem(
                    format!("config:{kind}"),
                    format!("cannot run `{kind}` for `{id}`: {e:#}"),
                );
                waiting = true;
                break;
            }
        };
        journal.record(step.intent())?;
        fsutil::failpoint("execute:intent-written");
        let result = executor.execute(item, action, &key);
        fsutil::failpoint("execute:action-done");
        let verdict = verdict_of(&result, n, &kind);
        let res = verdict.journal;
        let detail = detail_of(&result).to_string();
        journal.record(step.outcome(res, &detail))?;
        if let Some(r) = verdict.result {
            set_result(item, n, r);
        }
        // What the service answered (a post's id and URL) stays with the item and the log.
        let mut logged = action.clone();
        if res == "ok" && !detail.is_empty() && crate::actions::has_side_effect(action) {
            let mut said: Vec<Value> = match item.front.get("outcomes") {
                Some(Value::Array(l)) => l.clone(),
                _ => Vec::new(),
            };
            said.push(Value::String(format!("action {}: {detail}", n + 1)));
            item.set("outcomes", Value::Array(said));
            logged.insert("outcome".into(), Value::String(detail.clone()));
        }
        audit_action(
            ctx,
            &id,
            &logged,
            approved_by,
            res,
            (res != "ok").then_some(detail.as_str()),
        )?;
        out.changed = true;
        out.count(verdict.count, 1);
        match &result {
            ActionOutcome::Ok(_) => out.activity.push(format!("[[{id}]] {kind}: done")),
            // Not a problem of this item: the pass reports the service (exit 69).
            ActionOutcome::Unreachable(d) => log::error!(
                "`{id}` action {} (`{kind}`) waits for the next pass: {d}",
                n + 1
            ),
            ActionOutcome::Retry(d) => out.problem(
                format!("item:{id}"),
                format!(
                    "`{id}` action {} (`{kind}`) will be tried again next pass: {d}",
                    n + 1
                ),
            ),
            ActionOutcome::Failed(_) | ActionOutcome::Unknown(_) => {}
        }
        match verdict.then {
            Then::Next => {}
            Then::Wait => {
                waiting = true;
                break;
            }
            Then::Review(note) => return Ok(Fate::Review(note)),
        }
    }
    Ok(if live && !waiting {
        Fate::Done
    } else {
        Fate::Stays
    })
}

/// What the owner reads on a request whose first `n` actions the policy ran: what was done,
/// and from which action on their approval is needed.
fn prepared_note(item: &Item, n: usize, live: bool) -> String {
    let done: Vec<String> = item.actions_ref()[..n]
        .iter()
        .enumerate()
        .filter(|(_, a)| crate::actions::has_side_effect(a))
        .map(|(i, a)| format!("action {} (`{}`)", i + 1, crate::actions::kind_of(a)))
        .collect();
    let how = if live { "did" } else { "ran as a dry run" };
    format!(
        "aie {how} what its policy allows without you ({}); action {} and after need your approval",
        done.join(", "),
        n + 1
    )
}
