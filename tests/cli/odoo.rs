//! Accounting through Odoo: the four executors against the loopback Odoo fake (or the real
//! Odoo 17 named by `AIE_ODOO_TEST_URL/DB/USER/KEY`: the same tests run against it; faults
//! only the fake can play say so and return). What Odoo holds at the end is read back over
//! JSON-RPC: one record per request, lines and totals right, nothing created twice after an
//! unknown outcome, a crash at every failpoint of the Odoo path, and a fresh approval.

use crate::support::TestEnv;
use crate::support::odoo_fake::{Faults, OdooTarget, approved, env_for};
use serde_json::{Value, json};

/// The owner approves an item that came back for review again.
fn approve_again(env: &TestEnv, id: &str) {
    env.mv(&format!("Pending_Approval/general/{id}.md"), "Approved");
}

fn invoices_with_ref(odoo: &OdooTarget, r: &str) -> Vec<Value> {
    odoo.search_read(
        "account.move",
        json!([["move_type", "=", "out_invoice"], ["ref", "=", r]]),
        &[
            "name",
            "state",
            "amount_total",
            "partner_id",
            "currency_id",
            "narration",
        ],
    )
}

fn invoice_yaml(odoo: &OdooTarget, reference: &str) -> String {
    format!(
        "- kind: odoo_invoice\n  partner: Acme Ltd {n}\n  partner_email: accounts-{n}@acme.example\n  currency: USD\n  ref: {reference}\n  lines:\n    - description: Consulting, October\n      quantity: 10\n      price_unit: 150.0\n    - description: Travel\n      quantity: 1\n      price_unit: 80.0\n",
        n = odoo.nonce
    )
}

#[test]
fn a_draft_invoice_is_created_once_with_its_lines_and_totals() {
    a_draft_invoice_is_created_once_with_its_lines_and_totals_on(&OdooTarget::new());
}

/// The same over the Odoo that `odoo` names.
pub(crate) fn a_draft_invoice_is_created_once_with_its_lines_and_totals_on(odoo: &OdooTarget) {
    let env = env_for(odoo, "");
    let reference = format!("PO-{}", odoo.nonce);
    let id = approved(&env, &invoice_yaml(odoo, &reference));
    let r = env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&id), ["Done"], "{r:?}");
    let inv = invoices_with_ref(odoo, &reference);
    assert_eq!(inv.len(), 1, "{inv:?}");
    assert_eq!(inv[0]["state"], "draft");
    assert_eq!(inv[0]["amount_total"], 1580.0);
    assert_eq!(inv[0]["partner_id"][1], format!("Acme Ltd {}", odoo.nonce));
    assert_eq!(inv[0]["currency_id"][1], "USD");
    if odoo.fake.is_none() {
        let lines = odoo.search_read(
            "account.move.line",
            json!([
                ["move_id", "=", inv[0]["id"]],
                ["display_type", "=", "product"]
            ]),
            &["name", "quantity", "price_unit"],
        );
        let got: Vec<_> = lines
            .iter()
            .map(|l| {
                (
                    l["name"].clone(),
                    l["quantity"].clone(),
                    l["price_unit"].clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (json!("Consulting, October"), json!(10.0), json!(150.0)),
                (json!("Travel"), json!(1.0), json!(80.0))
            ]
        );
    }
    // The result names the record: its id, and the total written as money.
    let done = env.front(&format!("Done/{id}.md"));
    assert_eq!(done["actions"][0]["result"], "ok", "{done}");
    let audit = env.audit();
    let line = audit
        .iter()
        .find(|l| l["action"] == "odoo_invoice")
        .unwrap();
    assert_eq!(line["result"], "ok");
    let journal = std::fs::read_to_string(env.path(".aie/journal.jsonl")).unwrap();
    assert!(
        journal.contains("draft invoice (account.move") && journal.contains("1,580.00 USD"),
        "{journal}"
    );
    // The partner is found again, not created twice, on the next request.
    let id2 = {
        let yaml = invoice_yaml(odoo, &format!("{reference}-2"));
        approved(&env, &yaml)
    };
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&id2), ["Done"]);
    let partners = odoo.search_read(
        "res.partner",
        json!([["name", "=", format!("Acme Ltd {}", odoo.nonce)]]),
        &["name"],
    );
    assert_eq!(partners.len(), 1, "{partners:?}");
}

/// The connection drops after Odoo received (and did) the `create`: the outcome is unknown,
/// the item goes to review; the owner approves again and the key finds the invoice.
#[test]
fn an_unknown_outcome_goes_to_review_and_a_fresh_approval_finds_the_invoice() {
    an_unknown_outcome_goes_to_review_and_a_fresh_approval_finds_the_invoice_on(&OdooTarget::new());
}

