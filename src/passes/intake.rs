//! Inbox intake: each file dropped in `Inbox/` becomes an item in `Needs_Action/<domain>/`
//! and the original moves to `Attachments/<id>/`. Items are written in batches that are
//! synced once; a crash between writing an item and moving its original is finished by the
//! next pass (the id is the same, so the original joins its item). Bad drops stay in
//! `Inbox/` with a problem naming them.

use crate::audit::AuditEvent;
use crate::config::Routing;
use crate::context::Ctx;
use crate::fsutil::{self, WriteBatch};
use crate::outcome::Outcome;
use crate::vault::item::make_id;
use crate::vault::{Item, Stage};
use anyhow::{Context, Result};
use serde_json::Value;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How many drops are written and synced together.
const BATCH: usize = 2048;

/// Extensions read as text even when they are not valid UTF-8.
const TEXT_EXTENSIONS: &[&str] = &[
    "txt", "md", "eml", "csv", "log", "json", "yaml", "yml", "html", "htm",
];

/// A drop, read and turned into an item, waiting for its batch.
struct Drop {
    path: PathBuf,
    name: String,
    item: Item,
}

/// One pass over `Inbox/`.
pub fn process_inbox(ctx: &Ctx, dry_run: bool) -> Result<Outcome> {
    let mut out = Outcome::default();
    let inbox = ctx.vault.inbox();
    let mut entries: Vec<fs::DirEntry> = match fs::read_dir(&inbox) {
        Ok(rd) => rd.flatten().collect(),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot read `{}`", inbox.display())));
        }
    };
    entries.sort_by_key(|e| e.file_name());
    let mut batch: Vec<Drop> = Vec::new();
    for entry in entries {
        if ctx.past_deadline() {
            out.count("deferred", 1);
            continue;
        }
        let os_name = entry.file_name();
        let name = lossless_name(os_name.as_bytes());
        if fsutil::is_ignored_name(&name) {
            continue;
        }
        let rel = format!("Inbox/{name}");
        match read_drop(ctx, &entry.path(), &name, os_name.as_bytes()) {
            Ok(DropState::Ready(d)) => batch.push(*d),
            Ok(DropState::Settling) => out.count("settling", 1),
            Ok(DropState::Known(id)) => {
                attach_known(ctx, &entry.path(), &name, &id, &mut out)?;
            }
            Err(e) => {
                let msg = format!("`{rel}`: {e:#}");
                ctx.audit.append(AuditEvent {
                    target: Some(rel.clone()),
                    result: Some("failed".into()),
                    error: Some(msg.clone()),
                    ..AuditEvent::new("intake", None)
                })?;
                out.problem(format!("file:{rel}"), msg);
            }
        }
        if batch.len() >= BATCH {
            flush(ctx, std::mem::take(&mut batch), dry_run, &mut out)?;
        }
    }
    flush(ctx, batch, dry_run, &mut out)?;
    calendar_posts(ctx, dry_run, &mut out)?;
    ctx.audit.sync()?;
    let n = out.counts.get("items").copied().unwrap_or(0);
    out.summary = if out.counts_line().is_empty() {
        String::new()
    } else {
        format!("process-inbox: {}", out.counts_line())
    };
    if n > 0 {
        out.activity.push(format!("{n} new item(s) from Inbox/"));
    }
    out.json = serde_json::json!({"job": "process-inbox", "dry_run": dry_run});
    Ok(out)
}

enum DropState {
    Ready(Box<Drop>),
    /// Changed too recently: may still be being written.
    Settling,
    /// Its item exists already (a re-drop, or a crash before the original moved).
    Known(String),
}

fn read_drop(ctx: &Ctx, path: &Path, name: &str, name_bytes: &[u8]) -> Result<DropState> {
    let meta = fs::symlink_metadata(path)?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        anyhow::bail!(
            "is a symbolic link (to `{target}`): links are never followed; copy the file itself into Inbox/"
        );
    }
    if ft.is_dir() {
        anyhow::bail!("is a folder: drop files, not folders, into Inbox/");
    }
    if !ft.is_file() {
        anyhow::bail!("is not a regular file");
    }
    let limit = ctx.settings.inbox.max_file_bytes;
    if meta.len() > limit {
        anyhow::bail!(
            "is {} bytes, over the limit of {limit} bytes (inbox.max_file_bytes): it stays in Inbox/",
            meta.len()
        );
    }
    let settle = ctx.settings.inbox.settle_seconds;
    if settle > 0
        && let Ok(m) = meta.modified()
        && SystemTime::now()
            .duration_since(m)
            .is_ok_and(|age| age.as_secs() < settle)
    {
        return Ok(DropState::Settling);
    }
    // Opened without following a link: one planted after the check above is refused too.
    let (bytes, _) = fsutil::read_regular_nofollow(path)?;
    let stem = Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let id = make_id(&stem, &[name_bytes, &bytes]);
    // `Attachments/<id>/` is made (and synced) before an item of that id is written, so
    // when it is absent the id is new: one stat instead of one per stage folder.
    if ctx.vault.attachments(&id).exists() && ctx.vault.locate(&id).is_some() {
        return Ok(DropState::Known(id));
    }
    let item = build_item(ctx, &id, name, &bytes);
    Ok(DropState::Ready(Box::new(Drop {
        path: path.to_path_buf(),
        name: name.to_string(),
        item,
    })))
}

