//! The approval ledger, kept in two places. `.aie/approvals.jsonl` is this agent's own
//! proof: append-only, never synced, written and fsynced by this agent alone, every line
//! numbered by this agent's own sequence (`seq`). Whether an item in `Approved/` may run is
//! decided from this record only, in the order this agent observed things, never by a
//! timestamp another writer chose. `Logs/approvals.jsonl` gets the same lines: the shared,
//! human-readable trail that syncs with the vault (union-merged), so the owner and the other
//! agent can read what was asked and approved. It is never the proof: a line anyone writes
//! there approves nothing ([`ApprovalLedger::shared_policy_claim`] only lets the policy
//! decide afresh, on data alone, what it would allow by itself).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What a ledger line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalEvent {
    /// aie asked a human to approve exactly these actions (this hash).
    Requested,
    /// A policy rule approved every action; `by` is `policy:<rule>`.
    Policy,
    /// aie first saw the item in `Approved/` with this hash; later changes are not approved.
    Bound,
    /// aie returned the item for review (a new request).
    Review,
    /// The request expired and the item went to `Rejected/`: a refusal.
    Expired,
}

/// One ledger line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// This agent's sequence number (set by [`ApprovalLedger::append`]; 0 in lines written
    /// before there was one).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seq: u64,
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

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What this agent's own record says of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// This agent never sent it for approval nor approved it by policy.
    Unknown,
    /// Its last request expired (a refusal): approving it again needs a new request.
    Expired,
    /// Approved by policy with this hash; not yet bound.
    PolicyApproved { hash: String, by: String },
    /// Requested from a human (this hash) and not yet bound: the owner's approval binds the
    /// hash aie first sees in `Approved/` (the owner may edit a request before approving).
    AwaitingBinding { requested: String },
    /// Bound to this hash, approved by `by`.
    Bound { hash: String, by: String },
}

/// Per item: its records in sequence order.
type ByItem = HashMap<String, Vec<ApprovalRecord>>;

/// Adds `rec` after its item's records. Most items have one or two: each list starts with
/// room for one, not the four a first push would make (a pass over 10,000 items keeps
/// every record it writes, and a ledger read whole keeps every record of every item).
fn push_record(by_item: &mut ByItem, rec: ApprovalRecord) {
    by_item
        .entry(rec.item.clone())
        .or_insert_with(|| Vec::with_capacity(1))
        .push(rec);
}

/// The ledger: this agent's record (read on first use, then followed as it grows) and the
/// shared trail (read only for [`ApprovalLedger::shared_policy_claim`]).
pub struct ApprovalLedger {
    local: PathBuf,
    shared: PathBuf,
    aie_dir: PathBuf,
    /// The local record, by item, in sequence order.
    records: ByItem,
    /// Bytes of the local record read so far (complete lines only).
    read_to: u64,
    last_seq: u64,
    local_file: Option<File>,
    shared_file: Option<File>,
    shared_records: Option<ByItem>,
}

impl ApprovalLedger {
    /// The ledger of the agent whose own folder is `aie_dir`, with the shared trail in
    /// `logs_dir`.
    pub fn new(aie_dir: &Path, logs_dir: &Path) -> ApprovalLedger {
        ApprovalLedger {
            local: aie_dir.join("approvals.jsonl"),
            shared: logs_dir.join("approvals.jsonl"),
            aie_dir: aie_dir.to_path_buf(),
            records: HashMap::new(),
            read_to: 0,
            last_seq: 0,
            local_file: None,
            shared_file: None,
            shared_records: None,
        }
    }

