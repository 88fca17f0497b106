//! `aie run JOB`: the steps of a scheduled job in order, under the job's own lock
//! (`run-<job>`) and timeout. Reports nothing on success, so cron mails only failures (each
//! failed step is logged as an error); exits with the worst step's code. A watchdog records
//! and ends a run that outlives its timeout.

use crate::context::Cx;
use crate::exit::{AieError, Exit, exit_for};
use crate::outcome::Outcome;
use crate::schedule::job_run::{self, TimeoutRecorder};
use crate::schedule::jobs;
use anyhow::Result;
use clap::Args;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job: a built-in one (triage, execute) or one in the vault's jobs/ folder.
    pub job: String,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

/// Runs the job; returns the worst step's code (75 when another run of it holds its lock).
pub fn run(cx: &Cx, args: &RunArgs) -> Result<Outcome> {
    let (env, ctx) = (cx.env, cx.ctx());
    let all = jobs::load(ctx.vault.root())?;
    let Some(job) = all.iter().find(|j| j.name == args.job) else {
        let names: Vec<&str> = all.iter().map(|j| j.name.as_str()).collect();
        return Err(AieError::Usage(format!(
            "no job named `{}`: the jobs are {}",
            args.job,
            names.join(", ")
        ))
        .into());
    };
    let role = ctx.mode.role();
    if !job.agents.includes(role) {
        return Err(AieError::Config(format!(
            "job `{}` runs on the {} agent only, and this one is the {} agent: remove it from this machine's schedule",
            job.name,
            job.agents.name(),
            role.name()
        ))
        .into());
    }
    let cmds = job.commands()?;
    let lock_name = format!("run-{}", job.name);
    let _lock = match crate::lock::acquire_named(
        &ctx.vault.aie_dir(),
        &lock_name,
        &ctx.holder_text(),
    ) {
        Ok(l) => l,
        Err(e) if exit_for(&e) == Exit::LockBusy => {
            log::info!("job `{}` is already running: skipped", job.name);
            return Ok(Outcome {
                exit: Some(Exit::LockBusy),
                json: serde_json::json!({"job": job.name, "exit": Exit::LockBusy.code(), "busy": true}),
                ..Outcome::default()
            });
        }
        Err(e) => return Err(e),
    };
    let start = ctx.clock.stamp();
    let started = Instant::now();
    ctx.state
        .update(|s| s.record_start(&job.name, &start, false))?;
    // No new step starts after three quarters of the timeout; the watchdog ends the run a
    // little before systemd's TimeoutStartSec would.
    let soft = started + job.timeout.mul_f64(0.75);
    let hard = job
        .timeout
        .saturating_sub(Duration::from_secs(5).min(job.timeout / 10));
    let current = Arc::new(Mutex::new(String::new()));
    let recorder = TimeoutRecorder {
        job: job.name.clone(),
        agent: ctx.agent.clone(),
        start: start.clone(),
        timeout: job.timeout,
        clock: ctx.clock.clone(),
        state: ctx.state.clone(),
        logs: ctx.vault.logs(),
        secrets: ctx.secrets.values(),
    };
    let (done, watch) = mpsc::channel::<()>();
    let (cur, ping_url) = (current.clone(), job.ping_url.clone());
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = watch.recv_timeout(hard) {
            let step = cur.lock().map(|s| s.clone()).unwrap_or_default();
            if let Err(e) = job_run::record_hard_timeout(&recorder, &step) {
                log::error!("cannot record the timeout: {e:#}");
            }
            log::error!(
                "job `{}` timed out after {}s in step `{step}`",
                recorder.job,
                recorder.timeout.as_secs()
            );
            if let Some(url) = ping_url {
                job_run::ping(&url, &Exit::Partial.code().to_string());
            }
            std::process::exit(Exit::Partial.code().into());
        }
    });
    if let Some(url) = &job.ping_url {
        job_run::ping(url, "start");
    }
    let report = job_run::run_steps(env, ctx.vault.root(), job, cmds, soft, |step| {
        if let Ok(mut c) = current.lock() {
            *c = step.to_string();
        }
    });
    let _ = done.send(());
    let exit = report.exit();
    job_run::record(ctx, job, &start, started, &report)?;
    if let Some(url) = &job.ping_url {
        job_run::ping(url, &exit.code().to_string());
    }
    for s in &report.steps {
        match (&s.error, s.exit) {
            (Some(_), Exit::LockBusy) => log::info!("step `{}`: busy, skipped", s.step),
            (Some(e), _) => log::error!("job `{}` step `{}`: {e}", job.name, s.step),
            (None, Exit::Ok | Exit::LockBusy) => {}
            // An exit the job accepts (`success_exit`): its step reported it its own way.
            (None, code) if job.succeeded(code) => log::info!(
                "job `{}` step `{}` exited {} (accepted by the job's success_exit)",
                job.name,
                s.step,
                code.code()
            ),
            (None, code) => log::error!(
                "job `{}` step `{}` exited {}",
                job.name,
                s.step,
                code.code()
            ),
        }
    }
    if report.timed_out {
        log::error!(
            "job `{}` reached its timeout of {}s: not started: {}",
            job.name,
            job.timeout.as_secs(),
            report.skipped.join(", ")
        );
    } else if !report.skipped.is_empty() {
        log::error!(
            "job `{}` stopped after a failed step: not started: {}",
            job.name,
            report.skipped.join(", ")
        );
    }
    let steps: Vec<_> = report
        .steps
        .iter()
        .map(|s| serde_json::json!({"step": s.step, "exit": s.exit.code(), "error": s.error, "duration_ms": s.duration_ms}))
        .collect();
    Ok(Outcome {
        exit: Some(exit),
        json: serde_json::json!({"job": job.name, "exit": exit.code(), "steps": steps, "skipped": report.skipped, "timed_out": report.timed_out}),
        ..Outcome::default()
    })
}