/// The same over the Odoo that `odoo` names.
pub(crate) fn an_unknown_outcome_goes_to_review_and_a_fresh_approval_finds_the_invoice_on(
    odoo: &OdooTarget,
) {
    let Some(fake) = &odoo.fake else {
        eprintln!("a dropped connection is a fault only the fake can play");
        return;
    };
    for (name, faults) in [
        (
            "dropped",
            Faults {
                drop_after_create: true,
                ..Faults::default()
            },
        ),
        (
            "slow",
            Faults {
                slow_create: Some(std::time::Duration::from_secs(4)),
                ..Faults::default()
            },
        ),
    ] {
        let env = env_for(odoo, "");
        fake.faults(faults);
        let reference = format!("PO-{name}-{}", odoo.nonce);
        let id = approved(&env, &invoice_yaml(odoo, &reference));
        let r = env.run(&["execute-approved"]);
        assert_eq!(
            env.where_is(&id),
            ["Pending_Approval/general"],
            "{name}: {r:?}"
        );
        let front = env.front(&format!("Pending_Approval/general/{id}.md"));
        assert!(
            front["review"]
                .as_str()
                .unwrap()
                .contains("may or may not have happened"),
            "{name}: {front}"
        );
        fake.faults(Faults::default());
        approve_again(&env, &id);
        env.ok(&["execute-approved"]);
        assert_eq!(env.where_is(&id), ["Done"], "{name}");
        assert_eq!(invoices_with_ref(odoo, &reference).len(), 1, "{name}");
    }
}

#[test]
fn posting_finds_the_invoice_by_reference_and_an_odoo_refusal_is_shown_for_review() {
    posting_finds_the_invoice_by_reference_and_an_odoo_refusal_is_shown_for_review_on(
        &OdooTarget::new(),
    );
}

/// The same over the Odoo that `odoo` names.
pub(crate) fn posting_finds_the_invoice_by_reference_and_an_odoo_refusal_is_shown_for_review_on(
    odoo: &OdooTarget,
) {
    let env = env_for(odoo, "");
    let reference = format!("RENT-{}", odoo.nonce);
    let id = approved(&env, &invoice_yaml(odoo, &reference));
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&id), ["Done"]);
    if let Some(fake) = &odoo.fake {
        fake.faults(Faults {
            post_error: true,
            ..Faults::default()
        });
        let bad = approved(
            &env,
            &format!("- kind: odoo_post_invoice\n  invoice: {reference}\n"),
        );
        env.run(&["execute-approved"]);
        let front = env.front(&format!("Pending_Approval/general/{bad}.md"));
        let review = front["review"].as_str().unwrap();
        assert!(
            review.contains("failed") && review.contains("credit note"),
            "{review}"
        );
        fake.faults(Faults::default());
        std::fs::remove_file(env.path(&format!("Pending_Approval/general/{bad}.md"))).unwrap();
    }
    let post = approved(
        &env,
        &format!("- kind: odoo_post_invoice\n  invoice: {reference}\n"),
    );
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&post), ["Done"]);
    let inv = invoices_with_ref(odoo, &reference);
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0]["state"], "posted");
    let number = inv[0]["name"].as_str().unwrap().to_string();
    assert!(number.starts_with("INV/"), "{number}");
    // Posting it again, by its number, is ok: already posted.
    let again = approved(
        &env,
        &format!("- kind: odoo_post_invoice\n  invoice: {number}\n"),
    );
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&again), ["Done"]);
    let journal = std::fs::read_to_string(env.path(".aie/journal.jsonl")).unwrap();
    assert!(journal.contains("already posted"), "{journal}");
    // An unknown invoice fails with the reason.
    let missing = approved(
        &env,
        "- kind: odoo_post_invoice\n  invoice: NO-SUCH-INVOICE-X\n",
    );
    env.run(&["execute-approved"]);
    let front = env.front(&format!("Pending_Approval/general/{missing}.md"));
    assert!(
        front["review"]
            .as_str()
            .unwrap()
            .contains("NO-SUCH-INVOICE-X"),
        "{front}"
    );
}

#[test]
fn a_vendor_bill_is_a_draft_with_its_date_and_a_payment_settles_it() {
    a_vendor_bill_is_a_draft_with_its_date_and_a_payment_settles_it_on(&OdooTarget::new());
}

