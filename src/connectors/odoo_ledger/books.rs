//! The [`Books`] over Odoo: the reads of the owner's figures, each one `search_read` of
//! `account.move` (or the company and its currency), its domain and fields kept here so
//! that the report ([`crate::accounting`]) knows no model, domain or field of Odoo. Reads
//! only: nothing here creates, posts or pays.

use super::*;
use crate::connectors::capabilities::{
    Bill, Books, CompanyCurrency, DraftInvoice, DueInvoice, OpenInvoice, PostedSale,
};
use crate::connectors::odoo::m2o_name;
use chrono::NaiveDate;

/// A text field's value, empty when unset (Odoo says `false`).
fn text(r: &Map<String, Value>, k: &str) -> String {
    r.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// The domain of posted moves of `types` dated in `from..=to`.
fn posted_dated(types: &[&str], from: NaiveDate, to: NaiveDate) -> Value {
    json!([
        ["move_type", "in", types],
        ["state", "=", "posted"],
        ["invoice_date", ">=", from.to_string()],
        ["invoice_date", "<=", to.to_string()]
    ])
}

impl OdooLedger {
    /// The `account.move` records matching `domain`, each read by `each`.
    fn moves<T>(
        &mut self,
        domain: Value,
        fields: &[&str],
        extra: Value,
        each: impl Fn(&Map<String, Value>) -> T,
    ) -> anyhow::Result<Vec<T>> {
        let found = self
            .odoo
            .search_read("account.move", domain, fields, extra)
            .map_err(OdooError::into_anyhow)?;
        Ok(found.iter().map(each).collect())
    }
}

impl Books for OdooLedger {
    fn company_currency(&mut self) -> anyhow::Result<CompanyCurrency> {
        let company = self
            .odoo
            .search_read(
                "res.company",
                json!([]),
                &["currency_id"],
                json!({"limit": 1}),
            )
            .map_err(OdooError::into_anyhow)?;
        let code = company.first().map(code_of).unwrap_or_default();
        let cur = self
            .odoo
            .search_read(
                "res.currency",
                json!([["name", "=", code]]),
                &["rounding"],
                json!({"limit": 1, "context": {"active_test": false}}),
            )
            .map_err(OdooError::into_anyhow)?;
        Ok(CompanyCurrency {
            code,
            rounding: cur.first().map(|c| num(c.get("rounding"))),
        })
    }

    fn posted_sales(&mut self, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<PostedSale>> {
        self.moves(
            posted_dated(&["out_invoice", "out_refund"], from, to),
            &["amount_untaxed_signed", "move_type"],
            json!({}),
            |m| PostedSale {
                untaxed: num(m.get("amount_untaxed_signed")),
                credit_note: text(m, "move_type") != "out_invoice",
            },
        )
    }

    fn draft_invoices(&mut self) -> anyhow::Result<Vec<DraftInvoice>> {
        self.moves(
            json!([["move_type", "=", "out_invoice"], ["state", "=", "draft"]]),
            &["partner_id", "amount_total_signed", "create_date"],
            json!({"order": "id asc"}),
            |m| DraftInvoice {
                id: m.get("id").and_then(Value::as_i64).unwrap_or(0),
                partner: m2o_name(m.get("partner_id")),
                total: num(m.get("amount_total_signed")),
                created: text(m, "create_date").chars().take(10).collect(),
            },
        )
    }

    fn open_receivables(&mut self) -> anyhow::Result<Vec<OpenInvoice>> {
        self.moves(
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
            |m| OpenInvoice {
                number: text(m, "name"),
                partner: m2o_name(m.get("partner_id")),
                due_date: text(m, "invoice_date_due"),
                amount_due: num(m.get("amount_residual_signed")),
            },
        )
    }

    fn invoices_due(&mut self, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<DueInvoice>> {
        self.moves(
            json!([
                ["move_type", "=", "out_invoice"],
                ["state", "=", "posted"],
                ["invoice_date_due", ">=", from.to_string()],
                ["invoice_date_due", "<=", to.to_string()]
            ]),
            &["payment_state"],
            json!({}),
            |m| DueInvoice {
                paid: matches!(
                    text(m, "payment_state").as_str(),
                    "paid" | "in_payment" | "reversed"
                ),
            },
        )
    }

    fn bills(&mut self, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<Bill>> {
        self.moves(
            posted_dated(&["in_invoice", "in_refund"], from, to),
            &[
                "partner_id",
                "invoice_date",
                "amount_untaxed_signed",
                "move_type",
            ],
            json!({"order": "invoice_date asc"}),
            |b| Bill {
                vendor: m2o_name(b.get("partner_id")),
                date: text(b, "invoice_date"),
                // Odoo signs a vendor bill's amounts negative: an expense is its opposite.
                untaxed: -num(b.get("amount_untaxed_signed")),
                refund: text(b, "move_type") != "in_invoice",
            },
        )
    }
}
