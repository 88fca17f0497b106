//! `.aie/state.json`: this agent's memory between passes (per job: last start, finish,
//! exit, duration, counts, consecutive failures; open attention entries; recent activity;
//! and one typed section per owner: `gmail` (poll-gmail's cursor), `llm` (tokens spent per
//! day), `replan` (how far Rejected/ was scanned), `health` (each check's DOWN/UP state, and
//! each connector's last live answer), `odoo` (the last Odoo error until a call succeeds)).
//! The one place a job's run is recorded ([`State::record_start`], [`State::record_finish`]).
//! Read freely, changed only under the short `state` lock, written atomically. Never synced.

use crate::exit::Exit;
use crate::fsutil;
use crate::lock;
use anyhow::{Context, Result};
use serde::{Deserialize, Deserializer, Serialize};
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
    /// A scheduled job's last run (`aie run`): each step it ran, with its exit and time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepRecord>,
    /// A scheduled job's last run: the steps it did not start (after a failure with
    /// `on_failure: stop`, or past its soft deadline).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
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

/// What poll-gmail remembers between runs (section `gmail`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GmailState {
    /// Where the next history.list starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_id: Option<String>,
    /// Messages found but not yet imported and marked, oldest first.
    #[serde(default)]
    pub pending: Vec<String>,
    /// Failed attempts per pending message.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attempts: BTreeMap<String, u32>,
    /// When the last full resync after an expired history id happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_resync: Option<String>,
}

/// What poll-social remembers between runs (section `social`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SocialState {
    /// Facebook: the newest comment time seen (Unix seconds); comments from this second on
    /// are read again and skipped by item id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facebook_since: Option<i64>,
    /// X: the newest mention id seen (`since_id` of the next read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_since_id: Option<String>,
    /// X: the account's user id (read once from `/2/users/me`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_user_id: Option<String>,
}

/// The last verdict of Odoo (section `odoo`): the error of the last failed call, kept until
/// a call succeeds; `status` shows it under attention.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct OdooState {
    /// What the last failed call said (a connection, the login, or Odoo's own error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Since when calls have failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// When a call last succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ok: Option<String>,
}

impl OdooState {
    /// Records a command's last Odoo verdict at `now`: an error is kept (with the time the
    /// failures began); a success clears it.
    pub fn record(&mut self, verdict: Result<(), String>, now: &str) {
        match verdict {
            Ok(()) => {
                self.last_error = None;
                self.since = None;
                self.last_ok = Some(now.to_string());
            }
            Err(m) => {
                if self.last_error.is_none() {
                    self.since = Some(now.to_string());
                }
                self.last_error = Some(m);
            }
        }
    }
}

/// What the model planner has spent (section `llm`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LlmState {
    /// Tokens per day (`YYYY-MM-DD` in the owner's zone), the last [`LLM_DAYS_KEPT`] days.
    #[serde(default)]
    pub tokens_by_day: BTreeMap<String, u64>,
}

/// How many days of token counts are kept.
pub const LLM_DAYS_KEPT: usize = 31;

impl LlmState {
    /// Tokens `day` has used.
    pub fn tokens_on(&self, day: &str) -> u64 {
        self.tokens_by_day.get(day).copied().unwrap_or(0)
    }

    /// Adds `n` tokens to `day`, keeping the last [`LLM_DAYS_KEPT`] days.
    pub fn add_tokens(&mut self, day: &str, n: u64) {
        *self.tokens_by_day.entry(day.to_string()).or_default() += n;
        while self.tokens_by_day.len() > LLM_DAYS_KEPT {
            self.tokens_by_day.pop_first();
        }
    }

    fn is_empty(&self) -> bool {
        self.tokens_by_day.is_empty()
    }
}

/// How far the replan scan of `Rejected/` got (section `replan`).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct ReplanState {
    /// The newest inode change time (seconds, from the disk) the last scan saw.
    #[serde(default)]
    pub scanned_until: i64,
}

