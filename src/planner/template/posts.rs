//! Posts: one the owner wrote in the content calendar, or one an item asks for.

use super::phrases::{Found, Group};
use super::{Read, obj};
use super::{is_aie_line, strip_prefix_ci};
use crate::actions::social_post::{length, limit};
use crate::planner::{Plan, Proposal};
use serde_json::json;

/// A post the owner wrote in the content calendar: published as written.
pub(super) fn calendar_post(r: &Read, plan: &mut Plan) -> bool {
    let Read { item, .. } = r;
    if item.str("source").starts_with("calendar:") {
        let platform = item.str("platform").to_string();
        plan.objective = format!("Publish the {platform} post from the content calendar");
        plan.steps = vec![format!(
            "Publish it on {platform} as written in the calendar"
        )];
        let mut action = obj(
            json!({"kind": "social_post", "platform": platform, "text": item.str("post_text")}),
        );
        if !item.str("scheduled_at").is_empty() {
            action.insert("scheduled_at".into(), item.str("scheduled_at").into());
        }
        plan.proposals.push(Proposal {
            action,
            why: "The owner wrote this post in the content calendar.".into(),
        });
        return true;
    }
    false
}

/// An item that asks for a post on a platform.
pub(super) fn social_post(r: &Read, plan: &mut Plan) -> bool {
    let Read { text, found, .. } = r;
    if let Some(platform) = social_platform(found)
        && found.any(Group::PostWords)
    {
        let post = post_text(text, platform);
        plan.objective = format!("Publish a post on {platform}");
        plan.steps = vec![
            format!("Draft the {platform} post"),
            "Publish it after approval".into(),
        ];
        plan.proposals.push(Proposal {
            action: obj(json!({"kind": "social_post", "platform": platform, "text": post})),
            why: format!("The item asks for a {platform} post."),
        });
        return true;
    }
    false
}

pub(super) fn social_platform(found: &Found) -> Option<&'static str> {
    if found.any(Group::Linkedin) {
        Some("linkedin")
    } else if found.any(Group::Instagram) {
        Some("instagram")
    } else if found.any(Group::Facebook) {
        Some("facebook")
    } else if found.any(Group::X) {
        Some("x")
    } else if found.any(Group::SocialMedia) {
        Some("linkedin")
    } else {
        None
    }
}

/// The text of a post: what follows a `Post:` / `Text:` line, else the body without headers;
/// never aie's own lines (a post's text is exactly what is published).
pub(super) fn post_text(text: &str, platform: &str) -> String {
    let mut out = String::new();
    let mut capture = false;
    for line in crate::lines::lines(text).filter(|l| !is_aie_line(l)) {
        let t = line.trim();
        if let Some(rest) = strip_prefix_ci(t, "post:").or_else(|| strip_prefix_ci(t, "text:")) {
            capture = true;
            out.push_str(rest.trim());
            continue;
        }
        if capture {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(line);
        }
    }
    let mut post = if out.trim().is_empty() {
        crate::lines::lines(text)
            .skip(1)
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !is_aie_line(l))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        out.trim().to_string()
    };
    if platform == "x" && length("x", &post) > limit("x") {
        post = shortened_for_x(post.trim());
    }
    post.trim().to_string()
}

/// A post cut to fit X as X counts it ([`length`]: a link 23, a wide letter 2): its first
/// whole words, then `...`, so a link is never cut in two. A first word too long for the
/// post is cut between letters.
fn shortened_for_x(post: &str) -> String {
    let room = limit("x") - "...".len();
    let (mut used, mut offset, mut cut) = (0, 0, 0);
    for word in post.split_inclusive(char::is_whitespace) {
        let w = word.trim_end();
        if used + length("x", w) > room {
            break;
        }
        cut = offset + w.len();
        used += length("x", word);
        offset += word.len();
    }
    if cut == 0 {
        // Not a link (a link counts 23 and fits): each letter counts on its own.
        let mut buf = [0; 4];
        for (i, c) in post.char_indices() {
            used += length("x", c.encode_utf8(&mut buf));
            if used > room {
                break;
            }
            cut = i + c.len_utf8();
        }
    }
    format!("{}...", post[..cut].trim_end())
}
