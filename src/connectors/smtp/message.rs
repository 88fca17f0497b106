//! The message of a `send_email` action: its recipients, threading headers, Message-ID
//! (derived from the action's key) and attachments (regular files inside the item's folder).
//! The action is read only through its typed parameters ([`send_email::Params`], lists
//! through [`items`]), as the policy that approved it read them; the item's own front
//! matter (`references`, `message_id`) is item data, read here as it is.

use super::names::{content_type_of, safe_component};
use crate::actions::{Action, Kind, Texts, items, send_email};
use crate::connectors::capabilities::OutgoingMail;
use crate::vault::Item;
use anyhow::{Context, Result};
use lettre::message::header::{ContentType, MessageId};
use lettre::message::{Attachment, Mailbox, Message, MultiPart, SinglePart};
use serde_json::Value;
use std::path::Path;

/// The Message-ID of an action: stable across retries, so a resend is recognisable.
pub fn message_id(key: &str, domain: &str) -> String {
    let domain = if domain.is_empty() {
        "aie.local"
    } else {
        domain
    };
    format!("<aie.{key}@{domain}>")
}

/// The texts of an item's front-matter field (a list, or one comma-separated text).
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

/// The addresses of the recipient parameter `key` (`to`, `cc`, `bcc`), each a mailbox.
fn mailboxes(list: &Option<Texts>, key: &str) -> Result<Vec<Mailbox>> {
    items(list)
        .iter()
        .map(|a| {
            a.parse::<Mailbox>()
                .with_context(|| format!("`{key}` address `{a}` is not valid"))
        })
        .collect()
}

