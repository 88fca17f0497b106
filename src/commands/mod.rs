//! One file per subcommand: an args struct and one entry function,
//! `run(cx: &Cx, args: &<Name>Args) -> Result<Outcome>`. Commands are thin: they call into
//! the domain modules and return an [`Outcome`]; they never print it (the runner does).
//! Adding a command: its file here, its variant in [`crate::cli::Command`], its row in
//! [`crate::cli::Command::spec`] and its arm in [`dispatch`].

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
pub mod restore;
pub mod run;
pub mod schedule;
pub mod status;
pub mod sync_vault;

pub use crate::outcome::{Outcome, Problem};

use crate::cli::Command;
use crate::context::Cx;
use anyhow::Result;

/// Runs `cmd` in `cx` (which the runner prepared as the command's table row says).
pub fn dispatch(cx: &Cx, cmd: &Command) -> Result<Outcome> {
    match cmd {
        Command::Init(a) => init::run(cx, a),
        Command::Demo(a) => demo::run(cx, a),
        Command::PollGmail(a) => poll_gmail::run(cx, a),
        Command::PollSocial(a) => poll_social::run(cx, a),
        Command::Auth(a) => auth_gmail::run(cx, a),
        Command::ProcessInbox(a) => process_inbox::run(cx, a),
        Command::Plan(a) => plan::run(cx, a),
        Command::ExecuteApproved(a) => execute_approved::run(cx, a),
        Command::Status(a) => status::run(cx, a),
        Command::SyncVault(a) => sync_vault::run(cx, a),
        Command::Accounting(a) => accounting::run(cx, a),
        Command::HealthCheck(a) => health_check::run(cx, a),
        Command::Failover(a) => failover::run(cx, a),
        Command::Run(a) => run::run(cx, a),
        Command::Schedule(a) => schedule::run(cx, a),
        Command::Doctor(a) => doctor::run(cx, a),
        Command::Alert(a) => alert::run(cx, a),
        Command::Completions(a) => completions::run(cx, a),
        Command::Man(a) => man::run(cx, a),
        Command::Backup(a) => backup::run(cx, a),
        Command::Approve(a) => approve::approve(cx, a),
        Command::Reject(a) => approve::reject(cx, a),
        Command::Restore(a) => restore::run(cx, a),
        Command::Ingest(a) => ingest::run(cx, a),
        Command::CeoBriefing(a) => ceo_briefing::run(cx, a),
        Command::Mcp(a) => mcp::run(cx, a),
    }
}