/// The last digest of waiting requests mailed to the owner (section `nudge`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NudgeState {
    /// When it was sent (RFC 3339).
    #[serde(default)]
    pub last: Option<String>,
}

/// Where and when `aie schedule install` put the timers in place (section `schedule`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ScheduleState {
    /// When (RFC 3339).
    #[serde(default)]
    pub installed: Option<String>,
    /// The folder the units were written to.
    #[serde(default)]
    pub units: Option<String>,
}

/// One step of a scheduled job's last run ([`JobState::steps`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StepRecord {
    pub step: String,
    pub exit: i32,
    #[serde(default)]
    pub duration_ms: u64,
}

/// What `health-check` knows of one check between runs (section `health`, keyed by check).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CheckState {
    /// `up`, `down`, or `unknown` before the first verdict.
    pub status: String,
    /// Since when it has had this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(default)]
    pub fails_in_row: u32,
    #[serde(default)]
    pub oks_in_row: u32,
    /// The last result: `ok` or `fail`, what it said, and when.
    #[serde(default)]
    pub last_result: String,
    #[serde(default)]
    pub last_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked: Option<String>,
    /// When the owner was last told about it (the incident's start, or a reminder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_alert: Option<String>,
    /// A connector's last live answer (absent for the other checks, and in files written
    /// before it existed): the passes within `health.live_every` of it reuse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveAnswer>,
}

/// What a connector said when `health-check` last asked it live ([`CheckState::live`]).
/// Kept so the passes in between need not ask again: the platforms count those calls
/// against small daily quotas, and a mail server counts the logins.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LiveAnswer {
    /// When it was asked (the pinned clock's stamp, like every time in `health`).
    pub at: String,
    /// Whether the answer was a success (a failure is never reused).
    pub ok: bool,
    /// What it said (scrubbed).
    pub message: String,
    /// A digest of the connector's `aie.yaml` section when it was asked: once the section
    /// changes (another URL, another account), the old answer no longer stands.
    #[serde(default)]
    pub settings_digest: String,
}

/// Reads a section leniently: one that does not parse (hand-edited, or written by an older
/// aie) reads as empty, as it always has, instead of making the whole state unreadable.
fn lenient<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_else(|e| {
        log::warn!("a section of state.json does not parse ({e}): starting it afresh");
        T::default()
    }))
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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub gmail: Option<GmailState>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub social: Option<SocialState>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub odoo: Option<OdooState>,
    #[serde(
        default,
        skip_serializing_if = "LlmState::is_empty",
        deserialize_with = "lenient"
    )]
    pub llm: LlmState,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub replan: Option<ReplanState>,
    /// The section `run` older versions wrote beside `jobs` (each job's steps, now in
    /// [`JobState`]): read and dropped.
    #[serde(default, rename = "run", skip_serializing)]
    pub old_run: serde::de::IgnoredAny,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "lenient"
    )]
    pub health: BTreeMap<String, CheckState>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub nudge: Option<NudgeState>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub schedule: Option<ScheduleState>,
    /// Sections this version does not know (written by a newer aie), kept as they are.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// How a finished run is recorded ([`State::record_finish`]).
#[derive(Debug, Clone)]
pub struct RunFinish<'a> {
    /// When the run started and when it finished (the pinned clock's stamps).
    pub start: &'a str,
    pub now: &'a str,
    pub exit: Exit,
    /// How long it took (None keeps the last figure: a run ended by its watchdog).
    pub duration_ms: Option<u64>,
    /// Its counts (None keeps the last ones).
    pub counts: Option<BTreeMap<String, u64>>,
    /// Whether it succeeded: resets the failures in a row. A failure other than a busy
    /// lock adds one.
    pub succeeded: bool,
    /// Whether it changed something.
    pub worked: bool,
    /// A scheduled job's steps and those it did not start (None keeps the last ones: a pass,
    /// or a run its watchdog ended).
    pub steps: Option<(Vec<StepRecord>, Vec<String>)>,
}

/// How many recent-activity lines are kept.
pub const RECENT_MAX: usize = 15;

