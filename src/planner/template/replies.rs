//! Answers to messages that ask something: a public reply, a WhatsApp message, a mail
//! acknowledgement; and the pieces of a reply mail.

use super::is_aie_line;
use super::phrases::Group;
use super::{Read, obj};
use crate::planner::PlanInput;
use crate::planner::{Plan, Proposal};
use crate::vault::Item;
use serde_json::json;
use serde_json::{Map, Value};

/// A message that asks something: a drafted answer (or a note that the owner answers).
pub(super) fn answer(r: &Read, acknowledge: bool, plan: &mut Plan) -> bool {
    let (input, item, text) = (r.input, r.item, &r.text);
    let (from, sender, title) = (r.from, &r.sender, &r.title);
    let is_mail = !from.is_empty();
    let asks = text.contains('?') || r.found.any(Group::Asks);
    let kind = item.str("kind");
    if kind == "social" && asks {
        let platform = item.str("platform");
        let reply_to = item.str("reply_to");
        if matches!(platform, "facebook" | "x") && !reply_to.is_empty() {
            let who = item.str("author");
            plan.objective = format!("Answer {who} on {platform}");
            plan.steps = vec![
                "Draft a public reply".into(),
                "Publish it after approval (a reply always waits)".into(),
            ];
            let text = "Thank you for your message! We will get back to you shortly.";
            plan.proposals.push(Proposal {
                action: obj(json!({"kind": "social_post", "platform": platform,
                    "text": text, "reply_to": reply_to})),
                why: format!("The {platform} message asks something."),
            });
            return true;
        }
    }
    if kind == "whatsapp" && asks && !from.is_empty() {
        plan.objective = format!(
            "Answer {} on WhatsApp",
            item.str("title").trim_start_matches("WhatsApp from ")
        );
        let first = item
            .str("from_name")
            .split_whitespace()
            .next()
            .unwrap_or("there")
            .to_string();
        let text = format!(
            "Hi {first}, thank you for your message. I have received it and will get back to you shortly."
        );
        let mut action = obj(json!({"kind": "whatsapp_send", "to": from, "text": text}));
        match (
            whatsapp_window_open(item, input.now),
            input.whatsapp_template,
        ) {
            (true, _) => {
                plan.steps = vec!["Send a short answer after approval".into()];
            }
            (false, Some(t)) => {
                plan.steps = vec![
                    "Outside the 24-hour window: send the approved template after approval".into(),
                ];
                action.insert("template".into(), t.into());
            }
            (false, None) => {
                plan.steps = vec!["Answer the message yourself".into()];
                plan.proposals.push(Proposal {
                    action: obj(json!({"kind": "note", "text": format!(
                        "{from} wrote more than 24 h ago: WhatsApp only takes an approved template now (set `whatsapp.reply_template` in aie.yaml, or answer by hand)"
                    )})),
                    why: "The message asks something, and the 24-hour window has closed.".into(),
                });
                return true;
            }
        }
        plan.proposals.push(Proposal {
            action,
            why: "The WhatsApp message asks something.".into(),
        });
        return true;
    }
    if is_mail && asks && !acknowledge {
        plan.objective = format!("Answer {from}");
        plan.steps = vec!["Answer the message yourself".into()];
        plan.proposals.push(Proposal {
            action: obj(json!({"kind": "note", "text": format!(
                "{from} asks for an answer: no acknowledgement was drafted (`planner.acknowledge: false` in aie.yaml)"
            )})),
            why: "The message asks for an answer, and automatic acknowledgements are off.".into(),
        });
        return true;
    }
    if is_mail && asks {
        plan.objective = format!("Reply to {from}");
        plan.steps = vec![
            "Draft a reply that answers the message".into(),
            "Send it after approval (or by policy for a known contact)".into(),
        ];
        let first = first_name(from);
        let body = format!(
            "Hi {first},\n\nThank you for your message. I have received it and will get back to you with a full answer shortly.\n\n{}\n\n{}",
            signature(input),
            quote(&item.body)
        );
        plan.proposals.push(Proposal {
            action: email_action(sender, &reply_subject(title, "Your message"), &body, item),
            why: "The message asks for an answer.".into(),
        });
        return true;
    }

    false
}

/// Whether WhatsApp's 24-hour customer-service window is still open at `now`, counted
/// from the message's own timestamp (`sent`); open when either is unknown.
pub(super) fn whatsapp_window_open(
    item: &Item,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> bool {
    let sent = chrono::DateTime::parse_from_rfc3339(item.str("sent")).ok();
    match (sent, now) {
        (Some(s), Some(n)) => n.signed_duration_since(s) < chrono::Duration::hours(24),
        _ => true,
    }
}

pub(super) fn email_action(to: &str, subject: &str, body: &str, item: &Item) -> Map<String, Value> {
    let to: Vec<String> = if to.contains('@') {
        vec![to.to_string()]
    } else {
        Vec::new()
    };
    let mut a = obj(json!({"kind": "send_email", "to": to, "subject": subject, "body": body}));
    let mid = item.str("message_id");
    if !mid.is_empty() {
        a.insert("in_reply_to".into(), mid.into());
    }
    a
}

pub(super) fn reply_subject(title: &str, fallback: &str) -> String {
    let t = title.trim();
    if t.is_empty() {
        fallback.to_string()
    } else if t.to_lowercase().starts_with("re:") {
        t.to_string()
    } else {
        format!("Re: {t}")
    }
}

pub(super) fn signature(input: &PlanInput) -> String {
    match &input.owner.business {
        Some(b) => format!("Best regards,\n{}\n{b}", input.owner.name),
        None => format!("Best regards,\n{}", input.owner.name),
    }
}

/// Quotes the original message: the item's own title line and its links into the vault
/// (`Original: [[...]]`, the attachment list) are not part of what the sender wrote.
pub(super) fn quote(body: &str) -> String {
    let mut lines: Vec<&str> = body.trim().lines().collect();
    if lines.first().is_some_and(|l| l.starts_with("# ")) {
        lines.remove(0);
    }
    lines.retain(|l| !is_aie_line(l));
    let text = lines.join("\n");
    text.trim()
        .lines()
        .take(40)
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn first_name(from: &str) -> String {
    let name = match from.find('<') {
        Some(i) => from[..i].trim().trim_matches('"'),
        None => "",
    };
    name.split_whitespace()
        .next()
        .map(str::to_string)
        .unwrap_or_else(|| "there".into())
}
