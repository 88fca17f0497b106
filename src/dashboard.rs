//! `Dashboard.md`: rewritten between its markers (the owner's own notes outside them stay)
//! by the local agent, only when the content would change. Counts per stage, items waiting
//! for approval with their age, what needs attention, recent activity, last runs.

use crate::clock::parse_time;
use crate::context::Ctx;
use crate::fsutil;
use crate::state::State;
use crate::vault::{self, Item, Stage, Vault};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// One folder of requests (`Pending_Approval/<domain>/`), read once: its count for the
/// queue table, its first items for the list of requests.
struct Requests {
    domain: String,
    dir: PathBuf,
    count: usize,
    first: Vec<PathBuf>,
}

pub const START: &str = "<!-- aie:dashboard:start -->";
pub const END: &str = "<!-- aie:dashboard:end -->";

/// Items per stage, in the order people read them.
pub fn queue_counts(v: &Vault) -> Vec<(String, usize)> {
    queue_counts_knowing(v, |_| None)
}

/// [`queue_counts`], with the count of each folder that `known` gives taken as it is.
fn queue_counts_knowing(v: &Vault, known: impl Fn(&Path) -> Option<usize>) -> Vec<(String, usize)> {
    let count = |dir: PathBuf| known(&dir).unwrap_or_else(|| vault::count_items(&dir));
    let sum = |top: &str| -> usize {
        let dir = v.root().join(top);
        std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| count(e.path()))
                    .sum()
            })
            .unwrap_or(0)
    };
    let inbox = std::fs::read_dir(v.inbox())
        .map(|rd| {
            rd.flatten()
                .filter(|e| !fsutil::is_ignored_name(&e.file_name().to_string_lossy()))
                .count()
        })
        .unwrap_or(0);
    vec![
        ("inbox".into(), inbox),
        ("needs_action".into(), sum("Needs_Action")),
        ("in_progress".into(), sum("In_Progress")),
        ("pending_approval".into(), sum("Pending_Approval")),
        (
            "approved".into(),
            vault::count_items(&v.stage_dir(&Stage::Approved)),
        ),
        (
            "rejected".into(),
            vault::count_items(&v.stage_dir(&Stage::Rejected)),
        ),
        (
            "done".into(),
            vault::count_items(&v.stage_dir(&Stage::Done)),
        ),
    ]
}

fn age(from: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let Some(t) = parse_time(from) else {
        return "?".into();
    };
    let mins = (now - t).num_minutes().max(0);
    if mins < 60 {
        format!("{mins} min")
    } else if mins < 48 * 60 {
        format!("{} h", mins / 60)
    } else {
        format!("{} days", mins / 1440)
    }
}

/// `text` made safe for one line of the block: scrubbed of secrets, every line break and
/// control character a space, `<` and `>` as HTML entities, `\\`, `[`, `]`, `|` behind a backslash (so
/// no `<!--`, `-->`, `[[`, `]]` or table cell is left): a mail subject or a server's
/// reply is data, never markup, and must never contain a marker aie itself looks for.
pub fn inline(text: &str) -> String {
    escaped_line(text, true)
}

/// A line aie composed itself (its own `[[id]]` links stay) around texts from outside: one
/// line, secrets scrubbed, `<` and `>` as entities: it can never hold a marker or a comment.
fn own_line(text: &str) -> String {
    escaped_line(text, false)
}

