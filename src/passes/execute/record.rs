//! What the pass writes down: journal entries, audit lines, dry-run previews (shown once per
//! action identity), and the return of an item to `Pending_Approval/` for review.

use crate::audit::AuditEvent;
use crate::context::Ctx;
use crate::fsutil;
use crate::journal::JournalEntry;
use crate::vault::approvals::{ApprovalEvent, ApprovalLedger, ApprovalRecord};
use crate::vault::{Item, Stage};
use anyhow::Result;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Keys of actions whose dry-run preview was already shown (`.aie/dry_run_seen`).
pub(super) struct DrySeen {
    path: PathBuf,
    keys: HashSet<String>,
}

impl DrySeen {
    pub(super) fn load(aie_dir: &Path) -> DrySeen {
        let path = aie_dir.join("dry_run_seen");
        let keys = std::fs::read_to_string(&path)
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default();
        DrySeen { path, keys }
    }

    /// Records a key; true when it is new.
    pub(super) fn insert(&mut self, key: &str) -> Result<bool> {
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

/// One action of one item, as its journal entries name it.
pub(super) struct Step<'a> {
    pub ctx: &'a Ctx,
    pub key: &'a str,
    pub item: &'a str,
    pub kind: &'a str,
}

impl Step<'_> {
    /// The entry written before the side effect.
    pub(super) fn intent(&self) -> JournalEntry {
        self.entry("intent", None, None)
    }

    /// The entry written after it: how it ended, and what was said.
    pub(super) fn outcome(&self, result: &str, detail: &str) -> JournalEntry {
        self.entry("outcome", Some(result), Some(detail))
    }

    fn entry(&self, phase: &str, result: Option<&str>, detail: Option<&str>) -> JournalEntry {
        JournalEntry {
            ts: self.ctx.clock.stamp(),
            key: self.key.to_string(),
            item: self.item.to_string(),
            kind: self.kind.to_string(),
            phase: phase.to_string(),
            result: result.map(str::to_string),
            detail: detail.map(str::to_string),
        }
    }
}

/// The audit target of an action: its kind's (`actions/<kind>.rs`).
fn target_of(a: &Map<String, Value>) -> Option<String> {
    crate::actions::read(a).ok()?.target()
}

pub(super) fn audit_action(
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
pub(super) fn append_dry_run(ctx: &Ctx, item: &Item, kind: &str, text: &str) -> Result<()> {
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
    to_pending(ctx, ledger, (path, held), item, Back::Review(note))
}

/// Why an item goes back to `Pending_Approval/<domain>/`.
pub(super) enum Back<'a> {
    /// For the owner's review (`review:` says why).
    Review(&'a str),
    /// Its policy-approved first actions ran and the rest wait for approval, like a new
    /// request (`prepared:` says what was done).
    TheRest(&'a str),
}

/// The move into `Pending_Approval/` of the file `held` (read at `path`): the note, request
/// fields, the approval boxes, the move, then the event on this agent's record.
pub(super) fn to_pending(
    ctx: &Ctx,
    ledger: &mut ApprovalLedger,
    (path, held): (&Path, fsutil::FileId),
    item: &mut Item,
    why: Back<'_>,
) -> Result<fsutil::Held> {
    let (note, event) = match why {
        Back::Review(note) => {
            item.set("review", note);
            (note, ApprovalEvent::Review)
        }
        Back::TheRest(note) => {
            item.front.shift_remove("review");
            item.set("prepared", note);
            (note, ApprovalEvent::Requested)
        }
    };
    let id = item.id().to_string();
    item.set("status", "pending_approval");
    item.set("requested", ctx.clock.stamp());
    item.set("expires", ctx.approval_expiry());
    item.set("summary", crate::passes::plan::summary(item, &ctx.settings));
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
    let review = event == ApprovalEvent::Review;
    ledger.append(ApprovalRecord {
        note: Some(note.to_string()),
        ..ctx.approval(id.clone(), item.actions_hash(), event)
    })?;
    ledger.sync()?;
    ctx.audit.append(AuditEvent {
        target: Some(to.rel().display().to_string()),
        approval_status: Some(if review { "review" } else { "pending" }.into()),
        result: Some(if review { "returned" } else { "requested" }.into()),
        error: review.then(|| note.to_string()),
        ..AuditEvent::new(if review { "review" } else { "requested" }, Some(&id))
    })?;
    Ok(fsutil::Held::Rewritten)
}
