//! `aie accounting [--from DATE] [--to DATE] [--json]`: the owner's figures from Odoo for a
//! period (default: this month so far, in `timezone`). Without Odoo set up it says so and
//! exits 0. The figures are [`crate::accounting::figures`]'s; this file only words them.

use crate::accounting::{Figures, figures, money, this_month};
use crate::context::Cx;
use crate::exit::AieError;
use crate::outcome::Outcome;
use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;

#[derive(Debug, Args)]
pub struct AccountingArgs {
    /// First day of the period (YYYY-MM-DD); default: the first of this month.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of the period (YYYY-MM-DD); default: today.
    #[arg(long)]
    pub to: Option<String>,
    #[command(flatten)]
    pub out: crate::cli::JsonFlag,
}

impl crate::cli::CommandArgs for AccountingArgs {
    fn json(&self) -> bool {
        self.out.json
    }
}

fn day(s: &Option<String>, flag: &str) -> Result<Option<NaiveDate>> {
    s.as_deref()
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                AieError::Usage(format!("{flag} `{d}` is not a date (YYYY-MM-DD)")).into()
            })
        })
        .transpose()
}

/// Reads and words the figures.
pub fn run(cx: &Cx, args: &AccountingArgs) -> Result<Outcome> {
    let ctx = cx.ctx();
    let (first, today) = this_month(ctx);
    let from = day(&args.from, "--from")?.unwrap_or(first);
    let to = day(&args.to, "--to")?.unwrap_or(today);
    let mut out = Outcome::default();
    match figures(ctx, from, to)? {
        None => {
            out.summary = "accounting: Odoo is not set up (add an `odoo:` section to aie.yaml; see README, Accounting with Odoo)\n".into();
            out.json = serde_json::json!({"odoo": false});
        }
        Some(f) => {
            out.summary = words(&f);
            out.json = serde_json::to_value(&f)?;
        }
    }
    Ok(out)
}

/// The figures as the owner reads them.
fn words(f: &Figures) -> String {
    let m = |x: f64| money(x, &f.currency);
    let mut s = format!("Accounting {} to {} ({})\n", f.from, f.to, f.currency);
    s += &format!(
        "Revenue: {} from {} posted invoice(s)\n",
        m(f.revenue),
        f.invoices_posted
    );
    s += &format!(
        "Drafts not yet posted: {} ({})\n",
        f.drafts.len(),
        m(f.drafts.iter().map(|d| d.amount).sum())
    );
    s += &format!("Open receivables: {}\n", m(f.receivables_total));
    for r in &f.receivables {
        let late = if r.days_overdue > 0 {
            format!(", {} day(s) overdue", r.days_overdue)
        } else {
            String::new()
        };
        s += &format!(
            "  {} {}: {} due {}{late}\n",
            r.number,
            r.partner,
            m(r.amount_due),
            r.due_date
        );
    }
    if let Some(rate) = f.payment_rate {
        s += &format!(
            "Paid on time: {} of {} invoice(s) due in the period ({:.0}%)\n",
            f.paid_of_due,
            f.due_in_period,
            rate * 100.0
        );
    }
    s += &format!("Expenses: {}\n", m(f.expenses_total));
    for (v, a) in &f.expenses {
        s += &format!("  {v}: {}\n", m(*a));
    }
    if !f.recurring.is_empty() {
        s += "Recurring bills:\n";
        for r in &f.recurring {
            s += &format!(
                "  {}: {} on {} ({}{} against the one before)\n",
                r.vendor,
                m(r.last_amount),
                r.last_date,
                if r.change >= 0.0 { "+" } else { "" },
                m(r.change)
            );
        }
    }
    if !f.stale_drafts.is_empty() {
        s += "Attention:\n";
        for d in &f.stale_drafts {
            s += &format!(
                "  draft invoice (account.move {}) for {} of {} waits since {} ({} days): post it or delete it\n",
                d.id,
                d.partner,
                m(d.amount),
                d.created,
                d.age_days
            );
        }
    }
    s
}
