//! The Odoo figures (benches/odoo.sh): aie's own cost per Odoo action against the loopback
//! fake (a pass of N approved actions of one kind, less a pass of N notes, over N: HTTP
//! included), and the RPC calls each kind makes.

use crate::support::TestEnv;
use crate::support::odoo_fake::{KEY, OdooFake, USER};

const N: usize = 40;

/// N items the owner approved, action `i` as `yaml(i)`.
fn approved_items(env: &TestEnv, yaml: &dyn Fn(usize) -> String) {
    for i in 0..N {
        env.drop_file(
            &format!("b{i}.eml"),
            format!("From: Ann <ann@x.example>\nSubject: Books {i}\n\nCan you call me?\n"),
        );
    }
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let ids: Vec<String> = env
        .items_in("Pending_Approval/general")
        .into_iter()
        .map(|f| f.trim_end_matches(".md").to_string())
        .collect();
    assert_eq!(ids.len(), N);
    for (i, id) in ids.iter().enumerate() {
        let rel = format!("Pending_Approval/general/{id}.md");
        env.set_actions(&rel, &yaml(i));
        env.mv(&rel, "Approved");
    }
}

/// Seconds of one `execute-approved` over N items of `yaml`, and the fake's calls.
fn pass(fake: &OdooFake, yaml: &dyn Fn(usize) -> String) -> (f64, usize) {
    let mut env = TestEnv::new();
    env.config(&format!(
        "execution:\n  dry_run: false\npolicy:\n  rate_limits:\n    payment: 1000\nodoo:\n  url: {}\n  db: aie_test\n  timeout_seconds: 5\n",
        fake.url()
    ));
    env.env("AIE_ODOO_USERNAME", USER)
        .env("AIE_ODOO_API_KEY", KEY);
    approved_items(&env, yaml);
    let before = fake.calls().len();
    let t = std::time::Instant::now();
    let r = env.run(&["execute-approved"]);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.items_in("Done").len(), N, "{r:?}");
    (secs, fake.calls().len() - before)
}

#[test]
#[ignore = "benchmark: run benches/odoo.sh"]
fn bench_odoo_actions() {
    let fake = OdooFake::start();
    let note = |_: usize| "- kind: note\n  text: bench\n".to_string();
    let (base, _) = pass(&fake, &note);
    type Action = Box<dyn Fn(usize) -> String>;
    let kinds: [(&str, Action); 4] = [
        (
            "odoo_invoice",
            Box::new(|i| {
                format!(
                    "- kind: odoo_invoice\n  partner: Bench Co\n  partner_email: bench@co.example\n  currency: USD\n  ref: B-{i}\n  lines:\n  - description: Work\n    quantity: 2\n    price_unit: 150.0\n"
                )
            }),
        ),
        (
            "odoo_post_invoice",
            Box::new(|i| format!("- kind: odoo_post_invoice\n  invoice: B-{i}\n")),
        ),
        (
            "odoo_bill",
            Box::new(|i| {
                format!(
                    "- kind: odoo_bill\n  vendor: Hosting Co\n  amount: 49.0\n  currency: USD\n  date: 2026-11-20\n  ref: H-{i}\n"
                )
            }),
        ),
        (
            "payment",
            Box::new(|i| {
                format!(
                    "- kind: payment\n  payee: Hosting Co\n  amount: 49.0\n  currency: USD\n  reference: P-{i}\n"
                )
            }),
        ),
    ];
    for (kind, yaml) in &kinds {
        let (secs, calls) = pass(&fake, yaml.as_ref());
        println!(
            "BENCH odoo {kind}: {:.2} ms/action of aie's own (pass {:.0} ms - notes {:.0} ms, over {N}), {:.1} RPC calls/action (login once a pass)",
            (secs - base) * 1000.0 / N as f64,
            secs * 1000.0,
            base * 1000.0,
            calls as f64 / N as f64
        );
    }
}
