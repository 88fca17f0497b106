//! What the rest of the program needs from outside services, one small trait per capability
//! (sending mail, reading a mailbox, an accounting ledger, publishing a post, sending a
//! message; the language model is [`super::llm_http::LanguageModel`]), and the registry of
//! connectors ([`all`]): each declares its `aie.yaml` section, the secrets it needs given the
//! settings (SPEC's names), a cheap, offline `check`, and where the service can be asked
//! cheaply, a `live` check (one authenticated call or two). `doctor` and `health-check` both
//! iterate this registry: neither knows a connector by name. `doctor`'s list of needed
//! secrets and the names [`crate::secrets`] reads come from it too, not from a table of
//! their own.

use crate::actions::{odoo_bill, odoo_invoice, odoo_post_invoice, payment};
use crate::actions::{social_post, whatsapp_send};
use crate::config::Settings;
use crate::executor::ActionOutcome;
use crate::schedule::jobs::Role;
use crate::secrets::Secrets;
use std::path::Path;
use std::time::Duration;

/// One mail to send: what the owner (or an approved action) wants to go out.
#[derive(Debug, Clone, Default)]
pub struct OutgoingMail {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    pub body: String,
    /// The message replied to (`<id@host>`), and the thread's chain before it.
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// File name and content of each attachment.
    pub attachments: Vec<(String, Vec<u8>)>,
    /// A stable key: the Message-ID is derived from it, so a resend is recognisable.
    pub key: String,
}

/// Sends mail (SMTP).
pub trait Mailer {
    /// Sends one mail; the outcome says exactly whether it went out.
    fn send(&mut self, mail: &OutgoingMail) -> ActionOutcome;
}

/// Reads a mailbox (Gmail): what poll-gmail needs to import new mail exactly once. A
/// cursor is an opaque position in the mailbox's history of changes; message ids are the
/// mailbox's own, checked before they reach a URL. Errors: the service's (unreachable is
/// unavailable, a revoked grant a setup error).
pub trait Mailbox {
    /// The current position in the mailbox's history: what arrives after it is new.
    fn cursor(&mut self) -> anyhow::Result<String>;
    /// Ids of every message matching `query`.
    fn list(&mut self, query: &str) -> anyhow::Result<Vec<String>>;
    /// Ids of the messages added since `cursor` that `query` would list, and the cursor to
    /// go on from; None when `cursor` has expired (only a full [`Mailbox::list`] is left).
    fn changes_since(
        &mut self,
        cursor: &str,
        query: &str,
    ) -> anyhow::Result<Option<(Vec<String>, String)>>;
    /// The whole RFC 822 message and its thread id; None when it was deleted since.
    fn fetch(&mut self, id: &str) -> anyhow::Result<Option<(Vec<u8>, String)>>;
    /// The id of the label `name`, created when it does not exist yet.
    fn label(&mut self, name: &str) -> anyhow::Result<String>;
    /// Marks messages processed, as `how` says.
    fn mark(&mut self, ids: &[String], how: &Marking) -> anyhow::Result<()>;
    /// How many calls it made to the service (for the pass's counts).
    fn calls(&self) -> u64;
}

/// How a [`Mailbox`] marks a message processed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marking {
    /// Marked read.
    pub read: bool,
    /// A label added: its id, from [`Mailbox::label`].
    pub label: Option<String>,
}

/// An accounting ledger (Odoo): invoices, bills and payments. One method per kind, each
/// taking the kind's typed parameters (read by [`crate::actions::Kind::parse`], the reading
/// the policy approved), so a ledger can neither be handed another kind's action nor read a
/// parameter its own way; `key` is the action's idempotency key.
pub trait Ledger {
    /// `odoo_invoice`: a draft customer invoice with its lines.
    fn invoice(&mut self, invoice: &odoo_invoice::Params, key: &str) -> ActionOutcome;
    /// `odoo_post_invoice`: posts (confirms) the invoice the action names.
    fn post_invoice(&mut self, post: &odoo_post_invoice::Params, key: &str) -> ActionOutcome;
    /// `odoo_bill`: a vendor bill, left in draft.
    fn bill(&mut self, bill: &odoo_bill::Params, key: &str) -> ActionOutcome;
    /// `payment`: a payment recorded in the books (never sent to a bank).
    fn payment(&mut self, payment: &payment::Params, key: &str) -> ActionOutcome;
}

