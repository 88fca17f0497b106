//! `aie.yaml`: settings and policy, synced with the vault, never a secret. Every field has a
//! default, so an empty file is a valid configuration; a section that is absent means the
//! owner has not set that service up. Reading is strict: a key this version does not know, or
//! a value outside a setting's type, is a config error (exit 78) naming the key, the file and
//! the line, so a misspelt key can never fall back to a looser default (`keys` walks them).

mod keys;

use crate::exit::AieError;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub use keys::FREE_MAPS;

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
    pub backup: BackupSettings,
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
    pub approval_expires: String,
    /// A send to more recipients than this is a bulk send and needs approval.
    pub bulk_recipients: usize,
    /// The owner's content calendar (vault-relative): posts from it need no approval.
    pub content_calendar: String,
    /// Plan a rejected item again once, with the owner's reason as feedback.
    pub replan_rejected: bool,
    /// Remind the owner of an unanswered approval request after this long (`4h`).
    pub nudge_after: String,
    /// Then again every this long, until it is answered or expires.
    pub nudge_every: String,
    /// No nudge or alert is sent in these local hours (`22:00-07:00`); none when absent.
    pub quiet_hours: Option<String>,
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
            nudge_after: "4h".into(),
            nudge_every: "4h".into(),
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlannerSettings {
    /// Draft an acknowledgement to the sender of an item that waits for the owner.
    pub acknowledge: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OdooSettings {
    pub url: String,
    /// The Odoo database name.
    pub db: String,
    pub api: OdooApi,
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
}

impl Default for WhatsappSettings {
    fn default() -> Self {
        WhatsappSettings {
            graph_base: GRAPH_BASE.into(),
            phone_number_id: None,
            verify_token: None,
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

/// One place this installation may run (`zones:`, a list in order of preference).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Zone {
    pub name: String,
    /// Answers 2xx while the zone is healthy.
    pub health_url: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FailoverSettings {
    /// Switch back to the first zone once it is healthy again.
    pub auto_failback: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    /// Also post each alert (JSON) to this URL, beside the mail to the owner.
    pub webhook_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupSettings {
    /// Where snapshots go (outside the vault); backups are off while it is absent.
    pub dir: Option<String>,
    /// How many snapshots to keep.
    pub keep: u32,
    /// Encrypt snapshots to this public key (age recipient); plain when absent.
    pub encrypt_to: Option<String>,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            dir: None,
            keep: 7,
            encrypt_to: None,
        }
    }
}

impl Settings {
    /// Parses `aie.yaml` text, strictly. Errors are [`AieError::Config`] (exit 78) naming the
    /// file and the line: YAML that does not parse, a key this version does not know (with
    /// the nearest known one), a value of the wrong type or outside a setting's choices.
    pub fn parse(text: &str, path: &Path) -> Result<Settings> {
        if text.trim().is_empty() {
            return Ok(Settings::default());
        }
        let file = path.display();
        let (keys, unknown) = keys::scan(text, &keys::known_tree())
            .map_err(|e| AieError::Config(yaml_error(&file.to_string(), &e)))?;
        if !unknown.is_empty() {
            let each: Vec<String> = unknown
                .iter()
                .map(|u| {
                    let hint = match &u.suggestion {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "no setting has a similar name (the README lists them)".into(),
                    };
                    format!(
                        "unknown setting `{}` in `{file}` line {}: {hint}",
                        u.key.path, u.key.line
                    )
                })
                .collect();
            return Err(AieError::Config(each.join("; ")).into());
        }
        let settings: Settings = serde_saphyr::from_str(text).map_err(|e| {
            let e = e.without_snippet();
            let (msg, at) = split_location(e);
            // The key the bad value belongs to: the last key written before it.
            let key = at.and_then(|(_, _, offset)| {
                keys.iter()
                    .filter(|k| k.offset <= offset)
                    .max_by_key(|k| k.offset)
            });
            AieError::Config(match (key, at) {
                (Some(k), Some((line, _, _))) => {
                    format!(
                        "invalid value for `{}` in `{file}` line {line}: {msg}",
                        k.path
                    )
                }
                _ => yaml_error(&file.to_string(), e),
            })
        })?;
        settings.check_rate_limit_kinds(&keys, &file.to_string())?;
        Ok(settings)
    }

    /// `policy.rate_limits` names action kinds: a misspelt kind would leave the real kind at
    /// its default limit, looser than the owner asked for.
    fn check_rate_limit_kinds(&self, keys: &[keys::KeyAt], file: &str) -> Result<()> {
        use crate::vault::item::ACTION_KINDS;
        for kind in self.policy.rate_limits.keys() {
            if ACTION_KINDS.contains(&kind.as_str()) {
                continue;
            }
            let path = format!("policy.rate_limits.{kind}");
            let line = keys
                .iter()
                .find(|k| k.path == path)
                .map(|k| format!(" line {}", k.line))
                .unwrap_or_default();
            let hint = match keys::nearest(kind, ACTION_KINDS.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the kinds are {}", ACTION_KINDS.join(", ")),
            };
            return Err(AieError::Config(format!(
                "unknown action kind `{path}` in `{file}`{line}: {hint}"
            ))
            .into());
        }
        Ok(())
    }

    /// The configured time zone name (default UTC).
    pub fn timezone(&self) -> &str {
        self.timezone.as_deref().unwrap_or("UTC")
    }
}

/// A YAML error as one line naming `file` and the place: `cannot parse `f` line 3 column 7:
/// ...` (the parser's own rendering names `<input>` and spans several lines).
pub fn yaml_error(file: &str, e: &serde_saphyr::Error) -> String {
    let e = e.without_snippet();
    match split_location(e) {
        (msg, Some((line, column, _))) => {
            format!("cannot parse `{file}` line {line} column {column}: {msg}")
        }
        (msg, None) => format!("cannot parse `{file}`: {msg}"),
    }
}

/// The message of a parser error without its place, and the place (line, column, offset).
fn split_location(e: &serde_saphyr::Error) -> (String, Option<(u64, u64, u64)>) {
    let text = e.to_string();
    match e
        .location()
        .filter(|l| *l != serde_saphyr::Location::UNKNOWN)
    {
        Some(l) => {
            let suffix = format!(" at line {}, column {}", l.line(), l.column());
            let msg = text.strip_suffix(&suffix).unwrap_or(&text).to_string();
            (msg, Some((l.line(), l.column(), l.span().offset())))
        }
        None => (text, None),
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

    fn config_error(text: &str) -> String {
        let err = Settings::parse(text, Path::new("/v/aie.yaml")).unwrap_err();
        assert_eq!(crate::exit::exit_for(&err), crate::exit::Exit::Config);
        err.to_string()
    }

    /// Regression (issue 9, item 6): a misspelt key was kept aside and its setting fell back
    /// to the default, so `payment_auto_belw: 50` left payments under 100 auto-approved.
    #[test]
    fn an_unknown_key_is_refused_naming_file_line_and_nearest_key() {
        let msg = config_error(
            "timezone: UTC\npolicy:\n  known_payees: [Acme]\n  payment_auto_belw: 50\n",
        );
        assert_eq!(
            msg,
            "unknown setting `policy.payment_auto_belw` in `/v/aie.yaml` line 4: did you mean `policy.payment_auto_below`?"
        );
        let msg = config_error("frobnicate: 1\n");
        assert!(
            msg.starts_with("unknown setting `frobnicate` in `/v/aie.yaml` line 1: no setting"),
            "{msg}"
        );
    }

    #[test]
    fn an_enum_value_outside_its_choices_names_key_line_and_choices() {
        for (text, key, line, choice) in [
            (
                "smtp:\n  host: h\n  security: ssl\n",
                "smtp.security",
                3,
                "starttls",
            ),
            ("gmail:\n  mark: read\n", "gmail.mark", 2, "unread"),
            (
                "llm: {provider: gpt}\n",
                "llm.provider",
                1,
                "openai_compatible",
            ),
            ("odoo:\n  api: xmlrpc\n", "odoo.api", 2, "json2"),
        ] {
            let msg = config_error(text);
            assert!(
                msg.starts_with(&format!(
                    "invalid value for `{key}` in `/v/aie.yaml` line {line}: "
                )),
                "{msg}"
            );
            assert!(msg.contains(choice), "{msg}");
        }
        let msg = config_error("policy:\n  payment_auto_below: fifty\n");
        assert!(
            msg.contains("`policy.payment_auto_below`") && msg.contains("line 2"),
            "{msg}"
        );
    }

    #[test]
    fn enum_values_read_as_written() {
        let s = Settings::parse(
            "smtp:\n  security: none\ngmail:\n  mark: label\nllm:\n  provider: openai_compatible\nodoo:\n  api: json2\n",
            Path::new("aie.yaml"),
        )
        .unwrap();
        assert_eq!(s.smtp.unwrap().security, SmtpSecurity::None);
        assert_eq!(s.gmail.unwrap().mark, GmailMark::Label);
        assert_eq!(s.llm.provider, LlmProvider::OpenaiCompatible);
        assert_eq!(s.odoo.unwrap().api, OdooApi::Json2);
        let s = Settings::parse("llm:\n  provider: \"\"\n", Path::new("aie.yaml")).unwrap();
        assert_eq!(s.llm.provider, LlmProvider::Template);
    }

    /// A misspelt kind in `policy.rate_limits` would leave the real kind at its default.
    #[test]
    fn a_rate_limit_for_an_unknown_kind_is_refused() {
        let msg = config_error("policy:\n  rate_limits:\n    send_emial: 1\n");
        assert_eq!(
            msg,
            "unknown action kind `policy.rate_limits.send_emial` in `/v/aie.yaml` line 3: did you mean `send_email`?"
        );
    }

    #[test]
    fn the_template_and_a_spec_complete_file_load() {
        let t = Settings::parse(
            include_str!("../vault_template/aie.yaml"),
            Path::new("aie.yaml"),
        )
        .unwrap();
        assert_eq!(t.policy.payment_auto_below, 100.0);
        // Every line of the template's commented sections, uncommented, loads too.
        let uncommented: String = include_str!("../vault_template/aie.yaml")
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with("  ")
                        || rest.split_once(':').is_some_and(|(k, _)| {
                            k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        }) =>
                {
                    rest
                }
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let s = Settings::parse(&uncommented, Path::new("aie.yaml")).unwrap();
        assert!(s.smtp.is_some() && s.odoo.is_some() && s.linkedin.is_some() && s.sync.is_some());
        assert!(s.backup.dir.is_some() && s.alerts.webhook_url.is_some());
        assert_eq!(s.zones.len(), 2);
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
