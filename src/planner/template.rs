//! The deterministic template planner: recognises reply requests, invoice requests with an
//! amount and a client, payment requests with a payee and an amount, and social post
//! requests; anything else gets a `note`. Same item in, same plan out.

use super::{Plan, PlanInput, Planner, Proposal};
use crate::policy::bare_address;
use crate::vault::Item;
use anyhow::Result;
use serde_json::{Map, Value, json};

/// The template planner. `acknowledge` (`planner.acknowledge`, default true): a message
/// that asks for an answer gets a drafted "thank you, I will get back to you" reply; when
/// false it gets a note that the owner answers it.
#[derive(Debug)]
pub struct TemplatePlanner {
    pub acknowledge: bool,
}

impl Default for TemplatePlanner {
    fn default() -> Self {
        TemplatePlanner { acknowledge: true }
    }
}

impl Planner for TemplatePlanner {
    fn plan(&mut self, input: &PlanInput) -> Result<Plan> {
        Ok(plan_item_with(input, self.acknowledge))
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("invariant: json! object literal"),
    }
}

/// The text the planner reads: subject and body.
fn item_text(item: &Item) -> String {
    format!("{}\n{}", item.str("subject"), item.body)
}

/// Plans one item (pure), acknowledging messages that ask for an answer.
pub fn plan_item(input: &PlanInput) -> Plan {
    plan_item_with(input, true)
}

/// Plans one item (pure); `acknowledge` as [`TemplatePlanner::acknowledge`].
pub fn plan_item_with(input: &PlanInput, acknowledge: bool) -> Plan {
    let item = input.item;
    let text = item_text(item);
    let lower = text.to_lowercase();
    let from = item.str("from");
    let sender = if from.is_empty() {
        String::new()
    } else {
        bare_address(from)
    };
    let subject = item.str("subject");
    let title = if subject.is_empty() {
        item.str("title").to_string()
    } else {
        subject.to_string()
    };
    let mut plan = Plan {
        planner: "template".into(),
        ..Plan::default()
    };
    let amount = find_amount(&text);

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
        return plan;
    }

    if has_any(
        &lower,
        &[
            "invoice us",
            "invoice for",
            "send an invoice",
            "send us an invoice",
            "send me an invoice",
            "please invoice",
            "bill us",
            "invoice me",
        ],
    ) && let Some((amt, cur)) = amount
    {
        let partner = client_name(item, &text);
        plan.objective = format!("Invoice {partner} for {} {cur}", fmt_amount(amt));
        plan.steps = vec![
            format!(
                "Create a draft invoice in Odoo for {partner}: {} {cur}",
                fmt_amount(amt)
            ),
            "Send the invoice to the client by email".into(),
            "Record the result and file the item in Done/".into(),
        ];
        let description = line_description(&text).unwrap_or_else(|| format!("Services: {title}"));
        plan.proposals.push(Proposal {
            action: obj(json!({
                "kind": "odoo_invoice",
                "partner": partner,
                "partner_email": sender,
                "lines": [{"description": description, "quantity": 1, "price_unit": amt}],
                "currency": cur,
                "ref": item.id(),
            })),
            why: format!(
                "The message asks for an invoice of {} {cur}.",
                fmt_amount(amt)
            ),
        });
        plan.proposals.push(Proposal {
            action: email_action(
                &sender,
                &reply_subject(&title, "Invoice"),
                &format!(
                    "Hello,\n\nAs requested, please find our invoice for {} {cur} ({description}).\n\nReference: {}\n\n{}",
                    fmt_amount(amt),
                    item.id(),
                    signature(input)
                ),
                item,
            ),
            why: "The client asked to receive the invoice.".into(),
        });
        return plan;
    }

    if has_any(
        &lower,
        &[
            "please pay",
            "pay ",
            "payment to",
            "payment of",
            "transfer to",
        ],
    ) && let Some((amt, cur)) = amount
        && let Some(payee) = payee_name(&text)
    {
        let recurring = has_any(
            &lower,
            &[
                "monthly",
                "recurring",
                "subscription",
                "every month",
                "annual",
                "renewal",
            ],
        );
        plan.objective = format!("Pay {payee} {} {cur}", fmt_amount(amt));
        plan.steps = vec![
            format!("Check that {payee} is a known payee and the amount is expected"),
            format!(
                "Record the payment of {} {cur} to {payee} in Odoo",
                fmt_amount(amt)
            ),
            "File the item in Done/".into(),
        ];
        plan.proposals.push(Proposal {
            action: obj(json!({
                "kind": "payment",
                "payee": payee,
                "amount": amt,
                "currency": cur,
                "reference": item.id(),
                "recurring": recurring,
            })),
            why: format!("The item asks to pay {payee} {} {cur}.", fmt_amount(amt)),
        });
        return plan;
    }

    if let Some(platform) = social_platform(&lower)
        && has_any(&lower, &["post", "tweet", "share", "announce", "publish"])
    {
        let post = post_text(&text, platform);
        plan.objective = format!("Publish a post on {platform}");
        plan.steps = vec![
            format!("Draft the {platform} post"),
            "Publish it after approval".into(),
        ];
        plan.proposals.push(Proposal {
            action: obj(json!({"kind": "social_post", "platform": platform, "text": post})),
            why: format!("The item asks for a {platform} post."),
        });
        return plan;
    }

    let is_mail = !from.is_empty();
    let asks = text.contains('?')
        || has_any(
            &lower,
            &[
                "please reply",
                "let me know",
                "can you",
                "could you",
                "would you",
                "please confirm",
                "get back to",
                "please send",
                "i need",
                "help",
            ],
        );
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
            return plan;
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
                return plan;
            }
        }
        plan.proposals.push(Proposal {
            action,
            why: "The WhatsApp message asks something.".into(),
        });
        return plan;
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
        return plan;
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
            action: email_action(&sender, &reply_subject(&title, "Your message"), &body, item),
            why: "The message asks for an answer.".into(),
        });
        return plan;
    }

    plan.objective = if title.is_empty() {
        "Review this item".into()
    } else {
        format!("Review: {title}")
    };
    plan.steps = vec!["Nothing to send or book: file it for the record".into()];
    let summary: String = item.body.trim().chars().take(200).collect();
    plan.proposals.push(Proposal {
        action: obj(json!({"kind": "note", "text": if summary.is_empty() { "No content".to_string() } else { summary }})),
        why: "No reply, invoice, payment or post was asked for.".into(),
    });
    plan
}

