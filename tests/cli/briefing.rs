//! The Monday briefing (`aie ceo-briefing`): a seeded vault and a pinned clock give the
//! expected figures section by section; the same week twice writes nothing new and keeps the
//! owner's notes; an empty week says so; with the Odoo fake the revenue and receivables are
//! what the fake holds; the year-end week 2026-W53 and a week with a change of clocks.

use crate::support::TestEnv;
use crate::support::odoo_fake::OdooTarget;
use serde_json::{Value, json};

const FILE: &str = "Briefings/2026-11-23_Monday_Briefing.md";

fn item(id: &str, domain: &str, extra: &str, body: &str) -> String {
    format!(
        "---\nid: {id}\nkind: email\ndomain: {domain}\nsource: inbox:{id}.eml\ncreated: 2026-11-16T08:00:00Z\nstatus: done\npriority: normal\n{extra}---\n{body}"
    )
}

/// Week 2026-W47 (16 to 22 November 2026, UTC) with one of everything.
fn seeded() -> TestEnv {
    let env = TestEnv::new();
    env.write(
        "Done/e1.md",
        item(
            "e1",
            "email",
            "completed: 2026-11-17T12:00:00Z\n",
            "reply\n",
        ),
    );
    env.write(
        "Done/e2.md",
        item(
            "e2",
            "email",
            "completed: 2026-11-16T10:00:00Z\n",
            "quick\n",
        ),
    );
    env.write(
        "Done/s1.md",
        item(
            "s1",
            "social",
            "completed: 2026-11-18T10:00:00Z\nactions: \"## Actions\"\n",
            "## Actions\n```yaml aie-actions\n- kind: social_post\n  platform: linkedin\n  text: Launch\n  needs_approval: false\n  rule: content_calendar\n  result: ok\n```\n",
        ),
    );
    env.write(
        "Done/old.md",
        item(
            "old",
            "general",
            "completed: 2026-11-02T10:00:00Z\n",
            "old\n",
        ),
    );
    env.write(
        "Pending_Approval/general/p1.md",
        item(
            "p1",
            "general",
            "requested: 2026-11-19T00:00:00Z\nexpires: 2026-11-24T00:00:00Z\n",
            "wait\n",
        ),
    );
    let trail = [
        ("2026-11-16T09:00:00Z", "a1", "requested", ""),
        ("2026-11-18T21:00:00Z", "a1", "bound", "human"),
        ("2026-11-20T10:00:00Z", "a2", "requested", ""),
        ("2026-11-20T12:00:00Z", "a2", "bound", "human"),
        ("2026-11-21T10:00:00Z", "a3", "requested", ""),
        ("2026-11-21T14:00:00Z", "a3", "bound", "human"),
        (
            "2026-11-21T10:00:00Z",
            "a4",
            "policy",
            "policy:known_contact",
        ),
    ];
    let lines: Vec<String> = trail
        .iter()
        .map(|(ts, item, ev, by)| {
            json!({"ts": ts, "agent": "local", "item": item, "hash": "h", "event": ev, "by": by})
                .to_string()
        })
        .collect();
    env.write("Logs/approvals.jsonl", lines.join("\n") + "\n");
    env.write(
        "Logs/alerts/2026-11-18.jsonl",
        "{\"ts\":\"2026-11-18T03:00:00Z\",\"key\":\"aie-triage.service\",\"event\":\"failed\",\"level\":\"critical\"}\n{\"ts\":\"2026-11-18T04:00:00Z\",\"key\":\"health:website\",\"event\":\"down\",\"level\":\"critical\"}\n{\"ts\":\"2026-11-18T05:00:00Z\",\"key\":\"health:website\",\"event\":\"up\",\"level\":\"info\"}\n",
    );
    env
}

