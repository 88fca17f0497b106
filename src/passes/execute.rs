//! The execution pass over `Approved/`. Nothing runs that this agent's own approval record
//! (`.aie/approvals.jsonl`, never the synced trail) cannot account for: an item aie never
//! sent for approval nor approved by policy, whose request expired, or whose actions changed
//! after aie first saw it approved, goes back to `Pending_Approval/<domain>/` with a
//! `review:` note. An action whose file records `result: ok` never runs again; one that
//! ended otherwise runs again only on the owner's fresh approval. Each action runs through its executor with the journal around it: the
//! intent is durable before the side effect, the outcome after. An intent with no outcome
//! (a crash mid-action) is never retried blindly: the item returns for review. In dry-run an
//! action's full content is shown once per action identity and the item stays.

use crate::audit::AuditEvent;
use crate::context::{Ctx, Mode};
use crate::executor::{ActionOutcome, Executors, preview};
use crate::exit::Exit;
use crate::fsutil;
use crate::journal::{Journal, JournalEntry, KeyState};
use crate::outcome::Outcome;
use crate::vault::approvals::{ApprovalEvent, ApprovalLedger, ApprovalRecord, Standing};
use crate::vault::item::action_key;
use crate::vault::{Item, Stage};
use anyhow::Result;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Keys of actions whose dry-run preview was already shown (`.aie/dry_run_seen`).
struct DrySeen {
    path: PathBuf,
    keys: HashSet<String>,
}

impl DrySeen {
    fn load(aie_dir: &Path) -> DrySeen {
        let path = aie_dir.join("dry_run_seen");
        let keys = std::fs::read_to_string(&path)
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default();
        DrySeen { path, keys }
    }

    /// Records a key; true when it is new.
    fn insert(&mut self, key: &str) -> Result<bool> {
        if self.keys.contains(key) {
            return Ok(false);
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        crate::fsutil::fault(crate::fsutil::Io::Write)?;
        f.write_all(format!("{key}\n").as_bytes())?;
        self.keys.insert(key.to_string());
        Ok(true)
    }
}

/// Results in an item's file that say an action ended without success: it runs again only
/// after the owner approves it again.
const FINAL_RESULTS: &[&str] = &["failed", "refused", "unknown"];

/// What became of one item in this pass.
enum Fate {
    /// Every action is done: to `Done/`.
    Done,
    /// Back to `Pending_Approval/` with this note.
    Review(String),
    /// Stays in `Approved/` (dry-run, rate limit, retry later, deadline).
    Stays,
}

/// One execution pass.
pub fn execute_pass(ctx: &Ctx, executors: &mut Executors, dry_run_flag: bool) -> Result<Outcome> {
    let mut out = Outcome {
        json: serde_json::json!({"job": "execute-approved"}),
        ..Outcome::default()
    };
    if ctx.mode == Mode::DraftOnly {
        out.summary =
            "execute-approved: this agent is draft_only: it never executes actions".into();
        return Ok(out);
    }
    // A ticked box is a move into Approved/ (or Rejected/): make it, then the gate decides.
    crate::passes::decide::apply_ticks(ctx, &mut out)?;
    let items = ctx.vault.list(&Stage::Approved)?;
    if items.is_empty() {
        return Ok(out);
    }
    let live = ctx.live(dry_run_flag);
    let mut ledger = ApprovalLedger::new(&ctx.vault.aie_dir(), &ctx.vault.logs());
    let mut journal = Journal::open(&ctx.vault.aie_dir())?;
    let mut seen = DrySeen::load(&ctx.vault.aie_dir());
    let mut previews = Vec::new();
    for path in items {
        if ctx.past_deadline() {
            out.count("deferred", 1);
            continue;
        }
        let rel = ctx.vault.rel(&path);
        let Some((mut item, held)) = ctx.vault.read_held_for_pass(&path, &mut out) else {
            continue;
        };
        let mut pass = Pass {
            ledger: &mut ledger,
            journal: &mut journal,
            seen: &mut seen,
            previews: &mut previews,
            live,
        };
        // One item's failure is reported and skipped: the rest of the pass goes on.
        if let Err(e) = execute_one(ctx, executors, &mut pass, &path, held, &mut item, &mut out) {
            out.problem(
                format!("item:{rel}"),
                format!("`{rel}`: {e:#}; the rest of the pass went on"),
            );
        }
    }
    ctx.audit.sync()?;
    // A service that could not be reached, and nothing else happened: exit 69.
    let count = |k: &str| out.counts.get(k).copied().unwrap_or(0);
    if count("unreachable") > 0
        && [
            "executed",
            "done",
            "returned_for_review",
            "failed",
            "unknown",
            "dry_run",
            "retry_later",
        ]
        .iter()
        .all(|k| count(k) == 0)
    {
        out.exit = Some(out.exit.unwrap_or(Exit::Ok).worst(Exit::Unavailable));
    }
    let mut summary = match out.counts_line() {
        l if l.is_empty() => String::new(),
        l => format!(
            "execute-approved{}: {l}\n",
            if live { "" } else { " (dry-run)" }
        ),
    };
    for (id, kind, text) in &previews {
        summary.push_str(&format!(
            "\n--- {id}: {kind} (dry-run: not sent) ---\n{text}\n"
        ));
    }
    out.summary = summary;
    out.json = serde_json::json!({
        "job": "execute-approved",
        "dry_run": !live,
        "previews": previews.iter().map(|(id, kind, text)| serde_json::json!({"item": id, "kind": kind, "content": text})).collect::<Vec<_>>(),
    });
    Ok(out)
}

/// What every item of a pass shares.
struct Pass<'a> {
    ledger: &'a mut ApprovalLedger,
    journal: &'a mut Journal,
    seen: &'a mut DrySeen,
    previews: &'a mut Vec<(String, String, String)>,
    live: bool,
}

