//! `health-check`: one pass over every check (the configured ones in `health.checks`: an
//! HTTP status and body, a TCP connect, an aie command; and the built-in ones for what aie
//! depends on: each connector this agent uses, built from its settings every pass and asked
//! live (the Gmail token, the SMTP login, Odoo, each social token) at most every
//! `health.live_every` while it answers well (`connectors`), the git remote,
//! free disk, the oldest item waiting, missed job runs, the last backup, and each zone's
//! agent). Each result is appended to `Logs/health/<date>.jsonl` (synced, merged line
//! by line). A check turns DOWN after `health.down_after` failures in a row and UP again
//! after `health.up_after` successes; each incident alerts once when it starts (its level)
//! and once when it ends (`info`), with a reminder every `health.remind_every` while it
//! lasts. A check that flaps between single failures and single successes never crosses
//! either threshold, so it raises no alert storm. State lives in `state.json` (`health`).

mod connectors;

use crate::alerts::{Alert, Level};
use crate::config::CheckSpec;
use crate::connectors::http::{Http, Request, RetryPolicy, Verdict};
use crate::context::{Ctx, Env};
use crate::outcome::Outcome;
use crate::state::{CheckState, LiveAnswer};
use crate::vault::Stage;
use anyhow::{Context, Result};
use chrono::Duration;
use serde_json::{Value, json};
use std::time::Duration as StdDuration;

/// The result of one check this pass.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub name: String,
    pub ok: bool,
    pub message: String,
    /// The level of its DOWN alert.
    pub level: Level,
    /// What this pass does to the connector's last live answer in `state.json`.
    pub live: LiveChange,
}

/// What a pass does to a connector's last live answer ([`CheckState::live`]), written with
/// the check's new state.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum LiveChange {
    /// Leave it as it is: a check with no live part, or a pass that reused the answer.
    #[default]
    Keep,
    /// The connector was asked live this pass: its answer.
    Set(LiveAnswer),
    /// Forget it (the offline check failed, or there was nothing to ask), so the next pass
    /// asks live.
    Clear,
}

fn result(name: &str, level: Level, r: std::result::Result<String, String>) -> CheckResult {
    let (ok, message) = match r {
        Ok(m) => (true, m),
        Err(m) => (false, m),
    };
    CheckResult {
        name: name.to_string(),
        ok,
        message: crate::secrets::scrub(&message),
        level,
        live: LiveChange::Keep,
    }
}

/// What a check's new result changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    /// It turned DOWN: an incident starts.
    Down,
    /// Still DOWN, and the last alert is older than the reminder period.
    Remind,
    /// It is UP again: the incident ends.
    Up,
}

/// Thresholds of the DOWN/UP state machine.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub down_after: u32,
    pub up_after: u32,
    pub remind_every: Duration,
}

/// Folds one result into a check's state (pure: the state machine).
pub fn step(st: &mut CheckState, ok: bool, message: &str, now: &str, t: Thresholds) -> Transition {
    st.last_result = if ok { "ok" } else { "fail" }.into();
    st.last_message = message.to_string();
    st.last_checked = Some(now.to_string());
    let down = st.status == "down";
    if ok {
        st.oks_in_row += 1;
        st.fails_in_row = 0;
        if down && st.oks_in_row >= t.up_after.max(1) {
            st.status = "up".into();
            st.since = Some(now.to_string());
            st.last_alert = Some(now.to_string());
            return Transition::Up;
        }
        if !down && st.status != "up" {
            st.status = "up".into();
            st.since = Some(now.to_string());
        }
        return Transition::None;
    }
    st.fails_in_row += 1;
    st.oks_in_row = 0;
    if !down && st.fails_in_row >= t.down_after.max(1) {
        st.status = "down".into();
        st.since = Some(now.to_string());
        st.last_alert = Some(now.to_string());
        return Transition::Down;
    }
    if st.status.is_empty() {
        st.status = "unknown".into();
    }
    let due = st
        .last_alert
        .as_deref()
        .and_then(crate::clock::parse_time)
        .zip(crate::clock::parse_time(now))
        .is_none_or(|(last, now)| now - last >= t.remind_every);
    if down && due {
        st.last_alert = Some(now.to_string());
        return Transition::Remind;
    }
    Transition::None
}

