//! Property tests (proptest) of the invariants the promises rest on: an action's identity
//! does not change when its YAML is reformatted and changes with every parameter; the policy
//! never approves more when the owner knows less; a path derived from an id or an attachment
//! name is inside the vault or an error; a move between two stages keeps an item in exactly
//! one; the cron engine's next run is after now, matches, and is the first match. Case counts
//! stay modest (64 to 256) so the suite stays fast.

use aie::config::Policy;
use aie::policy::{Origin, decide};
use aie::vault::item::{Item, actions_hash};
use aie::vault::{Stage, Vault};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// A text parameter, with the characters that stress YAML quoting.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ]{0,12}",
        "[-:#'\"`{}\\[\\],&*!|>%@ \n\t\\\\a-z0-9]{0,16}",
        Just("yes".to_string()),
        Just("null".to_string()),
        Just("0x1F".to_string()),
        Just("2026-01-01".to_string()),
        Just("```".to_string()),
        Just("---".to_string()),
        Just(" leading and trailing ".to_string()),
        any::<String>().prop_map(|s| s.chars().take(10).collect()),
    ]
}

/// A parameter value: text, a number, a boolean, a list of texts or of line objects.
fn param() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(Value::from),
        (-1.0e6f64..1.0e6).prop_map(|f| json!((f * 100.0).round() / 100.0)),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        prop::collection::vec(text(), 0..3).prop_map(|v| json!(v)),
        (text(), 1u32..20, 0u32..10_000).prop_map(|(d, q, p)| {
            json!([{"description": d, "quantity": q, "price_unit": f64::from(p) / 100.0}])
        }),
    ]
}

/// One action of the closed list with some of its parameters, and the policy fields. The
/// kinds and their parameters come from the catalogue itself, so a new kind or parameter is
/// covered without an edit here.
fn action() -> impl Strategy<Value = Map<String, Value>> {
    let kinds = aie::actions::registry();
    (0..kinds.len())
        .prop_flat_map(move |k| {
            let names: Vec<&'static str> = kinds[k].params().iter().map(|p| p.0).collect();
            (
                Just(kinds[k].name()),
                prop::collection::vec((prop::sample::select(names), param()), 1..5),
                any::<bool>(),
            )
        })
        .prop_map(|(kind, params, approval)| {
            let mut a = Map::new();
            a.insert("kind".into(), kind.into());
            for (k, v) in params {
                a.insert(k.into(), v);
            }
            a.insert("needs_approval".into(), approval.into());
            a.insert("rule".into(), "new_contact".into());
            a
        })
}

/// An item with `actions` in its body, the block written as aie writes it.
fn planned(actions: &[Map<String, Value>]) -> Item {
    let mut item = Item::new("p-1", "email", "email", "gmail:1", "2026-01-01T00:00:00Z");
    item.body = "# Subject\n\nText.\n".into();
    item.set_actions(actions.to_vec());
    item
}

