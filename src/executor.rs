//! Executors carry out approved actions. This module owns the trait, the factory a kind
//! names its executor by ([`crate::actions::ActionKind::executor`]), the pass's set of
//! executors built lazily from those factories (one per connector), the executor of kinds
//! with no side effect, the dry-run preview of every kind, and the "connector not
//! configured" outcome (`Ok(None)`) for kinds whose connector is not set up. The journal
//! around each side effect is `execute-approved`'s job.

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

/// The executor of a kind with no side effect (a note): nothing to do, always ok.
struct NoSideEffect;

impl ActionExecutor for NoSideEffect {
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

/// Builds one connector's executor: `Ok(None)` when the connector is not set up; an error
/// when it is set up but cannot be built (missing secrets: exit 78; a login out of reach:
/// exit 69).
pub type Build =
    fn(&Settings, &Secrets, &std::path::Path) -> anyhow::Result<Option<Box<dyn ActionExecutor>>>;

/// How the actions of a kind are carried out, as the kind names it
/// ([`crate::actions::ActionKind::executor`]).
#[derive(Clone, Copy)]
pub struct ExecutorFactory {
    /// The connector that runs them: kinds of one connector share one executor a pass (one
    /// Odoo login, one SMTP connection).
    pub connector: &'static str,
    /// Builds that executor.
    pub build: Build,
}

/// Builds executors on first use and keeps them for the pass (one SMTP connection a pass).
pub struct Executors<'a> {
    settings: &'a Settings,
    secrets: &'a Secrets,
    vault_root: std::path::PathBuf,
    /// By connector (or, for a kind with no side effect, by kind).
    built: HashMap<&'static str, Option<Box<dyn ActionExecutor>>>,
}

impl<'a> Executors<'a> {
    pub fn new(settings: &'a Settings, secrets: &'a Secrets, vault_root: &std::path::Path) -> Self {
        Executors {
            settings,
            secrets,
            vault_root: vault_root.to_path_buf(),
            built: HashMap::new(),
        }
    }

    /// The executor for `kind`, built on first use from the factory the kind names.
    /// `Ok(None)` means its connector is not configured (or the kind is not of the closed
    /// list); an error means it is configured but cannot be built (missing secrets). Every
    /// outcome text it returns is scrubbed of secrets.
    pub fn get(&mut self, kind: &str) -> anyhow::Result<Option<&mut Box<dyn ActionExecutor>>> {
        let Some(k) = crate::actions::get(kind) else {
            return Ok(None);
        };
        let factory = k.executor().unwrap_or(ExecutorFactory {
            connector: k.name(),
            build: |_, _, _| Ok(Some(Box::new(NoSideEffect))),
        });
        if !self.built.contains_key(factory.connector) {
            let made = (factory.build)(self.settings, self.secrets, &self.vault_root)?;
            let made = made.map(|inner| {
                Box::new(Scrubbed {
                    inner,
                    scrubber: self.secrets.scrubber(),
                }) as Box<dyn ActionExecutor>
            });
            self.built.insert(factory.connector, made);
        }
        Ok(self
            .built
            .get_mut(factory.connector)
            .and_then(|o| o.as_mut()))
    }
}

/// Exactly what an action would send, as text: shown in dry-run and in approval requests
/// (each kind's own, `actions/<kind>.rs`).
pub fn preview(action: &Map<String, Value>) -> String {
    let kind = crate::actions::kind_of(action);
    match crate::actions::get(kind).map(|k| k.read(action)) {
        Some(Ok(typed)) => typed.preview(),
        Some(Err(e)) => format!(
            "{}: it will be refused: {e:#}",
            crate::actions::as_written(action)
        ),
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
    fn every_kind_but_note_has_an_executor() {
        let without: Vec<&str> = crate::actions::registry()
            .iter()
            .filter(|k| k.executor().is_none())
            .map(|k| k.name())
            .collect();
        assert_eq!(without, ["note"]);
    }

    #[test]
    fn unconfigured_kinds_build_nothing_and_note_runs() {
        let settings = Settings::default();
        let secrets = Secrets::default();
        let mut ex = Executors::new(&settings, &secrets, std::path::Path::new("/tmp"));
        // A kind of each connector comes back as not set up (the pass then names the section
        // of aie.yaml to fill in); so does a kind outside the closed list.
        for kind in ["send_email", "payment", "social_post", "whatsapp_send"] {
            assert!(ex.get(kind).unwrap().is_none(), "{kind}");
        }
        assert!(ex.get("wire_transfer").unwrap().is_none());
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
