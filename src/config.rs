//! `aie.yaml`: settings and policy, synced with the vault, never a secret. Every field has a
//! default, so an empty file is a valid configuration; a section that is absent means the
//! owner has not set that service up. Reading is strict: a key this version does not know, or
//! a value outside a setting's type, is a config error (exit 78) naming the key, the file and
//! the line, so a misspelt key can never fall back to a looser default (see `strict`).

mod ops;
pub(crate) mod strict;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub use ops::{AlertSettings, CheckSpec, Duty, FailoverSettings, HealthSettings, Zone};
pub use strict::yaml_error;

/// The whole of `aie.yaml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// IANA zone for log dates, schedules and briefing weeks.
    pub timezone: Option<String>,
    pub owner: Owner,
    pub inbox: InboxSettings,
    pub routing: Routing,
    pub policy: Policy,
    pub execution: Execution,
    pub llm: LlmSettings,
    pub planner: PlannerSettings,
    pub smtp: Option<SmtpSettings>,
    pub gmail: Option<GmailSettings>,
    pub odoo: Option<OdooSettings>,
    pub facebook: Option<FacebookSettings>,
    pub instagram: Option<InstagramSettings>,
    pub whatsapp: Option<WhatsappSettings>,
    pub x: Option<XSettings>,
    pub linkedin: Option<LinkedinSettings>,
    pub sync: Option<SyncSettings>,
    /// Where this installation may run, in order of preference (the first is the primary).
    pub zones: Vec<Zone>,
    pub failover: FailoverSettings,
    pub alerts: AlertSettings,
    pub health: HealthSettings,
    pub backup: BackupSettings,
    pub vault: VaultSettings,
}

/// How aie treats the vault folder itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaultSettings {
    /// Files and folders aie writes are readable and writable by their group (umask 0007)
    /// instead of private to the owner (umask 0077): for an owner who edits the vault as
    /// another user of the same group than the one the timers run as.
    pub shared_group: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
#[serde(default, deny_unknown_fields)]
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
#[serde(default, deny_unknown_fields)]
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
#[serde(default, deny_unknown_fields)]
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
    pub approval_expires: Span,
    /// A send to more recipients than this is a bulk send and needs approval.
    pub bulk_recipients: usize,
    /// The owner's content calendar (vault-relative): posts from it need no approval.
    pub content_calendar: String,
    /// Plan a rejected item again once, with the owner's reason as feedback.
    pub replan_rejected: bool,
    /// Remind the owner of an unanswered approval request after this long (`4h`).
    pub nudge_after: Span,
    /// Then again every this long, until it is answered or expires.
    pub nudge_every: Span,
    /// No nudge or alert is sent in these local hours (`22:00-07:00`); none when absent.
    #[serde(deserialize_with = "quiet_hours_text")]
    pub quiet_hours: Option<String>,
}

/// A duration setting as `aie.yaml` writes it (`30m`, `4h`, `2d`), read and checked once, as
/// the file is read: a value that is not one (or zero: "0" is as likely to mean "never" as
/// "at once") is a config error naming the key and line, never a silent fall back to the
/// default. The passes take its value ([`Span::get`]) and never parse the text again;
/// messages show it as the owner wrote it ([`std::fmt::Display`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    text: String,
    value: chrono::Duration,
}

impl Span {
    /// A duration written in the code (a default): `text` must be one, which a unit test
    /// checks for every default.
    pub fn of(text: &str) -> Span {
        Span::parse(text).expect("invariant: a default duration parses (tested)")
    }

    /// `text` as a duration above zero, if it is one.
    fn parse(text: &str) -> Option<Span> {
        crate::clock::parse_duration(text)
            .filter(|d| *d > chrono::Duration::zero())
            .map(|value| Span {
                text: text.to_string(),
                value,
            })
    }

