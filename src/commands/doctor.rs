//! `aie doctor [--json]`: check the setup, one line per check with the fix for each
//! failure; exit 1 when any check fails, 78 when `aie.yaml` is missing or does not read.
//! Works on a broken vault (it never opens a `Ctx`).

use crate::cli::GlobalArgs;
use crate::context::{Env, Mode};
use crate::doctor::{self, Setup, Status};
use crate::exit::Exit;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Where the units are installed (default: the user unit folder and /etc/systemd/system).
    #[arg(long, value_name = "DIR")]
    pub units: Option<PathBuf>,
}

/// Runs the checks and prints them. Exit 1 when one fails; 78 for a bad AIE_AGENT/AIE_MODE
/// or an `aie.yaml` that is missing or does not read.
pub fn run(env: &Env, global: &GlobalArgs, args: &DoctorArgs) -> Result<Exit> {
    let root = env.vault_root(global.vault.as_deref());
    let agent = env.agent()?;
    let cloud = env.mode()? == Mode::DraftOnly;
    let unit_dirs = match &args.units {
        Some(d) => vec![crate::runner::resolve(env, d)],
        None => crate::commands::schedule::user_unit_dir(env)
            .into_iter()
            .chain([PathBuf::from("/etc/systemd/system")])
            .collect(),
    };
    let crontab = std::process::Command::new("crontab")
        .arg("-l")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string());
    let setup = Setup {
        root: &root,
        agent: &agent,
        env: &env.vars,
        unit_dirs,
        crontab,
        cloud,
    };
    let checks = doctor::run_checks(&setup, &|remote| {
        let out = std::process::Command::new("git")
            .args(["ls-remote", "--heads", remote])
            .env("GIT_TERMINAL_PROMPT", "0")
            .current_dir(&root)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(err
                .lines()
                .next()
                .unwrap_or("git ls-remote failed")
                .to_string())
        }
    });
    let failed = checks.iter().any(|c| c.status == Status::Fail);
    if global.json {
        let v = serde_json::json!({"ok": !failed, "checks": checks});
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        for c in &checks {
            let tag = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            match &c.fix {
                Some(fix) if c.status != Status::Ok => {
                    println!("{tag} {}: {} (fix: {fix})", c.check, c.message)
                }
                _ => println!("{tag} {}: {}", c.check, c.message),
            }
        }
    }
    // Like every command but init and demo, a folder without aie.yaml, or with one that does
    // not read (an unknown key, a bad value), is a config error (78); doctor still prints its
    // checks first, so the owner sees what to fix.
    let config_failed = checks
        .iter()
        .any(|c| c.check == "config" && c.status == Status::Fail);
    if config_failed || !root.join(crate::vault::SETTINGS_FILE).is_file() {
        return Ok(Exit::Config);
    }
    Ok(if failed { Exit::Partial } else { Exit::Ok })
}