/// The text of one `## ` section of the briefing.
fn section(text: &str, title: &str) -> String {
    let start = text
        .find(&format!("## {title}\n"))
        .unwrap_or_else(|| panic!("no section {title}: {text}"));
    let rest = &text[start + title.len() + 4..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
}

#[test]
fn a_seeded_week_gives_the_expected_figures_section_by_section() {
    let env = seeded();
    let r = env.ok(&["ceo-briefing", "--json"]);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["file"], FILE, "{j}");
    let t = env.read(FILE);
    assert!(
        t.contains("week: 2026-W47\nfrom: 2026-11-16\nto: 2026-11-22\n"),
        "{t}"
    );
    let done = section(&t, "Completed work");
    assert!(done.contains("- email: 2 ([[e1]], [[e2]])"), "{done}");
    assert!(done.contains("- social: 1 ([[s1]])"), "{done}");
    assert!(!done.contains("old"), "{done}");
    let b = section(&t, "Bottlenecks");
    assert!(
        b.contains("client response < 24 h, approvals < 48 h"),
        "{b}"
    );
    assert!(
        b.contains("- [[e1]]: client waited for a reply 28.0 h"),
        "{b}"
    );
    assert!(!b.contains("[[e2]]"), "{b}");
    assert!(b.contains("- [[a1]]: approval took 60.0 h"), "{b}");
    assert!(
        b.contains("- [[p1]]: still waiting for approval at the week's end, for 96.0 h"),
        "{b}"
    );
    let ops = section(&t, "Operations");
    assert!(
        ops.contains("- Failed runs: 1\n  - aie-triage.service"),
        "{ops}"
    );
    assert!(
        ops.contains("- Approval latency: median 4.0 h over 3 approval(s)"),
        "{ops}"
    );
    assert!(
        ops.contains("- Health incidents: 1\n  - health:website went down"),
        "{ops}"
    );
    assert!(ops.contains("- Last backup: never"), "{ops}");
    assert!(section(&t, "Social media").contains("- [[s1]] on linkedin"));
    let ahead = section(&t, "The week ahead");
    assert!(
        ahead.contains("- Requests that expire: 1\n  - [[p1]] 2026-11-24T00:00:00Z"),
        "{ahead}"
    );
    assert!(ahead.contains("- Scheduled posts: none"), "{ahead}");
    assert!(section(&t, "Revenue").contains("Odoo is not set up"));
    let summary = section(&t, "Executive summary");
    assert!(
        summary.contains("3 item(s) completed. 3 bottleneck(s)"),
        "{summary}"
    );
    assert!(summary.contains("1 request(s) wait for you"), "{summary}");
    // --stdout prints the same text and writes nothing more.
    let out = env.ok(&["ceo-briefing", "--stdout"]).stdout;
    assert!(out.starts_with(&t[..t.find("<!--").unwrap()]), "{out}");
}

#[test]
fn the_same_week_twice_writes_nothing_new_and_keeps_the_owners_notes() {
    let env = seeded();
    assert!(env.ok(&["ceo-briefing"]).stdout.contains("written"));
    let first = env.read(FILE);
    let noted = format!("{first}Call Ann about the invoice.\n");
    env.write(FILE, &noted);
    let r = env.ok(&["ceo-briefing"]);
    assert!(r.stdout.contains("unchanged"), "{r:?}");
    assert_eq!(env.read(FILE), noted);
    // A figure changes: the file is rewritten, the note stays.
    env.write(
        "Done/g1.md",
        item("g1", "general", "completed: 2026-11-20T10:00:00Z\n", "x\n"),
    );
    let r = env.ok(&["ceo-briefing"]);
    assert!(r.stdout.contains("updated"), "{r:?}");
    let t = env.read(FILE);
    assert!(t.contains("- general: 1 ([[g1]])"), "{t}");
    assert!(t.ends_with("Call Ann about the invoice.\n"), "{t}");
    assert_eq!(t.matches("## Executive summary").count(), 1);
}

