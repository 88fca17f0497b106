//! The status report (`aie status`, and the MCP `status` tool): queues, the last run of
//! every job and when it is next due, locks, what needs the owner, the zones, heartbeats and
//! health checks. Reads only; never prints (the command and the tool word it).

use crate::context::Ctx;
use anyhow::Result;
use serde_json::{Map, Value, json};

/// The `aie.yaml` sections a source pass reads, any one of which sets it up (a pass that
/// reads nothing else has none).
fn source_sections(job: &str) -> &'static [&'static str] {
    match job {
        "poll-gmail" => &["gmail"],
        // What poll-social reads: Facebook Page comments and X mentions.
        "poll-social" => &["facebook", "x"],
        _ => &[],
    }
}

/// Whether the settings have the connector section `section`.
fn is_set_up(settings: &crate::config::Settings, section: &str) -> bool {
    crate::connectors::capabilities::all()
        .iter()
        .find(|c| c.section == section)
        .is_some_and(|c| (c.needs)(settings).is_some())
}

/// The status report: the same facts as JSON and as text for people.
#[derive(Debug, Clone)]
pub struct StatusReport {
    pub json: Value,
    pub text: String,
}

/// Gathers the status report of the vault open in `ctx`. Reads only. Errors: `state.json`
/// cannot be read.
pub fn report(ctx: &Ctx) -> Result<StatusReport> {
    let state = ctx.state.load()?;
    let queues = crate::dashboard::queue_counts(&ctx.vault);
    let locks = crate::lock::list(&ctx.vault.aie_dir());
    let known = crate::schedule::jobs::load(ctx.vault.root()).unwrap_or_else(|e| {
        log::warn!("{e:#}");
        crate::schedule::jobs::builtin()
    });
    let role = ctx.mode.role();
    // When `aie schedule install` put the timers in place (a job that never ran since then
    // is overdue too).
    let scheduled = state.schedule.as_ref().and_then(|s| s.installed.clone());
    let mut overdue_attention = Vec::new();
    let mut names: Vec<String> = state.jobs.keys().cloned().collect();
    names.extend(known.iter().map(|k| k.name.clone()));
    names.sort();
    names.dedup();
    let mut jobs = Map::new();
    let mut lines = Vec::new();
    for name in &names {
        let j = state.jobs.get(name).cloned().unwrap_or_default();
        let def = known.iter().find(|k| &k.name == name);
        let due = def.filter(|d| d.agents.includes(role)).map(|d| {
            crate::schedule::jobs::due_since(
                d,
                j.last_start.as_deref(),
                j.last_success.as_deref(),
                scheduled.as_deref(),
                ctx.clock.now(),
                ctx.clock.tz(),
            )
        });
        let next_due = due
            .as_ref()
            .and_then(|d| d.next_due)
            .map(|t| ctx.clock.format(t));
        let overdue = due.as_ref().is_some_and(|d| d.overdue);
        if overdue {
            overdue_attention.push(format!(
                "job `{name}` is overdue: no success since {} (check its timer: `systemctl list-timers 'aie-*'` (add --user for user units) or the crontab)",
                j.last_success.as_deref().or(j.last_start.as_deref()).or(scheduled.as_deref()).unwrap_or("never")
            ));
        }
        // A source the owner has not set up has no run to speak of.
        let sections = source_sections(name);
        let not_set_up = (!sections.is_empty()
            && !sections.iter().any(|s| is_set_up(&ctx.settings, s)))
        .then(|| {
            sections
                .iter()
                .map(|s| format!("`{s}:`"))
                .collect::<Vec<_>>()
                .join(" or ")
        });
        if let Some(sections) = &not_set_up {
            lines.push(format!(
                "  {name:<17} not set up (no {sections} in aie.yaml): skipped\n"
            ));
        }
        if not_set_up.is_some() {
        } else if let Some(d) = def {
            lines.push(format!(
                "  {name:<17} last start {}  last success {}  took {}  failures in a row {}  next due {}{}\n",
                j.last_start.as_deref().unwrap_or("never"),
                j.last_success.as_deref().unwrap_or("never"),
                if j.last_finish.is_some() { format!("{} ms", j.duration_ms) } else { "-".into() },
                j.consecutive_failures,
                next_due.as_deref().unwrap_or(if d.agents.includes(role) { "never" } else { "(not on this agent)" }),
                if overdue { "  OVERDUE: no success within twice its period" } else { "" }
            ));
        } else {
            lines.push(format!(
                "  {name:<17} last exit {:<4} last success {}  failures in a row {}\n",
                j.last_exit
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "-".into()),
                j.last_success.as_deref().unwrap_or("never"),
                j.consecutive_failures
            ));
        }
        jobs.insert(
            name.clone(),
            json!({
                "scheduled": def.map(|d| d.schedule.text.clone()),
                "last_start": j.last_start,
                "last_finish": j.last_finish,
                "last_success": j.last_success,
                "last_exit": j.last_exit,
                "duration_ms": j.duration_ms,
                "consecutive_failures": j.consecutive_failures,
                "counts": j.counts,
                "steps": j.steps,
                "skipped": j.skipped,
                "next_due": next_due,
                "overdue": overdue,
                "set_up": not_set_up.is_none(),
            }),
        );
    }
    let mut attention: Vec<Value> = state
        .attention
        .iter()
        .map(|(k, a)| json!({"key": k, "message": a.message, "since": a.since, "passes": a.passes}))
        .collect();
    attention.extend(
        overdue_attention
            .iter()
            .map(|m| json!({"key": "overdue", "message": m})),
    );
    // The last Odoo error, until a call succeeds.
    let odoo_error = state.odoo.as_ref().and_then(|o| {
        let m = o.last_error.as_ref()?;
        Some((format!("odoo: {m}"), o.since.clone().unwrap_or_default()))
    });
    if let Some((m, since)) = &odoo_error {
        attention.push(json!({"key": "odoo", "message": m, "since": since}));
    }
    let mut q = Map::new();
    for (k, n) in &queues {
        q.insert(k.clone(), json!(n));
    }
    let json = json!({
        "vault": ctx.vault.root().display().to_string(),
        "agent": ctx.agent,
        "mode": ctx.mode.name(),
        "dry_run": ctx.settings.execution.dry_run,
        "queues": q,
        "jobs": jobs,
        "locks": locks,
        "attention": attention,
        "zone": zone_report(ctx),
        "heartbeats": crate::zones::heartbeats(ctx),
        "health": {"checks": state.health},
        "alerts": crate::alerts::recent(ctx, 10),
        "claims": claims_in_flight(ctx),
        "sync": state.jobs.get("sync-vault").map(|j| json!({"last_success": j.last_success, "last_exit": j.last_exit})),
    });
    let mut s = format!(
        "vault {} (agent {})\nexecution: {}\n\nqueues:\n",
        ctx.vault.root().display(),
        ctx.agent,
        if ctx.settings.execution.dry_run {
            "dry-run: approved actions are only previewed (`execution.dry_run: false` to act)"
        } else {
            "live: approved actions run for real"
        }
    );
    for (k, n) in &queues {
        s.push_str(&format!("  {k:<17} {n}\n"));
    }
    s.push_str("\njobs:\n");
    for l in &lines {
        s.push_str(l);
    }
    let held: Vec<_> = locks.iter().filter(|l| l.held).collect();
    s.push_str("\nlocks:\n");
    if held.is_empty() {
        s.push_str("  none held\n");
    }
    for l in held {
        s.push_str(&format!(
            "  {:<17} held by {}\n",
            l.name,
            l.holder.as_deref().unwrap_or("another process")
        ));
    }
    s.push_str("\nattention:\n");
    if state.attention.is_empty() && overdue_attention.is_empty() && odoo_error.is_none() {
        s.push_str("  nothing\n");
    }
    if let Some((m, since)) = &odoo_error {
        s.push_str(&format!("  - {m} (since {since})\n"));
    }
    for m in &overdue_attention {
        s.push_str(&format!("  - {m}\n"));
    }
    for a in state.attention.values() {
        s.push_str(&format!("  - {} (since {})\n", a.message, a.since));
    }
    s.push_str(&two_agents_text(ctx, &state));
    Ok(StatusReport { json, text: s })
}

