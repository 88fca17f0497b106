//! What the rest of the program needs from outside services, one small trait per capability
//! (sending mail, reading a mailbox, an accounting ledger, publishing a post, sending a
//! message; the language model is [`super::llm_http::LanguageModel`]), and the registry of
//! connectors ([`all`]): each declares its `aie.yaml` section, the secrets it needs given the
//! settings (SPEC's names) and a cheap, offline `check` that `doctor` and `health-check`
//! call. `doctor`'s list of needed secrets and the names [`crate::secrets`] reads come from
//! this registry, not from a table of their own.

use crate::config::Settings;
use crate::executor::ActionOutcome;
use crate::secrets::Secrets;
use serde_json::{Map, Value};
use std::path::Path;

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

/// Reads a mailbox (Gmail).
pub trait Mailbox {
    /// Ids of every message matching `query`.
    fn list(&mut self, query: &str) -> anyhow::Result<Vec<String>>;
    /// The whole RFC 822 message and its thread id.
    fn fetch(&mut self, id: &str) -> anyhow::Result<(Vec<u8>, String)>;
}

/// An accounting ledger (Odoo): invoices, bills and payments. The parameters are an
/// action's, validated by the action catalogue; `key` is its idempotency key.
pub trait Ledger {
    fn record(&mut self, kind: &str, params: &Map<String, Value>, key: &str) -> ActionOutcome;
}

/// Publishes a post on one platform (Facebook, Instagram, X, LinkedIn).
pub trait Publisher {
    fn publish(&mut self, params: &Map<String, Value>, key: &str) -> ActionOutcome;
}

/// Sends a message to a person (WhatsApp).
pub trait Messenger {
    fn message(&mut self, params: &Map<String, Value>, key: &str) -> ActionOutcome;
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
    /// connector. Says what it found, or why not. None while the connector does not exist.
    pub check: Option<ConnectorCheck>,
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
            check: Some(check),
        }
    }
}

static ALL: &[Connector] = &[
    super::gmail::CONNECTOR,
    super::smtp::CONNECTOR,
    super::llm_http::CONNECTOR,
    super::odoo::CONNECTOR,
    super::facebook::CONNECTOR,
    super::instagram::CONNECTOR,
    super::whatsapp::CONNECTOR,
    super::x::CONNECTOR,
    super::linkedin::CONNECTOR,
    crate::backup::keys::CONNECTOR,
];

/// Every connector aie knows.
pub fn all() -> &'static [Connector] {
    ALL
}

/// The `aie.yaml` section that sets up the connector an action of `kind` runs through
/// (for `social_post`, the one its `platform` names), or None for a kind with no side effect.
pub fn section_for_kind(kind: &str, platform: Option<&str>) -> Option<&'static str> {
    Some(match kind {
        "send_email" => "smtp",
        "odoo_invoice" | "odoo_post_invoice" | "odoo_bill" | "payment" => "odoo",
        "whatsapp_send" => "whatsapp",
        "social_post" => match platform? {
            "facebook" => "facebook",
            "instagram" => "instagram",
            "x" => "x",
            "linkedin" => "linkedin",
            _ => return None,
        },
        _ => return None,
    })
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
