//! The briefing as Markdown: one section per subject, each with the figures it stands on.
//! The text depends on the figures only (no time of writing), so the same week gives the
//! same bytes.

use super::{Ahead, Report, Wait};
use crate::accounting::money;
use std::fmt::Write;

/// The line after which the owner's notes go; aie never rewrites what follows it.
pub const NOTES_MARKER: &str =
    "<!-- aie: your notes go below this line; aie keeps them when it rewrites the briefing -->\n";

/// What follows the marker in a new briefing.
pub const NOTES_TAIL: &str = "\n## Notes\n\n";

fn waits(s: &mut String, list: &[Wait], what: &str) {
    for w in list {
        let _ = writeln!(s, "- [[{}]]: {what} {:.1} h", w.id, w.hours);
    }
}

fn ahead(s: &mut String, title: &str, list: &[Ahead], link: bool) {
    if list.is_empty() {
        let _ = writeln!(s, "- {title}: none");
        return;
    }
    let _ = writeln!(s, "- {title}: {}", list.len());
    for a in list {
        if link {
            let _ = writeln!(s, "  - [[{}]] {}", a.what, a.when);
        } else {
            let _ = writeln!(s, "  - {} {}", a.what, a.when);
        }
    }
}

/// The executive summary from the figures (template text).
fn summary(r: &Report) -> String {
    if r.empty() {
        return "No data for this week: no item was completed, no request waited, no run failed and no money moved that aie can see.\n".into();
    }
    let g = &r.goals;
    let done: usize = r.done.values().map(Vec::len).sum();
    let mut s = format!(
        "{done} item(s) completed. {} bottleneck(s): {} slow repl(y/ies), {} slow approval(s), {} request(s) still waiting.",
        r.slow_replies.len() + r.slow_approvals.len() + r.waiting.len(),
        r.slow_replies.len(),
        r.slow_approvals.len(),
        r.waiting.len()
    );
    let mut decide = Vec::new();
    if let Some(m) = &r.money {
        let _ = write!(
            s,
            " Revenue {} this week, {} month to date",
            money(m.week_revenue, &m.currency),
            money(m.month_revenue, &m.currency)
        );
        if let Some(p) = m.month_pct {
            let _ = write!(s, " ({p:.1} % of the monthly target)");
        }
        s.push('.');
        if let Some(rate) = m.payment_rate
            && rate < g.payment_rate.1
        {
            decide.push(format!(
                "the payment rate is {rate:.1} %, under the {:.0} % alert",
                g.payment_rate.1
            ));
        }
        if m.software_monthly > g.software.1 {
            decide.push(format!(
                "software costs {} a month, over the {} alert",
                money(m.software_monthly, &m.currency),
                money(g.software.1, &m.currency)
            ));
        }
    }
    if !r.subscriptions.is_empty() {
        decide.push(format!(
            "{} subscription(s) to review",
            r.subscriptions.len()
        ));
    }
    if !r.waiting.is_empty() {
        decide.push(format!("{} request(s) wait for you", r.waiting.len()));
    }
    if !r.failed_runs.is_empty() || !r.incidents.is_empty() {
        decide.push(format!(
            "{} failed run(s) and {} health incident(s)",
            r.failed_runs.len(),
            r.incidents.len()
        ));
    }
    if decide.is_empty() {
        s.push_str(" Nothing needs a decision.");
    } else {
        let _ = write!(s, " To decide: {}.", decide.join("; "));
    }
    s.push('\n');
    s
}

/// The front-matter line that fingerprints the figures (the briefing as the template
/// words it): the same line means nothing changed, whatever the model wrote the last time.
pub fn figures_line(r: &Report) -> String {
    let plain = render(r, &summary(r), "");
    format!(
        "figures: {}",
        &crate::backup::sha256_hex(plain.as_bytes())[..16]
    )
}

/// The briefing up to and including [`NOTES_MARKER`]: the model's narrative as the
/// executive summary when there is one, else the template's.
pub fn markdown(r: &Report) -> String {
    let said = match &r.narrative {
        Some(n) => format!(
            "{n}\n\n*Written by {} from the figures below.*\n",
            r.narrator
        ),
        None => summary(r),
    };
    render(r, &said, &format!("{}\n", figures_line(r)))
}