/// A file name as text, losing nothing: a UTF-8 name as it is; in any other name each byte
/// that is not part of valid UTF-8, and each `%`, becomes `%XX`, so the original bytes can be
/// recovered from the name the file gets in `Attachments/` (and from the item's `source:`).
fn lossless_name(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' {
                out.push_str("%25");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether bytes look like text: no NUL in the first 8 KiB.
fn looks_textual(bytes: &[u8]) -> bool {
    !bytes[..bytes.len().min(8192)].contains(&0)
}

/// Whether text starts with RFC 822 headers.
pub fn starts_with_headers(text: &str) -> bool {
    const HEADERS: &[&str] = &[
        "from:",
        "to:",
        "subject:",
        "date:",
        "message-id:",
        "received:",
        "return-path:",
        "mime-version:",
        "delivered-to:",
        "reply-to:",
        "cc:",
        "content-type:",
    ];
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or("");
    let lower = first.to_ascii_lowercase();
    HEADERS.iter().any(|h| lower.starts_with(h))
}

/// Picks the domain and priority of an Inbox drop by the keyword rules.
pub fn route(routing: &Routing, text: &str) -> (String, &'static str) {
    let words: std::collections::HashSet<String> = text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let hit = |list: &Vec<String>| list.iter().any(|k| words.contains(&k.to_lowercase()));
    // Accounting before social before the rest: money matters most.
    let mut order: Vec<(&String, &Vec<String>)> = routing.domains.iter().collect();
    order.sort_by_key(|(d, _)| match d.as_str() {
        "accounting" => 0,
        "email" => 1,
        "social" => 2,
        _ => 3,
    });
    let domain = order
        .iter()
        .find(|(_, kws)| hit(kws))
        .map(|(d, _)| d.to_string())
        .filter(|d| crate::vault::DOMAINS.contains(&d.as_str()))
        .unwrap_or_else(|| "general".into());
    let priority = if hit(&routing.high_priority) {
        "high"
    } else if hit(&routing.low_priority) {
        "low"
    } else {
        "normal"
    };
    (domain, priority)
}

fn build_item(ctx: &Ctx, id: &str, name: &str, bytes: &[u8]) -> Item {
    let ext = Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let textual = looks_textual(bytes)
        && (TEXT_EXTENSIONS.contains(&ext.as_str()) || std::str::from_utf8(bytes).is_ok());
    let text = textual.then(|| String::from_utf8_lossy(bytes).to_string());
    let mail = match &text {
        Some(t) if ext == "eml" || starts_with_headers(t) => {
            crate::connectors::mime::parse_message(bytes).ok()
        }
        _ => None,
    };
    let kind = if mail.is_some() { "email" } else { "file" };
    let original = format!("Attachments/{id}/{name}");
    let stem = Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| name.to_string());
    let title = mail
        .as_ref()
        .and_then(|m| m.subject.clone())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(stem);
    let content = match (&mail, &text) {
        (Some(m), _) => m.text.clone(),
        (None, Some(t)) => t.clone(),
        (None, None) => String::new(),
    };
    let (domain, priority) = route(
        &ctx.settings.routing,
        &format!("{name}\n{title}\n{content}"),
    );
    let mut item = Item::new(
        id,
        kind,
        &domain,
        &format!("inbox:{name}"),
        &ctx.clock.stamp(),
    );
    item.set("priority", priority);
    item.set("title", title.as_str());
    if let Some(m) = &mail {
        if let Some(f) = &m.from {
            item.set("from", f.as_str());
        }
        // The owner dropped this file: the owner vouches for the sender in its From.
        if let Some(s) = &m.sender {
            item.set("sender", s.as_str());
            item.set("sender_authenticated", true);
        }
        if !m.to.is_empty() {
            item.set("to", m.to.clone());
        }
        if !m.cc.is_empty() {
            item.set("cc", m.cc.clone());
        }
        if let Some(s) = &m.subject {
            item.set("subject", s.as_str());
        }
        if let Some(d) = &m.date {
            item.set("date", d.as_str());
        }
        if let Some(mid) = &m.message_id {
            item.set("message_id", mid.as_str());
        }
        if !m.references.is_empty() {
            item.set("references", m.references.clone());
        }
    }
    item.set("original", original.as_str());
    item.set("size", Value::from(bytes.len() as u64));
    let mut body = format!("# {title}\n\n");
    if text.is_some() {
        body.push_str(content.trim_end());
        body.push_str("\n\n");
    } else {
        item.set("content_type", guess_type(&ext));
        body.push_str(&format!(
            "A {} file of {} bytes; aie does not read its content.\n\n",
            if ext.is_empty() {
                "binary".to_string()
            } else {
                ext.to_uppercase()
            },
            bytes.len()
        ));
    }
    body.push_str(&format!("Original: [[{original}]]\n"));
    item.body = body;
    item
}

