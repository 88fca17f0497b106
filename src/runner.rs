//! Runs one command: init and demo on their own; every other command inside a job run that
//! opens the vault, takes the job lock, records the run in state, reports problems once
//! (repeats stay under attention), refreshes the dashboard when something changed, and
//! prints the report.

use crate::cli::{Cli, Command, GlobalArgs};
use crate::commands::{self, Outcome};
use crate::context::{Ctx, Env, Mode};
use crate::exit::{Exit, exit_for};
use crate::lock::{self, VaultAccess};
use crate::state::Attention;
use crate::{dashboard, vault};
use anyhow::Result;
use std::time::Instant;

/// Runs the parsed command line; returns the exit code of the pass.
pub fn run(cli: Cli, env: &Env) -> Result<Exit> {
    let root = env.vault_root(cli.global.vault.as_deref());
    match cli.command {
        Command::Init(args) => commands::init::run(env, &root, &args),
        Command::Demo(args) => commands::demo::run(env, &cli.global, &args),
        Command::Status(args) => {
            let ctx = Ctx::open(env, &root, "status", cli.global.json, None)?;
            let out = commands::status::run(&ctx, &args)?;
            print_outcome(&out, cli.global.json);
            Ok(out.exit.unwrap_or(Exit::Ok))
        }
        Command::Auth(args) => {
            let ctx = Ctx::open(env, &root, "auth", cli.global.json, None)?;
            let out = commands::auth_gmail::run(&ctx, &args)?;
            print_outcome(&out, cli.global.json);
            Ok(out.exit.unwrap_or(Exit::Ok))
        }
        Command::Run(args) => commands::run::run(env, &cli.global, &args),
        Command::Schedule(args) => commands::schedule::run(env, &cli.global, &args),
        Command::Doctor(args) => commands::doctor::run(env, &cli.global, &args),
        Command::Alert(args) => commands::alert::run(env, &cli.global, &args),
        Command::Completions(args) => commands::completions::run(&args),
        Command::Man(args) => commands::man::run(&args),
        cmd => run_job(env, &cli.global, cmd),
    }
}

/// How a command shares the vault with the others.
fn access_of(_cmd: &Command) -> VaultAccess {
    VaultAccess::Shared
}

/// Runs a vault command as a job: lock, state, problems, dashboard, report.
pub fn run_job(env: &Env, global: &GlobalArgs, cmd: Command) -> Result<Exit> {
    run_job_with(env, global, cmd, true)
}