/// The same over the Odoo that `odoo` names.
pub(crate) fn a_vendor_bill_is_a_draft_with_its_date_and_a_payment_settles_it_on(
    odoo: &OdooTarget,
) {
    let env = env_for(odoo, "policy:\n  known_payees: [\"Paper Co\"]\n");
    let vendor = format!("Paper Co {}", odoo.nonce);
    let bill_ref = format!("SUP-{}", odoo.nonce);
    let id = approved(
        &env,
        &format!(
            "- kind: odoo_bill\n  vendor: {vendor}\n  amount: 62.5\n  currency: USD\n  description: Printer paper\n  ref: {bill_ref}\n"
        ),
    );
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&id), ["Done"]);
    let bills = odoo.search_read(
        "account.move",
        json!([["move_type", "=", "in_invoice"], ["ref", "=", bill_ref]]),
        &[
            "name",
            "state",
            "amount_total",
            "invoice_date",
            "partner_id",
        ],
    );
    assert_eq!(bills.len(), 1, "{bills:?}");
    assert_eq!(bills[0]["state"], "draft");
    assert_eq!(bills[0]["amount_total"], 62.5);
    // No date in the action: the day the item came in, so Odoo can post it.
    assert_eq!(bills[0]["invoice_date"], "2026-11-23");
    // The owner posts it in Odoo; a payment naming its reference is registered against it.
    let bill_id = bills[0]["id"].clone();
    odoo.call("account.move", "action_post", json!([[bill_id]]), json!({}));
    let pay = approved(
        &env,
        &format!(
            "- kind: payment\n  payee: {vendor}\n  amount: 62.5\n  currency: USD\n  reference: {bill_ref}\n"
        ),
    );
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&pay), ["Done"]);
    let after = odoo.search_read(
        "account.move",
        json!([["id", "=", bill_id]]),
        &["payment_state", "amount_residual"],
    );
    assert!(
        matches!(
            after[0]["payment_state"].as_str(),
            Some("paid" | "in_payment")
        ),
        "{after:?}"
    );
    let payments = odoo.search_read(
        "account.payment",
        json!([["ref", "ilike", bill_ref]]),
        &["name", "state", "amount"],
    );
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0]["amount"], 62.5);
    // With no open bill to settle, a payment for the partner is recorded and posted.
    let loose_ref = format!("LOOSE-{}", odoo.nonce);
    let loose = approved(
        &env,
        &format!(
            "- kind: payment\n  payee: {vendor}\n  amount: 20\n  currency: USD\n  reference: {loose_ref}\n"
        ),
    );
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&loose), ["Done"]);
    let p = odoo.search_read(
        "account.payment",
        json!([["ref", "ilike", loose_ref]]),
        &["state", "amount"],
    );
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["state"], "posted");
}

#[test]
fn a_refused_key_or_database_is_a_setup_error_and_the_item_waits() {
    let odoo = OdooTarget::new();
    for (what, db, key) in [
        ("key", odoo.db.clone(), "wrong-key-1234567890"),
        ("database", "no_such_db_aie".to_string(), odoo.key.as_str()),
    ] {
        let mut env = TestEnv::new();
        env.config(&format!(
            "execution:\n  dry_run: false\nodoo:\n  url: {}\n  db: {db}\n",
            odoo.url
        ));
        env.env("AIE_ODOO_USERNAME", &odoo.user)
            .env("AIE_ODOO_API_KEY", key);
        let id = approved(&env, &invoice_yaml(&odoo, "PO-never"));
        let r = env.run(&["execute-approved"]);
        assert_eq!(r.code, 78, "{what}: {r:?}");
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(
            all.contains("AIE_ODOO_API_KEY") && !all.contains(key),
            "{what}: {r:?}"
        );
        assert_eq!(env.where_is(&id), ["Approved"], "{what}");
    }
}

#[test]
fn odoo_out_of_reach_leaves_the_item_untouched_with_exit_69() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let mut env = TestEnv::new();
    env.config(&format!(
        "execution:\n  dry_run: false\nodoo:\n  url: {url}\n  db: x\n"
    ));
    env.env("AIE_ODOO_USERNAME", "admin")
        .env("AIE_ODOO_API_KEY", "k");
    let id = approved(&env, "- kind: odoo_post_invoice\n  invoice: INV/1\n");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 69, "{r:?}");
    assert_eq!(env.where_is(&id), ["Approved"]);
}

/// A crash at every point of the Odoo path, then the next pass, then a fresh approval:
/// Odoo holds exactly one invoice.
#[cfg(feature = "failpoints")]
#[test]
fn a_crash_at_every_odoo_failpoint_never_creates_an_invoice_twice() {
    a_crash_at_every_odoo_failpoint_never_creates_an_invoice_twice_on(&OdooTarget::new());
}

