//! The poll-gmail pass: new Gmail messages become items in `Needs_Action/email/`, exactly
//! once. The first run lists `gmail.query` (all pages) from a history baseline taken before
//! the listing; later runs read `history.list` from the stored id, and an expired id (404)
//! triggers one full resync that re-baselines. Discovered ids go into `gmail.pending` in
//! state together with the new cursor, in one atomic update, so a killed run neither skips
//! nor re-imports: each pending message is written as a durable item (attachments first),
//! then marked processed in Gmail, then dropped from `pending`. A pending message whose item
//! already exists is only marked. State lives in `.aie/state.json` (section `gmail`), never
//! the vault. The pass reaches Gmail only through the [`Mailbox`] capability ([`poll`]
//! builds the Gmail client; [`poll_mailbox`] is the pass itself, for any mailbox).

use crate::audit::AuditEvent;
use crate::config::{GmailMark, GmailSettings};
use crate::connectors::capabilities::{Mailbox, Marking};
use crate::connectors::gmail::GmailClient;
use crate::connectors::mail_auth::sender_authenticated;
use crate::connectors::mime::{MailMessage, parse_message};
use crate::connectors::smtp::safe_component;
use crate::context::Ctx;
use crate::exit::exit_for;
use crate::fsutil::{self, WriteBatch};
use crate::outcome::Outcome;
use crate::vault::{Item, Stage};
use anyhow::Result;
use serde_json::Value;

/// The label added when `gmail.mark` is `label` or `both`.
pub const PROCESSED_LABEL: &str = "aie/processed";

/// How many messages are written, synced and marked together.
const BATCH: usize = 100;

/// Longest message text kept in an item.
const MAX_BODY_TEXT: usize = 256 * 1024;

/// What poll-gmail remembers between runs (`state.json`, section `gmail`).
pub use crate::state::GmailState;

fn load_state(ctx: &Ctx) -> Result<GmailState> {
    Ok(ctx.state.load()?.gmail.unwrap_or_default())
}

fn save_state(ctx: &Ctx, f: impl FnOnce(&mut GmailState)) -> Result<GmailState> {
    ctx.state.update(|s| {
        let g = s.gmail.get_or_insert_with(GmailState::default);
        f(g);
        g.clone()
    })
}

/// The item id of a Gmail message.
pub fn item_id(message_id: &str) -> String {
    format!("gmail-{message_id}")
}

/// One poll-gmail pass: the owner's Gmail, when `aie.yaml` sets it up. Errors: a missing
/// secret (exit 78), and those of [`poll_mailbox`].
pub fn poll(ctx: &Ctx) -> Result<Outcome> {
    let Some(g) = ctx.settings.gmail.clone() else {
        return Ok(Outcome {
            summary: "poll-gmail: gmail is not set up in aie.yaml: skipped".into(),
            json: serde_json::json!({"job": "poll-gmail", "skipped": "gmail is not set up"}),
            ..Outcome::default()
        });
    };
    let mut client =
        GmailClient::from_secrets(&g, &ctx.secrets, &ctx.vault.aie_dir(), ctx.time_left())?;
    poll_mailbox(ctx, &g, &mut client)
}