/// [`run_job`], printing the report only when `print` (the steps of `aie run` print none).
pub fn run_job_with(env: &Env, global: &GlobalArgs, cmd: Command, print: bool) -> Result<Exit> {
    let root = env.vault_root(global.vault.as_deref());
    let job = cmd.job_name();
    let ctx = Ctx::open(env, &root, job, global.json, global.deadline)?;
    let _locks = lock::acquire(
        &ctx.vault.aie_dir(),
        job,
        access_of(&cmd),
        &ctx.holder_text(),
    )?;
    let started = Instant::now();
    let start_stamp = ctx.clock.stamp();
    let crashed = ctx.state.update(|s| {
        let j = s.jobs.entry(job.to_string()).or_default();
        // A run that started and never finished left its temp files: clean them up. (An idle
        // pass never reads the big folders.)
        let crashed = j.last_finish_pending;
        j.last_start = Some(start_stamp.clone());
        j.last_finish_pending = true;
        crashed
    })?;
    if crashed {
        let n = ctx.vault.clean_temps();
        log::info!("{job}: the last run did not finish; removed {n} temp file(s)");
    }
    let result = dispatch(&ctx, cmd);
    let (mut outcome, error) = match result {
        Ok(out) => (out, None),
        Err(e) => (Outcome::default(), Some(e)),
    };
    // Problem texts may quote a server's reply: scrub secrets before they reach stderr,
    // state.json or the Dashboard.
    let secrets = ctx.secrets.values();
    for p in &mut outcome.problems {
        p.message = crate::audit::scrub(&p.message, &secrets);
    }
    let mut exit = match &error {
        Some(e) => exit_for(e),
        None => outcome.exit.unwrap_or(Exit::Ok),
    };
    let new_problems = record_run(&ctx, job, &start_stamp, started, exit, &outcome)?;
    for p in &outcome.problems {
        if new_problems.contains(&p.key) {
            log::error!("{}", p.message);
        } else {
            log::info!("still: {}", p.message);
        }
    }
    if !new_problems.is_empty() {
        exit = exit.worst(Exit::Partial);
    }
    if outcome.changed || !new_problems.is_empty() {
        // Only the local agent writes Dashboard.md; a draft_only agent reports in Updates/.
        let res = match ctx.mode {
            Mode::Full => dashboard::refresh(&ctx),
            Mode::DraftOnly => dashboard::write_update(&ctx),
        };
        if let Err(e) = res {
            log::warn!("cannot refresh the dashboard: {e:#}");
        }
    }
    if let Some(e) = error {
        return Err(e);
    }
    outcome.exit = Some(exit);
    log::info!(
        "{job}: {}",
        outcome
            .counts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if print {
        print_outcome(&outcome, global.json);
    }
    Ok(exit)
}

fn dispatch(ctx: &Ctx, cmd: Command) -> Result<Outcome> {
    match cmd {
        Command::ProcessInbox(a) => commands::process_inbox::run(ctx, &a),
        Command::Plan(a) => commands::plan::run(ctx, &a),
        Command::ExecuteApproved(a) => commands::execute_approved::run(ctx, &a),
        Command::PollGmail(a) => commands::poll_gmail::run(ctx, &a),
        other => unreachable!(
            "invariant: run() handles `{}`, which is not a vault pass",
            other.job_name()
        ),
    }
}

/// Writes the run into state: times, exit, counts, failures, attention. Returns the keys of
/// problems seen for the first time.
fn record_run(
    ctx: &Ctx,
    job: &str,
    start: &str,
    started: Instant,
    exit: Exit,
    out: &Outcome,
) -> Result<Vec<String>> {
    let now = ctx.clock.stamp();
    let prefix = format!("{job}:");
    ctx.state.update(|s| {
        let j = s.jobs.entry(job.to_string()).or_default();
        j.last_start = Some(start.to_string());
        j.last_finish = Some(now.clone());
        j.last_finish_pending = false;
        j.last_exit = Some(exit.code() as i32);
        j.duration_ms = started.elapsed().as_millis() as u64;
        j.counts = out.counts.clone();
        if matches!(exit, Exit::Ok) && out.problems.is_empty() {
            j.last_success = Some(now.clone());
            j.consecutive_failures = 0;
        } else if exit != Exit::LockBusy {
            j.consecutive_failures += 1;
        }
        if out.changed {
            j.last_work = Some(now.clone());
        }
        let mut new = Vec::new();
        let keys: Vec<String> = out
            .problems
            .iter()
            .map(|p| format!("{prefix}{}", p.key))
            .collect();
        s.attention
            .retain(|k, _| !k.starts_with(&prefix) || keys.contains(k));
        for (p, key) in out.problems.iter().zip(&keys) {
            match s.attention.get_mut(key) {
                Some(a) if a.message == p.message => a.passes += 1,
                _ => {
                    s.attention.insert(
                        key.clone(),
                        Attention {
                            since: now.clone(),
                            message: p.message.clone(),
                            passes: 1,
                        },
                    );
                    new.push(p.key.clone());
                }
            }
        }
        for line in &out.activity {
            s.push_recent(&now, crate::secrets::scrub(line));
        }
        new
    })
}

/// Prints the report: JSON with `--json`, else the human summary (nothing when empty).
pub fn print_outcome(out: &Outcome, json: bool) {
    if json {
        let mut v = if out.json.is_object() {
            out.json.clone()
        } else {
            serde_json::json!({})
        };
        if let Some(m) = v.as_object_mut() {
            m.entry("counts")
                .or_insert_with(|| serde_json::to_value(&out.counts).unwrap_or_default());
            m.entry("problems").or_insert_with(|| {
                out.problems
                    .iter()
                    .map(|p| serde_json::json!({"key": p.key, "message": p.message}))
                    .collect()
            });
        }
        let text = serde_json::to_string_pretty(&v).unwrap_or_default();
        println!("{}", crate::secrets::scrub(&text));
    } else if !out.summary.is_empty() {
        let summary = crate::secrets::scrub(&out.summary);
        print!("{summary}");
        if !summary.ends_with('\n') {
            println!();
        }
    }
}

/// The vault's default folder for a relative path argument (used by init and demo).
pub fn resolve(env: &Env, p: &std::path::Path) -> std::path::PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        env.cwd.join(p)
    }
}

/// Re-exported for commands that list stage folders.
pub use vault::Stage;
