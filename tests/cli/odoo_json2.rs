//! `odoo.api: json2`: the executors over Odoo 19's `/json/2` API (bearer key, named
//! arguments, real HTTP status codes and error objects) against the loopback fake serving
//! the same books: the invoice, posting (with a `UserError` answered 422), the bill and the
//! payment, the unknown outcome found again by its key, and a refused key (401).

use crate::support::odoo_fake::{OdooTarget, approved, env_for};

/// aie logged in over json2: only json2's login asks for the user's context.
fn spoke_json2(odoo: &OdooTarget) {
    let calls = odoo.fake.as_ref().unwrap().calls();
    assert!(
        calls.iter().any(|c| c == "res.users.context_get"),
        "{calls:?}"
    );
}

#[test]
fn json2_drafts_an_invoice_once() {
    let odoo = OdooTarget::json2();
    crate::odoo::a_draft_invoice_is_created_once_with_its_lines_and_totals_on(&odoo);
    spoke_json2(&odoo);
}

#[test]
fn json2_posts_and_shows_odoo_refusals() {
    let odoo = OdooTarget::json2();
    crate::odoo::posting_finds_the_invoice_by_reference_and_an_odoo_refusal_is_shown_for_review_on(
        &odoo,
    );
    spoke_json2(&odoo);
}

#[test]
fn json2_files_a_bill_and_a_payment_settles_it() {
    let odoo = OdooTarget::json2();
    crate::odoo::a_vendor_bill_is_a_draft_with_its_date_and_a_payment_settles_it_on(&odoo);
    spoke_json2(&odoo);
}

#[test]
fn json2_unknown_outcome_is_found_again_by_its_key() {
    let odoo = OdooTarget::json2();
    crate::odoo::an_unknown_outcome_goes_to_review_and_a_fresh_approval_finds_the_invoice_on(&odoo);
    spoke_json2(&odoo);
}

#[cfg(feature = "failpoints")]
#[test]
fn json2_crash_at_every_odoo_failpoint_never_creates_twice() {
    let odoo = OdooTarget::json2();
    crate::odoo::a_crash_at_every_odoo_failpoint_never_creates_an_invoice_twice_on(&odoo);
    spoke_json2(&odoo);
}

#[test]
fn json2_speaks_bearer_and_a_refused_key_is_a_setup_error() {
    let odoo = OdooTarget::json2();
    let env = env_for(&odoo, "");
    let id = approved(
        &env,
        "- kind: odoo_post_invoice\n  invoice: NO-SUCH-INVOICE-J2\n",
    );
    env.run(&["execute-approved"]);
    spoke_json2(&odoo);
    // No such invoice: the action fails with the reason, over json2 too.
    let front = env.front(&format!("Pending_Approval/general/{id}.md"));
    assert!(
        front["review"]
            .as_str()
            .unwrap_or("")
            .contains("NO-SUCH-INVOICE-J2"),
        "{front}"
    );
    // doctor checks Odoo over json2 too: `/web/version`, the login, the module.
    let r = env.run(&["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    for name in ["odoo reachable", "odoo login", "odoo accounting"] {
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("{name}: {v}"));
        assert_eq!(c["status"], "ok", "{c}");
    }
    // A wrong key: Odoo 19 answers 401; aie exits 78 naming the secret, never its value.
    let mut env = env_for(&odoo, "");
    env.env("AIE_ODOO_API_KEY", "wrong-json2-key-987654");
    let id = approved(
        &env,
        "- kind: odoo_post_invoice\n  invoice: INV/2026/00001\n",
    );
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 78, "{r:?}");
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("AIE_ODOO_API_KEY") && !all.contains("wrong-json2-key-987654"),
        "{r:?}"
    );
    assert_eq!(env.where_is(&id), ["Approved"]);
}