/// The active zone, this agent's zone and the last switch.
pub fn zone_report(ctx: &Ctx) -> Value {
    json!({
        "active": crate::zones::active(ctx).map(|z| z.name.clone()),
        "active_agent": crate::zones::active(ctx).map(|z| z.agent.clone()),
        "own": crate::zones::own(ctx).map(|z| z.name.clone()),
        "last_switch": crate::zones::last_switch(ctx),
    })
}

/// Items claimed in `In_Progress/<agent>/`, by agent.
fn claims_in_flight(ctx: &Ctx) -> Value {
    let mut m = Map::new();
    for stage in ctx.vault.stages() {
        if let crate::vault::Stage::InProgress(agent) = &stage {
            let ids: Vec<String> = ctx
                .vault
                .list(&stage)
                .unwrap_or_default()
                .iter()
                .filter_map(|p| Some(p.file_stem()?.to_string_lossy().to_string()))
                .collect();
            if !ids.is_empty() {
                m.insert(agent.clone(), json!(ids));
            }
        }
    }
    Value::Object(m)
}

/// The zone, heartbeats and checks in the text report.
fn two_agents_text(ctx: &Ctx, state: &crate::state::State) -> String {
    let mut s = String::new();
    if let Some(z) = crate::zones::active(ctx) {
        s.push_str(&format!("\nactive zone: {} (agent {})\n", z.name, z.agent));
    }
    let beats = crate::zones::heartbeats(ctx);
    if !beats.is_empty() {
        s.push_str("\nheartbeats:\n");
        for b in beats {
            s.push_str(&format!(
                "  {:<17} {} ({})\n",
                b["agent"].as_str().unwrap_or("?"),
                b["ts"].as_str().unwrap_or("?"),
                b["mode"].as_str().unwrap_or("?")
            ));
        }
    }
    if !state.health.is_empty() {
        s.push_str("\nhealth:\n");
        for (name, c) in &state.health {
            s.push_str(&format!(
                "  {name:<17} {:<8} since {}  {}\n",
                c.status.to_uppercase(),
                c.since.as_deref().unwrap_or("-"),
                c.last_message
            ));
        }
    }
    s
}