/// `text` on one line, scrubbed of secrets, `<` and `>` as entities; with `links`, `\\`,
/// `[`, `]` and `|` behind a backslash too.
fn escaped_line(text: &str, links: bool) -> String {
    let text = crate::secrets::scrub(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '[' | ']' | '|' if links => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A wikilink to the item file `stem`, or the escaped name when it cannot be a link.
fn link(stem: &str) -> String {
    let plain = !stem.is_empty()
        && stem
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '));
    if plain {
        format!("[[{stem}]]")
    } else {
        inline(stem)
    }
}

/// What the settings make aie do that the owner must know from the first run: dry-run, and
/// the template planner's automatic acknowledgements.
fn mode_lines(ctx: &Ctx) -> String {
    let mut s = String::new();
    if ctx.settings.execution.dry_run {
        s.push_str("**Dry-run**: approved actions are only previewed, nothing is sent or booked (set `execution.dry_run: false` in aie.yaml to act for real).\n\n");
    } else {
        s.push_str("**Live**: approved actions run for real.\n\n");
    }
    if ctx.settings.planner.acknowledge {
        s.push_str("**Acknowledgements on**: a message that asks for an answer gets a drafted \"Thank you for your message, I will get back to you\" reply, sent without asking you when the sender is a known contact (`planner.acknowledge: false` in aie.yaml turns it off).\n\n");
    }
    s
}

/// The block between the markers.
pub fn render(ctx: &Ctx, state: &State) -> String {
    let v = &ctx.vault;
    let now = ctx.clock.now();
    let mut s = format!(
        "_Updated by aie ({}) at {}._\n\n## Queues\n\n| Stage | Items |\n|---|---|\n",
        ctx.agent,
        ctx.clock.stamp()
    );
    // Each folder of requests is read once: its count for the table, its first items
    // for the list below.
    let waiting: Vec<Requests> = v
        .stages()
        .into_iter()
        .filter_map(|stage| {
            let Stage::PendingApproval(domain) = &stage else {
                return None;
            };
            let dir = v.stage_dir(&stage);
            let (count, first) = vault::count_and_first(&dir, 50);
            Some(Requests {
                domain: domain.clone(),
                dir,
                count,
                first,
            })
        })
        .collect();
    let known = |dir: &Path| waiting.iter().find(|r| r.dir == dir).map(|r| r.count);
    for (name, n) in queue_counts_knowing(v, known) {
        s.push_str(&format!("| {name} | {n} |\n"));
    }
    s.push('\n');
    s.push_str(&mode_lines(ctx));
    // Requests sent back (a connector not set up, a changed approval, an unknown outcome)
    // come first, with their review note: they are not ordinary requests.
    let mut review = String::new();
    let mut waiting_lines = String::new();
    for Requests { domain, first, .. } in &waiting {
        for p in first {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            match Item::read(p) {
                Ok(item) if !item.str("review").is_empty() => {
                    review.push_str(&format!(
                        "- {} ({domain}): **{}** Proposed: {}\n",
                        link(&stem),
                        inline(item.str("review")),
                        inline(&crate::passes::plan::summary(&item, &ctx.settings))
                    ));
                }
                Ok(item) => {
                    let since = if item.str("requested").is_empty() {
                        item.str("created")
                    } else {
                        item.str("requested")
                    };
                    waiting_lines.push_str(&format!(
                        "- {} ({domain}, waiting {}): {}\n",
                        link(&stem),
                        age(since, now),
                        // From the actions, never the file's `summary:` (it may be stale
                        // or written by someone else): the owner approves what this says.
                        inline(&crate::passes::plan::summary(&item, &ctx.settings))
                    ));
                }
                Err(_) => waiting_lines
                    .push_str(&format!("- {} ({domain}): cannot be read\n", link(&stem))),
            }
        }
    }
    if !review.is_empty() {
        s.push_str("\n## Sent back for your review\n\nRead the note, fix what it names, then move the file to Approved/ again (or to Rejected/).\n\n");
        s.push_str(&review);
    }
    s.push_str("\n## Waiting for your approval\n\n");
    s.push_str(&waiting_lines);
    if waiting_lines.is_empty() {
        s.push_str("Nothing is waiting for you.\n");
    }
    s.push_str("\n## Needs attention\n\n");
    if state.attention.is_empty() {
        s.push_str("Nothing.\n");
    }
    for (_, a) in state.attention.iter().take(30) {
        s.push_str(&format!(
            "- {} (since {})\n",
            inline(&a.message),
            inline(&a.since)
        ));
    }
    s.push_str("\n## Recent activity\n\n");
    if state.recent.is_empty() {
        s.push_str("None yet.\n");
    }
    for r in state.recent.iter().rev() {
        s.push_str(&format!("- {} {}\n", inline(&r.ts), own_line(&r.text)));
    }
    s.push_str(&health_section(ctx, state));
    s.push_str("\n## Last runs\n\n| Command | Last change | Last exit | Failures in a row |\n|---|---|---|---|\n");
    for (job, j) in &state.jobs {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            inline(job),
            inline(j.last_work.as_deref().unwrap_or("-")),
            j.last_exit
                .map(|e| e.to_string())
                .unwrap_or_else(|| "-".into()),
            j.consecutive_failures
        ));
    }
    s
}

