//! `aie approve ID`: the owner's approval from a terminal, the same as moving the request to
//! `Approved/` (or ticking its box): the execution pass's gate still checks the ledger and
//! the actions hash. Also the one place both terminal decisions find the waiting request
//! (`aie reject` shares it).

use crate::cli::CommandArgs;
use crate::context::Cx;
use crate::exit::AieError;
use crate::outcome::Outcome;
use crate::passes::decide::{Via, decide};
use crate::vault::Stage;
use crate::vault::approval_box::Tick;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The request's id (its file name without `.md`).
    pub id: String,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

impl CommandArgs for ApproveArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

/// `aie approve ID`. Errors: no such request waiting (exit 2).
pub fn run(cx: &Cx, args: &ApproveArgs) -> Result<Outcome> {
    decide_waiting(cx, &args.id, Tick::Approve, None)
}

/// Approves or rejects the request `id` waiting in `Pending_Approval/`. Errors: a bad id, or
/// no such request waiting (exit 2); the request changed while it was moved.
pub(super) fn decide_waiting(
    cx: &Cx,
    id: &str,
    tick: Tick,
    reason: Option<&str>,
) -> Result<Outcome> {
    let ctx = cx.ctx();
    crate::vault::item::check_id(id).map_err(|e| AieError::Usage(format!("{e:#}")))?;
    let path = match ctx.vault.locate(id) {
        Some((Stage::PendingApproval(_), path)) => path,
        Some((stage, _)) => {
            return Err(AieError::Usage(format!(
                "`{id}` is in `{}`, not waiting for approval",
                stage.rel().display()
            ))
            .into());
        }
        None => return Err(AieError::Usage(format!("no item `{id}` in the vault")).into()),
    };
    let mut out = Outcome::default();
    if !decide(ctx, &path, tick, reason, Via::Command)? {
        anyhow::bail!("`{id}` changed while it was being moved: run the command again");
    }
    out.changed = true;
    out.summary = match tick {
        Tick::Approve => {
            format!("`{id}` moved to Approved/: execute-approved runs it after checking it")
        }
        Tick::Reject => format!("`{id}` moved to Rejected/"),
    };
    Ok(out)
}
