//! The execution journal, `.aie/journal.jsonl`: the intent of each action is written durably
//! before its side effect and its outcome after. Keyed by the action's idempotency key (item
//! id + canonical JSON of the action), so a re-plan or a reordering never makes one action
//! look like two. An intent with no outcome after a crash means "outcome unknown".

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalEntry {
    pub ts: String,
    pub key: String,
    pub item: String,
    pub kind: String,
    /// `intent` or `outcome`.
    pub phase: String,
    /// For outcomes: `ok`, `failed`, `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// For outcomes: what the service said (message id, invoice number...), never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What the journal knows of one action key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// Never started.
    New,
    /// An intent is recorded with no outcome: it may or may not have happened.
    InFlight,
    /// The last attempt ended with this result (`ok`, `failed`, `unknown`).
    Finished(String),
}

/// The journal of one agent.
pub struct Journal {
    path: PathBuf,
    last: HashMap<String, JournalEntry>,
    file: Option<File>,
    /// The file ends in a torn line: the next append starts a fresh line.
    torn: bool,
}

impl Journal {
    /// Reads the journal (empty when missing). A torn last line (a crash mid-write) is skipped.
    pub fn open(aie_dir: &Path) -> Result<Journal> {
        let path = aie_dir.join("journal.jsonl");
        let mut last = HashMap::new();
        let mut torn = false;
        match File::open(&path) {
            Ok(f) => {
                torn = std::fs::read(&path).is_ok_and(|b| b.last().is_some_and(|c| *c != b'\n'));
                for line in BufReader::new(f).lines() {
                    let line = line.with_context(|| format!("cannot read `{}`", path.display()))?;
                    if let Ok(e) = serde_json::from_str::<JournalEntry>(&line) {
                        last.insert(e.key.clone(), e);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        }
        Ok(Journal {
            path,
            last,
            file: None,
            torn,
        })
    }

    /// Where the action with this key stands.
    pub fn state(&self, key: &str) -> KeyState {
        match self.last.get(key) {
            None => KeyState::New,
            Some(e) if e.phase == "intent" => KeyState::InFlight,
            Some(e) => KeyState::Finished(e.result.clone().unwrap_or_default()),
        }
    }

    /// The last entry of a key (for the detail of a finished action).
    pub fn last(&self, key: &str) -> Option<&JournalEntry> {
        self.last.get(key)
    }

    /// Intents of `kind` recorded at or after `since` (RFC 3339, compared as instants): the
    /// rate limits count these.
    pub fn intents_since(&self, kind: &str, since: chrono::DateTime<chrono::Utc>) -> usize {
        self.last
            .values()
            .filter(|e| e.kind == kind)
            .filter(|e| {
                crate::clock::parse_time(&e.ts).is_some_and(|t| t >= since)
                    && e.result.as_deref() != Some("failed")
            })
            .count()
    }

    /// Appends an entry and syncs it before returning: an intent must be on disk before the
    /// side effect starts.
    pub fn record(&mut self, mut entry: JournalEntry) -> Result<()> {
        // A detail may quote a server's reply: never a secret on disk.
        entry.detail = entry.detail.map(|d| crate::secrets::scrub(&d));
        if self.file.is_none() {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .with_context(|| format!("cannot open `{}`", self.path.display()))?;
            self.file = Some(f);
        }
        let f = self.file.as_mut().expect("invariant: opened above");
        let mut line = if std::mem::take(&mut self.torn) {
            "\n".to_string()
        } else {
            String::new()
        };
        line.push_str(&serde_json::to_string(&entry).expect("invariant: entry serializes"));
        line.push('\n');
        crate::fsutil::fault(crate::fsutil::Io::Write)
            .and_then(|()| f.write_all(line.as_bytes()))
            .and_then(|_| f.sync_data())
            .with_context(|| format!("cannot write `{}`", self.path.display()))?;
        self.last.insert(entry.key.clone(), entry);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, phase: &str, result: Option<&str>) -> JournalEntry {
        JournalEntry {
            ts: "2026-11-22T10:00:00Z".into(),
            key: key.into(),
            item: "i".into(),
            kind: "send_email".into(),
            phase: phase.into(),
            result: result.map(Into::into),
            detail: None,
        }
    }

    #[test]
    fn intent_without_outcome_is_in_flight_after_reopen() {
        let d = tempfile::tempdir().unwrap();
        let mut j = Journal::open(d.path()).unwrap();
        j.record(entry("k1", "intent", None)).unwrap();
        j.record(entry("k2", "intent", None)).unwrap();
        j.record(entry("k2", "outcome", Some("ok"))).unwrap();
        // A torn line from a crash mid-write is ignored.
        std::fs::OpenOptions::new()
            .append(true)
            .open(d.path().join("journal.jsonl"))
            .unwrap()
            .write_all(b"{\"ts\":\"2026")
            .unwrap();
        let mut j = Journal::open(d.path()).unwrap();
        j.record(entry("k4", "intent", None)).unwrap();
        let j = Journal::open(d.path()).unwrap();
        assert_eq!(
            j.state("k4"),
            KeyState::InFlight,
            "an append after a torn line is kept"
        );
        assert_eq!(j.state("k1"), KeyState::InFlight);
        assert_eq!(j.state("k2"), KeyState::Finished("ok".into()));
        assert_eq!(j.state("k3"), KeyState::New);
    }
}
