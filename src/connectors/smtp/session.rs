//! The SMTP dialogue of a pass: one connection, opened (secured, logged in) at the first
//! send and reused; each message sent step by step (MAIL, RCPT, DATA, content) so that its
//! outcome is exact.

use super::SmtpMailer;
use crate::config::SmtpSettings;
use crate::executor::ActionOutcome;
use crate::exit::AieError;
use anyhow::Result;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::path::Path;
use std::time::Duration;

use crate::config::SmtpSecurity as Security;

impl SmtpMailer {
    pub(super) fn new(
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
    pub(super) fn transmit(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparency_doubles_leading_dots_like_lettre() {
        assert_eq!(
            stuffed(b".a\r\n.b\r\nc.d\n.e"),
            b"..a\r\n..b\r\nc.d\n.e\r\n.\r\n"
        );
        assert_eq!(stuffed(b""), b"\r\n.\r\n");
    }
}
