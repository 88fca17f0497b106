//! `aie health-check`: run every configured and built-in check once, record the results,
//! and alert when a check turns DOWN or UP (the pass is `passes::health`). Exits 1 while a
//! check is DOWN (SPEC: the pass finished, but checks failed), else 0. The `health` job
//! accepts that 1 (`success_exit: [1]`, so its unit has `SuccessExitStatus=75 1`): the
//! alerts, once per incident plus reminders, are the report, and `OnFailure=` does not
//! alert again every two minutes. `--live` asks every connector live now, instead of
//! reusing a live answer younger than `health.live_every`.

use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;

/// `aie health-check [--live] [--json]`.
#[derive(Debug, Args)]
pub struct HealthCheckArgs {
    /// Ask every connector live now (after fixing a token or a password), instead of
    /// reusing an answer younger than `health.live_every`.
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

impl crate::cli::CommandArgs for HealthCheckArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

/// Runs one health-check pass (every connector asked live with `--live`).
pub fn run(cx: &Cx, args: &HealthCheckArgs) -> Result<Outcome> {
    crate::passes::health::health_pass(cx.ctx(), cx.env, args.live)
}
