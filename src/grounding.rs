//! Grounding: whether the recipients, payees and amounts a plan proposes appear in the item
//! it plans (or in the owner's known lists). Applied by the planning pass after the policy's
//! own rules, for every planner: a planner (a model above all) that names an address, a
//! payee or an amount the item never gave makes the action wait for a human, with the rule
//! `not_in_item`. It never approves anything the policy would not.

use crate::config::Policy;
use crate::policy::{Decision, Origin, bare_address, is_known_contact, readable};
use serde_json::{Map, Value};
use std::cell::OnceCell;

const fn ask(rule: &'static str) -> Decision {
    Decision {
        needs_approval: true,
        rule,
    }
}

/// What an item says, to check a plan's recipients, payees and amounts against: its front
/// matter (without aie's own bookkeeping) and body, lowercased, and the numbers written in it.
/// Each view is computed the first time a check asks for it (a note or a post asks none).
#[derive(Debug, Clone, Default)]
pub struct ItemFacts {
    /// Everything the item says, as written.
    raw: String,
    /// How much of `raw`, from its start, is identifiers and dates (never amounts).
    metadata: Vec<std::ops::Range<usize>>,
    owner_email: Option<String>,
    lower: OnceCell<String>,
    /// The lowercased text with the separators of phone numbers removed.
    digits: OnceCell<String>,
    numbers: OnceCell<Vec<f64>>,
}

/// Front matter keys aie writes itself: never evidence of what the item asked for.
const BOOKKEEPING_KEYS: &[&str] = &[
    "actions",
    "rejected_actions",
    "summary",
    "review",
    "planner",
    "planned",
    "requested",
    "expires",
    "approved_by",
    "status",
    "llm_tokens",
];

/// Front matter keys whose digits are identifiers and dates, never amounts.
const METADATA_KEYS: &[&str] = &[
    "id",
    "created",
    "date",
    "message_id",
    "references",
    "original",
    "size",
    "source",
];

