//! Zones: which agent does what (`zones:` in `aie.yaml`), which zone is active, and how
//! healthy the other agent looks. The active zone is recorded in the vault, in
//! `Logs/zone/switches.jsonl` (one line per switch, synced and merged line by line like the
//! audit log), so both agents read the same answer: the newest switch to a configured zone,
//! else the first zone. A single-holder duty (polling Gmail or the social platforms,
//! ingesting WhatsApp) runs only on the active zone's agent; `plan` and `execute` on every
//! agent whose zone lists them (claims keep one planner per item; only a full agent ever
//! executes). With no `zones:` every agent does everything, as before. Heartbeats
//! (`Logs/heartbeats/<agent>.json`) are written by `sync-vault`; their age says whether the
//! other zone is alive. Never prints; no network here.

use crate::config::{Duty, Zone};
use crate::context::Ctx;
use anyhow::{Context, Result};
use chrono::Duration;
use serde_json::{Value, json};
use std::path::PathBuf;

/// The switch log (vault-relative).
pub const SWITCHES: &str = "Logs/zone/switches.jsonl";

fn switches_path(ctx: &Ctx) -> PathBuf {
    ctx.vault.root().join(SWITCHES)
}

/// Every recorded switch, oldest first (by time, then target: both agents sort alike).
pub fn switches(ctx: &Ctx) -> Vec<Value> {
    let Ok((bytes, _)) = crate::fsutil::read_regular_nofollow(&switches_path(ctx)) else {
        return Vec::new();
    };
    let mut v: Vec<Value> = String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["ts"].is_string() && v["to"].is_string())
        .collect();
    v.sort_by(|a, b| {
        (a["ts"].as_str(), a["to"].as_str()).cmp(&(b["ts"].as_str(), b["to"].as_str()))
    });
    v
}

/// The active zone: the newest switch to a configured zone, else the first zone. None when
/// `zones:` is empty.
pub fn active(ctx: &Ctx) -> Option<&Zone> {
    let zones = &ctx.settings.zones;
    let recorded = switches(ctx).into_iter().rev().find_map(|s| {
        zones
            .iter()
            .find(|z| Some(z.name.as_str()) == s["to"].as_str())
    });
    recorded.or(zones.first())
}

/// The newest switch, when there was one.
pub fn last_switch(ctx: &Ctx) -> Option<Value> {
    switches(ctx).pop()
}

/// This agent's zone.
pub fn own(ctx: &Ctx) -> Option<&Zone> {
    ctx.settings.zones.iter().find(|z| z.agent == ctx.agent)
}

/// Why this agent must not do `duty` now (the pass says so and exits 0), or None when it
/// should.
pub fn not_here(ctx: &Ctx, duty: Duty) -> Option<String> {
    if ctx.settings.zones.is_empty() {
        return None;
    }
    let Some(mine) = own(ctx) else {
        return Some(format!(
            "agent `{}` is in no zone of aie.yaml: it does not {}",
            ctx.agent,
            duty.name()
        ));
    };
    if !mine.does.contains(&duty) {
        return Some(format!(
            "zone `{}` does not {} (zones[].does in aie.yaml)",
            mine.name,
            duty.name()
        ));
    }
    if duty.single()
        && let Some(a) = active(ctx)
        && a.name != mine.name
    {
        return Some(format!(
            "zone `{}` is active: only its agent `{}` does {}",
            a.name,
            a.agent,
            duty.name()
        ));
    }
    None
}

/// Appends a switch to the record. `by` is `failover` or `hand`.
pub fn record_switch(ctx: &Ctx, from: &str, to: &str, reason: &str, by: &str) -> Result<()> {
    let path = switches_path(ctx);
    let dir = path
        .parent()
        .expect("invariant: the switch log is in a folder");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    crate::fsutil::check_no_symlink(ctx.vault.root(), &path)?;
    let line = json!({
        "ts": ctx.clock.stamp(),
        "agent": ctx.agent,
        "from": from,
        "to": to,
        "by": by,
        "reason": crate::audit::scrub(reason, &ctx.secrets.values()),
    });
    crate::fsutil::append_synced(&path, &format!("{line}\n"))
}

/// Every agent's heartbeat in the vault, by agent.
pub fn heartbeats(ctx: &Ctx) -> Vec<Value> {
    let dir = ctx.vault.logs().join("heartbeats");
    let mut out = Vec::new();
    for p in crate::fsutil::sorted_paths(&dir) {
        if p.extension().is_none_or(|e| e != "json") {
            continue;
        }
        if let Ok((bytes, _)) = crate::fsutil::read_regular_nofollow(&p)
            && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
            && v["agent"].is_string()
        {
            out.push(v);
        }
    }
    out
}

/// How long ago `agent` last synced (pinned clock on both sides), when it ever did.
pub fn heartbeat_age(ctx: &Ctx, agent: &str) -> Option<Duration> {
    let beat = heartbeats(ctx)
        .into_iter()
        .find(|b| b["agent"].as_str() == Some(agent))?;
    let ts = crate::clock::parse_time(beat["ts"].as_str()?)?;
    Some(ctx.clock.now() - ts)
}

/// The longest a zone's agent may stay silent before its zone check fails.
pub fn heartbeat_max_age(zone: &Zone) -> Duration {
    zone.heartbeat_max_age.get()
}

/// Runs `pass` when this agent does `duty` now, else reports `job` skipped ([`skip`]).
pub fn run_if_here(
    ctx: &Ctx,
    duty: Duty,
    job: &str,
    pass: impl FnOnce(&Ctx) -> Result<crate::outcome::Outcome>,
) -> Result<crate::outcome::Outcome> {
    match skip(ctx, duty, job) {
        Some(skipped) => Ok(skipped),
        None => pass(ctx),
    }
}

/// The report of a pass this agent does not run now (exit 0, the reason on one line), or
/// None when it should run (`not_here`).
pub fn skip(ctx: &Ctx, duty: Duty, job: &str) -> Option<crate::outcome::Outcome> {
    let why = not_here(ctx, duty)?;
    Some(crate::outcome::Outcome {
        summary: format!("{job}: {why}: skipped"),
        json: json!({"job": job, "skipped": why}),
        ..crate::outcome::Outcome::default()
    })
}
