//! The deterministic template planner: recognises reply requests, invoice requests with an
//! amount and a client, payment requests with a payee and an amount, and social post
//! requests; anything else gets a `note`. Same item in, same plan out.

use super::{Plan, PlanInput, Planner, Proposal};
use crate::connectors::odoo_ledger::INVOICE_REF;
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

    if let Some(number) = invoice_to_post(&text, &lower) {
        plan.objective = format!("Post invoice {number} in Odoo");
        plan.steps = vec![
            format!("Post (confirm) invoice {number} in Odoo once you approve"),
            "File the item in Done/".into(),
        ];
        plan.proposals.push(Proposal {
            action: obj(json!({"kind": "odoo_post_invoice", "invoice": number})),
            why: format!("The item asks to post or send the existing invoice {number}."),
        });
        return plan;
    }

    if let Some(pdf) = vendor_bill(item, &lower) {
        let (vendor, _, whence) = customer(item, &text);
        let mut bill = obj(json!({"kind": "odoo_bill", "vendor": vendor}));
        let mut known = vec![format!("vendor {vendor} ({whence})")];
        match amount {
            Some((amt, cur)) => {
                bill.insert("amount".into(), json!(amt));
                bill.insert("currency".into(), json!(cur));
                known.push(crate::accounting::money(amt, &cur));
            }
            None => known.push(
                "no amount could be read: fill in `amount` (and `currency`) before you approve"
                    .into(),
            ),
        }
        if let Some(r) = client_reference(&text) {
            bill.insert("ref".into(), json!(r));
        }
        let description = match &pdf {
            Some(f) => format!("Bill from {vendor} ({f})"),
            None => format!("Bill from {vendor}: {title}"),
        };
        bill.insert("description".into(), json!(description));
        plan.objective = format!("Record the bill from {vendor} in Odoo");
        plan.steps = vec![
            "Check the bill (amount, date, reference) against the original".into(),
            format!("Record it in Odoo as a draft vendor bill from {vendor}"),
        ];
        plan.proposals.push(Proposal {
            action: bill,
            why: format!(
                "A supplier's bill{}: {}.",
                pdf.as_deref()
                    .map(|f| format!(" arrived as {f}, which aie does not read"))
                    .unwrap_or_default(),
                known.join("; ")
            ),
        });
        return plan;
    }

    if has_any(&lower, INVOICE_REQUEST)
        && let Some((amt, cur)) = amount
    {
        let (partner, is_company, whence) = customer(item, &text);
        let money = crate::accounting::money(amt, &cur);
        let reference = client_reference(&text);
        let description = line_description(&text).unwrap_or_else(|| format!("Services: {title}"));
        let contact = item.str("from").to_string();
        plan.objective = format!("Invoice {partner} for {money}");
        plan.steps = vec![
            format!(
                "Create a draft invoice in Odoo for {partner} ({}, {whence}): {money}{}",
                if is_company { "the company" } else { "the person" },
                reference
                    .as_deref()
                    .map(|r| format!(", reference {r}"))
                    .unwrap_or_default()
            ),
            "Post the invoice in Odoo once you approve".into(),
            "Reply with the posted invoice attached as Odoo's PDF (it waits until the invoice is posted)".into(),
        ];
        let mut invoice = obj(json!({
            "kind": "odoo_invoice",
            "partner": partner,
            "partner_email": sender,
            "partner_is_company": is_company,
            "lines": [{"description": description, "quantity": 1, "price_unit": amt}],
            "currency": cur,
        }));
        if let Some(r) = &reference {
            invoice.insert("ref".into(), json!(r));
        }
        plan.proposals.push(Proposal {
            action: invoice,
            why: format!(
                "The message asks for an invoice of {money}. Customer: {partner}, {} ({whence}); contact {contact}.",
                if is_company { "the company" } else { "the person" }
            ),
        });
        plan.proposals.push(Proposal {
            action: obj(json!({"kind": "odoo_post_invoice", "invoice": INVOICE_REF})),
            why: "A client never receives a draft: the invoice is posted before it is sent.".into(),
        });
        let mut reply = email_action(
            &sender,
            &reply_subject(&title, "Invoice"),
            &format!(
                "Hello,\n\nAs requested, please find attached our invoice {{invoice_number}} for {money} ({description}).{}\n\n{}",
                reference
                    .as_deref()
                    .map(|r| format!("\n\nYour reference: {r}"))
                    .unwrap_or_default(),
                signature(input)
            ),
            item,
        );
        let cc: Vec<String> = crate::actions::list_of(&item.front, "cc")
            .iter()
            .flat_map(|c| c.split(','))
            .map(bare_address)
            .filter(|a| a.contains('@') && *a != sender)
            .collect();
        if !cc.is_empty() {
            reply.insert("cc".into(), json!(cc));
        }
        reply.insert("attachments".into(), json!([INVOICE_REF]));
        plan.proposals.push(Proposal {
            action: reply,
            why: "The client asked to receive the invoice: it goes with Odoo's PDF of the posted invoice.".into(),
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
            "transfer",
            "settle",
            "wire",
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
    let bytes = text.as_bytes();
    for (pos, &b) in bytes.iter().enumerate() {
        // Only a currency sign (`€` and `£` start with 0xE2 and 0xC2), the first letter of a
        // code, or a digit can start an amount. Each of these bytes starts a character.
        if !(b.is_ascii_digit()
            || matches!(
                b,
                b'$' | 0xE2 | 0xC2 | b'U' | b'E' | b'G' | b'P' | b'C' | b'A'
            ))
        {
            continue;
        }
        // The character before, when it is ASCII (a byte of a longer character is neither
        // a letter, a digit, `.` nor `,` of ASCII).
        let prev = pos.checked_sub(1).map(|p| bytes[p]);
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
                && prev.is_none_or(|p| !p.is_ascii_alphabetic())
                && let Some(n) = leading_number(rest[code.len()..].trim_start())
            {
                return Some((n, code.to_string()));
            }
        }
        // A number followed by a currency code or "dollars".
        if b.is_ascii_digit()
            && prev.is_none_or(|p| !p.is_ascii_alphanumeric() && p != b'.' && p != b',')
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
            for (sym, cur) in symbols {
                if tail.starts_with(sym) {
                    return Some((n, cur.to_string()));
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
    for marker in [
        "payment to ",
        "transfer to ",
        "wire to ",
        "settle up with ",
        "settle with ",
        "please pay ",
        "pay ",
        "settle ",
        "wire ",
        "transfer ",
        " to ",
        "owe ",
    ] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(marker) {
            let at = from + i + marker.len();
            // "EUR 300 to ..." is an amount, not a payee.
            // and "Acme Corp 450 USD" names Acme Corp.
            let codes = ["USD", "EUR", "GBP", "PKR", "CAD", "AUD"];
            if let Some(name) = capitalized_run(&text[at..]) {
                let mut words: Vec<&str> = name
                    .split_whitespace()
                    .take_while(|w| !codes.contains(w))
                    .collect();
                if words.len() < name.split_whitespace().count() {
                    while words
                        .last()
                        .is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit()))
                    {
                        words.pop();
                    }
                }
                if !words.is_empty() {
                    return Some(words.join(" "));
                }
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

/// How a client asks for an invoice.
const INVOICE_REQUEST: &[&str] = &[
    "invoice us",
    "invoice for",
    "send an invoice",
    "send us an invoice",
    "send me an invoice",
    "please invoice",
    "bill us",
    "invoice me",
];

/// The number of an existing invoice the owner asks to post or send: "post invoice
/// INV/2026/00007", "please send the invoice INV/2026/00012", "confirm invoice 42".
fn invoice_to_post(text: &str, lower: &str) -> Option<String> {
    const NOUNS: [&str; 4] = [
        " invoice ",
        " the invoice ",
        " invoice no. ",
        " invoice number ",
    ];
    for verb in ["post", "send", "confirm", "validate"] {
        // One pass over the verb's places; the first noun (in this order) found after it
        // wins, at its first place.
        let mut found: [Option<String>; 4] = Default::default();
        let mut from = 0;
        while let Some(i) = lower[from..].find(verb) {
            let at = from + i;
            from = at + verb.len();
            let after = &lower[from..];
            for (n, noun) in NOUNS.iter().enumerate() {
                if found[n].is_some() || !after.starts_with(noun) {
                    continue;
                }
                let before_ok = at == 0
                    || !lower[..at]
                        .chars()
                        .next_back()
                        .is_some_and(char::is_alphanumeric);
                let rest = &text[from + noun.len()..];
                let word = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches('#')
                    .trim_end_matches(['.', ',', ';', ')', '!', '?']);
                if before_ok && word.chars().any(|c| c.is_ascii_digit()) && word.len() <= 40 {
                    found[n] = Some(word.to_string());
                }
            }
            if found[0].is_some() {
                break;
            }
        }
        if let Some(word) = found.into_iter().flatten().next() {
            return Some(word);
        }
    }
    None
}

/// Whether the item is a supplier's bill: `Some(Some(file))` when it comes as a PDF aie
/// does not read (dropped, or attached to a mail), `Some(None)` when the text says so.
fn vendor_bill(item: &Item, lower: &str) -> Option<Option<String>> {
    let pdfs: Vec<String> = std::iter::once(item.str("original").to_string())
        .chain(item.body.lines().filter_map(|l| {
            let l = l.trim_start();
            l.strip_prefix("- [[Attachments/")
                .map(|r| r.trim_end_matches("]]").to_string())
        }))
        .filter(|f| f.to_lowercase().ends_with(".pdf"))
        .map(|f| f.rsplit('/').next().unwrap_or(&f).to_string())
        .collect();
    let billish = has_any(lower, &["invoice", "bill", "receipt", "statement"]);
    let says = has_any(
        lower,
        &[
            "our invoice",
            "attached invoice",
            "invoice attached",
            "bill attached",
            "attached bill",
            "amount due",
            "balance due",
            "total due",
            "payment due",
            "invoice from",
            "bill from",
            "please find attached our",
        ],
    );
    if has_any(lower, INVOICE_REQUEST) {
        return None;
    }
    if let Some(f) = pdfs.first()
        && (billish || f.to_lowercase().contains("invoice") || f.to_lowercase().contains("bill"))
    {
        return Some(Some(f.clone()));
    }
    says.then_some(None)
}

/// Mail domains of free providers: a sender there writes for themself, not a company.
const FREE_MAIL: &[&str] = &[
    "gmail",
    "googlemail",
    "outlook",
    "hotmail",
    "live",
    "yahoo",
    "icloud",
    "me",
    "aol",
    "proton",
    "protonmail",
    "gmx",
    "mail",
    "example",
];

/// Words that make a signature line a company's name.
const COMPANY_WORDS: &[&str] = &[
    "ltd",
    "ltd.",
    "limited",
    "inc",
    "inc.",
    "llc",
    "llp",
    "gmbh",
    "corp",
    "corp.",
    "corporation",
    "plc",
    "co.",
    "company",
    "sarl",
    "bv",
    "ag",
    "pty",
];

/// The customer of an invoice request: the company when the mail names one (a `Client:`
/// line, a company in the signature, the sender's own domain), the person otherwise; with
/// whether it is a company and where it was read, for the owner.
fn customer(item: &Item, text: &str) -> (String, bool, &'static str) {
    for line in text.lines() {
        for key in ["client:", "customer:", "company:", "bill to:"] {
            if let Some(rest) = strip_prefix_ci(line.trim(), key) {
                let c = rest.trim();
                if !c.is_empty() {
                    return (c.to_string(), true, "named on a `Client:` line");
                }
            }
        }
    }
    // The signature: the last lines, one of them a company's name.
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !is_aie_line(l))
        .collect();
    for l in lines.iter().rev().take(5) {
        // A long line is never a signature's company name: its words are not even read.
        if l.len() > 60 {
            continue;
        }
        let words: Vec<String> = l
            .split_whitespace()
            .map(|w| w.trim_matches(',').to_lowercase())
            .collect();
        if words.len() >= 2 && words.iter().any(|w| COMPANY_WORDS.contains(&w.as_str())) {
            return (
                l.trim_end_matches(',').to_string(),
                true,
                "from the signature",
            );
        }
    }
    let from = item.str("from");
    let person = from
        .find('<')
        .map(|i| from[..i].trim().trim_matches('"').to_string())
        .filter(|n| !n.is_empty());
    let addr = bare_address(from);
    if let Some((_, domain)) = addr.split_once('@') {
        let first = domain.split('.').next().unwrap_or(domain);
        if !FREE_MAIL.contains(&first) && domain.contains('.') {
            let name: Vec<String> = first
                .split(['-', '_'])
                .filter(|w| !w.is_empty())
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            if !name.is_empty() {
                return (name.join(" "), true, "from the sender's mail domain");
            }
        }
    }
    match person {
        Some(p) => (p, false, "the sender, as no company is named"),
        None if !addr.is_empty() => (addr, false, "the sender, as no company is named"),
        None => ("Unknown client".into(), false, "no client is named"),
    }
}

/// The reference the client wrote: `Reference: RENT-DEC-2026`, `Ref: X`, `PO 4411`,
/// `PO: 4411`, `PO number 4411`, `purchase order 4411`.
fn client_reference(text: &str) -> Option<String> {
    let clean = |s: &str| -> Option<String> {
        let r = s
            .trim()
            .trim_start_matches(['#', ':'])
            .split_whitespace()
            .next()?
            .trim_end_matches(['.', ',', ';', ')'])
            .to_string();
        (!r.is_empty() && r.len() <= 40).then_some(r)
    };
    for line in text.lines() {
        let t = line.trim();
        for key in [
            "reference:",
            "your reference:",
            "our reference:",
            "ref:",
            "po:",
            "po number:",
            "purchase order:",
        ] {
            if let Some(rest) = strip_prefix_ci(t, key) {
                return clean(rest);
            }
        }
    }
    let lower = text.to_lowercase();
    for marker in ["purchase order ", "po number ", "po #", "po "] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(marker) {
            let at = from + i;
            let before_ok = at == 0
                || !lower[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric());
            let rest = &text[at + marker.len()..];
            if before_ok && rest.starts_with(|c: char| c.is_ascii_digit() || c == '#') {
                // "PO 4411" is how the client's books know it.
                return clean(rest).map(|r| match marker {
                    "po " | "po #" => format!("PO {r}"),
                    _ => r,
                });
            }
            from = at + marker.len();
        }
    }
    None
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
        assert_eq!(kinds, ["odoo_invoice", "odoo_post_invoice", "send_email"]);
        let inv = &p.proposals[0].action;
        // acme.com is the sender's company's own domain.
        assert_eq!(inv["partner"], "Acme");
        assert_eq!(inv["lines"][0]["price_unit"], 1500.0);
        assert!(
            inv.get("ref").is_none(),
            "no internal id as the client's reference"
        );
        assert_eq!(p.proposals[1].action["invoice"], "odoo:invoice");
        let mail = &p.proposals[2].action;
        assert_eq!(mail["to"][0], "jane@acme.com");
        assert_eq!(mail["attachments"], json!(["odoo:invoice"]));
        let body = mail["body"].as_str().unwrap();
        assert!(body.contains("1,500.00 USD"), "{body}");
        assert!(!body.contains("t-1"), "{body}");
    }

    fn customer_of(from: &str, body: &str) -> (String, String) {
        let p = plan_for(&[("from", from), ("subject", "Invoice")], body);
        let a = &p.proposals[0].action;
        (
            a["partner"].as_str().unwrap().to_string(),
            p.proposals[0].why.clone(),
        )
    }

    #[test]
    fn the_customer_is_the_company_the_mail_names_else_the_person() {
        let ask = "Please invoice us for the December rent, 1250 GBP.\n";
        let (c, why) = customer_of(
            "Jane Smith <jane@gmail.com>",
            &format!("{ask}\nClient: Acme Corp\n"),
        );
        assert_eq!(c, "Acme Corp");
        assert!(
            why.contains("the company") && why.contains("Client:"),
            "{why}"
        );
        let (c, why) = customer_of(
            "Jane Smith <jane@gmail.com>",
            &format!("{ask}\nThanks,\nJane Smith\nNorthwind Traders Ltd\n"),
        );
        assert_eq!(c, "Northwind Traders Ltd");
        assert!(why.contains("signature"), "{why}");
        let (c, why) = customer_of("Jane Smith <jane@acme-corp.co.uk>", ask);
        assert_eq!(c, "Acme Corp");
        assert!(why.contains("domain"), "{why}");
        let (c, why) = customer_of("Jane Smith <jane@gmail.com>", ask);
        assert_eq!(c, "Jane Smith");
        assert!(why.contains("the person"), "{why}");
    }

    #[test]
    fn the_clients_reference_cc_and_money_are_kept() {
        let p = plan_for(
            &[
                ("from", "Jane Smith <jane@acme-corp.example>"),
                ("cc", "accounts@acme-corp.example"),
                ("subject", "Rent"),
                ("message_id", "<m1@acme>"),
            ],
            "Please invoice us for the December rent, £1250.\nReference: RENT-DEC-2026\n",
        );
        let inv = &p.proposals[0].action;
        assert_eq!(inv["ref"], "RENT-DEC-2026");
        assert_eq!(inv["currency"], "GBP");
        let mail = &p.proposals[2].action;
        assert_eq!(mail["cc"], json!(["accounts@acme-corp.example"]));
        let body = mail["body"].as_str().unwrap();
        assert!(
            body.contains("1,250.00 GBP") && !body.contains("1250.0"),
            "{body}"
        );
        assert!(body.contains("RENT-DEC-2026"), "{body}");
        assert_eq!(
            client_reference("Our PO 4411 covers it").as_deref(),
            Some("PO 4411")
        );
        assert_eq!(client_reference("PO: 4411.").as_deref(), Some("4411"));
        assert_eq!(
            client_reference("Purchase order 77-A, thanks").as_deref(),
            Some("77-A")
        );
        assert_eq!(client_reference("a PONY 12"), None);
    }

    #[test]
    fn the_owner_asking_to_post_an_invoice_gets_odoo_post_invoice() {
        for text in [
            "Please post invoice INV/2026/00007 today.",
            "Can you send the invoice INV/2026/00012 to Acme?",
            "confirm invoice #42",
        ] {
            let p = plan_for(&[], text);
            let a = &p.proposals[0].action;
            assert_eq!(a["kind"], "odoo_post_invoice", "{text}");
        }
        let p = plan_for(&[], "Please post invoice INV/2026/00007 today.");
        assert_eq!(p.proposals[0].action["invoice"], "INV/2026/00007");
        // Words about invoices in general are not a number.
        let p = plan_for(&[], "I will send the invoice tomorrow.");
        assert_ne!(p.proposals[0].action["kind"], "odoo_post_invoice");
    }

    #[test]
    fn a_vendor_bill_by_mail_or_drop_is_a_proposed_odoo_bill() {
        let p = plan_for(
            &[
                ("from", "Billing <billing@hostingco.net>"),
                ("subject", "Your November bill"),
            ],
            "Hello, please find attached our invoice HC-1102. Amount due: $49.00 by 15 December.",
        );
        let a = &p.proposals[0].action;
        assert_eq!(a["kind"], "odoo_bill");
        assert_eq!(a["vendor"], "Hostingco");
        assert_eq!(a["amount"], 49.0);
        assert_eq!(a["currency"], "USD");
        // A PDF that aie does not read: never a note filed in Done/, an odoo_bill with what
        // is known and no amount.
        let mut item = Item::new("t-2", "file", "general", "inbox:x", "2026-11-22T10:00:00Z");
        item.set("original", "Attachments/t-2/November invoice.pdf");
        item.set("content_type", "application/pdf");
        item.body = "# November invoice\n\nA PDF file of 1234 bytes; aie does not read its content.\n\nOriginal: [[Attachments/t-2/November invoice.pdf]]\n".into();
        let owner = Owner {
            name: "Sam".into(),
            email: None,
            business: None,
        };
        let p = plan_item(&PlanInput {
            item: &item,
            owner: &owner,
            handbook: "",
            goals: "",
            now: None,
            whatsapp_template: None,
        });
        let a = &p.proposals[0].action;
        assert_eq!(a["kind"], "odoo_bill");
        assert!(a.get("amount").is_none());
        assert!(
            a["description"]
                .as_str()
                .unwrap()
                .contains("November invoice.pdf")
        );
        assert!(
            p.proposals[0].why.contains("fill in `amount`"),
            "{}",
            p.proposals[0].why
        );
    }

    #[test]
    fn payment_requests_in_the_common_ways() {
        for (text, payee, amount, cur) in [
            (
                "Please pay Hosting Co $1,250.00 for the servers.",
                "Hosting Co",
                1250.0,
                "USD",
            ),
            (
                "Pay $1,250.00 to Hosting Co this week.",
                "Hosting Co",
                1250.0,
                "USD",
            ),
            (
                "Transfer EUR 300 to Lisbon Studio Lda.",
                "Lisbon Studio Lda",
                300.0,
                "EUR",
            ),
            (
                "Please settle the 300 € invoice to Northwind Traders.",
                "Northwind Traders",
                300.0,
                "EUR",
            ),
            (
                "Wire 2,000 GBP to Baker Street Ltd tomorrow.",
                "Baker Street Ltd",
                2000.0,
                "GBP",
            ),
            (
                "Can you transfer to Acme Corp 450 USD?",
                "Acme Corp",
                450.0,
                "USD",
            ),
        ] {
            let p = plan_for(&[], text);
            let a = &p.proposals[0].action;
            assert_eq!(a["kind"], "payment", "{text}");
            assert_eq!(a["payee"], payee, "{text}");
            assert_eq!(a["amount"], amount, "{text}");
            assert_eq!(a["currency"], cur, "{text}");
        }
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