impl State {
    /// Records that `job` started at `stamp`. With `pending`, marks the run unfinished until
    /// [`State::record_finish`]; returns whether the previous run was still marked so (it
    /// crashed).
    pub fn record_start(&mut self, job: &str, stamp: &str, pending: bool) -> bool {
        let j = self.jobs.entry(job.to_string()).or_default();
        let crashed = j.last_finish_pending;
        j.last_start = Some(stamp.to_string());
        if pending {
            j.last_finish_pending = true;
        }
        crashed
    }

    /// Records a finished run of `job`: times, exit, duration, counts, failures in a row.
    pub fn record_finish(&mut self, job: &str, f: RunFinish<'_>) {
        let j = self.jobs.entry(job.to_string()).or_default();
        j.last_start = Some(f.start.to_string());
        j.last_finish = Some(f.now.to_string());
        j.last_finish_pending = false;
        j.last_exit = Some(f.exit.code() as i32);
        if let Some(d) = f.duration_ms {
            j.duration_ms = d;
        }
        if let Some(c) = f.counts {
            j.counts = c;
        }
        if f.succeeded {
            j.last_success = Some(f.now.to_string());
            j.consecutive_failures = 0;
        } else if f.exit != Exit::LockBusy {
            j.consecutive_failures += 1;
        }
        if f.worked {
            j.last_work = Some(f.now.to_string());
        }
        if let Some((steps, skipped)) = f.steps {
            j.steps = steps;
            j.skipped = skipped;
        }
    }

