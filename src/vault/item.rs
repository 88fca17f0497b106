//! One item: a Markdown file with flat YAML front matter. Rewriting an item keeps unknown
//! keys in their order and the body byte for byte, but for aie's own `## Actions` section.
//! The identities the promises rest on (an action's idempotency key, an item's actions hash)
//! are in `identity.rs`, and named from here too.
//!
//! Where the actions live (SPEC.md, "Items"): after `plan`, the body ends with a section
//! `## Actions` holding one fenced block with the info string `yaml aie-actions`, and the
//! front matter says `actions: "## Actions"`. Only that key makes aie read a block, and only
//! the last `## Actions` section of the body: a mail quoted in the body may hold a block that
//! looks the same, and it is never read (before planning there is no key; after, aie's own
//! section comes after the mail). Items written before carried `actions:` as a list in the
//! front matter: they are read, and written back in the new form. Rejected actions kept for
//! a new plan go to a `## Rejected actions` section (`yaml aie-rejected-actions`).

use super::actions_block::{
    append, append_section, objects, read_section, section_range, section_text,
};
use crate::fsutil::FileId;
use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

pub use super::identity::{action_identity, action_key, actions_hash, canonical_json, hex};

/// The longest id aie accepts, in bytes: `<id>.plan.md` stays far below a file-name limit.
pub const MAX_ID_BYTES: usize = 120;

/// Whether `id` is safe to put into a path or a URL: ASCII letters, digits, `.`, `_` and
/// `-`, not starting with `.`, at most [`MAX_ID_BYTES`] long. Every id aie makes is one.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// [`valid_id`] as an error naming the id (shortened, and escaped, when it is long or odd).
pub fn check_id(id: &str) -> Result<()> {
    if valid_id(id) {
        return Ok(());
    }
    let shown: String = id.chars().take(60).collect();
    bail!(
        "id {:?}{} is not a safe id: use letters, digits, `.`, `_` and `-`, not starting with `.`, at most {MAX_ID_BYTES} bytes",
        shown,
        if shown.len() < id.len() { "..." } else { "" }
    )
}

/// The value of `actions:` in the front matter of an item whose actions are in its body.
pub const ACTIONS_IN_BODY: &str = "## Actions";
const ACTIONS_HEADING: &str = "## Actions";
const ACTIONS_INFO: &str = "yaml aie-actions";
const REJECTED_HEADING: &str = "## Rejected actions";
const REJECTED_INFO: &str = "yaml aie-rejected-actions";

/// An item's front matter, in its order: serde_json's ordered map, but hashed with foldhash
/// (seeded anew in each process) instead of SipHash. A pass looks up about 50 keys an item,
/// and SipHash cost 4 % of a pass's instructions.
pub type Front = indexmap::IndexMap<String, Value, foldhash::fast::RandomState>;

/// A parsed item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub front: Front,
    /// The body, with aie's `## Actions` section in it once planned.
    pub body: String,
    /// The actions, read once from the body (or an old item's front matter).
    actions: Option<Vec<Map<String, Value>>>,
}

impl Item {
    /// A new item with the keys every item has, in the contract's order.
    pub fn new(id: &str, kind: &str, domain: &str, source: &str, created: &str) -> Item {
        let mut front = Front::default();
        front.insert("id".into(), id.into());
        front.insert("kind".into(), kind.into());
        front.insert("domain".into(), domain.into());
        front.insert("source".into(), source.into());
        front.insert("created".into(), created.into());
        front.insert("status".into(), "needs_action".into());
        front.insert("priority".into(), "normal".into());
        Item {
            front,
            body: String::new(),
            actions: None,
        }
    }

