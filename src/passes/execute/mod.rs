//! The execution pass over `Approved/`. Nothing runs that this agent's own approval record
//! (`.aie/approvals.jsonl`, never the synced trail) cannot account for: an item aie never
//! sent for approval nor approved by policy, whose request expired, or whose actions changed
//! after aie first saw it approved, goes back to `Pending_Approval/<domain>/` with a
//! `review:` note. An action whose file records `result: ok` never runs again; one that
//! ended otherwise runs again only on the owner's fresh approval. Each action runs through its executor with the journal around it: the
//! intent is durable before the side effect, the outcome after. An intent with no outcome
//! (a crash mid-action) is never retried blindly: the item returns for review. In dry-run an
//! action's full content is shown once per action identity and the item stays.
//!
//! Here: the pass and each item's filing by its fate. `approval` is the gate, `run` runs an
//! item's actions, `verdict` maps an executor's outcome to what happens next, and `record`
//! writes the journal, audit and dry-run lines and sends items back for review.

mod approval;
mod record;
mod run;
mod verdict;

use approval::check_approval;
use record::DrySeen;
pub(crate) use record::send_back;
use record::{Back, to_pending};
use run::run_actions;

use crate::audit::AuditEvent;
use crate::context::{Ctx, Mode};
use crate::executor::Executors;
use crate::exit::Exit;
use crate::fsutil;
use crate::journal::Journal;
use crate::outcome::Outcome;
use crate::vault::approvals::ApprovalLedger;
use crate::vault::{Item, Stage};
use anyhow::Result;
use serde_json::Value;
use std::path::Path;

/// What became of one item in this pass.
enum Fate {
    /// Every action is done: to `Done/`.
    Done,
    /// Back to `Pending_Approval/` with this note.
    Review(String),
    /// The actions the policy lets run did; the rest waits for the owner: to
    /// `Pending_Approval/` as a request, with this note on what was done.
    AskOwner(String),
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
    crate::passes::sync::refuse_while_unchecked(ctx, "execute-approved")?;
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
                    .entry("approved_by".to_string())
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
        Fate::AskOwner(note) => {
            let held = to_pending(ctx, pass.ledger, (path, held), item, Back::TheRest(&note))?;
            if held != fsutil::Held::Rewritten {
                return moved_away(ctx, &rel, &id, held, out);
            }
            out.count("pending_approval", 1);
            out.activity.push(format!(
                "[[{id}]] waits for approval: {}",
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