    /// Puts `message` under attention at `key`: a repeat of the same message counts one more
    /// pass; a new or changed one starts afresh. Returns whether it is new.
    pub fn raise(&mut self, key: &str, message: &str, now: &str) -> bool {
        match self.attention.get_mut(key) {
            Some(a) if a.message == message => {
                a.passes += 1;
                false
            }
            _ => {
                self.attention.insert(
                    key.to_string(),
                    Attention {
                        since: now.to_string(),
                        message: message.to_string(),
                        passes: 1,
                    },
                );
                true
            }
        }
    }

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
                s.other
                    .insert("newer".into(), serde_json::json!({"x": "42"}));
                s.gmail = Some(GmailState {
                    history_id: Some("42".into()),
                    ..GmailState::default()
                });
                s.jobs
                    .entry("plan".into())
                    .or_default()
                    .consecutive_failures = 2;
            })
            .unwrap();
        store.update(|s| s.push_recent("t", "x".into())).unwrap();
        let s = store.load().unwrap();
        assert_eq!(s.other["newer"]["x"], "42");
        assert_eq!(s.gmail.unwrap().history_id.as_deref(), Some("42"));
        assert_eq!(s.jobs["plan"].consecutive_failures, 2);
        assert_eq!(s.recent.len(), 1);
    }

    /// The typed sections read the state.json today's main writes, and write it back the
    /// same way (a section that does not parse reads as empty, as it did before).
    #[test]
    fn typed_sections_read_and_write_the_files_of_before() {
        let before = serde_json::json!({
            "jobs": {"plan": {"duration_ms": 3, "counts": {"planned": 1}, "consecutive_failures": 0}},
            "attention": {},
            "recent": [],
            "gmail": {"history_id": "77", "pending": ["m1"], "attempts": {"m1": 2}},
            "llm": {"tokens_by_day": {"2026-11-23": 12}},
            "replan": {"scanned_until": 1700000000},
            "sync": {"head": "abc"}
        });
        let s: State = serde_json::from_value(before.clone()).unwrap();
        assert_eq!(s.gmail.as_ref().unwrap().attempts["m1"], 2);
        assert_eq!(s.llm.tokens_on("2026-11-23"), 12);
        assert_eq!(s.replan.unwrap().scanned_until, 1700000000);
        assert_eq!(serde_json::to_value(&s).unwrap(), before);
        // The `run` section of older versions (a job's steps, now in `jobs`) reads and is
        // dropped.
        let mut old = before.clone();
        old["run"] = serde_json::json!({"triage": {"at": "2026-11-23T09:00:00Z", "steps": [{"step": "plan", "exit": 0, "duration_ms": 5}], "skipped": ["x"]}});
        let s: State = serde_json::from_value(old).unwrap();
        assert_eq!(serde_json::to_value(&s).unwrap(), before);
        let bad: State =
            serde_json::from_value(serde_json::json!({"gmail": 5, "llm": [], "replan": "x"}))
                .unwrap();
        assert!(bad.gmail.is_none() && bad.llm.tokens_by_day.is_empty() && bad.replan.is_none());
    }

    /// A health section written before connectors kept their last live answer reads (with
    /// none), and writes back as it was; one with an answer keeps it.
    #[test]
    fn a_health_section_of_before_reads_without_a_live_answer() {
        let before = serde_json::json!({"health": {"x": {"status": "up", "fails_in_row": 0,
            "oks_in_row": 3, "last_result": "ok", "last_message": "@samsshop",
            "last_checked": "2026-11-23T09:00:00Z"}}});
        let s: State = serde_json::from_value(before.clone()).unwrap();
        assert_eq!(s.health["x"].status, "up");
        assert!(s.health["x"].live.is_none());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["health"], before["health"]);
        let mut with = before;
        with["health"]["x"]["live"] = serde_json::json!({"at": "2026-11-23T09:00:00Z",
            "ok": true, "message": "@samsshop", "settings_digest": "0123456789abcdef"});
        let s: State = serde_json::from_value(with.clone()).unwrap();
        let live = s.health["x"].live.as_ref().unwrap();
        assert!(live.ok && live.message == "@samsshop");
        assert_eq!(serde_json::to_value(&s).unwrap()["health"], with["health"]);
    }

    #[test]
    fn the_last_odoo_error_is_kept_from_its_first_pass_until_a_success() {
        let mut o = OdooState::default();
        o.record(Err("odoo: refused".into()), "t1");
        o.record(Err("odoo: out of reach".into()), "t2");
        assert_eq!(o.last_error.as_deref(), Some("odoo: out of reach"));
        assert_eq!(o.since.as_deref(), Some("t1"));
        o.record(Ok(()), "t3");
        assert!(o.last_error.is_none() && o.since.is_none());
        assert_eq!(o.last_ok.as_deref(), Some("t3"));
    }

    #[test]
    fn tokens_are_summed_per_day_and_old_days_dropped() {
        let mut l = LlmState::default();
        l.add_tokens("2026-11-23", 5);
        l.add_tokens("2026-11-23", 7);
        assert_eq!(l.tokens_on("2026-11-23"), 12);
        for d in 1..=40 {
            l.add_tokens(&format!("2026-10-{d:02}"), 1);
        }
        assert_eq!(l.tokens_by_day.len(), LLM_DAYS_KEPT);
        assert_eq!(l.tokens_on("2026-11-23"), 12);
    }

    #[test]
    fn a_run_is_recorded_in_one_place() {
        let mut s = State::default();
        assert!(!s.record_start("plan", "t0", true));
        // Never finished: the next start sees the crash.
        assert!(s.record_start("plan", "t1", true));
        let finish = |exit, succeeded| RunFinish {
            start: "t1",
            now: "t2",
            exit,
            duration_ms: Some(9),
            counts: None,
            succeeded,
            worked: false,
            steps: None,
        };
        s.record_finish("plan", finish(Exit::Partial, false));
        s.record_finish("plan", finish(Exit::LockBusy, false));
        let j = &s.jobs["plan"];
        assert_eq!((j.consecutive_failures, j.last_exit), (1, Some(75)));
        assert!(!j.last_finish_pending && j.last_success.is_none());
        s.record_finish("plan", finish(Exit::Ok, true));
        assert_eq!(s.jobs["plan"].consecutive_failures, 0);
        assert_eq!(s.jobs["plan"].last_success.as_deref(), Some("t2"));
    }
}
