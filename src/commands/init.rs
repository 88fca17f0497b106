//! `aie init [PATH]`: make a vault from the built-in template, never overwriting a file.

use crate::context::Cx;
use crate::outcome::Outcome;
use crate::vault::Vault;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to make the vault (default: --vault, else the current folder).
    pub path: Option<PathBuf>,
}

impl crate::cli::CommandArgs for InitArgs {}

/// Writes the template and says what it created.
pub fn run(cx: &Cx, args: &InitArgs) -> Result<Outcome> {
    let root = match &args.path {
        Some(p) => cx.env.resolve(p),
        None => cx.vault_root(),
    };
    let agent = cx.env.agent()?;
    let vault = Vault::at(&root);
    let created = crate::vault::template::write(&vault, &agent)?;
    // An existing vault's settings are checked as every other command checks them, so
    // `init` never calls a vault whose aie.yaml every other command refuses ready.
    let path = vault.settings_path();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        crate::exit::AieError::Config(format!("cannot read `{}`: {e}", path.display()))
    })?;
    crate::config::Settings::parse(&text, &path)?;
    let summary = if created.is_empty() {
        format!(
            "`{}` is already an aie vault: nothing to create\n",
            root.display()
        )
    } else {
        let mut s = format!("created the aie vault `{}`:\n", root.display());
        for c in &created {
            s.push_str(&format!("  {c}\n"));
        }
        s.push_str(
            "next: drop a file in Inbox/, then run `aie process-inbox` and `aie plan` in it\n",
        );
        s
    };
    Ok(Outcome {
        summary,
        json: serde_json::json!({"vault": root.display().to_string(), "created": created}),
        ..Outcome::default()
    })
}