/// The thresholds of `aie.yaml`.
pub fn thresholds(ctx: &Ctx) -> Thresholds {
    let h = &ctx.settings.health;
    Thresholds {
        down_after: h.down_after,
        up_after: h.up_after,
        remind_every: h.remind_every.get(),
    }
}

/// One health-check pass: run every check, record each result, alert on transitions.
/// `force_live` asks every connector live now, whatever its last live answer (`--live`).
pub fn health_pass(ctx: &Ctx, env: &Env, force_live: bool) -> Result<Outcome> {
    let results = run_checks(ctx, env, force_live);
    let now = ctx.clock.stamp();
    append_results(ctx, &results)?;
    let t = thresholds(ctx);
    let names: Vec<String> = results.iter().map(|r| r.name.clone()).collect();
    let transitions = ctx.state.update(|s| {
        // A check no longer configured is forgotten (and its attention cleared).
        let gone: Vec<String> = s
            .health
            .keys()
            .filter(|k| !names.contains(k))
            .cloned()
            .collect();
        for k in gone {
            s.health.remove(&k);
            s.attention.remove(&format!("health:{k}"));
        }
        let mut out = Vec::new();
        for r in &results {
            let st = s.health.entry(r.name.clone()).or_default();
            let tr = step(st, r.ok, &r.message, &now, t);
            match &r.live {
                LiveChange::Keep => {}
                LiveChange::Set(a) => st.live = Some(a.clone()),
                LiveChange::Clear => st.live = None,
            }
            let since = st.since.clone();
            let key = format!("health:{}", r.name);
            match tr {
                Transition::Down => {
                    s.raise(&key, &format!("{} is DOWN: {}", r.name, r.message), &now);
                    s.push_recent(&now, format!("health: {} is DOWN", r.name));
                }
                Transition::Up => {
                    s.attention.remove(&key);
                    s.push_recent(&now, format!("health: {} is UP again", r.name));
                }
                _ => {}
            }
            out.push((tr, since));
        }
        out
    })?;
    let mut out = Outcome::default();
    let mut checks = Vec::new();
    for (r, (tr, since)) in results.iter().zip(&transitions) {
        let alert = match tr {
            Transition::None => None,
            Transition::Down => Some((
                r.level,
                "down",
                format!("{} is DOWN: {}", r.name, r.message),
            )),
            Transition::Remind => Some((
                r.level,
                "still_down",
                format!(
                    "{} is still DOWN (since {}): {}",
                    r.name,
                    since.as_deref().unwrap_or("?"),
                    r.message
                ),
            )),
            Transition::Up => Some((
                Level::Info,
                "up",
                format!("{} is UP again: {}", r.name, r.message),
            )),
        };
        if let Some((level, event, message)) = alert {
            out.count("alerts", 1);
            crate::alerts::deliver(
                ctx,
                &Alert {
                    key: format!("health:{}", r.name),
                    level,
                    event: event.into(),
                    message,
                },
            )?;
        }
        out.count(if r.ok { "ok" } else { "failed" }, 1);
        checks.push(json!({"check": r.name, "ok": r.ok, "message": r.message}));
    }
    let state = ctx.state.load()?;
    let down: Vec<&String> = state
        .health
        .iter()
        .filter(|(_, c)| c.status == "down")
        .map(|(k, _)| k)
        .collect();
    out.summary = if down.is_empty() {
        format!(
            "health-check: {} checks, none DOWN ({})",
            results.len(),
            out.counts_line()
        )
    } else {
        format!(
            "health-check: DOWN: {} ({})",
            down.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            out.counts_line()
        )
    };
    if !down.is_empty() {
        // SPEC's 1: the pass finished, but checks failed. The health job accepts it
        // (`success_exit: [1]`): the alerts above are the report, once per incident.
        out.exit = Some(crate::exit::Exit::Partial);
    }
    out.json = json!({"job": "health-check", "checks": checks, "health": state.health});
    Ok(out)
}

