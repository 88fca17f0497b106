//! `Logs/approvals.jsonl`: the approval ledger, synced with the vault (union-merged), so a
//! request drafted by one agent is known to the other. Every request for a human, every
//! policy approval, every binding of an approved item's actions hash and every return for
//! review is one line. `execute-approved` runs nothing this ledger cannot account for.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What a ledger line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalEvent {
    /// aie asked a human to approve these actions.
    Requested,
    /// A policy rule approved every action; `by` is `policy:<rule>`.
    Policy,
    /// aie first saw the item in `Approved/` with this hash; later changes are not approved.
    Bound,
    /// aie returned the item for review (a new request).
    Review,
    /// The request expired and the item went to `Rejected/`.
    Expired,
}

/// One ledger line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub ts: String,
    pub agent: String,
    pub item: String,
    pub hash: String,
    pub event: ApprovalEvent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What the ledger says of an item in `Approved/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// aie never sent it for approval nor approved it by policy.
    Unknown,
    /// Approved by policy with this hash; not yet bound.
    PolicyApproved { hash: String, by: String },
    /// Requested from a human and not yet bound: the owner's approval binds the current hash.
    AwaitingBinding,
    /// Bound to this hash, approved by `by`.
    Bound { hash: String, by: String },
}

/// The ledger, read lazily and appended to.
pub struct ApprovalLedger {
    path: PathBuf,
    /// Per item: its records in file order.
    records: Option<HashMap<String, Vec<ApprovalRecord>>>,
    file: Option<File>,
}

impl ApprovalLedger {
    pub fn new(logs_dir: &Path) -> ApprovalLedger {
        ApprovalLedger {
            path: logs_dir.join("approvals.jsonl"),
            records: None,
            file: None,
        }
    }

    fn load(&mut self) -> Result<&HashMap<String, Vec<ApprovalRecord>>> {
        if self.records.is_none() {
            let mut map: HashMap<String, Vec<ApprovalRecord>> = HashMap::new();
            match File::open(&self.path) {
                Ok(f) => {
                    for line in BufReader::new(f).lines() {
                        let line =
                            line.with_context(|| format!("cannot read `{}`", self.path.display()))?;
                        // Lines from a torn write or a bad merge are skipped, never fatal.
                        if let Ok(r) = serde_json::from_str::<ApprovalRecord>(&line) {
                            map.entry(r.item.clone()).or_default().push(r);
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot read `{}`", self.path.display()));
                }
            }
            // Two agents' lines merge by union: order each item's records by time.
            // By instant, not by text: local times with offsets do not sort as strings (at
            // a daylight-saving fall-back, a later line can read as earlier). Stable: equal
            // instants keep file order.
            for v in map.values_mut() {
                v.sort_by_key(|r| crate::clock::parse_time(&r.ts));
            }
            self.records = Some(map);
        }
        Ok(self.records.as_ref().expect("invariant: loaded above"))
    }

    /// Where an item stands: the last request (human, policy or review) decides, and a
    /// binding counts only when it comes after it.
    pub fn standing(&mut self, item: &str) -> Result<Standing> {
        let recs = self.load()?.get(item).cloned().unwrap_or_default();
        let Some(pos) = recs.iter().rposition(|r| {
            matches!(
                r.event,
                ApprovalEvent::Requested | ApprovalEvent::Policy | ApprovalEvent::Review
            )
        }) else {
            return Ok(Standing::Unknown);
        };
        if let Some(b) = recs[pos..]
            .iter()
            .rev()
            .find(|r| r.event == ApprovalEvent::Bound)
        {
            return Ok(Standing::Bound {
                hash: b.hash.clone(),
                by: b.by.clone().unwrap_or_else(|| "human".into()),
            });
        }
        let last = &recs[pos];
        Ok(match last.event {
            ApprovalEvent::Policy => Standing::PolicyApproved {
                hash: last.hash.clone(),
                by: last.by.clone().unwrap_or_default(),
            },
            _ => Standing::AwaitingBinding,
        })
    }

    /// Appends a record (not yet durable: call [`ApprovalLedger::sync`] before acting on it).
    pub fn append(&mut self, rec: ApprovalRecord) -> Result<()> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create `{}`", dir.display()))?;
            }
            // Never appended through a link planted in the vault.
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&self.path)
                .with_context(|| format!("cannot open `{}`", self.path.display()))?;
            self.file = Some(f);
        }
        let mut line = serde_json::to_string(&rec).expect("invariant: record serializes");
        line.push('\n');
        self.file
            .as_mut()
            .expect("invariant: opened above")
            .write_all(line.as_bytes())
            .with_context(|| format!("cannot append to `{}`", self.path.display()))?;
        if let Some(map) = self.records.as_mut() {
            map.entry(rec.item.clone()).or_default().push(rec);
        }
        Ok(())
    }

    /// Makes appended records durable.
    pub fn sync(&self) -> Result<()> {
        if let Some(f) = &self.file {
            f.sync_data()
                .with_context(|| format!("cannot sync `{}`", self.path.display()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ts: &str, event: ApprovalEvent, hash: &str) -> ApprovalRecord {
        ApprovalRecord {
            ts: ts.into(),
            agent: "local".into(),
            item: "i".into(),
            hash: hash.into(),
            event,
            by: None,
            note: None,
        }
    }

    #[test]
    fn standing_follows_the_last_request() {
        let d = tempfile::tempdir().unwrap();
        let mut l = ApprovalLedger::new(d.path());
        assert_eq!(l.standing("i").unwrap(), Standing::Unknown);
        l.append(rec("2026-01-01T00:00:01Z", ApprovalEvent::Requested, "h1"))
            .unwrap();
        assert_eq!(l.standing("i").unwrap(), Standing::AwaitingBinding);
        l.append(rec("2026-01-01T00:00:02Z", ApprovalEvent::Bound, "h2"))
            .unwrap();
        assert!(matches!(l.standing("i").unwrap(), Standing::Bound { hash, .. } if hash == "h2"));
        l.append(rec("2026-01-01T00:00:03Z", ApprovalEvent::Review, "h3"))
            .unwrap();
        assert_eq!(l.standing("i").unwrap(), Standing::AwaitingBinding);
        // A fresh reader sees the same.
        let mut l2 = ApprovalLedger::new(d.path());
        assert_eq!(l2.standing("i").unwrap(), Standing::AwaitingBinding);
    }
}
