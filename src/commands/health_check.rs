//! `aie health-check`: run every configured and built-in check once, record the results,
//! and alert when a check turns DOWN or UP (the pass is `passes::health`). Exits 0 when the
//! checks ran, whatever they found: the alerts are its report, and a non-zero exit would make
//! systemd's `OnFailure=` alert again every two minutes.

use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct HealthCheckArgs {
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

/// Runs one health-check pass.
pub fn run(cx: &Cx, _args: &HealthCheckArgs) -> Result<Outcome> {
    crate::passes::health::health_pass(cx.ctx(), cx.env)
}
