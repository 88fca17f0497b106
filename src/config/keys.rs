//! The keys of `aie.yaml` as written, checked against the keys this version knows: the one
//! definition that both the loader (every command) and `doctor` use. Each key keeps the line
//! it is on, so an error can point at it; a key this version does not know comes with the
//! nearest known one (by edit distance, among its siblings first, then among all keys).

use super::Settings;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;
use std::fmt;

/// Maps whose keys are the owner's (domain names, action kinds), not settings.
pub const FREE_MAPS: &[&str] = &["routing.domains", "policy.rate_limits"];

/// A key as written in the file: its dotted path (`policy.payment_auto_below`, a list
/// element as `zones[0].name`), its line (1-based) and its character offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAt {
    pub path: String,
    pub line: u64,
    pub offset: u64,
}

/// A key this version does not know, and the known key it is nearest to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub key: KeyAt,
    pub suggestion: Option<String>,
}

/// What a YAML node is, as far as keys go.
enum Node {
    Map(Vec<(Spanned<String>, Node)>),
    List(Vec<Node>),
    Scalar,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = m.next_key::<Spanned<String>>()? {
                    entries.push((k, m.next_value::<Node>()?));
                }
                Ok(Node::Map(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(n) = s.next_element::<Node>()? {
                    items.push(n);
                }
                Ok(Node::List(items))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_enum<A: de::EnumAccess<'de>>(self, e: A) -> Result<Node, A::Error> {
                let _ = e.variant::<IgnoredAny>()?;
                Ok(Node::Scalar)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_i128<E>(self, _: i128) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_u128<E>(self, _: u128) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_str<E>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
        }
        d.deserialize_any(NodeVisitor)
    }
}

/// Every settings key, with every optional section filled in and every list of sections
/// holding one default element.
pub fn known_tree() -> Value {
    let s = Settings {
        smtp: Some(Default::default()),
        gmail: Some(Default::default()),
        odoo: Some(Default::default()),
        facebook: Some(Default::default()),
        instagram: Some(Default::default()),
        whatsapp: Some(Default::default()),
        x: Some(Default::default()),
        linkedin: Some(Default::default()),
        sync: Some(Default::default()),
        zones: vec![Default::default()],
        ..Settings::default()
    };
    serde_json::to_value(&s).expect("invariant: settings serialize")
}

/// Reads the keys of `text` (YAML) against `known`: every key in document order, and the
/// ones `known` does not have. Errors are the YAML's own (it does not parse).
pub fn scan(text: &str, known: &Value) -> Result<(Vec<KeyAt>, Vec<Unknown>), serde_saphyr::Error> {
    let root: Node = serde_saphyr::from_str(text)?;
    let mut all = Vec::new();
    known_paths(known, "", &mut all);
    let mut walk = Walk {
        all_known: all,
        keys: Vec::new(),
        unknown: Vec::new(),
    };
    walk.node(&root, known, "");
    Ok((walk.keys, walk.unknown))
}

struct Walk {
    all_known: Vec<String>,
    keys: Vec<KeyAt>,
    unknown: Vec<Unknown>,
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn key_at(path: String, k: &Spanned<String>) -> KeyAt {
    KeyAt {
        path,
        line: k.referenced.line(),
        offset: k.referenced.span().offset(),
    }
}

impl Walk {
    fn node(&mut self, node: &Node, known: &Value, prefix: &str) {
        match (node, known) {
            (Node::Map(entries), Value::Object(k)) => {
                for (key, child) in entries {
                    let path = join(prefix, &key.value);
                    self.keys.push(key_at(path.clone(), key));
                    match k.get(&key.value) {
                        None => {
                            let suggestion = nearest(&key.value, k.keys().map(String::as_str))
                                .map(|s| join(prefix, s))
                                .or_else(|| self.nearest_anywhere(&key.value));
                            self.unknown.push(Unknown {
                                key: key_at(path, key),
                                suggestion,
                            });
                        }
                        // The owner's own keys: kept for their lines, not checked.
                        Some(_) if FREE_MAPS.contains(&path.as_str()) => {
                            if let Node::Map(free) = child {
                                for (fk, _) in free {
                                    self.keys.push(key_at(join(&path, &fk.value), fk));
                                }
                            }
                        }
                        Some(kv) => self.node(child, kv, &path),
                    }
                }
            }
            (Node::List(items), Value::Array(k)) => {
                if let Some(element) = k.first() {
                    for (i, item) in items.iter().enumerate() {
                        self.node(item, element, &format!("{prefix}[{i}]"));
                    }
                }
            }
            // A value of the wrong shape is the typed reading's error, with its line.
            _ => {}
        }
    }

