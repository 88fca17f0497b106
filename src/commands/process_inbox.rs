//! `aie process-inbox`: files in `Inbox/` become items in `Needs_Action/<domain>/`.

use crate::context::Ctx;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct ProcessInboxArgs {
    /// Show what would be filed, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(ctx: &Ctx, args: &ProcessInboxArgs) -> Result<Outcome> {
    crate::passes::intake::process_inbox(ctx, args.dry_run)
}