/// The books of an accounting ledger (Odoo), read: what the owner's figures
/// ([`crate::accounting`]) are computed from, and all they need. Amounts are in the company
/// currency, as the books hold them (not rounded); dates are `YYYY-MM-DD`, empty when unset.
/// Errors: the service's (a refused login is a setup error, a server out of reach is
/// unavailable).
pub trait Books {
    /// The company's currency and its rounding.
    fn company_currency(&mut self) -> anyhow::Result<CompanyCurrency>;
    /// Posted customer invoices and credit notes dated in `from..=to`.
    fn posted_sales(
        &mut self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> anyhow::Result<Vec<PostedSale>>;
    /// Customer invoices still in draft, oldest first.
    fn draft_invoices(&mut self) -> anyhow::Result<Vec<DraftInvoice>>;
    /// Posted customer invoices not fully paid, the earliest due first.
    fn open_receivables(&mut self) -> anyhow::Result<Vec<OpenInvoice>>;
    /// Posted customer invoices due in `from..=to`, paid or not.
    fn invoices_due(
        &mut self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> anyhow::Result<Vec<DueInvoice>>;
    /// Posted vendor bills and refunds dated in `from..=to`, oldest first.
    fn bills(
        &mut self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> anyhow::Result<Vec<Bill>>;
}

/// The company's currency: its ISO code, and its rounding when the books say one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompanyCurrency {
    pub code: String,
    pub rounding: Option<f64>,
}

/// A posted customer invoice or credit note.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostedSale {
    /// Untaxed, negative for a credit note.
    pub untaxed: f64,
    pub credit_note: bool,
}

/// A customer invoice in draft.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DraftInvoice {
    pub id: i64,
    pub partner: String,
    /// With taxes.
    pub total: f64,
    /// The day it was created.
    pub created: String,
}

/// A posted customer invoice not fully paid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpenInvoice {
    /// Its number (`INV/2026/00001`).
    pub number: String,
    pub partner: String,
    pub due_date: String,
    /// What is left to pay.
    pub amount_due: f64,
}

/// A posted customer invoice due in a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DueInvoice {
    /// Paid, being paid or reversed.
    pub paid: bool,
}

/// A posted vendor bill or refund.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bill {
    pub vendor: String,
    pub date: String,
    /// Untaxed, as an expense: positive for a bill, negative for a refund.
    pub untaxed: f64,
    pub refund: bool,
}

/// Publishes a post on one platform (Facebook, Instagram, X, LinkedIn).
pub trait Publisher {
    /// Publishes `post`, already read as the policy read it and checked publishable
    /// ([`social_post::check_publishable`]); `key` is the action's idempotency key.
    fn publish(&mut self, post: &social_post::Params, key: &str) -> ActionOutcome;
}

/// Sends a message to a person (WhatsApp).
pub trait Messenger {
    /// Sends `msg`, read as the policy read it (its `to` through
    /// [`crate::actions::items`]); `key` is the action's idempotency key.
    fn message(&mut self, msg: &whatsapp_send::Params, key: &str) -> ActionOutcome;
}

/// A secret a configured connector reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretNeed {
    pub name: &'static str,
    /// Only a warning when missing (an optional key, such as a local model server's).
    pub optional: bool,
}

/// Needed secrets, all required.
pub fn required(names: &[&'static str]) -> Vec<SecretNeed> {
    names
        .iter()
        .map(|&name| SecretNeed {
            name,
            optional: false,
        })
        .collect()
}

/// A connector's offline check: what it found, or why it cannot be built.
pub type ConnectorCheck = fn(&Settings, &Secrets, &Path) -> anyhow::Result<String>;

/// One connector, as the rest of the program sees it before building it.
pub struct Connector {
    /// Its name in messages and in `doctor` (`smtp`, `gmail`, `llm`).
    pub name: &'static str,
    /// Its section in `aie.yaml`.
    pub section: &'static str,
    /// Every secret it may read, whatever the settings.
    pub secrets: &'static [&'static str],
    /// The secrets it needs with these settings; None when it is not set up.
    pub needs: fn(&Settings) -> Option<Vec<SecretNeed>>,
    /// A cheap check that needs no network: the settings and secrets build a usable
    /// connector. Says what it found, or why not.
    pub check: ConnectorCheck,
}

