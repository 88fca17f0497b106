//! The template planner's cases.

use super::posts::post_text;
use super::*;
use crate::config::Owner;

fn plan_for(front: &[(&str, &str)], body: &str) -> Plan {
    let mut item = Item::new("t-1", "email", "general", "inbox:t", "2026-11-22T10:00:00Z");
    for (k, v) in front {
        item.set(k, *v);
    }
    item.body = body.to_string();
    plan_of(&item)
}

/// The client's reference in `text`.
fn reference_in(text: &str) -> Option<String> {
    let found = super::phrases::Found::in_text(text);
    super::amounts::client_reference(text, &found)
}

/// The plan for `item`, for an owner without a business name.
fn plan_of(item: &Item) -> Plan {
    let owner = Owner {
        name: "Sam Owner".into(),
        email: None,
        business: None,
    };
    plan_item(&PlanInput {
        item,
        owner: &owner,
        handbook: "",
        goals: "",
        now: None,
        whatsapp_template: None,
    })
}

#[test]
fn amounts() {
    assert_eq!(
        find_amount("please invoice us for $1,500 today"),
        Some((1500.0, "USD".into()))
    );
    assert_eq!(find_amount("EUR 200.50 due"), Some((200.5, "EUR".into())));
    assert_eq!(
        find_amount("pay 49 USD monthly"),
        Some((49.0, "USD".into()))
    );
    assert_eq!(find_amount("no money here 2026"), None);
}

