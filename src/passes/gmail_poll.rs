//! The poll-gmail pass: new Gmail messages become items in `Needs_Action/email/`, exactly
//! once. The first run lists `gmail.query` (all pages) from a history baseline taken before
//! the listing; later runs read `history.list` from the stored id, and an expired id (404)
//! triggers one full resync that re-baselines. Discovered ids go into `gmail.pending` in
//! state together with the new cursor, in one atomic update, so a killed run neither skips
//! nor re-imports: each pending message is written as a durable item (attachments first),
//! then marked processed in Gmail, then dropped from `pending`. A pending message whose item
//! already exists is only marked. State lives in `.aie/state.json` (section `gmail`), never
//! the vault.

use crate::audit::AuditEvent;
use crate::config::GmailMark;
use crate::connectors::gmail::{GmailClient, GmailError};
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

/// One poll-gmail pass.
pub fn poll(ctx: &Ctx) -> Result<Outcome> {
    let mut out = Outcome {
        json: serde_json::json!({"job": "poll-gmail"}),
        ..Outcome::default()
    };
    let Some(g) = ctx.settings.gmail.clone() else {
        out.summary = "poll-gmail: gmail is not set up in aie.yaml: skipped".into();
        out.json = serde_json::json!({"job": "poll-gmail", "skipped": "gmail is not set up"});
        return Ok(out);
    };
    let (remove_unread, add_label) = match g.mark {
        GmailMark::Unread => (true, false),
        GmailMark::Label => (false, true),
        GmailMark::Both => (true, true),
    };
    let mut client =
        GmailClient::from_secrets(&g, &ctx.secrets, &ctx.vault.aie_dir(), ctx.time_left())?;

    // Discover: new ids and the new cursor are saved together.
    let state = load_state(ctx)?;
    let (found, cursor, resynced) = match &state.history_id {
        None => {
            let h = client.history_id()?;
            (client.list_messages(&g.query)?, h, false)
        }
        Some(start) => match client.history_since(start, &g.query) {
            Ok((ids, h)) => (ids, h, false),
            Err(e)
                if e.downcast_ref::<GmailError>()
                    .is_some_and(|g| matches!(g, GmailError::NotFound(_))) =>
            {
                log::warn!(
                    "gmail: history id {start} has expired: one full resync of `{}`",
                    g.query
                );
                let h = client.history_id()?;
                (client.list_messages(&g.query)?, h, true)
            }
            Err(e) => return Err(e),
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

    let mut label: Option<String> = None;
    let remove: Vec<String> = if remove_unread {
        vec!["UNREAD".to_string()]
    } else {
        Vec::new()
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
            if let Err(e) = stage_one(ctx, &mut client, &g, id, &mut batch) {
                if e.downcast_ref::<GmailError>()
                    .is_some_and(|g| matches!(g, GmailError::NotFound(_)))
                {
                    // Deleted since it was listed: nothing to import.
                    batch.gone.push(id.clone());
                    out.count("gone", 1);
                    continue;
                }
                if is_fatal(&e) {
                    batch.writes.abandon();
                    return Err(e);
                }
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
        // Items (and their attachments) become durable before anything is marked.
        let ready = commit(ctx, batch.writes, batch.staged, batch.known, &mut out)?;
        fsutil::failpoint("gmail:item-written");
        let mut marked: Vec<String> = Vec::new();
        if !ready.is_empty() {
            let mut add = Vec::new();
            if add_label {
                if label.is_none() {
                    label = Some(client.label_id(PROCESSED_LABEL)?);
                }
                add.push(label.clone().expect("invariant: resolved above"));
            }
            match client.batch_modify(&ready, &add, &remove) {
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
    out.count("api_calls", client.calls());
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
fn stage_one(
    ctx: &Ctx,
    client: &mut GmailClient,
    g: &crate::config::GmailSettings,
    gmail_id: &str,
    batch: &mut Batch,
) -> Result<()> {
    let id = item_id(gmail_id);
    if ctx.vault.locate(&id).is_some() {
        batch.known.push(gmail_id.to_string());
        return Ok(());
    }
    let (raw, thread) = client.raw_message(gmail_id)?;
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
    Ok(())
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
