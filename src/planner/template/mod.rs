//! The deterministic template planner: recognises reply requests, invoice requests with an
//! amount and a client, payment requests with a payee and an amount, and social post
//! requests; anything else gets a `note`. Same item in, same plan out.

mod accounting;
mod amounts;
mod parties;
mod phrases;
mod posts;
mod replies;

pub use amounts::find_amount;

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

    fn fork(&self) -> Option<Box<dyn Planner + Send>> {
        Some(Box::new(TemplatePlanner {
            acknowledge: self.acknowledge,
        }))
    }
}

pub(super) fn obj(v: Value) -> Map<String, Value> {
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

/// What the planner reads of an item, once: its text (subject and body) as written and
/// lowercased, the phrases the rules look for in it, the sender, the title and the first
/// amount.
pub(super) struct Read<'a> {
    input: &'a PlanInput<'a>,
    item: &'a Item,
    text: String,
    /// `text.to_lowercase()`, made when a rule asks for it.
    lower: std::cell::OnceCell<String>,
    found: phrases::Found,
    from: &'a str,
    sender: String,
    title: String,
    amount: Option<(f64, String)>,
}

impl<'a> Read<'a> {
    fn of(input: &'a PlanInput<'a>) -> Read<'a> {
        let item = input.item;
        let text = item_text(item);
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
        let amount = find_amount(&text);
        let found = phrases::Found::in_text(&text);
        Read {
            input,
            item,
            text,
            lower: std::cell::OnceCell::new(),
            found,
            from,
            sender,
            title,
            amount,
        }
    }
}

impl Read<'_> {
    /// The text lowercased.
    fn lower(&self) -> &str {
        self.lower.get_or_init(|| self.text.to_lowercase())
    }
}

/// Plans one item (pure); `acknowledge` as [`TemplatePlanner::acknowledge`]. The first
/// branch that recognises the item plans it.
pub fn plan_item_with(input: &PlanInput, acknowledge: bool) -> Plan {
    let r = Read::of(input);
    let mut plan = Plan {
        planner: "template".into(),
        ..Plan::default()
    };
    let planned = posts::calendar_post(&r, &mut plan)
        || accounting::post_invoice(&r, &mut plan)
        || accounting::bill(&r, &mut plan)
        || accounting::invoice_request(&r, &mut plan)
        || accounting::payment(&r, &mut plan)
        || posts::social_post(&r, &mut plan)
        || replies::answer(&r, acknowledge, &mut plan);
    if !planned {
        note(&r, &mut plan);
    }
    plan
}

/// Anything else: a note filed for the record.
fn note(r: &Read, plan: &mut Plan) {
    let Read { item, title, .. } = r;
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
}

/// `s` after `prefix`, matched ignoring ASCII case; `None` also when `prefix`'s length
/// falls inside a letter of `s` (a line that starts in Cyrillic, say).
pub(super) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

/// Whether a body line is aie's own (the link to the original, the attachment list), not
/// what the sender or owner wrote: never quoted, never posted.
pub(super) fn is_aie_line(l: &str) -> bool {
    let l = l.trim_start();
    l.starts_with("Original: [[")
        || l.starts_with("## Attachments")
        || l.starts_with("- [[Attachments/")
        || l.starts_with("- not saved: ")
}

#[cfg(test)]
mod tests;
