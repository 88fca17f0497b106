//! `aie poll-gmail`: new Gmail messages become items in `Needs_Action/email/`.

use crate::context::Ctx;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct PollGmailArgs {}

pub fn run(ctx: &Ctx, _args: &PollGmailArgs) -> Result<Outcome> {
    crate::passes::gmail_poll::poll(ctx)
}
