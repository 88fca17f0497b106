//! The command line: global flags and one enum variant per subcommand (clap derive).
//! A command whose issue has not landed is not listed here.

use crate::commands;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// aie: a personal AI employee. Turns mail and dropped files into work items in an Obsidian
/// vault, plans them, asks before anything sensitive, executes what was approved, and keeps
/// a full audit trail. Every command is one short pass, made for cron or systemd timers.
#[derive(Debug, Parser)]
#[command(name = "aie", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The vault folder (default: the current folder).
    #[arg(long, global = true, env = "AIE_VAULT", value_name = "PATH")]
    pub vault: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Start no new item after this many seconds; the rest waits for the next pass.
    #[arg(long, global = true, value_name = "SECONDS")]
    pub deadline: Option<f64>,
    /// Show the cause chain of errors and more log lines.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a vault from the built-in template (never overwrites a file).
    Init(commands::init::InitArgs),
    /// Run the whole chain in dry-run on a sample vault: no config, network or credentials.
    Demo(commands::demo::DemoArgs),
    /// New Gmail messages become items in Needs_Action/email/.
    PollGmail(commands::poll_gmail::PollGmailArgs),
    /// Obtain a service's credentials once (`aie auth gmail`).
    Auth(commands::auth_gmail::AuthArgs),
    /// Turn files dropped in Inbox/ into items in Needs_Action/<domain>/.
    ProcessInbox(commands::process_inbox::ProcessInboxArgs),
    /// Claim unplanned items, write their plans, and route each by policy.
    Plan(commands::plan::PlanArgs),
    /// Run the actions of items in Approved/, then move them to Done/.
    ExecuteApproved(commands::execute_approved::ExecuteApprovedArgs),
    /// Queues, last run of every job, locks, and what needs the owner.
    Status(commands::status::StatusArgs),
    /// Run the steps of a scheduled job in order, under its lock and timeout.
    Run(commands::run::RunArgs),
    /// Write the systemd units or the crontab of the jobs; install or remove them.
    Schedule(commands::schedule::ScheduleArgs),
    /// Check the setup: one line per check, with the fix for each failure.
    Doctor(commands::doctor::DoctorArgs),
    /// Record a failed scheduled unit (run by systemd's OnFailure=).
    Alert(commands::alert::AlertArgs),
    /// Print shell completions.
    Completions(commands::completions::CompletionsArgs),
    /// Print the man page (roff).
    Man(commands::man::ManArgs),
}

impl Command {
    /// Whether this is a pass over the vault: run as a job (lock, state, report) and
    /// allowed as a step of a scheduled job. Never init, demo, a read-only report, run
    /// itself, or a setup command. Exhaustive on purpose: a new subcommand must be classed
    /// here before it compiles.
    pub fn is_vault_pass(&self) -> bool {
        match self {
            Command::ProcessInbox(_)
            | Command::Plan(_)
            | Command::ExecuteApproved(_)
            | Command::PollGmail(_) => true,
            Command::Init(_)
            | Command::Demo(_)
            | Command::Status(_)
            | Command::Run(_)
            | Command::Schedule(_)
            | Command::Doctor(_)
            | Command::Alert(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Auth(_) => false,
        }
    }

    /// The job name this command records its runs under (also its lock's name).
    pub fn job_name(&self) -> &'static str {
        match self {
            Command::Init(_) => "init",
            Command::Demo(_) => "demo",
            Command::ProcessInbox(_) => "process-inbox",
            Command::Plan(_) => "plan",
            Command::ExecuteApproved(_) => "execute-approved",
            Command::Status(_) => "status",
            Command::PollGmail(_) => "poll-gmail",
            Command::Auth(_) => "auth",
            Command::Run(_) => "run",
            Command::Schedule(_) => "schedule",
            Command::Doctor(_) => "doctor",
            Command::Alert(_) => "alert",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }
}
