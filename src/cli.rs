//! The command line: global flags and one enum variant per subcommand (clap derive).
//! A command whose issue has not landed is not listed here.

use crate::commands::{self, Outcome};
use crate::context::Cx;
use anyhow::Result;
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
    /// A deadline set by the caller (the time a job has left); a command's own
    /// `--deadline` ([`DeadlineFlag`]) may make it sooner.
    #[arg(skip)]
    pub deadline: Option<f64>,
    /// Show the cause chain of errors and more log lines.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `--json`, on the commands that print a report.
#[derive(Debug, Clone, Default, Args)]
pub struct JsonFlag {
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--deadline`, on the passes that work through items one by one.
#[derive(Debug, Clone, Default, Args)]
pub struct DeadlineFlag {
    /// Start no new item after this many seconds; the rest waits for the next pass.
    #[arg(long, value_name = "SECONDS", value_parser = parse_deadline, allow_negative_numbers = true)]
    pub deadline: Option<f64>,
}

/// `--json` and `--deadline`: the flags of a pass that works through items one by one.
#[derive(Debug, Clone, Default, Args)]
pub struct PassFlags {
    #[command(flatten)]
    pub out: JsonFlag,
    #[command(flatten)]
    pub deadline: DeadlineFlag,
}

/// A pass's flags and `--dry-run`; each command words the help of `--dry-run` (its
/// `DRY_RUN`, set on its [`Command`] variant).
#[derive(Debug, Clone, Default, Args)]
pub struct DryRunPassFlags {
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub out: JsonFlag,
    #[command(flatten)]
    pub deadline: DeadlineFlag,
}

/// A `--deadline`: a number of seconds above zero (a deadline of 0 or less would start
/// nothing, and NaN or infinity mean nothing).
fn parse_deadline(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(d) if d.is_finite() && d > 0.0 => Ok(d),
        _ => Err(format!(
            "`{s}` is not a deadline: give the number of seconds after which the pass starts no new item, above 0 (such as 300)"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a vault from the built-in template (never overwrites a file).
    Init(commands::init::InitArgs),
    /// Run the whole chain in dry-run on a sample vault: no config, network or credentials.
    Demo(commands::demo::DemoArgs),
    /// New Gmail messages become items in Needs_Action/email/.
    PollGmail(commands::poll_gmail::PollGmailArgs),
    /// New Facebook Page comments and X mentions become items in Needs_Action/social/.
    PollSocial(commands::poll_social::PollSocialArgs),
    /// Obtain a service's credentials once (`aie auth gmail`).
    Auth(commands::auth_gmail::AuthArgs),
    /// Turn files dropped in Inbox/ into items in Needs_Action/<domain>/.
    #[command(mut_arg("dry_run", |a| a.help(commands::process_inbox::DRY_RUN)))]
    ProcessInbox(commands::process_inbox::ProcessInboxArgs),
    /// Claim unplanned items, write their plans, and route each by policy.
    #[command(mut_arg("dry_run", |a| a.help(commands::plan::DRY_RUN)))]
    Plan(commands::plan::PlanArgs),
    /// Run the actions of items in Approved/, then move them to Done/.
    #[command(mut_arg("dry_run", |a| a.help(commands::execute_approved::DRY_RUN)))]
    ExecuteApproved(commands::execute_approved::ExecuteApprovedArgs),
    /// Commit, pull and push the vault through git (the vault's own merge rules).
    SyncVault(commands::sync_vault::SyncVaultArgs),
    /// Revenue, receivables, expenses and recurring bills from Odoo for a period.
    Accounting(commands::accounting::AccountingArgs),
    /// Check the configured services and what aie depends on; alert when one turns DOWN or UP.
    HealthCheck(commands::health_check::HealthCheckArgs),
    /// Switch the active zone when its health has failed long enough, or by hand (--to).
    Failover(commands::failover::FailoverArgs),
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
    /// Approve a request: the same as moving it to Approved/ (or ticking its box).
    Approve(commands::approve::ApproveArgs),
    /// Reject a request: the same as moving it to Rejected/.
    Reject(commands::reject::RejectArgs),
    /// Snapshot the vault into `backup.dir` and prune old snapshots; check or list them.
    Backup(commands::backup::BackupArgs),
    /// Rebuild a vault from a snapshot, byte for byte (over the live vault: --force).
    Restore(commands::restore::RestoreArgs),
    /// One webhook delivery (an HTTP request on stdin) becomes items.
    Ingest(commands::ingest::IngestArgs),
    /// Write the Monday briefing of a week: revenue, work done, bottlenecks, what to decide.
    CeoBriefing(commands::ceo_briefing::CeoBriefingArgs),
    /// An MCP server on stdio for one client session: read the vault, propose plans (never approve or execute).
    Mcp(commands::mcp::McpArgs),
}

/// What the runner does with a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// A pass over the vault: run as a job (job lock, vault lock, its run recorded in
    /// state, problems reported once, the dashboard refreshed) and allowed as a step of a
    /// scheduled job.
    Pass,
    /// The owner's decision on one request (`approve`, `reject`): run like a pass (job lock,
    /// shared vault lock), but never a step of a job nor a failover hook. A job file in the
    /// vault may come from anyone who can write it (a synced agent), who is not the owner.
    Decision,
    /// Runs the steps of a scheduled job (`aie run`): each step is a pass with its own
    /// locks; the job has its own lock and record.
    Job,
    /// Reads and tells, or records what it is told (`status`, `doctor`, `alert`).
    Report,
    /// Makes a vault, obtains credentials, installs schedules, prints shell files.
    Setup,
}

/// How a command uses the vault: what the runner opens and locks before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultUse {
    /// Works without an open vault (it makes one, prints a file, or checks a broken one).
    None,
    /// Opens the vault (layout, `aie.yaml`, secrets) and takes no vault lock: it only reads,
    /// or changes `state.json` under its short lock.
    Open,
    /// Opens the vault and holds its job lock and a shared hold on the vault lock.
    Shared,
    /// Opens the vault and holds its job lock and the vault lock alone (no other command
    /// runs meanwhile): for commands that rewrite the whole vault, such as sync or backup.
    Exclusive,
}

impl VaultUse {
    /// The vault lock to take, when the command takes one.
    pub const fn lock(self) -> Option<crate::lock::VaultAccess> {
        match self {
            VaultUse::None | VaultUse::Open => None,
            VaultUse::Shared => Some(crate::lock::VaultAccess::Shared),
            VaultUse::Exclusive => Some(crate::lock::VaultAccess::Exclusive),
        }
    }
}

/// What the runner reads from a command's parsed args. Every args struct implements it
/// (the table row does not compile without it); a command that offers `--json` or
/// `--deadline` returns it here, and a test parses every command with each flag to check
/// that none is accepted and then ignored.
pub trait CommandArgs {
    /// Whether `--json` was given (only commands that print a report offer it).
    fn json(&self) -> bool {
        false
    }
    /// The command's own `--deadline` (only passes that work item by item offer it).
    fn deadline(&self) -> Option<f64> {
        None
    }
}

impl CommandArgs for PassFlags {
    fn json(&self) -> bool {
        self.out.json
    }
    fn deadline(&self) -> Option<f64> {
        self.deadline.deadline
    }
}

impl CommandArgs for DryRunPassFlags {
    fn json(&self) -> bool {
        self.out.json
    }
    fn deadline(&self) -> Option<f64> {
        self.deadline.deadline
    }
}

// Here rather than in `commands/ceo_briefing.rs` until that file's next edit.
impl CommandArgs for commands::ceo_briefing::CeoBriefingArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

/// One row of the command table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// The subcommand's name on the command line; also the job name its runs are recorded
    /// under in state, and its lock's name.
    pub name: &'static str,
    pub kind: CommandKind,
    pub vault: VaultUse,
}

/// A command's entry function, bound to its parsed args.
type Entry<'a> = Box<dyn Fn(&Cx<'_>) -> Result<Outcome> + 'a>;

/// A row of the command table with the parsed command in it: its spec, its flags, and its
/// entry function (`commands::<name>::run`) bound to its args.
pub struct CommandRow<'a> {
    pub spec: CommandSpec,
    pub json: bool,
    pub deadline: Option<f64>,
    entry: Entry<'a>,
}

impl CommandRow<'_> {
    /// Runs the command in `cx` (which the runner prepared as the row says).
    pub fn run(&self, cx: &Cx<'_>) -> Result<Outcome> {
        (self.entry)(cx)
    }
}

fn row<'a, A: CommandArgs>(
    name: &'static str,
    kind: CommandKind,
    vault: VaultUse,
    args: &'a A,
    run: fn(&Cx<'_>, &A) -> Result<Outcome>,
) -> CommandRow<'a> {
    CommandRow {
        spec: CommandSpec { name, kind, vault },
        json: args.json(),
        deadline: args.deadline(),
        entry: Box::new(move |cx| run(cx, args)),
    }
}

impl Command {
    /// The command table: one row per subcommand, exhaustive on purpose (a new subcommand
    /// is classed here, with its entry function, before it compiles). The runner reads
    /// nothing else to decide what to open, lock, record and print; only a
    /// [`CommandKind::Pass`] may be a job step.
    pub fn row(&self) -> CommandRow<'_> {
        use CommandKind::*;
        use VaultUse::{Exclusive, Open, Shared};
        use commands::*;
        match self {
            Command::Init(a) => row("init", Setup, VaultUse::None, a, init::run),
            Command::Demo(a) => row("demo", Setup, VaultUse::None, a, demo::run),
            Command::PollGmail(a) => row("poll-gmail", Pass, Shared, a, poll_gmail::run),
            Command::PollSocial(a) => row("poll-social", Pass, Shared, a, poll_social::run),
            Command::Auth(a) => row("auth", Setup, Open, a, auth_gmail::run),
            Command::ProcessInbox(a) => row("process-inbox", Pass, Shared, a, process_inbox::run),
            Command::Plan(a) => row("plan", Pass, Shared, a, plan::run),
            Command::ExecuteApproved(a) => {
                row("execute-approved", Pass, Shared, a, execute_approved::run)
            }
            Command::SyncVault(a) => row("sync-vault", Pass, Exclusive, a, sync_vault::run),
            Command::HealthCheck(a) => row("health-check", Pass, Shared, a, health_check::run),
            Command::Failover(a) => row("failover", Pass, Shared, a, failover::run),
            Command::Status(a) => row("status", Report, Open, a, status::run),
            Command::Accounting(a) => row("accounting", Report, Open, a, accounting::run),
            Command::Run(a) => row("run", Job, Open, a, run::run),
            Command::Schedule(a) => row("schedule", Setup, Open, a, schedule::run),
            Command::Doctor(a) => row("doctor", Report, VaultUse::None, a, doctor::run),
            Command::Alert(a) => row("alert", Report, Open, a, alert::run),
            Command::Completions(a) => {
                row("completions", Setup, VaultUse::None, a, completions::run)
            }
            Command::Man(a) => row("man", Setup, VaultUse::None, a, man::run),
            Command::Approve(a) => row("approve", Decision, Shared, a, approve::run),
            Command::Reject(a) => row("reject", Decision, Shared, a, reject::run),
            Command::Backup(a) => row("backup", Pass, Exclusive, a, backup::run),
            Command::Restore(a) => row("restore", Pass, Exclusive, a, restore::run),
            Command::Ingest(a) => row("ingest", Pass, Shared, a, ingest::run),
            Command::CeoBriefing(a) => row("ceo-briefing", Pass, Shared, a, ceo_briefing::run),
            Command::Mcp(a) => row("mcp", Report, Open, a, mcp::run),
        }
    }

    /// The command's row in the table: its name, kind and vault use.
    pub fn spec(&self) -> CommandSpec {
        self.row().spec
    }

    /// Whether `--json` was given.
    pub fn json(&self) -> bool {
        self.row().json
    }

    /// The command's own `--deadline`.
    pub fn deadline(&self) -> Option<f64> {
        self.row().deadline
    }

    /// Whether the command may need a secret. One that never does (`status`, `schedule`)
    /// runs on with a warning when the secrets file is missing or unsafe.
    pub const fn reads_secrets(&self) -> bool {
        !matches!(self, Command::Status(_) | Command::Schedule(_))
    }

    /// Whether the command answers one request of a socket-activated unit (`ingest`): its
    /// run is recorded once, when it ends (no "started" mark written before), and a change
    /// it makes leaves the Dashboard to the next pass, so its answer waits only for its
    /// items to be durable.
    pub const fn per_request(&self) -> bool {
        matches!(self, Command::Ingest(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::VaultAccess;
    use crate::schedule::jobs::Job;
    use clap::CommandFactory;

    /// The smallest arguments each subcommand parses with (most need none).
    fn sample_args(name: &str) -> Vec<&'static str> {
        match name {
            "auth" => vec!["gmail"],
            "run" => vec!["triage"],
            "schedule" => vec!["cron"],
            "alert" => vec!["--unit", "aie-triage.service"],
            "completions" => vec!["bash"],
            "approve" | "reject" => vec!["x"],
            "restore" => vec!["20260105T030000Z", "--to", "x"],
            "ingest" => vec!["whatsapp"],
            "accounting" => vec!["--from", "2026-11-01"],
            _ => vec![],
        }
    }

    /// Every subcommand clap knows, parsed into its variant.
    fn every_command() -> Vec<(String, Command)> {
        Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .map(|name| {
                let argv = ["aie", name.as_str()]
                    .into_iter()
                    .chain(sample_args(&name))
                    .map(str::to_string);
                let cli = Cli::try_parse_from(argv)
                    .unwrap_or_else(|e| panic!("`{name}` does not parse with sample args: {e}"));
                (name, cli.command)
            })
            .collect()
    }

    #[test]
    fn the_command_table_names_every_subcommand_as_clap_does() {
        for (name, cmd) in &every_command() {
            assert_eq!(cmd.spec().name, name, "the table row of `{name}`");
        }
    }

    /// A command that takes `--json` or `--deadline` returns it from its [`CommandArgs`]:
    /// a flag that parses and is then ignored fails here.
    #[test]
    fn every_json_and_deadline_flag_reaches_the_runner() {
        let parse = |name: &str, flag: &[&str]| {
            let argv = ["aie", name]
                .into_iter()
                .chain(sample_args(name))
                .chain(flag.iter().copied());
            Cli::try_parse_from(argv).ok().map(|c| c.command)
        };
        let mut offered = (0, 0);
        for (name, cmd) in every_command() {
            assert!(
                !cmd.json() && cmd.deadline().is_none(),
                "`{name}` unflagged"
            );
            if let Some(c) = parse(&name, &["--json"]) {
                assert!(c.json(), "`{name} --json` parses, and its args ignore it");
                offered.0 += 1;
            }
            if let Some(c) = parse(&name, &["--deadline", "7"]) {
                assert_eq!(c.deadline(), Some(7.0), "`{name} --deadline 7` is ignored");
                offered.1 += 1;
            }
        }
        assert!(offered.0 > 10 && offered.1 >= 6, "{offered:?}");
    }

    #[test]
    fn the_command_table_is_consistent() {
        for (name, cmd) in every_command() {
            let spec = cmd.spec();
            // A pass (or the owner's decision) runs under the vault lock; nothing else takes it.
            assert_eq!(
                matches!(spec.kind, CommandKind::Pass | CommandKind::Decision),
                spec.vault.lock().is_some(),
                "`{name}`: passes and decisions, and only they, lock the vault"
            );
            // Only what makes a vault, prints a file or checks a broken setup works without one.
            assert_eq!(
                spec.vault == VaultUse::None,
                ["init", "demo", "completions", "man", "doctor"].contains(&name.as_str()),
                "`{name}`: which commands work outside a vault"
            );
        }
        assert_eq!(VaultUse::Shared.lock(), Some(VaultAccess::Shared));
        assert_eq!(VaultUse::Exclusive.lock(), Some(VaultAccess::Exclusive));
        assert_eq!(VaultUse::Open.lock(), None);
    }

    #[test]
    fn every_vault_pass_and_nothing_else_is_allowed_as_a_job_step() {
        for (name, cmd) in every_command() {
            let step: Vec<String> = std::iter::once(name.clone())
                .chain(sample_args(&name).into_iter().map(str::to_string))
                .collect();
            let text = format!(
                "description: d\nschedule: '* * * * *'\nsteps: [{:?}]\n",
                step.join(" ")
            );
            let job = Job::parse("x", &text, "jobs/x.yaml").unwrap();
            assert_eq!(
                job.commands().is_ok(),
                cmd.spec().kind == CommandKind::Pass,
                "`{name}` as a job step"
            );
        }
    }
}
