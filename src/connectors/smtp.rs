//! The `send_email` executor over SMTP (lettre, rustls). One connection per pass, opened on
//! the first send and reused for every message. The SMTP dialogue is driven step by step
//! (MAIL, RCPT, DATA, content) so the outcome is exact: a refusal or a broken connection
//! before the content went out is safe to retry next pass; a broken connection after the
//! content went out is an unknown outcome, never retried blindly; a 5xx reply is a failure
//! the owner must see. The Message-ID is derived from the action's idempotency key, and a
//! reply threads through In-Reply-To and References. The SMTP connector is the [`Mailer`]:
//! the `send_email` executor and the owner's alerts both send through it.

use super::capabilities::{Connector, Mailer, OutgoingMail, SecretNeed, required};
use crate::config::{Settings, SmtpSettings};
use crate::executor::{ActionExecutor, ActionOutcome};
use crate::exit::AieError;
use crate::secrets::Secrets;
use crate::vault::Item;
use anyhow::{Context, Result};
use lettre::message::header::{ContentType, MessageId};
use lettre::message::{Attachment, Mailbox, Message, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
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
pub const CONNECTOR: Connector = Connector {
    name: "smtp",
    section: "smtp",
    secrets: SECRETS,
    needs,
    check: Some(check),
};

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

impl SmtpMailer {
    fn new(
        smtp: &SmtpSettings,
        from: Mailbox,
        credentials: Option<Credentials>,
        vault_root: &Path,
    ) -> Result<SmtpMailer> {
        let security = smtp.security;
        let port = smtp.port.unwrap_or(match security {
            Security::Tls => 465,
            _ => 587,
        });
        let tls = match security {
            Security::None => None,
            _ => {
                let mut b = TlsParameters::builder(smtp.host.clone());
                if let Some(ca) = &smtp.ca_file {
                    let path = vault_root.join(ca);
                    let pem = std::fs::read(&path).map_err(|e| {
                        AieError::Config(format!(
                            "cannot read smtp.ca_file `{}`: {e}",
                            path.display()
                        ))
                    })?;
                    let cert = Certificate::from_pem(&pem).map_err(|e| {
                        AieError::Config(format!("smtp.ca_file `{}`: {e}", path.display()))
                    })?;
                    b = b.add_root_certificate(cert);
                }
                Some(b.build_rustls().map_err(|e| {
                    AieError::Config(format!("cannot set up TLS for `{}`: {e}", smtp.host))
                })?)
            }
        };
        Ok(SmtpMailer {
            host: smtp.host.clone(),
            port,
            security,
            tls,
            credentials,
            from,
            timeout: Duration::from_secs(smtp.timeout_seconds.max(1)),
            vault_root: vault_root.to_path_buf(),
            conn: None,
            broken: None,
            unreachable: false,
        })
    }

    /// Connects, secures and logs in, then says goodbye: what `health-check` asks of the
    /// mail server (nothing is sent). Errors say what failed.
    pub fn login_check(&mut self) -> std::result::Result<(), String> {
        let mut conn = self.connect()?;
        let _ = conn.quit();
        Ok(())
    }

    /// Opens, secures and logs in the connection of this pass.
    fn connect(&mut self) -> std::result::Result<SmtpConnection, String> {
        let hello = ClientId::default();
        let implicit = match self.security {
            Security::Tls => self.tls.as_ref(),
            _ => None,
        };
        let started = std::time::Instant::now();
        let mut conn = SmtpConnection::connect(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &hello,
            implicit,
            None,
        )
        .map_err(|e| {
            self.unreachable = true;
            format!("cannot connect to {}:{}: {e}", self.host, self.port)
        })?;
        if self.security == Security::StartTls {
            let tls = self
                .tls
                .as_ref()
                .expect("invariant: starttls has parameters");
            if !conn.can_starttls() {
                conn.abort();
                return Err(format!(
                    "{}:{} does not offer STARTTLS (smtp.security is starttls)",
                    self.host, self.port
                ));
            }
            conn.starttls(tls, &hello)
                .map_err(|e| format!("STARTTLS with {}:{} failed: {e}", self.host, self.port))?;
        }
        if let Some(creds) = &self.credentials
            && let Err(e) = conn.auth(&[Mechanism::Plain, Mechanism::Login], creds)
        {
            conn.abort();
            return Err(if e.status().is_some_and(|c| c.to_string() == "535") {
                format!(
                    "wrong SMTP password: {}:{} refused the login of AIE_SMTP_USERNAME ({}); fix AIE_SMTP_USERNAME / AIE_SMTP_PASSWORD",
                    self.host,
                    self.port,
                    reply_text(&e)
                )
            } else {
                format!(
                    "SMTP login at {}:{} failed: {}",
                    self.host,
                    self.port,
                    reply_text(&e)
                )
            });
        }
        log::debug!(
            "smtp connect {}:{} ({:?}) {} ms",
            self.host,
            self.port,
            self.security,
            started.elapsed().as_millis()
        );
        Ok(conn)
    }

    /// Sends one built message over the pass's connection, step by step.
    fn transmit(
        &mut self,
        envelope: &lettre::address::Envelope,
        bytes: &[u8],
        id: &str,
    ) -> ActionOutcome {
        if let Some(why) = &self.broken {
            return if self.unreachable {
                ActionOutcome::Unreachable(why.clone())
            } else {
                ActionOutcome::Retry(why.clone())
            };
        }
        // A held connection the server closed meanwhile (idle timeout) is replaced.
        if self
            .conn
            .as_mut()
            .is_some_and(|c| c.has_broken() || !c.test_connected())
        {
            self.conn = None;
        }
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => match self.connect() {
                Ok(c) => c,
                Err(why) => {
                    self.broken = Some(why.clone());
                    return if self.unreachable {
                        ActionOutcome::Unreachable(why)
                    } else {
                        ActionOutcome::Retry(why)
                    };
                }
            },
        };
        let started = std::time::Instant::now();
        let outcome = transaction(&mut conn, envelope, bytes, id);
        log::debug!(
            "smtp send {id} to {} recipient(s), {} bytes: {} in {} ms",
            envelope.to().len(),
            bytes.len(),
            match &outcome {
                ActionOutcome::Ok(_) => "ok",
                ActionOutcome::Retry(_) => "retry",
                ActionOutcome::Unreachable(_) => "unreachable",
                ActionOutcome::Failed(_) => "failed",
                ActionOutcome::Unknown(_) => "unknown",
            },
            started.elapsed().as_millis()
        );
        if !conn.has_broken() {
            self.conn = Some(conn);
        }
        outcome
    }
}

