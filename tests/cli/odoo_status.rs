//! `status` shows the last Odoo error under attention (text and `--json`), from the pass
//! that met it until an Odoo call succeeds: a refused key, then Odoo out of reach (from the
//! `accounting` report too), then a pass that works clears it. Never the key's value.

use crate::support::TestEnv;
use crate::support::odoo_fake::{OdooTarget, approved, env_for};
use serde_json::Value;

/// The `odoo` entry under attention in `status --json`, and the text report.
fn odoo_attention(env: &TestEnv) -> (Option<Value>, String) {
    let v: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    let entry = v["attention"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "odoo")
        .cloned();
    (entry, env.ok(&["status"]).stdout)
}

#[test]
fn status_shows_the_last_odoo_error_until_a_pass_succeeds() {
    let odoo = OdooTarget::new();
    let mut env = env_for(&odoo, "");
    let (none, text) = odoo_attention(&env);
    assert!(none.is_none(), "{none:?}");
    assert!(!text.contains("odoo:"), "{text}");
    // A refused key: the pass exits 78, status says which secret to check.
    let bad = "wrong-key-status-24680";
    env.env("AIE_ODOO_API_KEY", bad);
    let id = approved(
        &env,
        "- kind: odoo_post_invoice\n  invoice: NO-SUCH-STATUS-INV\n",
    );
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 78, "{r:?}");
    let (entry, text) = odoo_attention(&env);
    let entry = entry.unwrap_or_else(|| panic!("no odoo attention: {text}"));
    let msg = entry["message"].as_str().unwrap();
    assert!(msg.contains("AIE_ODOO_API_KEY"), "{entry}");
    assert_eq!(entry["since"], "2026-11-23T09:00:00Z", "{entry}");
    assert!(
        text.contains("attention:") && text.contains("- odoo: odoo refused the login"),
        "{text}"
    );
    let state = std::fs::read_to_string(env.path(".aie/state.json")).unwrap();
    assert!(!state.contains(bad) && !text.contains(bad), "{state}");
    // A report that meets Odoo out of reach records that too.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let other = TestEnv::new();
    other.config(&format!(
        "odoo:\n  url: http://127.0.0.1:{dead}\n  db: x\n  timeout_seconds: 2\n"
    ));
    let mut other = other;
    other
        .env("AIE_ODOO_USERNAME", "u")
        .env("AIE_ODOO_API_KEY", "k");
    let r = other.run(&["accounting"]);
    assert_ne!(r.code, 0, "{r:?}");
    let (entry, _) = odoo_attention(&other);
    assert!(
        entry.is_some_and(|e| e["message"].as_str().unwrap().contains(&dead.to_string())),
        "{r:?}"
    );
    // The key is fixed: the next pass succeeds and the attention clears.
    env.env("AIE_ODOO_API_KEY", &odoo.key);
    env.run(&["execute-approved"]);
    assert_eq!(env.where_is(&id), ["Pending_Approval/general"]);
    let (entry, text) = odoo_attention(&env);
    assert!(entry.is_none(), "{entry:?}");
    assert!(!text.contains("- odoo:"), "{text}");
}
