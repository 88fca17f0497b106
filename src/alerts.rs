//! Telling the owner that something is wrong, or right again: the one way out for every
//! alert (`aie alert` for a failed unit, `health-check` for a check that went DOWN or UP,
//! `failover` for a switch). An alert carries a level (`info`, `warning`, `critical`); it is
//! appended to `Logs/alerts/<date>.jsonl` (synced, merged line by line), audited, mailed to
//! `owner.email` only through the [`Mailer`] when `smtp:` is set up, and posted as JSON to
//! `alerts.webhook_url` when one is set. An alert is not an action (SPEC): no item, no
//! approval, no journal, no rate limit; mail and webhook failures never fail the caller
//! (the alert is already in the log and on the Dashboard).

use crate::audit::AuditEvent;
use crate::connectors::capabilities::{Mailer, OutgoingMail};
use crate::connectors::http::{Body, Http, Request, RetryPolicy, retry_usual};
use crate::context::Ctx;
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;

/// How much an alert matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Critical,
}

impl Level {
    pub const fn name(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

/// One alert.
#[derive(Debug, Clone)]
pub struct Alert {
    /// What it is about (`health:website`, `failover`, `aie-triage.service`).
    pub key: String,
    pub level: Level,
    /// What happened, in a few words: `down`, `up`, `still_down`, `switched`, `failed`.
    pub event: String,
    /// One line for the owner.
    pub message: String,
}

/// Retries of the webhook: few and short (the next alert or reminder comes anyway).
const WEBHOOK_RETRY: RetryPolicy = RetryPolicy {
    max_retries: 2,
    initial: Duration::from_millis(300),
    max_backoff: Duration::from_secs(2),
    max_retry_after: Duration::from_secs(5),
    max_total_wait: Duration::from_secs(10),
};

/// Delivers `alert`: the log line and the audit line first (errors are returned), then the
/// mail and the webhook (failures only logged).
pub fn deliver(ctx: &Ctx, alert: &Alert) -> Result<()> {
    let message = crate::audit::scrub(&alert.message, &ctx.secrets.values());
    let line = json!({
        "ts": ctx.clock.stamp(),
        "agent": ctx.agent,
        "level": alert.level,
        "key": alert.key,
        "event": alert.event,
        "message": message,
    });
    append_log(ctx, &line)?;
    ctx.audit.append(AuditEvent {
        target: Some(alert.key.clone()),
        result: Some(alert.event.clone()),
        parameters: json!({"level": alert.level}),
        ..AuditEvent::new("alert", None)
    })?;
    let subject = format!(
        "aie {}: {} {}",
        alert.level.name(),
        alert.key,
        alert.event.replace('_', " ")
    );
    mail_owner(ctx, &alert.key, &subject, &message);
    post_webhook(ctx, &line);
    Ok(())
}

/// Appends one JSON line to `Logs/alerts/<date>.jsonl`, synced to disk.
pub fn append_log(ctx: &Ctx, line: &Value) -> Result<()> {
    let dir = ctx.vault.logs().join("alerts");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let path = dir.join(format!("{}.jsonl", ctx.clock.today()));
    crate::fsutil::append_synced(&path, &format!("{line}\n"))
}

/// The newest `n` alert lines of the last days' logs, newest last.
pub fn recent(ctx: &Ctx, n: usize) -> Vec<Value> {
    let dir = ctx.vault.logs().join("alerts");
    let mut files = crate::fsutil::sorted_paths(&dir);
    files.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
    let mut lines: Vec<Value> = Vec::new();
    for p in files.iter().rev().take(3).rev() {
        if let Ok((bytes, _)) = crate::fsutil::read_regular_nofollow(p) {
            lines.extend(
                String::from_utf8_lossy(&bytes)
                    .lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok()),
            );
        }
    }
    // Two agents' lines merged by sync: order by time.
    lines.sort_by(|a, b| a["ts"].as_str().cmp(&b["ts"].as_str()));
    let skip = lines.len().saturating_sub(n);
    lines.split_off(skip)
}

/// Mails the owner (`owner.email`, nobody else) through the mail capability when `smtp:` is
/// set up. One Message-ID per alert: its key and the time it was raised.
pub fn mail_owner(ctx: &Ctx, key: &str, subject: &str, message: &str) {
    mail_owner_checked(ctx, key, subject, message);
}

/// [`mail_owner`], saying whether the mail was accepted.
pub fn mail_owner_checked(ctx: &Ctx, key: &str, subject: &str, message: &str) -> bool {
    let stamp = ctx.clock.stamp();
    let body = format!(
        "{message}\n\nAgent {} at {stamp}. See Logs/alerts/ and the Dashboard in the vault `{}`; `aie status` shows every job and check.\n",
        ctx.agent,
        ctx.vault.root().display()
    );
    let id = crate::vault::item::make_id(
        &format!("alert {key}"),
        &[key.as_bytes(), stamp.as_bytes(), subject.as_bytes()],
    );
    match send_to_owner(ctx, subject, body, id) {
        Ok(()) => {
            log::info!("mailed the owner about `{key}`");
            true
        }
        Err(NotMailed::NoOwner) => {
            log::info!("no owner.email in aie.yaml: the alert `{key}` is not mailed");
            false
        }
        Err(NotMailed::NoSmtp) => false,
        Err(NotMailed::Unusable(e) | NotMailed::Refused(e)) => {
            log::warn!("cannot mail the owner about `{key}`: {e}");
            false
        }
    }
}

/// Why a mail to the owner did not go out.
#[derive(Debug, Clone, PartialEq)]
pub enum NotMailed {
    /// No `owner.email` in aie.yaml.
    NoOwner,
    /// No `smtp:` section.
    NoSmtp,
    /// The `smtp:` section or its secrets cannot build a mailer: why.
    Unusable(String),
    /// The mail server did not take it: what it said (scrubbed).
    Refused(String),
}

/// Mails the owner (`owner.email`, nobody else) through the mail capability, when `smtp:` is
/// set up: what alerts and reports send. `key` is the mail's stable key (its Message-ID is
/// derived from it, so a resend is recognisable).
pub fn send_to_owner(ctx: &Ctx, subject: &str, body: String, key: String) -> Result<(), NotMailed> {
    let to = ctx.settings.owner.email.clone();
    let to = to.filter(|e| e.contains('@')).ok_or(NotMailed::NoOwner)?;
    let mut mailer =
        match crate::connectors::smtp::mailer(&ctx.settings, &ctx.secrets, ctx.vault.root()) {
            Ok(Some(m)) => m,
            Ok(None) => return Err(NotMailed::NoSmtp),
            Err(e) => return Err(NotMailed::Unusable(format!("{e:#}"))),
        };
    let mail = OutgoingMail {
        to: vec![to],
        subject: subject.to_string(),
        body,
        key,
        ..OutgoingMail::default()
    };
    match mailer.send(&mail) {
        crate::executor::ActionOutcome::Ok(_) => Ok(()),
        other => Err(NotMailed::Refused(crate::secrets::scrub(&format!(
            "{other:?}"
        )))),
    }
}

/// Posts `line` as JSON to `alerts.webhook_url`, when one is set.
pub fn post_webhook(ctx: &Ctx, line: &Value) {
    let Some(url) = ctx.settings.alerts.webhook_url.as_deref() else {
        return;
    };
    let http = Http::new(
        "alert webhook",
        Duration::from_secs(10),
        WEBHOOK_RETRY,
        ctx.time_left().map(|d| std::time::Instant::now() + d),
    );
    // Repeating a post only repeats a notice: safe to retry.
    match http.send(&Request::post(url, Body::Json(line), true), &retry_usual) {
        Ok(_) => log::info!("posted the alert to the webhook"),
        Err(e) => log::warn!("cannot post the alert to the webhook: {e}"),
    }
}
