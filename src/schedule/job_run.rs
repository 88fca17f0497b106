//! One run of a scheduled job: its steps in order, each an in-process aie pass through
//! [`crate::runner::run_command`] (so each step keeps its own lock, state and audit records)
//! with its report unprinted, under the job's soft deadline; then the job's own record in
//! state (`jobs.<job>` and `run.<job>`) and the audit log, and its healthchecks-style pings.
//! Never prints; the `run` command reports what this returns.

use crate::audit::AuditEvent;
use crate::cli::Cli;
use crate::context::{Ctx, Env};
use crate::exit::{Exit, exit_for};
use crate::schedule::jobs::{Job, OnFailure};
use crate::state::{Attention, JobRunRecord, RunFinish, StepRecord};
use anyhow::Result;
use serde_json::json;
use std::path::Path;
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
            },
        );
        if job.succeeded(exit) {
            // A failure `aie alert` recorded for this job's unit clears when it succeeds.
            s.attention
                .remove(&format!("alert:aie-{}.service", job.name));
        }
        let key = format!("run-{}:timeout", job.name);
        if report.timed_out {
            s.attention.entry(key).or_insert(Attention {
                since: now.clone(),
                message: format!(
                    "job `{}` hit its timeout of {}s: steps skipped: {}",
                    job.name,
                    job.timeout.as_secs(),
                    report.skipped.join(", ")
                ),
                passes: 1,
            });
        } else {
            s.attention.remove(&key);
        }
        s.run.insert(
            job.name.clone(),
            JobRunRecord {
                at: now.clone(),
                steps,
                skipped: report.skipped.clone(),
            },
        );
    })
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
            },
        );
        s.attention.insert(
            format!("run-{}:timeout", ctx_parts.job),
            Attention {
                since: now.clone(),
                message,
                passes: 1,
            },
        );
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
    let target = format!("{url}/{suffix}");
    let agent = crate::connectors::http_agent(Duration::from_secs(10));
    let started = Instant::now();
    match agent.get(&target).call() {
        Ok(resp) => log::debug!(
            "GET {} {} {} {}ms",
            crate::connectors::url_host(&target),
            crate::connectors::url_path(&target),
            resp.status().as_u16(),
            started.elapsed().as_millis()
        ),
        // The path of a ping URL is its key: name the host only.
        Err(e) => log::info!("cannot ping {}: {e}", crate::connectors::url_host(&target)),
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
