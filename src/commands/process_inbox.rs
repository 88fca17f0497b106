//! `aie process-inbox`: files in `Inbox/` become items in `Needs_Action/<domain>/`.

use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Default, Args)]
pub struct ProcessInboxArgs {
    /// Show what would be filed, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
    #[command(flatten)]
    pub deadline: crate::cli::DeadlineFlag,
}

/// Runs the intake pass.
pub fn run(cx: &Cx, args: &ProcessInboxArgs) -> Result<Outcome> {
    crate::passes::intake::process_inbox(cx.ctx(), args.dry_run)
}
