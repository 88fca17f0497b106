//! `aie schedule systemd|cron|install|uninstall`: write (or print) the units or crontab of
//! this installation's jobs, or put the user units in place and enable their timers.

use crate::context::{Ctx, Cx, Env};
use crate::exit::AieError;
use crate::outcome::Outcome;
use crate::schedule::jobs::{self, Job};
use crate::schedule::units::{self, Target};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    pub what: ScheduleCommand,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Print (or write with --out) one service and timer per job, and the alert template.
    Systemd(SystemdArgs),
    /// Print (or write with --out) the crontab.
    Cron(CronArgs),
    /// Put the user units in place and enable their timers (or print the crontab lines).
    Install(InstallArgs),
    /// Disable the timers and remove the user units aie wrote.
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
    /// The user unit folder (default: ~/.config/systemd/user).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write or remove the files only; run no systemctl.
    #[arg(long)]
    pub no_enable: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// The user unit folder: `$XDG_CONFIG_HOME/systemd/user` or `~/.config/systemd/user`.
pub fn user_unit_dir(env: &Env) -> Option<PathBuf> {
    if let Some(x) = env.get("XDG_CONFIG_HOME") {
        return Some(Path::new(x).join("systemd/user"));
    }
    env.get("HOME")
        .map(|h| Path::new(h).join(".config/systemd/user"))
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
            let files = units::systemd_units(&target(env, ctx, &a.target, true)?, &jobs);
            write_files(&dir, &files, r)?;
            if !a.no_enable {
                systemctl(&["--user", "daemon-reload"], r)?;
                for j in &jobs {
                    systemctl(
                        &["--user", "enable", "--now", &units::unit_names(&j.name).1],
                        r,
                    )?;
                }
                if jobs.iter().any(|j| j.name == "execute") {
                    systemctl(&["--user", "enable", "--now", "aie-execute.path"], r)?;
                }
            }
        }
        ScheduleCommand::Uninstall(a) => {
            let dir = unit_dir(env, a)?;
            let ours = generated_units(&dir);
            if !a.no_enable {
                for name in ours
                    .iter()
                    .filter(|n| n.ends_with(".timer") || n.ends_with(".path"))
                {
                    systemctl(&["--user", "disable", "--now", name], r)?;
                }
            }
            for name in &ours {
                let p = dir.join(name);
                std::fs::remove_file(&p)
                    .with_context(|| format!("cannot remove `{}`", p.display()))?;
                r.push_str(&format!("removed {}\n", p.display()));
            }
            if !a.no_enable && !ours.is_empty() {
                systemctl(&["--user", "daemon-reload"], r)?;
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

fn unit_dir(env: &Env, a: &InstallArgs) -> Result<PathBuf> {
    match &a.out {
        Some(d) => Ok(env.resolve(d)),
        None => user_unit_dir(env).ok_or_else(|| {
            AieError::Config("HOME is not set: pass --out with the user unit folder".into()).into()
        }),
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
                            || n.ends_with(".path"))
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
