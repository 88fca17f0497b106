//! The money branches: posting an existing invoice, a supplier's bill, a client's request
//! for an invoice, a payment.

use super::amounts::{client_reference, fmt_amount, invoice_to_post, line_description};
use super::parties::{customer, payee_name};
use super::phrases::{Found, Group};
use super::replies::{email_action, reply_subject, signature};
use super::{Read, obj};
use crate::connectors::odoo_ledger::INVOICE_REF;
use crate::planner::{Plan, Proposal};
use crate::policy::bare_address;
use crate::vault::Item;
use serde_json::json;

/// The owner asks to post or send an existing invoice.
pub(super) fn post_invoice(r: &Read, plan: &mut Plan) -> bool {
    let Read { text, found, .. } = r;
    if let Some(number) = invoice_to_post(text, found) {
        plan.objective = format!("Post invoice {number} in Odoo");
        plan.steps = vec![
            format!("Post (confirm) invoice {number} in Odoo once you approve"),
            "File the item in Done/".into(),
        ];
        plan.proposals.push(Proposal {
            action: obj(json!({"kind": "odoo_post_invoice", "invoice": number})),
            why: format!("The item asks to post or send the existing invoice {number}."),
        });
        return true;
    }
    false
}

/// A supplier's bill: a draft vendor bill in Odoo.
pub(super) fn bill(r: &Read, plan: &mut Plan) -> bool {
    let Read {
        item,
        text,
        found,
        title,
        ..
    } = r;
    let amount = r.amount.clone();
    if let Some(pdf) = vendor_bill(item, found) {
        let (vendor, _, whence) = customer(item, text);
        let mut bill = obj(json!({"kind": "odoo_bill", "vendor": vendor}));
        let mut known = vec![format!("vendor {vendor} ({whence})")];
        match amount {
            Some((amt, cur)) => {
                bill.insert("amount".into(), json!(amt));
                bill.insert("currency".into(), json!(cur));
                known.push(crate::accounting::money(amt, &cur));
            }
            None => known.push(
                "no amount could be read: fill in `amount` (and `currency`) before you approve"
                    .into(),
            ),
        }
        if let Some(r) = client_reference(text, found) {
            bill.insert("ref".into(), json!(r));
        }
        let description = match &pdf {
            Some(f) => format!("Bill from {vendor} ({f})"),
            None => format!("Bill from {vendor}: {title}"),
        };
        bill.insert("description".into(), json!(description));
        plan.objective = format!("Record the bill from {vendor} in Odoo");
        plan.steps = vec![
            "Check the bill (amount, date, reference) against the original".into(),
            format!("Record it in Odoo as a draft vendor bill from {vendor}"),
        ];
        plan.proposals.push(Proposal {
            action: bill,
            why: format!(
                "A supplier's bill{}: {}.",
                pdf.as_deref()
                    .map(|f| format!(" arrived as {f}, which aie does not read"))
                    .unwrap_or_default(),
                known.join("; ")
            ),
        });
        return true;
    }
    false
}