/// The same actions written by hand another way: JSON (flow YAML), keys reversed.
fn reformatted(actions: &[Map<String, Value>], pretty: bool) -> String {
    let list: Vec<Value> = actions
        .iter()
        .map(|a| {
            let mut m = Map::new();
            for (k, v) in a.iter().rev() {
                m.insert(k.clone(), v.clone());
            }
            Value::Object(m)
        })
        .collect();
    let yaml = if pretty {
        serde_json::to_string_pretty(&list).unwrap()
    } else {
        serde_json::to_string(&list).unwrap()
    };
    format!(
        "---\nid: p-1\nkind: email\ndomain: email\nactions: \"## Actions\"\n---\n# Subject\n\nText.\n\n## Actions\n\n```yaml aie-actions\n{yaml}\n```\n"
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_actions_hash_is_the_same_for_every_rendering(
        actions in prop::collection::vec(action(), 1..4),
        pretty in any::<bool>(),
    ) {
        let want = actions_hash("p-1", &actions);
        let item = planned(&actions);
        prop_assert_eq!(item.actions_hash(), want.clone());
        let back = Item::parse(&item.render()).unwrap();
        prop_assert_eq!(back.actions_hash(), want.clone());
        let other = Item::parse(&reformatted(&actions, pretty)).unwrap();
        prop_assert_eq!(other.actions(), actions.clone());
        prop_assert_eq!(other.actions_hash(), want.clone());
        // The policy's fields and the result are not part of the identity.
        let mut marked = actions.clone();
        marked[0].insert("needs_approval".into(), json!(false));
        marked[0].insert("rule".into(), json!("policy:other"));
        marked[0].insert("result".into(), json!("ok"));
        prop_assert_eq!(actions_hash("p-1", &marked), want);
    }

    #[test]
    fn the_actions_hash_changes_with_every_parameter(
        actions in prop::collection::vec(action(), 1..4),
        pick in any::<prop::sample::Index>(),
        new in param(),
    ) {
        let want = actions_hash("p-1", &actions);
        let slots: Vec<(usize, String)> = actions
            .iter()
            .enumerate()
            .flat_map(|(i, a)| {
                a.keys()
                    .filter(|k| !["needs_approval", "rule", "result"].contains(&k.as_str()))
                    .map(move |k| (i, k.clone()))
            })
            .collect();
        let (i, key) = pick.get(&slots).clone();
        prop_assume!(actions[i][&key] != new);
        let mut changed = actions.clone();
        changed[i].insert(key.clone(), new);
        let changed_hash = actions_hash("p-1", &changed);
        prop_assert_ne!(&changed_hash, &want, "changing `{}` kept the hash", key);
        // And through the vault: the changed block reads back with the changed hash.
        let back = Item::parse(&planned(&changed).render()).unwrap();
        prop_assert_eq!(back.actions_hash(), changed_hash);
        // A parameter added or removed changes it too.
        let mut removed = actions.clone();
        removed[i].remove(&key);
        prop_assert_ne!(actions_hash("p-1", &removed), want.clone());
        // So does another item id.
        prop_assert_ne!(actions_hash("p-2", &actions), want);
    }
}

const ADDRS: &[&str] = &[
    "client@acme.com",
    "boss@acme.com",
    "x@trusted.org",
    "eve@evil.com",
    "Client <client@acme.com>",
];
const CONTACTS: &[&str] = &[
    "client@acme.com",
    "@acme.com",
    "@trusted.org",
    "x@trusted.org",
];
const PAYEES: &[&str] = &["Hosting Co", "Power Ltd", "Eve"];

fn policy_action() -> impl Strategy<Value = Map<String, Value>> {
    prop_oneof![
        (
            prop::collection::vec(prop::sample::select(ADDRS), 0..4),
            prop::collection::vec(prop::sample::select(ADDRS), 0..2),
        )
            .prop_map(|(to, cc)| {
                json!({"kind": "send_email", "to": to, "cc": cc, "subject": "Re: hi", "body": "b"})
                    .as_object()
                    .unwrap()
                    .clone()
            }),
        (prop::sample::select(PAYEES), 1u32..500, any::<bool>()).prop_map(|(p, a, r)| {
            json!({"kind": "payment", "payee": p, "amount": a, "currency": "USD", "recurring": r})
                .as_object()
                .unwrap()
                .clone()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_policy_never_approves_more_when_the_owner_knows_less(
        contacts in prop::sample::subsequence(CONTACTS, 0..=CONTACTS.len()),
        payees in prop::sample::subsequence(PAYEES, 0..=PAYEES.len()),
        limit in 0u32..400,
        bulk in 0usize..6,
        a in policy_action(),
        sender in prop::sample::select(ADDRS),
        authenticated in any::<bool>(),
        drop in 0usize..4,
        which in any::<prop::sample::Index>(),
    ) {
        let full = Policy {
            known_contacts: contacts.iter().map(|s| s.to_string()).collect(),
            known_payees: payees.iter().map(|s| s.to_string()).collect(),
            payment_auto_below: f64::from(limit),
            bulk_recipients: bulk,
            ..Policy::default()
        };
        let mut less = full.clone();
        match drop {
            0 if !less.known_contacts.is_empty() => {
                less.known_contacts.remove(which.index(less.known_contacts.len()));
            }
            1 if !less.known_payees.is_empty() => {
                less.known_payees.remove(which.index(less.known_payees.len()));
            }
            2 => less.payment_auto_below = f64::from(which.index(limit as usize + 1) as u32),
            _ => less.bulk_recipients = which.index(bulk + 1),
        }
        let sender = aie::policy::bare_address(sender);
        let origin = Origin {
            source: "gmail:m1",
            sender: Some(&sender),
            sender_authenticated: authenticated,
            ..Origin::default()
        };
        let with_less = decide(&less, &origin, &a);
        let with_full = decide(&full, &origin, &a);
        prop_assert!(
            with_less.needs_approval || !with_full.needs_approval,
            "knowing less approved {:?} ({}) that knowing more asked about ({})",
            a, with_less.rule, with_full.rule
        );
    }
}

/// An id or a name a stranger could write, with the shapes that escape.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9._-]{1,12}",
        "(\\.\\./|/|\\./|\\\\|[a-z]{1,3}|\\.\\.){1,6}",
        Just("..".to_string()),
        Just(".".to_string()),
        Just(String::new()),
        Just("a/../../etc/passwd".to_string()),
        Just("/etc/passwd".to_string()),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn id_derived_and_attachment_paths_stay_inside_the_vault(
        id in hostile(),
        name in hostile(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("v");
        std::fs::create_dir_all(root.join("Attachments")).unwrap();
        let vault = Vault::at(&root);
        let attachments = root.join("Attachments");
        if let Ok(dir) = vault.attachment_dir(&id) {
            prop_assert_eq!(dir.parent(), Some(attachments.as_path()), "id {:?}", id);
            prop_assert_eq!(dir.file_name().and_then(|n| n.to_str()), Some(id.as_str()));
            prop_assert!(aie::vault::item::valid_id(&id));
            let safe = aie::connectors::smtp::safe_component(&name);
            let file = dir.join(&safe);
            prop_assert_eq!(file.parent(), Some(dir.as_path()), "name {:?} -> {:?}", name, safe);
            for stage in [Stage::Done, Stage::NeedsAction("email".into())] {
                let p = vault.item_path(&stage, &id);
                let dir = vault.stage_dir(&stage);
                prop_assert_eq!(p.parent(), Some(dir.as_path()));
            }
        } else {
            prop_assert!(!aie::vault::item::valid_id(&id), "a valid id {:?} was refused", id);
        }
    }

    /// The mail an approved `send_email` builds takes attachments only from the item's own
    /// folder, whatever the plan names: the file there or an error, never another file.
    #[test]
    fn a_send_email_attachment_is_the_items_own_file_or_an_error(name in hostile()) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("v");
        let own = root.join("Attachments/a1");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::create_dir_all(root.join("Attachments/b2")).unwrap();
        std::fs::write(own.join("inv.pdf"), b"OWN").unwrap();
        std::fs::write(root.join("Attachments/b2/books.xlsx"), b"OTHER").unwrap();
        std::fs::write(root.join("aie.yaml"), b"SETTINGS").unwrap();
        std::fs::write(tmp.path().join("secret.txt"), b"SECRET").unwrap();
        let item = Item::new("a1", "email", "email", "gmail:1", "2026-01-01T00:00:00Z");
        for n in [name.clone(), format!("../b2/{name}"), "../../secret.txt".into()] {
            let a = json!({"kind": "send_email", "to": ["x@y.co"], "subject": "s", "body": "b",
                "attachments": [n]});
            if let Ok(mail) = aie::connectors::smtp::outgoing(&item, a.as_object().unwrap(), "", &root) {
                for (file, bytes) in &mail.attachments {
                    prop_assert_eq!(bytes.as_slice(), b"OWN", "{:?} sent {:?}", n, file);
                    prop_assert_eq!(file.as_str(), "inv.pdf");
                }
            }
        }
    }
}

fn stage_of(i: usize) -> Stage {
    match i {
        0 => Stage::NeedsAction("email".into()),
        1 => Stage::NeedsAction("accounting".into()),
        2 => Stage::InProgress("local".into()),
        3 => Stage::PendingApproval("email".into()),
        4 => Stage::Approved,
        5 => Stage::Rejected,
        _ => Stage::Done,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn moving_an_item_between_any_stages_keeps_it_in_exactly_one(
        start in 0usize..7,
        moves in prop::collection::vec(0usize..7, 1..8),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("v");
        let vault = Vault::at(&root);
        vault.ensure_layout("local").unwrap();
        let item = Item::new("m-1", "email", "email", "gmail:1", "2026-01-01T00:00:00Z");
        let text = item.render();
        let first = vault.item_path(&stage_of(start), "m-1");
        std::fs::create_dir_all(first.parent().unwrap()).unwrap();
        std::fs::write(&first, &text).unwrap();
        let mut here = first;
        for to in moves {
            let to = stage_of(to);
            match vault.move_item(&here, &to) {
                Ok(p) => here = p,
                // Only a move onto itself may fail, and the item stays.
                Err(e) => {
                    let dir = vault.stage_dir(&to);
                    prop_assert_eq!(here.parent(), Some(dir.as_path()), "{:#}", e);
                }
            }
            let copies: Vec<_> = vault
                .stages()
                .iter()
                .map(|s| vault.item_path(s, "m-1"))
                .filter(|p| p.exists())
                .collect();
            prop_assert_eq!(copies.clone(), vec![here.clone()]);
            prop_assert_eq!(std::fs::read_to_string(&here).unwrap(), text.clone());
        }
    }
}

/// A cron field: `*`, a value, a range, a list or a step.
fn field(min: u32, max: u32) -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        (min..=max).prop_map(|v| v.to_string()),
        (min..=max, min..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        prop::collection::vec(min..=max, 1..4)
            .prop_map(|v| { v.iter().map(u32::to_string).collect::<Vec<_>>().join(",") }),
        (1..=max.max(2)).prop_map(|s| format!("*/{s}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_next_cron_run_is_after_now_matches_and_is_the_first(
        m in field(0, 59),
        h in field(0, 23),
        dom in field(1, 31),
        mon in field(1, 12),
        dow in field(0, 6),
        secs in 1_700_000_000i64..1_900_000_000,
        zone in prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
    ) {
        use aie::schedule::cron::Cron;
        let expr = format!("{m} {h} {dom} {mon} {dow}");
        let c = Cron::parse(&expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let now = chrono::DateTime::from_timestamp(secs, 0).unwrap();
        if let Some(next) = c.next_after(now, tz) {
            prop_assert!(next > now, "{} after {}: {}", expr, now, next);
            prop_assert!(c.matches(next, tz), "{} after {}: {} does not match", expr, now, next);
            // No minute in between matches (checked over the first two days).
            let mut t = now + chrono::Duration::seconds(60 - now.timestamp().rem_euclid(60));
            let mut n = 0;
            while t < next && n < 2 * 24 * 60 {
                prop_assert!(!c.matches(t, tz), "{} after {}: {} matches before {}", expr, now, t, next);
                t += chrono::Duration::minutes(1);
                n += 1;
            }
        }
    }
}