#[test]
fn invoice_request_gives_draft_invoice_and_email() {
    let p = plan_for(
        &[
            ("from", "Jane Client <jane@acme.com>"),
            ("subject", "Invoice please"),
        ],
        "Hi, please invoice us for the January website work, $1,500. Thanks",
    );
    let kinds: Vec<&str> = p
        .proposals
        .iter()
        .map(|p| p.action["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["odoo_invoice", "odoo_post_invoice", "send_email"]);
    let inv = &p.proposals[0].action;
    // acme.com is the sender's company's own domain.
    assert_eq!(inv["partner"], "Acme");
    assert_eq!(inv["lines"][0]["price_unit"], 1500.0);
    assert!(
        inv.get("ref").is_none(),
        "no internal id as the client's reference"
    );
    assert_eq!(p.proposals[1].action["invoice"], "odoo:invoice");
    let mail = &p.proposals[2].action;
    assert_eq!(mail["to"][0], "jane@acme.com");
    assert_eq!(mail["attachments"], json!(["odoo:invoice"]));
    let body = mail["body"].as_str().unwrap();
    assert!(body.contains("1,500.00 USD"), "{body}");
    assert!(!body.contains("t-1"), "{body}");
}

fn customer_of(from: &str, body: &str) -> (String, String) {
    let p = plan_for(&[("from", from), ("subject", "Invoice")], body);
    let a = &p.proposals[0].action;
    (
        a["partner"].as_str().unwrap().to_string(),
        p.proposals[0].why.clone(),
    )
}

#[test]
fn the_customer_is_the_company_the_mail_names_else_the_person() {
    let ask = "Please invoice us for the December rent, 1250 GBP.\n";
    let (c, why) = customer_of(
        "Jane Smith <jane@gmail.com>",
        &format!("{ask}\nClient: Acme Corp\n"),
    );
    assert_eq!(c, "Acme Corp");
    assert!(
        why.contains("the company") && why.contains("Client:"),
        "{why}"
    );
    let (c, why) = customer_of(
        "Jane Smith <jane@gmail.com>",
        &format!("{ask}\nThanks,\nJane Smith\nNorthwind Traders Ltd\n"),
    );
    assert_eq!(c, "Northwind Traders Ltd");
    assert!(why.contains("signature"), "{why}");
    let (c, why) = customer_of("Jane Smith <jane@acme-corp.co.uk>", ask);
    assert_eq!(c, "Acme Corp");
    assert!(why.contains("domain"), "{why}");
    let (c, why) = customer_of("Jane Smith <jane@gmail.com>", ask);
    assert_eq!(c, "Jane Smith");
    assert!(why.contains("the person"), "{why}");
}

#[test]
fn the_clients_reference_cc_and_money_are_kept() {
    let p = plan_for(
        &[
            ("from", "Jane Smith <jane@acme-corp.example>"),
            ("cc", "accounts@acme-corp.example"),
            ("subject", "Rent"),
            ("message_id", "<m1@acme>"),
        ],
        "Please invoice us for the December rent, £1250.\nReference: RENT-DEC-2026\n",
    );
    let inv = &p.proposals[0].action;
    assert_eq!(inv["ref"], "RENT-DEC-2026");
    assert_eq!(inv["currency"], "GBP");
    let mail = &p.proposals[2].action;
    assert_eq!(mail["cc"], json!(["accounts@acme-corp.example"]));
    let body = mail["body"].as_str().unwrap();
    assert!(
        body.contains("1,250.00 GBP") && !body.contains("1250.0"),
        "{body}"
    );
    assert!(body.contains("RENT-DEC-2026"), "{body}");
    assert_eq!(
        reference_in("Our PO 4411 covers it").as_deref(),
        Some("PO 4411")
    );
    assert_eq!(reference_in("PO: 4411.").as_deref(), Some("4411"));
    assert_eq!(
        reference_in("Purchase order 77-A, thanks").as_deref(),
        Some("77-A")
    );
    assert_eq!(reference_in("a PONY 12"), None);
}

#[test]
fn the_owner_asking_to_post_an_invoice_gets_odoo_post_invoice() {
    for text in [
        "Please post invoice INV/2026/00007 today.",
        "Can you send the invoice INV/2026/00012 to Acme?",
        "confirm invoice #42",
    ] {
        let p = plan_for(&[], text);
        let a = &p.proposals[0].action;
        assert_eq!(a["kind"], "odoo_post_invoice", "{text}");
    }
    let p = plan_for(&[], "Please post invoice INV/2026/00007 today.");
    assert_eq!(p.proposals[0].action["invoice"], "INV/2026/00007");
    // Words about invoices in general are not a number.
    let p = plan_for(&[], "I will send the invoice tomorrow.");
    assert_ne!(p.proposals[0].action["kind"], "odoo_post_invoice");
}

#[test]
fn a_vendor_bill_by_mail_or_drop_is_a_proposed_odoo_bill() {
    let p = plan_for(
        &[
            ("from", "Billing <billing@hostingco.net>"),
            ("subject", "Your November bill"),
        ],
        "Hello, please find attached our invoice HC-1102. Amount due: $49.00 by 15 December.",
    );
    let a = &p.proposals[0].action;
    assert_eq!(a["kind"], "odoo_bill");
    assert_eq!(a["vendor"], "Hostingco");
    assert_eq!(a["amount"], 49.0);
    assert_eq!(a["currency"], "USD");
    // A PDF that aie does not read: never a note filed in Done/, an odoo_bill with what
    // is known and no amount.
    let mut item = Item::new("t-2", "file", "general", "inbox:x", "2026-11-22T10:00:00Z");
    item.set("original", "Attachments/t-2/November invoice.pdf");
    item.set("content_type", "application/pdf");
    item.body = "# November invoice\n\nA PDF file of 1234 bytes; aie does not read its content.\n\nOriginal: [[Attachments/t-2/November invoice.pdf]]\n".into();
    let p = plan_of(&item);
    let a = &p.proposals[0].action;
    assert_eq!(a["kind"], "odoo_bill");
    assert!(a.get("amount").is_none());
    assert!(
        a["description"]
            .as_str()
            .unwrap()
            .contains("November invoice.pdf")
    );
    assert!(
        p.proposals[0].why.contains("fill in `amount`"),
        "{}",
        p.proposals[0].why
    );
}

#[test]
fn payment_requests_in_the_common_ways() {
    for (text, payee, amount, cur) in [
        (
            "Please pay Hosting Co $1,250.00 for the servers.",
            "Hosting Co",
            1250.0,
            "USD",
        ),
        (
            "Pay $1,250.00 to Hosting Co this week.",
            "Hosting Co",
            1250.0,
            "USD",
        ),
        (
            "Transfer EUR 300 to Lisbon Studio Lda.",
            "Lisbon Studio Lda",
            300.0,
            "EUR",
        ),
        (
            "Please settle the 300 € invoice to Northwind Traders.",
            "Northwind Traders",
            300.0,
            "EUR",
        ),
        (
            "Wire 2,000 GBP to Baker Street Ltd tomorrow.",
            "Baker Street Ltd",
            2000.0,
            "GBP",
        ),
        (
            "Can you transfer to Acme Corp 450 USD?",
            "Acme Corp",
            450.0,
            "USD",
        ),
    ] {
        let p = plan_for(&[], text);
        let a = &p.proposals[0].action;
        assert_eq!(a["kind"], "payment", "{text}");
        assert_eq!(a["payee"], payee, "{text}");
        assert_eq!(a["amount"], amount, "{text}");
        assert_eq!(a["currency"], cur, "{text}");
    }
}

#[test]
fn payment_request_names_payee_and_amount() {
    let p = plan_for(&[], "Please pay Hosting Co $49 for the monthly server.");
    let a = &p.proposals[0].action;
    assert_eq!(a["kind"], "payment");
    assert_eq!(a["payee"], "Hosting Co");
    assert_eq!(a["amount"], 49.0);
    assert_eq!(a["recurring"], true);
}

#[test]
fn reply_request_quotes_and_signs() {
    let p = plan_for(
        &[
            ("from", "Bob <bob@x.com>"),
            ("subject", "Meeting"),
            ("message_id", "<m1@x.com>"),
        ],
        "Can we meet on Tuesday?",
    );
    let a = &p.proposals[0].action;
    assert_eq!(a["kind"], "send_email");
    assert_eq!(a["subject"], "Re: Meeting");
    assert_eq!(a["in_reply_to"], "<m1@x.com>");
    let body = a["body"].as_str().unwrap();
    assert!(body.contains("> Can we meet on Tuesday?") && body.contains("Sam Owner"));
}

#[test]
fn social_request_and_plain_note() {
    // Regression: a drop's post ended with `Original: [[Attachments/...]]`, a vault link
    // that would have been published.
    let dropped = post_text(
        "# idea\nPlease post on LinkedIn:\nPost: We just shipped v2!\n\nOriginal: [[Attachments/idea-1/idea.txt]]\n",
        "linkedin",
    );
    assert_eq!(dropped, "We just shipped v2!");
    // Regression: with no `Post:` line the post was the whole body, aie's link line with it.
    let whole = post_text(
        "Launch\nWe just shipped v2 on LinkedIn!\n\nOriginal: [[Attachments/m-1/m.txt]]\n",
        "linkedin",
    );
    assert_eq!(whole, "We just shipped v2 on LinkedIn!");
    // Regression: a post for X was cut at 277 characters, not as X counts them: a long link
    // (23 on X) got the text cut, in the link itself; wide letters (2 each) went over.
    let link = format!("https://example.com/{}", "a".repeat(250));
    let with_link = post_text(&format!("x\nPost: Our news {link} read it"), "x");
    assert_eq!(with_link, format!("Our news {link} read it"));
    let words = post_text(&format!("x\nPost: {}", "word ".repeat(80)), "x");
    assert!(
        words.ends_with("word...") && words.len() == 277,
        "{words:?}"
    );
    let wide = post_text(&format!("x\nPost: {}", "字".repeat(200)), "x");
    assert!(wide.ends_with("...") && crate::actions::social_post::length("x", &wide) <= 280);
    assert_eq!(crate::actions::social_post::length("x", &wide), 279);
    let p = plan_for(&[], "Please post on LinkedIn:\nPost: We just shipped v2!");
    assert_eq!(p.proposals[0].action["platform"], "linkedin");
    assert_eq!(p.proposals[0].action["text"], "We just shipped v2!");
    let p = plan_for(&[], "Minutes of the meeting. Nothing to do.");
    assert_eq!(p.proposals[0].action["kind"], "note");
}

/// Letters whose lowercase is longer or shorter in UTF-8 (`İ` 2 bytes to `i̇` 3, the Kelvin
/// sign 3 bytes to `k` 1) before the words searched for: the number and the reference are
/// still the right ones, and nothing panics on a cut inside a letter.
#[test]
fn letters_that_change_length_when_lowercased_do_not_shift_what_is_found() {
    for prefix in ["İİİ ", "\u{212A}\u{212A} ", "İ\u{212A}İ ", "ẞ ", ""] {
        let text = format!("{prefix}Please post invoice INV/2026/00042 today. PO 4411.");
        let found = super::phrases::Found::in_text(&text);
        assert_eq!(
            super::amounts::invoice_to_post(&text, &found).as_deref(),
            Some("INV/2026/00042"),
            "{prefix:?}"
        );
        assert_eq!(
            reference_in(&text).as_deref(),
            Some("PO 4411"),
            "{prefix:?}"
        );
        // A line that starts with letters of two bytes, cut by a prefix of three ("po:").
        assert_eq!(
            reference_in(&format!("Пр\n{text}")).as_deref(),
            Some("PO 4411")
        );
        let line = format!("{prefix}Invoice for İİİ Website redesign. $500");
        let d = super::amounts::line_description(&line).unwrap_or_default();
        assert!(d.ends_with("Website redesign"), "{prefix:?}: {d:?}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
    /// Whatever a stranger writes, in any script, around the words the planner looks for,
    /// planning it never panics (a panic would stop the pass for every item behind it).
    #[test]
    fn planning_any_text_never_panics(
        parts in proptest::collection::vec(
            "(İ|\u{212A}|ẞ|Пр|ß|post invoice |send the invoice #|PO |po:|Reference: |purchase order |Invoice for | for |\\$|€|[0-9]{1,5}|\\.|\n|\\PC{0,6})",
            0..40,
        ),
        subject in "\\PC{0,20}",
    ) {
        let body = parts.concat();
        let _ = plan_for(&[("subject", &subject), ("from", "Ann <ann@x.example>")], &body);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
    /// Whatever the text, a post for X fits as X counts it, and is the start of what the post
    /// would be elsewhere (cut only when it does not fit, never inside a letter).
    #[test]
    fn a_post_for_x_fits_and_is_the_start_of_the_text(
        parts in proptest::collection::vec(
            "(word |https://x.example/[a-z]{0,300} |字|[a-z]{0,300}| |\n|\\PC{0,5})",
            0..60,
        )
    ) {
        use crate::actions::social_post::length;
        let text = format!("x\nPost: {}", parts.concat());
        let whole = post_text(&text, "linkedin");
        let post = post_text(&text, "x");
        if length("x", &whole) <= 280 {
            proptest::prop_assert_eq!(&post, &whole);
        } else {
            proptest::prop_assert!(length("x", &post) <= 280, "{:?}", post);
            let kept = post.strip_suffix("...").expect("a cut post ends with ...");
            proptest::prop_assert!(whole.starts_with(kept), "{:?}", post);
        }
    }
}