/// The Health section: the active zone, every agent's heartbeat, each check's state, the
/// newest alerts, the claims in flight, the last sync, and what the other agents report in
/// `Updates/` (the local agent folds them in here). Every text from the vault is escaped.
fn health_section(ctx: &Ctx, state: &State) -> String {
    let mut s = String::from("\n## Health\n\n");
    if let Some(z) = crate::zones::active(ctx) {
        s.push_str(&format!(
            "- Active zone: {} (agent {})\n",
            inline(&z.name),
            inline(&z.agent)
        ));
    }
    for b in crate::zones::heartbeats(ctx) {
        s.push_str(&format!(
            "- Heartbeat of {} ({}): {}\n",
            inline(b["agent"].as_str().unwrap_or("?")),
            inline(b["mode"].as_str().unwrap_or("?")),
            inline(b["ts"].as_str().unwrap_or("?"))
        ));
    }
    if let Some(j) = state.jobs.get("sync-vault") {
        s.push_str(&format!(
            "- Last sync: {} (exit {})\n",
            inline(j.last_success.as_deref().unwrap_or("never")),
            j.last_exit
                .map(|e| e.to_string())
                .unwrap_or_else(|| "-".into())
        ));
    }
    for stage in ctx.vault.stages() {
        if let Stage::InProgress(agent) = &stage {
            let n = ctx.vault.list(&stage).map(|v| v.len()).unwrap_or(0);
            if n > 0 {
                s.push_str(&format!("- Claimed by {}: {n}\n", inline(agent)));
            }
        }
    }
    if !state.health.is_empty() {
        s.push_str("\n| Check | State | Since | Last result |\n|---|---|---|---|\n");
        for (name, c) in &state.health {
            s.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                inline(name),
                inline(&c.status.to_uppercase()),
                inline(c.since.as_deref().unwrap_or("-")),
                inline(&c.last_message)
            ));
        }
    }
    let alerts = crate::alerts::recent(ctx, 5);
    if !alerts.is_empty() {
        s.push_str("\nRecent alerts:\n\n");
        for a in alerts.iter().rev() {
            s.push_str(&format!(
                "- {} {} {}: {}\n",
                inline(a["ts"].as_str().unwrap_or("")),
                inline(a["level"].as_str().unwrap_or("critical")),
                inline(a["key"].as_str().or(a["unit"].as_str()).unwrap_or("")),
                inline(a["message"].as_str().unwrap_or(""))
            ));
        }
    }
    for (agent, text) in updates(ctx) {
        s.push_str(&format!("\nFrom agent {}:\n\n", inline(&agent)));
        for l in text.lines().filter(|l| l.starts_with("- ")).take(20) {
            s.push_str(&format!("- {}\n", inline(l.trim_start_matches("- "))));
        }
    }
    s
}

/// The other agents' `Updates/<agent>.md` (never this agent's own), read without following
/// a link.
fn updates(ctx: &Ctx) -> Vec<(String, String)> {
    let dir = ctx.vault.root().join("Updates");
    let mut out = Vec::new();
    for p in fsutil::sorted_paths(&dir) {
        let Some(agent) = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".md"))
            .map(str::to_string)
        else {
            continue;
        };
        if agent == ctx.agent || agent.starts_with('.') {
            continue;
        }
        if let Ok((bytes, _)) = fsutil::read_regular_nofollow(&p) {
            out.push((agent, String::from_utf8_lossy(&bytes).to_string()));
        }
    }
    out
}

/// Replaces the block between the markers of `text` (appending one when missing): from the
/// last start marker to the last end marker after it. aie's own block never holds a marker,
/// so a marker inside that span can only be one a mail subject smuggled in before such texts
/// were escaped; taking the whole span drops it and repairs a file that grew with each pass.
pub fn splice(text: &str, block: &str) -> String {
    let a = text.rfind(START);
    let b = a.and_then(|a| text[a..].rfind(END).map(|b| a + b));
    match (a, b) {
        (Some(a), Some(b)) => {
            format!("{}{START}\n{block}{}", &text[..a], &text[b..])
        }
        _ => {
            let mut t = text.to_string();
            if !t.is_empty() && !t.ends_with('\n') {
                t.push('\n');
            }
            format!("{t}\n{START}\n{block}{END}\n")
        }
    }
}