/// Appends each result to `Logs/health/<date>.jsonl`.
fn append_results(ctx: &Ctx, results: &[CheckResult]) -> Result<()> {
    let dir = ctx.vault.logs().join("health");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let path = dir.join(format!("{}.jsonl", ctx.clock.today()));
    crate::fsutil::check_no_symlink(ctx.vault.root(), &path)?;
    let mut text = String::new();
    let ts = ctx.clock.stamp();
    for r in results {
        let line = json!({"ts": ts, "agent": ctx.agent, "check": r.name, "ok": r.ok, "message": r.message});
        text.push_str(&format!("{line}\n"));
    }
    crate::fsutil::append_synced(&path, &text)
}

/// Every check, configured ones first; `force_live` asks every connector live.
pub fn run_checks(ctx: &Ctx, env: &Env, force_live: bool) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for c in &ctx.settings.health.checks {
        let level = c.level.unwrap_or(Level::Critical);
        out.push(result(&c.name, level, configured(ctx, env, c)));
    }
    out.extend(builtin(ctx, force_live));
    out
}

fn configured(ctx: &Ctx, env: &Env, c: &CheckSpec) -> std::result::Result<String, String> {
    let timeout = StdDuration::from_secs(c.timeout_seconds.unwrap_or(10).max(1));
    match (&c.http, &c.tcp, &c.aie) {
        (Some(url), None, None) => http_check(url, c.status, c.body_contains.as_deref(), timeout),
        (None, Some(addr), None) => tcp_check(addr, timeout),
        (None, None, Some(cmd)) => aie_check(ctx, env, cmd),
        _ => Err(format!(
            "check `{}` in aie.yaml must have exactly one of `http`, `tcp`, `aie`",
            c.name
        )),
    }
}

/// GETs `url`: the status (`expect`, else any 2xx) and, when given, a text in the body.
pub fn http_check(
    url: &str,
    expect: Option<u16>,
    body: Option<&str>,
    timeout: StdDuration,
) -> std::result::Result<String, String> {
    // No retries: a failure is one failure, the next pass tries again.
    let http = Http::new("health", timeout, RetryPolicy::NONE, None);
    let stop = |_: &crate::connectors::http::Reply| Verdict::Stop;
    let reply = match http.send(&Request::get(url), &stop) {
        Ok(r) => r,
        Err(crate::connectors::http::HttpError::Status { code, .. }) => {
            if expect == Some(code) {
                return Ok(format!("HTTP {code}"));
            }
            return Err(format!("`{url}` answered HTTP {code}"));
        }
        Err(e) => return Err(format!("`{url}`: {e}")),
    };
    if expect.is_some_and(|e| e != reply.status) {
        return Err(format!(
            "`{url}` answered HTTP {} (expected {})",
            reply.status,
            expect.unwrap_or(200)
        ));
    }
    if let Some(want) = body
        && !String::from_utf8_lossy(&reply.body).contains(want)
    {
        return Err(format!("`{url}` answered without `{want}` in its body"));
    }
    Ok(format!("HTTP {}", reply.status))
}

/// Connects to `host:port`.
pub fn tcp_check(addr: &str, timeout: StdDuration) -> std::result::Result<String, String> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<_> = addr
        .to_socket_addrs()
        .map_err(|e| format!("`{addr}` does not resolve: {e}"))?
        .collect();
    let mut last = format!("`{addr}` has no address");
    for a in addrs {
        match std::net::TcpStream::connect_timeout(&a, timeout) {
            Ok(_) => return Ok(format!("connected to {a}")),
            Err(e) => last = format!("cannot connect to `{addr}`: {e}"),
        }
    }
    Err(last)
}

