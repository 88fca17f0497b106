//! `failover`: switch the active zone (`crate::zones`) when its health has been DOWN for
//! `failover.after`, or by hand (`--to ZONE`). The switch is a line in the vault's zone
//! record (synced, so both agents agree), then the configured hooks (`failover.hooks`: aie
//! passes only, never a shell, like job steps), then an alert. Never switches twice within
//! `failover.hold_down`, and never fails back to the first zone on its own unless
//! `failover.auto_failback` is set. Reads the DOWN/UP state `health-check` keeps; runs no
//! check itself.

use crate::alerts::{Alert, Level};
use crate::audit::AuditEvent;
use crate::config::Zone;
use crate::context::{Ctx, Env};
use crate::exit::AieError;
use crate::outcome::Outcome;
use anyhow::Result;
use serde_json::json;

/// One failover pass; `to` is a switch by hand.
pub fn failover_pass(ctx: &Ctx, env: &Env, to: Option<&str>) -> Result<Outcome> {
    let mut out = Outcome::default();
    let zones = &ctx.settings.zones;
    let Some(active) = crate::zones::active(ctx).cloned() else {
        if to.is_some() {
            return Err(AieError::Usage(
                "no `zones:` in aie.yaml: there is no zone to switch to".into(),
            )
            .into());
        }
        out.summary = "failover: no `zones:` in aie.yaml: nothing to fail over".into();
        out.json = json!({"job": "failover", "active": null});
        return Ok(out);
    };
    if let Some(name) = to {
        let Some(target) = zones.iter().find(|z| z.name == name) else {
            let known: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
            return Err(AieError::Usage(format!(
                "no zone `{name}` in aie.yaml (zones: {})",
                known.join(", ")
            ))
            .into());
        };
        if target.name == active.name {
            out.summary = format!("failover: zone `{name}` is already active");
        } else {
            switch(
                ctx,
                env,
                &active,
                target,
                "switched by hand",
                "hand",
                &mut out,
            )?;
        }
        out.json = json!({"job": "failover", "active": target.name});
        return Ok(out);
    }
    let state = ctx.state.load()?;
    let status = |z: &Zone| {
        state
            .health
            .get(&format!("zone:{}", z.name))
            .cloned()
            .unwrap_or_default()
    };
    let now = ctx.clock.now();
    let after = ctx.settings.failover.after.get();
    let hold = ctx.settings.failover.hold_down.get();
    let held_until = crate::zones::last_switch(ctx)
        .and_then(|s| crate::clock::parse_time(s["ts"].as_str()?))
        .map(|t| t + hold)
        .filter(|t| *t > now);
    let a = status(&active);
    let down_for = (a.status == "down")
        .then(|| a.since.as_deref().and_then(crate::clock::parse_time))
        .flatten()
        .map(|since| now - since);
    let first = &zones[0];
    let wanted: Option<(&Zone, String)> = match down_for {
        Some(d) if d >= after => zones
            .iter()
            .find(|z| z.name != active.name && status(z).status == "up")
            .map(|z| {
                (
                    z,
                    format!(
                        "zone `{}` has been DOWN for {} min: {}",
                        active.name,
                        d.num_minutes(),
                        a.last_message
                    ),
                )
            }),
        Some(_) => None,
        None if ctx.settings.failover.auto_failback
            && first.name != active.name
            && status(first).status == "up" =>
        {
            Some((
                first,
                format!("zone `{}` is healthy again (auto_failback)", first.name),
            ))
        }
        None => None,
    };
    match (wanted, held_until) {
        (Some((target, _)), Some(until)) => {
            out.summary = format!(
                "failover: zone `{}` should take over, but the last switch was less than {} ago: held until {}",
                target.name,
                ctx.settings.failover.hold_down,
                ctx.clock.format(until)
            );
        }
        (Some((target, reason)), None) => {
            let target = target.clone();
            switch(ctx, env, &active, &target, &reason, "failover", &mut out)?;
        }
        (None, _) => {
            out.summary = match down_for {
                Some(d) if d >= after => format!(
                    "failover: zone `{}` is DOWN and no other zone is UP: nothing to switch to",
                    active.name
                ),
                Some(d) => format!(
                    "failover: zone `{}` is DOWN for {} min (switch after {})",
                    active.name,
                    d.num_minutes(),
                    ctx.settings.failover.after
                ),
                None => format!("failover: zone `{}` is active", active.name),
            };
        }
    }
    let active = crate::zones::active(ctx).map(|z| z.name.clone());
    out.json = json!({"job": "failover", "active": active});
    Ok(out)
}

/// Records the switch, runs the hooks, alerts and audits.
fn switch(
    ctx: &Ctx,
    env: &Env,
    from: &Zone,
    to: &Zone,
    reason: &str,
    by: &str,
    out: &mut Outcome,
) -> Result<()> {
    crate::zones::record_switch(ctx, &from.name, &to.name, reason, by)?;
    out.count("switched", 1);
    let now = ctx.clock.stamp();
    ctx.state.update(|s| {
        s.push_recent(
            &now,
            format!("failover: zone `{}` is active ({reason})", to.name),
        );
    })?;
    ctx.audit.append(AuditEvent {
        target: Some(to.name.clone()),
        parameters: json!({"from": from.name, "by": by}),
        result: Some("switched".into()),
        ..AuditEvent::new("failover", None)
    })?;
    for hook in &ctx.settings.failover.hooks {
        match run_hook(env, ctx, hook) {
            Ok(()) => out.count("hooks", 1),
            Err(e) => out.problem(
                format!("failover:hook:{hook}"),
                format!("failover hook `{hook}`: {e:#}"),
            ),
        }
    }
    crate::alerts::deliver(
        ctx,
        &Alert {
            key: "failover".into(),
            level: Level::Warning,
            event: "switched".into(),
            message: format!(
                "the active zone is now `{}` (agent `{}`), was `{}`: {reason}",
                to.name, to.agent, from.name
            ),
        },
    )?;
    out.summary = format!(
        "failover: zone `{}` is active, was `{}`: {reason}",
        to.name, from.name
    );
    Ok(())
}

/// Runs one hook: an aie pass with its arguments, parsed by the real command line.
fn run_hook(env: &Env, ctx: &Ctx, hook: &str) -> Result<()> {
    use clap::Parser;
    let args: Vec<&str> = hook.split_whitespace().collect();
    let mut cli =
        crate::cli::Cli::try_parse_from(std::iter::once("aie").chain(args.iter().copied()))
            .map_err(|e| {
                AieError::Config(format!(
                    "failover hook `{hook}` is not an aie command: {}",
                    e.kind()
                ))
            })?;
    if cli.command.spec().kind != crate::cli::CommandKind::Pass
        || matches!(cli.command.spec().name, "failover")
        || args.iter().any(|a| a.starts_with("--vault"))
    {
        return Err(AieError::Config(format!(
            "failover hook `{hook}`: only a pass over this vault can be a hook"
        ))
        .into());
    }
    cli.global.vault = Some(ctx.vault.root().to_path_buf());
    let o = crate::runner::run_command(env, &cli.global, &cli.command)?;
    match o.exit.unwrap_or(crate::exit::Exit::Ok) {
        crate::exit::Exit::Ok => Ok(()),
        e => Err(anyhow::anyhow!("exited {}", e.code())),
    }
}
