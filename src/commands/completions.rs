//! `aie completions bash|zsh|fish`: shell completions generated from the clap definitions.

use crate::cli::Cli;
use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::{Context, Result};
use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    pub shell: String,
}

impl crate::cli::CommandArgs for CompletionsArgs {}

/// The completion script; install it where the shell looks (see the README).
pub fn run(_cx: &Cx, args: &CompletionsArgs) -> Result<Outcome> {
    let shell = match args.shell.as_str() {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        _ => Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "aie", &mut script);
    Ok(Outcome {
        summary: String::from_utf8(script).context("the completion script is not UTF-8")?,
        json: serde_json::json!({"shell": args.shell}),
        ..Outcome::default()
    })
}
