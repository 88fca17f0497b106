//! The [`Ledger`](super::capabilities::Ledger) over Odoo: the executors of `odoo_invoice`,
//! `odoo_post_invoice`, `odoo_bill` and `payment`, sharing one [`Odoo`] client (one login) a
//! pass. Each is idempotent: the action's idempotency key is written where Odoo keeps it and
//! shows it to the owner (an invoice's or bill's internal note, `narration`; a payment's
//! memo, `ref`, as `aie:<key>`), and searched before anything is created, so a retry after a
//! crash or an unknown outcome finds the record instead of making a second one. Partner and
//! currency look-ups are cached for the pass. A payment is recorded in Odoo, never sent to a
//! bank. An action is read once, into its kind's typed parameters
//! ([`Kind::parse`](crate::actions::Kind::parse), the reading the policy approved), in
//! `executor.rs` (the ledger's typed entries and the executor); only Odoo's answers are read
//! as JSON maps. The same ledger reads the books for the owner's figures
//! ([`Books`](super::capabilities::Books), in `books.rs`).

mod books;
mod executor;
mod invoice_pdf;

pub use invoice_pdf::{Attach, INVOICE_REF, InvoicePdf, attach_invoice, invoice_of_item};

use super::odoo::{Odoo, OdooError, m2o_id, records};
use crate::accounting::money;
use crate::actions::{Number, odoo_bill, odoo_invoice, odoo_post_invoice, payment};
use crate::config::Settings;
use crate::executor::{ActionExecutor, ExecutorFactory};
use crate::fsutil::failpoint;
use crate::secrets::Secrets;
use crate::vault::Item;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::Path;

/// The executor of the kinds this ledger carries out (`odoo_invoice`, `odoo_post_invoice`,
/// `odoo_bill`, `payment`): one ledger, one login a pass, shared by all four.
pub const EXECUTOR: ExecutorFactory = ExecutorFactory {
    connector: "odoo",
    build: factory,
};

/// The Odoo ledger of one pass.
pub struct OdooLedger {
    odoo: Odoo,
    partners: HashMap<String, i64>,
    currencies: HashMap<String, i64>,
    default_currency: Option<String>,
    /// Each partner's open (posted, not fully paid) bills and invoices, read once a pass by
    /// the first payment to that partner: the moves a payment's reference can name. `None`
    /// when there are more than [`OPEN_MOVES_HELD`] (each payment then searches). Dropped by
    /// anything this ledger posts, creates or pays against.
    open_moves: HashMap<i64, Option<Vec<Map<String, Value>>>>,
}

/// How many open moves of one partner a pass holds at most.
const OPEN_MOVES_HELD: usize = 200;

/// Builds the ledger and logs in: `Ok(None)` when `aie.yaml` has no `odoo:` section; a setup
/// error (exit 78) when the login is refused; unavailable (exit 69) when Odoo cannot be
/// reached.
pub fn factory(
    settings: &Settings,
    secrets: &Secrets,
    _vault_root: &Path,
) -> anyhow::Result<Option<Box<dyn ActionExecutor>>> {
    let Some(mut ledger) = OdooLedger::from_settings(settings, secrets, None)? else {
        return Ok(None);
    };
    ledger.odoo.login().map_err(OdooError::into_anyhow)?;
    Ok(Some(Box::new(ledger)))
}

/// Where the key is written: `aie:<key>`.
fn marker(key: &str) -> String {
    format!("aie:{key}")
}

/// The text field `k` of a record Odoo answered, trimmed ("" when absent).
fn s<'a>(p: &'a Map<String, Value>, k: &str) -> &'a str {
    p.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("")
}

/// A number Odoo answered (0 when absent).
fn num(v: Option<&Value>) -> f64 {
    v.and_then(Value::as_f64).unwrap_or(0.0)
}

