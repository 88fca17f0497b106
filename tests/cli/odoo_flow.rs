//! The invoice flow as a client sees it, from the demo seed's mail to the reply over SMTP
//! (aiosmtpd): the plan drafts the invoice for the company the mail names, with the client's
//! own reference, posts it, and replies to the sender with the Cc kept and the posted
//! invoice attached as Odoo's PDF; a reply whose invoice is not posted waits in `Approved/`
//! saying why, and goes once it is. Runs against the Odoo fake, or the real Odoo 17 named
//! by `AIE_ODOO_TEST_*`.

use crate::support::TestEnv;
use crate::support::odoo_fake::OdooTarget;
use crate::support::smtp::SmtpServer;
use mail_parser::MimeHeaders;
use serde_json::{Value, json};

/// A vault sending over `smtp` and keeping its books in `odoo`.
fn env_for(odoo: &OdooTarget, smtp: &SmtpServer) -> TestEnv {
    let mut env = TestEnv::new();
    env.config(&format!(
        "execution:\n  dry_run: false\n{}{}",
        smtp.config("none", false),
        odoo.config("")
    ));
    env.env("AIE_ODOO_USERNAME", &odoo.user)
        .env("AIE_ODOO_API_KEY", &odoo.key)
        .env("AIE_SMTP_USERNAME", "alice")
        .env("AIE_SMTP_PASSWORD", "s3cret!");
    env
}

/// The demo seed's invoice request, its client and sender; on a real server the client's
/// name and address carry the run's nonce so an earlier run's partner is never found.
fn seed(odoo: &OdooTarget) -> (String, String, String) {
    let text = std::fs::read_to_string(format!(
        "{}/vault_template/demo/invoice request - Acme.eml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace("\r\n", "\n");
    if odoo.fake.is_some() {
        return (text, "Acme Corp".into(), "jane@acme-corp.example".into());
    }
    let client = format!("Acme Corp {}", odoo.nonce);
    let jane = format!("jane-{}@acme-corp.example", odoo.nonce);
    let text = text
        .replace("Client: Acme Corp", &format!("Client: {client}"))
        .replace("jane@acme-corp.example", &jane)
        .replace("jan-invoice-001@", &format!("jan-invoice-{}@", odoo.nonce));
    (text, client, jane)
}

/// The request, planned, its draft invoice made by the policy (`draft_invoice`), and the rest
/// waiting for the owner: its id and path.
fn planned(env: &TestEnv, text: &str) -> (String, String) {
    env.drop_file("invoice request - Acme.eml", text);
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let (id, at) = env
        .all_items()
        .into_iter()
        .next()
        .expect("the request is planned");
    assert_eq!(at, "Approved", "drafting runs without the owner");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 0, "{r:?}");
    let (_, at) = env
        .all_items()
        .into_iter()
        .find(|(i, _)| *i == id)
        .expect("the request");
    assert!(at.starts_with("Pending_Approval/"), "{at}");
    let rel = format!("{at}/{id}.md");
    let f = env.front(&rel);
    assert!(
        f["prepared"]
            .as_str()
            .unwrap_or("")
            .contains("action 1 (`odoo_invoice`)"),
        "{f}"
    );
    assert!(f.get("review").is_none(), "a request, not a review: {f}");
    (id, rel)
}

fn invoices_of(odoo: &OdooTarget, client: &str) -> Vec<Value> {
    let partners = odoo.search_read("res.partner", json!([["name", "=", client]]), &["name"]);
    assert_eq!(partners.len(), 1, "one customer {client}: {partners:?}");
    odoo.search_read(
        "account.move",
        json!([
            ["move_type", "=", "out_invoice"],
            ["partner_id", "=", partners[0]["id"]]
        ]),
        &[
            "name",
            "state",
            "amount_total",
            "ref",
            "invoice_pdf_report_id",
        ],
    )
}

/// The item's actions, wherever the file keeps them.
fn actions_of(env: &TestEnv, rel: &str) -> Vec<Value> {
    env.body_actions(rel)
        .or_else(|| env.front(rel).get("actions").cloned())
        .and_then(|v| v.as_array().cloned())
        .expect("planned actions")
}

#[test]
fn a_clients_invoice_request_is_answered_with_the_posted_invoice_as_a_pdf() {
    let odoo = OdooTarget::new();
    let smtp = SmtpServer::start("plain", &[]);
    let env = env_for(&odoo, &smtp);
    let (text, client, jane) = seed(&odoo);
    let (id, rel) = planned(&env, &text);
    let item = env.read(&rel);
    // The owner sees the customer (the company, and why), the client's reference, money.
    let summary = env.front(&rel)["summary"].as_str().unwrap().to_string();
    assert!(
        summary.contains(&format!("draft invoice for {client} (the company)")),
        "{summary}"
    );
    assert!(summary.contains("1,500.00 USD"), "{summary}");
    assert!(!item.contains("1500.0 USD"), "{item}");
    let actions = actions_of(&env, &rel);
    let kinds: Vec<&str> = actions
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["odoo_invoice", "odoo_post_invoice", "send_email"]);
    assert_eq!(actions[0]["ref"], "PO 4411");
    assert_eq!(actions[2]["cc"], json!(["accounts@acme-corp.example"]));
    assert_eq!(actions[0]["result"], "ok");
    assert!(summary.contains("[done]"), "{summary}");
    assert!(smtp.messages().is_empty());
    // The draft is in Odoo before the owner decides; nothing is posted or sent.
    let inv = invoices_of(&odoo, &client);
    assert_eq!(inv.len(), 1, "{inv:?}");
    assert_eq!(inv[0]["state"], "draft");

    env.mv(&rel, "Approved");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.where_is(&id), ["Done"]);
    let inv = invoices_of(&odoo, &client);
    assert_eq!(inv.len(), 1, "one invoice per request: {inv:?}");
    assert_eq!(inv[0]["state"], "posted");
    assert_eq!(inv[0]["ref"], "PO 4411");
    assert_eq!(inv[0]["amount_total"], 1500.0);
    let number = inv[0]["name"].as_str().unwrap().to_string();
    assert!(number.starts_with("INV/"), "{number}");

    let got = smtp.messages();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.rcpts(), [jane.as_str(), "accounts@acme-corp.example"]);
    assert_eq!(
        m.header("Cc").as_deref(),
        Some("accounts@acme-corp.example")
    );
    let parsed = m.parsed();
    let body = parsed.body_text(0).unwrap().to_string();
    assert!(body.contains(&number), "{body}");
    assert!(body.contains("1,500.00 USD"), "{body}");
    assert!(body.contains("PO 4411") && !body.contains(&id), "{body}");
    let att = parsed.attachments().next().expect("the invoice's PDF");
    assert_eq!(
        att.attachment_name(),
        Some(format!("{}.pdf", number.replace('/', "_")).as_str())
    );
    assert!(att.contents().starts_with(b"%PDF"));
    // Another pass sends nothing again.
    env.ok(&["execute-approved"]);
    assert_eq!(smtp.messages().len(), 1);
}