/// Runs one item read from `path` (the file `held`) and files it by its fate. The item is
/// rewritten and moved only while `path` is still the file read: when someone (the owner)
/// moved it away or replaced it meanwhile, their decision stands, and what ran is reported
/// (the journal and the audit log have each action's outcome).
fn execute_one(
    ctx: &Ctx,
    executors: &mut Executors,
    pass: &mut Pass,
    path: &Path,
    held: fsutil::FileId,
    item: &mut Item,
    out: &mut Outcome,
) -> Result<()> {
    let rel = ctx.vault.rel(path);
    let id = item.id().to_string();
    let before = item.render();
    let (fate, approved_by) = match check_approval(ctx, pass.ledger, pass.journal, item)? {
        Err(note) => (Fate::Review(note), None),
        Ok(approval) => {
            let fate = run_actions(
                ctx,
                executors,
                pass.journal,
                pass.seen,
                item,
                &approval,
                pass.live,
                pass.previews,
                out,
            )?;
            (fate, Some(approval.by))
        }
    };
    match fate {
        Fate::Done => {
            item.set("status", "done");
            item.set("completed", ctx.clock.stamp());
            if let Some(by) = &approved_by {
                item.front
                    .entry("approved_by")
                    .or_insert_with(|| Value::String(by.clone()));
            }
            let held = fsutil::rewrite_held(path, held, item.render().as_bytes())?;
            if held != fsutil::Held::Rewritten {
                return moved_away(ctx, &rel, &id, held, out);
            }
            if let Err(e) = ctx.vault.move_item(path, &Stage::Done) {
                if matches!(
                    e.downcast_ref::<fsutil::MoveError>(),
                    Some(fsutil::MoveError::SourceGone(_))
                ) {
                    return moved_away(ctx, &rel, &id, fsutil::Held::Gone, out);
                }
                return Err(e.context("its actions are done (see the audit log); it stays"));
            }
            fsutil::failpoint("execute:moved-done");
            out.count("done", 1);
            out.changed = true;
            out.activity.push(format!("[[{id}]] done"));
        }
        Fate::Review(note) => {
            // Only the file read is rewritten and moved: an owner's move stands.
            let held = send_back(ctx, pass.ledger, path, held, item, &note)?;
            if held != fsutil::Held::Rewritten {
                return moved_away(ctx, &rel, &id, held, out);
            }
            out.problem(
                format!("item:{id}"),
                format!("`{rel}` went back to Pending_Approval for review: {note}"),
            );
            out.count("returned_for_review", 1);
            out.activity.push(format!(
                "[[{id}]] back for your review: {}",
                crate::dashboard::inline(&note)
            ));
            out.changed = true;
        }
        Fate::Stays => {
            if item.render() != before {
                let held = fsutil::rewrite_held(path, held, item.render().as_bytes())?;
                if held != fsutil::Held::Rewritten {
                    return moved_away(ctx, &rel, &id, held, out);
                }
                out.changed = true;
            }
        }
    }
    Ok(())
}

