//! The built-in vault template (`vault_template/` in the repo), embedded so an installed
//! `aie` needs no repo: `init` writes it, never overwriting a file, and `demo` adds sample
//! inbox files.

use crate::vault::Vault;
use anyhow::{Context, Result};
use std::io::Write;

/// Files of a new vault: (path in the vault, contents).
pub const FILES: &[(&str, &str)] = &[
    ("aie.yaml", include_str!("../../vault_template/aie.yaml")),
    (
        "Dashboard.md",
        include_str!("../../vault_template/Dashboard.md"),
    ),
    (
        "Company_Handbook.md",
        include_str!("../../vault_template/Company_Handbook.md"),
    ),
    (
        "Business_Goals.md",
        include_str!("../../vault_template/Business_Goals.md"),
    ),
    (
        "Content_Calendar.md",
        include_str!("../../vault_template/Content_Calendar.md"),
    ),
    (".gitignore", include_str!("../../vault_template/gitignore")),
    (
        ".gitattributes",
        include_str!("../../vault_template/gitattributes"),
    ),
];

/// Sample drops for `demo`, one per domain.
pub const DEMO_INBOX: &[(&str, &str)] = &[
    (
        "invoice request - Acme.eml",
        include_str!("../../vault_template/demo/invoice request - Acme.eml"),
    ),
    (
        "hosting bill.txt",
        include_str!("../../vault_template/demo/hosting bill.txt"),
    ),
    (
        "linkedin post idea.md",
        include_str!("../../vault_template/demo/linkedin post idea.md"),
    ),
    (
        "question from a new lead.eml",
        include_str!("../../vault_template/demo/question from a new lead.eml"),
    ),
    (
        "meeting notes.txt",
        include_str!("../../vault_template/demo/meeting notes.txt"),
    ),
];

/// Writes the template into `vault` (folders and files), never overwriting anything.
/// What it creates is private to the owner (folders 0700, files 0600): clients' mail lands
/// here. Returns the vault-relative paths it created.
pub fn write(vault: &Vault, agent: &str) -> Result<Vec<String>> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let mut created = Vec::new();
    let root = vault.root();
    let mut dirs = std::fs::DirBuilder::new();
    dirs.recursive(true).mode(0o700);
    dirs.create(root)
        .with_context(|| format!("cannot create `{}`", root.display()))?;
    for dir in vault.layout_dirs(agent) {
        // A folder of the layout that is a link is never followed (nor made through).
        crate::fsutil::check_no_symlink(root, &dir)
            .map_err(|e| crate::exit::AieError::Config(format!("{e:#}")))?;
        if !dir.exists() {
            dirs.create(&dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            created.push(format!("{}/", vault.rel(&dir)));
        }
    }
    for (name, text) in FILES {
        let path = root.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(text.as_bytes())
                    .and_then(|_| f.sync_all())
                    .with_context(|| format!("cannot write `{}`", path.display()))?;
                created.push(name.to_string());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create `{}`", path.display())),
        }
    }
    Ok(created)
}