    /// The duration.
    pub fn get(&self) -> chrono::Duration {
        self.value
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Span, D::Error> {
        let s = String::deserialize(d)?;
        Span::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{s}` is not a duration: a whole number above zero and a unit, such as 90s, 30m, 4h, 2d or 1w (at most 100 years)"
            ))
        })
    }
}

/// `policy.quiet_hours`, checked as `aie.yaml` is read (`HH:MM-HH:MM`).
fn quiet_hours_text<'de, D>(d: D) -> std::result::Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let s = Option::<String>::deserialize(d)?;
    if let Some(q) = &s {
        crate::nudge::quiet(q, chrono::NaiveTime::MIN).map_err(serde::de::Error::custom)?;
    }
    Ok(s)
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
            approval_expires: Span::of("24h"),
            bulk_recipients: 5,
            content_calendar: "Content_Calendar.md".into(),
            replan_rejected: false,
            nudge_after: Span::of("4h"),
            nudge_every: Span::of("4h"),
            quiet_hours: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
#[serde(default, deny_unknown_fields)]
pub struct LlmSettings {
    pub provider: LlmProvider,
    pub model: Option<String>,
    pub api_base: Option<String>,
    pub api_version: String,
    pub max_tokens: u32,
    pub daily_token_budget: Option<u64>,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings {
            provider: LlmProvider::Template,
            model: None,
            api_base: None,
            api_version: "2023-06-01".into(),
            max_tokens: 2048,
            daily_token_budget: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: Option<u16>,
    pub security: SmtpSecurity,
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
            security: SmtpSecurity::StartTls,
            from: None,
            ca_file: None,
            timeout_seconds: 30,
            auth: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GmailSettings {
    pub api_base: String,
    pub token_url: String,
    pub query: String,
    pub mark: GmailMark,
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
            mark: GmailMark::Both,
            max_per_run: 100,
            max_attachment_bytes: 25 * 1024 * 1024,
            auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            timeout_seconds: 60,
            authserv_id: "mx.google.com".into(),
        }
    }
}

/// Which planner writes plans (`llm.provider`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LlmProvider {
    /// The built-in template planner (no model; `""` is taken as this too).
    #[default]
    #[serde(alias = "")]
    Template,
    Anthropic,
    /// Any server speaking OpenAI's chat completions (Ollama, llama.cpp, vLLM).
    OpenaiCompatible,
}

/// How the SMTP connection is secured (`smtp.security`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587); refused if not offered.
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS at all (a local relay).
    None,
}

/// How a fetched Gmail message is marked processed (`gmail.mark`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GmailMark {
    /// Remove `UNREAD`.
    Unread,
    /// Add the `aie/processed` label.
    Label,
    #[default]
    Both,
}

/// The Odoo API aie speaks (`odoo.api`): JSON-RPC, or the JSON-2 API of Odoo 19 and later.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OdooApi {
    #[default]
    Jsonrpc,
    Json2,
}

/// The planner's own settings, beside the model's (`llm`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlannerSettings {
    /// The template planner (also as the LLM planner's fallback) drafts "Thank you for your
    /// message, I will get back to you" to the sender of a message that asks for an answer
    /// (sent unasked to a known contact).
    pub acknowledge: bool,
}

impl Default for PlannerSettings {
    fn default() -> Self {
        PlannerSettings { acknowledge: true }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OdooSettings {
    pub url: String,
    /// The Odoo database name.
    pub db: String,
    pub api: OdooApi,
    /// Seconds one call to Odoo may take before its outcome is unknown.
    pub timeout_seconds: u64,
    /// The currency invoices are drafted in when the request names none (ISO code); `doctor`
    /// checks Odoo has it active.
    pub currency: Option<String>,
}

impl Default for OdooSettings {
    fn default() -> Self {
        OdooSettings {
            url: String::new(),
            db: String::new(),
            api: OdooApi::Jsonrpc,
            timeout_seconds: 30,
            currency: None,
        }
    }
}

/// The Graph API version every Meta section defaults to.
const GRAPH_BASE: &str = "https://graph.facebook.com/v21.0";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FacebookSettings {
    pub graph_base: String,
    pub page_id: Option<String>,
}

impl Default for FacebookSettings {
    fn default() -> Self {
        FacebookSettings {
            graph_base: GRAPH_BASE.into(),
            page_id: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstagramSettings {
    pub graph_base: String,
    /// The Instagram business account id.
    pub user_id: Option<String>,
}

impl Default for InstagramSettings {
    fn default() -> Self {
        InstagramSettings {
            graph_base: GRAPH_BASE.into(),
            user_id: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WhatsappSettings {
    pub graph_base: String,
    pub phone_number_id: Option<String>,
    /// What Meta echoes when it verifies the webhook (not a secret: it only names the hook).
    pub verify_token: Option<String>,
    /// The approved template (`name` or `name:lang`) a planned reply uses outside the
    /// 24-hour customer-service window.
    pub reply_template: Option<String>,
}

impl Default for WhatsappSettings {
    fn default() -> Self {
        WhatsappSettings {
            graph_base: GRAPH_BASE.into(),
            phone_number_id: None,
            verify_token: None,
            reply_template: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct XSettings {
    pub api_base: String,
}

impl Default for XSettings {
    fn default() -> Self {
        XSettings {
            api_base: "https://api.x.com".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkedinSettings {
    pub api_base: String,
    /// Author URN (`urn:li:person:...` or `urn:li:organization:...`).
    pub author: Option<String>,
    /// The `LinkedIn-Version` header (`YYYYMM`).
    pub version: String,
}

impl Default for LinkedinSettings {
    fn default() -> Self {
        LinkedinSettings {
            api_base: "https://api.linkedin.com".into(),
            author: None,
            version: "202506".into(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSettings {
    pub remote: Option<String>,
    pub branch: Option<String>,
    /// Keys (as `git` names them) whose signed commits may carry an approval.
    pub trusted_signers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupSettings {
    /// Where snapshots go (outside the vault); backups are off while it is absent.
    pub dir: Option<String>,
    /// How many daily snapshots to keep (the newest of each of the last N days).
    pub keep: u32,
    /// How many weekly snapshots to keep (the newest of each of the last N ISO weeks).
    pub keep_weekly: u32,
    /// How many monthly snapshots to keep (the newest of each of the last N months).
    pub keep_monthly: u32,
    /// Encrypt snapshots to this public key (age recipient); plain when absent.
    pub encrypt_to: Option<String>,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            dir: None,
            keep: 7,
            keep_weekly: 4,
            keep_monthly: 6,
            encrypt_to: None,
        }
    }
}

impl Settings {
    /// Parses `aie.yaml` text, strictly. Errors are [`crate::exit::AieError::Config`] (exit 78) naming the
    /// file and the line: YAML that does not parse, a key this version does not know (with
    /// the nearest known one), a value of the wrong type or outside a setting's choices.
    pub fn parse(text: &str, path: &Path) -> Result<Settings> {
        if text.trim().is_empty() {
            return Ok(Settings::default());
        }
        strict::read(text, path)
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

    /// Every duration default parses (they are built with `Span::of`), a duration keeps the
    /// text the owner wrote for messages, and a zone without `heartbeat_max_age` gets 15m.
    #[test]
    fn durations_are_read_once_and_shown_as_written() {
        let s = Settings::parse(
            "policy:\n  approval_expires: 2d\nzones:\n  - name: home\n    agent: local\n",
            Path::new("aie.yaml"),
        )
        .unwrap();
        assert_eq!(s.policy.approval_expires.get(), chrono::Duration::days(2));
        assert_eq!(s.policy.approval_expires.to_string(), "2d");
        assert_eq!(s.policy.nudge_every.get(), chrono::Duration::hours(4));
        assert_eq!(s.health.live_every.get(), chrono::Duration::hours(1));
        assert_eq!(
            s.zones[0].heartbeat_max_age.get(),
            chrono::Duration::minutes(15)
        );
        assert_eq!(
            serde_json::to_value(&s.policy).unwrap()["approval_expires"],
            "2d"
        );
        let err = Settings::parse("policy:\n  nudge_after: 0h\n", Path::new("aie.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`0h` is not a duration") && err.contains("line 2"),
            "{err}"
        );
    }

    #[test]
    fn partial_sections_fill_defaults() {
        let s = Settings::parse(
            "gmail:\n  api_base: http://127.0.0.1:9\nexecution:\n  dry_run: false\n",
            Path::new("aie.yaml"),
        )
        .unwrap();
        let g = s.gmail.unwrap();
        assert_eq!(g.api_base, "http://127.0.0.1:9");
        assert_eq!(g.query, "is:unread is:important");
        assert_eq!(g.mark, GmailMark::Both);
        assert!(!s.execution.dry_run);
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
        let msg = err.to_string();
        assert!(
            msg.starts_with("cannot parse `/v/aie.yaml` line 1"),
            "{msg}"
        );
        assert!(!msg.contains("<input>") && !msg.contains('\n'), "{msg}");
    }
}
