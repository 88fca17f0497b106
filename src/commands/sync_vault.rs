//! `aie sync-vault`: commit, fetch, merge by the vault's rules and push, through git, under
//! the exclusive vault lock (the pass is `passes::sync`).

use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;

/// `--json`, `--deadline`.
pub type SyncVaultArgs = crate::cli::PassFlags;

/// Runs one sync pass.
pub fn run(cx: &Cx, _args: &SyncVaultArgs) -> Result<Outcome> {
    crate::passes::sync::sync_pass(cx.ctx())
}
