//! `aie alert --unit NAME`: what systemd's `OnFailure=aie-alert@%n.service` runs when a
//! scheduled unit fails. Appends the failure to `Logs/alerts/<date>.jsonl`, puts it in the
//! state's attention list (so the Dashboard shows it until the job next succeeds), and
//! audits it; when SMTP is set up and `owner.email` is known, it also mails the owner.

use crate::audit::AuditEvent;
use crate::context::{Ctx, Cx, Mode};
use crate::exit::AieError;
use crate::outcome::Outcome;
use crate::state::Attention;
use anyhow::{Context, Result};
use clap::Args;
use std::io::Write;

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
    let dir = ctx.vault.logs().join("alerts");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let path = dir.join(format!("{}.jsonl", ctx.clock.today()));
    let line = serde_json::json!({
        "ts": ctx.clock.stamp(),
        "agent": ctx.agent,
        "unit": unit,
        "message": crate::audit::scrub(&message, &ctx.secrets.values()),
    });
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open `{}`", path.display()))?;
    writeln!(f, "{line}").with_context(|| format!("cannot append to `{}`", path.display()))?;
    f.sync_data()
        .with_context(|| format!("cannot sync `{}`", path.display()))?;
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
    notify_owner(ctx, unit, &message);
    Ok(Outcome::default())
}

/// Mails the owner about a failed unit through the mail capability when `smtp:` and
/// `owner.email` are set. An alert is not an action (SPEC): no item, no approval, no
/// journal. It never fails the alert: the failure is already in Logs/alerts/ and on the
/// Dashboard.
fn notify_owner(ctx: &Ctx, unit: &str, message: &str) {
    use crate::connectors::capabilities::{Mailer, OutgoingMail};
    let Some(to) = ctx.settings.owner.email.clone().filter(|e| e.contains('@')) else {
        log::info!("no owner.email in aie.yaml: the alert for `{unit}` is not mailed");
        return;
    };
    let mut mailer =
        match crate::connectors::smtp::mailer(&ctx.settings, &ctx.secrets, ctx.vault.root()) {
            Ok(Some(m)) => m,
            Ok(None) => return,
            Err(e) => {
                log::warn!("cannot mail the owner about `{unit}`: {e:#}");
                return;
            }
        };
    let stamp = ctx.clock.stamp();
    let mail = OutgoingMail {
        to: vec![to],
        subject: format!("aie: {unit} failed"),
        body: format!(
            "{message}\n\nAgent {} at {stamp}. See Logs/alerts/ and the Dashboard in the vault `{}`; `aie status` shows every job.\n",
            ctx.agent,
            ctx.vault.root().display()
        ),
        // One Message-ID per alert: the unit and the time it was raised.
        key: crate::vault::item::make_id(
            &format!("alert {unit}"),
            &[unit.as_bytes(), stamp.as_bytes()],
        ),
        ..OutgoingMail::default()
    };
    match mailer.send(&mail) {
        crate::executor::ActionOutcome::Ok(_) => log::info!("mailed the owner about `{unit}`"),
        other => log::warn!(
            "cannot mail the owner about `{unit}`: {}",
            crate::secrets::scrub(&format!("{other:?}"))
        ),
    }
}