impl Drop for SmtpMailer {
    fn drop(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = c.quit();
        }
    }
}

/// One SMTP transaction. Before the content is written, any failure is a refusal (Retry
/// for 4xx and broken connections, Failed for 5xx); after, only a reply decides, and no
/// reply at all is Unknown.
fn transaction(
    conn: &mut SmtpConnection,
    envelope: &lettre::address::Envelope,
    bytes: &[u8],
    id: &str,
) -> ActionOutcome {
    let refused = |conn: &mut SmtpConnection, step: &str, e: lettre::transport::smtp::Error| {
        let text = format!("the server refused {step}: {}", reply_text(&e));
        if e.is_permanent() || e.is_transient() {
            // A negative reply: the connection is fine, clear the transaction.
            if conn.command(Rset).is_err() {
                conn.abort();
            }
        } else {
            conn.abort();
        }
        if e.is_permanent() {
            ActionOutcome::Failed(text)
        } else {
            ActionOutcome::Retry(text)
        }
    };
    let mut params = Vec::new();
    if !bytes.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    if let Err(e) = conn.command(Mail::new(envelope.from().cloned(), params)) {
        return refused(conn, "MAIL FROM", e);
    }
    for rcpt in envelope.to() {
        if let Err(e) = conn.command(Rcpt::new(rcpt.clone(), vec![])) {
            return refused(conn, &format!("RCPT TO <{rcpt}>"), e);
        }
    }
    if let Err(e) = conn.command(Data) {
        return refused(conn, "DATA", e);
    }
    crate::fsutil::failpoint("smtp:before-content");
    // The content and its terminator go out in one write: lettre's `message` writes them
    // separately, and Nagle's algorithm then holds the terminator for the server's delayed
    // ACK (about 40 ms a message). `command` writes its text in one piece.
    let sent = match String::from_utf8(stuffed(bytes)) {
        Ok(text) => conn.command(Content(text)),
        Err(_) => conn.message(bytes),
    };
    match sent {
        Ok(resp) => ActionOutcome::Ok(format!(
            "sent as {id}: {} {}",
            resp.code(),
            resp.message().collect::<Vec<_>>().join(" ")
        )),
        Err(e) if e.is_permanent() => ActionOutcome::Failed(format!(
            "the server rejected the message: {}",
            reply_text(&e)
        )),
        Err(e) if e.is_transient() => {
            // A 4xx reply to the content: the server says it did not take the message.
            if conn.command(Rset).is_err() {
                conn.abort();
            }
            ActionOutcome::Retry(format!(
                "the server deferred the message: {}",
                reply_text(&e)
            ))
        }
        Err(e) => {
            conn.abort();
            ActionOutcome::Unknown(format!(
                "the connection broke after the message was sent, before the server confirmed it ({e})"
            ))
        }
    }
}