/// A text parameter of an action, trimmed ("" when unset).
fn text(v: &Option<String>) -> &str {
    v.as_deref().map(str::trim).unwrap_or("")
}

/// A number parameter of an action, when it is set.
fn number(v: &Option<Number>) -> Option<f64> {
    v.as_ref().and_then(Number::as_f64)
}

/// A record's currency code (`currency_id: [1, "GBP"]`).
fn code_of(r: &Map<String, Value>) -> String {
    super::odoo::m2o_name(r.get("currency_id"))
}

/// How a found or created move reads in the action's result: its number, its id, its total.
fn describe_move(what: &str, r: &Map<String, Value>, id: i64, note: &str) -> String {
    // A draft has no number yet in Odoo 17 (`/`).
    let name = match s(r, "name") {
        "" | "/" => String::new(),
        n => format!(" {n}"),
    };
    format!(
        "{what}{name} (account.move {id}), {}{note}",
        money(num(r.get("amount_total")), &code_of(r))
    )
}

const MOVE_FIELDS: &[&str] = &["name", "state", "amount_total", "currency_id", "ref"];

impl OdooLedger {
    /// A ledger over a logged-in client.
    pub fn new(odoo: Odoo, default_currency: Option<String>) -> OdooLedger {
        OdooLedger {
            odoo,
            partners: HashMap::new(),
            currencies: HashMap::new(),
            default_currency,
            open_moves: HashMap::new(),
        }
    }

    /// The ledger `aie.yaml` sets up, not yet logged in (its first call logs in) and never
    /// waiting or sending past `deadline` (the run's): `Ok(None)` when there is no `odoo:`
    /// section; a setup error (exit 78) when the URL, the database or a secret is missing.
    pub fn from_settings(
        settings: &Settings,
        secrets: &Secrets,
        deadline: Option<std::time::Instant>,
    ) -> anyhow::Result<Option<OdooLedger>> {
        let Some(odoo) = Odoo::from_settings(settings, secrets)? else {
            return Ok(None);
        };
        let default_currency = settings.odoo.as_ref().and_then(|o| o.currency.clone());
        Ok(Some(OdooLedger::new(
            odoo.until(deadline),
            default_currency,
        )))
    }

    /// HTTP requests made so far.
    pub fn calls(&self) -> u64 {
        self.odoo.calls()
    }

    /// The first partner matching `domain`.
    fn partner_where(&mut self, domain: Value) -> Result<Option<i64>, OdooError> {
        let r = self
            .odoo
            .search_read("res.partner", domain, &["name"], json!({"limit": 1}))?;
        Ok(r.first().and_then(|r| m2o_id(r.get("id"))))
    }

    /// The partner: by email (case-insensitive), then by exact name, else created.
    fn partner(&mut self, name: &str, email: &str, company: bool) -> Result<i64, OdooError> {
        let cache = format!("{}\n{}", email.to_lowercase(), name.to_lowercase());
        if let Some(id) = self.partners.get(&cache) {
            return Ok(*id);
        }
        let mut found = None;
        if !email.is_empty() {
            found = self.partner_where(json!([["email", "=ilike", email]]))?;
        }
        if found.is_none() && !name.is_empty() {
            found = self.partner_where(json!([["name", "=", name]]))?;
        }
        let id = match found {
            Some(id) => id,
            None => {
                if name.is_empty() && email.is_empty() {
                    return Err(OdooError::Refused("the action names no partner".into()));
                }
                let mut vals = json!({"name": if name.is_empty() { email } else { name },
                    "is_company": company});
                if !email.is_empty() {
                    vals["email"] = json!(email);
                }
                self.odoo.create("res.partner", vals, None)?
            }
        };
        self.partners.insert(cache, id);
        Ok(id)
    }

