//! The `send_email` executor over SMTP (lettre, rustls). One connection per pass, opened on
//! the first send and reused for every message. The SMTP dialogue is driven step by step
//! (MAIL, RCPT, DATA, content) so the outcome is exact: a refusal or a broken connection
//! before the content went out is safe to retry next pass; a broken connection after the
//! content went out is an unknown outcome, never retried blindly; a 5xx reply is a failure
//! the owner must see. The Message-ID is derived from the action's idempotency key, and a
//! reply threads through In-Reply-To and References. The SMTP connector is the [`Mailer`]:
//! the `send_email` executor and the owner's alerts both send through it.
//!
//! Here: the mailer and its connector; `session.rs` drives the SMTP dialogue, `message.rs`
//! composes the message of an action, `names.rs` makes attachment names safe.

mod message;
mod names;
mod session;

pub use message::{build, build_message, compose, message_id, outgoing};
pub use names::{content_type_of, safe_component};

use super::capabilities::{
    Connector, Finding, LiveCx, Mailer, OutgoingMail, Registered, SecretNeed, required,
};
use crate::actions::{Kind, send_email::SendEmail};
use crate::config::Settings;
use crate::executor::{ActionExecutor, ActionOutcome};
use crate::exit::AieError;
use crate::secrets::Secrets;
use crate::vault::Item;
use anyhow::Result;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::SmtpSecurity as Security;

/// The `send_email` executor: holds the settings and, once something is sent, the connection.
pub struct SmtpMailer {
    host: String,
    port: u16,
    security: Security,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    from: Mailbox,
    timeout: Duration,
    vault_root: PathBuf,
    conn: Option<SmtpConnection>,
    /// Why connecting failed in this pass: later messages wait for the next pass at once.
    broken: Option<String>,
    /// Whether that failure was the server being unreachable (no TCP or TLS connection).
    unreachable: bool,
}

/// The secrets of an SMTP login (`smtp.auth: true`).
pub const SECRETS: &[&str] = &["AIE_SMTP_USERNAME", "AIE_SMTP_PASSWORD"];

/// The SMTP connector: the `smtp:` section; a login only when `smtp.auth` is true (a relay
/// that takes mail without one needs no secret).
/// Only the local agent sends: the cloud one is never asked for the login.
pub const CONNECTOR: Registered = Connector::of_section("smtp", SECRETS, needs, check)
    .with_live(live)
    .local_only();

/// Connects, secures and logs in, then says goodbye (nothing is sent).
fn live(cx: &LiveCx) -> Vec<Finding> {
    let r = match mailer(cx.settings, cx.secrets, cx.vault_root) {
        Ok(Some(mut m)) => m.login_check().map(|()| "SMTP login ok".to_string()),
        Ok(None) => return Vec::new(),
        Err(e) => Err(format!("{e:#}")),
    };
    let fix = "check smtp.host, smtp.port and smtp.security in aie.yaml, and AIE_SMTP_USERNAME and AIE_SMTP_PASSWORD";
    vec![Finding::passed_or("smtp login", r, fix)]
}

fn needs(s: &Settings) -> Option<Vec<SecretNeed>> {
    let smtp = s.smtp.as_ref()?;
    Some(if smtp.auth {
        required(SECRETS)
    } else {
        Vec::new()
    })
}

/// Builds the mailer without connecting: the sender, the security mode, the CA file and the
/// login secrets are usable.
fn check(s: &Settings, secrets: &Secrets, vault_root: &Path) -> Result<String> {
    match mailer(s, secrets, vault_root)? {
        Some(m) => Ok(format!(
            "{}:{} ({:?}), from {}",
            m.host, m.port, m.security, m.from
        )),
        None => Ok("not set up".into()),
    }
}

/// Builds the `send_email` executor: `Ok(None)` when `aie.yaml` has no `smtp:` section; a
/// config error (exit 78) when the section is unusable or the login secrets are missing.
pub fn factory(
    settings: &Settings,
    secrets: &Secrets,
    vault_root: &Path,
) -> Result<Option<Box<dyn ActionExecutor>>> {
    Ok(mailer(settings, secrets, vault_root)?.map(|m| Box::new(m) as Box<dyn ActionExecutor>))
}

/// Builds the SMTP [`Mailer`] (no connection until something is sent): `Ok(None)` when
/// `aie.yaml` has no `smtp:` section; a config error (exit 78) when the section is unusable
/// or the login secrets are missing.
pub fn mailer(
    settings: &Settings,
    secrets: &Secrets,
    vault_root: &Path,
) -> Result<Option<SmtpMailer>> {
    let Some(smtp) = &settings.smtp else {
        return Ok(None);
    };
    let from_text = smtp
        .from
        .clone()
        .or_else(|| settings.owner.email.clone())
        .ok_or_else(|| {
            AieError::Config("smtp.from is not set in aie.yaml (the sender address)".into())
        })?;
    let from: Mailbox = from_text
        .parse()
        .map_err(|e| AieError::Config(format!("smtp.from `{from_text}` is not an address: {e}")))?;
    let credentials = if smtp.auth {
        let v = secrets.require("smtp", SECRETS)?;
        Some(Credentials::new(v[0].clone(), v[1].clone()))
    } else {
        None
    };
    Ok(Some(SmtpMailer::new(smtp, from, credentials, vault_root)?))
}

impl Mailer for SmtpMailer {
    fn send(&mut self, mail: &OutgoingMail) -> ActionOutcome {
        let domain = self.from.email.domain().to_string();
        let mid = message_id(&mail.key, &domain);
        let built = match build(&self.from, mail, &mid) {
            Ok(m) => m,
            Err(e) => return ActionOutcome::Failed(format!("{e:#}")),
        };
        let envelope = built.envelope().clone();
        let bytes = built.formatted();
        self.transmit(&envelope, &bytes, &mid)
    }
}

/// The `send_email` executor: the action, read once into its typed parameters (as the
/// policy read it), becomes a mail, sent through the [`Mailer`].
impl ActionExecutor for SmtpMailer {
    fn execute(&mut self, item: &Item, action: &Map<String, Value>, key: &str) -> ActionOutcome {
        let p = match SendEmail::parse(action) {
            Ok(p) => p,
            Err(e) => return ActionOutcome::Failed(format!("{e:#}: nothing was sent")),
        };
        match compose(item, &p, key, &self.vault_root) {
            Ok(mail) => Mailer::send(self, &mail),
            Err(e) => ActionOutcome::Failed(format!("{e:#}")),
        }
    }
}
