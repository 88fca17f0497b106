//! `aie demo [PATH]`: the embedded default. A new vault with sample inbox files, then
//! process-inbox, plan and execute-approved in dry-run, then a summary of what happened and
//! which files to open. No config, no network, no credentials.

use crate::cli::{Command, GlobalArgs};
use crate::commands::{execute_approved, plan, process_inbox};
use crate::context::Cx;
use crate::exit::Exit;
use crate::outcome::Outcome;
use crate::vault::Vault;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to make the demo vault (default: a new folder under the system temp folder).
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

impl crate::cli::CommandArgs for DemoArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

/// How the owner runs this same binary from where they are: `cargo run --release --` for a
/// binary under a cargo `target/` folder, `aie` when `PATH` finds this binary by that
/// name, else its full path.
fn invocation(exe: &std::path::Path, path_var: Option<&str>) -> String {
    let parts: Vec<String> = exe
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    let n = parts.len();
    if n >= 3 && parts[n - 3] == "target" {
        return match parts[n - 2].as_str() {
            "release" => "cargo run --release --".into(),
            _ => "cargo run --".into(),
        };
    }
    let on_path = path_var.is_some_and(|p| {
        std::env::split_paths(p).any(|d| {
            let found = d.join("aie");
            found.canonicalize().ok() == exe.canonicalize().ok() && found.is_file()
        })
    });
    if on_path {
        "aie".into()
    } else {
        exe.display().to_string()
    }
}

/// Makes the sample vault and runs the chain in it; reports each step's summary and where
/// the items went. Exit: the worst step's code.
pub fn run(cx: &Cx, args: &DemoArgs) -> Result<Outcome> {
    let env = cx.env;
    let root = match &args.path {
        Some(p) => env.resolve(p),
        None => std::env::temp_dir().join(format!(
            "aie-demo-{}-{}",
            chrono::Utc::now().format("%Y%m%d-%H%M%S"),
            std::process::id()
        )),
    };
    if root.join(crate::vault::SETTINGS_FILE).exists() {
        bail!(
            "`{}` already holds a vault: pass a new folder to `aie demo`",
            root.display()
        );
    }
    let agent = env.agent()?;
    let vault = Vault::at(&root);
    crate::vault::template::write(&vault, &agent)?;
    for (name, text) in crate::vault::template::DEMO_INBOX {
        let p = vault.inbox().join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write `{}`", p.display()))?;
    }
    // The demo runs with a pinned, local environment: its own vault, dry-run, no secrets.
    let mut env = env.clone();
    env.vars
        .retain(|k, _| k == "AIE_NOW" || k == "AIE_AGENT" || k == "AIE_LOG");
    let mut settings = std::fs::read_to_string(vault.settings_path())?;
    // Sample known contacts and payees, so some items run by policy and show their dry-run.
    settings = settings
        .replace("settle_seconds: 2 ", "settle_seconds: 0 ")
        .replace(
            "known_contacts: []",
            "known_contacts: [\"@acme-corp.example\"]",
        )
        .replace("known_payees: []", "known_payees: [\"Hosting Co\"]");
    std::fs::write(vault.settings_path(), settings)?;
    let g = GlobalArgs {
        vault: Some(root.clone()),
        deadline: None,
        verbose: cx.global.verbose,
    };
    let steps = [
        Command::ProcessInbox(process_inbox::ProcessInboxArgs {
            dry_run: false,
            ..Default::default()
        }),
        Command::Plan(plan::PlanArgs {
            dry_run: false,
            ..Default::default()
        }),
        Command::ExecuteApproved(execute_approved::ExecuteApprovedArgs {
            dry_run: true,
            ..Default::default()
        }),
    ];
    let mut summary = format!("aie demo: a sample vault at {}\n\n", root.display());
    let mut worst = Exit::Ok;
    let mut steps_json = Vec::new();
    for step in steps {
        let name = step.spec().name;
        let out = crate::runner::run_command(&env, &g, &step)?;
        let code = out.exit.unwrap_or(Exit::Ok);
        worst = worst.worst(code);
        summary.push_str(&crate::runner::text_of(&out));
        steps_json.push(serde_json::json!({"step": name, "exit": code.code(), "report": crate::runner::json_of(&out)}));
    }
    summary.push('\n');
    let counts = crate::dashboard::queue_counts(&vault);
    summary.push_str("where the items are now:\n");
    for (k, n) in &counts {
        if *n > 0 {
            summary.push_str(&format!("  {k:<17} {n}\n"));
        }
    }
    let aie = invocation(
        &std::env::current_exe().unwrap_or_default(),
        env.get("PATH"),
    );
    summary.push_str(&format!(
        "\nopen the vault in Obsidian, or read:\n  {0}/Dashboard.md\n  {0}/Pending_Approval/  (requests waiting for you)\n  {0}/Plans/            (the plan of every item)\n  {0}/Logs/             (the audit trail)\n\nnothing was sent: every action ran in dry-run. To approve a request, move its file\nto Approved/ and run:\n  {1} execute-approved --dry-run --vault {0}\n  {1} status --vault {0}\n",
        root.display(),
        aie
    ));
    Ok(Outcome {
        exit: Some(worst),
        summary,
        json: serde_json::json!({
            "vault": root.display().to_string(),
            "steps": steps_json,
            "queues": counts
                .iter()
                .map(|(k, n)| (k.clone(), serde_json::json!(n)))
                .collect::<serde_json::Map<_, _>>(),
        }),
        ..Outcome::default()
    })
}

#[cfg(test)]
mod tests {
    use super::invocation;
    use std::path::Path;

    #[test]
    fn the_demo_hint_names_a_command_that_works_from_where_the_owner_is() {
        // The closing hint used to say `aie ...`, not on PATH after `cargo run`.
        assert_eq!(
            invocation(Path::new("/src/aie/target/release/aie"), Some("/usr/bin")),
            "cargo run --release --"
        );
        assert_eq!(
            invocation(Path::new("/src/aie/target/debug/aie"), None),
            "cargo run --"
        );
        assert_eq!(
            invocation(Path::new("/opt/x/aie"), Some("/usr/bin")),
            "/opt/x/aie"
        );
    }
}