#[test]
fn a_week_with_no_data_says_so_plainly() {
    let env = TestEnv::new();
    env.ok(&["ceo-briefing", "--week", "2026-W10"]);
    let t = env.read("Briefings/2026-03-09_Monday_Briefing.md");
    assert!(
        section(&t, "Executive summary").contains("No data for this week"),
        "{t}"
    );
    assert!(section(&t, "Completed work").contains("No item was completed this week."));
    assert!(section(&t, "Bottlenecks").contains("None."));
    let r = env.run(&["ceo-briefing", "--week", "2025-W53"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("2025-W53"), "{r:?}");
}

#[test]
fn with_odoo_the_revenue_and_receivables_are_what_the_books_hold() {
    let odoo = OdooTarget::new();
    let Some(fake) = &odoo.fake else {
        return; // exact sums need books only this test wrote
    };
    let mut env = seeded();
    env.config(&odoo.config(""));
    env.env("AIE_ODOO_USERNAME", &odoo.user)
        .env("AIE_ODOO_API_KEY", &odoo.key);
    let acme = fake.add_partner("Acme Ltd", "a@acme.example");
    let host = fake.add_partner("Hosting Co", "");
    let inv = |name: &str, date: &str, due: &str, total: f64, residual: f64, state: &str| {
        json!({"move_type": "out_invoice", "state": "posted", "name": name, "partner_id": acme,
            "invoice_date": date, "invoice_date_due": due, "amount_total": total,
            "amount_residual": residual, "payment_state": state})
    };
    fake.add_move(inv(
        "INV/1",
        "2026-11-03",
        "2026-11-10",
        500.0,
        500.0,
        "not_paid",
    ));
    fake.add_move(inv(
        "INV/2",
        "2026-11-17",
        "2026-12-17",
        1000.0,
        1000.0,
        "not_paid",
    ));
    fake.add_move(inv("INV/3", "2026-10-06", "2026-11-05", 250.0, 0.0, "paid"));
    for (date, amount) in [("2026-09-25", 400.0), ("2026-10-25", 650.0)] {
        fake.add_move(
            json!({"move_type": "in_invoice", "state": "posted", "partner_id": host,
            "invoice_date": date, "amount_total": amount}),
        );
    }
    let r = env.ok(&["ceo-briefing", "--json"]);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    let m = &j["report"]["money"];
    assert_eq!(m["week_revenue"], 1000.0, "{j}");
    assert_eq!(m["month_revenue"], 1500.0, "{j}");
    assert_eq!(m["month_pct"], 15.0, "{j}");
    assert_eq!(m["receivables_total"], 1500.0, "{j}");
    assert_eq!(
        (m["due"].clone(), m["paid"].clone()),
        (json!(2), json!(1)),
        "{j}"
    );
    let t = env.read(FILE);
    let rev = section(&t, "Revenue");
    assert!(rev.contains("- This week: 1,000.00 USD"), "{rev}");
    assert!(rev.contains("- Month to date: 1,500.00 USD"), "{rev}");
    assert!(rev.contains("(15.0 % reached)"), "{rev}");
    assert!(rev.contains("```mermaid\nxychart-beta"), "{rev}");
    assert!(
        rev.contains(
            "x-axis [\"W40\", \"W41\", \"W42\", \"W43\", \"W44\", \"W45\", \"W46\", \"W47\"]"
        ),
        "{rev}"
    );
    assert!(
        rev.contains("bar [0.00, 250.00, 0.00, 0.00, 0.00, 500.00, 0.00, 1000.00]"),
        "{rev}"
    );
    let rec = section(&t, "Receivables and payments");
    assert!(rec.contains("- Open receivables: 1,500.00 USD"), "{rec}");
    assert!(rec.contains("INV/1 Acme Ltd: 500.00 USD"), "{rec}");
    assert!(rec.contains("- Payment rate: 50.0 % (1 of 2 due this month paid; target 90 %, alert under 80 %) **ALERT**"), "{rec}");
    let soft = section(&t, "Software costs and subscriptions");
    assert!(soft.contains("- Recurring bills: 650.00 USD a month (target 500.00 USD, alert over 600.00 USD) **ALERT**"), "{soft}");
    assert!(
        soft.contains("- Review Hosting Co: 400.00 USD to 650.00 USD (+62.5 %)"),
        "{soft}"
    );
    assert!(
        section(&t, "The week ahead").contains("Hosting Co (about 650.00 USD) 2026-11-25"),
        "{t}"
    );
}

#[test]
fn the_year_end_week_53_and_a_week_with_a_change_of_clocks() {
    let env = TestEnv::new();
    env.write("aie.yaml", "timezone: Europe/Berlin\n");
    // Sunday 3 January 2027, 23:30 in Berlin: still week 53 of 2026.
    env.write(
        "Done/y1.md",
        item(
            "y1",
            "general",
            "completed: 2027-01-03T23:30:00+01:00\n",
            "x\n",
        ),
    );
    env.write(
        "Done/y2.md",
        item(
            "y2",
            "general",
            "completed: 2027-01-04T00:30:00+01:00\n",
            "x\n",
        ),
    );
    env.ok(&["ceo-briefing", "--week", "2026-W53"]);
    let t = env.read("Briefings/2027-01-04_Monday_Briefing.md");
    assert!(t.contains("from: 2026-12-28\nto: 2027-01-03\n"), "{t}");
    assert!(
        section(&t, "Completed work").contains("- general: 1 ([[y1]])"),
        "{t}"
    );
    // Week 43 ends on the night clocks go back (25 October 2026): 23:30 local is 22:30 UTC.
    env.write(
        "Done/d1.md",
        item("d1", "general", "completed: 2026-10-25T22:30:00Z\n", "x\n"),
    );
    env.write(
        "Done/d2.md",
        item("d2", "general", "completed: 2026-10-25T23:30:00Z\n", "x\n"),
    );
    env.ok(&["ceo-briefing", "--week", "2026-W43"]);
    let t = env.read("Briefings/2026-10-26_Monday_Briefing.md");
    assert!(
        section(&t, "Completed work").contains("- general: 1 ([[d1]])"),
        "{t}"
    );
}
