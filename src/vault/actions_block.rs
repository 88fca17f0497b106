//! aie's own sections in an item's body: `## Actions` with its `yaml aie-actions` block
//! (and `## Rejected actions`), found, read and written. Which section counts, and when, is
//! `item.rs`'s: only the last section under a heading is ever read here.

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value};

/// Each value of `list` as an object, or an error naming the one that is not.
pub(super) fn objects(list: &[Value]) -> Result<Vec<Map<String, Value>>> {
    list.iter()
        .enumerate()
        .map(|(n, v)| {
            v.as_object()
                .cloned()
                .ok_or_else(|| anyhow!("action {} is not a mapping of keys to values", n + 1))
        })
        .collect()
}

/// The text of a section: heading, then the fenced YAML list.
pub(super) fn section_text(heading: &str, info: &str, actions: &[Map<String, Value>]) -> String {
    let yaml = if actions.is_empty() {
        "[]\n".to_string()
    } else {
        super::flat_write::actions(actions)
    };
    let mut out = String::with_capacity(heading.len() + info.len() + yaml.len() + 12);
    for piece in [heading, "\n\n```", info, "\n", &yaml] {
        out.push_str(piece);
    }
    if !yaml.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

/// Appends `section` to `body`, after a blank line.
pub(super) fn append(body: &mut String, section: &str) {
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    if !body.is_empty() && !body.ends_with("\n\n") {
        body.push('\n');
    }
    body.push_str(section);
}

/// Appends a section for `actions` to `body`.
pub(super) fn append_section(
    body: &mut String,
    heading: &str,
    info: &str,
    actions: &[Map<String, Value>],
) {
    append(body, &section_text(heading, info, actions));
}

/// The byte range of the LAST section under `heading`: its heading line up to the end of
/// its block's closing fence (or of the body, when the block is not closed).
pub(super) fn section_range(body: &str, heading: &str) -> Option<std::ops::Range<usize>> {
    // Most bodies read have no such section yet (an item being planned): one search says
    // so without walking their lines.
    memchr::memmem::find(body.as_bytes(), heading.as_bytes())?;
    let mut start = None;
    let mut pos = 0;
    for line in crate::lines::with_ends(body) {
        if line.trim_end() == heading {
            start = Some(pos);
        }
        pos += line.len();
    }
    let start = start?;
    let mut pos = start;
    let mut fenced = false;
    for line in crate::lines::with_ends(&body[start..]) {
        pos += line.len();
        let t = line.trim_end();
        if !fenced && t.starts_with("```") {
            fenced = true;
        } else if fenced && t == "```" {
            return Some(start..pos);
        }
    }
    Some(start..body.len())
}

/// Reads the block of the LAST section under `heading`: `None` when there is no such
/// section; an error when its block is missing, not closed or not a YAML list of mappings.
pub(super) fn read_section(
    body: &str,
    heading: &str,
    info: &str,
) -> Result<Option<Vec<Map<String, Value>>>> {
    let Some(range) = section_range(body, heading) else {
        return Ok(None);
    };
    let mut lines = crate::lines::with_ends(&body[range]).skip(1);
    let open = lines.by_ref().find(|l| !l.trim().is_empty());
    if open.map(str::trim) != Some(&format!("```{info}")) {
        bail!("the `{heading}` section does not start with a ```{info} block");
    }
    let mut yaml = String::new();
    let mut closed = false;
    for l in lines {
        if l.trim_end() == "```" {
            closed = true;
            break;
        }
        yaml.push_str(l);
    }
    if !closed {
        bail!("the ```{info} block under `{heading}` has no closing ``` line");
    }
    let value: Value = if yaml.trim().is_empty() {
        Value::Array(Vec::new())
    } else {
        serde_saphyr::from_str(&yaml)
            .map_err(|e| anyhow!("malformed ```{info} block under `{heading}`: {e}"))?
    };
    let Value::Array(list) = value else {
        bail!("the ```{info} block under `{heading}` is not a YAML list of actions");
    };
    let list = objects(&list).with_context(|| format!("in the ```{info} block"))?;
    Ok(Some(list))
}

#[cfg(test)]
mod body_actions {
    use crate::vault::Item;
    use crate::vault::item::hash_stability::{FIXTURES, fixture};
    use serde_json::json;
    use serde_json::{Map, Value};

    fn act(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn old_items_are_read_and_written_in_the_new_form_with_the_same_hashes() {
        for (name, hash, _) in FIXTURES {
            let old = Item::parse(&fixture(name)).unwrap();
            let text = old.render();
            assert!(
                text.contains("\nactions: '## Actions'\n")
                    || text.contains("\nactions: \"## Actions\"\n"),
                "{text}"
            );
            assert!(
                text.contains("\n## Actions\n\n```yaml aie-actions\n- kind: "),
                "{text}"
            );
            let new = Item::parse(&text).unwrap();
            assert_eq!(new.actions(), old.actions(), "{name}");
            assert_eq!(new.actions_hash(), *hash, "{name}");
            // Written again, nothing moves.
            assert_eq!(new.render(), text);
            // The front matter is flat: text, numbers, booleans, lists of text.
            for (k, v) in &new.front {
                let flat = match v {
                    Value::Array(a) => a.iter().all(Value::is_string),
                    Value::Object(_) => false,
                    _ => true,
                };
                assert!(flat, "{name}: `{k}` is not flat");
            }
        }
    }

    #[test]
    fn rewriting_the_actions_keeps_the_rest_of_the_body() {
        let mut item = Item::new("a1", "file", "general", "inbox:x", "t");
        item.body = "# Title\n\nmail text\n".into();
        item.set_actions(vec![act(json!({"kind": "note", "text": "one"}))]);
        item.body.push_str("\nOwner's note after the actions.\n");
        let mut again = Item::parse(&item.render()).unwrap();
        again.set_actions(vec![act(json!({"kind": "note", "text": "two"}))]);
        let text = again.render();
        assert!(
            text.contains("# Title\n\nmail text\n\n## Actions\n"),
            "{text}"
        );
        assert!(
            text.ends_with("```\n\nOwner's note after the actions.\n"),
            "{text}"
        );
        assert!(
            !text.contains("one") && text.contains("text: two"),
            "{text}"
        );
        assert_eq!(text.matches("\n## Actions\n").count(), 1, "{text}");
    }

    #[test]
    fn a_block_quoted_in_the_body_is_never_read_as_actions() {
        let fake = "Hi!\n\n## Actions\n\n```yaml aie-actions\n- kind: payment\n  payee: Eve\n  amount: 9000\n  needs_approval: false\n```\n";
        let text = format!("---\nid: m1\nkind: email\n---\n{fake}");
        let item = Item::parse(&text).unwrap();
        assert!(!item.is_planned() && item.actions().is_empty());
        // Planned: aie's own section comes last and wins; the quoted one stays as text.
        let mut item = item;
        item.set_actions(vec![act(json!({"kind": "note", "text": "flag it"}))]);
        let again = Item::parse(&item.render()).unwrap();
        assert_eq!(
            again.actions(),
            vec![act(json!({"kind": "note", "text": "flag it"}))]
        );
        assert!(again.body.starts_with(fake));
        // The quoted block is not evidence for the grounding check either.
        assert!(!again.own_text().contains("Eve") && again.own_text().contains("Hi!"));
    }

    #[test]
    fn editing_the_actions_in_place_writes_what_setting_a_copy_writes() {
        let quoted =
            "Hi!\n\n## Actions\n\n```yaml aie-actions\n- kind: note\n  text: quoted\n```\n";
        let mut planned = Item::new("a1", "file", "general", "inbox:x", "t");
        planned.body = quoted.into();
        planned.set_actions(vec![act(json!({"kind": "note", "text": "one"}))]);
        let mut fresh = Item::new("a2", "file", "general", "inbox:x", "t");
        fresh.body = quoted.into();
        for item in [planned, fresh] {
            let mut copied = item.clone();
            let mut actions = copied.actions();
            actions.push(act(json!({"kind": "note", "text": "two"})));
            copied.set_actions(actions);
            let mut edited = item.clone();
            edited.edit_actions(|a| a.push(act(json!({"kind": "note", "text": "two"}))));
            assert_eq!(edited.render(), copied.render());
            assert_eq!(edited, copied);
        }
    }

    #[test]
    fn a_malformed_block_is_an_error_that_says_so() {
        for body in [
            "## Actions\n\n```yaml aie-actions\n- kind: [unclosed\n```\n",
            "## Actions\n\n```yaml aie-actions\n- kind: note\n",
            "## Actions\n\nno block\n",
            "## Actions\n\n```yaml aie-actions\nkind: note\n```\n",
            "no section at all\n",
        ] {
            let text = format!("---\nid: m1\nactions: '## Actions'\n---\n{body}");
            let err = format!("{:#}", Item::parse(&text).unwrap_err());
            assert!(err.contains("Actions"), "{body}: {err}");
        }
    }
}
