//! The owner's figures from the books (revenue, drafts, receivables, expenses, recurring
//! bills) and how money is written. `aie accounting`, the MCP accounting tool and the weekly
//! briefing read [`figures`]; nothing here prints or reads the environment. The figures are
//! computed from the records of the [`Books`] capability alone ([`read`]): which service
//! keeps the books, and how it is asked, is the connector's. Amounts are in the company
//! currency, summed and rounded to that currency's rounding.

use crate::connectors::capabilities::Books;
use crate::connectors::odoo_ledger::OdooLedger;
use crate::context::Ctx;
use anyhow::Result;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;

/// A draft customer invoice not yet posted.
#[derive(Debug, Clone, Serialize)]
pub struct Draft {
    pub id: i64,
    pub partner: String,
    pub amount: f64,
    /// The day it was created (`YYYY-MM-DD`).
    pub created: String,
    pub age_days: i64,
}

/// An open (posted, not fully paid) customer invoice.
#[derive(Debug, Clone, Serialize)]
pub struct Receivable {
    pub number: String,
    pub partner: String,
    pub due_date: String,
    pub amount_due: f64,
    /// 0 when not yet due.
    pub days_overdue: i64,
}

/// A vendor billed about monthly: the last bill and its change against the one before.
#[derive(Debug, Clone, Serialize)]
pub struct Recurring {
    pub vendor: String,
    pub last_date: String,
    pub last_amount: f64,
    pub previous_amount: f64,
    pub change: f64,
}

/// The owner's figures for a period (both ends included).
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub from: String,
    pub to: String,
    /// The company currency every amount is in.
    pub currency: String,
    /// Untaxed revenue of posted customer invoices (less credit notes) dated in the period.
    pub revenue: f64,
    pub invoices_posted: usize,
    pub drafts: Vec<Draft>,
    /// Drafts older than 7 days: listed under attention.
    pub stale_drafts: Vec<Draft>,
    pub receivables_total: f64,
    pub receivables: Vec<Receivable>,
    /// Invoices due in the period, and how many of those are paid.
    pub due_in_period: usize,
    pub paid_of_due: usize,
    /// `paid_of_due / due_in_period`, None when nothing fell due.
    pub payment_rate: Option<f64>,
    /// Untaxed posted vendor bills dated in the period, by vendor, largest first.
    pub expenses: Vec<(String, f64)>,
    pub expenses_total: f64,
    pub recurring: Vec<Recurring>,
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// Rounds to the currency's rounding (0.01 for most).
fn round_to(x: f64, rounding: f64) -> f64 {
    if rounding > 0.0 {
        (x / rounding).round() * rounding
    } else {
        x
    }
}

/// The figures from the books `aie.yaml` sets up (Odoo) for `from..=to`, within the run's
/// deadline: `Ok(None)` when Odoo is not set up in `aie.yaml`. Errors: a refused login (a
/// setup error, exit 78), Odoo out of reach (exit 69).
pub fn figures(ctx: &Ctx, from: NaiveDate, to: NaiveDate) -> Result<Option<Figures>> {
    let deadline = ctx.time_left().map(|d| std::time::Instant::now() + d);
    let Some(mut books) = OdooLedger::from_settings(&ctx.settings, &ctx.secrets, deadline)? else {
        return Ok(None);
    };
    let today = ctx.clock.now().with_timezone(&ctx.clock.tz()).date_naive();
    read(&mut books, from, to, today).map(Some)
}

/// The current month so far, in the owner's timezone.
pub fn this_month(ctx: &Ctx) -> (NaiveDate, NaiveDate) {
    let today = ctx.clock.now().with_timezone(&ctx.clock.tz()).date_naive();
    let first = today.with_day0(0).unwrap_or(today);
    (first, today)
}

