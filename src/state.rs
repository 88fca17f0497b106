//! `.aie/state.json`: this agent's memory between passes (per job: last start, finish,
//! exit, duration, counts, consecutive failures; open attention entries; recent activity;
//! and sections owned by connectors such as the Gmail history id). Read freely, changed only
//! under the short `state` lock, written atomically. Never synced.

use crate::fsutil;
use crate::lock;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What one job's last runs left behind.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct JobState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_finish: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<i32>,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub counts: BTreeMap<String, u64>,
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Set when a run starts, cleared when it finishes: still set at the next start means
    /// the last run crashed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub last_finish_pending: bool,
    /// The last pass that changed something (idle passes leave it alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_work: Option<String>,
}

/// Something that needs the owner, kept until it clears.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attention {
    pub since: String,
    pub message: String,
    #[serde(default)]
    pub passes: u64,
}

/// One line of recent activity for the dashboard.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recent {
    pub ts: String,
    pub text: String,
}

/// The whole state file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub jobs: BTreeMap<String, JobState>,
    /// Keyed by a stable problem key (`<job>:<item or check>`).
    #[serde(default)]
    pub attention: BTreeMap<String, Attention>,
    #[serde(default)]
    pub recent: Vec<Recent>,
    /// Sections owned by other modules (`gmail`, `llm`, ...), kept as they are.
    #[serde(flatten)]
    pub sections: Map<String, Value>,
}

/// How many recent-activity lines are kept.
pub const RECENT_MAX: usize = 15;

impl State {
    /// Adds a line of recent activity, keeping the newest [`RECENT_MAX`].
    pub fn push_recent(&mut self, ts: &str, text: String) {
        self.recent.push(Recent {
            ts: ts.to_string(),
            text,
        });
        let n = self.recent.len();
        if n > RECENT_MAX {
            self.recent.drain(..n - RECENT_MAX);
        }
    }
}

/// Reads and updates `state.json`.
#[derive(Debug, Clone)]
pub struct StateStore {
    aie_dir: PathBuf,
}

impl StateStore {
    pub fn new(aie_dir: &Path) -> StateStore {
        StateStore {
            aie_dir: aie_dir.to_path_buf(),
        }
    }

    fn path(&self) -> PathBuf {
        self.aie_dir.join("state.json")
    }

    /// The current state (empty when there is none yet). Errors name the file when it is corrupt.
    pub fn load(&self) -> Result<State> {
        let path = self.path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("cannot parse `{}`", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        }
    }

    /// Reads, changes and writes the state atomically under the short state lock.
    pub fn update<T>(&self, f: impl FnOnce(&mut State) -> T) -> Result<T> {
        lock::with_short_lock(&self.aie_dir, "state", || {
            let mut state = self.load()?;
            let out = f(&mut state);
            let bytes = serde_json::to_vec_pretty(&state).expect("invariant: state serializes");
            fsutil::write_atomic(&self.path(), &bytes)?;
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_keeps_foreign_sections() {
        let d = tempfile::tempdir().unwrap();
        let store = StateStore::new(d.path());
        store
            .update(|s| {
                s.sections
                    .insert("gmail".into(), serde_json::json!({"history_id": "42"}));
                s.jobs
                    .entry("plan".into())
                    .or_default()
                    .consecutive_failures = 2;
            })
            .unwrap();
        store.update(|s| s.push_recent("t", "x".into())).unwrap();
        let s = store.load().unwrap();
        assert_eq!(s.sections["gmail"]["history_id"], "42");
        assert_eq!(s.jobs["plan"].consecutive_failures, 2);
        assert_eq!(s.recent.len(), 1);
    }
}
