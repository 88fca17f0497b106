//! The strict reading of `aie.yaml`, the one definition every command and `doctor` use: its
//! keys as written are checked against the keys this version knows, then the typed reading
//! runs. Each key keeps its line, so every error names the key, the file and the line; a key
//! this version does not know comes with the nearest known one (by edit distance, among its
//! siblings first, then among all keys).

use super::Settings;
use crate::exit::AieError;
use anyhow::Result;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;
use std::fmt;
use std::path::Path;

/// Maps whose keys are the owner's (domain names, action kinds), not settings.
pub const FREE_MAPS: &[&str] = &["routing.domains", "policy.rate_limits"];

/// Reads non-empty `aie.yaml` text strictly (see [`Settings::parse`]).
pub fn read(text: &str, path: &Path) -> Result<Settings> {
    let file = path.display().to_string();
    let (keys, unknown) =
        scan(text, &known_tree()).map_err(|e| AieError::Config(yaml_error(&file, &e)))?;
    if !unknown.is_empty() {
        let each: Vec<String> = unknown
            .iter()
            .map(|u| {
                let hint = match &u.suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "no setting has a similar name (the README lists them)".into(),
                };
                format!(
                    "unknown setting `{}` in `{file}` line {}: {hint}",
                    u.key.path, u.key.line
                )
            })
            .collect();
        return Err(AieError::Config(each.join("; ")).into());
    }
    let settings: Settings = serde_saphyr::from_str(text).map_err(|e| {
        let e = e.without_snippet();
        let (msg, at) = split_location(e);
        // An empty alias (`llm.provider: ""` reads as `template`) is not a choice to offer.
        let msg = msg.replace("expected one of , ", "expected one of ");
        // The key the bad value belongs to: the last key written before it.
        let key = at.and_then(|(_, _, offset)| {
            keys.iter()
                .filter(|k| k.offset <= offset)
                .max_by_key(|k| k.offset)
        });
        AieError::Config(match (key, at) {
            (Some(k), Some((line, _, _))) => {
                format!(
                    "invalid value for `{}` in `{file}` line {line}: {msg}",
                    k.path
                )
            }
            _ => yaml_error(&file, e),
        })
    })?;
    check_rate_limit_kinds(&settings, &keys, &file)?;
    if let Some(tz) = &settings.timezone
        && tz.parse::<chrono_tz::Tz>().is_err()
    {
        let line = line_of(&keys, "timezone");
        return Err(AieError::Config(format!(
            "invalid value for `timezone` in `{file}`{line}: `{tz}` is not an IANA time zone name such as `Europe/Berlin`"
        ))
        .into());
    }
    Ok(settings)
}

/// `policy.rate_limits` names action kinds: a misspelt kind would leave the real kind at
/// its default limit, looser than the owner asked for.
fn check_rate_limit_kinds(settings: &Settings, keys: &[KeyAt], file: &str) -> Result<()> {
    let kinds = || crate::actions::registry().iter().map(|k| k.name());
    for kind in settings.policy.rate_limits.keys() {
        if crate::actions::get(kind).is_some() {
            continue;
        }
        let path = format!("policy.rate_limits.{kind}");
        let line = line_of(keys, &path);
        let hint = match nearest(kind, kinds()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the kinds are {}", crate::actions::names()),
        };
        return Err(AieError::Config(format!(
            "unknown action kind `{path}` in `{file}`{line}: {hint}"
        ))
        .into());
    }
    Ok(())
}

/// ` line N` for the key at `path`, or nothing when it is not written out (a merge key).
fn line_of(keys: &[KeyAt], path: &str) -> String {
    keys.iter()
        .find(|k| k.path == path)
        .map(|k| format!(" line {}", k.line))
        .unwrap_or_default()
}

/// A YAML error as one line naming `file` and the place: `cannot parse `f` line 3 column 7:
/// ...` (the parser's own rendering names `<input>` and spans several lines).
pub fn yaml_error(file: &str, e: &serde_saphyr::Error) -> String {
    let e = e.without_snippet();
    match split_location(e) {
        (msg, Some((line, column, _))) => {
            format!("cannot parse `{file}` line {line} column {column}: {msg}")
        }
        (msg, None) => format!("cannot parse `{file}`: {msg}"),
    }
}

/// The message of a parser error without its place, and the place (line, column, offset).
fn split_location(e: &serde_saphyr::Error) -> (String, Option<(u64, u64, u64)>) {
    let text = e.to_string();
    match e
        .location()
        .filter(|l| *l != serde_saphyr::Location::UNKNOWN)
    {
        Some(l) => {
            let suffix = format!(" at line {}, column {}", l.line(), l.column());
            let msg = text.strip_suffix(&suffix).unwrap_or(&text).to_string();
            (msg, Some((l.line(), l.column(), l.span().offset())))
        }
        None => (text, None),
    }
}

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

