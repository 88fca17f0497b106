//! `aie init [PATH]`: make a vault from the built-in template, never overwriting a file.

use crate::context::Env;
use crate::exit::Exit;
use crate::vault::Vault;
use anyhow::Result;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to make the vault (default: --vault, else the current folder).
    pub path: Option<PathBuf>,
}

/// Writes the template and says what it created.
pub fn run(env: &Env, vault_root: &Path, args: &InitArgs) -> Result<Exit> {
    let root = match &args.path {
        Some(p) => crate::runner::resolve(env, p),
        None => vault_root.to_path_buf(),
    };
    let agent = env.agent()?;
    let created = crate::vault::template::write(&Vault::at(&root), &agent)?;
    if created.is_empty() {
        println!(
            "`{}` is already an aie vault: nothing to create",
            root.display()
        );
    } else {
        println!("created the aie vault `{}`:", root.display());
        for c in &created {
            println!("  {c}");
        }
        println!("next: drop a file in Inbox/, then run `aie process-inbox` and `aie plan` in it");
    }
    Ok(Exit::Ok)
}
