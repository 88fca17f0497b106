//! `aie mcp`: serves one MCP client session over stdio ([`crate::mcp`]), until stdin closes;
//! `aie mcp --config claude-code|claude-desktop` prints the snippet to paste instead. No
//! daemon and no port: the client starts it for its session. The only command that writes
//! stdout itself, because stdout is the protocol's channel; it holds no lock while it waits
//! for the next message.

use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use std::io::{BufRead, Read, Write};

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Print the configuration snippet for this client (with the vault's path) and exit.
    #[arg(long, value_enum, value_name = "CLIENT")]
    pub config: Option<McpClient>,
}

impl crate::cli::CommandArgs for McpArgs {}

/// The clients `--config` writes a snippet for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum McpClient {
    ClaudeCode,
    ClaudeDesktop,
}

/// Serves the session, or prints the snippet.
pub fn run(cx: &Cx, args: &McpArgs) -> Result<Outcome> {
    let ctx = cx.ctx();
    if let Some(client) = args.config {
        let name = match client {
            McpClient::ClaudeCode => "claude-code",
            McpClient::ClaudeDesktop => "claude-desktop",
        };
        return Ok(Outcome {
            summary: crate::mcp::config_snippet(name, ctx.vault.root()),
            ..Outcome::default()
        });
    }
    let mut session = crate::mcp::Session::new(cx);
    let mut input = std::io::stdin().lock();
    let mut output = std::io::stdout().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        // One byte past the limit tells an over-long message from one just at it.
        let limit = crate::mcp::protocol::MAX_MESSAGE_BYTES as u64 + 1;
        let n = (&mut input)
            .take(limit)
            .read_until(b'\n', &mut line)
            .context("cannot read stdin")?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') && n as u64 == limit {
            // Too long: drop the rest of it, answer a parse error.
            let mut rest = Vec::new();
            input
                .read_until(b'\n', &mut rest)
                .context("cannot read stdin")?;
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Some(reply) = session.handle_line(&line) else {
            continue;
        };
        let mut text = serde_json::to_vec(&reply)?;
        text.push(b'\n');
        if output
            .write_all(&text)
            .and_then(|_| output.flush())
            .is_err()
        {
            // The client went away.
            break;
        }
    }
    log::info!("mcp: session of {} ended", session.agent());
    Ok(Outcome::default())
}
