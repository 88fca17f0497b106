//! What a command runs with: the open vault, its settings, the clock, who this agent is,
//! its secrets, the audit log and the state store. Built once per command from the process
//! environment captured by the CLI layer (the only place that reads it).

use crate::audit::AuditLog;
use crate::cli::GlobalArgs;
use crate::clock::Clock;
use crate::config::Settings;
use crate::exit::AieError;
use crate::schedule::jobs::Role;
use crate::secrets::Secrets;
use crate::state::StateStore;
use crate::vault::Vault;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The agent's mode (`AIE_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Drafts and executes (the local agent).
    Full,
    /// Drafts only, never executes, never writes Dashboard.md (the cloud agent).
    DraftOnly,
}

impl Mode {
    /// The role this mode plays in a two-agent setup: the `draft_only` agent is the cloud
    /// one. The one mapping from mode to role (jobs, schedules, status and doctor use it).
    pub const fn role(self) -> Role {
        match self {
            Mode::Full => Role::Local,
            Mode::DraftOnly => Role::Cloud,
        }
    }

    /// The name `AIE_MODE` spells it with.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::DraftOnly => "draft_only",
        }
    }
}

/// The process environment, captured once by the CLI layer.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub vars: BTreeMap<String, String>,
    pub cwd: PathBuf,
}

impl Env {
    /// Captures the environment of this process.
    pub fn capture() -> Env {
        Env {
            vars: std::env::vars().collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.vars
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `AIE_AGENT` (default `local`), reduced to a safe folder name.
    pub fn agent(&self) -> Result<String> {
        let a = self.get("AIE_AGENT").unwrap_or("local");
        if a.is_empty()
            || a.len() > 64
            || !a
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(AieError::Config(format!(
                "AIE_AGENT `{a}` must be 1-64 letters, digits, `-` or `_`"
            ))
            .into());
        }
        Ok(a.to_string())
    }

    /// `AIE_MODE`: `full` (default) or `draft_only`.
    pub fn mode(&self) -> Result<Mode> {
        match self.get("AIE_MODE").unwrap_or("full") {
            "full" => Ok(Mode::Full),
            "draft_only" => Ok(Mode::DraftOnly),
            other => Err(AieError::Config(format!(
                "AIE_MODE `{other}` must be `full` or `draft_only`"
            ))
            .into()),
        }
    }

    /// The vault folder: `--vault`, else `AIE_VAULT` (clap reads it), else the nearest folder
    /// from the current one upwards that holds `aie.yaml` (as git and cargo find their root),
    /// else the current folder.
    pub fn vault_root(&self, flag: Option<&Path>) -> PathBuf {
        match flag {
            Some(p) => self.resolve(p),
            None => self
                .cwd
                .ancestors()
                .find(|d| d.join(crate::vault::SETTINGS_FILE).is_file())
                .unwrap_or(&self.cwd)
                .to_path_buf(),
        }
    }

    /// A path from the command line, relative to the current folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cwd.join(p)
        }
    }
}

/// What every command runs with (`run(cx, &Args) -> Result<Outcome>`): the environment
/// captured by the CLI layer, the global flags, and the open vault when the command's row in
/// the command table ([`crate::cli::Command::spec`]) asks for one.
pub struct Cx<'a> {
    pub env: &'a Env,
    pub global: &'a GlobalArgs,
    vault: Option<&'a Ctx>,
}

impl<'a> Cx<'a> {
    /// The context of a command; `vault` is the vault the runner opened for it, if any.
    pub fn new(env: &'a Env, global: &'a GlobalArgs, vault: Option<&'a Ctx>) -> Cx<'a> {
        Cx { env, global, vault }
    }

    /// The open vault. Only commands whose table row opens the vault call this.
    pub fn ctx(&self) -> &'a Ctx {
        self.vault
            .expect("invariant: the command table gives this command an open vault")
    }

    /// The vault folder the command line names (for commands that work without an open
    /// vault: init, doctor).
    pub fn vault_root(&self) -> PathBuf {
        self.env.vault_root(self.global.vault.as_deref())
    }
}

/// Everything a command of an existing vault needs.
pub struct Ctx {
    pub vault: Vault,
    pub settings: Settings,
    pub clock: Clock,
    pub agent: String,
    pub mode: Mode,
    pub secrets: Secrets,
    pub audit: AuditLog,
    pub state: StateStore,
    pub job: String,
    started: Instant,
    deadline: Option<Duration>,
}