/// One poll of `mailbox` with the settings `g`: new messages become items, then are marked.
/// Errors: the mailbox unreachable or refusing the grant, state or the vault unwritable; a
/// message that fails alone is a problem of the outcome.
pub fn poll_mailbox(ctx: &Ctx, g: &GmailSettings, mailbox: &mut dyn Mailbox) -> Result<Outcome> {
    let mut out = Outcome {
        json: serde_json::json!({"job": "poll-gmail"}),
        ..Outcome::default()
    };
    let (remove_unread, add_label) = match g.mark {
        GmailMark::Unread => (true, false),
        GmailMark::Label => (false, true),
        GmailMark::Both => (true, true),
    };

    // Discover: new ids and the new cursor are saved together.
    let state = load_state(ctx)?;
    let (found, cursor, resynced) = match &state.history_id {
        None => {
            let h = mailbox.cursor()?;
            (mailbox.list(&g.query)?, h, false)
        }
        Some(start) => match mailbox.changes_since(start, &g.query)? {
            Some((ids, h)) => (ids, h, false),
            None => {
                log::warn!(
                    "gmail: history id {start} has expired: one full resync of `{}`",
                    g.query
                );
                let h = mailbox.cursor()?;
                (mailbox.list(&g.query)?, h, true)
            }
        },
    };
    let now = ctx.clock.stamp();
    let state = save_state(ctx, |st| {
        for id in &found {
            if !st.pending.contains(id) {
                st.pending.push(id.clone());
            }
        }
        st.history_id = Some(cursor.clone());
        if resynced {
            st.last_resync = Some(now.clone());
        }
    })?;
    if resynced {
        out.count("resynced", 1);
        out.activity
            .push("gmail history expired: resynced from the query".to_string());
    }

    let mut how = Marking {
        read: remove_unread,
        label: None,
    };
    let limit = g.max_per_run as usize;
    let todo: Vec<String> = state.pending.iter().take(limit).cloned().collect();
    out.count("deferred", state.pending.len().saturating_sub(limit) as u64);
    for chunk in todo.chunks(BATCH) {
        let mut batch = Batch::default();
        for id in chunk {
            if ctx.past_deadline() {
                out.count("deferred", 1);
                continue;
            }
            match stage_one(ctx, mailbox, g, id, &mut batch) {
                Ok(true) => {}
                Ok(false) => {
                    // Deleted since it was listed: nothing to import.
                    batch.gone.push(id.clone());
                    out.count("gone", 1);
                }
                Err(e) if is_fatal(&e) => {
                    batch.writes.abandon();
                    return Err(e);
                }
                Err(e) => {
                    batch.failed.push(id.clone());
                    out.count("failed", 1);
                    out.problem(
                        format!("gmail:{id}"),
                        format!(
                            "gmail message `{id}`: {e:#}; it stays unread and is tried again next pass"
                        ),
                    );
                }
            }
        }
        // Items (and their attachments) become durable before anything is marked.
        let ready = commit(ctx, batch.writes, batch.staged, batch.known, &mut out)?;
        fsutil::failpoint("gmail:item-written");
        let mut marked: Vec<String> = Vec::new();
        if !ready.is_empty() {
            if add_label && how.label.is_none() {
                how.label = Some(mailbox.label(PROCESSED_LABEL)?);
            }
            match mailbox.mark(&ready, &how) {
                Ok(()) => marked = ready,
                Err(e) if is_fatal(&e) => return Err(e),
                Err(e) => {
                    for id in &ready {
                        out.problem(
                            format!("gmail:{id}"),
                            format!("gmail message `{id}`: its item exists but marking it processed failed: {e:#}"),
                        );
                    }
                }
            }
        }
        fsutil::failpoint("gmail:marked");
        let (gone, failed) = (batch.gone, batch.failed);
        save_state(ctx, |st| {
            for id in marked.iter().chain(&gone) {
                forget(st, id);
            }
            for id in &failed {
                *st.attempts.entry(id.clone()).or_default() += 1;
            }
        })?;
    }
    ctx.audit.sync()?;
    let n = out.counts.get("items").copied().unwrap_or(0);
    if n > 0 {
        out.changed = true;
        out.activity
            .push(format!("{n} new email item(s) from Gmail"));
    }
    out.count("api_calls", mailbox.calls());
    out.summary = format!("poll-gmail: {}", out.counts_line());
    out.json = serde_json::json!({"job": "poll-gmail", "history_id": cursor});
    Ok(out)
}

fn forget(st: &mut GmailState, id: &str) {
    st.pending.retain(|p| p != id);
    st.attempts.remove(id);
}

/// Errors that end the pass: the service is unreachable, the token revoked, the setup wrong.
fn is_fatal(e: &anyhow::Error) -> bool {
    matches!(
        exit_for(e),
        crate::exit::Exit::Unavailable | crate::exit::Exit::Config
    )
}

/// The messages of one batch: items staged for one durable commit, and what else happened.
#[derive(Default)]
struct Batch {
    writes: WriteBatch,
    /// Items staged, in order: (gmail id, item).
    staged: Vec<(String, Item)>,
    /// Messages whose item exists already (a run killed before marking them).
    known: Vec<String>,
    gone: Vec<String>,
    failed: Vec<String>,
}

