//! A fast reader for the front matter aie itself writes: flat `key: value` lines whose
//! values are plain words, quoted text without escapes, whole numbers, `true`/`false`, or a
//! `|`/`|-` literal block. It answers only when it is sure to read exactly what the full
//! YAML parser reads; anything else (lists, comments, escapes, other numbers, odd
//! indentation, a repeated key) is left to that parser, so what an item means never depends
//! on which of the two read it.

use super::flat_write::{ends_or_comments, has_escapes, plain_ascii};
use serde_json::Value;

/// The front matter `yaml` as the full parser reads it, or None when it is not of the flat
/// shape this reader knows.
pub(super) fn parse(yaml: &str) -> Option<super::item::Front> {
    if yaml.contains('\r') {
        return None;
    }
    // A line a key, at most: no index to grow and rehash on the way.
    let lines_in = memchr::memchr_iter(b'\n', yaml.as_bytes()).count() + 1;
    let mut map = super::item::Front::with_capacity_and_hasher(lines_in, Default::default());
    let mut lines = crate::lines::split(yaml).peekable();
    while let Some(line) = lines.next() {
        if line.is_empty() && lines.peek().is_none() {
            break;
        }
        // The first `:` (a byte loop: the line is short).
        let colon = line.bytes().position(|b| b == b':')?;
        let (key, rest) = (&line[..colon], &line[colon + 1..]);
        if !key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return None;
        }
        let raw = rest.strip_prefix(' ')?;
        let value = match raw {
            "|" | "|-" => {
                let mut body: Vec<&str> = Vec::new();
                while let Some(next) = lines.peek() {
                    match next.strip_prefix("  ") {
                        Some(content) => {
                            // The first line sets the indentation: only two spaces here.
                            if body.is_empty() && content.starts_with([' ', '\t']) {
                                return None;
                            }
                            if !(plain_ascii(content) || content.chars().all(block_char))
                                || (!content.is_empty() && content.trim().is_empty())
                            {
                                return None;
                            }
                            body.push(content);
                        }
                        // An empty line inside the block (not before its first line).
                        None if next.is_empty() && !body.is_empty() => {
                            let mut ahead = lines.clone();
                            ahead.next();
                            match ahead.peek() {
                                // The end of the front matter's last line.
                                None => break,
                                // Inside the block. Blank lines at its end are left to the
                                // full parser (chomping decides what they mean).
                                Some(l) if l.starts_with("  ") => {}
                                Some(_) => return None,
                            }
                            body.push("");
                        }
                        None => break,
                    }
                    lines.next();
                }
                if body.is_empty() || body.iter().all(|l| l.trim().is_empty()) {
                    return None;
                }
                let mut text = body.join("\n");
                if raw == "|" {
                    text.push('\n');
                }
                Value::String(text)
            }
            ">-" => {
                // A long one-line text folded at spaces: lines of two spaces' indentation,
                // none empty, more indented or holding a tab; a line break reads as a space.
                let mut text = String::new();
                while let Some(content) = lines.peek().and_then(|l| l.strip_prefix("  ")) {
                    if content.is_empty()
                        || content.starts_with(' ')
                        || content.contains('\t')
                        || !(plain_ascii(content) || content.chars().all(block_char))
                    {
                        return None;
                    }
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(content);
                    lines.next();
                }
                if text.is_empty() {
                    return None;
                }
                Value::String(text)
            }
            _ => scalar(raw)?,
        };
        if map.insert(key.to_string(), value).is_some() {
            return None;
        }
    }
    Some(map)
}

/// A character a literal block may hold as it is.
fn block_char(c: char) -> bool {
    c == '\t' || (!c.is_control() && !odd_char(c))
}

