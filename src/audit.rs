//! The audit trail: `Logs/YYYY-MM-DD.jsonl` (the date in the owner's zone), one JSON object
//! a line, append-only, merged line by line across agents. Parameters are redacted here,
//! once: message bodies and post texts are replaced by their size, secret values by a marker.

use crate::clock::Clock;
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One audit event. Every field of the contract is always present (null when it does not apply).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditEvent {
    pub ts: String,
    pub agent: String,
    pub job: String,
    pub action: String,
    pub item: Option<String>,
    pub target: Option<String>,
    pub parameters: Value,
    pub approval_status: Option<String>,
    pub approved_by: Option<String>,
    pub result: Option<String>,
    pub error: Option<String>,
}

impl AuditEvent {
    /// An event of `action` about `item` (fill the other fields with struct update syntax).
    pub fn new(action: &str, item: Option<&str>) -> AuditEvent {
        AuditEvent {
            action: action.to_string(),
            item: item.map(str::to_string),
            parameters: Value::Null,
            ..AuditEvent::default()
        }
    }

    /// The event of a new item `id` made from `source` (a file, a message), with what
    /// describes it.
    pub fn item_created(id: &str, source: String, parameters: Value) -> AuditEvent {
        AuditEvent {
            target: Some(source),
            parameters,
            result: Some("ok".into()),
            ..AuditEvent::new("item_created", Some(id))
        }
    }
}

/// Keys whose values are content, not metadata: logged as their size only.
const CONTENT_KEYS: &[&str] = &["body", "text", "html", "content", "raw", "message"];
/// Keys whose values are credentials: never logged at all.
const SECRET_KEYS: &[&str] = &["password", "token", "api_key", "secret", "authorization"];

/// A copy of `value` safe for a log: content replaced by its size, credentials and any
/// known secret value replaced by a marker.
pub fn redact(value: &Value, secrets: &[String]) -> Value {
    match value {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let lk = k.to_ascii_lowercase();
                let red = if SECRET_KEYS.iter().any(|s| lk.contains(s)) {
                    Value::String("[redacted]".into())
                } else if CONTENT_KEYS.contains(&lk.as_str()) {
                    match v {
                        Value::String(s) => Value::String(format!("[{} bytes]", s.len())),
                        Value::Null => Value::Null,
                        _ => Value::String("[redacted]".into()),
                    }
                } else {
                    redact(v, secrets)
                };
                out.insert(k.clone(), red);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| redact(v, secrets)).collect()),
        Value::String(s) => Value::String(scrub(s, secrets)),
        other => other.clone(),
    }
}

/// `s` with every known secret text (of 4 bytes or more; `secrets` is
/// [`crate::secrets::Secrets::values`]: each value and its encodings) replaced by `[secret]`.
pub fn scrub(s: &str, secrets: &[String]) -> String {
    crate::secrets::scrub_with(s, secrets)
}

/// Appends events to the day's log of one vault.
pub struct AuditLog {
    dir: PathBuf,
    agent: String,
    job: String,
    clock: Clock,
    secrets: Vec<String>,
    /// Today's log, open for appending (a Mutex: passes share the context between threads).
    open: Mutex<Option<(String, File)>>,
}

impl AuditLog {
    pub fn new(
        logs_dir: &Path,
        agent: &str,
        job: &str,
        clock: Clock,
        secrets: Vec<String>,
    ) -> Self {
        AuditLog {
            dir: logs_dir.to_path_buf(),
            agent: agent.to_string(),
            job: job.to_string(),
            clock,
            secrets,
            open: Mutex::new(None),
        }
    }

    /// Appends one event: stamps it, redacts it, writes one line. Errors name the log file.
    pub fn append(&self, ev: AuditEvent) -> Result<()> {
        self.write(&self.line(ev))
    }

    /// The line [`AuditLog::append`] writes for `ev`, stamped now: events made on several
    /// threads, written together by [`AuditLog::write`] in their order.
    pub fn line(&self, mut ev: AuditEvent) -> String {
        ev.ts = self.clock.stamp();
        ev.agent = self.agent.clone();
        if ev.job.is_empty() {
            ev.job = self.job.clone();
        }
        ev.parameters = redact(&ev.parameters, &self.secrets);
        ev.error = ev.error.map(|e| scrub(&e, &self.secrets));
        ev.target = ev.target.map(|t| scrub(&t, &self.secrets));
        let mut line = serde_json::to_string(&ev).expect("invariant: event serializes");
        line.push('\n');
        line
    }

    /// Appends lines made by [`AuditLog::line`] to today's log, in one write.
    pub fn write(&self, lines: &str) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let day = self.clock.today();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.as_ref().is_none_or(|(d, _)| *d != day) {
            std::fs::create_dir_all(&self.dir)
                .with_context(|| format!("cannot create `{}`", self.dir.display()))?;
            let path = self.dir.join(format!("{day}.jsonl"));
            // Never appended through a link planted in the vault.
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .with_context(|| format!("cannot open `{}`", path.display()))?;
            *open = Some((day.clone(), f));
        }
        let (_, f) = open.as_mut().expect("invariant: opened above");
        crate::fsutil::fault(crate::fsutil::Io::Write)
            .and_then(|()| f.write_all(lines.as_bytes()))
            .with_context(|| format!("cannot append to `{}/{day}.jsonl`", self.dir.display()))
    }

    /// Makes every line appended so far durable.
    pub fn sync(&self) -> Result<()> {
        if let Some((_, f)) = self.open.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            f.sync_data().context("cannot sync the audit log")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redaction_hides_bodies_and_secrets() {
        let v = json!({"to": ["a@b.c"], "subject": "hi sk-SECRET1", "body": "hello there",
                       "password": "pw", "nested": {"text": "post"}});
        let r = redact(&v, &["sk-SECRET1".to_string()]);
        assert_eq!(r["body"], "[11 bytes]");
        assert_eq!(r["password"], "[redacted]");
        assert_eq!(r["subject"], "hi [secret]");
        assert_eq!(r["nested"]["text"], "[4 bytes]");
        assert_eq!(r["to"][0], "a@b.c");
    }

    #[test]
    fn appends_one_line_per_event_to_the_day_file() {
        let d = tempfile::tempdir().unwrap();
        let clock = Clock::new(Some("2026-11-22T10:00:00Z"), "UTC").unwrap();
        let log = AuditLog::new(d.path(), "local", "plan", clock, vec![]);
        log.append(AuditEvent::new("planned", Some("x"))).unwrap();
        log.append(AuditEvent::new("routed", Some("x"))).unwrap();
        let text = std::fs::read_to_string(d.path().join("2026-11-22.jsonl")).unwrap();
        assert_eq!(text.lines().count(), 2);
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        for key in [
            "ts",
            "agent",
            "job",
            "action",
            "item",
            "target",
            "parameters",
            "approval_status",
            "approved_by",
            "result",
            "error",
        ] {
            assert!(first.get(key).is_some(), "missing {key}");
        }
    }
}
