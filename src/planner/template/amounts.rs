//! Reading money out of text: amounts, the client's reference, what an invoice is for,
//! and the number of an invoice to post.

use super::phrases::{Found, PO_MARKERS, POST_NOUNS, POST_VERBS, Place};
use super::strip_prefix_ci;

/// Only a currency sign (`€` and `£` start with 0xE2 and 0xC2), the first letter of a code,
/// or a digit can start an amount. Each of these bytes starts a character.
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

/// The first amount in the text: `$1,500`, `1500 USD`, `€200.50`, `USD 99`.
pub fn find_amount(text: &str) -> Option<(f64, String)> {
    let symbols = [("$", "USD"), ("€", "EUR"), ("£", "GBP")];
    let codes = ["USD", "EUR", "GBP", "PKR", "CAD", "AUD"];
    let bytes = text.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        if !STARTS[usize::from(bytes[pos])] {
            pos = next_start(bytes, pos + 1);
            continue;
        }
        let b = bytes[pos];
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
        pos += 1;
    }
    None
}

/// The first place from `from` on where an amount may start, or past the end: eight bytes
/// at a time over those that hold nothing but lowercase letters, spaces and the like (the
/// bulk of a text), then a byte at a time. A byte an amount may start with is `$`, a digit,
/// an uppercase letter or the first byte of `€` or `£`: in `$`..=`Z`, or above ASCII.
fn next_start(bytes: &[u8], from: usize) -> usize {
    const L: u64 = u64::from_ne_bytes([1; 8]);
    let mut pos = from;
    while let Some(block) = bytes.get(pos..pos + 8) {
        let x = u64::from_ne_bytes(block.try_into().expect("invariant: eight bytes"));
        // Bit Twiddling Hacks' `hasbetween(x, '#', '[')`, and any byte above ASCII.
        let low = x & (L * 127);
        let between = (L * (127 + u64::from(b'['))).wrapping_sub(low)
            & !x
            & low.wrapping_add(L * (127 - u64::from(b'#')))
            & (L * 128);
        if between != 0 || x & (L * 128) != 0 {
            break;
        }
        pos += 8;
    }
    pos
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

/// The number of an existing invoice the owner asks to post or send: "post invoice
/// INV/2026/00007", "please send the invoice INV/2026/00012", "confirm invoice 42". `found`
/// holds the places of the phrases in `text`.
pub(super) fn invoice_to_post(text: &str, found: &Found) -> Option<String> {
    for verb in 0..POST_VERBS.len() {
        // The first noun (in this order) found after the verb wins, at its first place.
        for noun in 0..POST_NOUNS.len() {
            let place = Place::PostInvoice {
                verb: verb as u8,
                noun: noun as u8,
            };
            for at in found.places(place) {
                // What precedes is a character of `text` (the phrase is ASCII, and the
                // place keeps `text`'s offsets).
                let before_ok = !text[..at]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_alphanumeric);
                let rest = &text[at + POST_VERBS[verb].len() + POST_NOUNS[noun].len()..];
                let word = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches('#')
                    .trim_end_matches(['.', ',', ';', ')', '!', '?']);
                if before_ok && word.chars().any(|c| c.is_ascii_digit()) && word.len() <= 40 {
                    return Some(word.to_string());
                }
            }
        }
    }
    None
}

/// The reference the client wrote: `Reference: RENT-DEC-2026`, `Ref: X`, `PO 4411`,
/// `PO: 4411`, `PO number 4411`, `purchase order 4411`. `found` holds the places of the
/// phrases in `text`.
pub(super) fn client_reference(text: &str, found: &Found) -> Option<String> {
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
    for line in crate::lines::lines(text) {
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
    for (marker, phrase) in PO_MARKERS.iter().enumerate() {
        let place = Place::PurchaseOrder {
            marker: marker as u8,
        };
        for at in found.places(place) {
            let before_ok = !text[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric());
            let rest = &text[at + phrase.len()..];
            if before_ok && rest.starts_with(|c: char| c.is_ascii_digit() || c == '#') {
                // "PO 4411" is how the client's books know it.
                return clean(rest).map(|r| match *phrase {
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
    for line in crate::lines::lines(text) {
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

#[cfg(test)]
mod tests {
    use super::{STARTS, next_start};

    proptest::proptest! {
        /// The skip lands on or before the next byte an amount may start with, and passes
        /// over none.
        #[test]
        fn the_skip_passes_over_no_place_an_amount_may_start(
            text in "(\\PC|[a-z ]{0,12}|[$€£0-9A-Z]|[\n\t.,:;#\\[\\]{}~-])*",
            from in 0usize..64,
        ) {
            let bytes = text.as_bytes();
            let from = from.min(bytes.len());
            let to = next_start(bytes, from);
            let first = (from..bytes.len()).find(|&p| STARTS[usize::from(bytes[p])]);
            proptest::prop_assert!(to <= first.unwrap_or(bytes.len()), "{text:?} from {from}");
            proptest::prop_assert!(to >= from);
        }
    }
}
