//! One file per subcommand: an args struct that implements [`CommandArgs`] (whether it
//! was given `--json` and its own `--deadline`) and one entry function,
//! `run(cx: &Cx, args: &<Name>Args) -> Result<Outcome>`. Commands are thin: they call into
//! the domain modules and return an [`Outcome`]; they never print it (the runner does), and
//! never call another command.
//!
//! Adding a command is three edits: its file here (args, `impl CommandArgs`, `run`) with its
//! `pub mod` line below, its variant in [`crate::cli::Command`], and its row in
//! [`crate::cli::Command::row`] (name, kind, vault use, entry function). Nothing else lists
//! commands; the tests in `cli.rs` check the row's name against clap's and every `--json`
//! and `--deadline` against what the args return.

pub mod accounting;
pub mod alert;
pub mod approve;
pub mod auth_gmail;
pub mod backup;
pub mod ceo_briefing;
pub mod completions;
pub mod demo;
pub mod doctor;
pub mod execute_approved;
pub mod failover;
pub mod health_check;
pub mod ingest;
pub mod init;
pub mod man;
pub mod mcp;
pub mod plan;
pub mod poll_gmail;
pub mod poll_social;
pub mod process_inbox;
pub mod reject;
pub mod restore;
pub mod run;
pub mod schedule;
pub mod status;
pub mod sync_vault;

pub use crate::cli::CommandArgs;
pub use crate::outcome::{Outcome, Problem};

use crate::cli::Command;
use crate::context::Cx;
use anyhow::Result;

/// Runs `cmd` in `cx` (which the runner prepared as the command's table row says).
pub fn dispatch(cx: &Cx, cmd: &Command) -> Result<Outcome> {
    cmd.row().run(cx)
}
