//! One run of a scheduled job ([`run`]): under the job's own lock (`run-<job>`) and a
//! watchdog that records and ends a run that outlives its timeout, its steps in order, each
//! an in-process aie pass through
//! [`crate::runner::run_command`] (so each step keeps its own lock, state and audit records)
//! with its report unprinted, under the job's soft deadline; then the job's own record in
//! state (`jobs.<job>`, with its steps) and the audit log, and its healthchecks-style pings.
//! Never prints; the `run` command reports what this returns.

use crate::audit::AuditEvent;
use crate::cli::Cli;
use crate::context::{Ctx, Env};
use crate::exit::{AieError, Exit, exit_for};
use crate::schedule::jobs::{Job, OnFailure};
use crate::state::{RunFinish, StepRecord};
use anyhow::Result;
use serde_json::json;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// What one step did.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub step: String,
    pub exit: Exit,
    /// The error that ended the step, when one did.
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// What the job did.
#[derive(Debug, Clone, Default)]
pub struct JobReport {
    pub steps: Vec<StepReport>,
    /// Steps not run: after a failure with `on_failure: stop`, or past the deadline.
    pub skipped: Vec<String>,
    /// Whether the soft deadline passed before every step could start.
    pub timed_out: bool,
}

impl JobReport {
    /// The worst step's code (worst first: 78, 1, 69, 75, 0); a timeout counts as 1.
    pub fn exit(&self) -> Exit {
        let mut e = self.steps.iter().fold(Exit::Ok, |acc, s| acc.worst(s.exit));
        if self.timed_out {
            e = e.worst(Exit::Partial);
        }
        e
    }
}

fn is_failure(e: Exit) -> bool {
    !matches!(e, Exit::Ok | Exit::LockBusy)
}

/// How a run of a job ended.
#[derive(Debug)]
pub enum JobRun {
    /// Another run of the job holds its lock: nothing ran.
    Busy,
    /// The job ran; its record is in state and the audit log.
    Finished(JobReport),
}