/// The DATA content with SMTP transparency (a `.` starting a line is doubled) and the
/// end-of-data line: the same bytes lettre's codec sends.
fn stuffed(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 64 + 5);
    let mut line_start = true;
    let mut after_cr = false;
    for &b in bytes {
        if b == b'.' && line_start {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n' && after_cr;
        after_cr = b == b'\r';
    }
    out.extend_from_slice(b"\r\n.\r\n");
    out
}

/// Message content sent as one "command" (one write).
struct Content(String);

impl std::fmt::Display for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The server's reply as it was sent (`550 5.1.1 user unknown`), or the error.
fn reply_text(e: &lettre::transport::smtp::Error) -> String {
    match (e.status(), std::error::Error::source(e)) {
        (Some(code), Some(msg)) => format!("{code} {msg}"),
        _ => e.to_string(),
    }
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

/// The `send_email` executor: the action becomes a mail, sent through the [`Mailer`].
impl ActionExecutor for SmtpMailer {
    fn execute(&mut self, item: &Item, action: &Map<String, Value>, key: &str) -> ActionOutcome {
        match outgoing(item, action, key, &self.vault_root) {
            Ok(mail) => Mailer::send(self, &mail),
            Err(e) => ActionOutcome::Failed(format!("{e:#}")),
        }
    }
}

/// The Message-ID of an action: stable across retries, so a resend is recognisable.
pub fn message_id(key: &str, domain: &str) -> String {
    let domain = if domain.is_empty() {
        "aie.local"
    } else {
        domain
    };
    format!("<aie.{key}@{domain}>")
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::trim).map(str::to_string))
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn mailboxes(action: &Map<String, Value>, key: &str) -> Result<Vec<Mailbox>> {
    strings(action.get(key))
        .iter()
        .map(|a| {
            a.parse::<Mailbox>()
                .with_context(|| format!("`{key}` address `{a}` is not valid"))
        })
        .collect()
}

