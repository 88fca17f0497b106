//! Who an item is about: the customer of an invoice request, the payee of a payment.

use super::{is_aie_line, strip_prefix_ci};
use crate::policy::bare_address;
use crate::vault::Item;

/// Mail domains of free providers: a sender there writes for themself, not a company.
pub(super) const FREE_MAIL: &[&str] = &[
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
pub(super) const COMPANY_WORDS: &[&str] = &[
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
pub(super) fn customer(item: &Item, text: &str) -> (String, bool, &'static str) {
    for line in crate::lines::lines(text) {
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
    let lines: Vec<&str> = crate::lines::lines(text)
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

/// The payee of "pay ACME Hosting $49", "payment to ACME", "Payee: ACME". `lower` is
/// `text.to_lowercase()`.
pub(super) fn payee_name(text: &str, lower: &str) -> Option<String> {
    for line in crate::lines::lines(text) {
        let l = line.trim();
        if let Some(rest) = strip_prefix_ci(l, "payee:") {
            let p = rest.trim();
            if !p.is_empty() {
                return Some(p.to_string());
            }
        }
    }
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

/// Words that start with a capital, from `start` on: a name.
pub(super) fn capitalized_run(s: &str) -> Option<String> {
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
