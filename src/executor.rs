//! Executors carry out approved actions, one per action kind. This module owns the trait,
//! the registry that builds executors lazily, the `note` executor, the dry-run preview of
//! every kind, and the "connector not configured" outcome for kinds whose connector is not
//! set up. The journal around each side effect is `execute-approved`'s job.

use crate::config::Settings;
use crate::secrets::Secrets;
use crate::vault::Item;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// How one action ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionOutcome {
    /// It happened; the detail says what the service answered (message id, invoice number).
    Ok(String),
    /// It did not happen and is safe to try again next pass (refused before any effect).
    Retry(String),
    /// The service could not be reached at all: nothing was sent; try again next pass.
    Unreachable(String),
    /// It did not happen and will not by trying again: the owner must look.
    Failed(String),
    /// It may or may not have happened (the connection broke after the data went out).
    Unknown(String),
}

/// Carries out actions of one kind.
pub trait ActionExecutor {
    /// Carries out one action of an approved item. `key` is the action's idempotency key
    /// (e.g. the source of a Message-ID), so a service that dedupes can be told.
    fn execute(&mut self, item: &Item, action: &Map<String, Value>, key: &str) -> ActionOutcome;
}

/// The `note` executor: nothing to do, always ok.
struct NoteExecutor;

impl ActionExecutor for NoteExecutor {
    fn execute(&mut self, _item: &Item, _action: &Map<String, Value>, _key: &str) -> ActionOutcome {
        ActionOutcome::Ok("noted".into())
    }
}

/// An executor whose outcome texts are scrubbed of every secret and its encodings: a
/// server's reply may repeat the password or the AUTH PLAIN string it was sent, and the
/// outcome text goes into the journal, the audit log, the item's `review:` and the ledger.
struct Scrubbed {
    inner: Box<dyn ActionExecutor>,
    scrubber: crate::secrets::Scrubber,
}

impl ActionExecutor for Scrubbed {
    fn execute(&mut self, item: &Item, action: &Map<String, Value>, key: &str) -> ActionOutcome {
        let sc = &self.scrubber;
        match self.inner.execute(item, action, key) {
            ActionOutcome::Ok(d) => ActionOutcome::Ok(sc.scrub(&d)),
            ActionOutcome::Retry(d) => ActionOutcome::Retry(sc.scrub(&d)),
            ActionOutcome::Unreachable(d) => ActionOutcome::Unreachable(sc.scrub(&d)),
            ActionOutcome::Failed(d) => ActionOutcome::Failed(sc.scrub(&d)),
            ActionOutcome::Unknown(d) => ActionOutcome::Unknown(sc.scrub(&d)),
        }
    }
}

/// A builder of the executor of one kind: `Ok(None)` when its connector is not set up.
pub type ExecutorFactory =
    fn(&Settings, &Secrets, &std::path::Path) -> anyhow::Result<Option<Box<dyn ActionExecutor>>>;

/// Builds executors on first use and keeps them for the pass (one SMTP connection a pass).
pub struct Executors<'a> {
    settings: &'a Settings,
    secrets: &'a Secrets,
    vault_root: std::path::PathBuf,
    built: HashMap<String, Option<Box<dyn ActionExecutor>>>,
    factories: HashMap<&'static str, ExecutorFactory>,
}

impl<'a> Executors<'a> {
    pub fn new(settings: &'a Settings, secrets: &'a Secrets, vault_root: &std::path::Path) -> Self {
        let mut factories: HashMap<&'static str, ExecutorFactory> = HashMap::new();
        factories.insert("note", |_, _, _| Ok(Some(Box::new(NoteExecutor))));
        factories.insert("send_email", crate::connectors::smtp::factory);
        factories.insert("social_post", crate::connectors::social::factory);
        factories.insert("whatsapp_send", crate::connectors::whatsapp::factory);
        Executors {
            settings,
            secrets,
            vault_root: vault_root.to_path_buf(),
            built: HashMap::new(),
            factories,
        }
    }

    /// The executor for `kind`, built on first use. `Ok(None)` means its connector is not
    /// configured; an error means it is configured but cannot be built (missing secrets).
    /// Every outcome text it returns is scrubbed of secrets.
    pub fn get(&mut self, kind: &str) -> anyhow::Result<Option<&mut Box<dyn ActionExecutor>>> {
        // Kinds of one connector share one executor (one Odoo login a pass).
        let kind = match kind {
            k if crate::connectors::odoo_ledger::KINDS.contains(&k) => "odoo",
            k => k,
        };
        if !self.built.contains_key(kind) {
            let factory = match kind {
                "odoo" => Some(crate::connectors::odoo_ledger::factory as ExecutorFactory),
                k => self.factories.get(k).copied(),
            };
            let made = match factory {
                Some(f) => f(self.settings, self.secrets, &self.vault_root)?,
                None => None,
            };
            let made = made.map(|inner| {
                Box::new(Scrubbed {
                    inner,
                    scrubber: self.secrets.scrubber(),
                }) as Box<dyn ActionExecutor>
            });
            self.built.insert(kind.to_string(), made);
        }
        Ok(self.built.get_mut(kind).and_then(|o| o.as_mut()))
    }
}

/// Exactly what an action would send, as text: shown in dry-run and in approval requests
/// (each kind's own, `actions/<kind>.rs`).
pub fn preview(action: &Map<String, Value>) -> String {
    let kind = crate::actions::kind_of(action);
    match crate::actions::get(kind) {
        Some(k) => k.preview(action),
        None => format!("Unknown action kind `{kind}`: it will be refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn preview_of_an_email_shows_everything_sent() {
        let a = json!({"kind":"send_email","to":["a@b.c"],"cc":["c@d.e"],"subject":"Hi","body":"Text","in_reply_to":"<m@x>"});
        let p = preview(a.as_object().unwrap());
        assert_eq!(
            p,
            "To: a@b.c\nCc: c@d.e\nSubject: Hi\nIn-Reply-To: <m@x>\n\nText"
        );
    }

    #[test]
    fn unconfigured_kinds_build_nothing_and_note_runs() {
        let settings = Settings::default();
        let secrets = Secrets::default();
        let mut ex = Executors::new(&settings, &secrets, std::path::Path::new("/tmp"));
        assert!(ex.get("send_email").unwrap().is_none());
        let item = Item::new("i", "file", "general", "inbox:x", "t");
        let note = json!({"kind":"note","text":"x"});
        let out = ex
            .get("note")
            .unwrap()
            .unwrap()
            .execute(&item, note.as_object().unwrap(), "k");
        assert_eq!(out, ActionOutcome::Ok("noted".into()));
    }
}
