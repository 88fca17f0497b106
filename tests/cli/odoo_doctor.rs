//! `aie doctor` checks Odoo online: reachable, the login works, the accounting module is
//! installed, the configured currency is active; each failure names what to fix, never the
//! key. Against the fake, or the real Odoo 17 named by `AIE_ODOO_TEST_*`.

use crate::support::TestEnv;
use crate::support::odoo_fake::OdooTarget;
use serde_json::Value;

fn doctor(odoo: &OdooTarget, extra: &str, key: &str) -> (i32, Vec<Value>, String) {
    let mut env = TestEnv::new();
    env.config(&odoo.config(extra));
    env.env("AIE_ODOO_USERNAME", &odoo.user)
        .env("AIE_ODOO_API_KEY", key);
    let r = env.run(&["doctor", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    let checks: Vec<Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"].as_str().unwrap().starts_with("odoo"))
        .cloned()
        .collect();
    (r.code, checks, r.stdout)
}

fn status_of(checks: &[Value], name: &str) -> String {
    checks
        .iter()
        .find(|c| c["check"] == name)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no `{name}` check in {checks:?}"))
}

#[test]
fn doctor_checks_odoo_online_and_names_the_fix() {
    let odoo = OdooTarget::new();
    let (_, checks, _) = doctor(&odoo, "  currency: USD\n", &odoo.key);
    for name in [
        "odoo reachable",
        "odoo login",
        "odoo accounting",
        "odoo currency",
    ] {
        assert_eq!(status_of(&checks, name), "ok", "{name}: {checks:?}");
    }
    // A refused key: the login fails, naming the secret, never printing it.
    let (code, checks, out) = doctor(&odoo, "", "wrong-key-123456");
    assert_ne!(code, 0);
    assert_eq!(status_of(&checks, "odoo reachable"), "ok");
    assert_eq!(status_of(&checks, "odoo login"), "fail");
    assert!(
        out.contains("AIE_ODOO_API_KEY") && !out.contains("wrong-key-123456"),
        "{out}"
    );
    // An unknown currency.
    let (_, checks, _) = doctor(&odoo, "  currency: XQZ\n", &odoo.key);
    assert_eq!(status_of(&checks, "odoo currency"), "fail");
    // Nothing answers.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut env = TestEnv::new();
    env.config(&format!(
        "odoo:\n  url: http://127.0.0.1:{dead}\n  db: x\n  timeout_seconds: 2\n"
    ));
    env.env("AIE_ODOO_USERNAME", "u")
        .env("AIE_ODOO_API_KEY", "k");
    let r = env.run(&["doctor", "--json"]);
    assert!(r.stdout.contains("\"odoo reachable\""), "{r:?}");
    assert!(!r.stdout.contains("\"odoo login\""), "{r:?}");
}