/// Characters some readers take for line breaks or marks: left to the full parser.
fn odd_char(c: char) -> bool {
    matches!(
        c,
        '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

/// One value on its key's line.
fn scalar(raw: &str) -> Option<Value> {
    if raw.is_empty() || raw.ends_with([' ', '\t']) || has_escapes(raw) {
        return None;
    }
    if let Some(inner) = raw.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        return (!inner.bytes().any(|b| b == b'"' || b == b'\\'))
            .then(|| Value::String(inner.to_string()));
    }
    if let Some(inner) = raw.strip_prefix('\'') {
        let inner = inner.strip_suffix('\'')?;
        return (!inner.contains('\'')).then(|| Value::String(inner.to_string()));
    }
    match raw {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        // Whole numbers as plain decimals: no sign, no leading zero, well inside u64.
        if raw.len() > 18 || (raw.len() > 1 && raw.starts_with('0')) {
            return None;
        }
        return raw.parse::<u64>().ok().map(Value::from);
    }
    // Plain text: starts with a letter, is no word a reader takes for another type, and
    // holds nothing that ends or comments a plain value.
    const WORDS: &[&str] = &[
        "null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf",
    ];
    if !raw.starts_with(|c: char| c.is_ascii_alphabetic())
        || WORDS.iter().any(|w| raw.eq_ignore_ascii_case(w))
        || ends_or_comments(raw)
        || raw.ends_with(':')
    {
        return None;
    }
    Some(Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::parse;
    use proptest::strategy::Strategy;
    use serde_json::{Map, Value};

    fn full(yaml: &str) -> Option<Vec<(String, Value)>> {
        match serde_saphyr::from_str::<Value>(yaml) {
            Ok(Value::Object(m)) => Some(m.into_iter().collect()),
            _ => None,
        }
    }

    /// What the fast reader read, in its order.
    fn pairs(front: crate::vault::item::Front) -> Vec<(String, Value)> {
        front.into_iter().collect()
    }

    /// Whatever the fast reader answers, the full parser reads the same.
    fn same(yaml: &str) -> bool {
        match parse(yaml) {
            Some(fast) => {
                assert_eq!(Some(pairs(fast)), full(yaml), "{yaml:?}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn reads_what_aie_writes_as_the_full_parser_does() {
        let item = "id: drop-01999-537e06aa87\nkind: file\ndomain: accounting\nsource: inbox:drop-01999.txt\ncreated: \"2026-11-30T09:56:50Z\"\nstatus: pending_approval\nsize: 3763\nactions: \"## Actions\"\nsender_authenticated: true\nflag: false\nsummary: |-\n  If approved, aie will publish \"this\": a: b # not a comment\n\n  \tOriginal: [[x]] (3826 of 3000)\nother: '## Actions'\nlast: |\n  one\n  two\n";
        assert!(same(item));
        for line in [
            "a: b",
            "a: Re: hello",
            "a: x #y",
            "a: x#y",
            "a: yes",
            "a: No",
            "a: null",
            "a: ~",
            "a: 007",
            "a: 0",
            "a: 12345678901234567890",
            "a: -5",
            "a: 1.5",
            "a: 1e3",
            "a: 0x10",
            "a: 2026-11-30",
            "a: 12:30",
            "a: [x, y]",
            "a: {x: 1}",
            "a:",
            "a: \"x\\\"y\"",
            "a: 'it''s'",
            "a: 'plain'",
            "a: \"\"",
            "a: ''",
            "a: x ",
            "a: b\na: c",
            "a: |-\n    deep\n  shallow",
            "a: |-\n  x\n\n",
            "a: |+\n  x\n",
            "a: >-\n  x\n  y",
            "a: >-\n  x  \n  y",
            "a: >-\n  x\n   y",
            "a: >-\n  x\n\n  y",
            "a: >\n  x\n  y",
            "a: >-\n  x\ty\n  z",
            "a: >-\n",
            "a: >-\nb: c",
            "a: |-\n\n  late",
            "a: |-\n  x\n   \n  y",
            "a: plain\n  continued",
            "- a list",
            "# comment\na: b",
            "\"quoted key\": 1",
            "a: x\u{2028}y",
            "a: café au lait, s'il vous plaît",
            "a: True",
            "a: INF",
            "a: .inf",
            "a: @x",
            "a: *x",
            "a: &x y",
            "a: !tag y",
            "a: %x",
            "a: `x",
            "a: x: ",
            "a: Hello, World [1] {2}",
        ] {
            let _ = same(line);
            let _ = same(&format!("{line}\n"));
        }
        assert!(parse("a: x #y").is_none() && parse("a: b\na: c").is_none());
        assert!(same("a: x#y") && same("a: 0") && same("a: Re:x"));
        // A long post the writer folded reads back whole, by the fast reader.
        assert!(same("a: >-\n  x\n  y") && same("a: >-\n  x  \n  y\nb: 1\n"));
        let long = format!("{}end", "word  ".repeat(30));
        let written = serde_saphyr::to_string(&serde_json::json!({"summary": long})).unwrap();
        assert!(written.starts_with("summary: >-\n") && same(&written));
        assert_eq!(parse(&written).unwrap()["summary"], long.as_str());
    }

    proptest::proptest! {
        /// Any front matter the writer makes of text, numbers and booleans reads the same
        /// with either reader.
        #[test]
        fn written_front_matter_reads_the_same(
            entries in proptest::collection::vec(
                ("[a-z_][a-z0-9_]{0,8}", proptest::prop_oneof![
                    "\\PC{0,40}".prop_map(Value::from),
                    "[ -~\n\t#:'\"|>-]{0,60}".prop_map(Value::from),
                    "(yes|no|null|true|~|[0-9]{1,20}|-?[0-9.e+]{1,6}|[a-z]+: x|x #y)".prop_map(Value::from),
                    // Long one-line texts, which the writer folds (`>-`).
                    "[a-zé]{0,90}( {1,3}[a-zé:#]{1,12}){5,30}".prop_map(Value::from),
                    proptest::num::u64::ANY.prop_map(Value::from),
                    proptest::bool::ANY.prop_map(Value::from),
                ]),
                0..8,
            )
        ) {
            let map: Map<String, Value> = entries.into_iter().collect();
            let yaml = serde_saphyr::to_string(&map).unwrap();
            if let Some(fast) = parse(&yaml) {
                proptest::prop_assert_eq!(Some(pairs(fast)), full(&yaml), "{:?}", yaml);
            }
        }
    }
}