#[test]
fn a_reply_waits_in_approved_until_its_invoice_is_posted() {
    let odoo = OdooTarget::new();
    let smtp = SmtpServer::start("plain", &[]);
    let env = env_for(&odoo, &smtp);
    let (text, client, _) = seed(&odoo);
    let (id, rel) = planned(&env, &text);
    // The owner approves the draft and the reply, not the posting.
    let mut actions = actions_of(&env, &rel);
    actions.remove(1);
    let yaml: String = actions
        .iter()
        .map(|a| {
            let mut a = a.as_object().unwrap().clone();
            for k in ["decision", "reason", "result"] {
                a.remove(k);
            }
            let y = serde_json::to_string(&Value::Object(a)).unwrap();
            format!("- {y}\n")
        })
        .collect();
    env.set_actions(&rel, &yaml);
    env.mv(&rel, "Approved");
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.where_is(&id), ["Approved"]);
    let waiting = env.front(&format!("Approved/{id}.md"))["waiting"].clone();
    assert!(
        waiting.as_str().unwrap_or("").contains("is posted"),
        "{waiting}"
    );
    assert!(
        smtp.messages().is_empty(),
        "a client never receives a draft"
    );
    let inv = invoices_of(&odoo, &client);
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0]["state"], "draft");
    // The next pass still waits, and creates nothing more.
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&id), ["Approved"]);
    assert!(smtp.messages().is_empty());
    assert_eq!(invoices_of(&odoo, &client).len(), 1);

    // The owner posts it in Odoo: the reply goes with the PDF.
    let mid = inv[0]["id"].as_i64().unwrap();
    odoo.call("account.move", "action_post", json!([[mid]]), json!({}));
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.where_is(&id), ["Done"]);
    let got = smtp.messages();
    assert_eq!(got.len(), 1);
    let parsed = got[0].parsed();
    assert!(
        parsed
            .attachments()
            .next()
            .is_some_and(|a| a.contents().starts_with(b"%PDF"))
    );
    assert!(env.front(&format!("Done/{id}.md")).get("waiting").is_none());
}
