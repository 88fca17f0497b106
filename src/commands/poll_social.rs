//! `aie poll-social`: new Facebook Page comments and X mentions become items in
//! `Needs_Action/social/`.

use crate::config::Duty;
use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;

/// `--json`, `--deadline`.
pub type PollSocialArgs = crate::cli::PassFlags;

/// Runs the poll-social pass.
pub fn run(cx: &Cx, _args: &PollSocialArgs) -> Result<Outcome> {
    // Only the active zone's agent polls: two importers would race for each comment.
    let pass = crate::passes::social_poll::poll;
    crate::zones::run_if_here(cx.ctx(), Duty::PollSocial, "poll-social", pass)
}