/// Runs an aie command in this process (parsed by the real command line, never a shell):
/// exit 0 is a success.
fn aie_check(ctx: &Ctx, env: &Env, cmd: &str) -> std::result::Result<String, String> {
    use clap::Parser;
    let argv = std::iter::once("aie").chain(cmd.split_whitespace());
    let mut cli = crate::cli::Cli::try_parse_from(argv)
        .map_err(|e| format!("`{cmd}` is not an aie command: {}", e.kind()))?;
    let spec = cli.command.spec();
    if matches!(spec.name, "health-check" | "failover" | "run")
        || spec.kind == crate::cli::CommandKind::Setup
        || spec.vault == crate::cli::VaultUse::Exclusive
    {
        return Err(format!(
            "`{cmd}` cannot be a health check (a report or a shared pass can)"
        ));
    }
    cli.global.vault = Some(ctx.vault.root().to_path_buf());
    match crate::runner::run_command(env, &cli.global, &cli.command) {
        Ok(o) => match o.exit.unwrap_or(crate::exit::Exit::Ok) {
            crate::exit::Exit::Ok if o.problems.is_empty() => Ok(format!("`{cmd}` exited 0")),
            e => Err(format!("`{cmd}` exited {}", e.code())),
        },
        Err(e) => Err(format!(
            "`{cmd}` exited {}: {e:#}",
            crate::exit::exit_for(&e).code()
        )),
    }
}

/// The built-in checks of what aie depends on.
fn builtin(ctx: &Ctx, force_live: bool) -> Vec<CheckResult> {
    let mut out = connectors::connector_checks(ctx, force_live);
    if let Some(r) = git_check(ctx) {
        out.push(result("git-remote", Level::Warning, r));
    }
    out.push(result("disk", Level::Critical, disk_check(ctx)));
    out.push(result("backlog", Level::Warning, backlog_check(ctx)));
    out.push(result("jobs", Level::Warning, jobs_check(ctx)));
    if let Some(r) = backup_check(ctx) {
        out.push(result("backup", Level::Warning, r));
    }
    for z in &ctx.settings.zones {
        out.push(result(
            &format!("zone:{}", z.name),
            Level::Critical,
            zone_check(ctx, z),
        ));
    }
    out
}

/// The git remote answers (`git ls-remote`), when the vault syncs through one.
fn git_check(ctx: &Ctx) -> Option<std::result::Result<String, String>> {
    let mut remote = crate::passes::sync::remote_of(ctx).ok()?.ok()?;
    remote.git.timeout = Some(StdDuration::from_secs(20));
    Some(
        match remote.git.call(&["ls-remote", "--heads", &remote.name]) {
            Ok(o) if o.ok => Ok(format!("the remote `{}` answers", remote.name)),
            Ok(o) => Err(format!(
                "the remote `{}` cannot be reached: {}",
                remote.name,
                o.stderr
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
            )),
            Err(e) => Err(format!("{e:#}")),
        },
    )
}

/// Free space on the vault's file system, against `health.min_free_mb`.
fn disk_check(ctx: &Ctx) -> std::result::Result<String, String> {
    use std::os::unix::ffi::OsStrExt;
    let root = ctx.vault.root();
    let c = std::ffi::CString::new(root.as_os_str().as_bytes())
        .map_err(|_| format!("`{}` is not a usable path", root.display()))?;
    // SAFETY: statvfs only writes the struct it is given; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(format!(
            "cannot read the free space of `{}`: {}",
            root.display(),
            std::io::Error::last_os_error()
        ));
    }
    let free_mb = (st.f_bavail as u64).saturating_mul(st.f_frsize as u64) / (1024 * 1024);
    let min = ctx.settings.health.min_free_mb;
    if free_mb < min {
        Err(format!(
            "{free_mb} MiB free on the vault's disk (under {min} MiB)"
        ))
    } else {
        Ok(format!("{free_mb} MiB free"))
    }
}

