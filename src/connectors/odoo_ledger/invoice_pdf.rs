//! The PDF of an invoice an item's own `odoo_invoice` or `odoo_post_invoice` made: which
//! invoice that is (never a path), and the PDF Odoo renders for it, to attach to a mail.

use super::*;

/// A posted invoice's PDF as Odoo rendered it.
#[derive(Debug, Clone)]
pub struct InvoicePdf {
    /// The invoice's number (`INV/2026/00001`).
    pub number: String,
    /// The attachment's file name in Odoo (`INV_2026_00001.pdf`).
    pub file: String,
    pub bytes: Vec<u8>,
}

/// How an action of an item names the invoice the same item's `odoo_invoice` (or
/// `odoo_post_invoice`) made: resolved at execution, never a path.
pub const INVOICE_REF: &str = "odoo:invoice";

/// The `account.move` id the item's own `odoo_invoice`/`odoo_post_invoice` recorded in its
/// `outcomes:` (`action 1: draft invoice (account.move 7), ...`); the latest wins.
pub fn invoice_of_item(item: &Item) -> Option<i64> {
    let actions = item.actions();
    let outcomes = match item.front.get("outcomes") {
        Some(Value::Array(l)) => l.clone(),
        _ => return None,
    };
    let mut found = None;
    for o in outcomes.iter().filter_map(Value::as_str) {
        let Some(rest) = o.strip_prefix("action ") else {
            continue;
        };
        let Some((n, text)) = rest.split_once(": ") else {
            continue;
        };
        let Some(a) = n
            .parse::<usize>()
            .ok()
            .and_then(|n| actions.get(n.wrapping_sub(1)))
        else {
            continue;
        };
        if !matches!(
            crate::actions::kind_of(a),
            "odoo_invoice" | "odoo_post_invoice"
        ) {
            continue;
        }
        if let Some(i) = text.find("(account.move ") {
            let digits: String = text[i + 14..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(id) = digits.parse() {
                found = Some(id);
            }
        }
    }
    found
}

/// What a `send_email` that attaches [`INVOICE_REF`] can do now.
#[derive(Debug)]
pub enum Attach {
    /// The action to send: the reference replaced by the PDF's file, saved in
    /// `Attachments/<id>/`.
    Ready(Map<String, Value>),
    /// It waits (in `Approved/`): why, for the owner.
    Wait(String),
    /// It cannot be sent: why, for the owner's review.
    Fail(String),
}

/// Resolves [`INVOICE_REF`] in a `send_email` action's attachments: the item's invoice must
/// be posted in Odoo; its PDF is fetched and saved as a regular file in
/// `Attachments/<id>/`, where the mailer takes attachments from. The action as it is when it
/// names no such reference.
pub fn attach_invoice(
    settings: &Settings,
    secrets: &Secrets,
    vault_root: &Path,
    item: &Item,
    action: &Map<String, Value>,
) -> Attach {
    let names: Vec<String> = match action.get("attachments") {
        Some(Value::Array(l)) => l
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    if !names.iter().any(|n| n.trim() == INVOICE_REF) {
        return Attach::Ready(action.clone());
    }
    let Some(move_id) = invoice_of_item(item) else {
        return Attach::Wait(
            "the reply attaches the invoice, which is not in Odoo yet: it goes out once this item's `odoo_invoice` has run".into(),
        );
    };
    let odoo = match Odoo::from_settings(settings, secrets) {
        Ok(Some(o)) => o,
        Ok(None) => {
            return Attach::Fail(
                "the reply attaches an Odoo invoice but no `odoo:` section is set up in aie.yaml"
                    .into(),
            );
        }
        Err(e) => return Attach::Fail(format!("{e:#}")),
    };
    let mut ledger = OdooLedger::new(odoo, None);
    let pdf = match ledger.invoice_pdf(move_id) {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Attach::Wait(format!(
                "the reply waits until the invoice (account.move {move_id}) is posted in Odoo: a client never receives a draft; approve its posting (`odoo_post_invoice`)"
            ));
        }
        Err(e @ (OdooError::Refused(_) | OdooError::Server { .. } | OdooError::Login(_))) => {
            return Attach::Fail(format!("odoo: {e}"));
        }
        Err(e) => return Attach::Wait(format!("odoo cannot give the invoice's PDF now: {e}")),
    };
    let file = crate::connectors::smtp::safe_component(&pdf.file);
    let saved = (|| -> anyhow::Result<()> {
        crate::vault::item::check_id(item.id())?;
        let dir = vault_root.join("Attachments").join(item.id());
        let path = dir.join(&file);
        crate::fsutil::check_no_symlink(vault_root, &path)?;
        std::fs::create_dir_all(&dir)?;
        crate::fsutil::check_no_symlink(vault_root, &path)?;
        crate::fsutil::write_atomic(&path, &pdf.bytes)
    })();
    if let Err(e) = saved {
        return Attach::Fail(format!(
            "the PDF of invoice {} cannot be saved in `Attachments/{}/`: {e:#}",
            pdf.number,
            item.id()
        ));
    }
    let mut out = action.clone();
    let list: Vec<Value> = names
        .iter()
        .map(|n| {
            if n.trim() == INVOICE_REF {
                json!(file)
            } else {
                json!(n)
            }
        })
        .collect();
    out.insert("attachments".into(), Value::Array(list));
    // The number the client sees, where the text names the invoice by reference.
    for k in ["subject", "body"] {
        if let Some(t) = out.get(k).and_then(Value::as_str) {
            let t = t.replace("{invoice_number}", &pdf.number);
            out.insert(k.into(), json!(t));
        }
    }
    Attach::Ready(out)
}