/// Reports an item that someone moved away or replaced while its actions ran: it is left
/// as they made it (never recreated at its old place), with an audit line.
fn moved_away(ctx: &Ctx, rel: &str, id: &str, held: fsutil::Held, out: &mut Outcome) -> Result<()> {
    let now = ctx
        .vault
        .locate(id)
        .map(|(_, p)| format!(" (it is now `{}`)", ctx.vault.rel(&p)))
        .unwrap_or_default();
    let what = if held == fsutil::Held::Gone {
        "was moved away"
    } else {
        "was changed"
    };
    let msg = format!(
        "`{rel}` {what} while aie ran its actions{now}: aie left it as it is; what ran is in the audit log"
    );
    ctx.audit.append(AuditEvent {
        target: Some(rel.to_string()),
        result: Some("left".into()),
        error: Some(msg.clone()),
        ..AuditEvent::new("moved_away", Some(id))
    })?;
    out.count("moved_away", 1);
    out.changed = true;
    out.problem(format!("item:{id}"), msg);
    Ok(())
}

/// What let an item run in this pass.
struct Approval {
    /// `human` or `policy:<rule>`.
    by: String,
    /// The owner approved a request of this agent's in this pass. Only such an approval
    /// re-opens an action whose file records that it ended (`failed`, `refused`, `unknown`).
    fresh: bool,
}

