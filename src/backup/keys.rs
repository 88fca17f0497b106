//! The keys of an encrypted backup store, as settings and secrets give them: the recipient
//! `backup.encrypt_to` names (all a backup needs) and the identity in the secret
//! `AIE_BACKUP_IDENTITY` (what restore and verify need). Declared as a connector so
//! `doctor` knows the secret and checks that the two keys belong together.

use super::IDENTITY_SECRET;
use super::age::{Identity, Recipient};
use crate::config::Settings;
use crate::connectors::capabilities::{Connector, SecretNeed};
use crate::exit::AieError;
use crate::secrets::Secrets;
use anyhow::Result;
use std::path::Path;

/// The `backup` entry of the connector registry.
pub const CONNECTOR: Connector = Connector {
    name: "backup",
    section: "backup",
    secrets: &[IDENTITY_SECRET],
    needs,
    check,
};

/// With `encrypt_to` set, the identity is wanted (optional: backing up works without it,
/// restoring does not).
fn needs(s: &Settings) -> Option<Vec<SecretNeed>> {
    recipient_text(s)?;
    Some(vec![SecretNeed {
        name: IDENTITY_SECRET,
        optional: true,
    }])
}

fn recipient_text(s: &Settings) -> Option<&str> {
    s.backup
        .encrypt_to
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
}

/// The recipient `backup.encrypt_to` names, if set. Errors: not an `age1...` key (exit 78).
pub fn recipient(s: &Settings) -> Result<Option<Recipient>> {
    recipient_text(s)
        .map(|r| {
            Recipient::parse(r).map_err(|e| {
                AieError::Config(format!(
                    "`backup.encrypt_to` is not an age recipient (`age1...`): {e}"
                ))
                .into()
            })
        })
        .transpose()
}

/// The identity from `file` when given, else from the secret. Errors: unreadable or not an
/// `AGE-SECRET-KEY-1...` (exit 78; the key itself is never echoed).
pub fn identity(secrets: &Secrets, file: Option<&Path>) -> Result<Option<Identity>> {
    let (text, from) = match file {
        Some(f) => (
            std::fs::read_to_string(f).map_err(|e| {
                AieError::Config(format!("cannot read identity file `{}`: {e}", f.display()))
            })?,
            format!("identity file `{}`", f.display()),
        ),
        None => match secrets.get(IDENTITY_SECRET) {
            Some(v) => (v.to_string(), format!("secret `{IDENTITY_SECRET}`")),
            None => return Ok(None),
        },
    };
    Identity::parse(&text)
        .map(Some)
        .map_err(|e| AieError::Config(format!("{from} is not an age identity: {e}")).into())
}

/// `doctor`'s check: the recipient parses, and the identity, when set, is its key.
fn check(s: &Settings, secrets: &Secrets, _vault: &Path) -> Result<String> {
    let Some(r) = recipient(s)? else {
        return Ok("snapshots are not encrypted".into());
    };
    match identity(secrets, None)? {
        Some(id) if id.recipient().encode() != r.encode() => Err(AieError::Config(format!(
            "secret `{IDENTITY_SECRET}` is not the identity of `backup.encrypt_to`: restores would fail"
        ))
        .into()),
        Some(_) => Ok("snapshots encrypted; the identity to restore them is set".into()),
        None => Ok(format!(
            "snapshots encrypted; `{IDENTITY_SECRET}` is not set here (needed only to restore or verify)"
        )),
    }
}
