//! The operations settings of `aie.yaml`: `zones` (which agent does what, and where the
//! work may move when one fails), `failover`, `alerts` and `health` (the checks
//! `health-check` runs and when a check counts as DOWN or UP). Types only: the zone record
//! is `crate::zones`, the checks `crate::passes::health`.

use super::Span;
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    pub heartbeat_max_age: Span,
}

impl Default for Zone {
    fn default() -> Self {
        Zone {
            name: String::new(),
            agent: String::new(),
            does: Vec::new(),
            health_url: None,
            heartbeat_max_age: Span::of("15m"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FailoverSettings {
    /// Switch back to the first zone once it is healthy again (never on its own otherwise).
    pub auto_failback: bool,
    /// How long the active zone must have been DOWN before `failover` switches (`10m`).
    pub after: Span,
    /// No second switch within this long of the last one (`30m`).
    pub hold_down: Span,
    /// aie commands run after a switch, in order (never a shell), like job steps.
    pub hooks: Vec<String>,
}

impl Default for FailoverSettings {
    fn default() -> Self {
        FailoverSettings {
            auto_failback: false,
            after: Span::of("10m"),
            hold_down: Span::of("30m"),
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
    pub remind_every: Span,
    /// The oldest item waiting longer than this is a failed check (`48h`).
    pub max_wait: Span,
    /// Less free space than this (MiB) on the vault's disk is a failed check.
    pub min_free_mb: u64,
    /// The newest backup older than this is a failed check (`36h`).
    pub max_backup_age: Span,
    /// Ask each connector live (a token refresh, an SMTP or Odoo login, a call to each
    /// social platform) at most this often (`1h`); the passes between reuse its last live
    /// answer. A pass every two minutes would otherwise spend X's 25 daily calls of
    /// `/2/users/me` in an hour, eat the Graph and LinkedIn quotas, and log in to the mail
    /// server 720 times a day, until a healthy setup reported itself DOWN. A failed live
    /// answer is asked again every pass, so a recovery is seen at once; the offline check
    /// (settings and secrets present) runs every pass; `health-check --live` asks now.
    pub live_every: Span,
    /// The configured checks.
    pub checks: Vec<CheckSpec>,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            down_after: 3,
            up_after: 2,
            remind_every: Span::of("4h"),
            max_wait: Span::of("48h"),
            min_free_mb: 500,
            max_backup_age: Span::of("36h"),
            live_every: Span::of("1h"),
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