/// Reads the figures from `books` (`today` judges ages and overdue days). Errors: the
/// books' own (a refused login, a server out of reach).
pub fn read(
    books: &mut dyn Books,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Result<Figures> {
    let company = books.company_currency()?;
    let rounding = company.rounding.filter(|r| *r > 0.0).unwrap_or(0.01);
    let r = |x: f64| round_to(x, rounding);
    let sales = books.posted_sales(from, to)?;
    let revenue = r(sales.iter().map(|s| s.untaxed).sum());
    let invoices_posted = sales.iter().filter(|s| !s.credit_note).count();
    let drafts: Vec<Draft> = books
        .draft_invoices()?
        .into_iter()
        .map(|d| Draft {
            id: d.id,
            partner: d.partner,
            amount: r(d.total),
            age_days: date(&d.created)
                .map(|c| (today - c).num_days())
                .unwrap_or(0),
            created: d.created,
        })
        .collect();
    let stale_drafts = drafts.iter().filter(|d| d.age_days > 7).cloned().collect();
    let receivables: Vec<Receivable> = books
        .open_receivables()?
        .into_iter()
        .map(|o| Receivable {
            number: o.number,
            partner: o.partner,
            days_overdue: date(&o.due_date)
                .map(|d| (today - d).num_days().max(0))
                .unwrap_or(0),
            due_date: o.due_date,
            amount_due: r(o.amount_due),
        })
        .collect();
    let receivables_total = r(receivables.iter().map(|x| x.amount_due).sum());
    let due = books.invoices_due(from, to)?;
    let paid_of_due = due.iter().filter(|d| d.paid).count();
    let payment_rate = (!due.is_empty()).then(|| paid_of_due as f64 / due.len() as f64);
    // Vendor bills over the last 13 months: the period's expenses, and who bills monthly.
    let year_ago = to - chrono::Duration::days(400);
    let mut by_vendor: BTreeMap<String, f64> = BTreeMap::new();
    let mut history: BTreeMap<String, Vec<(NaiveDate, f64)>> = BTreeMap::new();
    for b in books.bills(year_ago, to)? {
        let Some(d) = date(&b.date) else {
            continue;
        };
        if d >= from {
            *by_vendor.entry(b.vendor.clone()).or_default() += b.untaxed;
        }
        if !b.refund {
            history.entry(b.vendor).or_default().push((d, b.untaxed));
        }
    }
    let mut expenses: Vec<(String, f64)> = by_vendor.into_iter().map(|(v, a)| (v, r(a))).collect();
    expenses.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let expenses_total = r(expenses.iter().map(|e| e.1).sum());
    let recurring = history
        .into_iter()
        .filter_map(|(vendor, h)| {
            let n = h.len();
            if n < 2 {
                return None;
            }
            let (prev, last) = (h[n - 2], h[n - 1]);
            let gap = (last.0 - prev.0).num_days();
            (25..=35).contains(&gap).then(|| Recurring {
                vendor,
                last_date: last.0.to_string(),
                last_amount: r(last.1),
                previous_amount: r(prev.1),
                change: r(last.1 - prev.1),
            })
        })
        .collect();
    Ok(Figures {
        from: from.to_string(),
        to: to.to_string(),
        currency: company.code,
        revenue,
        invoices_posted,
        drafts,
        stale_drafts,
        receivables_total,
        receivables,
        due_in_period: due.len(),
        paid_of_due,
        payment_rate,
        expenses,
        expenses_total,
        recurring,
    })
}

/// An amount as money: thousands separated, two decimals, the ISO code after
/// (`1,250.00 GBP`, never `1250.0`).
pub fn money(amount: f64, code: &str) -> String {
    let cents = (amount.abs() * 100.0).round() as u128;
    let (units, frac) = (cents / 100, cents % 100);
    let digits = units.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount < 0.0 && cents > 0 { "-" } else { "" };
    let code = code.trim();
    if code.is_empty() {
        format!("{sign}{grouped}.{frac:02}")
    } else {
        format!("{sign}{grouped}.{frac:02} {code}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::capabilities::{
        Bill, CompanyCurrency, DraftInvoice, DueInvoice, OpenInvoice, PostedSale,
    };

    /// Books held in memory: the report needs no Odoo to be tested.
    #[derive(Default)]
    struct Paper {
        sales: Vec<PostedSale>,
        drafts: Vec<DraftInvoice>,
        open: Vec<OpenInvoice>,
        due: Vec<DueInvoice>,
        bills: Vec<Bill>,
        /// The periods asked for, by read.
        asked: Vec<(&'static str, NaiveDate, NaiveDate)>,
    }

    impl Books for Paper {
        fn company_currency(&mut self) -> Result<CompanyCurrency> {
            Ok(CompanyCurrency {
                code: "GBP".into(),
                rounding: Some(0.01),
            })
        }
        fn posted_sales(&mut self, from: NaiveDate, to: NaiveDate) -> Result<Vec<PostedSale>> {
            self.asked.push(("sales", from, to));
            Ok(self.sales.clone())
        }
        fn draft_invoices(&mut self) -> Result<Vec<DraftInvoice>> {
            Ok(self.drafts.clone())
        }
        fn open_receivables(&mut self) -> Result<Vec<OpenInvoice>> {
            Ok(self.open.clone())
        }
        fn invoices_due(&mut self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DueInvoice>> {
            self.asked.push(("due", from, to));
            Ok(self.due.clone())
        }
        fn bills(&mut self, from: NaiveDate, to: NaiveDate) -> Result<Vec<Bill>> {
            self.asked.push(("bills", from, to));
            Ok(self.bills.clone())
        }
    }

    fn day(s: &str) -> NaiveDate {
        date(s).unwrap()
    }

    fn bill(vendor: &str, date: &str, untaxed: f64, refund: bool) -> Bill {
        Bill {
            vendor: vendor.into(),
            date: date.into(),
            untaxed,
            refund,
        }
    }

    #[test]
    fn the_figures_are_computed_from_the_books_records_alone() {
        let sale = |untaxed: f64, credit_note| PostedSale {
            untaxed,
            credit_note,
        };
        let draft = |id, created: &str| DraftInvoice {
            id,
            partner: "Client Co".into(),
            total: 300.004,
            created: created.into(),
        };
        let open = |number: &str, due_date: &str, amount_due| OpenInvoice {
            number: number.into(),
            partner: "Client Co".into(),
            due_date: due_date.into(),
            amount_due,
        };
        let paid = |paid| DueInvoice { paid };
        let mut books = Paper {
            sales: vec![sale(1000.0, false), sale(250.0, false), sale(-100.0, true)],
            drafts: vec![draft(1, "2026-03-18"), draft(2, "2026-03-01")],
            open: vec![
                open("INV/1", "2026-03-10", 400.0),
                open("INV/2", "2026-04-01", 99.999),
            ],
            due: vec![paid(true), paid(false), paid(true), paid(true)],
            bills: vec![
                bill("Old Ltd", "2025-06-01", 40.0, false),
                bill("Acme", "2026-02-03", 120.0, false),
                bill("Acme", "2026-03-04", 150.0, false),
                bill("Power", "2026-03-05", 80.0, false),
                bill("Acme", "2026-03-10", -20.0, true),
                bill("Nobody", "", 999.0, false),
            ],
            ..Paper::default()
        };
        let (from, to) = (day("2026-03-01"), day("2026-03-31"));
        let f = read(&mut books, from, to, day("2026-03-20")).unwrap();
        let gbp = |x| money(x, &f.currency);
        assert_eq!(gbp(f.revenue), "1,150.00 GBP");
        assert_eq!(f.invoices_posted, 2);
        let ages: Vec<(i64, i64)> = f.drafts.iter().map(|d| (d.id, d.age_days)).collect();
        assert_eq!(ages, [(1, 2), (2, 19)]);
        assert_eq!(gbp(f.drafts[0].amount), "300.00 GBP");
        assert_eq!(f.stale_drafts.len(), 1);
        assert_eq!(f.stale_drafts[0].id, 2);
        let overdue: Vec<i64> = f.receivables.iter().map(|r| r.days_overdue).collect();
        assert_eq!(overdue, [10, 0]);
        assert_eq!(gbp(f.receivables_total), "500.00 GBP");
        assert_eq!((f.due_in_period, f.paid_of_due), (4, 3));
        assert_eq!(f.payment_rate, Some(0.75));
        // The refund lowers Acme's expenses but is no monthly bill; a bill with no date counts
        // nowhere; bills before the period only tell who bills monthly.
        let expenses: Vec<(&str, String)> = f
            .expenses
            .iter()
            .map(|(v, a)| (v.as_str(), gbp(*a)))
            .collect();
        assert_eq!(
            expenses,
            [("Acme", "130.00 GBP".into()), ("Power", "80.00 GBP".into())]
        );
        assert_eq!(gbp(f.expenses_total), "210.00 GBP");
        assert_eq!(f.recurring.len(), 1);
        let acme = &f.recurring[0];
        assert_eq!(
            (acme.vendor.as_str(), acme.last_date.as_str()),
            ("Acme", "2026-03-04")
        );
        assert_eq!(gbp(acme.change), "30.00 GBP");
        // Bills are read over the 400 days to the period's end.
        assert_eq!(
            books.asked,
            [
                ("sales", from, to),
                ("due", from, to),
                ("bills", day("2025-02-24"), to)
            ]
        );
    }

    #[test]
    fn money_is_written_as_money() {
        assert_eq!(money(1250.0, "GBP"), "1,250.00 GBP");
        assert_eq!(money(0.5, "EUR"), "0.50 EUR");
        assert_eq!(money(1234567.891, "USD"), "1,234,567.89 USD");
        assert_eq!(money(-80.0, "USD"), "-80.00 USD");
        assert_eq!(money(999.999, ""), "1,000.00");
    }
}
