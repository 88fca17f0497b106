//! `aie status [--json]`: queues, last run of every job, locks, and what needs the owner
//! ([`crate::status::report`]). Reads only: takes no job lock, so it answers while other
//! jobs run.

use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

impl crate::cli::CommandArgs for StatusArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

/// Gathers the status report. Errors: `state.json` cannot be read.
pub fn run(cx: &Cx, _args: &StatusArgs) -> Result<Outcome> {
    let report = crate::status::report(cx.ctx())?;
    Ok(Outcome {
        json: report.json,
        summary: report.text,
        ..Outcome::default()
    })
}