fn guess_type(ext: &str) -> &'static str {
    match ext {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "zip" => "application/zip",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

/// Writes a batch of items durably, then moves their originals next to them.
fn flush(ctx: &Ctx, drops: Vec<Drop>, dry_run: bool, out: &mut Outcome) -> Result<()> {
    if drops.is_empty() {
        return Ok(());
    }
    if dry_run {
        for d in drops {
            out.count("items", 1);
            out.activity.push(format!(
                "would file `{}` as [[{}]] in {}",
                crate::dashboard::inline(&d.name),
                d.item.id(),
                Stage::NeedsAction(d.item.domain().into()).rel().display()
            ));
        }
        return Ok(());
    }
    let mut batch = WriteBatch::new();
    let mut staged = Vec::new();
    for d in drops {
        let stage = Stage::NeedsAction(d.item.domain().to_string());
        let target = ctx.vault.item_path(&stage, d.item.id());
        let made = ctx.vault.attachment_dir(d.item.id()).and_then(|att| {
            fs::create_dir_all(&att)
                .with_context(|| format!("cannot create `{}`", ctx.vault.rel(&att)))
        });
        if let Err(e) = made {
            out.problem(
                format!("file:Inbox/{}", d.name),
                format!("`Inbox/{}`: {e:#}", d.name),
            );
            continue;
        }
        match batch.stage_new(&target, d.item.render().as_bytes()) {
            Ok(()) => staged.push(d),
            Err(e) => out.problem(
                format!("file:Inbox/{}", d.name),
                format!("`Inbox/{}`: {e:#}", d.name),
            ),
        }
    }
    fsutil::failpoint("intake:before-items");
    let results = batch.commit(ctx.vault.root())?;
    fsutil::failpoint("intake:items-written");
    let mut moved_any = false;
    for (d, res) in staged.into_iter().zip(results) {
        if let Err(e) = res {
            if ctx.vault.locate(d.item.id()).is_some() {
                // Written by a run that stopped before moving the original: finish that.
                attach_known(ctx, &d.path, &d.name, d.item.id(), out)?;
            } else {
                out.problem(
                    format!("file:Inbox/{}", d.name),
                    format!("`Inbox/{}`: {e:#}", d.name),
                );
            }
            continue;
        }
        let moved = ctx
            .vault
            .attachment_dir(d.item.id())
            .and_then(|dir| fsutil::move_into_free_name(&d.path, &dir, &d.name));
        match moved {
            Ok(_) => moved_any = true,
            Err(e) => {
                // The item exists; the next pass attaches the original (same id).
                out.problem(
                    format!("file:Inbox/{}", d.name),
                    format!("`Inbox/{}`: {e:#}", d.name),
                );
            }
        }
        fsutil::failpoint("intake:original-moved");
        out.count("items", 1);
        out.changed = true;
        ctx.audit.append(AuditEvent::item_created(
            d.item.id(),
            format!("Inbox/{}", d.name),
            serde_json::json!({
                "domain": d.item.domain(),
                "priority": d.item.str("priority"),
                "kind": d.item.str("kind"),
            }),
        ))?;
    }
    if moved_any {
        fsutil::sync_fs(ctx.vault.root())?;
    }
    Ok(())
}

/// A drop whose item already exists: keep the file beside the original in
/// `Attachments/<id>/` (a duplicate), or put it there (finishing a crashed pass).
fn attach_known(ctx: &Ctx, path: &Path, name: &str, id: &str, out: &mut Outcome) -> Result<()> {
    let dir = match ctx.vault.attachment_dir(id) {
        Ok(dir) => dir,
        Err(e) => {
            out.problem(
                format!("file:Inbox/{name}"),
                format!("`Inbox/{name}`: {e:#}; it stays in Inbox/"),
            );
            return Ok(());
        }
    };
    let recovering = !dir.join(name).exists();
    match fsutil::move_into_free_name(path, &dir, name) {
        Ok(kept) => {
            fsutil::sync_dir(&dir).ok();
            fsutil::sync_dir(&ctx.vault.inbox()).ok();
            let action = if recovering {
                "original_attached"
            } else {
                "duplicate"
            };
            out.count(if recovering { "attached" } else { "duplicates" }, 1);
            out.changed = true;
            if !recovering {
                log::warn!(
                    "`Inbox/{name}` is a duplicate of item `{id}`: kept as `{}`",
                    ctx.vault.rel(&kept)
                );
                out.activity.push(format!(
                    "duplicate drop `{}` kept beside [[{id}]]",
                    crate::dashboard::inline(name)
                ));
            }
            ctx.audit.append(AuditEvent {
                target: Some(format!("Inbox/{name}")),
                parameters: serde_json::json!({"kept_as": ctx.vault.rel(&kept)}),
                result: Some("ok".into()),
                ..AuditEvent::new(action, Some(id))
            })?;
        }
        Err(e) => out.problem(
            format!("file:Inbox/{name}"),
            format!("`Inbox/{name}`: {e:#}"),
        ),
    }
    Ok(())
}

/// Turns due entries of the owner's content calendar into items (once each: the id hashes
/// the entry's line).
fn calendar_posts(ctx: &Ctx, dry_run: bool, out: &mut Outcome) -> Result<()> {
    let rel = &ctx.settings.policy.content_calendar;
    let text = match fsutil::read_vault_file(ctx.vault.root(), &ctx.vault.root().join(rel)) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).to_string(),
        Ok(None) => return Ok(()),
        Err(e) => {
            out.problem(format!("file:{rel}"), format!("{e:#}"));
            return Ok(());
        }
    };
    let now = ctx.clock.now();
    for e in crate::calendar::parse(&text, ctx.clock.tz()) {
        if e.due > now {
            continue;
        }
        let id = crate::calendar::item_id(&e);
        if ctx.vault.locate(&id).is_some() {
            continue;
        }
        if dry_run {
            out.count("calendar_posts", 1);
            continue;
        }
        let mut item = Item::new(
            &id,
            "calendar_post",
            "social",
            &crate::calendar::source_of(&e),
            &ctx.clock.stamp(),
        );
        item.set("title", format!("{} post of {}", e.platform, e.when));
        item.set("platform", e.platform.as_str());
        item.set("scheduled_at", ctx.clock.format(e.due));
        item.set("post_text", e.text.as_str());
        item.body = format!(
            "# {} post of {}

From [[{}]]:

{}
",
            e.platform,
            e.when,
            rel.trim_end_matches(".md"),
            e.text
        );
        let path = ctx
            .vault
            .item_path(&Stage::NeedsAction("social".into()), &id);
        let tmp = fsutil::temp_path_for(&path);
        fs::write(&tmp, item.render())?;
        fsutil::sync_fs(ctx.vault.root())?;
        if let Err(e) = fsutil::move_noreplace(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
        out.count("calendar_posts", 1);
        out.changed = true;
        ctx.audit.append(AuditEvent::item_created(
            &id,
            rel.clone(),
            serde_json::json!({"platform": e.platform, "scheduled_at": item.str("scheduled_at")}),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Finding 14: a name that is not UTF-8 was renamed lossily (U+FFFD) in `Attachments/`.
    #[test]
    fn names_that_are_not_utf8_are_escaped_losslessly() {
        assert_eq!(
            super::lossless_name("café 100%.txt".as_bytes()),
            "café 100%.txt"
        );
        assert_eq!(super::lossless_name(b"caf\xe9 5%.txt"), "caf%E9 5%25.txt");
    }

    use super::*;

    #[test]
    fn routing_by_whole_words() {
        let r = Routing::default();
        for (text, domain, priority) in [
            ("Please pay the invoice", "accounting", "high"),
            ("Write a LinkedIn post", "social", "normal"),
            ("we postponed the meeting", "general", "normal"),
            ("newsletter of the week", "general", "low"),
        ] {
            assert_eq!(route(&r, text), (domain.into(), priority), "{text}");
        }
    }

    #[test]
    fn headers_are_recognised_and_parsed() {
        let raw = b"From: Jane <jane@a.com>\r\nSubject: Hello\r\nMessage-ID: <x@a.com>\r\n\r\nBody text\r\n";
        assert!(starts_with_headers(std::str::from_utf8(raw).unwrap()));
        let m = crate::connectors::mime::parse_message(raw).unwrap();
        assert_eq!(m.from.as_deref(), Some("Jane <jane@a.com>"));
        assert_eq!(m.subject.as_deref(), Some("Hello"));
        assert_eq!(m.message_id.as_deref(), Some("<x@a.com>"));
        assert!(m.text.contains("Body text"));
        assert!(!starts_with_headers("Dear sir,\nFrom: me"));
    }
}
