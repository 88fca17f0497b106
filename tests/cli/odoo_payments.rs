//! Payments within one pass: a payment looks its reference up in the partner's open bills
//! and invoices, read once a pass and read again after anything the pass posted or paid, so
//! two payments naming two bills of one vendor each settle their own, a loose payment after
//! them is a payment of its own, and a run of loose payments reads the list once. Against the
//! loopback fake, or the real Odoo 17 the `AIE_ODOO_TEST_*` variables name.

use crate::support::odoo_fake::{OdooTarget, approved, env_for};
use serde_json::{Value, json};

const LIMITS: &str = "policy:\n  rate_limits:\n    payment: 20\n";

fn payment(vendor: &str, amount: &str, reference: &str) -> String {
    format!(
        "- kind: payment\n  payee: {vendor}\n  amount: {amount}\n  currency: USD\n  reference: {reference}\n"
    )
}

/// Odoo's `account.move.search_read` calls the fake has answered so far.
fn move_searches(odoo: &OdooTarget) -> usize {
    odoo.fake.as_ref().map_or(0, |f| {
        f.calls()
            .iter()
            .filter(|c| *c == "account.move.search_read")
            .count()
    })
}

#[test]
fn two_payments_in_one_pass_settle_their_own_bills_and_a_loose_one_stands_alone() {
    let odoo = OdooTarget::new();
    let env = env_for(&odoo, LIMITS);
    let vendor = format!("Ink Co {}", odoo.nonce);
    let refs = [
        format!("INK-A-{}", odoo.nonce),
        format!("INK-B-{}", odoo.nonce),
    ];
    let bills = approved(
        &env,
        &format!(
            "- kind: odoo_bill\n  vendor: {vendor}\n  amount: 30\n  currency: USD\n  date: 2026-11-20\n  ref: {}\n- kind: odoo_bill\n  vendor: {vendor}\n  amount: 45\n  currency: USD\n  date: 2026-11-21\n  ref: {}\n",
            refs[0], refs[1]
        ),
    );
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&bills), ["Done"]);
    let mut ids = Vec::new();
    for r in &refs {
        let b = odoo.search_read(
            "account.move",
            json!([["move_type", "=", "in_invoice"], ["ref", "=", r]]),
            &["name"],
        );
        assert_eq!(b.len(), 1, "{b:?}");
        odoo.call(
            "account.move",
            "action_post",
            json!([[b[0]["id"]]]),
            json!({}),
        );
        ids.push(b[0]["id"].clone());
    }
    // Three payments the owner approved, carried out in one pass.
    let loose_ref = format!("INK-LOOSE-{}", odoo.nonce);
    let pays = [
        approved(&env, &payment(&vendor, "30", &refs[0])),
        approved(&env, &payment(&vendor, "45", &refs[1])),
        approved(&env, &payment(&vendor, "12.5", &loose_ref)),
        // The first bill again: paid by now, so this one stands alone.
        approved(&env, &payment(&vendor, "5", &refs[0])),
    ];
    let r = env.ok(&["execute-approved"]);
    for id in &pays {
        assert_eq!(env.where_is(id), ["Done"], "{r:?}");
    }
    for id in &ids {
        let m = odoo.search_read(
            "account.move",
            json!([["id", "=", id]]),
            &["payment_state", "name"],
        );
        assert!(
            matches!(m[0]["payment_state"].as_str(), Some("paid" | "in_payment")),
            "{m:?}"
        );
    }
    for (r, amounts) in [
        (&refs[0], vec![30.0, 5.0]),
        (&refs[1], vec![45.0]),
        (&loose_ref, vec![12.5]),
    ] {
        let p = odoo.search_read(
            "account.payment",
            json!([["ref", "ilike", r]]),
            &["state", "amount"],
        );
        let mut got: Vec<f64> = p.iter().map(|p| p["amount"].as_f64().unwrap()).collect();
        got.sort_by(f64::total_cmp);
        let mut want = amounts.clone();
        want.sort_by(f64::total_cmp);
        assert_eq!(got, want, "{r}: {p:?}");
        assert!(p.iter().all(|p| p["state"] == "posted"), "{r}: {p:?}");
    }
    // What the owner reads: each settled payment names its bill; the loose one names none.
    let outcomes = |id: &str| -> String {
        let front: Value = env.front(&format!("Done/{id}.md"));
        format!("{} {}", front["outcomes"], front["actions"])
    };
    assert!(
        outcomes(&pays[0]).contains(" against "),
        "{}",
        outcomes(&pays[0])
    );
    assert!(
        outcomes(&pays[1]).contains(" against "),
        "{}",
        outcomes(&pays[1])
    );
    assert!(
        !outcomes(&pays[2]).contains(" against "),
        "{}",
        outcomes(&pays[2])
    );
    assert!(
        outcomes(&pays[2]).contains(&loose_ref),
        "{}",
        outcomes(&pays[2])
    );
    assert!(
        !outcomes(&pays[3]).contains(" against "),
        "{}",
        outcomes(&pays[3])
    );
}

#[test]
fn loose_payments_to_one_partner_read_its_open_bills_once_a_pass() {
    let odoo = OdooTarget::new();
    if odoo.fake.is_none() {
        return; // counting calls needs the fake
    }
    let env = env_for(&odoo, LIMITS);
    let vendor = format!("Cloud Co {}", odoo.nonce);
    let pays: Vec<String> = (0..4)
        .map(|i| approved(&env, &payment(&vendor, "9", &format!("CLOUD-{i}"))))
        .collect();
    let before = move_searches(&odoo);
    env.ok(&["execute-approved"]);
    for id in &pays {
        assert_eq!(env.where_is(id), ["Done"]);
    }
    assert_eq!(
        move_searches(&odoo) - before,
        1,
        "one read of the open bills"
    );
    // A later pass reads them again: Odoo may have changed in between.
    let more = approved(&env, &payment(&vendor, "9", "CLOUD-9"));
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&more), ["Done"]);
    assert_eq!(move_searches(&odoo) - before, 2);
}
