//! `aie reject ID [--reason TEXT]`: the owner's refusal from a terminal, the same as moving
//! the request to `Rejected/` (or ticking its box); with `policy.replan_rejected` the reason
//! becomes feedback for the next plan.

use crate::cli::CommandArgs;
use crate::context::Cx;
use crate::outcome::Outcome;
use crate::vault::approval_box::Tick;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The request's id (its file name without `.md`).
    pub id: String,
    /// Why: with `policy.replan_rejected`, the item is planned again with it as feedback.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

impl CommandArgs for RejectArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

/// `aie reject ID`. Errors: no such request waiting (exit 2).
pub fn run(cx: &Cx, args: &RejectArgs) -> Result<Outcome> {
    super::approve::decide_waiting(cx, &args.id, Tick::Reject, args.reason.as_deref())
}