/// Message ids in `<...>` form from a header-ish value (a string or a list).
fn msg_ids(v: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    for s in strings(v) {
        for part in s.split_whitespace() {
            let p = part.trim_matches(',');
            if p.is_empty() {
                continue;
            }
            let id = if p.starts_with('<') {
                p.to_string()
            } else {
                format!("<{p}>")
            };
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// Builds the message an action sends (see [`outgoing`] and [`build`]).
pub fn build_message(
    from: &Mailbox,
    item: &Item,
    action: &Map<String, Value>,
    message_id: &str,
    vault_root: &Path,
) -> Result<Message> {
    build(from, &outgoing(item, action, "", vault_root)?, message_id)
}

/// The mail a `send_email` action sends: recipients (each a valid address), threading from
/// the item, body, attachments from the item's `Attachments/` folder. Errors name what is
/// wrong (a bad address, a missing file).
pub fn outgoing(
    item: &Item,
    action: &Map<String, Value>,
    key: &str,
    vault_root: &Path,
) -> Result<OutgoingMail> {
    let addresses = |k: &str| -> Result<Vec<String>> {
        Ok(mailboxes(action, k)?
            .iter()
            .map(|m| m.to_string())
            .collect())
    };
    let (to, cc, bcc) = (addresses("to")?, addresses("cc")?, addresses("bcc")?);
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        anyhow::bail!("the email has no recipient (`to` is empty)");
    }
    let text = |k: &str| {
        action
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut mail = OutgoingMail {
        to,
        cc,
        bcc,
        subject: text("subject"),
        body: text("body"),
        key: key.to_string(),
        ..OutgoingMail::default()
    };
    let irt = msg_ids(action.get("in_reply_to"));
    if let Some(parent) = irt.first() {
        // References: the item's chain, then the message replied to.
        let mut refs = msg_ids(item.front.get("references"));
        if refs.is_empty() {
            refs = msg_ids(item.front.get("message_id"))
                .into_iter()
                .filter(|m| m != parent)
                .collect();
        }
        if !refs.contains(parent) {
            refs.push(parent.clone());
        }
        mail.in_reply_to = Some(parent.clone());
        mail.references = refs;
    }
    let names = strings(action.get("attachments"));
    if names.is_empty() {
        return Ok(mail);
    }
    // The id is checked again here, where it becomes a path, and nothing on the way to the
    // file may be a link: only a regular file inside `Attachments/<id>/` is ever sent.
    crate::vault::item::check_id(item.id())?;
    let dir = vault_root.join("Attachments").join(item.id());
    for name in names {
        let file = safe_component(&name);
        let path = dir.join(&file);
        crate::fsutil::check_no_symlink(vault_root, &path)
            .with_context(|| format!("attachment `{name}` of `{}` is refused", item.id()))?;
        let (bytes, _) = crate::fsutil::read_regular_nofollow(&path).with_context(|| {
            format!("attachment `{name}` is not in `Attachments/{}/`", item.id())
        })?;
        mail.attachments.push((file, bytes));
    }
    Ok(mail)
}

/// The message of a mail: headers (Bcc only in the envelope), threading, body, attachments.
pub fn build(from: &Mailbox, mail: &OutgoingMail, message_id: &str) -> Result<Message> {
    let parse = |a: &String| {
        a.parse::<Mailbox>()
            .with_context(|| format!("address `{a}` is not valid"))
    };
    if mail.to.is_empty() && mail.cc.is_empty() && mail.bcc.is_empty() {
        anyhow::bail!("the email has no recipient (`to` is empty)");
    }
    let mut b = Message::builder()
        .from(from.clone())
        .subject(mail.subject.as_str())
        .header(MessageId::from(message_id.to_string()));
    for m in &mail.to {
        b = b.to(parse(m)?);
    }
    for m in &mail.cc {
        b = b.cc(parse(m)?);
    }
    for m in &mail.bcc {
        b = b.bcc(parse(m)?);
    }
    if let Some(parent) = &mail.in_reply_to {
        b = b
            .in_reply_to(parent.clone())
            .references(mail.references.join(" "));
    }
    let text = SinglePart::plain(mail.body.clone());
    if mail.attachments.is_empty() {
        return b.singlepart(text).context("cannot build the email");
    }
    let mut mp = MultiPart::mixed().singlepart(text);
    for (file, bytes) in &mail.attachments {
        let ct = ContentType::parse(content_type_of(file)).unwrap_or(ContentType::TEXT_PLAIN);
        mp = mp.singlepart(Attachment::new(file.clone()).body(bytes.clone(), ct));
    }
    b.multipart(mp).context("cannot build the email")
}

/// Longest file name [`safe_component`] keeps, in characters and in bytes.
const NAME_MAX_CHARS: usize = 120;
const NAME_MAX_BYTES: usize = 200;

/// The final component of a name, without separators, leading dots, control characters or
/// the invisible characters that change how a name reads (a right-to-left override makes
/// `invoice\u{202E}fdp.exe` show as `invoiceexe.pdf`). A name too long is cut in its stem:
/// the extension stays.
pub fn safe_component(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_string();
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && !e.is_empty() && e.chars().count() <= 16 => {
            (s.to_string(), format!(".{e}"))
        }
        _ => (cleaned.clone(), String::new()),
    };
    let mut out = String::new();
    for c in stem.chars() {
        if out.chars().count() + 1 + ext.chars().count() > NAME_MAX_CHARS
            || out.len() + c.len_utf8() + ext.len() > NAME_MAX_BYTES
        {
            break;
        }
        out.push(c);
    }
    let out = format!("{}{ext}", out.trim_end());
    if out.is_empty() || out == ext {
        if ext.is_empty() {
            "attachment".into()
        } else {
            format!("attachment{ext}")
        }
    } else {
        out
    }
}

/// Unicode format characters that reorder or hide text: bidirectional overrides, embeddings
/// and isolates, zero-width characters, and the byte order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

/// A content type by extension, for attachments.
pub fn content_type_of(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "txt" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item() -> Item {
        let mut i = Item::new("gmail-abc", "email", "email", "gmail:abc", "t");
        i.set("message_id", "<orig@x.com>");
        i.set(
            "references",
            vec!["<first@x.com>".to_string(), "<orig@x.com>".to_string()],
        );
        i
    }

    // `id: ../../../etc` with `attachments: [passwd]` mailed `/etc/passwd`; a link inside
    // `Attachments/<id>/` mailed what it pointed to.
    #[test]
    fn attachments_come_only_from_regular_files_inside_the_item_folder() {
        let a = json!({"kind":"send_email","to":["bob@x.com"],"subject":"s","body":"b",
            "attachments":["passwd"]});
        let from: Mailbox = "Sam <sam@me.com>".parse().unwrap();
        let vault = tempfile::tempdir().unwrap();
        let root = vault.path().join("v");
        std::fs::create_dir_all(root.join("Attachments/a1")).unwrap();
        let evil = Item::new("../../../etc", "email", "email", "x", "t");
        let err =
            build_message(&from, &evil, a.as_object().unwrap(), "<m@me.com>", &root).unwrap_err();
        assert!(format!("{err:#}").contains("not a safe id"), "{err:#}");
        std::os::unix::fs::symlink("/etc/passwd", root.join("Attachments/a1/passwd")).unwrap();
        let linked = Item::new("a1", "email", "email", "x", "t");
        let err =
            build_message(&from, &linked, a.as_object().unwrap(), "<m@me.com>", &root).unwrap_err();
        assert!(format!("{err:#}").contains("symbolic link"), "{err:#}");
        std::fs::remove_file(root.join("Attachments/a1/passwd")).unwrap();
        std::fs::remove_dir(root.join("Attachments/a1")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("Attachments/a1")).unwrap();
        let err =
            build_message(&from, &linked, a.as_object().unwrap(), "<m@me.com>", &root).unwrap_err();
        assert!(
            format!("{err:#}").contains("`Attachments/a1` is a symbolic link"),
            "{err:#}"
        );
    }

    #[test]
    fn reply_threads_and_bcc_stays_off_the_headers() {
        let a = json!({"kind":"send_email","to":["Bob <bob@x.com>"],"bcc":["audit@me.com"],
            "subject":"Re: Hi","body":"Thanks, é","in_reply_to":"<orig@x.com>"});
        let from: Mailbox = "Sam <sam@me.com>".parse().unwrap();
        let m = build_message(
            &from,
            &item(),
            a.as_object().unwrap(),
            "<aie.k1@me.com>",
            Path::new("/nonexistent"),
        )
        .unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(text.contains("Message-ID: <aie.k1@me.com>"), "{text}");
        assert!(text.contains("In-Reply-To: <orig@x.com>"), "{text}");
        assert!(
            text.contains("References: <first@x.com> <orig@x.com>"),
            "{text}"
        );
        assert!(!text.to_lowercase().contains("bcc"), "{text}");
        let rcpts: Vec<String> = m.envelope().to().iter().map(|a| a.to_string()).collect();
        assert_eq!(rcpts, ["bob@x.com", "audit@me.com"]);
    }

    #[test]
    fn missing_attachment_and_no_recipient_are_errors() {
        let from: Mailbox = "sam@me.com".parse().unwrap();
        let a = json!({"kind":"send_email","to":[],"subject":"s","body":"b"});
        assert!(
            build_message(
                &from,
                &item(),
                a.as_object().unwrap(),
                "<m@x>",
                Path::new("/n")
            )
            .is_err()
        );
        let a = json!({"kind":"send_email","to":["a@b.c"],"subject":"s","body":"b","attachments":["x.pdf"]});
        let e = build_message(
            &from,
            &item(),
            a.as_object().unwrap(),
            "<m@x>",
            Path::new("/n"),
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("x.pdf"));
    }

    #[test]
    fn transparency_doubles_leading_dots_like_lettre() {
        assert_eq!(
            stuffed(b".a\r\n.b\r\nc.d\n.e"),
            b"..a\r\n..b\r\nc.d\n.e\r\n.\r\n"
        );
        assert_eq!(stuffed(b""), b"\r\n.\r\n");
    }

    #[test]
    fn safe_names() {
        assert_eq!(safe_component("../../etc/passwd"), "passwd");
        assert_eq!(safe_component("..\\..\\win.ini"), "win.ini");
        assert_eq!(safe_component(".."), "attachment");
        assert_eq!(safe_component(".hidden"), "hidden");
        // Finding 14: a right-to-left override stayed in the name, and the 120-character cut
        // dropped the extension.
        assert_eq!(safe_component("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(safe_component("a\u{200B}b\u{2066}c.pdf"), "abc.pdf");
        let long = format!("{}.pdf", "x".repeat(300));
        let cut = safe_component(&long);
        assert!(cut.ends_with(".pdf") && cut.chars().count() == 120, "{cut}");
        let wide = format!("{}.docx", "é".repeat(150));
        let cut = safe_component(&wide);
        assert!(cut.ends_with(".docx") && cut.len() <= 200, "{cut}");
        assert_eq!(message_id("k", ""), "<aie.k@aie.local>");
    }
}
