//! Decoding of mail as Gmail hands it over: base64url (with or without `=` padding) around
//! an RFC 822 message, parsed with mail-parser (multipart, charsets, transfer encodings).
//! The text body prefers text/plain; an HTML-only message is turned into readable text.
//! Pure functions: no files, no network.

use crate::policy::is_plain_address;
use anyhow::{Result, bail};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

/// Base64url that accepts input with or without padding.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes Gmail's base64url (`raw`, `body.data`, attachment `data`), padded or not. Also
/// takes the standard alphabet, which some proxies hand back.
pub fn decode_base64url(s: &str) -> Result<Vec<u8>> {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    match URL_SAFE_LENIENT.decode(cleaned.as_bytes()) {
        Ok(b) => Ok(b),
        Err(e) => bail!("invalid base64url data: {e}"),
    }
}

/// An attachment found in a message.
#[derive(Debug, Clone)]
pub struct MailAttachment {
    /// The name the sender gave (not yet made safe).
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What aie keeps of a message.
#[derive(Debug, Clone, Default)]
pub struct MailMessage {
    pub from: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: Option<String>,
    /// RFC 3339.
    pub date: Option<String>,
    /// `<id>` form.
    pub message_id: Option<String>,
    pub references: Vec<String>,
    pub in_reply_to: Vec<String>,
    pub text: String,
    pub attachments: Vec<MailAttachment>,
    /// The bare address (lowercased) of the only From mailbox, when it is well formed.
    pub sender: Option<String>,
    /// The value of the topmost `Authentication-Results` header of the message itself
    /// (never of a message attached to it, never text of its body).
    pub auth_results: Option<String>,
}

fn addr_list(a: Option<&mail_parser::Address>) -> Vec<String> {
    let Some(a) = a else { return Vec::new() };
    a.iter()
        .filter_map(|x| {
            let addr = x.address()?;
            Some(match x.name() {
                Some(n) if !n.trim().is_empty() => format!("{} <{addr}>", n.trim()),
                _ => addr.to_string(),
            })
        })
        .collect()
}

fn ids(v: &HeaderValue) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![format!("<{t}>")],
        HeaderValue::TextList(l) => l.iter().map(|t| format!("<{t}>")).collect(),
        _ => Vec::new(),
    }
}

/// Parses an RFC 822 message. Lenient like mail clients: broken MIME still gives what can
/// be read; only an empty message is an error.
pub fn parse_message(bytes: &[u8]) -> Result<MailMessage> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        bail!("the message is empty");
    }
    let Some(msg) = MessageParser::default().parse(bytes) else {
        bail!("the message cannot be parsed as RFC 822");
    };
    let text = match msg.body_text(0) {
        Some(t) => t.to_string(),
        None => msg
            .body_html(0)
            .map(|h| mail_parser::decoders::html::html_to_text(&h))
            .unwrap_or_default(),
    };
    let mut attachments = Vec::new();
    let mut named = false;
    for (n, part) in msg.attachments().enumerate() {
        named |= part.attachment_name().is_some();
        let name = part
            .attachment_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("attachment-{}", n + 1));
        let bytes = match part.message() {
            Some(inner) => inner.raw_message().to_vec(),
            None => part.contents().to_vec(),
        };
        attachments.push(MailAttachment { name, bytes });
    }
    let text = if text.trim().is_empty() && !named {
        broken_body(bytes).unwrap_or(text)
    } else {
        text
    };
    let froms: Vec<&str> = msg
        .from()
        .map(|a| a.iter().filter_map(|x| x.address()).collect())
        .unwrap_or_default();
    let sender = match froms.as_slice() {
        [one] => Some(one.trim().to_ascii_lowercase()).filter(|a| is_plain_address(a)),
        _ => None,
    };
    let auth_results = msg
        .headers_raw()
        .find(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
        .map(|(_, value)| value.to_string());
    Ok(MailMessage {
        sender,
        auth_results,
        from: addr_list(msg.from()).into_iter().next(),
        to: addr_list(msg.to()),
        cc: addr_list(msg.cc()),
        subject: msg.subject().map(one_line),
        date: msg.date().map(|d| d.to_rfc3339()),
        message_id: msg.message_id().map(|m| format!("<{m}>")),
        references: ids(msg.references()),
        in_reply_to: ids(msg.in_reply_to()),
        text: tidy(&text),
        attachments,
    })
}

