//! `aie man`: the man page (roff), generated from the clap definitions.

use crate::cli::Cli;
use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::{Context, Result};
use clap::{Args, CommandFactory};

#[derive(Debug, Args)]
pub struct ManArgs {}

/// The text of `aie.1`: `aie man > /usr/local/share/man/man1/aie.1`.
pub fn run(_cx: &Cx, _args: &ManArgs) -> Result<Outcome> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .context("cannot render the man page")?;
    Ok(Outcome {
        summary: String::from_utf8(out).context("the man page is not UTF-8")?,
        ..Outcome::default()
    })
}
