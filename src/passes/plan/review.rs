//! The requests waiting in `Pending_Approval/`: expire the old ones, keep each summary true
//! to its actions, and record what this agent sees waiting; unchanged files are not re-read.

use super::route::summary;
use crate::audit::AuditEvent;
use crate::clock::parse_time;
use crate::context::Ctx;
use crate::fsutil;
use crate::outcome::Outcome;
use crate::vault::approvals::{ApprovalEvent, ApprovalLedger, ApprovalRecord, Standing};
use crate::vault::{Item, Stage};
use anyhow::Result;

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
pub(super) fn review_requests(
    ctx: &Ctx,
    ledger: &mut ApprovalLedger,
    out: &mut Outcome,
) -> Result<()> {
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