    /// The known key whose last part is nearest to `key`, wherever it is (a key put under
    /// the wrong section, or at the top level).
    fn nearest_anywhere(&self, key: &str) -> Option<String> {
        let leaf = |p: &str| p.rsplit('.').next().unwrap_or(p).to_string();
        let leaves: Vec<String> = self.all_known.iter().map(|p| leaf(p)).collect();
        let best = nearest(key, leaves.iter().map(String::as_str))?;
        let i = leaves.iter().position(|l| l == best)?;
        Some(self.all_known[i].clone())
    }
}

/// Dotted paths of every known key (not inside lists or the owner's maps).
fn known_paths(known: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(k) = known {
        for (key, v) in k {
            let path = join(prefix, key);
            out.push(path.clone());
            if !FREE_MAPS.contains(&path.as_str()) {
                known_paths(v, &path, out);
            }
        }
    }
}

/// The candidate nearest to `word` by edit distance, if it is close enough to be a typo
/// (about one edit in three characters).
pub fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let bound = (word.chars().count() / 3).max(1);
    candidates
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= bound)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus swapping two neighbours), case-blind.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    // d[i][j]: the distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=b.len() {
        d[0][j] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(text: &str) -> Vec<(String, u64, Option<String>)> {
        let (_, u) = scan(text, &known_tree()).unwrap();
        u.into_iter()
            .map(|u| (u.key.path, u.key.line, u.suggestion))
            .collect()
    }

    #[test]
    fn distance_counts_edits_and_swaps() {
        assert_eq!(distance("payment_auto_belw", "payment_auto_below"), 1);
        assert_eq!(distance("prot", "port"), 1);
        assert_eq!(distance("Policy", "policy"), 0);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn nested_unknown_keys_are_found_with_lines_but_owner_maps_are_free() {
        let text = "timezone: UTC\npolicy:\n  rate_limits: {social_post: 3}\n  aproval_expires: 1h\nrouting:\n  domains:\n    legal: [contract]\ngmail: {query: x,\n  qurey: y}\nfrobnicate: 1\n";
        assert_eq!(
            unknown(text),
            [
                (
                    "policy.aproval_expires".to_string(),
                    4,
                    Some("policy.approval_expires".to_string())
                ),
                ("gmail.qurey".into(), 9, Some("gmail.query".into())),
                ("frobnicate".into(), 10, None),
            ]
        );
    }

    #[test]
    fn a_key_in_the_wrong_section_is_found_anywhere() {
        assert_eq!(
            unknown("payment_auto_below: 50\nsmtp:\n  dry_run: false\n"),
            [
                (
                    "payment_auto_below".to_string(),
                    1,
                    Some("policy.payment_auto_below".to_string())
                ),
                ("smtp.dry_run".into(), 3, Some("execution.dry_run".into())),
            ]
        );
    }

    #[test]
    fn keys_inside_lists_of_sections_are_checked() {
        assert_eq!(
            unknown("zones:\n  - name: home\n  - name: vps\n    helth_url: http://x\n"),
            [(
                "zones[1].helth_url".to_string(),
                4,
                Some("zones[1].health_url".to_string())
            )]
        );
    }

    #[test]
    fn every_key_has_its_line() {
        let (keys, _) = scan("# c\nsmtp:\n\n  security: tls\n", &known_tree()).unwrap();
        let got: Vec<(&str, u64)> = keys.iter().map(|k| (k.path.as_str(), k.line)).collect();
        assert_eq!(got, [("smtp", 2), ("smtp.security", 4)]);
    }
}
