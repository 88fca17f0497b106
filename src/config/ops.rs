//! The operations settings of `aie.yaml`: `zones` (which agent does what, and where the
//! work may move when one fails), `failover`, `alerts` and `health` (the checks
//! `health-check` runs and when a check counts as DOWN or UP). Types only: the zone record
//! is `crate::zones`, the checks `crate::passes::health`.

use serde::{Deserialize, Serialize};

/// A piece of work a zone's agent does (`zones[].does`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duty {
    /// `poll-gmail`: only the active zone's agent polls (one importer at a time).
    PollGmail,
    /// `plan`: any zone that lists it (claims keep one planner per item).
    Plan,
    /// `poll-social`: only the active zone's agent.
    PollSocial,
    /// `ingest whatsapp`: only the active zone's agent.
    IngestWhatsapp,
    /// `execute-approved`: a full agent only (a draft_only agent never executes).
    Execute,
}

impl Duty {
    /// Whether only one agent at a time may do it: the active zone's.
    pub const fn single(self) -> bool {
        matches!(
            self,
            Duty::PollGmail | Duty::PollSocial | Duty::IngestWhatsapp
        )
    }

    /// The name `aie.yaml` spells it with.
    pub const fn name(self) -> &'static str {
        match self {
            Duty::PollGmail => "poll_gmail",
            Duty::Plan => "plan",
            Duty::PollSocial => "poll_social",
            Duty::IngestWhatsapp => "ingest_whatsapp",
            Duty::Execute => "execute",
        }
    }
}

/// One place aie runs (`zones:`, a list in order of preference: the first is the primary).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Zone {
    pub name: String,
    /// The agent (`AIE_AGENT`) that runs in this zone.
    pub agent: String,
    /// What its agent does; a single-holder duty only while the zone is active.
    pub does: Vec<Duty>,
    /// Also answers 2xx while the zone is healthy (checked beside its agent's heartbeat).
    pub health_url: Option<String>,
    /// Its agent's heartbeat older than this (`15m`) counts as a failed check.
    #[serde(deserialize_with = "super::duration_text")]
    pub heartbeat_max_age: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FailoverSettings {
    /// Switch back to the first zone once it is healthy again (never on its own otherwise).
    pub auto_failback: bool,
    /// How long the active zone must have been DOWN before `failover` switches (`10m`).
    #[serde(deserialize_with = "super::duration_text")]
    pub after: String,
    /// No second switch within this long of the last one (`30m`).
    #[serde(deserialize_with = "super::duration_text")]
    pub hold_down: String,
    /// aie commands run after a switch, in order (never a shell), like job steps.
    pub hooks: Vec<String>,
}

impl Default for FailoverSettings {
    fn default() -> Self {
        FailoverSettings {
            auto_failback: false,
            after: "10m".into(),
            hold_down: "30m".into(),
            hooks: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    /// Also post each alert (JSON) to this URL, beside the mail to the owner.
    pub webhook_url: Option<String>,
}

/// `health:`: the checks `health-check` runs and how results become DOWN and UP.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthSettings {
    /// Failures in a row before a check is DOWN.
    pub down_after: u32,
    /// Successes in a row before a DOWN check is UP again.
    pub up_after: u32,
    /// While a check stays DOWN, remind the owner this often (`4h`).
    #[serde(deserialize_with = "super::duration_text")]
    pub remind_every: String,
    /// The oldest item waiting longer than this is a failed check (`48h`).
    #[serde(deserialize_with = "super::duration_text")]
    pub max_wait: String,
    /// Less free space than this (MiB) on the vault's disk is a failed check.
    pub min_free_mb: u64,
    /// The newest backup older than this is a failed check (`36h`).
    #[serde(deserialize_with = "super::duration_text")]
    pub max_backup_age: String,
    /// Ask each connector live (a token refresh, an SMTP or Odoo login, a call to each
    /// social platform) at most this often (`1h`); the passes between reuse its last live
    /// answer. A pass every two minutes would otherwise spend X's 25 daily calls of
    /// `/2/users/me` in an hour, eat the Graph and LinkedIn quotas, and log in to the mail
    /// server 720 times a day, until a healthy setup reported itself DOWN. A failed live
    /// answer is asked again every pass, so a recovery is seen at once; the offline check
    /// (settings and secrets present) runs every pass; `health-check --live` asks now.
    #[serde(deserialize_with = "super::duration_text")]
    pub live_every: String,
    /// The configured checks.
    pub checks: Vec<CheckSpec>,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            down_after: 3,
            up_after: 2,
            remind_every: "4h".into(),
            max_wait: "48h".into(),
            min_free_mb: 500,
            max_backup_age: "36h".into(),
            live_every: "1h".into(),
            checks: Vec::new(),
        }
    }
}

/// One configured check: exactly one of `http`, `tcp`, `aie`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckSpec {
    pub name: String,
    /// GET this URL.
    pub http: Option<String>,
    /// The status expected (default: any 2xx).
    pub status: Option<u16>,
    /// A text the body must contain.
    pub body_contains: Option<String>,
    /// Connect to this `host:port`.
    pub tcp: Option<String>,
    /// Run this aie command (`status`, `sync-vault`): exit 0 is a success.
    pub aie: Option<String>,
    /// Seconds before the check gives up (default 10).
    pub timeout_seconds: Option<u64>,
    /// The level of its DOWN alert: `info`, `warning` or `critical` (default).
    pub level: Option<crate::alerts::Level>,
}