/// Message ids in `<...>` form from header-ish texts (ids apart by spaces or commas).
fn msg_ids<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    for s in texts {
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

/// Builds the message a `send_email` action's parameters send (see [`compose`] and
/// [`build`]).
pub fn build_message(
    from: &Mailbox,
    item: &Item,
    mail: &send_email::Params,
    message_id: &str,
    vault_root: &Path,
) -> Result<Message> {
    build(from, &compose(item, mail, "", vault_root)?, message_id)
}

/// The mail of a `send_email` action as written in an item: its parameters read with
/// [`Kind::parse`] (an unreadable action is an error naming the parameter), then
/// [`compose`]d. The type-erased entry, for callers holding the raw action.
pub fn outgoing(
    item: &Item,
    action: &Action,
    key: &str,
    vault_root: &Path,
) -> Result<OutgoingMail> {
    compose(
        item,
        &send_email::SendEmail::parse(action)?,
        key,
        vault_root,
    )
}

/// The mail a `send_email` action's parameters send: recipients (each a valid address),
/// threading from the item, body, attachments from the item's `Attachments/` folder.
/// Errors name what is wrong (a bad address, a missing file, no recipient at all).
pub fn compose(
    item: &Item,
    p: &send_email::Params,
    key: &str,
    vault_root: &Path,
) -> Result<OutgoingMail> {
    let addresses = |list: &Option<Texts>, k: &str| -> Result<Vec<String>> {
        Ok(mailboxes(list, k)?.iter().map(|m| m.to_string()).collect())
    };
    let to = addresses(&p.to, "to")?;
    let cc = addresses(&p.cc, "cc")?;
    let bcc = addresses(&p.bcc, "bcc")?;
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        anyhow::bail!("the email has no recipient (`to` is empty)");
    }
    let mut mail = OutgoingMail {
        to,
        cc,
        bcc,
        subject: p.subject.clone().unwrap_or_default(),
        body: p.body.clone().unwrap_or_default(),
        key: key.to_string(),
        ..OutgoingMail::default()
    };
    let irt = msg_ids(p.in_reply_to.iter().flat_map(|t| t.split(',')));
    if let Some(parent) = irt.first() {
        // References: the item's chain, then the message replied to.
        let front = |k: &str| strings(item.front.get(k));
        let mut refs = msg_ids(front("references").iter().map(String::as_str));
        if refs.is_empty() {
            refs = msg_ids(front("message_id").iter().map(String::as_str))
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
    let names = items(&p.attachments);
    if names.is_empty() {
        return Ok(mail);
    }
    // The id is checked again here, where it becomes a path, and nothing on the way to the
    // file may be a link: only a regular file inside `Attachments/<id>/` is ever sent.
    crate::vault::item::check_id(item.id())?;
    let dir = vault_root.join("Attachments").join(item.id());
    for name in names {
        let file = safe_component(name);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The typed parameters of a `send_email` action written as JSON.
    fn mail(v: Value) -> send_email::Params {
        send_email::SendEmail::parse(v.as_object().unwrap()).unwrap()
    }

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
        let a = mail(
            json!({"kind":"send_email","to":["bob@x.com"],"subject":"s","body":"b",
            "attachments":["passwd"]}),
        );
        let from: Mailbox = "Sam <sam@me.com>".parse().unwrap();
        let vault = tempfile::tempdir().unwrap();
        let root = vault.path().join("v");
        std::fs::create_dir_all(root.join("Attachments/a1")).unwrap();
        let evil = Item::new("../../../etc", "email", "email", "x", "t");
        let err = build_message(&from, &evil, &a, "<m@me.com>", &root).unwrap_err();
        assert!(format!("{err:#}").contains("not a safe id"), "{err:#}");
        std::os::unix::fs::symlink("/etc/passwd", root.join("Attachments/a1/passwd")).unwrap();
        let linked = Item::new("a1", "email", "email", "x", "t");
        let err = build_message(&from, &linked, &a, "<m@me.com>", &root).unwrap_err();
        assert!(format!("{err:#}").contains("symbolic link"), "{err:#}");
        std::fs::remove_file(root.join("Attachments/a1/passwd")).unwrap();
        std::fs::remove_dir(root.join("Attachments/a1")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("Attachments/a1")).unwrap();
        let err = build_message(&from, &linked, &a, "<m@me.com>", &root).unwrap_err();
        assert!(
            format!("{err:#}").contains("`Attachments/a1` is a symbolic link"),
            "{err:#}"
        );
    }

    #[test]
    fn reply_threads_and_bcc_stays_off_the_headers() {
        let a = mail(
            json!({"kind":"send_email","to":["Bob <bob@x.com>"],"bcc":["audit@me.com"],
            "subject":"Re: Hi","body":"Thanks, é","in_reply_to":"<orig@x.com>"}),
        );
        let from: Mailbox = "Sam <sam@me.com>".parse().unwrap();
        let m = build_message(
            &from,
            &item(),
            &a,
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
        let build = |a: Value| build_message(&from, &item(), &mail(a), "<m@x>", Path::new("/n"));
        assert!(build(json!({"kind":"send_email","to":[],"subject":"s","body":"b"})).is_err());
        let e = build(json!({"kind":"send_email","to":["a@b.c"],"subject":"s","body":"b","attachments":["x.pdf"]}))
            .unwrap_err();
        assert!(format!("{e:#}").contains("x.pdf"));
    }

    /// `to` written as one comma-separated text is a list of addresses, as the policy that
    /// approved the mail counted them; each is checked as a mailbox.
    #[test]
    fn recipients_are_read_as_the_policy_reads_them() {
        let m = compose(
            &item(),
            &mail(json!({"kind":"send_email","to":"a@b.co, Bob <bob@x.com> ,",
                "cc":["c@d.co"],"subject":"s","body":"b"})),
            "k",
            Path::new("/n"),
        )
        .unwrap();
        assert_eq!(m.to, ["a@b.co", "Bob <bob@x.com>"]);
        assert_eq!(m.cc, ["c@d.co"]);
        let bad = compose(
            &item(),
            &mail(json!({"kind":"send_email","to":"a@b.co","bcc":"nope","subject":"s"})),
            "k",
            Path::new("/n"),
        )
        .unwrap_err();
        assert_eq!(format!("{bad}"), "`bcc` address `nope` is not valid");
        let none = compose(
            &item(),
            &mail(json!({"kind":"send_email","to":" , ","subject":"s"})),
            "k",
            Path::new("/n"),
        )
        .unwrap_err();
        assert_eq!(
            format!("{none}"),
            "the email has no recipient (`to` is empty)"
        );
        // The raw action is read the same way, and an unreadable one names its parameter.
        let raw = json!({"kind":"send_email","to":"a@b.co","subject":"s","sign":true});
        let e = outgoing(&item(), raw.as_object().unwrap(), "k", Path::new("/n")).unwrap_err();
        assert!(format!("{e:#}").contains("`sign`"), "{e:#}");
    }

    #[test]
    fn a_message_id_without_a_domain_is_local() {
        assert_eq!(message_id("k", ""), "<aie.k@aie.local>");
    }
}
