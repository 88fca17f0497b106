//! `aie process-inbox`: files in `Inbox/` become items in `Needs_Action/<domain>/`.

use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;

/// The help of `--dry-run`.
pub const DRY_RUN: &str = "Show what would be filed, change nothing";

/// `--dry-run`, `--json`, `--deadline`.
pub type ProcessInboxArgs = crate::cli::DryRunPassFlags;

/// Runs the intake pass.
pub fn run(cx: &Cx, args: &ProcessInboxArgs) -> Result<Outcome> {
    crate::passes::intake::process_inbox(cx.ctx(), args.dry_run)
}