/// The oldest item waiting (for aie, the owner, or execution), against `health.max_wait`.
fn backlog_check(ctx: &Ctx) -> std::result::Result<String, String> {
    let max = ctx.settings.health.max_wait.get();
    let now = ctx.clock.now();
    let mut oldest: Option<(chrono::DateTime<chrono::Utc>, String)> = None;
    for stage in ctx.vault.stages() {
        if !matches!(
            stage,
            Stage::NeedsAction(_) | Stage::PendingApproval(_) | Stage::Approved
        ) {
            continue;
        }
        for p in ctx.vault.list(&stage).unwrap_or_default() {
            let Ok(item) = crate::vault::item::Item::read(&p) else {
                continue;
            };
            let Some(t) = crate::clock::parse_time(item.str("created")) else {
                continue;
            };
            if oldest.as_ref().is_none_or(|(o, _)| t < *o) {
                oldest = Some((t, ctx.vault.rel(&p)));
            }
        }
    }
    match oldest {
        None => Ok("nothing waiting".into()),
        Some((t, rel)) => {
            let age = now - t;
            let hours = age.num_hours();
            if age > max {
                Err(format!(
                    "`{rel}` has waited {hours} h (over {})",
                    ctx.settings.health.max_wait
                ))
            } else {
                Ok(format!("the oldest item has waited {hours} h"))
            }
        }
    }
}

/// Every job file reads, and every job of this agent ran within twice its period
/// (`schedule::jobs::due`).
fn jobs_check(ctx: &Ctx) -> std::result::Result<String, String> {
    let (jobs, broken) = crate::schedule::jobs::load_each(ctx.vault.root());
    let state = ctx.state.load().map_err(|e| format!("{e:#}"))?;
    let role = ctx.mode.role();
    let missed: Vec<String> = jobs
        .iter()
        .filter(|j| j.agents.includes(role))
        .filter(|j| {
            let s = state.jobs.get(&j.name).cloned().unwrap_or_default();
            crate::schedule::jobs::due(
                j,
                s.last_start.as_deref(),
                s.last_success.as_deref(),
                ctx.clock.now(),
                ctx.clock.tz(),
            )
            .overdue
        })
        .map(|j| j.name.clone())
        .collect();
    let mut wrong: Vec<String> = broken.iter().map(|(_, e)| format!("{e:#}")).collect();
    if !missed.is_empty() {
        wrong.push(format!(
            "missed runs (no success within twice the period): {}",
            missed.join(", ")
        ));
    }
    if wrong.is_empty() {
        Ok("no missed runs".into())
    } else {
        Err(wrong.join("; "))
    }
}

/// The newest snapshot in `backup.dir` (by its time on disk: the real clock), when backups
/// exist. Hook: when `aie backup` keeps an index, read the newest snapshot from it here.
fn backup_check(ctx: &Ctx) -> Option<std::result::Result<String, String>> {
    let dir = ctx.settings.backup.dir.as_deref()?;
    let dir = ctx.vault.root().join(dir);
    let newest = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max()?;
    let max = ctx.settings.health.max_backup_age.get();
    let age = std::time::SystemTime::now()
        .duration_since(newest)
        .unwrap_or_default();
    let hours = age.as_secs() / 3600;
    Some(if age.as_secs() as i64 > max.num_seconds() {
        Err(format!(
            "the newest backup is {hours} h old (over {})",
            ctx.settings.health.max_backup_age
        ))
    } else {
        Ok(format!("the newest backup is {hours} h old"))
    })
}

/// A zone is healthy when its agent's heartbeat is fresh (this agent's own zone always is)
/// and its `health_url`, when set, answers 2xx.
fn zone_check(ctx: &Ctx, z: &crate::config::Zone) -> std::result::Result<String, String> {
    let mut said = Vec::new();
    if z.agent != ctx.agent {
        let max = crate::zones::heartbeat_max_age(z);
        match crate::zones::heartbeat_age(ctx, &z.agent) {
            None => return Err(format!("no heartbeat from agent `{}` yet", z.agent)),
            Some(age) if age > max => {
                return Err(format!(
                    "agent `{}` last synced {} min ago",
                    z.agent,
                    age.num_minutes()
                ));
            }
            Some(age) => said.push(format!(
                "agent `{}` synced {} min ago",
                z.agent,
                age.num_minutes()
            )),
        }
    } else {
        said.push("this agent".to_string());
    }
    if let Some(url) = &z.health_url {
        said.push(http_check(url, None, None, StdDuration::from_secs(10))?);
    }
    Ok(said.join("; "))
}

/// The health section of a report: each check's state, as `status --json` shows it.
pub fn report(state: &crate::state::State) -> Value {
    serde_json::to_value(&state.health).unwrap_or(Value::Null)
}