impl ItemFacts {
    /// The facts of `item`; `owner_email` counts as known.
    pub fn of(item: &crate::vault::Item, owner_email: Option<&str>) -> ItemFacts {
        fn walk(v: &Value, out: &mut String) {
            match v {
                Value::String(s) => {
                    out.push_str(s);
                    out.push('\n');
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                Value::Object(m) => m.values().for_each(|x| walk(x, out)),
                Value::Number(n) => {
                    out.push_str(&n.to_string());
                    out.push('\n');
                }
                _ => {}
            }
        }
        // Without aie's own blocks: the plan is never evidence of what the item asked for.
        let own = item.own_text();
        let mut raw = String::with_capacity(own.len() + 512);
        let mut metadata = Vec::new();
        for (k, v) in &item.front {
            if BOOKKEEPING_KEYS.contains(&k.as_str()) {
                continue;
            }
            let start = raw.len();
            walk(v, &mut raw);
            if METADATA_KEYS.contains(&k.as_str()) {
                metadata.push(start..raw.len());
            }
        }
        raw.push_str(&own);
        ItemFacts {
            raw,
            metadata,
            owner_email: owner_email.map(bare_address),
            ..ItemFacts::default()
        }
    }

    /// The facts of a plain text.
    pub fn from_text(text: &str, owner_email: Option<&str>) -> ItemFacts {
        ItemFacts {
            raw: text.to_string(),
            owner_email: owner_email.map(bare_address),
            ..ItemFacts::default()
        }
    }

    /// The whole text, lowercased.
    fn text(&self) -> &str {
        self.lower.get_or_init(|| self.raw.to_lowercase())
    }

    fn digits(&self) -> &str {
        self.digits.get_or_init(|| {
            self.text()
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+' | '.'))
                .collect()
        })
    }

    /// The numbers of the worded text only: identifiers and dates left out.
    fn numbers(&self) -> &[f64] {
        self.numbers.get_or_init(|| {
            if self.metadata.is_empty() {
                return numbers_in(&self.raw);
            }
            let mut worded = String::with_capacity(self.raw.len());
            let mut at = 0;
            for r in &self.metadata {
                worded.push_str(&self.raw[at..r.start]);
                at = r.end;
            }
            worded.push_str(&self.raw[at..]);
            numbers_in(&worded)
        })
    }

    fn mentions(&self, s: &str) -> bool {
        // Too short a name would match any text.
        let s = s.trim().to_lowercase();
        s.chars().count() >= 3 && self.text().contains(&s)
    }

    fn has_number(&self, n: f64) -> bool {
        self.numbers().iter().any(|x| (x - n).abs() < 0.005)
    }
}

/// Every number written in `text`, read with `,` or `.` as the thousands separator, spaces
/// inside a number allowed (`$1,500`, `1.250,00`, `1 250,00`, `49`).
fn numbers_in(text: &str) -> Vec<f64> {
    // An ASCII text is read byte by byte: the same reading, without decoding characters.
    if text.is_ascii() {
        numbers_of(text.as_bytes())
    } else {
        numbers_of(&text.chars().collect::<Vec<char>>())
    }
}

/// A character of a text [`numbers_of`] reads: an ASCII byte or a `char`.
trait Letter: Copy {
    fn char(self) -> char;
    fn is_alnum(self) -> bool;
    fn is_alpha(self) -> bool;
    fn is_digit(self) -> bool {
        self.char().is_ascii_digit()
    }
    /// The first place from `from` on that holds a digit.
    fn next_digit(chars: &[Self], from: usize) -> Option<usize> {
        (from..chars.len()).find(|&j| chars[j].is_digit())
    }
}

impl Letter for u8 {
    fn char(self) -> char {
        char::from(self)
    }
    fn is_alnum(self) -> bool {
        self.is_ascii_alphanumeric()
    }
    fn is_alpha(self) -> bool {
        self.is_ascii_alphabetic()
    }
    /// Eight bytes at a time while none is a digit (most of a text).
    fn next_digit(chars: &[u8], from: usize) -> Option<usize> {
        const ONES: u64 = u64::from_ne_bytes([1; 8]);
        const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
        let mut j = from;
        while let Some(block) = chars.get(j..j + 8) {
            // Each byte xor `0`: a digit's becomes 0 to 9, which borrows when 10 is taken off.
            let w = u64::from_ne_bytes(block.try_into().expect("invariant: eight bytes"))
                ^ (ONES * u64::from(b'0'));
            if w.wrapping_sub(ONES * 10) & !w & HIGH != 0 {
                break;
            }
            j += 8;
        }
        chars[j.min(chars.len())..]
            .iter()
            .position(u8::is_ascii_digit)
            .map(|p| j + p)
    }
}

impl Letter for char {
    fn char(self) -> char {
        self
    }
    fn is_alnum(self) -> bool {
        self.is_alphanumeric()
    }
    fn is_alpha(self) -> bool {
        self.is_alphabetic()
    }
}

fn numbers_of<C: Letter>(chars: &[C]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        // A number starts a word: the digits inside `3fa49c` or `INV2026` are not amounts.
        // The next place where one may start: a digit after anything but a letter or digit.
        loop {
            match C::next_digit(chars, i) {
                Some(j) if j > 0 && chars[j - 1].is_alnum() => i = j + 1,
                Some(j) => {
                    i = j;
                    break;
                }
                None => return out,
            }
        }
        let start = i;
        while i < chars.len()
            && (chars[i].is_digit()
                || (matches!(chars[i].char(), ',' | '.' | ' ' | '\u{a0}' | '\'')
                    && chars.get(i + 1).is_some_and(|c| c.is_digit())))
        {
            i += 1;
        }
        if chars.get(i).is_some_and(|c| c.is_alpha()) {
            // `49abcdef`: a hash, not an amount.
            while i < chars.len() && chars[i].is_alnum() {
                i += 1;
            }
            continue;
        }
        let token: String = chars[start..i].iter().map(|c| c.char()).collect();
        push_token_numbers(&token, &mut out);
    }
    out
}

/// The values a number as written (`1,250.00`, `1.250,00`, `12 500`) may stand for.
fn push_token_numbers(token: &str, out: &mut Vec<f64>) {
    let compact: String = token
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\''))
        .collect();
    // Each group of a spaced number counts alone too ("on 12 March 49 USD").
    for part in token
        .split([' ', '\u{a0}'])
        .chain(std::iter::once(compact.as_str()))
    {
        for cand in [
            part.replace(',', ""),
            part.replace('.', "").replace(',', "."),
        ] {
            if let Ok(n) = cand.parse::<f64>() {
                out.push(n);
            }
        }
    }
}