impl Connector {
    /// The connector of the `aie.yaml` section `name` (its name in messages too).
    pub const fn of_section(
        name: &'static str,
        secrets: &'static [&'static str],
        needs: fn(&Settings) -> Option<Vec<SecretNeed>>,
        check: ConnectorCheck,
    ) -> Connector {
        Connector {
            name,
            section: name,
            secrets,
            needs,
            check,
        }
    }

    /// This connector with a live check (see [`Registered`]).
    pub const fn with_live(self, live: LiveCheck) -> Registered {
        Registered {
            connector: self,
            live: Some(live),
            local_only: false,
        }
    }

    /// This connector with no live check.
    pub const fn offline_only(self) -> Registered {
        Registered {
            connector: self,
            live: None,
            local_only: false,
        }
    }
}

/// What a live check needs.
pub struct LiveCx<'a> {
    pub settings: &'a Settings,
    pub secrets: &'a Secrets,
    pub vault_root: &'a Path,
    /// What is left of the run's time (`health-check`'s deadline, a bound of `doctor`'s own);
    /// None: each call has only its own timeout and retry budget.
    pub time_left: Option<Duration>,
}

impl LiveCx<'_> {
    /// The run's deadline, from the time left.
    pub fn deadline(&self) -> Option<std::time::Instant> {
        self.time_left.map(|d| std::time::Instant::now() + d)
    }

    /// The agent's private folder (token caches).
    pub fn aie_dir(&self) -> std::path::PathBuf {
        self.vault_root.join(".aie")
    }
}

/// What one live check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// It works: what it found.
    Ok(String),
    /// It works, with a caveat: what, and the fix.
    Warn(String, String),
    /// It does not work: why, and the fix when one is known.
    Fail(String, Option<String>),
}

impl Probe {
    /// What it found, whatever the outcome.
    pub fn message(&self) -> &str {
        match self {
            Probe::Ok(m) | Probe::Warn(m, _) | Probe::Fail(m, _) => m,
        }
    }
}

/// One line of a live check: its name (`odoo login`, `x token`) and what it found.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub name: String,
    pub probe: Probe,
}

impl Finding {
    pub fn new(name: impl Into<String>, probe: Probe) -> Finding {
        Finding {
            name: name.into(),
            probe,
        }
    }

    /// A finding that passed saying the `Ok` text, or failed saying the `Err` text, with
    /// `fix`.
    pub fn passed_or(name: &str, r: Result<String, String>, fix: &str) -> Finding {
        Finding::new(
            name,
            match r {
                Ok(m) => Probe::Ok(m),
                Err(m) => Probe::Fail(m, Some(fix.to_string())),
            },
        )
    }
}

/// A connector's live check: one cheap authenticated call (or a few, each needing the one
/// before), and what each found. Later calls are skipped once one fails.
pub type LiveCheck = fn(&LiveCx) -> Vec<Finding>;

/// The findings of a live check as one result (what `health-check` records): failed when
/// any failed (their messages), else what each found. A caveat is not a failure.
pub fn verdict(findings: &[Finding]) -> Result<String, String> {
    let failed: Vec<&Finding> = findings
        .iter()
        .filter(|f| matches!(f.probe, Probe::Fail(..)))
        .collect();
    let said = |fs: &[&Finding]| {
        let texts: Vec<&str> = fs.iter().map(|f| f.probe.message()).collect();
        texts.join("; ")
    };
    if failed.is_empty() {
        Ok(said(&findings.iter().collect::<Vec<_>>()))
    } else {
        Err(said(&failed))
    }
}

/// A connector as the registry holds it: its description and its live check. (The
/// description is a type of its own so that a connector declared outside `connectors/`,
/// such as the backup keys, stays a plain struct.)
pub struct Registered {
    pub connector: Connector,
    /// One cheap call to the service with the configured secrets; None when there is no
    /// such call (the model, whose every call costs; the backup keys, which are local).
    pub live: Option<LiveCheck>,
    /// Only the local agent uses it (see [`Registered::used_by`]).
    pub local_only: bool,
}

impl Registered {
    /// Marks it as used by the local agent only.
    pub const fn local_only(self) -> Registered {
        Registered {
            local_only: true,
            ..self
        }
    }

    /// Whether an agent of `role` uses the connector. The cloud agent sends nothing and
    /// keeps no ledger, so SMTP and Odoo (local only) are neither asked for their login
    /// nor logged in to there (with an SMTP login it may still mail its alerts). The one
    /// rule `doctor` and `health-check` apply.
    pub fn used_by(&self, role: Role) -> bool {
        !(self.local_only && role == Role::Cloud)
    }

