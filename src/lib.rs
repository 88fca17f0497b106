//! aie: a personal "AI employee" that works through an Obsidian-style vault in short passes.
//!
//! # How data flows
//! ```text
//! sources (Inbox/ files, Gmail)          process-inbox, poll-gmail
//!      -> item in Needs_Action/<domain>/  (vault::item: Markdown + YAML front matter)
//!      -> claimed in In_Progress/<agent>/ plan (planner proposes actions,
//!      -> Plans/<domain>/<id>.plan.md          policy decides which need a human)
//!      -> Pending_Approval/<domain>/  ... a human moves it to Approved/ (or Rejected/)
//!      -> Approved/ (by a human, or by policy:<rule>)
//!      -> execute-approved (executor per action kind, journal around each side effect)
//!      -> Done/ with each action's result
//! ```
//! Beside the flow: `lock` (one job lock per command, a shared/exclusive vault lock),
//! `state` (`.aie/state.json`), `audit` (`Logs/YYYY-MM-DD.jsonl`), `vault::approvals`
//! (`.aie/approvals.jsonl`, this agent's proof that binds approvals to an actions hash,
//! mirrored to `Logs/approvals.jsonl` as a readable trail) and `journal`
//! (`.aie/journal.jsonl`, intent before and outcome after every side effect).
//!
//! `main` calls [`main_entry`]; [`cli`] parses; [`runner`] wraps each vault command in its lock
//! and state bookkeeping; `commands/` holds one thin file per subcommand; domain modules never
//! print, exit or read the environment.

pub mod actions;
pub mod audit;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod connectors;
pub mod context;
pub mod dashboard;
pub mod doctor;
pub mod executor;
pub mod exit;
pub mod fsutil;
pub mod grounding;
pub mod journal;
pub mod lock;
pub mod outcome;
pub mod passes;
pub mod planner;
pub mod policy;
pub mod runner;
pub mod schedule;
pub mod secrets;
pub mod state;
pub mod vault;

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

/// Parses the command line, runs the command, prints errors, and returns the exit code.
pub fn main_entry() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => exit::Exit::Usage.into(),
            };
        }
    };
    init_logging(cli.global.verbose);
    let env = context::Env::capture();
    let verbose = cli.global.verbose > 0;
    match runner::run(cli, &env) {
        Ok(code) => code.into(),
        Err(err) => {
            let code = exit::exit_for(&err);
            // An error may quote a server's reply: scrubbed like every text from outside.
            let text = if verbose {
                format!("{err:?}")
            } else {
                format!("{err:#}")
            };
            eprintln!("aie: error: {}", secrets::scrub(&text));
            code.into()
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let env = env_logger::Env::new().filter_or("AIE_LOG", default);
    let _ = env_logger::Builder::from_env(env)
        .format(|buf, record| {
            let level = record.level().to_string().to_lowercase();
            let text = secrets::scrub(&record.args().to_string());
            writeln!(buf, "aie: {level}: {text}")
        })
        .try_init();
}