/// Fetches one message and stages its item and attachments, unless its item exists already.
/// False when the message was deleted since it was listed.
fn stage_one(
    ctx: &Ctx,
    mailbox: &mut dyn Mailbox,
    g: &GmailSettings,
    gmail_id: &str,
    batch: &mut Batch,
) -> Result<bool> {
    let id = item_id(gmail_id);
    if ctx.vault.locate(&id).is_some() {
        batch.known.push(gmail_id.to_string());
        return Ok(true);
    }
    let Some((raw, thread)) = mailbox.fetch(gmail_id)? else {
        return Ok(false);
    };
    let mail = parse_message(&raw)?;
    let authenticated = sender_authenticated(&mail, &g.authserv_id);
    let (saved, skipped) =
        stage_attachments(ctx, &id, &mail, g.max_attachment_bytes, &mut batch.writes)?;
    let mut item = build_item(ctx, &id, gmail_id, &thread, &mail, &saved, &skipped);
    // What the policy needs to let a reply run unasked: who sent it, and whether Gmail's
    // own verdict proves it (see `policy::decide`).
    if let Some(s) = &mail.sender {
        item.set("sender", s.as_str());
    }
    item.set("sender_authenticated", authenticated);
    let target = ctx
        .vault
        .item_path(&Stage::NeedsAction("email".into()), &id);
    batch.writes.stage_new(&target, item.render().as_bytes())?;
    batch.staged.push((gmail_id.to_string(), item));
    Ok(true)
}

/// Commits a batch durably (sync, rename, sync) and audits each new item. Returns the Gmail
/// ids whose items now exist on disk.
fn commit(
    ctx: &Ctx,
    writes: WriteBatch,
    staged: Vec<(String, Item)>,
    known: Vec<String>,
    out: &mut Outcome,
) -> Result<Vec<String>> {
    let mut ready = known;
    out.count("already_imported", ready.len() as u64);
    if writes.is_empty() {
        return Ok(ready);
    }
    let results = writes.commit(ctx.vault.root())?;
    fsutil::sync_fs(ctx.vault.root())
        .map_err(|e| anyhow::anyhow!("cannot sync `{}`: {e}", ctx.vault.root().display()))?;
    for r in &results {
        if let Err(e) = r {
            log::warn!("{e:#}");
        }
    }
    for (gmail_id, item) in staged {
        let path = ctx
            .vault
            .item_path(&Stage::NeedsAction("email".into()), item.id());
        if !path.is_file() {
            out.problem(
                format!("gmail:{gmail_id}"),
                format!(
                    "gmail message `{gmail_id}`: cannot write `{}`",
                    ctx.vault.rel(&path)
                ),
            );
            continue;
        }
        out.count("items", 1);
        ctx.audit.append(AuditEvent::item_created(
            item.id(),
            format!("gmail:{gmail_id}"),
            serde_json::json!({
                "domain": "email",
                "priority": item.str("priority"),
                "attachments": item.front.get("attachments").and_then(Value::as_array).map_or(0, Vec::len),
            }),
        ))?;
        ready.push(gmail_id);
    }
    Ok(ready)
}

/// Stages attachments for `Attachments/<id>/` with safe, unique names; those over the size
/// limit are listed, not saved. Returns (saved names, skipped descriptions).
fn stage_attachments(
    ctx: &Ctx,
    id: &str,
    mail: &MailMessage,
    limit: u64,
    writes: &mut WriteBatch,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut saved = Vec::new();
    let mut skipped = Vec::new();
    if mail.attachments.is_empty() {
        return Ok((saved, skipped));
    }
    let dir = ctx.vault.attachment_dir(id)?;
    for a in &mail.attachments {
        let safe = safe_component(&a.name);
        if a.bytes.len() as u64 > limit {
            skipped.push(format!(
                "{safe} ({} bytes, over gmail.max_attachment_bytes = {limit})",
                a.bytes.len()
            ));
            continue;
        }
        std::fs::create_dir_all(&dir)?;
        let mut n = 1;
        let name = loop {
            let candidate = fsutil::numbered_name(&safe, n);
            if !saved.contains(&candidate) {
                break candidate;
            }
            n += 1;
        };
        writes.stage(&dir.join(&name), &a.bytes)?;
        saved.push(name);
    }
    Ok((saved, skipped))
}