/// Runs the job `name` of the vault open in `ctx`: under its own lock (`run-<job>`), with its
/// start and finish recorded in state, its pings sent, each step that failed logged, and a
/// watchdog that records the run and ends the process (exit 1) a little before the job's
/// timeout, ahead of systemd's `TimeoutStartSec`. No new step starts after three quarters of
/// the timeout. Errors: no such job, or one not meant for this agent (exit 2 and 78); a lock
/// or state that cannot be written.
pub fn run(env: &Env, ctx: &Ctx, name: &str) -> Result<JobRun> {
    // Another job's broken file stops that job only (health, status and doctor name it);
    // this job's own is an error.
    let (all, broken) = crate::schedule::jobs::load_each(ctx.vault.root());
    for (other, e) in broken {
        if other == name {
            return Err(e);
        }
        log::warn!("job `{other}` cannot run: {e:#}");
    }
    let Some(job) = all.iter().find(|j| j.name == name) else {
        let names: Vec<&str> = all.iter().map(|j| j.name.as_str()).collect();
        return Err(AieError::Usage(format!(
            "no job named `{name}`: the jobs are {}",
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
    let _lock =
        match crate::lock::acquire_named(&ctx.vault.aie_dir(), &lock_name, &ctx.holder_text()) {
            Ok(l) => l,
            Err(e) if exit_for(&e) == Exit::LockBusy => {
                log::info!("job `{}` is already running: skipped", job.name);
                return Ok(JobRun::Busy);
            }
            Err(e) => return Err(e),
        };
    let start = ctx.clock.stamp();
    let started = Instant::now();
    ctx.state
        .update(|s| s.record_start(&job.name, &start, false))?;
    let soft = started + job.timeout.mul_f64(0.75);
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
    let done = spawn_watchdog(recorder, job.ping_url.clone(), current.clone());
    if let Some(url) = &job.ping_url {
        ping(url, "start");
    }
    let report = run_steps(env, ctx.vault.root(), job, cmds, soft, |step| {
        if let Ok(mut c) = current.lock() {
            *c = step.to_string();
        }
    });
    let _ = done.send(());
    let exit = report.exit();
    record(ctx, job, &start, started, &report)?;
    if let Some(url) = &job.ping_url {
        ping(url, &exit.code().to_string());
    }
    log_failures(job, &report);
    Ok(JobRun::Finished(report))
}

/// Starts the watchdog of a run: unless told (through the returned sender) that the run
/// ended, it records a timeout in the step named in `current`, pings the failure and ends the
/// process with exit 1, a little before the job's timeout.
fn spawn_watchdog(
    recorder: TimeoutRecorder,
    ping_url: Option<String>,
    current: Arc<Mutex<String>>,
) -> mpsc::Sender<()> {
    let hard = recorder
        .timeout
        .saturating_sub(Duration::from_secs(5).min(recorder.timeout / 10));
    let (done, watch) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = watch.recv_timeout(hard) {
            let step = current.lock().map(|s| s.clone()).unwrap_or_default();
            if let Err(e) = record_hard_timeout(&recorder, &step) {
                log::error!("cannot record the timeout: {e:#}");
            }
            log::error!(
                "job `{}` timed out after {}s in step `{step}`",
                recorder.job,
                recorder.timeout.as_secs()
            );
            if let Some(url) = ping_url {
                ping(&url, &Exit::Partial.code().to_string());
            }
            std::process::exit(Exit::Partial.code().into());
        }
    });
    done
}

/// Logs each failed step as an error (so cron mails only failures), and the steps not run.
fn log_failures(job: &Job, report: &JobReport) {
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
}

/// Runs the steps in order. `soft_deadline` is when no new step starts and each step stops
/// starting new items; `on_step` is told the step about to run (for the timeout watchdog).
pub fn run_steps(
    env: &Env,
    root: &Path,
    job: &Job,
    cmds: Vec<Cli>,
    soft_deadline: Instant,
    mut on_step: impl FnMut(&str),
) -> JobReport {
    let mut report = JobReport::default();
    let mut stop = false;
    for (args, mut cli) in job.steps.iter().zip(cmds) {
        let step = args.join(" ");
        let left = soft_deadline.saturating_duration_since(Instant::now());
        if stop || left.is_zero() {
            if !stop {
                report.timed_out = true;
            }
            report.skipped.push(step);
            continue;
        }
        on_step(&step);
        cli.global.vault = Some(root.to_path_buf());
        let left = left.as_secs_f64();
        cli.global.deadline = Some(cli.global.deadline.map_or(left, |d| d.min(left)));
        let started = Instant::now();
        let (exit, error) = match crate::runner::run_command(env, &cli.global, &cli.command) {
            Ok(out) => (out.exit.unwrap_or(Exit::Ok), None),
            Err(e) => (exit_for(&e), Some(format!("{e:#}"))),
        };
        report.steps.push(StepReport {
            step,
            exit,
            error,
            duration_ms: started.elapsed().as_millis() as u64,
        });
        if is_failure(exit) && job.on_failure == OnFailure::Stop {
            stop = true;
        }
    }
    report
}

/// Records the finished job: its state (times, exit, failures in a row, the steps), a
/// `timeout` attention entry while it keeps timing out, and audit lines per step and job.
pub fn record(
    ctx: &Ctx,
    job: &Job,
    start: &str,
    started: Instant,
    report: &JobReport,
) -> Result<()> {
    let exit = report.exit();
    for s in &report.steps {
        ctx.audit.append(AuditEvent {
            target: Some(s.step.clone()),
            parameters: json!({"exit": s.exit.code(), "duration_ms": s.duration_ms}),
            result: Some(if s.exit == Exit::Ok {
                "ok".into()
            } else {
                format!("exit {}", s.exit.code())
            }),
            error: s.error.clone(),
            ..AuditEvent::new("run_step", None)
        })?;
    }
    ctx.audit.append(AuditEvent {
        parameters: json!({
            "exit": exit.code(),
            "steps": report.steps.len(),
            "skipped": report.skipped,
            "timed_out": report.timed_out,
            "duration_ms": started.elapsed().as_millis() as u64,
        }),
        result: Some(if exit == Exit::Ok {
            "ok".into()
        } else {
            format!("exit {}", exit.code())
        }),
        ..AuditEvent::new("run_job", None)
    })?;
    let now = ctx.clock.stamp();
    let steps: Vec<StepRecord> = report
        .steps
        .iter()
        .map(|s| StepRecord {
            step: s.step.clone(),
            exit: s.exit.code() as i32,
            duration_ms: s.duration_ms,
        })
        .collect();
    ctx.state.update(|s| {
        s.record_finish(
            &job.name,
            RunFinish {
                start,
                now: &now,
                exit,
                duration_ms: Some(started.elapsed().as_millis() as u64),
                counts: Some(
                    [
                        ("steps".to_string(), report.steps.len() as u64),
                        (
                            "failed".to_string(),
                            report.steps.iter().filter(|s| is_failure(s.exit)).count() as u64,
                        ),
                        ("skipped".to_string(), report.skipped.len() as u64),
                    ]
                    .into_iter()
                    .collect(),
                ),
                succeeded: job.succeeded(exit),
                worked: false,
                steps: Some((steps, report.skipped.clone())),
            },
        );
        if job.succeeded(exit) {
            // A failure `aie alert` recorded for this job's unit clears when it succeeds.
            s.attention
                .remove(&format!("alert:aie-{}.service", job.name));
        }
        if report.timed_out {
            let message = format!(
                "job `{}` hit its timeout of {}s: steps skipped: {}",
                job.name,
                job.timeout.as_secs(),
                report.skipped.join(", ")
            );
            s.raise(&timeout_key(&job.name), &message, &now);
        } else {
            s.attention.remove(&timeout_key(&job.name));
        }
    })
}

/// The attention key of a job that keeps reaching its timeout (cleared by a run that does
/// not).
fn timeout_key(job: &str) -> String {
    format!("run-{job}:timeout")
}

/// Records a run the watchdog ends at the job's hard timeout (the process exits 1 next):
/// state, an attention entry that names the step, and an audit line.
pub fn record_hard_timeout(ctx_parts: &TimeoutRecorder, step: &str) -> Result<()> {
    let now = ctx_parts.clock.stamp();
    let message = format!(
        "job `{}` was stopped at its timeout of {}s during step `{step}`",
        ctx_parts.job,
        ctx_parts.timeout.as_secs()
    );
    let audit = crate::audit::AuditLog::new(
        &ctx_parts.logs,
        &ctx_parts.agent,
        &ctx_parts.job,
        ctx_parts.clock.clone(),
        ctx_parts.secrets.clone(),
    );
    audit.append(AuditEvent {
        target: Some(step.to_string()),
        result: Some("timeout".into()),
        error: Some(message.clone()),
        parameters: json!({"exit": Exit::Partial.code(), "timeout_s": ctx_parts.timeout.as_secs()}),
        ..AuditEvent::new("run_job", None)
    })?;
    let _ = audit.sync();
    ctx_parts.state.update(|s| {
        s.record_finish(
            &ctx_parts.job,
            RunFinish {
                start: &ctx_parts.start,
                now: &now,
                exit: Exit::Partial,
                duration_ms: None,
                counts: None,
                succeeded: false,
                worked: false,
                steps: None,
            },
        );
        s.raise(&timeout_key(&ctx_parts.job), &message, &now);
    })
}

/// What the watchdog thread needs to record a timeout (the `Ctx` itself stays on the main
/// thread).
#[derive(Clone)]
pub struct TimeoutRecorder {
    pub job: String,
    pub agent: String,
    pub start: String,
    pub timeout: Duration,
    pub clock: crate::clock::Clock,
    pub state: crate::state::StateStore,
    pub logs: std::path::PathBuf,
    pub secrets: Vec<String>,
}

/// Sends a healthchecks.io-style ping (`<url>/<suffix>`). A ping is not an action: a failure
/// is logged at info level and never fails the job.
pub fn ping(url: &str, suffix: &str) {
    use crate::connectors::http::{Http, Request, RetryPolicy, Verdict, url_host, url_path};
    let target = format!("{url}/{suffix}");
    // The path of a ping URL is its key: scrubbed from the layer's debug line and errors.
    let http = Http::new("ping", Duration::from_secs(10), RetryPolicy::NONE, None)
        .scrubbing(&[url_path(url)]);
    if let Err(e) = http.send(&Request::get(&target), &|_| Verdict::Stop) {
        log::info!("cannot ping {}: {e}", url_host(&target));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_step_decides_and_a_timeout_counts_as_failed() {
        let step = |exit| StepReport {
            step: "x".into(),
            exit,
            error: None,
            duration_ms: 0,
        };
        let mut r = JobReport {
            steps: vec![
                step(Exit::Ok),
                step(Exit::LockBusy),
                step(Exit::Unavailable),
            ],
            ..JobReport::default()
        };
        assert_eq!(r.exit(), Exit::Unavailable);
        r.steps.push(step(Exit::Partial));
        assert_eq!(r.exit(), Exit::Partial);
        r.steps.push(step(Exit::Config));
        assert_eq!(r.exit(), Exit::Config);
        let busy = JobReport {
            steps: vec![step(Exit::LockBusy), step(Exit::Ok)],
            ..JobReport::default()
        };
        assert_eq!(busy.exit(), Exit::LockBusy);
        let late = JobReport {
            steps: vec![step(Exit::Ok)],
            skipped: vec!["plan".into()],
            timed_out: true,
        };
        assert_eq!(late.exit(), Exit::Partial);
    }
}