    /// The currency's id by ISO code; an unknown or inactive one is a clear failure.
    fn currency(&mut self, code: &str) -> Result<i64, OdooError> {
        let code = if code.is_empty() {
            self.default_currency.clone().unwrap_or_default()
        } else {
            code.to_uppercase()
        };
        if code.is_empty() {
            return Err(OdooError::Refused(
                "the action names no currency (and odoo.currency is not set)".into(),
            ));
        }
        if let Some(id) = self.currencies.get(&code) {
            return Ok(*id);
        }
        let r = self.odoo.search_read(
            "res.currency",
            json!([["name", "=", code]]),
            &["name", "active"],
            json!({"limit": 1, "context": {"active_test": false}}),
        )?;
        let Some(c) = r.first() else {
            return Err(OdooError::Refused(format!(
                "the currency `{code}` is not known to Odoo"
            )));
        };
        if c.get("active") != Some(&Value::Bool(true)) {
            return Err(OdooError::Refused(format!(
                "the currency `{code}` is not active in Odoo: activate it (Accounting > Configuration > Currencies) and approve again"
            )));
        }
        let id = m2o_id(c.get("id")).unwrap_or(0);
        self.currencies.insert(code, id);
        Ok(id)
    }

    /// The move of `move_type` carrying the key, if one exists.
    fn move_by_key(
        &mut self,
        move_type: &str,
        key: &str,
    ) -> Result<Option<Map<String, Value>>, OdooError> {
        let r = self.odoo.search_read(
            "account.move",
            json!([
                ["move_type", "=", move_type],
                ["narration", "ilike", marker(key)]
            ]),
            MOVE_FIELDS,
            json!({"limit": 1}),
        )?;
        Ok(r.into_iter().next())
    }

    /// The move of `move_type` an earlier attempt with the key created, described as `what`.
    fn found_earlier(
        &mut self,
        move_type: &str,
        what: &str,
        key: &str,
    ) -> Result<Option<String>, OdooError> {
        Ok(self.move_by_key(move_type, key)?.map(|m| {
            let id = m2o_id(m.get("id")).unwrap_or(0);
            describe_move(what, &m, id, " (found: created by an earlier attempt)")
        }))
    }

    /// Creates the draft move `vals` with the action's `ref`, `reference` (the failpoint
    /// `at` after it) and describes it as a draft `what`.
    fn create_move(
        &mut self,
        mut vals: Value,
        reference: &Option<String>,
        what: &str,
        at: &str,
    ) -> Result<String, OdooError> {
        if !text(reference).is_empty() {
            vals["ref"] = json!(text(reference));
        }
        self.open_moves.clear();
        let id = self.odoo.create("account.move", vals, None)?;
        failpoint(at);
        let m = self.read_move(id)?;
        Ok(describe_move(&format!("draft {what}"), &m, id, ""))
    }

    fn read_move(&mut self, id: i64) -> Result<Map<String, Value>, OdooError> {
        let r = self.odoo.call(
            "account.move",
            "read",
            Some(&[id]),
            json!({"fields": MOVE_FIELDS}),
        )?;
        records(&r)
            .into_iter()
            .next()
            .ok_or_else(|| OdooError::Refused(format!("account.move {id} is gone")))
    }

    /// `odoo_invoice`: a draft customer invoice with its lines.
    fn create_invoice(&mut self, p: &odoo_invoice::Params, key: &str) -> Result<String, OdooError> {
        if let Some(found) = self.found_earlier("out_invoice", "invoice", key)? {
            return Ok(found);
        }
        let company = p.partner_is_company.unwrap_or(true);
        let partner = self.partner(text(&p.partner), text(&p.partner_email), company)?;
        let currency = self.currency(text(&p.currency))?;
        let lines: Vec<Value> = p
            .lines
            .iter()
            .flatten()
            .map(|l| {
                json!([0, 0, {
                    "name": text(&l.description),
                    "quantity": number(&l.quantity).unwrap_or(1.0),
                    "price_unit": number(&l.price_unit).unwrap_or(0.0),
                    "tax_ids": [[6, 0, []]],
                }])
            })
            .collect();
        if lines.is_empty() {
            return Err(OdooError::Refused("the invoice has no lines".into()));
        }
        let vals = json!({
            "move_type": "out_invoice",
            "partner_id": partner,
            "currency_id": currency,
            "narration": marker(key),
            "invoice_line_ids": lines,
        });
        self.create_move(vals, &p.reference, "invoice", "odoo:invoice-created")
    }