    /// Parses item text. Errors say what is wrong; the caller adds the file name. A UTF-8
    /// byte order mark before the opening `---` (some Windows editors write one) is accepted
    /// and not kept: [`Item::render`] writes the file without it, the body byte for byte.
    pub fn parse(text: &str) -> Result<Item> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let rest = text
            .strip_prefix("---\n")
            .or_else(|| text.strip_prefix("---\r\n"))
            .context("no front matter: an item starts with a `---` line")?;
        let (yaml, body) = split_front(rest).context("front matter has no closing `---` line")?;
        let front: Front = if yaml.trim().is_empty() {
            Front::default()
        } else if let Some(front) = super::flat_front::parse(yaml) {
            front
        } else {
            let value: Value = serde_saphyr::from_str(yaml)
                .map_err(|e| anyhow::anyhow!("malformed front matter: {e}"))?;
            let Value::Object(front) = value else {
                bail!("malformed front matter: not a mapping of keys to values");
            };
            front.into_iter().collect()
        };
        let mut item = Item {
            front,
            body: body.to_string(),
            actions: None,
        };
        if item.id().is_empty() {
            bail!("front matter has no `id`");
        }
        check_id(item.id())?;
        item.read_actions()?;
        Ok(item)
    }

    /// Reads and parses an item file. Errors name the file (a symbolic link, or anything but
    /// a regular file, is refused, never followed).
    pub fn read(path: &Path) -> Result<Item> {
        Item::read_held(path).map(|(item, _)| item)
    }

    /// Reads and parses an item file, with the identity of the file read: a rewrite at the
    /// end of a pass lands only on that file ([`crate::fsutil::rewrite_held`]).
    pub fn read_held(path: &Path) -> Result<(Item, FileId)> {
        Item::read_held_in(None, path)
    }

    /// [`Item::read_held`], the path found from `root` when below it.
    pub fn read_held_in(root: Option<&crate::fsutil::Root>, path: &Path) -> Result<(Item, FileId)> {
        let (bytes, held) = crate::fsutil::read_regular_in(root, path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("`{}` is not UTF-8 text", path.display()))?;
        let item =
            Item::parse(&text).with_context(|| format!("cannot parse `{}`", path.display()))?;
        Ok((item, held))
    }

    /// The file text: front matter, then the body exactly as it was.
    pub fn render(&self) -> String {
        let yaml = super::flat_write::front(&self.front);
        let mut out = String::with_capacity(yaml.len() + self.body.len() + 10);
        out.push_str("---\n");
        out.push_str(&yaml);
        if !yaml.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("---\n");
        out.push_str(&self.body);
        out
    }

    /// A string field, or "".
    pub fn str(&self, key: &str) -> &str {
        self.front.get(key).and_then(Value::as_str).unwrap_or("")
    }

    pub fn id(&self) -> &str {
        self.str("id")
    }

    /// The domain, or `general` when missing or unknown.
    pub fn domain(&self) -> &str {
        let d = self.str("domain");
        if super::DOMAINS.contains(&d) {
            d
        } else {
            "general"
        }
    }

    /// Sets a front matter field. A text is scrubbed of the run's secrets first: aie sets
    /// fields such as `review:` from texts that may quote a server's reply.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) {
        let value = match value.into() {
            Value::String(s) => Value::String(crate::secrets::scrub_owned(s)),
            other => other,
        };
        self.front.insert(key.to_string(), value);
    }

    /// Reads the actions from where this item keeps them (see the module's header); an
    /// item in the old form has them moved into the body, to be written in the new form.
    fn read_actions(&mut self) -> Result<()> {
        match self.front.get("actions") {
            Some(Value::Array(list)) => {
                let list = objects(list).context("malformed `actions` in the front matter")?;
                self.set_actions(list);
            }
            Some(Value::String(_)) => {
                let list = read_section(&self.body, ACTIONS_HEADING, ACTIONS_INFO)?
                    .with_context(|| {
                        format!("the front matter says `actions: \"{ACTIONS_IN_BODY}\"`, but the body has no `{ACTIONS_HEADING}` section")
                    })?;
                self.actions = Some(list);
            }
            _ => {}
        }
        if let Some(Value::Array(old)) = self.front.shift_remove("rejected_actions") {
            let old = objects(&old).context("malformed `rejected_actions` in the front matter")?;
            append_section(&mut self.body, REJECTED_HEADING, REJECTED_INFO, &old);
        }
        Ok(())
    }

    /// The actions (empty when the item has not been planned).
    pub fn actions(&self) -> Vec<Map<String, Value>> {
        self.actions.clone().unwrap_or_default()
    }

    /// The actions, borrowed (empty when the item has not been planned).
    pub fn actions_ref(&self) -> &[Map<String, Value>] {
        self.actions.as_deref().unwrap_or(&[])
    }

    /// What the owner reads when a request or an approved item has no plan aie reads: the
    /// front matter lost its `actions` property (Obsidian shows it as an odd text property,
    /// easy to delete). aie never guesses the plan from the body without it: a quoted mail
    /// may hold a block that looks the same.
    pub const NO_PLAN: &str = "aie reads no plan in this item: its front matter has no `actions` property. If it was removed, put back the line `actions: \"## Actions\"` (or run `aie plan` on a copy in Needs_Action/), then approve again.";

    /// Whether the item has actions (it has been planned).
    pub fn is_planned(&self) -> bool {
        self.actions.is_some()
    }

    /// Sets the actions: aie's `## Actions` section is rewritten in place (the rest of the
    /// body stays byte for byte), or appended to the body when the item had none.
    pub fn set_actions(&mut self, actions: Vec<Map<String, Value>>) {
        let section = section_text(ACTIONS_HEADING, ACTIONS_INFO, &actions);
        match self.actions.is_some() && !self.front_has_old_actions() {
            true => match section_range(&self.body, ACTIONS_HEADING) {
                Some(r) => self.body.replace_range(r, &section),
                None => append(&mut self.body, &section),
            },
            false => append(&mut self.body, &section),
        }
        self.front.insert("actions".into(), ACTIONS_IN_BODY.into());
        self.actions = Some(actions);
    }

    /// Changes the actions in place with `edit`, then rewrites their section as
    /// [`Item::set_actions`] does (without a copy of the actions).
    pub fn edit_actions(&mut self, edit: impl FnOnce(&mut Vec<Map<String, Value>>)) {
        let had = self.actions.is_some();
        let mut actions = self.actions.take().unwrap_or_default();
        edit(&mut actions);
        // `set_actions` reads whether the item had actions before.
        self.actions = had.then(Vec::new);
        self.set_actions(actions);
    }

    fn front_has_old_actions(&self) -> bool {
        matches!(self.front.get("actions"), Some(Value::Array(_)))
    }

    /// Takes the actions away: their section becomes `## Rejected actions`, kept for the
    /// owner to read beside the new plan, and never read as actions again.
    pub fn reject_actions(&mut self) {
        if let Some(old) = self.actions.take() {
            let text = section_text(REJECTED_HEADING, REJECTED_INFO, &old);
            match section_range(&self.body, ACTIONS_HEADING) {
                Some(r) => self.body.replace_range(r, &text),
                None => append(&mut self.body, &text),
            }
        }
        self.front.shift_remove("actions");
    }

    /// The body without aie's own blocks (actions, rejected actions): what the item says.
    pub fn own_text(&self) -> std::borrow::Cow<'_, str> {
        if !self.body.contains("```yaml aie-") {
            return std::borrow::Cow::Borrowed(&self.body);
        }
        let mut out = String::with_capacity(self.body.len());
        let mut inside = false;
        for line in crate::lines::with_ends(&self.body) {
            let t = line.trim_end();
            if !inside && t.starts_with("```yaml aie-") {
                inside = true;
            } else if inside && t == "```" {
                inside = false;
            } else if !inside {
                out.push_str(line);
            }
        }
        std::borrow::Cow::Owned(out)
    }

    /// The approval hash of the current actions.
    pub fn actions_hash(&self) -> String {
        actions_hash(self.id(), self.actions_ref())
    }
}

