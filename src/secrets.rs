//! Secrets: only from the environment or the file named by `AIE_SECRETS_FILE` (`KEY=value`
//! lines, mode 0600, outside the vault). They are never written to the vault, a log or a
//! report; the audit log scrubs their values from anything it writes.

use crate::exit::AieError;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Every secret name aie reads (SPEC.md).
pub const SECRET_NAMES: &[&str] = &[
    "AIE_GMAIL_CLIENT_ID",
    "AIE_GMAIL_CLIENT_SECRET",
    "AIE_GMAIL_REFRESH_TOKEN",
    "AIE_ANTHROPIC_API_KEY",
    "AIE_LLM_API_KEY",
    "AIE_SMTP_USERNAME",
    "AIE_SMTP_PASSWORD",
    "AIE_ODOO_USERNAME",
    "AIE_ODOO_API_KEY",
    "AIE_FACEBOOK_TOKEN",
    "AIE_INSTAGRAM_TOKEN",
    "AIE_X_TOKEN",
    "AIE_LINKEDIN_TOKEN",
    "AIE_WHATSAPP_TOKEN",
];

/// The secrets of this run.
#[derive(Clone, Default)]
pub struct Secrets {
    map: BTreeMap<String, String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only, never values.
        f.debug_list().entries(self.map.keys()).finish()
    }
}

impl Secrets {
    /// Builds the secrets from environment values (which win) and an optional secrets file.
    /// The file must be mode 0600 (or stricter) and outside `vault`: otherwise a config error.
    pub fn load(
        env: &BTreeMap<String, String>,
        file: Option<&Path>,
        vault: Option<&Path>,
    ) -> Result<Secrets> {
        let mut map = BTreeMap::new();
        if let Some(path) = file {
            check_file(path, vault)?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read secrets file `{}`", path.display()))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let line = line.strip_prefix("export ").unwrap_or(line);
                let Some((k, v)) = line.split_once('=') else {
                    return Err(AieError::Config(format!(
                        "secrets file `{}` line {}: expected KEY=value",
                        path.display(),
                        n + 1
                    ))
                    .into());
                };
                let v = v.trim().trim_matches('"').trim_matches('\'');
                map.insert(k.trim().to_string(), v.to_string());
            }
        }
        for name in SECRET_NAMES {
            if let Some(v) = env.get(*name).filter(|v| !v.is_empty()) {
                map.insert(name.to_string(), v.clone());
            }
        }
        Ok(Secrets { map })
    }

    /// A secret by name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// All of `names`, or a config error (exit 78) listing the missing ones for `service`.
    pub fn require(&self, service: &str, names: &[&str]) -> Result<Vec<String>> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.get(n).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(AieError::Config(format!(
                "{service} is set up in aie.yaml but its secrets are missing: {} (set them in the environment or in AIE_SECRETS_FILE)",
                missing.join(", ")
            ))
            .into());
        }
        Ok(names.iter().map(|n| self.map[*n].clone()).collect())
    }

    /// Every secret value, for scrubbing logs.
    pub fn values(&self) -> Vec<String> {
        self.map.values().cloned().collect()
    }
}

/// Checks that a secrets file is private and lives outside the vault.
pub fn check_file(path: &Path, vault: Option<&Path>) -> Result<()> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read secrets file `{}`", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(AieError::Config(format!(
            "secrets file `{}` has mode {mode:04o}: run `chmod 600 {}`",
            path.display(),
            path.display()
        ))
        .into());
    }
    if let Some(vault) = vault {
        let (Ok(p), Ok(v)) = (path.canonicalize(), vault.canonicalize()) else {
            return Ok(());
        };
        if p.starts_with(&v) {
            return Err(AieError::Config(format!(
                "secrets file `{}` is inside the vault, which is synced: move it outside `{}`",
                path.display(),
                vault.display()
            ))
            .into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn file_and_env_merge_env_wins() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("secrets");
        fs::write(
            &f,
            "# comment\nAIE_SMTP_PASSWORD=filepw\nAIE_X_TOKEN=\"xt\"\n",
        )
        .unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        let mut env = BTreeMap::new();
        env.insert("AIE_SMTP_PASSWORD".to_string(), "envpw".to_string());
        let s = Secrets::load(&env, Some(&f), None).unwrap();
        assert_eq!(s.get("AIE_SMTP_PASSWORD"), Some("envpw"));
        assert_eq!(s.get("AIE_X_TOKEN"), Some("xt"));
        assert!(!format!("{s:?}").contains("envpw"));
    }

    #[test]
    fn loose_mode_and_inside_vault_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("secrets");
        fs::write(&f, "A=b\n").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Secrets::load(&BTreeMap::new(), Some(&f), None).is_err());
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        let err = Secrets::load(&BTreeMap::new(), Some(&f), Some(d.path())).unwrap_err();
        assert!(err.to_string().contains("inside the vault"));
    }
}
