//! The PDF of an invoice an item's own `odoo_invoice` or `odoo_post_invoice` made: which
//! invoice that is (never a path), and the PDF Odoo renders for it, to attach to a mail.
//! The mail's action is read through its typed parameters ([`send_email::Params`]), its
//! attachments through [`items`], as the policy and the mailer read them.

use super::*;
use crate::actions::{Kind, items, send_email};

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
/// names no such reference; an action its kind does not read fails (nothing is sent).
pub fn attach_invoice(
    settings: &Settings,
    secrets: &Secrets,
    vault_root: &Path,
    item: &Item,
    action: &Map<String, Value>,
) -> Attach {
    let mail = match send_email::SendEmail::parse(action) {
        Ok(p) => p,
        Err(e) => return Attach::Fail(format!("{e:#}: nothing was sent")),
    };
    let names = items(&mail.attachments);
    if !names.contains(&INVOICE_REF) {
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
        .map(|&n| {
            if n == INVOICE_REF {
                json!(file)
            } else {
                json!(n)
            }
        })
        .collect();
    out.insert("attachments".into(), Value::Array(list));
    // The number the client sees, where the text names the invoice by reference.
    for (k, t) in [("subject", &mail.subject), ("body", &mail.body)] {
        if let Some(t) = t {
            out.insert(k.into(), json!(t.replace("{invoice_number}", &pdf.number)));
        }
    }
    Attach::Ready(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attach(v: Value) -> Attach {
        let item = Item::new("i1", "email", "email", "gmail:1", "2026-01-01T00:00:00Z");
        let settings = Settings::parse("timezone: UTC\n", Path::new("aie.yaml")).unwrap();
        let secrets = Secrets::load(&Default::default(), None, None).unwrap();
        let root = Path::new("/nonexistent");
        attach_invoice(&settings, &secrets, root, &item, v.as_object().unwrap())
    }

    /// Regression: one text `a.pdf, odoo:invoice` was read as one file name here, but as two
    /// by the mailer and the grounding check: the invoice it names is found now.
    #[test]
    fn attachments_are_read_as_the_mailer_reads_them() {
        let mail = |att: Value| json!({"kind":"send_email","to":"a@b.co","attachments":att});
        for att in [
            json!("a.pdf, odoo:invoice"),
            json!(["a.pdf", " odoo:invoice "]),
        ] {
            let r = attach(mail(att));
            assert!(
                matches!(&r, Attach::Wait(w) if w.contains("not in Odoo yet")),
                "{r:?}"
            );
        }
        let plain = mail(json!("a.pdf, b.pdf"));
        let r = attach(plain.clone());
        assert!(
            matches!(&r, Attach::Ready(a) if *a == *plain.as_object().unwrap()),
            "{r:?}"
        );
        let r = attach(json!({"kind":"send_email","to":"a@b.co","attach":"x"}));
        assert!(
            matches!(&r, Attach::Fail(w) if w.contains("`attach`")),
            "{r:?}"
        );
    }
}