/// A full agent's settings while a merge through sync is unchecked
/// ([`crate::passes::sync::unchecked_merge`]): `aie.yaml` as git held it in the commit
/// before the merge, when git has it there. None: read the file.
fn settings_before_unchecked_merge(vault: &Vault, mode: Mode) -> Option<String> {
    if mode == Mode::DraftOnly {
        return None;
    }
    let from = crate::passes::sync::unchecked_merge(&vault.aie_dir())?;
    let shown = crate::vault::git::Git::at(vault.root())
        .call(&["show", &format!("{from}:aie.yaml")])
        .ok()?;
    shown.ok.then_some(shown.stdout)
}

impl Ctx {
    /// A line for the approval ledger, stamped with this agent's clock and name (its `seq`
    /// is set when it is appended); `by` and `note` are the caller's.
    pub fn approval(
        &self,
        item: impl Into<String>,
        hash: String,
        event: crate::vault::approvals::ApprovalEvent,
    ) -> crate::vault::approvals::ApprovalRecord {
        crate::vault::approvals::ApprovalRecord {
            seq: 0,
            ts: self.clock.stamp(),
            agent: self.agent.clone(),
            item: item.into(),
            hash,
            event,
            by: None,
            note: None,
        }
    }

    /// Opens the vault at `root` for `job`: checks the layout, reads `aie.yaml` and secrets.
    /// Errors are config errors (exit 78) naming the file.
    pub fn open(env: &Env, root: &Path, job: &str, deadline: Option<f64>) -> Result<Ctx> {
        Ctx::open_with(env, root, job, deadline, true)
    }

    /// [`Ctx::open`], for a command that reads no secret when `needs_secrets` is false
    /// (`status`, `schedule`): a secrets file that is missing or unsafe is then a warning,
    /// and the run goes on with the secrets of the environment.
    pub fn open_with(
        env: &Env,
        root: &Path,
        job: &str,
        deadline: Option<f64>,
        needs_secrets: bool,
    ) -> Result<Ctx> {
        let agent = env.agent()?;
        let mode = env.mode()?;
        let vault = Vault::open(root, &agent)?;
        let path = vault.settings_path();
        let text = match settings_before_unchecked_merge(&vault, mode) {
            Some(text) => text,
            None => std::fs::read_to_string(&path)
                .map_err(|e| AieError::Config(format!("cannot read `{}`: {e}", path.display())))?,
        };
        let settings = Settings::parse(&text, &path)?;
        let clock = Clock::new(env.get("AIE_NOW"), settings.timezone())
            .map_err(|e| AieError::Config(format!("{e:#}")))?;
        crate::fsutil::set_private(settings.vault.shared_group);
        let file = env.get("AIE_SECRETS_FILE").map(Path::new);
        let secrets = match Secrets::load(&env.vars, file, Some(vault.root())) {
            Err(e) if !needs_secrets => {
                log::warn!("{e:#} ({job} reads no secret: going on without the file)");
                Secrets::load(&env.vars, None, None)?
            }
            other => other?,
        };
        crate::secrets::install_scrubber(secrets.scrubber());
        let audit = AuditLog::new(&vault.logs(), &agent, job, clock.clone(), secrets.values());
        let state = StateStore::new(&vault.aie_dir());
        let deadline = deadline
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(Duration::from_secs_f64);
        Ok(Ctx {
            vault,
            settings,
            clock,
            agent,
            mode,
            secrets,
            audit,
            state,
            job: job.to_string(),
            started: Instant::now(),
            deadline,
        })
    }

    /// Whether the run's deadline has passed: start no new item after it.
    pub fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| self.started.elapsed() >= d)
    }

    /// Time left before the deadline (None when there is none).
    pub fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_sub(self.started.elapsed()))
    }

    /// What the lock file says of its holder.
    pub fn holder_text(&self) -> String {
        format!(
            "pid {} job {} agent {} since {}",
            std::process::id(),
            self.job,
            self.agent,
            self.clock.stamp()
        )
    }

    /// Whether actions run for real: `execution.dry_run: false` and no `--dry-run`.
    pub fn live(&self, dry_run_flag: bool) -> bool {
        !self.settings.execution.dry_run && !dry_run_flag
    }

    /// When a request for approval made now expires: now plus `policy.approval_expires`.
    pub fn approval_expiry(&self) -> String {
        let expires = self.settings.policy.approval_expires.get();
        self.clock.format(self.clock.now() + expires)
    }
}
