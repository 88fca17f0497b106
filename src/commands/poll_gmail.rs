//! `aie poll-gmail`: new Gmail messages become items in `Needs_Action/email/`.

use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;

/// `--json`, `--deadline`.
pub type PollGmailArgs = crate::cli::PassFlags;

/// Runs the Gmail poll pass.
pub fn run(cx: &Cx, _args: &PollGmailArgs) -> Result<Outcome> {
    // Only the active zone's agent polls: two importers would race for each message.
    if let Some(skipped) =
        crate::zones::skip(cx.ctx(), crate::config::Duty::PollGmail, "poll-gmail")
    {
        return Ok(skipped);
    }
    crate::passes::gmail_poll::poll(cx.ctx())
}
