//! One WhatsApp webhook delivery becomes items (`aie ingest whatsapp`): the HTTP request as
//! it came through the socket (request line, headers, raw body), the subscription handshake
//! (`hub.mode=subscribe`, `hub.verify_token` = `whatsapp.verify_token`, echo `hub.challenge`),
//! the `X-Hub-Signature-256` check (HMAC-SHA256 of the raw body with
//! `AIE_WHATSAPP_APP_SECRET`, compared in constant time) before anything is read, and one
//! item per message id in `Needs_Action/<domain>/` (`kind: whatsapp`, `source:
//! whatsapp:<message id>`, the sender's number and name, the message's own time, media by
//! reference), never twice. A status-only delivery makes nothing. Returns the HTTP answer;
//! a bad signature is a 401 and nothing is written.

use crate::context::Ctx;
use crate::outcome::Outcome;
use crate::vault::Item;
use anyhow::Result;
use hmac::{Hmac, Mac};
use serde_json::Value;

/// The largest request read (Meta's deliveries are small).
pub const MAX_REQUEST: usize = 3 * 1024 * 1024;

/// A request as it came in.
#[derive(Debug, Default)]
pub struct WebRequest {
    pub method: String,
    pub target: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request from a connection: up to the end of the headers and then
/// `Content-Length` bytes of body, never waiting for the client to close its side (a
/// proxy keeps the connection open for the answer); without `Content-Length`, up to the end
/// of input. At most [`MAX_REQUEST`] bytes.
pub fn read_request(r: &mut impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::with_capacity(8192);
    let mut buf = [0u8; 16 * 1024];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let len = head.lines().find_map(|l| {
                l.strip_prefix("content-length:")
                    .and_then(|v| v.trim().parse::<usize>().ok())
            });
            let method_has_no_body = head.starts_with("get ") || head.starts_with("head ");
            match len {
                Some(n) if raw.len() >= end + 4 + n => return Ok(raw),
                None if method_has_no_body => return Ok(raw),
                _ => {}
            }
        }
        if raw.len() >= MAX_REQUEST {
            return Ok(raw);
        }
        let want = buf.len().min(MAX_REQUEST - raw.len());
        let n = match r.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(raw);
        }
        raw.extend_from_slice(&buf[..n]);
    }
}

/// Parses one HTTP/1.1 request (the body by `Content-Length`, else what follows).
pub fn parse_request(raw: &[u8]) -> Result<WebRequest> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))
        .ok_or_else(|| anyhow::anyhow!("the request has no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split.0]);
    let mut lines = head.lines();
    let first = lines.next().unwrap_or("");
    let mut parts = first.split_whitespace();
    let (method, target) = match (parts.next(), parts.next()) {
        (Some(m), Some(t)) => (m.to_string(), t.to_string()),
        _ => anyhow::bail!("`{first}` is not a request line"),
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split.0 + split.1..].to_vec();
    if let Some(n) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        anyhow::ensure!(
            body.len() >= n,
            "the body is shorter than its Content-Length"
        );
        body.truncate(n);
    }
    Ok(WebRequest {
        method,
        target,
        headers,
        body,
    })
}