/// The body of a message whose MIME structure gave no text: shown as received, when it is
/// text at all.
fn broken_body(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let at = text
        .find("\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| text.find("\n\n").map(|i| i + 2))?;
    let body = &text[at..];
    if body.trim().is_empty() || body.contains('\0') {
        return None;
    }
    let body: String = body.chars().take(64 * 1024).collect();
    Some(format!(
        "[aie: the MIME structure of this message is broken; its body is shown as received]\n\n{body}"
    ))
}

/// Normalises line ends and trims runs of blank lines (HTML conversion leaves many).
fn tidy(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let mut out = String::with_capacity(text.len());
    let mut blanks = 0;
    for line in text.lines() {
        let l = line.trim_end();
        if l.is_empty() {
            blanks += 1;
            if blanks > 1 {
                continue;
            }
        } else {
            blanks = 0;
        }
        out.push_str(l);
        out.push('\n');
    }
    out.trim().to_string()
}

/// A header as one line: a subject cannot hold line breaks or control characters after
/// unfolding, so any that an encoded word smuggled in become single spaces (they would
/// otherwise write raw Markdown lines into the item's heading and front matter).
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> serde_json::Value {
        let p = format!("{}/tests/fixtures/gmail/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn raw_fixture_decodes_padded_and_prefers_plain_text() {
        let v = fixture("message_raw.json");
        let raw = decode_base64url(v["raw"].as_str().unwrap()).unwrap();
        let m = parse_message(&raw).unwrap();
        assert_eq!(m.subject.as_deref(), Some("Quote Q-2024-031 for Widget A"));
        assert_eq!(
            m.from.as_deref(),
            Some("Marie Dupont <marie.dupont@supplier.example>")
        );
        assert_eq!(
            m.message_id.as_deref(),
            Some("<CAFx8Qw1fixture0001@mail.gmail.com>")
        );
        assert!(
            m.text.starts_with("Hello,\n\nPlease find our quote"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("<p>"));
    }

    #[test]
    fn unpadded_attachment_data_decodes_to_its_size() {
        let v = fixture("attachment_get.json");
        let b = decode_base64url(v["data"].as_str().unwrap()).unwrap();
        assert_eq!(b.len() as u64, v["size"].as_u64().unwrap());
        assert!(b.starts_with(b"%PDF"));
        assert!(decode_base64url("not base64 !!").is_err());
    }

    #[test]
    fn html_only_becomes_text_and_charsets_are_decoded() {
        let raw = b"From: a@b.c\r\nSubject: =?ISO-8859-1?Q?Caf=E9?=\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n<html><body><p>Bonjour caf\xe9</p><p>Second&nbsp;line &amp; more</p></body></html>\r\n";
        let m = parse_message(raw).unwrap();
        assert_eq!(m.subject.as_deref(), Some("Café"));
        assert!(m.text.contains("Bonjour café"), "{}", m.text);
        assert!(m.text.contains("Second"), "{}", m.text);
        assert!(!m.text.contains('<'), "{}", m.text);
    }

    /// Regression (issue 8, finding 12): an RFC 2047 subject that decodes to line breaks
    /// wrote raw Markdown lines into the item.
    #[test]
    fn an_encoded_subject_with_line_breaks_becomes_one_line() {
        let raw = b"From: a@x.example\r\nSubject: =?utf-8?q?Hi=0A#_Injected=0D=0A<!--_x?=\r\n\r\nbody\r\n";
        let m = parse_message(raw).unwrap();
        assert_eq!(m.subject.as_deref(), Some("Hi # Injected <!-- x"));
    }

    #[test]
    fn broken_multipart_still_gives_its_text() {
        let m = parse_message(b"From: x@y.example\r\nSubject: broken\r\nContent-Type: multipart/mixed\r\n\r\n--\r\nContent-Type: text/plain\r\n\r\nstill readable text\r\n").unwrap();
        assert!(m.text.contains("still readable text"), "{}", m.text);
        assert!(parse_message(b"  \r\n").is_err());
    }

    #[test]
    fn attachments_and_threading_headers() {
        let raw = b"From: a@b.c\r\nMessage-ID: <m2@b.c>\r\nIn-Reply-To: <m1@b.c>\r\nReferences: <m0@b.c> <m1@b.c>\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\nSee attached\r\n--X\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--X--\r\n";
        let m = parse_message(raw).unwrap();
        assert_eq!(m.references, ["<m0@b.c>", "<m1@b.c>"]);
        assert_eq!(m.in_reply_to, ["<m1@b.c>"]);
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].name, "../../etc/passwd");
        assert_eq!(m.attachments[0].bytes, b"%PDF");
    }
}