    /// `odoo_post_invoice`: posts the invoice named by number or reference.
    fn post_named(&mut self, p: &odoo_post_invoice::Params) -> Result<String, OdooError> {
        let which = text(&p.invoice);
        if which.is_empty() {
            return Err(OdooError::Refused("the action names no invoice".into()));
        }
        let found = self.odoo.search_read(
            "account.move",
            json!([
                ["move_type", "in", ["out_invoice", "out_refund"]],
                "|",
                ["name", "=", which],
                ["ref", "=", which]
            ]),
            MOVE_FIELDS,
            json!({"order": "id desc", "limit": 20}),
        )?;
        let by_name: Vec<_> = found.iter().filter(|m| s(m, "name") == which).collect();
        let pick: Vec<_> = if !by_name.is_empty() {
            by_name
        } else {
            // By reference: a draft is the one to post; else the latest.
            let drafts: Vec<_> = found.iter().filter(|m| s(m, "state") == "draft").collect();
            match drafts.len() {
                0 => found.iter().take(1).collect(),
                1 => drafts,
                n => {
                    return Err(OdooError::Refused(format!(
                        "{n} draft invoices have the reference `{which}`: name the invoice's number instead"
                    )));
                }
            }
        };
        let Some(m) = pick.first().map(|m| (*m).clone()) else {
            return Err(OdooError::Refused(format!(
                "no customer invoice has the number or reference `{which}` in Odoo"
            )));
        };
        self.post_move(m)
    }

    /// Posts a found move (already posted is fine, cancelled is a failure).
    fn post_move(&mut self, m: Map<String, Value>) -> Result<String, OdooError> {
        let id = m2o_id(m.get("id")).unwrap_or(0);
        match s(&m, "state") {
            "posted" => Ok(describe_move("invoice", &m, id, " (already posted)")),
            "cancel" => Err(OdooError::Refused(format!(
                "invoice {} (account.move {id}) is cancelled in Odoo: it cannot be posted",
                s(&m, "name")
            ))),
            _ => {
                self.open_moves.clear();
                self.odoo
                    .call("account.move", "action_post", Some(&[id]), json!({}))?;
                failpoint("odoo:posted");
                let m = self.read_move(id)?;
                Ok(describe_move("posted invoice", &m, id, ""))
            }
        }
    }