/// An HTTP answer.
pub fn response(status: u16, body: &str) -> String {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`.
pub fn signature_ok(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(bytes) = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}

/// Answers one delivery: `signed` is false for a bare payload the owner gave by hand.
pub fn handle(
    ctx: &Ctx,
    req: &WebRequest,
    signed: bool,
    out: &mut Outcome,
) -> Result<(u16, String)> {
    let Some(wa) = &ctx.settings.whatsapp else {
        log::error!("whatsapp is not set up in aie.yaml: the delivery was refused");
        return Ok((503, "not set up".into()));
    };
    if req.method == "GET" {
        let q = |k: &str| crate::connectors::oauth::query_param(&req.target, k);
        let expected = wa.verify_token.as_deref().unwrap_or("");
        return Ok(
            if q("hub.mode").as_deref() == Some("subscribe")
                && !expected.is_empty()
                && q("hub.verify_token").as_deref() == Some(expected)
            {
                out.count("handshake", 1);
                let challenge = q("hub.challenge").unwrap_or_default();
                if !challenge
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Ok((400, "bad challenge".into()));
                }
                (200, challenge)
            } else {
                log::warn!(
                    "whatsapp: a subscription handshake with a wrong verify token was refused"
                );
                (403, "forbidden".into())
            },
        );
    }
    if req.method != "POST" {
        return Ok((405, "method not allowed".into()));
    }
    if signed {
        let Some(secret) = ctx.secrets.get(crate::connectors::whatsapp::APP_SECRET) else {
            log::error!(
                "whatsapp: AIE_WHATSAPP_APP_SECRET is not set: the delivery cannot be checked and was refused"
            );
            return Ok((503, "not configured".into()));
        };
        let sig = req.header("x-hub-signature-256").unwrap_or("");
        if !signature_ok(secret, &req.body, sig) {
            log::warn!(
                "whatsapp: a delivery with a bad X-Hub-Signature-256 was refused (nothing written)"
            );
            out.problem(
                "whatsapp:signature",
                "a webhook delivery with a bad signature was refused",
            );
            return Ok((401, "bad signature".into()));
        }
    }
    let payload: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => {
            out.problem("whatsapp:payload", format!("the delivery is not JSON: {e}"));
            return Ok((400, "not json".into()));
        }
    };
    for value in payload["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
        .filter(|c| c["field"] == "messages")
        .map(|c| &c["value"])
    {
        for m in value["messages"].as_array().into_iter().flatten() {
            ingest_message(ctx, value, m, out)?;
        }
    }
    ctx.audit.sync()?;
    Ok((200, "EVENT_RECEIVED".into()))
}

/// Whether a WhatsApp message id is safe to keep and name (`wamid.` + base64).
fn valid_message_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-=+/".contains(&b))
}

/// The item of one message, written once.
fn ingest_message(ctx: &Ctx, value: &Value, m: &Value, out: &mut Outcome) -> Result<()> {
    let msg_id = m["id"].as_str().unwrap_or("");
    if !valid_message_id(msg_id) {
        out.problem(
            "whatsapp:message",
            "a message without a usable id was skipped",
        );
        return Ok(());
    }
    let id = crate::vault::item::make_id("whatsapp", &[msg_id.as_bytes()]);
    if ctx.vault.locate(&id).is_some() {
        out.count("already_ingested", 1);
        return Ok(());
    }
    let from: String = m["from"]
        .as_str()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let name = value["contacts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["wa_id"].as_str() == m["from"].as_str())
        .and_then(|c| c["profile"]["name"].as_str())
        .unwrap_or("")
        .to_string();
    let sent = m["timestamp"]
        .as_str()
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| ctx.clock.format(t));
    let kind = m["type"].as_str().unwrap_or("unknown");
    let media = &m[kind];
    let text = match kind {
        "text" => m["text"]["body"].as_str().unwrap_or("").to_string(),
        _ => media["caption"].as_str().unwrap_or("").to_string(),
    };
    let (domain, priority) = crate::passes::intake::route(&ctx.settings.routing, &text);
    let mut item = Item::new(
        &id,
        "whatsapp",
        &domain,
        &format!("whatsapp:{msg_id}"),
        &ctx.clock.stamp(),
    );
    let who = if name.is_empty() {
        format!("+{from}")
    } else {
        name.clone()
    };
    item.set("priority", priority);
    item.set("title", format!("WhatsApp from {who}"));
    item.set("from", format!("+{from}"));
    if !name.is_empty() {
        item.set("from_name", name.as_str());
    }
    if let Some(s) = &sent {
        item.set("sent", s.as_str());
    }
    item.set("message_type", kind);
    if kind != "text"
        && let Some(mid) = media["id"].as_str()
    {
        item.set("media_id", mid);
        if let Some(mt) = media["mime_type"].as_str() {
            item.set("media_mime_type", mt);
        }
    }
    item.body = format!(
        "# WhatsApp from {who}\n\n{}\n",
        if text.is_empty() {
            format!("({kind} message)")
        } else {
            text
        }
    );
    crate::passes::file_new_item(
        ctx,
        out,
        &item,
        serde_json::json!({"domain": domain, "type": kind}),
        format!("[[{id}]] WhatsApp from {who}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection whose client waits for the answer: reading past what was sent fails
    /// the test instead of blocking.
    struct OpenConnection(std::io::Cursor<Vec<u8>>);

    impl std::io::Read for OpenConnection {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read(b)?;
            assert!(
                n > 0,
                "read past the request: the client is waiting, this would block"
            );
            Ok(n)
        }
    }

    #[test]
    fn a_request_is_read_to_its_content_length_without_waiting_for_the_client_to_close() {
        let req = b"POST /w HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello".to_vec();
        let got = read_request(&mut OpenConnection(std::io::Cursor::new(req.clone()))).unwrap();
        assert_eq!(got, req);
        let get = b"GET /w?hub.mode=subscribe HTTP/1.1\r\nHost: h\r\n\r\n".to_vec();
        let got = read_request(&mut OpenConnection(std::io::Cursor::new(get.clone()))).unwrap();
        assert_eq!(got, get);
        // Without a length the body is what comes until the end of input.
        let bare = b"POST /w HTTP/1.1\r\n\r\n{}".to_vec();
        assert_eq!(
            read_request(&mut std::io::Cursor::new(bare.clone())).unwrap(),
            bare
        );
    }

    #[test]
    fn requests_parse_and_signatures_verify_on_the_raw_body() {
        let raw = b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-Hub-Signature-256: sha256=00\r\n\r\n{}extra";
        let r = parse_request(raw).unwrap();
        assert_eq!(
            (r.method.as_str(), r.target.as_str(), r.body.as_slice()),
            ("POST", "/hook", &b"{}"[..])
        );
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") (RFC 4231 style vector).
        let sig = "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
        assert!(signature_ok(
            "key",
            b"The quick brown fox jumps over the lazy dog",
            sig
        ));
        assert!(!signature_ok(
            "key",
            b"The quick brown fox jumps over the lazy cog",
            sig
        ));
        assert!(!signature_ok("key", b"x", "sha1=00"));
        assert!(parse_request(b"garbage").is_err());
    }
}
