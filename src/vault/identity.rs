//! The identities the promises rest on: an action's idempotency key and the approval hash of
//! an item's actions (SPEC.md, "Items": the item id plus the canonical JSON of the action
//! without `result`, `needs_approval` and `rule`). These bytes must never change for an
//! action already recorded: `item::hash_stability` checks them on items written before
//! issue 9.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Keys of an action that are not part of its identity.
const NON_IDENTITY_KEYS: &[&str] = &["result", "needs_approval", "rule"];

/// JSON with object keys sorted at every level and no spaces: the same value always gives
/// the same bytes, whatever order its keys were written in.
pub fn canonical_json(v: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(v, &[], &mut out);
    String::from_utf8(out).expect("invariant: json is UTF-8")
}

/// Writes `v` as [`canonical_json`] does, leaving out the keys `skip` of its top level.
fn write_canonical(v: &Value, skip: &[&str], out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => write_canonical_map(m, skip, out),
        Value::Array(a) => {
            out.push(b'[');
            for (n, x) in a.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_canonical(x, &[], out);
            }
            out.push(b']');
        }
        Value::String(s) => write_json_str(s, out),
        scalar => serde_json::to_writer(&mut *out, scalar).expect("invariant: json serializes"),
    }
}

/// Writes `s` as a JSON string, byte for byte as serde_json does: `"` and `\` escaped,
/// control characters as `\b`, `\t`, `\n`, `\f`, `\r` or `\u00xx`, anything else as it
/// is. Eight bytes at a time over those that need no escape (most of a text).
fn write_json_str(s: &str, out: &mut Vec<u8>) {
    const L: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = L * 128;
    let zero = |v: u64| v.wrapping_sub(L) & !v & HIGH != 0;
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut done = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(block) = bytes.get(i..i + 8) {
            let x = u64::from_ne_bytes(block.try_into().expect("invariant: eight bytes"));
            // A byte below a space, a quote or a backslash in the block? (Bit Twiddling Hacks.)
            let control = x.wrapping_sub(L * 0x20) & !x & HIGH != 0;
            if !control && !zero(x ^ (L * u64::from(b'"'))) && !zero(x ^ (L * u64::from(b'\\'))) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\x08' => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\x0c' => b"\\f",
            b'\r' => b"\\r",
            0..0x20 => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[done..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        i += 1;
        done = i;
    }
    out.extend_from_slice(&bytes[done..]);
    out.push(b'"');
}

fn write_canonical_map(m: &Map<String, Value>, skip: &[&str], out: &mut Vec<u8>) {
    let mut keys: Vec<&String> = m.keys().filter(|k| !skip.contains(&k.as_str())).collect();
    keys.sort();
    out.push(b'{');
    for (n, k) in keys.into_iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_json_str(k, out);
        out.push(b':');
        write_canonical(&m[k], &[], out);
    }
    out.push(b'}');
}

/// An action without the keys that are not its identity.
pub fn action_identity(action: &Map<String, Value>) -> Value {
    let mut m = action.clone();
    for k in NON_IDENTITY_KEYS {
        m.shift_remove(*k);
    }
    Value::Object(m)
}

/// The idempotency key of an action: item id plus the canonical JSON of the action (that
/// is, of [`action_identity`], written without copying the action).
pub fn action_key(item_id: &str, action: &Map<String, Value>) -> String {
    let mut json = Vec::with_capacity(256);
    write_canonical_map(action, NON_IDENTITY_KEYS, &mut json);
    let mut h = Sha256::new();
    h.update(item_id.as_bytes());
    h.update(b"\n");
    h.update(&json);
    hex(&h.finalize()[..16])
}

/// The approval hash of an item's actions: independent of their order, of results, and of
/// the policy's own annotations.
pub fn actions_hash(item_id: &str, actions: &[Map<String, Value>]) -> String {
    let mut keys: Vec<String> = actions.iter().map(|a| action_key(item_id, a)).collect();
    keys.sort();
    let mut h = Sha256::new();
    h.update(item_id.as_bytes());
    for k in keys {
        h.update(b"\n");
        h.update(k.as_bytes());
    }
    hex(&h.finalize()[..16])
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn action_key_ignores_key_order_results_and_policy_fields() {
        let a = json!({"kind": "send_email", "to": ["a@b.c"], "subject": "s"});
        let b = json!({"subject": "s", "kind": "send_email", "to": ["a@b.c"],
                       "needs_approval": true, "rule": "new_contact", "result": "ok"});
        let (a, b) = (
            a.as_object().unwrap().clone(),
            b.as_object().unwrap().clone(),
        );
        assert_eq!(action_key("i", &a), action_key("i", &b));
        assert_ne!(action_key("i", &a), action_key("j", &a));
        let c = json!({"kind": "send_email", "to": ["a@b.c"], "subject": "t"});
        let c = c.as_object().unwrap().clone();
        assert_ne!(action_key("i", &a), action_key("i", &c));
        // Reordering the actions does not change the approval hash; editing one does.
        assert_eq!(
            actions_hash("i", &[a.clone(), c.clone()]),
            actions_hash("i", &[c.clone(), b])
        );
        assert_ne!(
            actions_hash("i", std::slice::from_ref(&a)),
            actions_hash("i", &[c])
        );
    }

    #[test]
    fn canonical_json_sorts_every_level_as_sorting_then_writing_did() {
        fn sorted(v: &Value) -> Value {
            match v {
                Value::Object(m) => {
                    let mut keys: Vec<&String> = m.keys().collect();
                    keys.sort();
                    Value::Object(
                        keys.into_iter()
                            .map(|k| (k.clone(), sorted(&m[k])))
                            .collect(),
                    )
                }
                Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
                other => other.clone(),
            }
        }
        let v = json!({"z": [1, 2.5, -3, {"b": null, "a": "é\"\n\u{1}"}], "a": true,
                       "m": {"y": {}, "x": []}, "É": 1e300, "": "x"});
        assert_eq!(
            canonical_json(&v),
            serde_json::to_string(&sorted(&v)).unwrap()
        );
        let a = v.as_object().unwrap();
        let mut with_flags = a.clone();
        with_flags.insert("rule".into(), "x".into());
        with_flags.insert("result".into(), "ok".into());
        let mut h = Sha256::new();
        h.update(b"i\n");
        h.update(canonical_json(&action_identity(&with_flags)).as_bytes());
        assert_eq!(action_key("i", &with_flags), hex(&h.finalize()[..16]));
    }

    proptest::proptest! {
        /// Strings in the identity JSON are written as serde_json writes them.
        #[test]
        fn json_strings_are_written_as_serde_json_writes_them(
            s in "(\\PC|[\\x00-\\x1f\"\\\\\\x7f]|[a-z ]{0,20}|é|\u{2028})*"
        ) {
            let mut out = Vec::new();
            write_json_str(&s, &mut out);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }
    }
}
