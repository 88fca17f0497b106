//! `aie completions bash|zsh|fish`: shell completions generated from the clap definitions.

use crate::cli::Cli;
use crate::exit::Exit;
use anyhow::Result;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    pub shell: String,
}

/// Prints the completion script; install it where the shell looks (see the README).
pub fn run(args: &CompletionsArgs) -> Result<Exit> {
    let shell = match args.shell.as_str() {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        _ => Shell::Fish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "aie", &mut std::io::stdout());
    Ok(Exit::Ok)
}
