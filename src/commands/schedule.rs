//! `aie schedule systemd|cron|install|uninstall`: write (or print) the units or crontab of
//! this installation's jobs, or put the units in place and enable their timers: a user's
//! units (with lingering, so they run with nobody logged in), or with `--system` (as root)
//! system units that run as a service account which owns the vault.

use crate::context::{Ctx, Cx, Env};
use crate::exit::AieError;
use crate::outcome::Outcome;
use crate::schedule::jobs::{self, Job};
use crate::schedule::units::{self, Target};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    pub what: ScheduleCommand,
}

impl crate::cli::CommandArgs for ScheduleArgs {}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Print (or write with --out) one service and timer per job, and the alert template.
    Systemd(SystemdArgs),
    /// Print (or write with --out) the crontab.
    Cron(CronArgs),
    /// Put the units in place, enable their timers and lingering (or print the crontab lines).
    Install(InstallArgs),
    /// Disable the timers and remove the units aie wrote.
    Uninstall(InstallArgs),
}

/// Where the generated files point.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// The aie binary the units run (default: this one).
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// The vault path written into the files (default: the vault read).
    #[arg(long, value_name = "PATH")]
    pub vault_path: Option<PathBuf>,
    /// The secrets file (mode 0600, outside the vault; default: AIE_SECRETS_FILE).
    #[arg(long, value_name = "PATH")]
    pub secrets_file: Option<PathBuf>,
    /// The account system units run as.
    #[arg(long, value_name = "USER", default_value = "aie")]
    pub run_as: String,
}

#[derive(Debug, Args)]
pub struct SystemdArgs {
    /// Per-user units (`systemctl --user`) instead of system units.
    #[arg(long)]
    pub user: bool,
    /// Write the files into this folder instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct CronArgs {
    /// Write `aie.crontab` into this folder instead of printing it.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Use cron: print the crontab lines to add (or remove) instead of touching systemd.
    #[arg(long)]
    pub cron: bool,
    /// System units in /etc/systemd/system that run as `--run-as` (as root; the account
    /// must exist and own the vault), instead of the user's own units.
    #[arg(long, conflicts_with = "cron")]
    pub system: bool,
    /// The unit folder (default: ~/.config/systemd/user, or /etc/systemd/system with --system).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write or remove the files only; run no systemctl.
    #[arg(long)]
    pub no_enable: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

fn target(env: &Env, ctx: &Ctx, a: &TargetArgs, user_units: bool) -> Result<Target> {
    let binary = match &a.binary {
        Some(b) => env.resolve(b),
        None => std::env::current_exe().context("cannot find the path of this aie binary")?,
    };
    let vault = match &a.vault_path {
        Some(v) => env.resolve(v),
        None => ctx
            .vault
            .root()
            .canonicalize()
            .unwrap_or_else(|_| ctx.vault.root().to_path_buf()),
    };
    let secrets_file = a
        .secrets_file
        .clone()
        .or_else(|| env.get("AIE_SECRETS_FILE").map(PathBuf::from))
        .map(|p| env.resolve(&p));
    if secrets_file.is_none() {
        log::warn!(
            "no secrets file (AIE_SECRETS_FILE or --secrets-file): the jobs will run with no secrets, and a service that needs one (Gmail, SMTP, a model) will fail with exit 78; see README: Running on a server"
        );
    }
    let mut extra = Vec::new();
    for k in ["AIE_AGENT", "AIE_MODE"] {
        if let Some(v) = env.get(k) {
            extra.push((k.to_string(), v.to_string()));
        }
    }
    Ok(Target {
        binary,
        vault,
        secrets_file,
        user_units,
        run_as: a.run_as.clone(),
        timezone: ctx.settings.timezone().to_string(),
        env: extra,
        mailto: ctx.settings.owner.email.clone(),
    })
}

/// The jobs this installation runs (the cloud agent is the `draft_only` one).
fn my_jobs(ctx: &Ctx) -> Result<Vec<Job>> {
    let role = ctx.mode.role();
    Ok(jobs::load(ctx.vault.root())?
        .into_iter()
        .filter(|j| j.agents.includes(role))
        .collect())
}

/// Writes `files` into `dir`, saying so in `report`.
fn write_files(dir: &Path, files: &[(String, String)], report: &mut String) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    for (name, text) in files {
        let p = dir.join(name);
        crate::fsutil::write_atomic(&p, text.as_bytes())
            .with_context(|| format!("cannot write `{}`", p.display()))?;
        // Unit files and crontabs hold no secret: readable, as systemd and cron expect.
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot set the mode of `{}`", p.display()))?;
        report.push_str(&format!("wrote {}\n", p.display()));
    }
    Ok(())
}

/// The files one after the other, each under a header with its name.
fn show_files(files: &[(String, String)], report: &mut String) {
    for (i, (name, text)) in files.iter().enumerate() {
        if i > 0 {
            report.push('\n');
        }
        report.push_str(&format!("# ==> {name} <==\n"));
        report.push_str(text);
    }
}

