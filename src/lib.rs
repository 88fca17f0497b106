//! aie: a personal "AI employee" that works through an Obsidian-style vault in short passes.
//!
//! # Read this first: where things live
//! ```text
//! main.rs -> lib.rs main_entry -> cli.rs (clap: global flags, enum Command, and the command
//!            table Command::row: name, kind Pass|Decision|Job|Report|Setup, vault use
//!            None|Open|Shared|Exclusive, entry function)
//!         -> runner.rs   opens and locks what the table row says, runs the command, records a
//!                        pass's run in state, prints the report (the only place that prints)
//! commands/  one file per subcommand: <Name>Args + run(cx, &Args) -> Result<Outcome>; thin
//! passes/    the vault passes: intake (Inbox/), gmail_poll, social_poll, whatsapp_ingest,
//!            plan/, replan, execute/, sync/ (git), claims, health, failover
//! backup/    snapshots (packs, age encryption, restore, retention); briefing/ the Monday
//!            briefing
//! actions/   the action catalogue, one file per kind: typed parameters, and the schema,
//!            policy, grounding, preview, summary and audit target read from them
//! planner/   template/ and llm/ planners: propose actions for an item
//! connectors/ one file or folder per outside service (Gmail, SMTP, the model APIs, Odoo,
//!            the social platforms, WhatsApp), capabilities.rs (the traits), http/ (the one
//!            HTTP layer), oauth.rs
//! vault/     items, the action identities (identity.rs), stage folders, moves, the approval
//!            ledger, the built-in vault template
//! schedule/  job files, the cron engine, systemd units and crontab, one run of a job under
//!            its lock and watchdog (job_run)
//! mcp/       `aie mcp`: the MCP server over stdio (protocol, tools, resources, prompt); reads
//!            the vault and proposes plans that the plan pass routes, never approves
//! one concern each: context (what a command runs with), outcome, state, lock, audit, journal,
//!            policy, grounding, executor, dashboard, doctor, config, secrets, clock, fsutil,
//!            par (a pass's per-item work on two threads), lines (a text's lines, found
//!            with a SIMD search), exit
//! ```
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
//! `state` (`.aie/state.json`: each job's last run, attention, typed sections per owner),
//! `audit` (`Logs/YYYY-MM-DD.jsonl`), `vault::approvals` (`.aie/approvals.jsonl`, this agent's
//! proof that binds approvals to an actions hash, mirrored to `Logs/approvals.jsonl` as a
//! readable trail) and `journal` (`.aie/journal.jsonl`, intent before and outcome after every
//! side effect). Domain modules never print, exit or read the environment.
//!
//! Adding a command: its file in `commands/` (`<Name>Args`, `impl CommandArgs` saying
//! whether it took `--json` or `--deadline`, `run(cx, &Args) -> Result<Outcome>`) with its
//! `pub mod` line, its variant in `cli::Command`, and its row in `Command::row` (name, kind,
//! vault use, entry function). The runner and the job steps read only that row.

pub mod accounting;
pub mod actions;
pub mod alerts;
pub mod audit;
pub mod backup;
pub mod briefing;
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
#[doc(hidden)]
pub mod fuzz_api;
pub mod grounding;
pub mod journal;
pub mod lines;
pub mod lock;
pub mod mcp;
pub mod nudge;
pub mod outcome;
pub mod par;
pub mod passes;
pub mod planner;
pub mod policy;
pub mod runner;
pub mod schedule;
pub mod secrets;
pub mod state;
pub mod status;
pub mod vault;
pub mod zones;

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
    // Private until the vault's settings say otherwise (`vault.shared_group`).
    fsutil::set_private(false);
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

#[cfg(test)]
mod layout_tests {
    /// Issue 9: no source file over 700 lines (a file that grows past it is split by concern).
    #[test]
    fn no_source_file_is_over_700_lines() {
        fn walk(dir: &std::path::Path, long: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, long);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let n = std::fs::read_to_string(&p).unwrap().lines().count();
                    if n > 700 {
                        long.push(format!("{} ({n} lines)", p.display()));
                    }
                }
            }
        }
        let mut long = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut long,
        );
        assert!(long.is_empty(), "over 700 lines: {long:?}");
    }
}