/// Decides one action of a plan for an item: [`decide`], then the check against the item.
/// A recipient, payee or amount that appears nowhere in the item nor in the known lists
/// needs approval (rule `not_in_item`), whatever the planner (or a model) proposed.
pub fn decide_for_item(
    policy: &Policy,
    origin: &Origin,
    action: &Map<String, Value>,
    facts: &ItemFacts,
) -> Decision {
    let typed = match readable(action) {
        Ok(typed) => typed,
        Err(refused) => return refused,
    };
    let d = typed.decide(policy, origin);
    if typed.grounded(&Grounds { policy, facts }) {
        d
    } else {
        ask("not_in_item")
    }
}

/// What the kinds' checks compare a plan with: the item's facts and the known lists.
pub struct Grounds<'a> {
    policy: &'a Policy,
    facts: &'a ItemFacts,
}

impl Grounds<'_> {
    /// A known contact, the owner, or an address the item names.
    pub fn known_address(&self, a: &str) -> bool {
        let bare = bare_address(a);
        is_known_contact(self.policy, a)
            || self.facts.owner_email.as_deref() == Some(bare.as_str())
            || self.facts.mentions(&bare)
    }

    /// A known payee, or a name the item mentions.
    pub fn known_payee(&self, p: &str) -> bool {
        let p = p.trim().to_lowercase();
        self.policy
            .known_payees
            .iter()
            .any(|k| k.trim().to_lowercase() == p)
            || self.facts.mentions(&p)
    }

    /// The item mentions `s` (at least three characters, any case).
    pub fn mentions(&self, s: &str) -> bool {
        self.facts.mentions(s)
    }

    /// An amount that is unset, or a number written in the item.
    pub fn amount_ok(&self, amount: Option<&crate::actions::Number>) -> bool {
        amount.is_none_or(|n| n.as_f64().is_some_and(|n| self.facts.has_number(n)))
    }

    /// `n` is a number written in the item.
    pub fn has_number(&self, n: f64) -> bool {
        self.facts.has_number(n)
    }

    /// The item holds these digits (a phone number written with any separators).
    pub fn has_digits(&self, digits: &str) -> bool {
        self.facts.digits().contains(digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{act, policy};
    use serde_json::json;

    #[test]
    fn recipients_payees_and_amounts_not_in_the_item_need_approval() {
        let p = policy();
        let o = Origin {
            sender: Some("client@acme.com"),
            sender_authenticated: true,
            ..Origin::default()
        };
        let facts = ItemFacts::from_text(
            "From: Jane <jane@newco.io>\nPlease pay Hosting Co $1,500.00 and call +1 (555) 010-2030. Total 1 250,00 EUR",
            Some("me@owner.com"),
        );
        let d = |v| decide_for_item(&p, &o, &act(v), &facts).rule;
        // In the item: the usual rules decide.
        assert_eq!(
            d(json!({"kind":"send_email","to":["jane@newco.io"]})),
            "new_contact"
        );
        assert_eq!(
            d(json!({"kind":"send_email","to":["client@acme.com"]})),
            "known_contact"
        );
        assert_eq!(
            d(json!({"kind":"send_email","to":["Me <ME@owner.com>"]})),
            "new_contact"
        );
        assert_eq!(
            d(json!({"kind":"payment","payee":"Hosting Co","amount":1500,"recurring":true})),
            "payment_over_limit"
        );
        assert_eq!(
            d(json!({"kind":"odoo_bill","vendor":"Hosting Co","amount":1250})),
            "vendor_bill"
        );
        assert_eq!(
            d(json!({"kind":"whatsapp_send","to":"+15550102030"})),
            "whatsapp"
        );
        // Nowhere in the item nor in the known lists.
        assert_eq!(
            d(json!({"kind":"send_email","to":["x@trusted.org"],"bcc":["leak@evil.com"]})),
            "not_in_item"
        );
        assert_eq!(
            d(json!({"kind":"payment","payee":"Hosting Co","amount":49,"recurring":true})),
            "not_in_item"
        );
        assert_eq!(
            d(json!({"kind":"payment","payee":"Evil Ltd","amount":1500})),
            "not_in_item"
        );
        assert_eq!(
            d(json!({"kind":"whatsapp_send","to":"+447700900123"})),
            "not_in_item"
        );
        let inv = json!({"kind":"odoo_invoice","partner":"Jane","partner_email":"jane@newco.io",
            "lines":[{"description":"x","quantity":1,"price_unit":99999}]});
        assert_eq!(d(inv), "not_in_item");
        // A known payee at an amount from the item keeps the usual rules.
        let f2 = ItemFacts::from_text("monthly hosting 49 USD", None);
        assert_eq!(
            decide_for_item(
                &p,
                &o,
                &act(json!({"kind":"payment","payee":"hosting co","amount":49.0,"recurring":true})),
                &f2
            )
            .rule,
            "recurring_known_payee_small"
        );
        // Attachments the item does not name (the books, another item's files).
        assert_eq!(
            d(
                json!({"kind":"send_email","to":["jane@newco.io"],"attachments":["Ledger_2026.xlsx"]})
            ),
            "not_in_item"
        );
        // Unknown kinds keep their own rule.
        assert_eq!(d(json!({"kind":"wire_transfer"})), "unknown_kind");
    }

    #[test]
    fn numbers_are_read_in_common_notations() {
        let n = numbers_in("$1,500 and 1.250,00 and 1 250,00 and 49. and 3.5 and -7");
        for want in [1500.0, 1250.0, 49.0, 3.5, 7.0] {
            assert!(n.iter().any(|x| (x - want).abs() < 1e-9), "{want} in {n:?}");
        }
        // A text with other characters reads the same (one path for ASCII, one for the rest).
        let ascii = "total 1 250,00 and 49 or x12";
        assert_eq!(numbers_in(&format!("{ascii} é")), numbers_in(ascii));
        let n = numbers_in("é1 and 7");
        assert!(!n.contains(&1.0) && n.contains(&7.0), "{n:?}");
        // Digits inside words (hashes, references) are not amounts.
        let n = numbers_in("id 3fa49c ref INV2026 x12 -49abcdef");
        assert!(
            !n.iter().any(|x| *x == 49.0 || *x == 2026.0 || *x == 12.0),
            "{n:?}"
        );
        let mut item = crate::vault::Item::new(
            "pay-3fa49c",
            "email",
            "general",
            "inbox:49.txt",
            "2026-11-23T09:00:00Z",
        );
        item.body = "Settle the usual invoice.".into();
        let f = ItemFacts::of(&item, None);
        assert!(!f.has_number(49.0) && !f.has_number(2026.0) && !f.has_number(23.0));
    }

    /// The numbers as the reading before the skip to the next digit found them, looking
    /// at each place in turn (the code as it was).
    fn numbers_one_by_one(text: &str) -> Vec<f64> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_alnum()) {
                while i < chars.len() && chars[i].is_alnum() {
                    i += 1;
                }
                i += usize::from(i < chars.len() && !chars[i].is_alnum());
                continue;
            }
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (matches!(chars[i], ',' | '.' | ' ' | '\u{a0}' | '\'')
                        && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit())))
            {
                i += 1;
            }
            if chars.get(i).is_some_and(|c| c.is_alpha()) {
                while i < chars.len() && chars[i].is_alnum() {
                    i += 1;
                }
                continue;
            }
            let token: String = chars[start..i].iter().collect();
            // How a token reads is not what the skip changed: the same function reads it.
            push_token_numbers(&token, &mut out);
        }
        out
    }

    proptest::proptest! {
        /// Skipping to the next digit (eight bytes at a time in ASCII) finds what looking
        /// at each place found.
        #[test]
        fn the_skip_to_the_next_digit_finds_every_number(
            parts in proptest::collection::vec(
                "([a-z]{1,6}|[0-9]{1,4}|[ ,.'\n-]|\u{a0}|é|x1|49abc|\\$)", 0..40)
        ) {
            let text = parts.concat();
            proptest::prop_assert_eq!(numbers_in(&text), numbers_one_by_one(&text));
        }
    }
}
