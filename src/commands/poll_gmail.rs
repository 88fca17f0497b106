//! `aie poll-gmail`: new Gmail messages become items in `Needs_Action/email/`.

use crate::config::Duty;
use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;

/// `--json`, `--deadline`.
pub type PollGmailArgs = crate::cli::PassFlags;

/// Runs the Gmail poll pass.
pub fn run(cx: &Cx, _args: &PollGmailArgs) -> Result<Outcome> {
    // Only the active zone's agent polls: two importers would race for each message.
    let pass = crate::passes::gmail_poll::poll;
    crate::zones::run_if_here(cx.ctx(), Duty::PollGmail, "poll-gmail", pass)
}
