//! `aie alert --unit NAME`: what systemd's `OnFailure=aie-alert@%n.service` runs when a
//! scheduled unit fails. Appends the failure to `Logs/alerts/<date>.jsonl`, puts it in the
//! state's attention list (so the Dashboard shows it until the job next succeeds), and
//! audits it; it mails the owner and posts to the alert webhook through `crate::alerts`.

use crate::audit::AuditEvent;
use crate::context::{Cx, Mode};
use crate::exit::AieError;
use crate::outcome::Outcome;
use crate::state::Attention;
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct AlertArgs {
    /// The unit that failed, such as `aie-triage.service`.
    #[arg(long, value_name = "NAME")]
    pub unit: String,
    /// What went wrong, when the caller knows more than the unit's name.
    #[arg(long)]
    pub message: Option<String>,
    /// The unit is a user unit (`systemctl --user`): its journal is `journalctl --user`.
    #[arg(long)]
    pub user: bool,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

impl crate::cli::CommandArgs for AlertArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

/// Records the alert. Errors: a unit name with characters systemd does not use (exit 2).
pub fn run(cx: &Cx, args: &AlertArgs) -> Result<Outcome> {
    let unit = args.unit.trim();
    if unit.is_empty()
        || unit.len() > 256
        || !unit
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@:\\".contains(c))
    {
        return Err(AieError::Usage(format!("`{unit}` is not a systemd unit name")).into());
    }
    let ctx = cx.ctx();
    let message = match &args.message {
        Some(m) => format!("{unit} failed: {m}"),
        None if args.user => {
            format!("{unit} failed: see `journalctl --user -u {unit}` and `aie status`")
        }
        None => format!("{unit} failed: see `journalctl -u {unit}` and `aie status`"),
    };
    let line = serde_json::json!({
        "ts": ctx.clock.stamp(),
        "agent": ctx.agent,
        "level": crate::alerts::Level::Critical,
        "key": unit,
        "event": "failed",
        "unit": unit,
        "message": crate::audit::scrub(&message, &ctx.secrets.values()),
    });
    crate::alerts::append_log(ctx, &line)?;
    let now = ctx.clock.stamp();
    ctx.state.update(|s| {
        let key = format!("alert:{unit}");
        match s.attention.get_mut(&key) {
            Some(a) => {
                a.passes += 1;
                a.message = message.clone();
            }
            None => {
                s.attention.insert(
                    key,
                    Attention {
                        since: now.clone(),
                        message: message.clone(),
                        passes: 1,
                    },
                );
            }
        }
        s.push_recent(&now, format!("alert: {unit} failed"));
    })?;
    ctx.audit.append(AuditEvent {
        target: Some(unit.to_string()),
        result: Some("recorded".into()),
        ..AuditEvent::new("alert", None)
    })?;
    if ctx.mode == Mode::Full
        && let Err(e) = crate::dashboard::refresh(ctx)
    {
        log::warn!("cannot refresh the dashboard: {e:#}");
    }
    crate::alerts::mail_owner(ctx, unit, &format!("aie: {unit} failed"), &message);
    crate::alerts::post_webhook(ctx, &line);
    Ok(Outcome::default())
}
