//! A fast writer for the YAML aie writes most: a front matter of flat `key: value` entries,
//! and its `aie-actions` list of flat mappings. It writes, byte for byte, what the full YAML
//! writer (serde-saphyr) writes, and only the values it is sure of: plain words, texts that
//! start with a YAML indicator or are timestamps (quoted), whole numbers, amounts (numbers
//! with a fraction, neither tiny nor huge), booleans, texts of several lines (a `|` literal
//! block), and lists of one-line texts or of mappings of such values (a mail's `to:`, an
//! invoice's `lines:`). Any other entry of the front matter, or any other action, is written
//! by the full writer alone: entries of a block mapping, and items of a block list, are
//! written one after the other, so the pieces join into the same text.

use serde_json::{Map, Value};
use std::fmt::Write;

/// The front matter `map` as YAML, as `serde_saphyr::to_string` writes it.
pub(super) fn front<'a>(map: impl IntoIterator<Item = (&'a String, &'a Value)>) -> String {
    let mut map = map.into_iter().peekable();
    if map.peek().is_none() {
        return full(&Map::new());
    }
    let mut out = String::with_capacity(256);
    for (k, v) in map {
        if !entry(&mut out, "", k, v, 2) {
            let mut one = Map::new();
            one.insert(k.clone(), v.clone());
            out.push_str(&full(&one));
        }
    }
    out
}

/// A non-empty list of actions as YAML, as `serde_saphyr::to_string` writes it.
pub(super) fn actions(list: &[Map<String, Value>]) -> String {
    if list.is_empty() {
        return full(&list);
    }
    let mut out = String::with_capacity(512);
    for action in list {
        let start = out.len();
        let mut ok = !action.is_empty();
        for (n, (k, v)) in action.iter().enumerate() {
            let prefix = if n == 0 { "- " } else { "  " };
            if !ok || !entry(&mut out, prefix, k, v, 4) {
                ok = false;
                break;
            }
        }
        if !ok {
            out.truncate(start);
            out.push_str(&full(&std::slice::from_ref(action)));
        }
    }
    out
}

fn full<T: serde::Serialize>(v: &T) -> String {
    serde_saphyr::to_string(v).expect("invariant: front matter and actions serialize")
}

/// Writes `prefix` and the entry `key: value` (its block lines indented by `block`), when
/// both are of the shapes this writer knows; false (and `out` untouched) otherwise.
fn entry(out: &mut String, prefix: &str, key: &str, value: &Value, block: usize) -> bool {
    if !plain_key(key) {
        return false;
    }
    let start = out.len();
    out.push_str(prefix);
    out.push_str(key);
    out.push(':');
    let ok = match value {
        Value::Bool(b) => {
            out.push_str(if *b { " true\n" } else { " false\n" });
            true
        }
        Value::Number(n) if n.is_u64() || n.is_i64() => {
            let _ = writeln!(out, " {n}");
            true
        }
        Value::Number(n) => amount(out, n),
        Value::String(s) if has_newline(s) => literal(out, s, block),
        Value::String(s) => scalar(out, s, Some(block)),
        Value::Array(list) => sequence(out, list, block - 2),
        _ => false,
    };
    if !ok {
        out.truncate(start);
    }
    ok
}

/// Pushes `n` spaces (an indentation, or what is left of a run of spaces).
fn spaces(out: &mut String, n: usize) {
    const SPACES: &str = "                                ";
    let mut left = n;
    while left > 0 {
        let k = left.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        left -= k;
    }
}

/// Whether `s` holds a line break.
fn has_newline(s: &str) -> bool {
    memchr::memchr(b'\n', s.as_bytes()).is_some()
}

/// A number with a fraction, as the full writer writes it: its shortest decimals, with `.0`
/// when it is whole. Only between a thousandth and a thousand million millions, where no
/// writer uses an exponent, and with at most 15 significant digits: with more, two
/// shortest decimals can be equally near (`…955.625` as `…955.62` or `…955.63`), and the
/// writers break the tie differently.
fn amount(out: &mut String, n: &serde_json::Number) -> bool {
    match n.as_f64() {
        Some(f) if (1e-3..1e15).contains(&f.abs()) => {
            let start = out.len();
            let _ = write!(out, " {f}");
            let digits = out[start..]
                .trim_start_matches([' ', '-', '0', '.'])
                .bytes()
                .filter(u8::is_ascii_digit)
                .count();
            if digits > 15 {
                out.truncate(start);
                return false;
            }
            if !out[start..].contains('.') {
                out.push_str(".0");
            }
            out.push('\n');
            true
        }
        _ => false,
    }
}

