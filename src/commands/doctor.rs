//! `aie doctor [--json]`: check the setup, one line per check with the fix for each
//! failure; exit 1 when any check fails, 78 when `aie.yaml` is missing or does not read.
//! Works on a broken vault (it never opens a `Ctx`).

use crate::context::Cx;
use crate::doctor::{self, Setup, Status};
use crate::exit::Exit;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Where the units are installed (default: the user unit folder and /etc/systemd/system).
    #[arg(long, value_name = "DIR")]
    pub units: Option<PathBuf>,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

impl crate::cli::CommandArgs for DoctorArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

/// The tag of a check's line: FAIL in red, warn in yellow, ok in green when `colour` (a
/// terminal, and no `NO_COLOR`); plain text otherwise.
fn tag(status: Status, colour: bool) -> String {
    let (text, code) = match status {
        Status::Ok => ("ok  ", "32"),
        Status::Warn => ("warn", "33"),
        Status::Fail => ("FAIL", "1;31"),
    };
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Runs the checks, one line each. Exit 1 when one fails; 78 for a bad AIE_AGENT/AIE_MODE
/// or an `aie.yaml` that is missing or does not read.
pub fn run(cx: &Cx, args: &DoctorArgs) -> Result<Outcome> {
    let env = cx.env;
    let root = cx.vault_root();
    let agent = env.agent()?;
    let role = env.mode()?.role();
    let unit_dirs = match &args.units {
        Some(d) => vec![env.resolve(d)],
        None => crate::schedule::units::user_unit_dir(env.get("XDG_CONFIG_HOME"), env.get("HOME"))
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
        role,
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
    let colour = !args.out.json && env.get("NO_COLOR").is_none() && {
        use std::io::IsTerminal;
        std::io::stdout().is_terminal()
    };
    let mut summary = String::new();
    for c in &checks {
        let tag = tag(c.status, colour);
        match &c.fix {
            Some(fix) if c.status != Status::Ok => {
                summary.push_str(&format!("{tag} {}: {} (fix: {fix})\n", c.check, c.message))
            }
            _ => summary.push_str(&format!("{tag} {}: {}\n", c.check, c.message)),
        }
    }
    // Like every command but init and demo, a folder without aie.yaml, or with one that does
    // not read (an unknown key, a bad value), is a config error (78); doctor still reports its
    // checks first, so the owner sees what to fix.
    let config_failed = checks
        .iter()
        .any(|c| c.check == "config" && c.status == Status::Fail);
    let exit = if config_failed || !root.join(crate::vault::SETTINGS_FILE).is_file() {
        Exit::Config
    } else if failed {
        Exit::Partial
    } else {
        Exit::Ok
    };
    Ok(Outcome {
        exit: Some(exit),
        summary,
        json: serde_json::json!({"ok": !failed, "checks": checks}),
        ..Outcome::default()
    })
}