/// Reports a change where this agent's mode says: the full agent rewrites `Dashboard.md`,
/// a draft_only agent its own page in `Updates/`. A failure is a warning, never the pass's.
pub fn report(ctx: &Ctx) {
    let res = match ctx.mode {
        crate::context::Mode::Full => refresh(ctx),
        crate::context::Mode::DraftOnly => write_update(ctx),
    };
    if let Err(e) = res {
        log::warn!("cannot refresh the dashboard: {e:#}");
    }
}

/// Rewrites `Dashboard.md` when its content would change (the local, full agent only).
pub fn refresh(ctx: &Ctx) -> Result<bool> {
    let path = ctx.vault.root().join("Dashboard.md");
    // Never through a link: a `Dashboard.md` linked to a key file would publish the key.
    let old = read_own_page(ctx, &path)?.unwrap_or_else(|| "# Dashboard\n".into());
    let state = ctx.state.load()?;
    let block = render(ctx, &state);
    // The stamp line changes every time: compare without it.
    let strip = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("_Updated by aie"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let new = splice(&old, &block);
    if strip(&new) == strip(&old) {
        return Ok(false);
    }
    fsutil::write_atomic(&path, new.as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(true)
}

/// `Updates/<agent>.md`: what a draft_only agent reports instead of writing the Dashboard
/// (the same facts, as seen by that agent). Rewritten when its content would change.
pub fn write_update(ctx: &Ctx) -> Result<bool> {
    let path = ctx
        .vault
        .root()
        .join("Updates")
        .join(format!("{}.md", ctx.agent));
    let state = ctx.state.load()?;
    let new = format!(
        "# Update from agent `{}`\n\n{}",
        ctx.agent,
        render(ctx, &state)
    );
    let old = read_own_page(ctx, &path)?.unwrap_or_default();
    let strip = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("_Updated by aie"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if strip(&new) == strip(&old) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    fsutil::write_atomic(&path, new.as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(true)
}

/// The current text of a page aie rewrites (`None` when missing). A symbolic link, or
/// anything but a regular file, is an error naming it: nothing is read through it, and the
/// page is not rewritten.
fn read_own_page(ctx: &Ctx, path: &std::path::Path) -> Result<Option<String>> {
    let bytes = fsutil::read_vault_file(ctx.vault.root(), path)
        .with_context(|| format!("`{}` is not rewritten", ctx.vault.rel(path)))?;
    Ok(bytes.map(|b| String::from_utf8_lossy(&b).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_keeps_the_owner_notes() {
        let t = format!("# Mine\nnotes\n{START}\nold\n{END}\nafter\n");
        let out = splice(&t, "new\n");
        assert_eq!(out, format!("# Mine\nnotes\n{START}\nnew\n{END}\nafter\n"));
        let out = splice("# bare", "b\n");
        assert!(out.starts_with("# bare\n\n") && out.contains("b\n<!-- aie:dashboard:end -->"));
    }

    /// Finding 12: a subject holding the end marker made the old splice stop at it, keeping
    /// the rest of the old block as "owner notes": the file grew on every pass. A file that
    /// grew that way is repaired, the owner's notes before and after kept.
    #[test]
    fn splice_repairs_a_block_with_a_smuggled_end_marker() {
        let grown =
            format!("# Mine\n{START}\nnew - x {END} y\nold - x {END} y\nolder\n{END}\nafter\n");
        let out = splice(&grown, "clean\n");
        assert_eq!(out, format!("# Mine\n{START}\nclean\n{END}\nafter\n"));
        assert_eq!(splice(&out, "clean\n"), out);
    }

    #[test]
    fn inline_text_cannot_hold_markers_links_or_lines() {
        let evil = format!("a {END}\n# Heading\r\n[[Secret note]] | x \u{2028}{START}");
        let out = inline(&evil);
        assert!(!out.contains(END) && !out.contains(START), "{out}");
        assert!(!out.contains("<!--") && !out.contains("-->"), "{out}");
        assert!(
            !out.contains('\n') && !out.contains('\r') && !out.contains("[["),
            "{out}"
        );
        assert!(!out.contains(" | "), "{out}");
        assert_eq!(inline("plain text: ok"), "plain text: ok");
        assert_eq!(link("ab-12_x"), "[[ab-12_x]]");
        assert!(!link("x]] <!-- y").contains("]]"));
    }
}