    /// The secrets it needs with these settings for an agent of `role`; None when it is not
    /// set up or this agent does not use it.
    pub fn needs_for(&self, s: &Settings, role: Role) -> Option<Vec<SecretNeed>> {
        (self.connector.needs)(s).filter(|_| self.used_by(role))
    }
}

impl std::ops::Deref for Registered {
    type Target = Connector;

    fn deref(&self) -> &Connector {
        &self.connector
    }
}

static ALL: &[Registered] = &[
    super::gmail::CONNECTOR,
    super::smtp::CONNECTOR,
    super::llm_http::CONNECTOR.offline_only(),
    super::odoo::CONNECTOR,
    super::facebook::CONNECTOR,
    super::instagram::CONNECTOR,
    super::whatsapp::CONNECTOR,
    super::x::CONNECTOR,
    super::linkedin::CONNECTOR,
    crate::backup::keys::CONNECTOR.offline_only(),
];

/// Every connector aie knows.
pub fn all() -> &'static [Registered] {
    ALL
}

/// Every secret name any connector reads (what the environment is searched for).
pub fn secret_names() -> impl Iterator<Item = &'static str> {
    ALL.iter().flat_map(|c| c.secrets.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(yaml: &str) -> Vec<(&'static str, Vec<&'static str>)> {
        let s = Settings::parse(yaml, Path::new("aie.yaml")).unwrap();
        all()
            .iter()
            .filter_map(|c| {
                let n = (c.needs)(&s)?;
                Some((c.name, n.iter().map(|n| n.name).collect()))
            })
            .collect()
    }

    #[test]
    fn smtp_needs_a_login_only_when_it_authenticates() {
        let with = needs("smtp:\n  host: h\n  auth: true\n");
        assert_eq!(
            with,
            [("smtp", vec!["AIE_SMTP_USERNAME", "AIE_SMTP_PASSWORD"])]
        );
        let relay = needs("smtp:\n  host: h\n  auth: false\n");
        assert_eq!(relay, [("smtp", vec![])]);
        assert!(needs("timezone: UTC\n").is_empty());
    }

    #[test]
    fn gmail_and_the_model_name_their_secrets_when_set_up() {
        let n = needs("gmail:\n  query: is:unread\nllm:\n  provider: anthropic\n");
        assert_eq!(
            n,
            [
                (
                    "gmail",
                    vec![
                        "AIE_GMAIL_CLIENT_ID",
                        "AIE_GMAIL_CLIENT_SECRET",
                        "AIE_GMAIL_REFRESH_TOKEN"
                    ]
                ),
                ("llm", vec!["AIE_ANTHROPIC_API_KEY"]),
            ]
        );
    }

    // doctor skipped SMTP for the cloud role, health-check for the draft_only mode: one rule
    // now, the connector's own (issue 9).
    #[test]
    fn the_cloud_agent_never_uses_smtp_nor_odoo() {
        let s = Settings::parse(
            "smtp:\n  host: h\n  auth: true\nodoo:\n  url: http://o\n  db: d\nx:\n  api_base: http://x\n",
            Path::new("aie.yaml"),
        )
        .unwrap();
        let used = |role| {
            all()
                .iter()
                .filter(|c| c.needs_for(&s, role).is_some())
                .map(|c| c.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(used(Role::Local), ["smtp", "odoo", "x"]);
        assert_eq!(used(Role::Cloud), ["x"]);
    }

    #[test]
    fn a_live_check_fails_when_one_finding_fails_and_a_caveat_does_not() {
        let ok = Finding::new("a", Probe::Ok("fine".into()));
        let warn = Finding::new("b", Probe::Warn("slow".into(), "wait".into()));
        let fail = Finding::new("c", Probe::Fail("down".into(), None));
        assert_eq!(verdict(&[ok.clone(), warn]), Ok("fine; slow".into()));
        assert_eq!(verdict(&[ok, fail]), Err("down".into()));
    }

    #[test]
    fn every_spec_secret_is_declared_by_a_connector() {
        let names: Vec<&str> = secret_names().collect();
        for n in [
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
            "AIE_WHATSAPP_APP_SECRET",
            "AIE_X_REFRESH_TOKEN",
            "AIE_X_CLIENT_ID",
        ] {
            assert!(names.contains(&n), "{n}");
        }
    }
}
