//! `aie poll-gmail`: new Gmail messages become items in `Needs_Action/email/`.

use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;

/// `--json`, `--deadline`.
pub type PollGmailArgs = crate::cli::PassFlags;

/// Runs the Gmail poll pass.
pub fn run(cx: &Cx, _args: &PollGmailArgs) -> Result<Outcome> {
    // Only the active zone's agent polls: two importers would race for each message.
    let duty = crate::config::Duty::PollGmail;
    crate::zones::run_if_here(
        cx.ctx(),
        duty,
        "poll-gmail",
        crate::passes::gmail_poll::poll,
    )
}