    /// The posted invoice `id` as Odoo renders it for the client: `Ok(None)` while it is not
    /// posted (a client never receives a draft). Odoo 17 renders the PDF for an API user
    /// through the send wizard (`account.move.send` `action_send_and_print`, mail unticked),
    /// which stores it as the move's `invoice_pdf_report_id` attachment; a second call finds
    /// it there.
    pub fn invoice_pdf(&mut self, id: i64) -> Result<Option<InvoicePdf>, OdooError> {
        let fields = json!({"fields": ["name", "state", "invoice_pdf_report_id"]});
        let read = |o: &mut Odoo| -> Result<Map<String, Value>, OdooError> {
            let r = o.call("account.move", "read", Some(&[id]), fields.clone())?;
            records(&r)
                .into_iter()
                .next()
                .ok_or_else(|| OdooError::Refused(format!("account.move {id} is gone from Odoo")))
        };
        let mut m = read(&mut self.odoo)?;
        match s(&m, "state") {
            "posted" => {}
            "cancel" => {
                return Err(OdooError::Refused(format!(
                    "invoice {} (account.move {id}) is cancelled in Odoo: there is nothing to send",
                    s(&m, "name")
                )));
            }
            _ => return Ok(None),
        }
        if m2o_id(m.get("invoice_pdf_report_id")).is_none() {
            let ctx = json!({"active_model": "account.move", "active_ids": [id]});
            let wizard = self.odoo.create(
                "account.move.send",
                json!({"move_ids": [[6, 0, [id]]], "checkbox_send_mail": false}),
                Some(ctx.clone()),
            )?;
            self.odoo.call(
                "account.move.send",
                "action_send_and_print",
                Some(&[wizard]),
                json!({"context": ctx}),
            )?;
            m = read(&mut self.odoo)?;
        }
        let Some(att) = m2o_id(m.get("invoice_pdf_report_id")) else {
            return Err(OdooError::Refused(format!(
                "odoo rendered no PDF for invoice {} (account.move {id})",
                s(&m, "name")
            )));
        };
        let r = self.odoo.call(
            "ir.attachment",
            "read",
            Some(&[att]),
            json!({"fields": ["name", "mimetype", "datas"]}),
        )?;
        let a = records(&r).into_iter().next().unwrap_or_default();
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s(&a, "datas").as_bytes())
            .map_err(|e| {
                OdooError::Refused(format!("the PDF of account.move {id} is not base64: {e}"))
            })?;
        if !bytes.starts_with(b"%PDF") {
            return Err(OdooError::Refused(format!(
                "the attachment of account.move {id} is not a PDF"
            )));
        }
        let name = match super::odoo::m2o_name(m.get("invoice_pdf_report_id")) {
            n if n.is_empty() => format!("{}.pdf", s(&m, "name").replace('/', "_")),
            n => n,
        };
        Ok(Some(InvoicePdf {
            number: s(&m, "name").to_string(),
            file: name,
            bytes,
        }))
    }

    /// `odoo_bill`: a vendor bill with its bill date, left in draft.
    fn create_bill(&mut self, p: &odoo_bill::Params, key: &str) -> Result<String, OdooError> {
        if let Some(found) = self.found_earlier("in_invoice", "vendor bill", key)? {
            return Ok(found);
        }
        let vendor = text(&p.vendor);
        let Some(amount) = number(&p.amount) else {
            return Err(OdooError::Refused(format!(
                "the bill from {vendor} has no amount: fill in `amount` (and `currency`) from the bill, then approve again"
            )));
        };
        let partner = self.partner(vendor, "", true)?;
        let currency = self.currency(text(&p.currency))?;
        let description = match text(&p.description) {
            "" => format!("Bill from {vendor}"),
            d => d.to_string(),
        };
        let mut vals = json!({
            "move_type": "in_invoice",
            "partner_id": partner,
            "currency_id": currency,
            "narration": marker(key),
            "invoice_line_ids": [[0, 0, {"name": description, "quantity": 1,
                "price_unit": amount, "tax_ids": [[6, 0, []]]}]],
        });
        if !text(&p.date).is_empty() {
            vals["invoice_date"] = json!(text(&p.date));
        }
        self.create_move(vals, &p.reference, "vendor bill", "odoo:bill-created")
    }

    /// `payment`: against the open bill or invoice its reference names, else a payment to
    /// the partner; posted.
    fn record_payment(&mut self, p: &payment::Params, key: &str) -> Result<String, OdooError> {
        let mark = marker(key);
        let fields = ["name", "state", "amount", "currency_id"];
        let earlier = self.odoo.search_read(
            "account.payment",
            json!([["ref", "ilike", mark]]),
            &fields,
            json!({"limit": 1}),
        )?;
        if let Some(pay) = earlier.first() {
            let id = m2o_id(pay.get("id")).unwrap_or(0);
            if s(pay, "state") == "draft" {
                self.odoo
                    .call("account.payment", "action_post", Some(&[id]), json!({}))?;
            }
            return Ok(format!(
                "payment {} (account.payment {id}), {} (found: recorded by an earlier attempt)",
                s(pay, "name"),
                money(num(pay.get("amount")), &code_of(pay))
            ));
        }
        let payee = text(&p.payee);
        let partner = self.partner(payee, "", true)?;
        let currency = self.currency(text(&p.currency))?;
        let amount = number(&p.amount).unwrap_or(0.0);
        let reference = text(&p.reference);
        let memo = if reference.is_empty() {
            mark.clone()
        } else {
            format!("{reference} {mark}")
        };
        let open = if reference.is_empty() {
            None
        } else {
            self.open_move(partner, reference)?
        };
        let (pay_id, against) = match open {
            Some(m) => {
                let move_id = m2o_id(m.get("id")).unwrap_or(0);
                // Its payment state changes: the next payment to this partner reads again.
                self.open_moves.remove(&partner);
                let ctx = json!({"active_model": "account.move", "active_ids": [move_id]});
                let wizard = self.odoo.create(
                    "account.payment.register",
                    json!({"amount": amount, "currency_id": currency, "communication": memo}),
                    Some(ctx.clone()),
                )?;
                let r = self.odoo.call(
                    "account.payment.register",
                    "action_create_payments",
                    Some(&[wizard]),
                    json!({"context": ctx}),
                )?;
                failpoint("odoo:payment-created");
                let id = r.get("res_id").and_then(Value::as_i64).unwrap_or(0);
                (id, format!(" against {}", s(&m, "name")))
            }
            None => {
                let id = self.odoo.create(
                    "account.payment",
                    json!({"payment_type": "outbound", "partner_type": "supplier",
                        "partner_id": partner, "amount": amount, "currency_id": currency,
                        "ref": memo}),
                    None,
                )?;
                failpoint("odoo:payment-created");
                self.odoo
                    .call("account.payment", "action_post", Some(&[id]), json!({}))?;
                (id, String::new())
            }
        };
        // Odoo numbers a payment when it posts it; its id and its reference (with the key)
        // find it, so the number is not read back (a call less per payment).
        Ok(format!(
            "payment (account.payment {pay_id}, reference `{memo}`), {}{against}",
            money(amount, &text(&p.currency).to_uppercase())
        ))
    }

    /// The open bill or invoice of `partner` whose reference or number is `reference`
    /// (exactly, as Odoo's `=`), in Odoo's order; from the pass's list of that partner's open
    /// moves.
    fn open_move(
        &mut self,
        partner: i64,
        reference: &str,
    ) -> Result<Option<Map<String, Value>>, OdooError> {
        let open = [
            json!(["partner_id", "=", partner]),
            json!(["state", "=", "posted"]),
            json!(["move_type", "in", ["in_invoice", "out_invoice"]]),
            json!(["payment_state", "in", ["not_paid", "partial"]]),
        ];
        if !self.open_moves.contains_key(&partner) {
            let all = self.odoo.search_read(
                "account.move",
                json!(open),
                &["name", "ref"],
                json!({"limit": OPEN_MOVES_HELD + 1}),
            )?;
            let held = (all.len() <= OPEN_MOVES_HELD).then_some(all);
            self.open_moves.insert(partner, held);
        }
        let named = |m: &Map<String, Value>| {
            [m.get("ref"), m.get("name")]
                .iter()
                .any(|v| v.and_then(Value::as_str) == Some(reference))
        };
        if let Some(Some(held)) = self.open_moves.get(&partner) {
            return Ok(held.iter().find(|m| named(m)).cloned());
        }
        let mut domain = open.to_vec();
        domain.extend([
            json!("|"),
            json!(["ref", "=", reference]),
            json!(["name", "=", reference]),
        ]);
        let r = self.odoo.search_read(
            "account.move",
            Value::Array(domain),
            &["name", "ref"],
            json!({"limit": 1}),
        )?;
        Ok(r.into_iter().next())
    }
}
