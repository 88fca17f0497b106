//! `aie run JOB`: the steps of a scheduled job in order, under the job's own lock
//! (`run-<job>`) and timeout ([`crate::schedule::job_run::run`], which also owns the
//! watchdog). Reports nothing on success, so cron mails only failures (each failed step is
//! logged as an error); exits with the worst step's code.

use crate::context::Cx;
use crate::exit::Exit;
use crate::outcome::Outcome;
use crate::schedule::job_run::{self, JobRun};
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job: a built-in one (triage, execute) or one in the vault's jobs/ folder.
    pub job: String,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

impl crate::cli::CommandArgs for RunArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

/// Runs the job; returns the worst step's code (75 when another run of it holds its lock).
pub fn run(cx: &Cx, args: &RunArgs) -> Result<Outcome> {
    let job = &args.job;
    let report = match job_run::run(cx.env, cx.ctx(), job)? {
        JobRun::Busy => {
            return Ok(Outcome {
                exit: Some(Exit::LockBusy),
                json: serde_json::json!({"job": job, "exit": Exit::LockBusy.code(), "busy": true}),
                ..Outcome::default()
            });
        }
        JobRun::Finished(report) => report,
    };
    let exit = report.exit();
    let steps: Vec<_> = report
        .steps
        .iter()
        .map(|s| serde_json::json!({"step": s.step, "exit": s.exit.code(), "error": s.error, "duration_ms": s.duration_ms}))
        .collect();
    Ok(Outcome {
        exit: Some(exit),
        json: serde_json::json!({"job": job, "exit": exit.code(), "steps": steps, "skipped": report.skipped, "timed_out": report.timed_out}),
        ..Outcome::default()
    })
}