/// A list after its key (at column `col`): `[]` when empty, else one `- ` item a line at
/// the key's own column, each a one-line text or a mapping of one-line values.
fn sequence(out: &mut String, list: &[Value], col: usize) -> bool {
    if list.is_empty() {
        out.push_str(" []\n");
        return true;
    }
    out.push('\n');
    for v in list {
        let ok = match v {
            Value::String(s) if !has_newline(s) => {
                spaces(out, col);
                out.push('-');
                scalar(out, s, None)
            }
            Value::Object(m) if !m.is_empty() => m.iter().enumerate().all(|(n, (k, v))| {
                let prefix = if n == 0 { "- " } else { "  " };
                spaces(out, col);
                let one_line = match v {
                    Value::String(s) => !has_newline(s),
                    Value::Array(_) | Value::Object(_) => false,
                    _ => true,
                };
                one_line && entry(out, prefix, k, v, col + 4)
            }),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// A key the full writer writes as it is: a lowercase word (not starting with `_`, which it
/// quotes) that no reader takes for another type.
fn plain_key(k: &str) -> bool {
    k.starts_with(|c: char| c.is_ascii_lowercase())
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !special_word(k)
}

/// Words YAML 1.1 readers take for null, a boolean or a number.
fn special_word(s: &str) -> bool {
    [
        "null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf",
    ]
    .iter()
    .any(|w| s.eq_ignore_ascii_case(w))
}

/// Texts longer than this (in characters) are folded over several lines by the full writer.
const FOLD_AT: usize = 80;

/// A one-line text after `key:`: plain when it surely may be, quoted when it surely must
/// be, else not written here. A long text that may be plain is folded (`>-`), its lines
/// indented by `fold` when given (a mapping's value); else it is not written here.
fn scalar(out: &mut String, s: &str, fold: Option<usize>) -> bool {
    if s.is_empty() {
        // Read plain, it would be null.
        out.push_str(" \"\"\n");
        return true;
    }
    if s.len() < 2 || has_escapes(s) {
        return false;
    }
    let first = s.as_bytes()[0];
    // A text that starts with a letter: plain, unless a `: ` or ` #` in it, or a space or
    // colon at its end, would change what it reads as (`Re: hello`): quoted.
    let may_be_plain =
        first.is_ascii_alphabetic() && !s.ends_with([' ', ':']) && !ends_or_comments(s);
    if may_be_plain && s.len() > FOLD_AT {
        let ascii = s.is_ascii();
        // Byte length bounds the character count from above.
        if ascii || s.chars().count() > FOLD_AT {
            let Some(indent) = fold else {
                return false;
            };
            out.push_str(" >-\n");
            out.reserve(s.len() + s.len() / 64 * (indent + 1) + indent + 1);
            match ascii {
                true => folded_ascii(out, s, indent),
                false => folded(out, s, indent),
            }
            return true;
        }
    }
    let lettered = first.is_ascii_alphabetic() && s.len() <= FOLD_AT && !special_word(s);
    if lettered && may_be_plain {
        out.push(' ');
        out.push_str(s);
        out.push('\n');
        return true;
    }
    // That, a text that starts with an indicator, or a timestamp: double-quoted.
    let quoted = lettered
        || matches!(
            first,
            b',' | b'['
                | b']'
                | b'{'
                | b'}'
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
        );
    if !quoted && !timestamp(s) {
        return false;
    }
    out.push_str(" \"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push_str("\"\n");
    true
}

/// Whether `s` holds `: ` (which ends a plain value) or ` #` (which starts a comment): one
/// look at each pair of bytes for the short texts of a front matter, a vector search for
/// `:` and `#` in a longer one (a post).
pub(super) fn ends_or_comments(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 64 {
        return b
            .windows(2)
            .any(|w| matches!(w, [b':', b' '] | [b' ', b'#']));
    }
    memchr::memchr2_iter(b':', b'#', b).any(|i| match b[i] {
        b':' => b.get(i + 1) == Some(&b' '),
        _ => i > 0 && b[i - 1] == b' ',
    })
}

/// Whether `s` holds only printable ASCII, tabs and line breaks: nothing any YAML writer
/// escapes but those two (checked a block of bytes at a time, as most texts are).
pub(super) fn plain_ascii(s: &str) -> bool {
    s.as_bytes().chunks(32).all(|block| {
        block.iter().fold(true, |ok, &b| {
            ok & ((0x20..0x7f).contains(&b) | (b == b'\n') | (b == b'\t'))
        })
    })
}

/// Whether the one-line text `s` holds a character the full writer escapes.
pub(super) fn has_escapes(s: &str) -> bool {
    // Printable ASCII alone, the usual case, in one look at each byte (a block at a time).
    if s.as_bytes().chunks(32).all(|block| {
        block
            .iter()
            .fold(true, |ok, &b| ok & (0x20..0x7f).contains(&b))
    }) {
        return false;
    }
    if plain_ascii(s) {
        s.bytes().any(|b| b == b'\t' || b == b'\n')
    } else {
        s.chars().any(needs_escape)
    }
}

/// A character the full writer escapes in a quoted text, or that forbids a literal block.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// `2026-11-30T09:56:50Z`, with or without a fraction of a second: what aie stamps.
fn timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let frac_ok = match &b[19.min(b.len())..] {
        [b'Z'] => true,
        [b'.', rest @ .., b'Z'] => !rest.is_empty() && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && frac_ok
}

/// The lines of a long one-line text that may be plain, as the full writer folds it after
/// `>-`: indented by `indent`, broken at a run of spaces once a line would pass [`FOLD_AT`]
/// characters (the run's spaces but one end the line; a line break reads as one space).
/// With no run of spaces to break at, the rest is one line. [`folded_ascii`] does the same
/// a byte at a time.
fn folded(out: &mut String, s: &str, indent: usize) {
    let mut start = 0;
    let mut col = 0;
    // The last run of spaces closed by a character since the last break: (start, end).
    let mut last_run: Option<(usize, usize)> = None;
    let mut run: Option<usize> = None;
    let mut prev_end = 0;
    for (i, c) in s.char_indices() {
        if c != ' '
            && let Some(run_start) = run.take()
        {
            last_run = Some((run_start, prev_end));
        }
        if c == ' ' && run.is_none() {
            run = Some(i);
        }
        col += 1;
        if col > FOLD_AT {
            let Some((ws_start, ws_end)) = last_run else {
                break;
            };
            spaces(out, indent);
            out.push_str(&s[start..ws_start]);
            spaces(out, ws_end - ws_start - 1);
            out.push('\n');
            start = ws_end;
            col = 0;
            last_run = None;
        }
        prev_end = i + c.len_utf8();
    }
    spaces(out, indent);
    out.push_str(&s[start..]);
    out.push('\n');
}

/// [`folded`]'s lines of an ASCII text, a byte a character: a line breaks where the
/// character-by-character walk would, at the last run of spaces that a letter closed after
/// the last break's place and up to the place `FOLD_AT` characters on (the walk counts its
/// columns from the character where it broke).
fn folded_ascii(out: &mut String, text: &str, indent: usize) {
    // Every byte of an ASCII text starts a character: the text cuts anywhere.
    let s = text.as_bytes();
    let mut start = 0;
    // Characters a run may close at: after the last break's place, up to `at`.
    let mut after = 0;
    let mut at = FOLD_AT;
    while at < s.len() {
        // The last letter in (after, at] that closes a run of spaces.
        let Some(close) = (after.max(1)..=at)
            .rev()
            .find(|&j| s[j] != b' ' && s[j - 1] == b' ')
        else {
            break;
        };
        let run_start = s[..close]
            .iter()
            .rposition(|&b| b != b' ')
            .map_or(0, |k| k + 1);
        spaces(out, indent);
        out.push_str(&text[start..run_start]);
        spaces(out, close - run_start - 1);
        out.push('\n');
        start = close;
        after = at + 1;
        at += FOLD_AT + 1;
    }
    spaces(out, indent);
    out.push_str(&text[start..]);
    out.push('\n');
}

/// A text of several lines as a literal block: `|`, `|-` or `|+`, with the indentation
/// indicator when its first line starts with a space, each line indented by `indent`.
fn literal(out: &mut String, s: &str, indent: usize) -> bool {
    let content = s.trim_end_matches('\n');
    let block_safe = plain_ascii(s)
        || s.chars().all(|c| match c {
            '\n' | '\t' => true,
            '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' => false,
            c => matches!(
                c as u32,
                0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x0010_FFFF
            ),
        });
    if content.is_empty() || !block_safe {
        return false;
    }
    let trailing = s.len() - content.len();
    out.push_str(" |");
    let first = crate::lines::split(content)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if first.starts_with(' ') {
        out.push('2');
    }
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    out.push('\n');
    out.reserve(content.len() + content.len() / 32 * indent + 8);
    for line in crate::lines::split(content) {
        if !line.is_empty() {
            spaces(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
    true
}

#[cfg(test)]
mod tests {
    use super::{actions, front};
    use proptest::strategy::Strategy;
    use serde_json::{Map, Value, json};

    fn full<T: serde::Serialize>(v: &T) -> String {
        serde_saphyr::to_string(v).unwrap()
    }

    fn text() -> impl Strategy<Value = String> {
        proptest::prop_oneof![
            "\\PC{0,30}",
            "[ -~\\n\\t#:'\"|>-]{0,100}",
            "[a-z ]{70,90}",
            "(yes|No|null|true|~|[0-9]{1,20}|-?[0-9.e+]{1,6}|[a-z]+: x|x #y|#|-|.|2026-11-30T09:56:50(\\.5)?Z|2026-1-3|## Actions)",
            "( {0,2}[a-z]{0,5}\\n{0,3}){1,5}",
            // Long one-line texts, folded by the full writer: runs of spaces, words longer
            // than a line, letters of two bytes.
            "[a-zé]{0,100}( {1,3}[a-zé:#]{1,12}){5,40}",
            "[a-z]{0,100}( {1,3}[a-z:#]{1,12}){5,40}",
            "([a-z]{1,90} {1,2}){2,8}[a-z]",
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        proptest::prop_oneof![
            4 => text().prop_map(Value::from),
            1 => proptest::num::u64::ANY.prop_map(Value::from),
            1 => proptest::num::i64::ANY.prop_map(Value::from),
            1 => proptest::num::f64::NORMAL.prop_map(Value::from),
            1 => proptest::bool::ANY.prop_map(Value::from),
            1 => proptest::collection::vec(text(), 0..3).prop_map(|v| json!(v)),
            1 => proptest::strategy::Just(Value::Null),
        ]
    }

    fn map() -> impl Strategy<Value = Map<String, Value>> {
        proptest::collection::vec(
            ("(_|[a-z])[a-z0-9_]{0,6}|Key|y|yes|[a-z]+ [a-z]+", value()),
            0..8,
        )
        .prop_map(|e| e.into_iter().collect())
    }

    #[test]
    fn writes_what_aie_writes_as_the_full_writer_does() {
        let item = json!({"id": "drop-1", "created": "2026-11-30T09:56:50Z", "size": 3763,
            "actions": "## Actions", "ok": true, "summary": "If approved:\n  x\n\nend\n",
            "cc": ["a@b.c"], "title": "Re: hello", "n": -4, "f": 1.5, "z": null});
        let item = item.as_object().unwrap();
        assert_eq!(front(item), full(item));
        let acts: Vec<Map<String, Value>> = [
            json!({"kind": "social_post", "platform": "linkedin", "text": "a\nb", "needs_approval": true}),
            json!({"kind": "send_email", "to": ["a@b.c"], "body": " x\ny\n\n"}),
            json!({"kind": "note", "text": "No content", "rule": "note"}),
        ]
        .iter()
        .map(|a| a.as_object().unwrap().clone())
        .collect();
        assert_eq!(actions(&acts), full(&acts));
        // These are written here, not by the full writer.
        for (k, v) in item.iter().take(6) {
            assert!(super::entry(&mut String::new(), "", k, v, 2), "{k}");
        }
        let invoice = json!({"kind": "odoo_invoice", "to": [], "cc": ["a@b.c", "Ann <ann@b.c>"],
            "subject": "Re: drop-01997", "partner_email": "", "note": "see #3 and x #4",
            "lines": [{"description": "Design, October", "quantity": 1, "price_unit": 1500.5},
                      {"description": "Hosting", "quantity": 2, "price_unit": 49.0}],
            "amount": 0.25, "attachments": ["odoo:invoice"]});
        let invoice = invoice.as_object().unwrap();
        for (k, v) in invoice {
            assert!(super::entry(&mut String::new(), "  ", k, v, 4), "{k}");
        }
        // Long one-line texts (a post of one paragraph, its summary): folded here too.
        let long = json!({"text": "word ".repeat(40).trim_end(),
            "summary": format!("If approved, post \"{}\" now", "ab  cd ".repeat(30).trim()),
            "url": format!("See https://x.example/{}", "y".repeat(100))});
        let long = long.as_object().unwrap();
        for (k, v) in long {
            assert!(super::entry(&mut String::new(), "  ", k, v, 4), "{k}");
        }
        assert_eq!(front(long), full(long));
        assert!(front(long).starts_with("text: >-\n  word word"));
        let list = [long.clone()];
        assert_eq!(actions(&list), full(&list));
        let list = [invoice.clone()];
        assert_eq!(actions(&list), full(&list));
        assert_eq!(front(invoice), full(invoice));
        assert!(actions(&list).contains("\n  lines:\n  - description: Design, October\n    quantity: 1\n    price_unit: 1500.5\n"));
    }

    /// The vector search of a long text finds what one look at each pair of bytes finds.
    #[test]
    fn ends_or_comments_reads_a_long_text_as_a_short_one() {
        for n in [0, 1, 61, 62, 63, 64, 65, 200] {
            for piece in [
                "a: b", "a #b", "a:b", "a#b", ":", "#", " #", ": ", "#:", ":#",
            ] {
                for s in [
                    format!("{}{piece}", "x".repeat(n)),
                    format!("{piece}{}", "x".repeat(n)),
                ] {
                    let want = s.as_bytes().windows(2).any(|w| w == b": " || w == b" #");
                    assert_eq!(super::ends_or_comments(&s), want, "{s:?}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn front_matter_is_written_as_the_full_writer_does(m in map()) {
            proptest::prop_assert_eq!(front(&m), full(&m));
        }

        #[test]
        fn actions_are_written_as_the_full_writer_does(list in proptest::collection::vec(map(), 1..4)) {
            proptest::prop_assert_eq!(actions(&list), full(&list));
        }

        /// Actions as the planners make them: recipients, amounts with cents, invoice lines.
        #[test]
        fn planned_actions_are_written_as_the_full_writer_does(
            list in proptest::collection::vec((
                proptest::collection::vec(text(), 0..3),
                proptest::collection::vec((text(), amount(), amount()), 0..3),
                amount(),
                map(),
            ), 1..4)
        ) {
            let list: Vec<Map<String, Value>> = list
                .into_iter()
                .map(|(to, lines, total, mut extra)| {
                    let lines: Vec<Value> = lines
                        .into_iter()
                        .map(|(d, q, p)| json!({"description": d, "quantity": q, "price_unit": p}))
                        .collect();
                    let mut a = json!({"kind": "send_email", "to": to, "lines": lines, "amount": total});
                    a.as_object_mut().unwrap().append(&mut extra);
                    a.as_object().unwrap().clone()
                })
                .collect();
            proptest::prop_assert_eq!(actions(&list), full(&list));
            let one = list[0].clone();
            proptest::prop_assert_eq!(front(&one), full(&one));
        }
    }

    /// Amounts as they are written in mail: whole, with cents, tiny, huge; as numbers.
    fn amount() -> impl Strategy<Value = Value> {
        proptest::prop_oneof![
            (0u64..10_000_000_000, 0u32..4)
                .prop_map(|(n, d)| json!(n as f64 / 10f64.powi(d as i32))),
            proptest::num::f64::ANY.prop_map(|f| json!(f)),
            (0u64..1000).prop_map(|n| json!(n)),
        ]
    }
}
