//! `aie status [--json]`: queues, last run of every job, locks, and what needs the owner.
//! Reads only: takes no job lock, so it answers while other jobs run.

use crate::context::Ctx;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;
use serde_json::{Map, Value, json};

#[derive(Debug, Args)]
pub struct StatusArgs {}

pub fn run(ctx: &Ctx, _args: &StatusArgs) -> Result<Outcome> {
    let state = ctx.state.load()?;
    let queues = crate::dashboard::queue_counts(&ctx.vault);
    let locks = crate::lock::list(&ctx.vault.aie_dir());
    let mut jobs = Map::new();
    for (name, j) in &state.jobs {
        jobs.insert(
            name.clone(),
            json!({
                "last_start": j.last_start,
                "last_finish": j.last_finish,
                "last_success": j.last_success,
                "last_exit": j.last_exit,
                "duration_ms": j.duration_ms,
                "consecutive_failures": j.consecutive_failures,
                "counts": j.counts,
                "next_due": Value::Null,
                "overdue": false,
            }),
        );
    }
    let attention: Vec<Value> = state
        .attention
        .iter()
        .map(|(k, a)| json!({"key": k, "message": a.message, "since": a.since, "passes": a.passes}))
        .collect();
    let mut out = Outcome::default();
    let mut q = Map::new();
    for (k, n) in &queues {
        q.insert(k.clone(), json!(n));
    }
    out.json = json!({
        "vault": ctx.vault.root().display().to_string(),
        "agent": ctx.agent,
        "mode": if ctx.mode == crate::context::Mode::Full { "full" } else { "draft_only" },
        "dry_run": ctx.settings.execution.dry_run,
        "queues": q,
        "jobs": jobs,
        "locks": locks,
        "attention": attention,
    });
    let mut s = format!(
        "vault {} (agent {})\n\nqueues:\n",
        ctx.vault.root().display(),
        ctx.agent
    );
    for (k, n) in &queues {
        s.push_str(&format!("  {k:<17} {n}\n"));
    }
    s.push_str("\njobs:\n");
    if state.jobs.is_empty() {
        s.push_str("  none has run yet\n");
    }
    for (name, j) in &state.jobs {
        s.push_str(&format!(
            "  {name:<17} last exit {:<4} last success {}  failures in a row {}\n",
            j.last_exit
                .map(|e| e.to_string())
                .unwrap_or_else(|| "-".into()),
            j.last_success.as_deref().unwrap_or("never"),
            j.consecutive_failures
        ));
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
    if state.attention.is_empty() {
        s.push_str("  nothing\n");
    }
    for a in state.attention.values() {
        s.push_str(&format!("  - {} (since {})\n", a.message, a.since));
    }
    out.summary = s;
    Ok(out)
}