/// Whether WhatsApp's 24-hour customer-service window is still open at `now`, counted
/// from the message's own timestamp (`sent`); open when either is unknown.
fn whatsapp_window_open(item: &Item, now: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    let sent = chrono::DateTime::parse_from_rfc3339(item.str("sent")).ok();
    match (sent, now) {
        (Some(s), Some(n)) => n.signed_duration_since(s) < chrono::Duration::hours(24),
        _ => true,
    }
}

fn email_action(to: &str, subject: &str, body: &str, item: &Item) -> Map<String, Value> {
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

fn has_any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| hay.contains(n))
}

fn reply_subject(title: &str, fallback: &str) -> String {
    let t = title.trim();
    if t.is_empty() {
        fallback.to_string()
    } else if t.to_lowercase().starts_with("re:") {
        t.to_string()
    } else {
        format!("Re: {t}")
    }
}

fn signature(input: &PlanInput) -> String {
    match &input.owner.business {
        Some(b) => format!("Best regards,\n{}\n{b}", input.owner.name),
        None => format!("Best regards,\n{}", input.owner.name),
    }
}

/// Quotes the original message: the item's own title line and its links into the vault
/// (`Original: [[...]]`, the attachment list) are not part of what the sender wrote.
fn quote(body: &str) -> String {
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

fn first_name(from: &str) -> String {
    let name = match from.find('<') {
        Some(i) => from[..i].trim().trim_matches('"'),
        None => "",
    };
    name.split_whitespace()
        .next()
        .map(str::to_string)
        .unwrap_or_else(|| "there".into())
}

/// The first amount in the text: `$1,500`, `1500 USD`, `€200.50`, `USD 99`.
pub fn find_amount(text: &str) -> Option<(f64, String)> {
    let symbols = [("$", "USD"), ("€", "EUR"), ("£", "GBP")];
    let codes = ["USD", "EUR", "GBP", "PKR", "CAD", "AUD"];
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(pos, c)) in chars.iter().enumerate() {
        // Only a currency sign, the first letter of a code, or a digit can start an amount.
        if !(c.is_ascii_digit() || matches!(c, '$' | '€' | '£' | 'U' | 'E' | 'G' | 'P' | 'C' | 'A'))
        {
            continue;
        }
        let rest = &text[pos..];
        for (sym, cur) in symbols {
            if let Some(after) = rest.strip_prefix(sym)
                && let Some(n) = leading_number(after.trim_start())
            {
                return Some((n, cur.to_string()));
            }
        }
        for code in codes {
            if rest.starts_with(code)
                && (i == 0 || !chars[i - 1].1.is_ascii_alphabetic())
                && let Some(n) = leading_number(rest[code.len()..].trim_start())
            {
                return Some((n, code.to_string()));
            }
        }
        // A number followed by a currency code or "dollars".
        if chars[i].1.is_ascii_digit()
            && (i == 0
                || !chars[i - 1].1.is_ascii_alphanumeric()
                    && chars[i - 1].1 != '.'
                    && chars[i - 1].1 != ',')
            && let Some(n) = leading_number(rest)
        {
            let tail =
                rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ',' || c == '.');
            let tail = tail.trim_start();
            for code in codes {
                if tail.starts_with(code) {
                    return Some((n, code.to_string()));
                }
            }
            // Not `tail.to_lowercase()`: that copied the rest of the text for every number.
            if tail
                .get(..7)
                .is_some_and(|w| w.eq_ignore_ascii_case("dollars"))
            {
                return Some((n, "USD".into()));
            }
        }
    }
    None
}

