//! `aie man`: the man page (roff), generated from the clap definitions.

use crate::cli::Cli;
use crate::exit::Exit;
use anyhow::{Context, Result};
use clap::{Args, CommandFactory};

#[derive(Debug, Args)]
pub struct ManArgs {}

/// Prints `aie.1`: `aie man > /usr/local/share/man/man1/aie.1`.
pub fn run(_args: &ManArgs) -> Result<Exit> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .context("cannot render the man page")?;
    use std::io::Write;
    std::io::stdout()
        .write_all(&out)
        .context("cannot write the man page")?;
    Ok(Exit::Ok)
}
