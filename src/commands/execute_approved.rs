//! `aie execute-approved [--dry-run]`: run the actions of items in `Approved/`.

use crate::context::Cx;
use crate::executor::Executors;
use crate::outcome::Outcome;
use anyhow::Result;

/// The help of `--dry-run`.
pub const DRY_RUN: &str = "\
    Show exactly what each action would send, send nothing (also the default \
    until `execution.dry_run: false` in aie.yaml)";

/// `--dry-run`, `--json`, `--deadline`.
pub type ExecuteApprovedArgs = crate::cli::DryRunPassFlags;

/// Runs the execute pass with the executors the settings build.
pub fn run(cx: &Cx, args: &ExecuteApprovedArgs) -> Result<Outcome> {
    let ctx = cx.ctx();
    // (A draft_only agent says so in the pass, whatever its zone.)
    if ctx.mode == crate::context::Mode::Full
        && let Some(skipped) =
            crate::zones::skip(ctx, crate::config::Duty::Execute, "execute-approved")
    {
        return Ok(skipped);
    }
    let mut executors = Executors::new(&ctx.settings, &ctx.secrets, ctx.vault.root());
    crate::passes::execute::execute_pass(ctx, &mut executors, args.dry_run)
}