/// The visits of scalars that a [`Node`] reads as [`Node::Scalar`], whatever their value.
macro_rules! scalars {
    ($($visit:ident: $t:ty),* $(,)?) => {
        $(
            fn $visit<E>(self, _: $t) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
        )*
    };
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
            scalars!(
                visit_bool: bool,
                visit_i64: i64,
                visit_u64: u64,
                visit_i128: i128,
                visit_u128: u128,
                visit_f64: f64,
                visit_str: &str,
                visit_bytes: &[u8],
            );
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
        health: super::HealthSettings {
            checks: vec![Default::default()],
            ..Default::default()
        },
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
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
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
    use crate::config::{GmailMark, LlmProvider, OdooApi, SmtpSecurity};

    fn unknown(text: &str) -> Vec<(String, u64, Option<String>)> {
        let (_, u) = scan(text, &known_tree()).unwrap();
        u.into_iter()
            .map(|u| (u.key.path, u.key.line, u.suggestion))
            .collect()
    }

    fn config_error(text: &str) -> String {
        let err = Settings::parse(text, Path::new("/v/aie.yaml")).unwrap_err();
        assert_eq!(crate::exit::exit_for(&err), crate::exit::Exit::Config);
        err.to_string()
    }

    /// Regression (issue 9, item 6): a misspelt key was kept aside and its setting fell back
    /// to the default, so `payment_auto_belw: 50` left payments under 100 auto-approved.
    #[test]
    fn an_unknown_key_is_refused_naming_file_line_and_nearest_key() {
        let msg = config_error(
            "timezone: UTC\npolicy:\n  known_payees: [Acme]\n  payment_auto_belw: 50\n",
        );
        assert_eq!(
            msg,
            "unknown setting `policy.payment_auto_belw` in `/v/aie.yaml` line 4: did you mean `policy.payment_auto_below`?"
        );
        let msg = config_error("frobnicate: 1\n");
        assert!(
            msg.starts_with("unknown setting `frobnicate` in `/v/aie.yaml` line 1: no setting"),
            "{msg}"
        );
    }

    #[test]
    fn an_enum_value_outside_its_choices_names_key_line_and_choices() {
        for (text, key, line, choice) in [
            (
                "smtp:\n  host: h\n  security: ssl\n",
                "smtp.security",
                3,
                "starttls",
            ),
            ("gmail:\n  mark: read\n", "gmail.mark", 2, "unread"),
            (
                "llm: {provider: gpt}\n",
                "llm.provider",
                1,
                "expected one of template, anthropic, openai_compatible",
            ),
            ("odoo:\n  api: xmlrpc\n", "odoo.api", 2, "json2"),
        ] {
            let msg = config_error(text);
            assert!(
                msg.starts_with(&format!(
                    "invalid value for `{key}` in `/v/aie.yaml` line {line}: "
                )),
                "{msg}"
            );
            assert!(msg.contains(choice), "{msg}");
        }
        let msg = config_error("owner:\n  name: Sam\ntimezone: Mars/Base\n");
        assert!(
            msg.starts_with("invalid value for `timezone` in `/v/aie.yaml` line 3: "),
            "{msg}"
        );
        let msg = config_error("policy:\n  payment_auto_below: fifty\n");
        assert!(
            msg.contains("`policy.payment_auto_below`") && msg.contains("line 2"),
            "{msg}"
        );
    }

    #[test]
    fn enum_values_read_as_written() {
        let s = Settings::parse(
            "smtp:\n  security: none\ngmail:\n  mark: label\nllm:\n  provider: openai_compatible\nodoo:\n  api: json2\n",
            Path::new("aie.yaml"),
        )
        .unwrap();
        assert_eq!(s.smtp.unwrap().security, SmtpSecurity::None);
        assert_eq!(s.gmail.unwrap().mark, GmailMark::Label);
        assert_eq!(s.llm.provider, LlmProvider::OpenaiCompatible);
        assert_eq!(s.odoo.unwrap().api, OdooApi::Json2);
        let s = Settings::parse("llm:\n  provider: \"\"\n", Path::new("aie.yaml")).unwrap();
        assert_eq!(s.llm.provider, LlmProvider::Template);
    }

    /// A misspelt kind in `policy.rate_limits` would leave the real kind at its default.
    #[test]
    fn a_rate_limit_for_an_unknown_kind_is_refused() {
        let msg = config_error("policy:\n  rate_limits:\n    send_emial: 1\n");
        assert_eq!(
            msg,
            "unknown action kind `policy.rate_limits.send_emial` in `/v/aie.yaml` line 3: did you mean `send_email`?"
        );
    }

    #[test]
    fn the_template_and_a_spec_complete_file_load() {
        let t = Settings::parse(
            include_str!("../../vault_template/aie.yaml"),
            Path::new("aie.yaml"),
        )
        .unwrap();
        assert_eq!(t.policy.payment_auto_below, 100.0);
        // Every line of the template's commented sections, uncommented, loads too.
        let uncommented: String = include_str!("../../vault_template/aie.yaml")
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.starts_with("  ")
                        || rest.split_once(':').is_some_and(|(k, _)| {
                            k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        }) =>
                {
                    rest
                }
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let s = Settings::parse(&uncommented, Path::new("aie.yaml")).unwrap();
        assert!(s.smtp.is_some() && s.odoo.is_some() && s.linkedin.is_some() && s.sync.is_some());
        assert!(s.backup.dir.is_some() && s.alerts.webhook_url.is_some());
        assert_eq!(s.zones.len(), 2);
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