/// Splits `rest` (the text after the opening `---` line) at the closing `---`/`...` line.
fn split_front(rest: &str) -> Option<(&str, &str)> {
    let mut pos = 0;
    for line in crate::lines::with_ends(rest) {
        let t = line.trim_end_matches(['\n', '\r']);
        if t == "---" || t == "..." {
            return Some((&rest[..pos], &rest[pos + line.len()..]));
        }
        pos += line.len();
    }
    None
}

/// A short, file-name-safe slug of `s` (ASCII letters and digits, dashes), at most `max` long.
pub fn slug(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= max {
            break;
        }
    }
    out.trim_matches('-').to_string()
}

/// A stable id: a readable slug of `label` plus a hash of `parts`.
pub fn make_id(label: &str, parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let digest = hex(&h.finalize()[..5]);
    let s = slug(label, 40);
    if s.is_empty() {
        digest
    } else {
        format!("{s}-{digest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_unknown_keys_in_order_and_body_bytes() {
        let text = "---\nid: a1\nzeta: 1\nkind: file\nalpha: [x, y]\n---\n\n# Title\r\nbody  \n\twith tabs";
        let mut item = Item::parse(text).unwrap();
        item.set("status", "done");
        let out = item.render();
        let again = Item::parse(&out).unwrap();
        let keys: Vec<&String> = again.front.keys().collect();
        assert_eq!(keys, ["id", "zeta", "kind", "alpha", "status"]);
        assert_eq!(again.body, "\n# Title\r\nbody  \n\twith tabs");
    }

    /// Finding 14: a byte order mark before `---` made the item unreadable.
    #[test]
    fn a_byte_order_mark_before_the_front_matter_is_accepted() {
        let text = "\u{feff}---\nid: a1\n---\n\u{feff}body\r\n";
        let item = Item::parse(text).unwrap();
        assert_eq!(item.id(), "a1");
        assert_eq!(item.body, "\u{feff}body\r\n");
        assert_eq!(item.render(), "---\nid: a1\n---\n\u{feff}body\r\n");
    }

    #[test]
    fn malformed_front_matter_is_an_error() {
        assert!(Item::parse("no front matter").is_err());
        assert!(Item::parse("---\nid: x\n").is_err());
        assert!(Item::parse("---\nid: [unclosed\n---\n").is_err());
        assert!(Item::parse("---\n- a list\n---\n").is_err());
        assert!(Item::parse("---\nkind: file\n---\n").is_err());
    }

    #[test]
    fn unsafe_ids_are_refused() {
        for id in [
            "a1",
            "gmail-18c2f0a",
            "invoice-request-acme-txt-0a1b2c3d4e",
            "v1.2_x",
        ] {
            assert!(valid_id(id), "{id}");
        }
        let long = "a".repeat(MAX_ID_BYTES + 1);
        for id in [
            "",
            "../../x/pwned",
            "..",
            ".hidden",
            "a/b",
            "a b",
            "a\\b",
            "é",
            &long,
        ] {
            assert!(!valid_id(id), "{id}");
        }
        // An item whose id would escape the vault is refused when it is read.
        let err = Item::parse("---\nid: ../../../x/pwned\n---\n").unwrap_err();
        assert!(format!("{err:#}").contains("not a safe id"), "{err:#}");
    }

    #[test]
    fn ids_are_stable_and_safe() {
        let a = make_id(
            "Invoice request (ACME).txt",
            &[b"Invoice request (ACME).txt", b"body"],
        );
        assert_eq!(
            a,
            make_id(
                "Invoice request (ACME).txt",
                &[b"Invoice request (ACME).txt", b"body"]
            )
        );
        assert!(a.starts_with("invoice-request-acme-txt-"), "{a}");
        assert_ne!(
            a,
            make_id(
                "Invoice request (ACME).txt",
                &[b"Invoice request (ACME).txt", b"other"]
            )
        );
        assert!(
            make_id("..", &[b".."])
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        );
        assert!(make_id("日本語", &[b"x"]).len() == 10);
        assert!(valid_id(&a) && valid_id(&make_id("..", &[b".."])));
    }
}
#[cfg(test)]
pub(crate) mod hash_stability {
    use super::*;

    /// Items written by main before issue 9 (actions in the front matter), with the hashes
    /// that main computed for them: the approvals and idempotency keys recorded for these
    /// items must still match whatever form aie reads or writes them in.
    pub(crate) const FIXTURES: &[(&str, &str, &[&str])] = &[
        (
            "old-form-request.md",
            "3fde85d6942b3e7fccc399bf02928339",
            &[
                "8109eae890daad427f419324633680af",
                "6958a83cf158cbeee83d9f2eb00c8854",
                "c5ab5e0cb74fd7d3eba67c04c39de37f",
                "f282fe2b6c220c45e40024c5801f9b94",
                "2bcc422bab90e9865f9a6343efde3dc7",
            ],
        ),
        (
            "old-form-done.md",
            "8a0c75a23f499f17d80dd6d202c2c144",
            &[
                "f411800ce7674a0140e154558df37e74",
                "68cd623cbc901cabfb416cc89b9a81b1",
                "15141a88ea89270173249ba9de3d8ab2",
            ],
        ),
    ];

    pub(crate) fn fixture(name: &str) -> String {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/items");
        std::fs::read_to_string(dir.join(name)).unwrap()
    }

    #[test]
    fn hashes_of_items_written_by_main_before_issue_9_do_not_change() {
        for (name, hash, keys) in FIXTURES {
            let item = Item::parse(&fixture(name)).unwrap();
            assert_eq!(item.actions_hash(), *hash, "{name}");
            let got: Vec<String> = item
                .actions()
                .iter()
                .map(|a| action_key(item.id(), a))
                .collect();
            assert_eq!(got, *keys, "{name}");
        }
    }
}
