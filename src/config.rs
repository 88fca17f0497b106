//! `aie.yaml`: settings and policy, synced with the vault, never a secret. Every field has a
//! default, so an empty file is a valid configuration; a section that is absent means the
//! owner has not set that service up. Unknown keys are kept aside for `doctor`.

use crate::exit::AieError;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The whole of `aie.yaml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// IANA zone for log dates, schedules and briefing weeks.
    pub timezone: Option<String>,
    pub owner: Owner,
    pub inbox: InboxSettings,
    pub routing: Routing,
    pub policy: Policy,
    pub execution: Execution,
    pub llm: LlmSettings,
    pub smtp: Option<SmtpSettings>,
    pub gmail: Option<GmailSettings>,
    pub odoo: Option<OdooSettings>,
    pub facebook: Option<GraphSettings>,
    pub instagram: Option<GraphSettings>,
    pub whatsapp: Option<GraphSettings>,
    pub x: Option<ApiSettings>,
    pub linkedin: Option<ApiSettings>,
    pub sync: Option<SyncSettings>,
    /// Keys this version does not know (reported by `doctor`, otherwise ignored).
    #[serde(flatten, skip_serializing)]
    pub unknown: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Owner {
    pub name: String,
    pub email: Option<String>,
    pub business: Option<String>,
}

impl Default for Owner {
    fn default() -> Self {
        Owner {
            name: "The Owner".into(),
            email: None,
            business: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct InboxSettings {
    /// Files larger than this stay in `Inbox/` with an error.
    pub max_file_bytes: u64,
    /// A drop modified less than this many seconds ago (real clock) may still be being written.
    pub settle_seconds: u64,
}

impl Default for InboxSettings {
    fn default() -> Self {
        InboxSettings {
            max_file_bytes: 25 * 1024 * 1024,
            settle_seconds: 2,
        }
    }
}

/// Keyword rules for Inbox files: the first domain whose keyword appears wins.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Routing {
    pub domains: BTreeMap<String, Vec<String>>,
    pub high_priority: Vec<String>,
    pub low_priority: Vec<String>,
}

fn words(ws: &[&str]) -> Vec<String> {
    ws.iter().map(|s| s.to_string()).collect()
}

impl Default for Routing {
    fn default() -> Self {
        let mut domains = BTreeMap::new();
        domains.insert(
            "accounting".into(),
            words(&["invoice", "payment", "bill", "receipt"]),
        );
        domains.insert(
            "social".into(),
            words(&["post", "tweet", "linkedin", "instagram", "facebook"]),
        );
        Routing {
            domains,
            high_priority: words(&["urgent", "asap", "invoice", "payment", "help"]),
            low_priority: words(&["newsletter", "unsubscribe", "fyi"]),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Addresses (`a@b.com`) or whole domains (`@b.com`) mail may go to without approval.
    pub known_contacts: Vec<String>,
    /// Payees a recurring small payment may go to without approval.
    pub known_payees: Vec<String>,
    /// A recurring payment to a known payee below this amount runs without approval.
    pub payment_auto_below: f64,
    /// At most this many actions of a kind run per hour; the rest wait. The owner's
    /// entries are laid over the defaults: a kind they leave out keeps its default limit.
    #[serde(deserialize_with = "rate_limits_over_defaults")]
    pub rate_limits: BTreeMap<String, u32>,
    /// How long an approval request waits before it moves to `Rejected/`.
    pub approval_expires: String,
    /// A send to more recipients than this is a bulk send and needs approval.
    pub bulk_recipients: usize,
    /// The owner's content calendar (vault-relative): posts from it need no approval.
    pub content_calendar: String,
    /// Plan a rejected item again once, with the owner's reason as feedback.
    pub replan_rejected: bool,
}

/// The hourly limits every owner gets unless they name the kind themselves.
fn default_rate_limits() -> BTreeMap<String, u32> {
    BTreeMap::from([("send_email".into(), 10), ("payment".into(), 3)])
}

/// `policy.rate_limits` as given, over the defaults: naming one kind never drops another
/// kind's limit (a section given in part must not loosen the policy).
fn rate_limits_over_defaults<'de, D>(d: D) -> std::result::Result<BTreeMap<String, u32>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let given = Option::<BTreeMap<String, u32>>::deserialize(d)?.unwrap_or_default();
    let mut limits = default_rate_limits();
    limits.extend(given);
    Ok(limits)
}

impl Default for Policy {
    fn default() -> Self {
        let rate_limits = default_rate_limits();
        Policy {
            known_contacts: Vec::new(),
            known_payees: Vec::new(),
            payment_auto_below: 100.0,
            rate_limits,
            approval_expires: "24h".into(),
            bulk_recipients: 5,
            content_calendar: "Content_Calendar.md".into(),
            replan_rejected: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Execution {
    /// Actions run for real only when this is false (and `--dry-run` is not given).
    pub dry_run: bool,
}

impl Default for Execution {
    fn default() -> Self {
        Execution { dry_run: true }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmSettings {
    /// `template` (default), `anthropic` or `openai_compatible`.
    pub provider: String,
    pub model: Option<String>,
    pub api_base: Option<String>,
    pub api_version: String,
    pub max_tokens: u32,
    pub daily_token_budget: Option<u64>,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings {
            provider: "template".into(),
            model: None,
            api_base: None,
            api_version: "2023-06-01".into(),
            max_tokens: 2048,
            daily_token_budget: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpSettings {
    pub host: String,
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    pub security: String,
    pub from: Option<String>,
    /// Extra CA certificate (PEM) to trust, for self-hosted servers.
    pub ca_file: Option<String>,
    pub timeout_seconds: u64,
    /// Log in with `AIE_SMTP_USERNAME` / `AIE_SMTP_PASSWORD` (default true).
    pub auth: bool,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: "localhost".into(),
            port: None,
            security: "starttls".into(),
            from: None,
            ca_file: None,
            timeout_seconds: 30,
            auth: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct GmailSettings {
    pub api_base: String,
    pub token_url: String,
    pub query: String,
    /// `unread` (remove UNREAD), `label` (add `aie/processed`) or `both`.
    pub mark: String,
    pub max_per_run: u32,
    pub max_attachment_bytes: u64,
    /// Google's consent page, for `aie auth gmail`.
    pub auth_url: String,
    pub timeout_seconds: u64,
    /// The authserv-id of the receiving server: only its topmost `Authentication-Results`
    /// header is trusted to say a sender is authenticated.
    pub authserv_id: String,
}

impl Default for GmailSettings {
    fn default() -> Self {
        GmailSettings {
            api_base: "https://gmail.googleapis.com".into(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            query: "is:unread is:important".into(),
            mark: "both".into(),
            max_per_run: 100,
            max_attachment_bytes: 25 * 1024 * 1024,
            auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            timeout_seconds: 60,
            authserv_id: "mx.google.com".into(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OdooSettings {
    pub url: String,
    pub database: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GraphSettings {
    pub graph_base: String,
    /// Page id, Instagram business account id, or WhatsApp phone number id.
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiSettings {
    pub api_base: String,
    /// LinkedIn author URN (`urn:li:person:...`) where the API needs one.
    pub author: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncSettings {
    pub remote: Option<String>,
    pub branch: Option<String>,
}

impl Settings {
    /// Parses `aie.yaml` text. Errors are [`AieError::Config`] (exit 78) naming the file.
    pub fn parse(text: &str, path: &Path) -> Result<Settings> {
        if text.trim().is_empty() {
            return Ok(Settings::default());
        }
        serde_saphyr::from_str(text)
            .map_err(|e| AieError::Config(format!("cannot parse `{}`: {e}", path.display())).into())
    }

    /// The configured time zone name (default UTC).
    pub fn timezone(&self) -> &str {
        self.timezone.as_deref().unwrap_or("UTC")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let s = Settings::parse("", Path::new("aie.yaml")).unwrap();
        assert!(s.execution.dry_run);
        assert_eq!(s.policy.rate_limits["send_email"], 10);
        assert!(s.gmail.is_none());
    }

    #[test]
    fn partial_sections_fill_defaults_and_unknown_keys_are_kept() {
        let s = Settings::parse(
            "gmail:\n  api_base: http://127.0.0.1:9\nexecution:\n  dry_run: false\nfrobnicate: 1\n",
            Path::new("aie.yaml"),
        )
        .unwrap();
        let g = s.gmail.unwrap();
        assert_eq!(g.api_base, "http://127.0.0.1:9");
        assert_eq!(g.query, "is:unread is:important");
        assert!(!s.execution.dry_run);
        assert!(s.unknown.contains_key("frobnicate"));
    }

    /// Regression (issue 8, finding 6): `rate_limits:` naming only `payment` dropped the
    /// mail limit, and 40 policy-approved mails went out in one pass.
    #[test]
    fn a_policy_section_given_in_part_keeps_every_default_it_omits() {
        let s = Settings::parse(
            "policy:\n  rate_limits:\n    payment: 1\n",
            Path::new("aie.yaml"),
        )
        .unwrap();
        assert_eq!(s.policy.rate_limits["payment"], 1);
        assert_eq!(s.policy.rate_limits["send_email"], 10);
        assert_eq!(s.policy.payment_auto_below, 100.0);
        assert_eq!(s.policy.bulk_recipients, 5);
        let s = Settings::parse("policy:\n  rate_limits:\n", Path::new("aie.yaml")).unwrap();
        assert_eq!(s.policy.rate_limits, default_rate_limits());
    }

    #[test]
    fn bad_yaml_is_a_config_error_naming_the_file() {
        let err = Settings::parse("policy: [", Path::new("/v/aie.yaml")).unwrap_err();
        assert_eq!(crate::exit::exit_for(&err), crate::exit::Exit::Config);
        assert!(err.to_string().contains("/v/aie.yaml"));
    }
}