fn render(r: &Report, summary: &str, figures: &str) -> String {
    let g = &r.goals;
    let mut s = format!(
        "---\nweek: {}\nfrom: {}\nto: {}\n{figures}---\n# Monday briefing: week {} ({} to {})\n\n## Executive summary\n{summary}",
        r.week, r.from, r.to, r.week, r.from, r.to,
    );
    s.push_str("\n## Revenue\n");
    match &r.money {
        None => s.push_str(
            "Odoo is not set up: no revenue figures (see README, Accounting with Odoo).\n",
        ),
        Some(m) => {
            let c = &m.currency;
            let _ = writeln!(s, "- This week: {}", money(m.week_revenue, c));
            let _ = writeln!(s, "- Month to date: {}", money(m.month_revenue, c));
            match (g.revenue_target, m.month_pct) {
                (Some(t), Some(p)) => {
                    let _ = writeln!(s, "- Monthly target: {} ({p:.1} % reached)", money(t, c));
                }
                _ => s.push_str("- Monthly target: none in Business_Goals.md\n"),
            }
            let labels: Vec<String> = m.chart.iter().map(|(w, _)| format!("\"{w}\"")).collect();
            let values: Vec<String> = m.chart.iter().map(|(_, v)| format!("{v:.2}")).collect();
            let _ = write!(
                s,
                "\n```mermaid\nxychart-beta\n    title \"Revenue, last 8 weeks ({c})\"\n    x-axis [{}]\n    y-axis \"{c}\"\n    bar [{}]\n```\n",
                labels.join(", "),
                values.join(", ")
            );
        }
    }
    s.push_str("\n## Completed work\n");
    if r.done.is_empty() {
        s.push_str("No item was completed this week.\n");
    }
    for (domain, ids) in &r.done {
        let links: Vec<String> = ids.iter().map(|i| format!("[[{i}]]")).collect();
        let _ = writeln!(s, "- {domain}: {} ({})", ids.len(), links.join(", "));
    }
    let _ = writeln!(
        s,
        "\n## Bottlenecks\nTargets: client response < {:.0} h, approvals < {:.0} h.",
        g.response_hours, g.approval_hours
    );
    if r.slow_replies.is_empty() && r.slow_approvals.is_empty() && r.waiting.is_empty() {
        s.push_str("None.\n");
    }
    waits(&mut s, &r.slow_replies, "client waited for a reply");
    waits(&mut s, &r.slow_approvals, "approval took");
    waits(
        &mut s,
        &r.waiting,
        "still waiting for approval at the week's end, for",
    );

    s.push_str("\n## Receivables and payments\n");
    match &r.money {
        None => s.push_str("Odoo is not set up: no receivables.\n"),
        Some(m) => {
            let c = &m.currency;
            let _ = writeln!(s, "- Open receivables: {}", money(m.receivables_total, c));
            for (n, p, a, d) in &m.overdue {
                let _ = writeln!(s, "  - {n} {p}: {} ({d} day(s) overdue)", money(*a, c));
            }
            match m.payment_rate {
                None => s.push_str("- Payment rate: no invoice fell due this month\n"),
                Some(rate) => {
                    let flag = if rate < g.payment_rate.1 {
                        " **ALERT**"
                    } else if rate < g.payment_rate.0 {
                        " (under target)"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        s,
                        "- Payment rate: {rate:.1} % ({} of {} due this month paid; target {:.0} %, alert under {:.0} %){flag}",
                        m.paid, m.due, g.payment_rate.0, g.payment_rate.1
                    );
                }
            }
        }
    }
    s.push_str("\n## Software costs and subscriptions\n");
    match &r.money {
        None => s.push_str("Odoo is not set up: no costs.\n"),
        Some(m) => {
            let c = &m.currency;
            let flag = if m.software_monthly > g.software.1 {
                " **ALERT**"
            } else if m.software_monthly > g.software.0 {
                " (over target)"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "- Recurring bills: {} a month (target {}, alert over {}){flag}",
                money(m.software_monthly, c),
                money(g.software.0, c),
                money(g.software.1, c)
            );
        }
    }
    if r.subscriptions.is_empty() {
        s.push_str("- Subscriptions to review: none\n");
    }
    for sub in &r.subscriptions {
        let _ = writeln!(
            s,
            "- Review {}: {}; decide in [[{}]]",
            crate::dashboard::inline(&sub.name),
            crate::dashboard::inline(&sub.reasons.join("; ")),
            sub.id
        );
    }
    s.push_str("\n## Social media\n");
    if r.posts.is_empty() {
        s.push_str("Nothing was posted this week.\n");
    }
    for (id, platform) in &r.posts {
        let _ = writeln!(s, "- [[{id}]] on {platform}");
    }
    s.push_str("\n## Operations\n");
    let _ = writeln!(s, "- Failed runs: {}", r.failed_runs.len());
    for f in &r.failed_runs {
        let _ = writeln!(s, "  - {f}");
    }
    match r.approval_median_hours {
        Some(h) => {
            let _ = writeln!(
                s,
                "- Approval latency: median {h:.1} h over {} approval(s)",
                r.approvals
            );
        }
        None => s.push_str("- Approval latency: no approval this week\n"),
    }
    let _ = writeln!(s, "- Health incidents: {}", r.incidents.len());
    for i in &r.incidents {
        let _ = writeln!(s, "  - {i} went down");
    }
    let _ = writeln!(
        s,
        "- Last backup: {}",
        r.last_backup.as_deref().unwrap_or("never")
    );
    let _ = writeln!(
        s,
        "- Last sync: {}",
        r.last_sync.as_deref().unwrap_or("never")
    );
    s.push_str("\n## The week ahead\n");
    ahead(&mut s, "Requests that expire", &r.expiring, true);
    ahead(&mut s, "Scheduled posts", &r.scheduled, true);
    ahead(&mut s, "Bills due", &r.bills_due, false);
    s.push('\n');
    s.push_str(NOTES_MARKER);
    s
}
