//! Runs one command as its row in the command table ([`Command::spec`]) says: without a
//! vault, in an open vault, or as a job that holds its job lock and the vault lock (shared or
//! exclusive), records the run in state, reports problems once (repeats stay under
//! attention) and refreshes the dashboard when something changed. Then it prints the report,
//! here and nowhere else: JSON with `--json`, else the human summary.

use crate::cli::{Cli, Command, GlobalArgs};
use crate::commands::{self, Outcome};
use crate::context::{Ctx, Cx, Env};
use crate::dashboard;
use crate::exit::{Exit, exit_for};
use crate::lock::{self, VaultAccess};
use crate::state::RunFinish;
use anyhow::Result;
use std::time::Instant;

/// Runs the parsed command line, prints its report, and returns its exit code.
pub fn run(cli: Cli, env: &Env) -> Result<Exit> {
    let out = run_command(env, &cli.global, &cli.command)?;
    print_outcome(&out, cli.command.json());
    Ok(out.exit.unwrap_or(Exit::Ok))
}

/// Runs one command and returns its report unprinted (the steps of `aie run` and of `aie demo`
/// go through here too). `exit` is set when the command chose a code.
pub fn run_command(env: &Env, global: &GlobalArgs, cmd: &Command) -> Result<Outcome> {
    let spec = cmd.spec();
    // The command's own `--deadline`, or the caller's (a job's time left), whichever is sooner.
    let deadline = match (global.deadline, cmd.deadline()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let global = &GlobalArgs {
        deadline,
        ..global.clone()
    };
    match spec.vault.lock() {
        Some(access) => run_job(env, global, cmd, access),
        None if spec.vault == crate::cli::VaultUse::None => {
            commands::dispatch(&Cx::new(env, global, None), cmd)
        }
        None => {
            let root = env.vault_root(global.vault.as_deref());
            let ctx = Ctx::open_with(
                env,
                &root,
                job_name(cmd),
                global.deadline,
                cmd.reads_secrets(),
            )?;
            let out = commands::dispatch(&Cx::new(env, global, Some(&ctx)), cmd);
            // A report that asked Odoo (`accounting`) keeps its verdict too.
            if let Some(v) = crate::connectors::odoo::take_last_verdict() {
                let now = ctx.clock.stamp();
                if let Err(e) = ctx.state.update(|s| record_odoo(&ctx, s, v, &now)) {
                    log::warn!("cannot record Odoo's state: {e:#}");
                }
            }
            out
        }
    }
}

/// The job a command's runs, audit lines and lock are named after: its name in the table,
/// except `aie run JOB`, which runs as the job it names.
fn job_name(cmd: &Command) -> &str {
    match cmd {
        Command::Run(args) => &args.job,
        other => other.spec().name,
    }
}

/// Runs a command that locks the vault as a job: lock, state, problems, dashboard.
fn run_job(env: &Env, global: &GlobalArgs, cmd: &Command, access: VaultAccess) -> Result<Outcome> {
    let root = env.vault_root(global.vault.as_deref());
    let job = job_name(cmd);
    let ctx = Ctx::open(env, &root, job, global.deadline)?;
    let _locks = lock::acquire(&ctx.vault.aie_dir(), job, access, &ctx.holder_text())?;
    let started = Instant::now();
    let start_stamp = ctx.clock.stamp();
    let crashed = !cmd.per_request()
        && ctx
            .state
            .update(|s| s.record_start(job, &start_stamp, true))?;
    if crashed {
        // A run that started and never finished left its temp files: clean them up. (An idle
        // pass never reads the big folders.)
        let n = ctx.vault.clean_temps();
        log::info!("{job}: the last run did not finish; removed {n} temp file(s)");
    }
    let result = commands::dispatch(&Cx::new(env, global, Some(&ctx)), cmd);
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
    if (outcome.changed && !cmd.per_request()) || !new_problems.is_empty() {
        // Only the local agent writes Dashboard.md; a draft_only agent reports in Updates/.
        dashboard::report(&ctx);
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
    Ok(outcome)
}

/// Writes the run into state: its record, its problems under attention, its activity.
/// Returns the keys of problems seen for the first time.
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
        s.record_finish(
            job,
            RunFinish {
                start,
                now: &now,
                exit,
                duration_ms: Some(started.elapsed().as_millis() as u64),
                counts: Some(out.counts.clone()),
                succeeded: exit == Exit::Ok && out.problems.is_empty(),
                worked: out.changed,
                steps: None,
            },
        );
        let mut new = Vec::new();
        let keys: Vec<String> = out
            .problems
            .iter()
            .map(|p| format!("{prefix}{}", p.key))
            .collect();
        s.attention
            .retain(|k, _| !k.starts_with(&prefix) || keys.contains(k));
        for (p, key) in out.problems.iter().zip(&keys) {
            if s.raise(key, &p.message, &now) {
                new.push(p.key.clone());
            }
        }
        for line in &out.activity {
            s.push_recent(&now, crate::secrets::scrub(line));
        }
        if let Some(v) = crate::connectors::odoo::take_last_verdict() {
            record_odoo(ctx, s, v, &now);
        }
        new
    })
}

/// Keeps the verdict of the command's last Odoo call in state (`status` shows an error
/// under attention until a call succeeds). The message is scrubbed of every secret.
fn record_odoo(ctx: &Ctx, s: &mut crate::state::State, v: Result<(), String>, now: &str) {
    let v = v.map_err(|m| crate::audit::scrub(&m, &ctx.secrets.values()));
    s.odoo.get_or_insert_default().record(v, now);
}

/// The report as JSON: the command's own object, with its counts and problems added.
pub fn json_of(out: &Outcome) -> serde_json::Value {
    // A report that is a list (`backup --list --json`) is printed as the list itself.
    if out.json.is_array() {
        return out.json.clone();
    }
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
    v
}

/// The report for people: the summary, scrubbed, ending with a newline (empty when the
/// command has nothing to say). An HTTP answer (`aie ingest`) is left as it is: a byte
/// after its body would be more than its `content-length` says.
pub fn text_of(out: &Outcome) -> String {
    let mut text = crate::secrets::scrub(&out.summary);
    if !text.is_empty() && !text.ends_with('\n') && !text.starts_with("HTTP/1.1 ") {
        text.push('\n');
    }
    text
}

/// Prints the report: JSON with `--json`, else the human summary (nothing when empty). The
/// only place a command's output reaches stdout.
fn print_outcome(out: &Outcome, json: bool) {
    if json {
        let text = serde_json::to_string_pretty(&json_of(out)).unwrap_or_default();
        println!("{}", crate::secrets::scrub(&text));
    } else {
        print!("{}", text_of(out));
    }
}