/// A client asks for an invoice with an amount: a draft invoice, posted, then sent.
pub(super) fn invoice_request(r: &Read, plan: &mut Plan) -> bool {
    let Read {
        input,
        item,
        text,
        found,
        sender,
        title,
        ..
    } = r;
    let amount = r.amount.clone();
    if found.any(Group::InvoiceRequest)
        && let Some((amt, cur)) = amount
    {
        let (partner, is_company, whence) = customer(item, text);
        let money = crate::accounting::money(amt, &cur);
        let reference = client_reference(text, found);
        let description = line_description(text).unwrap_or_else(|| format!("Services: {title}"));
        let contact = item.str("from").to_string();
        plan.objective = format!("Invoice {partner} for {money}");
        plan.steps = vec![
            format!(
                "Create a draft invoice in Odoo for {partner} ({}, {whence}): {money}{}",
                if is_company { "the company" } else { "the person" },
                reference
                    .as_deref()
                    .map(|r| format!(", reference {r}"))
                    .unwrap_or_default()
            ),
            "Post the invoice in Odoo once you approve".into(),
            "Reply with the posted invoice attached as Odoo's PDF (it waits until the invoice is posted)".into(),
        ];
        let mut invoice = obj(json!({
            "kind": "odoo_invoice",
            "partner": partner,
            "partner_email": sender,
            "partner_is_company": is_company,
            "lines": [{"description": description, "quantity": 1, "price_unit": amt}],
            "currency": cur,
        }));
        if let Some(r) = &reference {
            invoice.insert("ref".into(), json!(r));
        }
        plan.proposals.push(Proposal {
            action: invoice,
            why: format!(
                "The message asks for an invoice of {money}. Customer: {partner}, {} ({whence}); contact {contact}.",
                if is_company { "the company" } else { "the person" }
            ),
        });
        plan.proposals.push(Proposal {
            action: obj(json!({"kind": "odoo_post_invoice", "invoice": INVOICE_REF})),
            why: "A client never receives a draft: the invoice is posted before it is sent.".into(),
        });
        let mut reply = email_action(
            sender,
            &reply_subject(title, "Invoice"),
            &format!(
                "Hello,\n\nAs requested, please find attached our invoice {{invoice_number}} for {money} ({description}).{}\n\n{}",
                reference
                    .as_deref()
                    .map(|r| format!("\n\nYour reference: {r}"))
                    .unwrap_or_default(),
                signature(input)
            ),
            item,
        );
        let cc: Vec<String> = crate::actions::list_in(item.front.get("cc"))
            .iter()
            .flat_map(|c| c.split(','))
            .map(bare_address)
            .filter(|a| a.contains('@') && *a != *sender)
            .collect();
        if !cc.is_empty() {
            reply.insert("cc".into(), json!(cc));
        }
        reply.insert("attachments".into(), json!([INVOICE_REF]));
        plan.proposals.push(Proposal {
            action: reply,
            why: "The client asked to receive the invoice: it goes with Odoo's PDF of the posted invoice.".into(),
        });
        return true;
    }
    false
}

/// An item that asks to pay a payee an amount.
pub(super) fn payment(r: &Read, plan: &mut Plan) -> bool {
    let Read {
        item, text, found, ..
    } = r;
    let amount = r.amount.clone();
    if found.any(Group::Pay)
        && let Some((amt, cur)) = amount
        && let Some(payee) = payee_name(text, r.lower())
    {
        let recurring = found.any(Group::Recurring);
        plan.objective = format!("Pay {payee} {} {cur}", fmt_amount(amt));
        plan.steps = vec![
            format!("Check that {payee} is a known payee and the amount is expected"),
            format!(
                "Record the payment of {} {cur} to {payee} in Odoo",
                fmt_amount(amt)
            ),
            "File the item in Done/".into(),
        ];
        plan.proposals.push(Proposal {
            action: obj(json!({
                "kind": "payment",
                "payee": payee,
                "amount": amt,
                "currency": cur,
                "reference": item.id(),
                "recurring": recurring,
            })),
            why: format!("The item asks to pay {payee} {} {cur}.", fmt_amount(amt)),
        });
        return true;
    }
    false
}

/// Whether the item is a supplier's bill: `Some(Some(file))` when it comes as a PDF aie
/// does not read (dropped, or attached to a mail), `Some(None)` when the text says so.
pub(super) fn vendor_bill(item: &Item, found: &Found) -> Option<Option<String>> {
    if found.any(Group::InvoiceRequest) {
        return None;
    }
    // The first PDF: the item's original, else the first attachment.
    let pdf = std::iter::once(item.str("original").to_string())
        .chain(crate::lines::lines(&item.body).filter_map(|l| {
            let l = l.trim_start();
            l.strip_prefix("- [[Attachments/")
                .map(|r| r.trim_end_matches("]]").to_string())
        }))
        .find(|f| f.to_lowercase().ends_with(".pdf"))
        .map(|f| f.rsplit('/').next().unwrap_or(&f).to_string());
    if let Some(f) = pdf
        && (found.any(Group::Billish)
            || f.to_lowercase().contains("invoice")
            || f.to_lowercase().contains("bill"))
    {
        return Some(Some(f));
    }
    found.any(Group::SaysBill).then_some(None)
}
