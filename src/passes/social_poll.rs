//! The poll-social pass: new Facebook Page comments and X mentions become items in
//! `Needs_Action/social/` (`source: facebook:<comment id>` / `x:<post id>`), exactly once.
//! Each item is written (durable) before the cursor in state (section `social`) moves past
//! it, and an item whose id already exists is skipped, so a killed run neither skips nor
//! repeats one. A reply to an item is a `social_post` with `reply_to`, which always waits
//! for the owner (policy `social_reply`). A platform without its `aie.yaml` section is
//! skipped; one that cannot be read is a problem, the others are still read.

use crate::connectors::{facebook, x};
use crate::context::Ctx;
use crate::outcome::Outcome;
use crate::state::SocialState;
use crate::vault::Item;
use anyhow::Result;

/// Longest comment or mention text kept in an item.
const MAX_TEXT: usize = 16 * 1024;

/// One new comment or mention, as an item will show it.
struct Incoming {
    platform: &'static str,
    id: String,
    author: String,
    text: String,
    created: String,
    /// The post commented on (Facebook), else empty.
    on: String,
}

/// Whether any platform poll-social reads is configured.
pub fn configured(ctx: &Ctx) -> bool {
    ctx.settings.facebook.is_some() || ctx.settings.x.is_some()
}

/// One poll-social pass.
pub fn poll(ctx: &Ctx) -> Result<Outcome> {
    let mut out = Outcome {
        json: serde_json::json!({"job": "poll-social"}),
        ..Outcome::default()
    };
    if !configured(ctx) {
        out.summary = "poll-social: neither facebook nor x is set up in aie.yaml: skipped".into();
        out.json = serde_json::json!({"job": "poll-social", "skipped": "no platform is set up"});
        return Ok(out);
    }
    let state = ctx.state.load()?.social.unwrap_or_default();
    if let Some(p) = facebook::publisher(&ctx.settings, &ctx.secrets)? {
        let since = state.facebook_since.unwrap_or(0);
        match p.comments_since(since) {
            Ok(comments) => {
                let mut newest = since;
                for [id, author, text, created, on] in comments {
                    if !facebook::valid_graph_id(&id) {
                        out.problem(
                            "poll-social:facebook",
                            "a comment without a usable id was skipped",
                        );
                        continue;
                    }
                    let t = facebook::graph_time(&created).unwrap_or(since);
                    write_item(
                        ctx,
                        &mut out,
                        Incoming {
                            platform: "facebook",
                            id,
                            author,
                            text,
                            created,
                            on,
                        },
                    )?;
                    newest = newest.max(t);
                    save(ctx, |s| s.facebook_since = Some(newest))?;
                }
            }
            Err(e) => out.problem("poll-social:facebook", format!("{e:#}")),
        }
    }
    if let Some(mut p) = x::publisher(&ctx.settings, &ctx.secrets, &ctx.vault.aie_dir())? {
        let user = match state.x_user_id.clone() {
            Some(u) => Ok(u),
            None => p.me().inspect(|u| {
                let u = u.clone();
                let _ = save(ctx, move |s| s.x_user_id = Some(u));
            }),
        };
        match user.and_then(|u| p.mentions(&u, state.x_since_id.as_deref())) {
            Ok((mentions, newest)) => {
                for [id, author_id, username, text, created] in mentions {
                    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
                        out.problem("poll-social:x", "a mention without a usable id was skipped");
                        continue;
                    }
                    let author = if username.is_empty() {
                        author_id
                    } else {
                        format!("@{username}")
                    };
                    write_item(
                        ctx,
                        &mut out,
                        Incoming {
                            platform: "x",
                            id: id.clone(),
                            author,
                            text,
                            created,
                            on: String::new(),
                        },
                    )?;
                    save(ctx, |s| s.x_since_id = Some(id))?;
                }
                if let Some(n) = newest {
                    save(ctx, |s| s.x_since_id = Some(n))?;
                }
            }
            Err(e) => out.problem("poll-social:x", format!("{e:#}")),
        }
    }
    ctx.audit.sync()?;
    out.summary = format!("poll-social: {}", out.counts_line());
    Ok(out)
}

fn save(ctx: &Ctx, f: impl FnOnce(&mut SocialState)) -> Result<()> {
    ctx.state
        .update(|s| f(s.social.get_or_insert_with(SocialState::default)))
}

/// The item of one comment or mention, written once.
fn write_item(ctx: &Ctx, out: &mut Outcome, c: Incoming) -> Result<()> {
    let id = crate::vault::item::make_id(c.platform, &[c.id.as_bytes()]);
    if ctx.vault.locate(&id).is_some() {
        out.count("already_ingested", 1);
        return Ok(());
    }
    let source = format!("{}:{}", c.platform, c.id);
    let what = if c.platform == "x" {
        "X mention"
    } else {
        "Facebook comment"
    };
    let who = if c.author.is_empty() {
        "someone".to_string()
    } else {
        c.author.clone()
    };
    let text: String = c.text.chars().take(MAX_TEXT).collect();
    let (_, priority) = crate::passes::intake::route(&ctx.settings.routing, &text);
    let mut item = Item::new(&id, "social", "social", &source, &ctx.clock.stamp());
    item.set("priority", priority);
    item.set("title", format!("{what} from {who}"));
    item.set("platform", c.platform);
    item.set("reply_to", c.id.as_str());
    if !c.author.is_empty() {
        item.set("author", c.author.as_str());
    }
    if !c.created.is_empty() {
        item.set("sent", c.created.as_str());
    }
    if !c.on.is_empty() {
        item.set("post", c.on.as_str());
    }
    item.body = format!(
        "# {what} from {who}\n\n{}\n",
        if text.trim().is_empty() {
            "(no text)"
        } else {
            text.as_str()
        }
    );
    crate::passes::file_new_item(
        ctx,
        out,
        &item,
        serde_json::json!({"platform": c.platform}),
        format!("[[{id}]] {what} from {who}"),
    )
}