/// Checks this agent's own approval record (never the shared trail alone).
/// `Ok(approval)` when the item may run (binding its hash on first sight); `Err(note)` when
/// it must go back for review.
fn check_approval(
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
                    journal.record(entry(
                        ctx,
                        &key,
                        &id,
                        &kind,
                        "outcome",
                        Some("reapproved"),
                        Some("approved again by the owner after an unknown outcome"),
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

fn set_result(item: &mut Item, n: usize, result: &str) {
    let mut actions = item.actions();
    if let Some(a) = actions.get_mut(n) {
        a.insert("result".into(), result.into());
    }
    item.set_actions(actions);
}

#[allow(clippy::too_many_arguments)]
fn run_actions(
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
    let mut waiting = false;
    for (n, action) in actions.iter().enumerate() {
        let kind = action
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let key = action_key(&id, action);
        // What the file says of the action outlives this agent's journal (a new machine, a
        // restored vault): `ok` is done, always, even when its text was edited since (a typo
        // fixed in a mail already sent); an action that ended otherwise runs again only when
        // the owner approves it again in this pass.
        let recorded = action.get("result").and_then(Value::as_str).unwrap_or("");
        if recorded == "ok" {
            continue;
        }
        if FINAL_RESULTS.contains(&recorded)
            && !approval.fresh
            && journal.state(&key) != KeyState::Finished("unknown".into())
            && journal.state(&key) != KeyState::InFlight
        {
            return Ok(Fate::Review(format!(
                "action {} (`{kind}`) already ended with `{recorded}`: it runs again only when you approve it again",
                n + 1
            )));
        }
        match journal.state(&key) {
            KeyState::Finished(r) if r == "ok" => {
                set_result(item, n, "ok");
                continue;
            }
            KeyState::Finished(r) if r == "unknown" => {
                // Its outcome is still unknown and no one approved it again since (a crash
                // came between recording that and sending the item back): never re-run it.
                set_result(item, n, "unknown");
                out.count("unknown", 1);
                return Ok(Fate::Review(unknown_note(
                    n,
                    &kind,
                    "a run stopped mid-action",
                )));
            }
            KeyState::InFlight => {
                // Crashed mid-way: it may have happened. Never retry blindly.
                journal.record(entry(
                    ctx,
                    &key,
                    &id,
                    &kind,
                    "outcome",
                    Some("unknown"),
                    Some("no outcome recorded: the run stopped mid-action"),
                ))?;
                fsutil::failpoint("execute:unknown-recorded");
                set_result(item, n, "unknown");
                audit_action(
                    ctx,
                    &id,
                    action,
                    approved_by,
                    "unknown",
                    Some("the run stopped mid-action: outcome unknown"),
                )?;
                out.count("unknown", 1);
                return Ok(Fate::Review(unknown_note(
                    n,
                    &kind,
                    "a run stopped mid-action",
                )));
            }
            _ => {}
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
        if let Some(at) = crate::actions::get(&kind).and_then(|k| k.not_before(action))
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
                    item.front.remove("waiting");
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
                let platform = action.get("platform").and_then(Value::as_str);
                let section = crate::connectors::capabilities::section_for_kind(&kind, platform)
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
        journal.record(entry(ctx, &key, &id, &kind, "intent", None, None))?;
        fsutil::failpoint("execute:intent-written");
        let result = executor.execute(item, action, &key);
        fsutil::failpoint("execute:action-done");
        let verdict = verdict_of(&result, n, &kind);
        let res = verdict.journal;
        let detail = detail_of(&result).to_string();
        journal.record(entry(
            ctx,
            &key,
            &id,
            &kind,
            "outcome",
            Some(res),
            Some(&detail),
        ))?;
        if let Some(r) = verdict.result {
            set_result(item, n, r);
        }
        // What the service answered (a post's id and URL) stays with the item and the log.
        let mut logged = action.clone();
        if res == "ok" && !detail.is_empty() && kind != "note" {
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

/// What happens to an item after one of its actions ran live.
#[derive(Debug, PartialEq, Eq)]
enum Then {
    /// On to its next action; after the last one the item is done (`Done/`).
    Next,
    /// The item stays in `Approved/` as it was, for the next pass.
    Wait,
    /// The item goes back to `Pending_Approval/` with this review note.
    Review(String),
}

/// What an executor's outcome means, decided in one place.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    /// The result the journal and the audit log record.
    journal: &'static str,
    /// The `result` written beside the action in the item; none: the item is left as it was
    /// (a `failed` there would be final, and nothing was done).
    result: Option<&'static str>,
    /// The count of the pass it adds one to.
    count: &'static str,
    then: Then,
}

/// The verdict on action `n` (counting from 0) of kind `kind` whose executor said `outcome`.
fn verdict_of(outcome: &ActionOutcome, n: usize, kind: &str) -> Verdict {
    let (journal, result, count, then) = match outcome {
        ActionOutcome::Ok(_) => ("ok", Some("ok"), "executed", Then::Next),
        ActionOutcome::Unreachable(_) => ("failed", None, "unreachable", Then::Wait),
        ActionOutcome::Retry(_) => ("failed", None, "retry_later", Then::Wait),
        ActionOutcome::Failed(d) => (
            "failed",
            Some("failed"),
            "failed",
            Then::Review(format!("action {} (`{kind}`) failed: {d}", n + 1)),
        ),
        ActionOutcome::Unknown(d) => (
            "unknown",
            Some("unknown"),
            "unknown",
            Then::Review(unknown_note(n, kind, d)),
        ),
    };
    Verdict {
        journal,
        result,
        count,
        then,
    }
}

/// What the executor or the service said, whatever the outcome.
fn detail_of(outcome: &ActionOutcome) -> &str {
    match outcome {
        ActionOutcome::Ok(d)
        | ActionOutcome::Retry(d)
        | ActionOutcome::Unreachable(d)
        | ActionOutcome::Failed(d)
        | ActionOutcome::Unknown(d) => d,
    }
}

/// The review note of an action whose outcome is unknown (`n` counts from 0).
fn unknown_note(n: usize, kind: &str, why: &str) -> String {
    format!(
        "action {} (`{kind}`) may or may not have happened: {why}. Check, then move this item to Done/ if it happened, or to Approved/ to try again",
        n + 1
    )
}

fn entry(
    ctx: &Ctx,
    key: &str,
    item: &str,
    kind: &str,
    phase: &str,
    result: Option<&str>,
    detail: Option<&str>,
) -> JournalEntry {
    JournalEntry {
        ts: ctx.clock.stamp(),
        key: key.to_string(),
        item: item.to_string(),
        kind: kind.to_string(),
        phase: phase.to_string(),
        result: result.map(str::to_string),
        detail: detail.map(str::to_string),
    }
}

/// The audit target of an action: its kind's (`actions/<kind>.rs`).
fn target_of(a: &Map<String, Value>) -> Option<String> {
    crate::actions::get(crate::actions::kind_of(a))?.target(a)
}

fn audit_action(
    ctx: &Ctx,
    id: &str,
    action: &Map<String, Value>,
    by: &str,
    result: &str,
    error: Option<&str>,
) -> Result<()> {
    let kind = action.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut params = action.clone();
    params.shift_remove("result");
    ctx.audit.append(AuditEvent {
        target: target_of(action),
        parameters: Value::Object(params),
        approval_status: Some("approved".into()),
        approved_by: Some(by.to_string()),
        result: Some(result.to_string()),
        error: error.map(str::to_string),
        ..AuditEvent::new(kind, Some(id))
    })
}

/// Appends what a dry-run action would send to the item's plan file.
fn append_dry_run(ctx: &Ctx, item: &Item, kind: &str, text: &str) -> Result<()> {
    let path = ctx.vault.plan_path(item.domain(), item.id());
    // Never through a link: the plan's old text is copied into the new one.
    let mut existing = fsutil::read_vault_file(ctx.vault.root(), &path)?
        .map(|b| String::from_utf8_lossy(&b).to_string())
        .unwrap_or_default();
    existing.push_str(&format!(
        "\n## Dry run, {}: `{kind}` would send\n\n```\n{text}\n```\n",
        ctx.clock.stamp()
    ));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    fsutil::write_atomic(&path, existing.as_bytes())
}

/// Returns an item to `Pending_Approval/<domain>/` with a `review:` note: a new request.
/// Rewrites and moves only the file `held` (read at `path`); anything else there is left
/// alone and reported back as it was found.
pub(crate) fn send_back(
    ctx: &Ctx,
    ledger: &mut ApprovalLedger,
    path: &Path,
    held: fsutil::FileId,
    item: &mut Item,
    note: &str,
) -> Result<fsutil::Held> {
    let id = item.id().to_string();
    item.set("status", "pending_approval");
    item.set("review", note);
    item.set("requested", ctx.clock.stamp());
    item.set("expires", ctx.approval_expiry());
    item.set("summary", crate::passes::plan::summary(item));
    item.front.shift_remove("approved_by");
    item.body = crate::vault::approval_box::with_boxes(&item.body);
    let rewritten = fsutil::rewrite_held(path, held, item.render().as_bytes())?;
    if rewritten != fsutil::Held::Rewritten {
        return Ok(rewritten);
    }
    // Out of Approved/ first, then the new request on record: a crash between the two leaves
    // an item waiting for a human that the ledger does not yet know (safe: approving it only
    // sends it back once more), never an item in Approved/ that looks freshly requested.
    let to = Stage::PendingApproval(item.domain().to_string());
    if let Err(e) = ctx.vault.move_item(path, &to) {
        if matches!(
            e.downcast_ref::<fsutil::MoveError>(),
            Some(fsutil::MoveError::SourceGone(_))
        ) {
            return Ok(fsutil::Held::Gone);
        }
        return Err(e);
    }
    fsutil::sync_dir(&ctx.vault.stage_dir(&to)).ok();
    fsutil::sync_dir(&ctx.vault.stage_dir(&Stage::Approved)).ok();
    fsutil::failpoint("execute:sent-back");
    ledger.append(ApprovalRecord {
        note: Some(note.to_string()),
        ..ctx.approval(id.clone(), item.actions_hash(), ApprovalEvent::Review)
    })?;
    ledger.sync()?;
    ctx.audit.append(AuditEvent {
        target: Some(to.rel().display().to_string()),
        approval_status: Some("review".into()),
        result: Some("returned".into()),
        error: Some(note.to_string()),
        ..AuditEvent::new("review", Some(&id))
    })?;
    Ok(fsutil::Held::Rewritten)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: &str) -> [ActionOutcome; 5] {
        [
            ActionOutcome::Ok(d.into()),
            ActionOutcome::Retry(d.into()),
            ActionOutcome::Unreachable(d.into()),
            ActionOutcome::Failed(d.into()),
            ActionOutcome::Unknown(d.into()),
        ]
    }

    #[test]
    fn ok_is_recorded_and_the_item_goes_on_to_done() {
        let v = verdict_of(&ActionOutcome::Ok("message <a@b>".into()), 0, "send_email");
        assert_eq!(
            v,
            Verdict {
                journal: "ok",
                result: Some("ok"),
                count: "executed",
                then: Then::Next,
            }
        );
    }

    #[test]
    fn retry_and_unreachable_leave_the_item_untouched_in_approved() {
        for (o, count) in [
            (ActionOutcome::Retry("429".into()), "retry_later"),
            (ActionOutcome::Unreachable("refused".into()), "unreachable"),
        ] {
            let v = verdict_of(&o, 2, "send_email");
            assert_eq!(
                v.result, None,
                "{o:?}: nothing may be written beside the action"
            );
            assert_eq!(v.then, Then::Wait, "{o:?}");
            assert_eq!(v.count, count);
            assert_eq!(
                v.journal, "failed",
                "{o:?}: the journal says it did not happen"
            );
        }
    }

    #[test]
    fn failed_goes_back_for_review_naming_the_action_and_the_reason() {
        let v = verdict_of(
            &ActionOutcome::Failed("550 no such user".into()),
            1,
            "send_email",
        );
        assert_eq!(v.journal, "failed");
        assert_eq!(v.result, Some("failed"));
        assert_eq!(v.count, "failed");
        assert_eq!(
            v.then,
            Then::Review("action 2 (`send_email`) failed: 550 no such user".into())
        );
    }

    #[test]
    fn unknown_goes_back_for_review_and_says_how_to_retry_or_close_it() {
        let v = verdict_of(
            &ActionOutcome::Unknown("connection reset after DATA".into()),
            0,
            "post_x",
        );
        assert_eq!(v.journal, "unknown");
        assert_eq!(v.result, Some("unknown"));
        assert_eq!(v.count, "unknown");
        let Then::Review(note) = v.then else {
            panic!("an unknown outcome must go back for review: {v:?}");
        };
        assert!(
            note.starts_with(
                "action 1 (`post_x`) may or may not have happened: connection reset after DATA."
            ),
            "{note}"
        );
        assert!(
            note.contains("to Done/") && note.contains("to Approved/"),
            "{note}"
        );
    }

    #[test]
    fn only_ok_lets_the_item_go_on_and_only_ok_is_recorded_as_ok() {
        for o in all("x") {
            let v = verdict_of(&o, 0, "note");
            let ok = matches!(o, ActionOutcome::Ok(_));
            assert_eq!(v.then == Then::Next, ok, "{o:?}");
            assert_eq!(v.journal == "ok", ok, "{o:?}");
            assert_eq!(detail_of(&o), "x");
        }
    }
}
