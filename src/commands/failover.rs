//! `aie failover [--to ZONE]`: switch the active zone when its health has been DOWN long
//! enough, or by hand (the pass is `passes::failover`).

use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct FailoverArgs {
    /// Switch to this zone now (a name from `zones:` in aie.yaml).
    #[arg(long, value_name = "ZONE")]
    pub to: Option<String>,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

impl crate::cli::CommandArgs for FailoverArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

/// Runs one failover pass.
pub fn run(cx: &Cx, args: &FailoverArgs) -> Result<Outcome> {
    crate::passes::failover::failover_pass(cx.ctx(), cx.env, args.to.as_deref())
}
