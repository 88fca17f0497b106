//! `aie sync-vault`: commit, fetch, merge by the vault's rules and push, through git, under
//! the exclusive vault lock (the pass is `passes::sync`).

use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct SyncVaultArgs {
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
    #[command(flatten)]
    pub deadline: crate::cli::DeadlineFlag,
}

/// Runs one sync pass.
pub fn run(cx: &Cx, _args: &SyncVaultArgs) -> Result<Outcome> {
    crate::passes::sync::sync_pass(cx.ctx())
}