fn leading_number(s: &str) -> Option<f64> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
        .unwrap_or(s.len());
    let raw = s[..end].trim_end_matches(['.', ',']).replace(',', "");
    if raw.is_empty() || !raw.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    raw.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n > 0.0)
}

fn fmt_amount(a: f64) -> String {
    if a.fract() == 0.0 {
        format!("{a:.0}")
    } else {
        format!("{a:.2}")
    }
}

/// Words that start with a capital, from `start` on: a name.
fn capitalized_run(s: &str) -> Option<String> {
    let mut words = Vec::new();
    for w in s.split_whitespace() {
        let w =
            w.trim_matches(|c: char| matches!(c, ',' | '.' | ':' | ';' | '!' | '?' | '"' | '\''));
        if w.is_empty() {
            break;
        }
        let first = w.chars().next().expect("invariant: non-empty");
        if first.is_uppercase()
            || (first.is_ascii_digit() && !words.is_empty())
            || (!words.is_empty() && matches!(w, "&" | "and" | "of"))
        {
            words.push(w.to_string());
            if words.len() >= 5 {
                break;
            }
        } else {
            break;
        }
    }
    while words
        .last()
        .is_some_and(|w| matches!(w.as_str(), "&" | "and" | "of"))
    {
        words.pop();
    }
    (!words.is_empty()).then(|| words.join(" "))
}

/// The payee of "pay ACME Hosting $49", "payment to ACME", "Payee: ACME".
fn payee_name(text: &str) -> Option<String> {
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = strip_prefix_ci(l, "payee:") {
            let p = rest.trim();
            if !p.is_empty() {
                return Some(p.to_string());
            }
        }
    }
    let lower = text.to_lowercase();
    for marker in ["payment to ", "transfer to ", "please pay ", "pay "] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(marker) {
            let at = from + i + marker.len();
            if let Some(name) = capitalized_run(&text[at..]) {
                return Some(name);
            }
            from = at;
        }
    }
    None
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

/// The client of an invoice request: a `Client:` line, the sender's display name, or the
/// sender's domain.
fn client_name(item: &Item, text: &str) -> String {
    for line in text.lines() {
        for key in ["client:", "customer:", "company:"] {
            if let Some(rest) = strip_prefix_ci(line.trim(), key) {
                let c = rest.trim();
                if !c.is_empty() {
                    return c.to_string();
                }
            }
        }
    }
    let from = item.str("from");
    if let Some(i) = from.find('<') {
        let name = from[..i].trim().trim_matches('"');
        if !name.is_empty() {
            return name.to_string();
        }
    }
    let addr = bare_address(from);
    if let Some((_, d)) = addr.split_once('@') {
        return d.split('.').next().unwrap_or(d).to_string();
    }
    "Unknown client".into()
}

/// What the invoice is for: the words after "for" in the sentence that names the amount.
fn line_description(text: &str) -> Option<String> {
    for line in text.lines() {
        let lower = line.to_lowercase();
        if let Some(i) = lower.find(" for ") {
            if !lower.contains("invoice") {
                continue;
            }
            let rest = line[i + 5..].trim();
            let cut = rest
                .find(['.', ';', '\n'])
                .map(|j| &rest[..j])
                .unwrap_or(rest)
                .trim();
            let cut: String = cut.chars().take(80).collect();
            if !cut.is_empty() && !cut.starts_with('$') {
                return Some(cut);
            }
        }
    }
    None
}

fn social_platform(lower: &str) -> Option<&'static str> {
    if lower.contains("linkedin") {
        Some("linkedin")
    } else if lower.contains("instagram") {
        Some("instagram")
    } else if lower.contains("facebook") {
        Some("facebook")
    } else if lower.contains("tweet") || lower.contains("twitter") || lower.contains(" on x") {
        Some("x")
    } else if lower.contains("social media") || lower.contains("post about") {
        Some("linkedin")
    } else {
        None
    }
}

