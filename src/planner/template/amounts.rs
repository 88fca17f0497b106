//! Reading money out of text: amounts, the client's reference, what an invoice is for,
//! and the number of an invoice to post.

use super::strip_prefix_ci;

/// The first amount in the text: `$1,500`, `1500 USD`, `€200.50`, `USD 99`.
pub fn find_amount(text: &str) -> Option<(f64, String)> {
    let symbols = [("$", "USD"), ("€", "EUR"), ("£", "GBP")];
    let codes = ["USD", "EUR", "GBP", "PKR", "CAD", "AUD"];
    // Only a currency sign (`€` and `£` start with 0xE2 and 0xC2), the first letter of a
    // code, or a digit can start an amount. Each of these bytes starts a character.
    const STARTS: [bool; 256] = {
        let mut t = [false; 256];
        let starts = b"0123456789$\xE2\xC2UEGPCA";
        let mut i = 0;
        while i < starts.len() {
            t[starts[i] as usize] = true;
            i += 1;
        }
        t
    };
    let bytes = text.as_bytes();
    for (pos, &b) in bytes.iter().enumerate() {
        if !STARTS[b as usize] {
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

pub(super) fn leading_number(s: &str) -> Option<f64> {
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

pub(super) fn fmt_amount(a: f64) -> String {
    if a.fract() == 0.0 {
        format!("{a:.0}")
    } else {
        format!("{a:.2}")
    }
}

/// `text` lowercased with every byte offset where it is in `text`, so a place found in it
/// cuts `text` too: `lower` itself when `text` is ASCII (the usual case), else `text` with
/// its ASCII letters lowercased (full lowercasing changes the length of some letters, `İ`
/// to `i̇`, and a cut there would fall elsewhere or inside a letter). The words these
/// searches look for are ASCII.
fn same_offsets<'a>(text: &str, lower: &'a str, aligned: &'a mut String) -> &'a str {
    if text.is_ascii() {
        return lower;
    }
    *aligned = text.to_ascii_lowercase();
    aligned
}

/// The number of an existing invoice the owner asks to post or send: "post invoice
/// INV/2026/00007", "please send the invoice INV/2026/00012", "confirm invoice 42".
pub(super) fn invoice_to_post(text: &str, lower: &str) -> Option<String> {
    let mut aligned = String::new();
    let lower = same_offsets(text, lower, &mut aligned);
    const VERBS: [&str; 4] = ["post", "send", "confirm", "validate"];
    const NOUNS: [&str; 4] = [
        " invoice ",
        " the invoice ",
        " invoice no. ",
        " invoice number ",
    ];
    // The places of each verb, by a vectorised search (a scan per verb and noun was a tenth
    // of planning a long item).
    let places =
        VERBS.map(|verb| memchr::memmem::find_iter(lower.as_bytes(), verb).collect::<Vec<_>>());
    for (verb, places) in VERBS.iter().zip(&places) {
        // The first noun (in this order) found after the verb wins, at its first place.
        let mut found: [Option<String>; 4] = Default::default();
        for &at in places {
            let from = at + verb.len();
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

/// The reference the client wrote: `Reference: RENT-DEC-2026`, `Ref: X`, `PO 4411`,
/// `PO: 4411`, `PO number 4411`, `purchase order 4411`. `lower` is `text` lowercased.
pub(super) fn client_reference(text: &str, lower: &str) -> Option<String> {
    let mut aligned = String::new();
    let lower = same_offsets(text, lower, &mut aligned);
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
    for marker in ["purchase order ", "po number ", "po #", "po "] {
        for (at, _) in lower.match_indices(marker) {
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
        }
    }
    None
}

/// What the invoice is for: the words after "for" in the sentence that names the amount.
pub(super) fn line_description(text: &str) -> Option<String> {
    for line in text.lines() {
        // ASCII lowercase keeps the line's byte offsets: `i` cuts `line` itself.
        let lower = line.to_ascii_lowercase();
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