/// Runs `systemctl`, saying so in `report`.
fn systemctl(args: &[&str], report: &mut String) -> Result<()> {
    let st = std::process::Command::new("systemctl")
        .args(args)
        .status()
        .map_err(|e| AieError::Unavailable(format!("cannot run systemctl: {e}")))?;
    if !st.success() {
        return Err(AieError::Unavailable(format!(
            "`systemctl {}` failed ({st}): run it by hand, or use `aie schedule install --cron`",
            args.join(" ")
        ))
        .into());
    }
    report.push_str(&format!("ran systemctl {}\n", args.join(" ")));
    Ok(())
}

/// Runs the subcommand. Errors: bad job files (78); systemctl missing or failing (69).
pub fn run(cx: &Cx, args: &ScheduleArgs) -> Result<Outcome> {
    let (env, ctx) = (cx.env, cx.ctx());
    let jobs = my_jobs(ctx)?;
    let mut report = String::new();
    let r = &mut report;
    match &args.what {
        ScheduleCommand::Systemd(a) => {
            let files = units::systemd_units(&target(env, ctx, &a.target, a.user)?, &jobs);
            match &a.out {
                Some(dir) => write_files(&env.resolve(dir), &files, r)?,
                None => show_files(&files, r),
            }
        }
        ScheduleCommand::Cron(a) => {
            let text = units::crontab(&target(env, ctx, &a.target, false)?, &jobs);
            match &a.out {
                Some(dir) => {
                    write_files(&env.resolve(dir), &[("aie.crontab".to_string(), text)], r)?
                }
                None => r.push_str(&text),
            }
        }
        ScheduleCommand::Install(a) if a.cron => {
            let text = units::crontab(&target(env, ctx, &a.target, false)?, &jobs);
            r.push_str("add these lines with `crontab -e`:\n\n");
            r.push_str(&text);
        }
        ScheduleCommand::Uninstall(a) if a.cron => {
            r.push_str("remove the lines that run `aie run` with `crontab -e`\n");
        }
        ScheduleCommand::Install(a) => {
            let dir = unit_dir(env, a)?;
            let t = target(env, ctx, &a.target, !a.system)?;
            if a.system {
                check_system_install(a, &t)?;
            } else if !a.no_enable && is_root() {
                return Err(AieError::Usage(
                    "as root, `aie schedule install` would start the timers in root's own user session, which a server does not keep: use `aie schedule install --system` (system units that run as a service account; README: Running on a server)".into(),
                )
                .into());
            }
            let files = units::systemd_units(&t, &jobs);
            write_files(&dir, &files, r)?;
            ctx.state.update(|s| {
                s.schedule = Some(crate::state::ScheduleState {
                    installed: Some(ctx.clock.stamp()),
                    units: Some(dir.display().to_string()),
                });
            })?;
            if a.system {
                // Root just wrote state.json (and its lock): the service account owns them.
                give_back(&ctx.vault.aie_dir(), &t.vault)?;
            }
            if !a.no_enable {
                let scope: &[&str] = if a.system { &[] } else { &["--user"] };
                systemctl(&[scope, &["daemon-reload"]].concat(), r)?;
                for j in &jobs {
                    let timer = units::unit_names(&j.name).1;
                    systemctl(&[scope, &["enable", "--now", &timer]].concat(), r)?;
                }
                if !a.system {
                    enable_linger(env, r);
                }
                if jobs.iter().any(|j| j.name == "execute") {
                    systemctl(&["--user", "enable", "--now", "aie-execute.path"], r)?;
                }
            }
            r.push_str(&check_hint(a.system));
        }
        ScheduleCommand::Uninstall(a) => {
            let dir = unit_dir(env, a)?;
            let ours = generated_units(&dir);
            let scope: &[&str] = if a.system { &[] } else { &["--user"] };
            if !a.no_enable {
                for name in ours.iter().filter(|n| {
                    n.ends_with(".timer") || n.ends_with(".path") || n.ends_with(".socket")
                }) {
                    systemctl(&[scope, &["disable", "--now", name]].concat(), r)?;
                }
            }
            for name in &ours {
                let p = dir.join(name);
                std::fs::remove_file(&p)
                    .with_context(|| format!("cannot remove `{}`", p.display()))?;
                r.push_str(&format!("removed {}\n", p.display()));
            }
            if !a.no_enable && !ours.is_empty() {
                systemctl(&[scope, &["daemon-reload"]].concat(), r)?;
            }
            if ours.is_empty() {
                r.push_str(&format!("no aie unit in {}\n", dir.display()));
            }
        }
    }
    Ok(Outcome {
        json: serde_json::json!({ "report": report }),
        summary: report,
        ..Outcome::default()
    })
}