/// Whether a body line is aie's own (the link to the original, the attachment list), not
/// what the sender or owner wrote: never quoted, never posted.
fn is_aie_line(l: &str) -> bool {
    let l = l.trim_start();
    l.starts_with("Original: [[")
        || l.starts_with("## Attachments")
        || l.starts_with("- [[Attachments/")
        || l.starts_with("- not saved: ")
}

/// The text of a post: what follows a `Post:` / `Text:` line, else the body without headers;
/// never aie's own lines (a post's text is exactly what is published).
fn post_text(text: &str, platform: &str) -> String {
    let mut out = String::new();
    let mut capture = false;
    for line in text.lines().filter(|l| !is_aie_line(l)) {
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
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        out.trim().to_string()
    };
    if platform == "x" && post.chars().count() > 280 {
        post = post.chars().take(277).collect::<String>() + "...";
    }
    post.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Owner;

    fn plan_for(front: &[(&str, &str)], body: &str) -> Plan {
        let mut item = Item::new("t-1", "email", "general", "inbox:t", "2026-11-22T10:00:00Z");
        for (k, v) in front {
            item.set(k, *v);
        }
        item.body = body.to_string();
        let owner = Owner {
            name: "Sam Owner".into(),
            email: None,
            business: None,
        };
        plan_item(&PlanInput {
            item: &item,
            owner: &owner,
            handbook: "",
            goals: "",
            now: None,
            whatsapp_template: None,
        })
    }

    #[test]
    fn amounts() {
        assert_eq!(
            find_amount("please invoice us for $1,500 today"),
            Some((1500.0, "USD".into()))
        );
        assert_eq!(find_amount("EUR 200.50 due"), Some((200.5, "EUR".into())));
        assert_eq!(
            find_amount("pay 49 USD monthly"),
            Some((49.0, "USD".into()))
        );
        assert_eq!(find_amount("no money here 2026"), None);
    }

    #[test]
    fn invoice_request_gives_draft_invoice_and_email() {
        let p = plan_for(
            &[
                ("from", "Jane Client <jane@acme.com>"),
                ("subject", "Invoice please"),
            ],
            "Hi, please invoice us for the January website work, $1,500. Thanks",
        );
        let kinds: Vec<&str> = p
            .proposals
            .iter()
            .map(|p| p.action["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["odoo_invoice", "send_email"]);
        let inv = &p.proposals[0].action;
        assert_eq!(inv["partner"], "Jane Client");
        assert_eq!(inv["lines"][0]["price_unit"], 1500.0);
        assert_eq!(p.proposals[1].action["to"][0], "jane@acme.com");
    }

    #[test]
    fn payment_request_names_payee_and_amount() {
        let p = plan_for(&[], "Please pay Hosting Co $49 for the monthly server.");
        let a = &p.proposals[0].action;
        assert_eq!(a["kind"], "payment");
        assert_eq!(a["payee"], "Hosting Co");
        assert_eq!(a["amount"], 49.0);
        assert_eq!(a["recurring"], true);
    }

    #[test]
    fn reply_request_quotes_and_signs() {
        let p = plan_for(
            &[
                ("from", "Bob <bob@x.com>"),
                ("subject", "Meeting"),
                ("message_id", "<m1@x.com>"),
            ],
            "Can we meet on Tuesday?",
        );
        let a = &p.proposals[0].action;
        assert_eq!(a["kind"], "send_email");
        assert_eq!(a["subject"], "Re: Meeting");
        assert_eq!(a["in_reply_to"], "<m1@x.com>");
        let body = a["body"].as_str().unwrap();
        assert!(body.contains("> Can we meet on Tuesday?") && body.contains("Sam Owner"));
    }

    #[test]
    fn social_request_and_plain_note() {
        // Regression: a drop's post ended with `Original: [[Attachments/...]]`, a vault link
        // that would have been published.
        let dropped = post_text(
            "# idea\nPlease post on LinkedIn:\nPost: We just shipped v2!\n\nOriginal: [[Attachments/idea-1/idea.txt]]\n",
            "linkedin",
        );
        assert_eq!(dropped, "We just shipped v2!");
        let p = plan_for(&[], "Please post on LinkedIn:\nPost: We just shipped v2!");
        assert_eq!(p.proposals[0].action["platform"], "linkedin");
        assert_eq!(p.proposals[0].action["text"], "We just shipped v2!");
        let p = plan_for(&[], "Minutes of the meeting. Nothing to do.");
        assert_eq!(p.proposals[0].action["kind"], "note");
    }
}