    /// Reads what was appended to the local record since the last read (by this or another
    /// run of this agent). A torn last line (a crash mid-write) is left unread.
    fn refresh(&mut self) -> Result<()> {
        let mut f = match File::open(&self.local) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read `{}`", self.local.display()));
            }
        };
        let mut bytes = Vec::new();
        f.seek(SeekFrom::Start(self.read_to))
            .and_then(|_| f.read_to_end(&mut bytes))
            .with_context(|| format!("cannot read `{}`", self.local.display()))?;
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        for line in bytes[..complete].split(|b| *b == b'\n') {
            // A torn line glued to by a later append is skipped, never fatal.
            let Ok(mut r) = serde_json::from_slice::<ApprovalRecord>(line) else {
                continue;
            };
            // The sequence only grows: a line numbered out of order (copied in by hand) is
            // placed by where it is in the file, after everything before it.
            self.last_seq = self.last_seq.max(r.seq);
            r.seq = self.last_seq;
            push_record(&mut self.records, r);
        }
        self.read_to += complete as u64;
        Ok(())
    }

    /// Where an item stands, by this agent's own record: the last request (human, policy,
    /// review) or expiry decides, and a binding counts only when it comes after it.
    pub fn standing(&mut self, item: &str) -> Result<Standing> {
        // Always catch up first (only the bytes appended since the last read): another
        // command of this agent (a plan pass routing by policy) may have recorded something
        // since this pass began, and a stale view would send its item back for review.
        self.refresh()?;
        Ok(standing_of(
            self.records.get(item).map_or(&[], Vec::as_slice),
        ))
    }

    /// The `policy:<rule>` of a policy approval of exactly `hash` that the shared trail
    /// claims for `item` (written by the other agent, or by anyone who can write the vault).
    /// A claim only: the caller must let the policy decide afresh before acting on it.
    pub fn shared_policy_claim(&mut self, item: &str, hash: &str) -> Result<Option<String>> {
        if self.shared_records.is_none() {
            let mut map = ByItem::new();
            match File::open(&self.shared) {
                Ok(f) => {
                    for line in BufReader::new(f).lines() {
                        let line = line
                            .with_context(|| format!("cannot read `{}`", self.shared.display()))?;
                        if let Ok(r) = serde_json::from_str::<ApprovalRecord>(&line) {
                            push_record(&mut map, r);
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot read `{}`", self.shared.display()));
                }
            }
            self.shared_records = Some(map);
        }
        Ok(self
            .shared_records
            .as_ref()
            .and_then(|m| m.get(item))
            .and_then(|v| {
                v.iter()
                    .rev()
                    .find(|r| r.event == ApprovalEvent::Policy && r.hash == hash)
            })
            .map(|r| r.by.clone().unwrap_or_default())
            .filter(|by| by.starts_with("policy:")))
    }

    /// Appends a record to this agent's record (numbered with the next `seq`, under a short
    /// lock so that two commands of this agent never share a number) and to the shared
    /// trail. Not yet durable: call [`ApprovalLedger::sync`] before acting on it.
    pub fn append(&mut self, rec: ApprovalRecord) -> Result<()> {
        self.append_all(vec![rec])
    }

    /// Appends records in their order, as [`ApprovalLedger::append`] does one: under one
    /// lock, with one write to each file (a pass records a batch of items at once).
    pub fn append_all(&mut self, mut recs: Vec<ApprovalRecord>) -> Result<()> {
        if recs.is_empty() {
            return Ok(());
        }
        for rec in &mut recs {
            // A note may quote a server's reply: no secret goes into the synced vault.
            rec.note = rec.note.take().map(|n| crate::secrets::scrub(&n));
        }
        let aie_dir = self.aie_dir.clone();
        let mut shared_lines: Vec<u8> = Vec::new();
        crate::lock::with_short_lock(&aie_dir, "approvals", || {
            self.refresh()?;
            let f = match self.local_file.take() {
                Some(f) => f,
                None => open_append(&self.local)?,
            };
            let f = self.local_file.insert(f);
            // A torn last line from a crash: start a fresh one.
            let len = f
                .metadata()
                .with_context(|| format!("cannot read `{}`", self.local.display()))?
                .len();
            let mut lines: Vec<u8> = if len > self.read_to {
                b"\n".to_vec()
            } else {
                Vec::new()
            };
            for rec in &mut recs {
                self.last_seq += 1;
                rec.seq = self.last_seq;
                let start = lines.len();
                serde_json::to_writer(&mut lines, rec).expect("invariant: record serializes");
                lines.push(b'\n');
                shared_lines.extend_from_slice(&lines[start..]);
            }
            crate::fsutil::fault(crate::fsutil::Io::Write)
                .and_then(|()| f.write_all(&lines))
                .with_context(|| format!("cannot append to `{}`", self.local.display()))?;
            self.read_to = len + lines.len() as u64;
            Ok(())
        })?;
        for rec in recs {
            push_record(&mut self.records, rec);
        }
        if self.shared_file.is_none() {
            self.shared_file = Some(open_append(&self.shared)?);
        }
        let f = self.shared_file.as_mut().expect("invariant: opened above");
        crate::fsutil::fault(crate::fsutil::Io::Write)
            .and_then(|()| f.write_all(&shared_lines))
            .with_context(|| format!("cannot append to `{}`", self.shared.display()))?;
        Ok(())
    }

    /// Makes appended records durable (this agent's record first: it is the proof).
    pub fn sync(&self) -> Result<()> {
        for (f, p) in [
            (&self.local_file, &self.local),
            (&self.shared_file, &self.shared),
        ] {
            if let Some(f) = f {
                f.sync_data()
                    .with_context(|| format!("cannot sync `{}`", p.display()))?;
            }
        }
        Ok(())
    }
}

fn open_append(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    // Never through a link planted in the vault.
    OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("cannot open `{}`", path.display()))
}