/// Where system units go.
const SYSTEM_UNIT_DIR: &str = "/etc/systemd/system";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The uid and home of an account, or None when there is no such account.
fn account(name: &str) -> Option<(u32, PathBuf)> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam takes a NUL-terminated name; the record it returns is read at once,
    // before any other call could reuse its static buffer.
    unsafe {
        let pw = libc::getpwnam(c.as_ptr());
        if pw.is_null() {
            return None;
        }
        let dir = std::ffi::CStr::from_ptr((*pw).pw_dir).to_string_lossy();
        Some(((*pw).pw_uid, PathBuf::from(dir.as_ref())))
    }
}

/// Before system units go in: root (unless only writing files elsewhere), the service
/// account exists, and it owns the vault (the units write there as it).
fn check_system_install(a: &InstallArgs, t: &Target) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    if (a.out.is_none() || !a.no_enable) && !is_root() {
        return Err(AieError::Usage(
            "`aie schedule install --system` writes /etc/systemd/system and runs systemctl: run it as root (sudo)".into(),
        )
        .into());
    }
    let user = &t.run_as;
    let Some((uid, _)) = account(user) else {
        return Err(AieError::Config(format!(
            "no account `{user}` to run the jobs as: create it with `useradd --system --create-home --home-dir /var/lib/{user} --shell /usr/sbin/nologin {user}`, or pass --run-as"
        ))
        .into());
    };
    let meta = std::fs::metadata(&t.vault)
        .with_context(|| format!("cannot read `{}`", t.vault.display()))?;
    if meta.uid() != uid {
        return Err(AieError::Config(format!(
            "the vault `{}` is not owned by `{user}`, the account the units run as: run `chown -R {user}: {}` (or pass --run-as with its owner)",
            t.vault.display(),
            t.vault.display()
        ))
        .into());
    }
    Ok(())
}

/// Gives what root wrote under `.aie/` to the vault's owner (no link is followed).
fn give_back(aie_dir: &Path, vault: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let owner =
        std::fs::metadata(vault).with_context(|| format!("cannot read `{}`", vault.display()))?;
    let mut todo = vec![aie_dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read `{}`", dir.display()))?
            .flatten()
        {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p)
                .with_context(|| format!("cannot read `{}`", p.display()))?;
            if m.is_dir() {
                todo.push(p.clone());
            }
            if m.uid() != owner.uid() {
                std::os::unix::fs::lchown(&p, Some(owner.uid()), Some(owner.gid())).with_context(
                    || format!("cannot give `{}` to the vault's owner", p.display()),
                )?;
            }
        }
    }
    Ok(())
}

/// Lets the user's timers run with nobody logged in (`loginctl enable-linger`), or says
/// exactly why it could not: without it a headless server stops them at logout.
fn enable_linger(env: &Env, r: &mut String) {
    let user = env
        .get("USER")
        .or_else(|| env.get("LOGNAME"))
        .map(str::to_string);
    let Some(user) = user else {
        r.push_str("lingering NOT enabled: USER is not set; run `loginctl enable-linger $(id -un)`, or the timers stop when you log out\n");
        return;
    };
    if Path::new("/var/lib/systemd/linger").join(&user).exists() {
        r.push_str(&format!(
            "lingering is on for {user}: the timers run with nobody logged in\n"
        ));
        return;
    }
    match std::process::Command::new("loginctl")
        .args(["enable-linger", &user])
        .output()
    {
        Ok(o) if o.status.success() => r.push_str(&format!(
            "ran loginctl enable-linger {user}: the timers run with nobody logged in\n"
        )),
        Ok(o) => r.push_str(&format!(
            "lingering NOT enabled ({}): the timers stop when {user} logs out; ask root to run `loginctl enable-linger {user}`, or use `aie schedule install --system`\n",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => r.push_str(&format!(
            "lingering NOT enabled (cannot run loginctl: {e}): without systemd-logind the user's timers do not outlive the login; use `aie schedule install --system` or `--cron`\n"
        )),
    }
}

/// How to check that the timers run.
fn check_hint(system: bool) -> String {
    let user = if system { "" } else { " --user" };
    format!(
        "check: `systemctl{user} list-timers 'aie-*'` shows the next runs; `aie status` shows each job's last run\n"
    )
}

fn unit_dir(env: &Env, a: &InstallArgs) -> Result<PathBuf> {
    match &a.out {
        Some(d) => Ok(env.resolve(d)),
        None if a.system => Ok(PathBuf::from(SYSTEM_UNIT_DIR)),
        None => {
            units::user_unit_dir(env.get("XDG_CONFIG_HOME"), env.get("HOME")).ok_or_else(|| {
                AieError::Config("HOME is not set: pass --out with the user unit folder".into())
                    .into()
            })
        }
    }
}

/// Unit files in `dir` that `aie schedule` wrote (they start with its header).
pub fn generated_units(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| {
                    n.starts_with("aie-")
                        && (n.ends_with(".service")
                            || n.ends_with(".timer")
                            || n.ends_with(".path")
                            || n.ends_with(".socket"))
                })
                .filter(|n| {
                    std::fs::read_to_string(dir.join(n)).is_ok_and(|t| t.starts_with(units::HEADER))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
