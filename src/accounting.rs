//! The owner's figures from the books (revenue, drafts, receivables, expenses, recurring
//! bills) and how money is written. `aie accounting` and the weekly briefing read
//! [`figures`]; nothing here prints or reads the environment. Amounts are Odoo's signed
//! amounts in the company currency, summed and rounded to that currency's rounding.

use crate::connectors::odoo::{Odoo, OdooError, m2o_name};
use crate::context::Ctx;
use anyhow::Result;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value, json};
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

fn f(r: &Map<String, Value>, k: &str) -> f64 {
    r.get(k).and_then(Value::as_f64).unwrap_or(0.0)
}

fn st(r: &Map<String, Value>, k: &str) -> String {
    r.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// Rounds to the currency's rounding (0.01 for most).
fn round_to(x: f64, rounding: f64) -> f64 {
    if rounding > 0.0 {
        (x / rounding).round() * rounding
    } else {
        x
    }
}

/// The figures from Odoo for `from..=to`: `Ok(None)` when Odoo is not set up in `aie.yaml`.
/// Errors: a refused login (a setup error, exit 78), Odoo out of reach (exit 69).
pub fn figures(ctx: &Ctx, from: NaiveDate, to: NaiveDate) -> Result<Option<Figures>> {
    let Some(odoo) = Odoo::from_settings(&ctx.settings, &ctx.secrets)? else {
        return Ok(None);
    };
    let mut odoo = odoo.until(ctx.time_left().map(|d| std::time::Instant::now() + d));
    let today = ctx.clock.now().with_timezone(&ctx.clock.tz()).date_naive();
    read(&mut odoo, from, to, today)
        .map(Some)
        .map_err(OdooError::into_anyhow)
}

/// The current month so far, in the owner's timezone.
pub fn this_month(ctx: &Ctx) -> (NaiveDate, NaiveDate) {
    let today = ctx.clock.now().with_timezone(&ctx.clock.tz()).date_naive();
    let first = today.with_day0(0).unwrap_or(today);
    (first, today)
}

use chrono::Datelike;

/// Reads the figures over `odoo` (`today` judges ages and overdue days).
pub fn read(
    odoo: &mut Odoo,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> std::result::Result<Figures, OdooError> {
    let (fs, ts) = (from.to_string(), to.to_string());
    let company = odoo.search_read(
        "res.company",
        json!([]),
        &["currency_id"],
        json!({"limit": 1}),
    )?;
    let currency = company
        .first()
        .map(|c| m2o_name(c.get("currency_id")))
        .unwrap_or_default();
    let cur = odoo.search_read(
        "res.currency",
        json!([["name", "=", currency]]),
        &["rounding"],
        json!({"limit": 1, "context": {"active_test": false}}),
    )?;
    let rounding = cur
        .first()
        .map(|c| f(c, "rounding"))
        .filter(|r| *r > 0.0)
        .unwrap_or(0.01);
    let r = |x: f64| round_to(x, rounding);
    let posted_sales = odoo.search_read(
        "account.move",
        json!([
            ["move_type", "in", ["out_invoice", "out_refund"]],
            ["state", "=", "posted"],
            ["invoice_date", ">=", fs],
            ["invoice_date", "<=", ts]
        ]),
        &["amount_untaxed_signed", "move_type"],
        json!({}),
    )?;
    let revenue = r(posted_sales
        .iter()
        .map(|m| f(m, "amount_untaxed_signed"))
        .sum());
    let invoices_posted = posted_sales
        .iter()
        .filter(|m| st(m, "move_type") == "out_invoice")
        .count();
    let drafts_raw = odoo.search_read(
        "account.move",
        json!([["move_type", "=", "out_invoice"], ["state", "=", "draft"]]),
        &["partner_id", "amount_total_signed", "create_date"],
        json!({"order": "id asc"}),
    )?;
    let drafts: Vec<Draft> = drafts_raw
        .iter()
        .map(|m| {
            let created = st(m, "create_date").chars().take(10).collect::<String>();
            let age_days = date(&created).map(|d| (today - d).num_days()).unwrap_or(0);
            Draft {
                id: m.get("id").and_then(Value::as_i64).unwrap_or(0),
                partner: m2o_name(m.get("partner_id")),
                amount: r(f(m, "amount_total_signed")),
                created,
                age_days,
            }
        })
        .collect();
    let stale_drafts = drafts.iter().filter(|d| d.age_days > 7).cloned().collect();
    let open = odoo.search_read(
        "account.move",
        json!([
            ["move_type", "=", "out_invoice"],
            ["state", "=", "posted"],
            ["payment_state", "in", ["not_paid", "partial"]]
        ]),
        &[
            "name",
            "partner_id",
            "invoice_date_due",
            "amount_residual_signed",
        ],
        json!({"order": "invoice_date_due asc"}),
    )?;
    let receivables: Vec<Receivable> = open
        .iter()
        .map(|m| {
            let due_date = st(m, "invoice_date_due");
            Receivable {
                number: st(m, "name"),
                partner: m2o_name(m.get("partner_id")),
                days_overdue: date(&due_date)
                    .map(|d| (today - d).num_days().max(0))
                    .unwrap_or(0),
                due_date,
                amount_due: r(f(m, "amount_residual_signed")),
            }
        })
        .collect();
    let receivables_total = r(receivables.iter().map(|x| x.amount_due).sum());
    let due = odoo.search_read(
        "account.move",
        json!([
            ["move_type", "=", "out_invoice"],
            ["state", "=", "posted"],
            ["invoice_date_due", ">=", fs],
            ["invoice_date_due", "<=", ts]
        ]),
        &["payment_state"],
        json!({}),
    )?;
    let paid_of_due = due
        .iter()
        .filter(|m| {
            matches!(
                st(m, "payment_state").as_str(),
                "paid" | "in_payment" | "reversed"
            )
        })
        .count();
    let payment_rate = (!due.is_empty()).then(|| paid_of_due as f64 / due.len() as f64);
    // Vendor bills over the last 13 months: the period's expenses, and who bills monthly.
    let year_ago = to - chrono::Duration::days(400);
    let bills = odoo.search_read(
        "account.move",
        json!([
            ["move_type", "in", ["in_invoice", "in_refund"]],
            ["state", "=", "posted"],
            ["invoice_date", ">=", year_ago.to_string()],
            ["invoice_date", "<=", ts]
        ]),
        &[
            "partner_id",
            "invoice_date",
            "amount_untaxed_signed",
            "move_type",
        ],
        json!({"order": "invoice_date asc"}),
    )?;
    let mut by_vendor: BTreeMap<String, f64> = BTreeMap::new();
    let mut history: BTreeMap<String, Vec<(NaiveDate, f64)>> = BTreeMap::new();
    for b in &bills {
        let vendor = m2o_name(b.get("partner_id"));
        let Some(d) = date(&st(b, "invoice_date")) else {
            continue;
        };
        // Odoo signs a vendor bill's amounts negative: an expense is its opposite.
        let amount = -f(b, "amount_untaxed_signed");
        if d >= from {
            *by_vendor.entry(vendor.clone()).or_default() += amount;
        }
        if st(b, "move_type") == "in_invoice" {
            history.entry(vendor).or_default().push((d, amount));
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
        from: fs,
        to: ts,
        currency,
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

    #[test]
    fn money_is_written_as_money() {
        assert_eq!(money(1250.0, "GBP"), "1,250.00 GBP");
        assert_eq!(money(0.5, "EUR"), "0.50 EUR");
        assert_eq!(money(1234567.891, "USD"), "1,234,567.89 USD");
        assert_eq!(money(-80.0, "USD"), "-80.00 USD");
        assert_eq!(money(999.999, ""), "1,000.00");
    }
}