fn build_item(
    ctx: &Ctx,
    id: &str,
    gmail_id: &str,
    thread: &str,
    mail: &MailMessage,
    saved: &[String],
    skipped: &[String],
) -> Item {
    let subject = mail.subject.clone().unwrap_or_default();
    let title = if subject.trim().is_empty() {
        "(no subject)".to_string()
    } else {
        subject.clone()
    };
    let (_, priority) =
        crate::passes::intake::route(&ctx.settings.routing, &format!("{subject}\n{}", mail.text));
    let mut item = Item::new(
        id,
        "email",
        "email",
        &format!("gmail:{gmail_id}"),
        &ctx.clock.stamp(),
    );
    item.set("priority", priority);
    item.set("title", title.as_str());
    if let Some(f) = &mail.from {
        item.set("from", f.as_str());
    }
    item.set("to", mail.to.clone());
    if !mail.cc.is_empty() {
        item.set("cc", mail.cc.clone());
    }
    item.set("subject", subject.as_str());
    if let Some(d) = &mail.date {
        item.set("date", d.as_str());
    }
    item.set("gmail_id", gmail_id);
    item.set("thread_id", thread);
    if let Some(m) = &mail.message_id {
        item.set("message_id", m.as_str());
    }
    let mut refs = mail.references.clone();
    for r in &mail.in_reply_to {
        if !refs.contains(r) {
            refs.push(r.clone());
        }
    }
    if !refs.is_empty() {
        item.set("references", refs);
    }
    if !saved.is_empty() {
        item.set(
            "attachments",
            saved
                .iter()
                .map(|s| Value::String(s.clone()))
                .collect::<Vec<_>>(),
        );
    }
    if !skipped.is_empty() {
        item.set("attachments_skipped", skipped.to_vec());
    }
    let mut body = format!("# {title}\n\n");
    let text = mail.text.trim_end();
    if text.len() > MAX_BODY_TEXT {
        let mut cut = MAX_BODY_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        body.push_str(&text[..cut]);
        body.push_str(&format!(
            "\n\n[... {} more bytes of text not kept; the message stays in Gmail]",
            text.len() - cut
        ));
        item.set("truncated", true);
    } else {
        body.push_str(text);
    }
    body.push('\n');
    if !saved.is_empty() || !skipped.is_empty() {
        body.push_str("\n## Attachments\n\n");
        for s in saved {
            body.push_str(&format!("- [[Attachments/{id}/{s}]]\n"));
        }
        for s in skipped {
            body.push_str(&format!("- not saved: {s}\n"));
        }
    }
    item.body = body;
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mailbox in memory: messages in the order they arrived, the cursor being how many
    /// had arrived.
    #[derive(Default)]
    struct Memory {
        arrived: Vec<(String, Vec<u8>)>,
        read: Vec<String>,
        fetched: Vec<String>,
        /// Marking fails (the service refused it): the items exist, the mail stays unread.
        refuse_marks: bool,
    }

    impl Memory {
        fn arrive(&mut self, id: &str) {
            let raw = format!(
                "From: Ann <ann@example.com>\r\nTo: me@example.com\r\nSubject: Hello {id}\r\n\
                 Message-ID: <{id}@example.com>\r\n\r\nHi there\r\n"
            );
            self.arrived.push((id.to_string(), raw.into_bytes()));
        }
    }

    impl Mailbox for Memory {
        fn cursor(&mut self) -> Result<String> {
            Ok(self.arrived.len().to_string())
        }

        fn list(&mut self, _query: &str) -> Result<Vec<String>> {
            let unread = self
                .arrived
                .iter()
                .filter(|(id, _)| !self.read.contains(id));
            Ok(unread.map(|(id, _)| id.clone()).collect())
        }

        fn changes_since(
            &mut self,
            cursor: &str,
            _query: &str,
        ) -> Result<Option<(Vec<String>, String)>> {
            let from: usize = cursor.parse()?;
            let ids = self.arrived[from..].iter().map(|(id, _)| id.clone());
            Ok(Some((ids.collect(), self.arrived.len().to_string())))
        }

        fn fetch(&mut self, id: &str) -> Result<Option<(Vec<u8>, String)>> {
            self.fetched.push(id.to_string());
            let raw = self.arrived.iter().find(|(i, _)| i == id);
            Ok(raw.map(|(_, raw)| (raw.clone(), format!("thread-{id}"))))
        }

        fn label(&mut self, name: &str) -> Result<String> {
            Ok(format!("label:{name}"))
        }

        fn mark(&mut self, ids: &[String], how: &Marking) -> Result<()> {
            anyhow::ensure!(!self.refuse_marks, "the mailbox refused the change");
            assert!(how.read);
            self.read.extend(ids.iter().cloned());
            Ok(())
        }

        fn calls(&self) -> u64 {
            0
        }
    }

    fn vault(dir: &std::path::Path) -> Ctx {
        let vault = crate::vault::Vault::at(dir);
        crate::vault::template::write(&vault, "local").unwrap();
        std::fs::write(
            dir.join("aie.yaml"),
            "timezone: UTC\ngmail:\n  mark: unread\n",
        )
        .unwrap();
        let mut env = crate::context::Env::default();
        env.vars
            .insert("AIE_NOW".into(), "2026-11-23T10:00:00Z".into());
        Ctx::open(&env, dir, "poll-gmail", None).unwrap()
    }

    fn items(ctx: &Ctx) -> Vec<String> {
        let dir = ctx.vault.root().join("Needs_Action/email");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md"))
            .collect();
        names.sort();
        names
    }

    fn poll_memory(ctx: &Ctx, mailbox: &mut Memory) -> Outcome {
        let g = ctx.settings.gmail.clone().unwrap();
        poll_mailbox(ctx, &g, mailbox).unwrap()
    }

    #[test]
    fn new_messages_become_items_once_without_gmail() {
        let d = tempfile::tempdir().unwrap();
        let ctx = vault(d.path());
        let mut mailbox = Memory::default();
        mailbox.arrive("a1");
        mailbox.arrive("b2");

        let out = poll_memory(&ctx, &mut mailbox);
        assert_eq!(out.counts.get("items"), Some(&2));
        assert_eq!(items(&ctx), ["gmail-a1.md", "gmail-b2.md"]);
        assert_eq!(mailbox.read, ["a1", "b2"]);

        // Only what arrived since is read the next time, and becomes one more item.
        mailbox.arrive("c3");
        let out = poll_memory(&ctx, &mut mailbox);
        assert_eq!(out.counts.get("items"), Some(&1));
        assert_eq!(mailbox.fetched, ["a1", "b2", "c3"]);
        assert_eq!(items(&ctx), ["gmail-a1.md", "gmail-b2.md", "gmail-c3.md"]);
        let again = poll_memory(&ctx, &mut mailbox);
        assert_eq!(again.counts.get("items"), None);
        assert_eq!(mailbox.fetched.len(), 3);
    }

    #[test]
    fn a_message_whose_item_exists_is_marked_and_not_duplicated() {
        let d = tempfile::tempdir().unwrap();
        let ctx = vault(d.path());
        let mut mailbox = Memory {
            refuse_marks: true,
            ..Memory::default()
        };
        mailbox.arrive("a1");
        let out = poll_memory(&ctx, &mut mailbox);
        assert_eq!(out.counts.get("items"), Some(&1));
        assert_eq!(out.problems.len(), 1, "the failed mark is reported");
        assert!(mailbox.read.is_empty());

        // The next pass finds the item: it marks the message, fetches and writes nothing.
        mailbox.refuse_marks = false;
        let out = poll_memory(&ctx, &mut mailbox);
        assert_eq!(out.counts.get("already_imported"), Some(&1));
        assert_eq!(out.counts.get("items"), None);
        assert_eq!(mailbox.read, ["a1"]);
        assert_eq!(mailbox.fetched, ["a1"]);
        assert_eq!(items(&ctx), ["gmail-a1.md"]);
        assert!(load_state(&ctx).unwrap().pending.is_empty());
    }
}