/// The same over the Odoo that `odoo` names.
#[cfg(feature = "failpoints")]
pub(crate) fn a_crash_at_every_odoo_failpoint_never_creates_an_invoice_twice_on(odoo: &OdooTarget) {
    for point in [
        "execute:intent-written",
        "odoo:invoice-created",
        "execute:action-done",
    ] {
        let env = env_for(odoo, "");
        let reference = format!("PO-{}-{}", point.replace(':', "-"), odoo.nonce);
        let id = approved(&env, &invoice_yaml(odoo, &reference));
        let r = env.run_cmd(env.cmd().env("AIE_CRASH_AT", point).arg("execute-approved"));
        assert_ne!(r.code, 0, "{point}: {r:?}");
        let r = env.run(&["execute-approved"]);
        assert_eq!(
            env.where_is(&id),
            ["Pending_Approval/general"],
            "{point}: {r:?}"
        );
        approve_again(&env, &id);
        env.ok(&["execute-approved"]);
        assert_eq!(env.where_is(&id), ["Done"], "{point}");
        let n = invoices_with_ref(odoo, &reference).len();
        let want = usize::from(point != "execute:intent-written");
        // A crash before the call: nothing in Odoo until the fresh approval makes one.
        assert_eq!(n, want.max(1), "{point}");
    }
}

/// The owner's figures for November from books seeded in the fake (exact sums); against a
/// real server only their shape is checked (its books hold other tests' records).
#[test]
fn accounting_prints_revenue_receivables_expenses_and_recurring_bills() {
    let odoo = OdooTarget::new();
    let env = env_for(&odoo, "");
    if let Some(fake) = &odoo.fake {
        let acme = fake.add_partner("Acme Ltd", "a@acme.example");
        let host = fake.add_partner("Hosting Co", "");
        let paper = fake.add_partner("Paper Co", "");
        let inv = |name: &str, date: &str, due: &str, total: f64, residual: f64, state: &str| {
            json!({"move_type": "out_invoice", "state": "posted", "name": name, "partner_id": acme,
                "invoice_date": date, "invoice_date_due": due, "amount_total": total,
                "amount_residual": residual, "payment_state": state})
        };
        fake.add_move(inv(
            "INV/2026/00001",
            "2026-11-02",
            "2026-11-16",
            1250.0,
            1250.0,
            "not_paid",
        ));
        fake.add_move(inv(
            "INV/2026/00002",
            "2026-11-05",
            "2026-11-20",
            999.99,
            0.0,
            "paid",
        ));
        fake.add_move(inv(
            "INV/2026/00003",
            "2026-10-05",
            "2026-12-05",
            100.0,
            40.0,
            "partial",
        ));
        fake.add_move(
            json!({"move_type": "out_invoice", "state": "draft", "name": "/", "partner_id": acme,
            "amount_total": 300.0, "create_date": "2026-11-03 10:00:00"}),
        );
        for (date, amount) in [
            ("2026-09-01", 40.0),
            ("2026-10-01", 45.0),
            ("2026-11-01", 49.5),
        ] {
            fake.add_move(
                json!({"move_type": "in_invoice", "state": "posted", "partner_id": host,
                "invoice_date": date, "amount_total": amount}),
            );
        }
        fake.add_move(
            json!({"move_type": "in_invoice", "state": "posted", "partner_id": paper,
            "invoice_date": "2026-11-10", "amount_total": 62.5}),
        );
    }
    let r = env.ok(&[
        "accounting",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--json",
    ]);
    let f: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(f["currency"], "USD", "{f}");
    if odoo.fake.is_none() {
        assert!(
            f["revenue"].is_number() && f["receivables"].is_array(),
            "{f}"
        );
        return;
    }
    assert_eq!(f["revenue"], 2249.99, "{f}");
    assert_eq!(f["invoices_posted"], 2);
    assert_eq!(f["receivables_total"], 1290.0);
    assert_eq!(f["receivables"][0]["number"], "INV/2026/00001");
    assert_eq!(f["receivables"][0]["days_overdue"], 7);
    assert_eq!(
        (f["due_in_period"].clone(), f["paid_of_due"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(f["expenses_total"], 112.0);
    assert_eq!(f["expenses"][0], json!(["Paper Co", 62.5]));
    assert_eq!(f["recurring"][0]["vendor"], "Hosting Co");
    assert_eq!(f["recurring"][0]["change"], 4.5);
    assert_eq!(f["stale_drafts"][0]["age_days"], 20);
    let text = env
        .ok(&["accounting", "--from", "2026-11-01", "--to", "2026-11-30"])
        .stdout;
    assert!(
        text.contains("Revenue: 2,249.99 USD from 2 posted invoice(s)"),
        "{text}"
    );
    assert!(
        text.contains("INV/2026/00001 Acme Ltd: 1,250.00 USD due 2026-11-16, 7 day(s) overdue"),
        "{text}"
    );
    assert!(
        text.contains("Hosting Co: 49.50 USD on 2026-11-01 (+4.50 USD against the one before)"),
        "{text}"
    );
    assert!(text.contains("Attention:"), "{text}");
}

#[test]
fn accounting_without_odoo_says_so_and_exits_0() {
    let env = TestEnv::new();
    let r = env.ok(&["accounting"]);
    assert!(r.stdout.contains("Odoo is not set up"), "{r:?}");
}