/// Where an item stands, from its records in sequence order.
fn standing_of(recs: &[ApprovalRecord]) -> Standing {
    let Some(pos) = recs.iter().rposition(|r| {
        matches!(
            r.event,
            ApprovalEvent::Requested
                | ApprovalEvent::Policy
                | ApprovalEvent::Review
                | ApprovalEvent::Expired
        )
    }) else {
        return Standing::Unknown;
    };
    let last = &recs[pos];
    if last.event == ApprovalEvent::Expired {
        return Standing::Expired;
    }
    if let Some(b) = recs[pos..]
        .iter()
        .rev()
        .find(|r| r.event == ApprovalEvent::Bound)
    {
        return Standing::Bound {
            hash: b.hash.clone(),
            by: b.by.clone().unwrap_or_else(|| "human".into()),
        };
    }
    match last.event {
        ApprovalEvent::Policy => Standing::PolicyApproved {
            hash: last.hash.clone(),
            by: last.by.clone().unwrap_or_default(),
        },
        _ => Standing::AwaitingBinding {
            requested: last.hash.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ts: &str, event: ApprovalEvent, hash: &str) -> ApprovalRecord {
        ApprovalRecord {
            seq: 0,
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
    fn standing_follows_the_last_request_in_this_agents_order() {
        let d = tempfile::tempdir().unwrap();
        let (aie, logs) = (d.path().join(".aie"), d.path().join("Logs"));
        let mut l = ApprovalLedger::new(&aie, &logs);
        assert_eq!(l.standing("i").unwrap(), Standing::Unknown);
        // Timestamps are whatever a writer chose: they never order the record.
        l.append(rec("2099-01-01T00:00:00Z", ApprovalEvent::Requested, "h1"))
            .unwrap();
        assert_eq!(
            l.standing("i").unwrap(),
            Standing::AwaitingBinding {
                requested: "h1".into()
            }
        );
        l.append(rec("2026-01-01T00:00:02Z", ApprovalEvent::Bound, "h2"))
            .unwrap();
        assert!(matches!(l.standing("i").unwrap(), Standing::Bound { hash, .. } if hash == "h2"));
        l.append(rec("2000-01-01T00:00:03Z", ApprovalEvent::Review, "h3"))
            .unwrap();
        l.sync().unwrap();
        // A fresh reader sees the same, numbered 1, 2, 3.
        let mut l2 = ApprovalLedger::new(&aie, &logs);
        assert_eq!(
            l2.standing("i").unwrap(),
            Standing::AwaitingBinding {
                requested: "h3".into()
            }
        );
        let text = std::fs::read_to_string(aie.join("approvals.jsonl")).unwrap();
        let seqs: Vec<u64> = text
            .lines()
            .map(|l| serde_json::from_str::<ApprovalRecord>(l).unwrap().seq)
            .collect();
        assert_eq!(seqs, [1, 2, 3]);
        // The shared trail got the same lines, and a line written there proves nothing.
        assert_eq!(
            std::fs::read_to_string(logs.join("approvals.jsonl"))
                .unwrap()
                .lines()
                .count(),
            3
        );
        let mut forged = rec("2099-01-01T00:00:00Z", ApprovalEvent::Requested, "");
        forged.item = "x".into();
        std::fs::OpenOptions::new()
            .append(true)
            .open(logs.join("approvals.jsonl"))
            .unwrap()
            .write_all(format!("{}\n", serde_json::to_string(&forged).unwrap()).as_bytes())
            .unwrap();
        let mut l3 = ApprovalLedger::new(&aie, &logs);
        assert_eq!(l3.standing("x").unwrap(), Standing::Unknown);
        // An expiry closes the request.
        l3.append(rec("2026-01-01T00:00:04Z", ApprovalEvent::Expired, "h3"))
            .unwrap();
        assert_eq!(l3.standing("i").unwrap(), Standing::Expired);
    }

    #[test]
    fn a_torn_line_is_skipped_and_the_next_append_starts_fresh() {
        let d = tempfile::tempdir().unwrap();
        let mut l = ApprovalLedger::new(d.path(), &d.path().join("Logs"));
        l.append(rec("t", ApprovalEvent::Requested, "h1")).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(d.path().join("approvals.jsonl"))
            .unwrap()
            .write_all(b"{\"seq\":2,\"ts\"")
            .unwrap();
        let mut l = ApprovalLedger::new(d.path(), &d.path().join("Logs"));
        l.append(rec("t", ApprovalEvent::Bound, "h1")).unwrap();
        let mut l = ApprovalLedger::new(d.path(), &d.path().join("Logs"));
        assert!(matches!(l.standing("i").unwrap(), Standing::Bound { hash, .. } if hash == "h1"));
    }
}
