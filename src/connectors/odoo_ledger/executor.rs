//! The Odoo ledger as the rest of the program reaches it: the typed [`Ledger`], one method
//! per accounting kind, and the type-erased `ActionExecutor` entry that reads an action once
//! into its kind's parameters ([`Kind::parse`], the reading the policy approved) and hands
//! it to that method. Nothing here reads an action's parameters from the raw map.

use super::*;
use crate::actions::odoo_bill::OdooBill;
use crate::actions::odoo_invoice::OdooInvoice;
use crate::actions::odoo_post_invoice::OdooPostInvoice;
use crate::actions::payment::Payment;
use crate::actions::{Action, Kind};
use crate::connectors::capabilities::Ledger;
use crate::executor::ActionOutcome;

/// An accounting step's result as the action's outcome.
fn outcome(r: Result<String, OdooError>) -> ActionOutcome {
    match r {
        Ok(d) => ActionOutcome::Ok(d),
        Err(e) => e.outcome(),
    }
}

impl Ledger for OdooLedger {
    fn invoice(&mut self, invoice: &odoo_invoice::Params, key: &str) -> ActionOutcome {
        outcome(self.create_invoice(invoice, key))
    }

    fn post_invoice(&mut self, post: &odoo_post_invoice::Params, _key: &str) -> ActionOutcome {
        outcome(self.post_named(post))
    }

    fn bill(&mut self, bill: &odoo_bill::Params, key: &str) -> ActionOutcome {
        outcome(self.create_bill(bill, key))
    }

    fn payment(&mut self, payment: &payment::Params, key: &str) -> ActionOutcome {
        outcome(self.record_payment(payment, key))
    }
}

/// The parameters of `action` as kind `K` reads them; an unreadable action (refused before
/// execution, so never expected here) fails with nothing sent.
fn parsed<K: Kind>(action: &Action) -> Result<K::Params, ActionOutcome> {
    K::parse(action).map_err(|e| ActionOutcome::Failed(format!("{e:#}: nothing was sent")))
}

impl OdooLedger {
    /// `odoo_post_invoice` of `item`: [`INVOICE_REF`] ("the invoice this item made") is
    /// posted by the id the item's own `odoo_invoice` recorded; any other invoice by its
    /// number or reference.
    fn post_for_item(
        &mut self,
        item: &Item,
        p: &odoo_post_invoice::Params,
        key: &str,
    ) -> ActionOutcome {
        if text(&p.invoice) != INVOICE_REF {
            return self.post_invoice(p, key);
        }
        let Some(id) = invoice_of_item(item) else {
            return ActionOutcome::Failed(
                "the invoice to post is this item's own, and none was made yet: its `odoo_invoice` must run first".into(),
            );
        };
        outcome(self.read_move(id).and_then(|m| self.post_move(m)))
    }
}

impl ActionExecutor for OdooLedger {
    fn execute(&mut self, item: &Item, action: &Map<String, Value>, key: &str) -> ActionOutcome {
        let done = match crate::actions::kind_of(action) {
            OdooInvoice::NAME => parsed::<OdooInvoice>(action).map(|p| self.invoice(&p, key)),
            OdooPostInvoice::NAME => {
                parsed::<OdooPostInvoice>(action).map(|p| self.post_for_item(item, &p, key))
            }
            OdooBill::NAME => parsed::<OdooBill>(action).map(|mut p| {
                // A bill needs its date to be posted: the day the item came in, unless it
                // says.
                if text(&p.date).is_empty()
                    && let Some(day) = item.str("created").get(..10)
                {
                    p.date = Some(day.to_string());
                }
                self.bill(&p, key)
            }),
            Payment::NAME => parsed::<Payment>(action).map(|p| self.payment(&p, key)),
            other => {
                Err(OdooError::Refused(format!("`{other}` is not an accounting action")).outcome())
            }
        };
        done.unwrap_or_else(|o| o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ledger whose server is never reached: every case below ends before a call.
    fn offline() -> OdooLedger {
        let yaml = "odoo:\n  url: http://127.0.0.1:9\n  db: books\n";
        let settings = Settings::parse(yaml, Path::new("aie.yaml")).unwrap();
        let env = std::collections::BTreeMap::from([
            (
                "AIE_ODOO_USERNAME".to_string(),
                "aie@example.com".to_string(),
            ),
            (
                "AIE_ODOO_API_KEY".to_string(),
                "odoo-key-0123456789".to_string(),
            ),
        ]);
        let secrets = Secrets::load(&env, None, None).unwrap();
        OdooLedger::from_settings(&settings, &secrets, None)
            .unwrap()
            .unwrap()
    }

    fn execute(v: Value) -> ActionOutcome {
        let item = Item::new("o1", "email", "email", "gmail:1", "2026-01-01T00:00:00Z");
        offline().execute(&item, v.as_object().unwrap(), "k1")
    }

    #[test]
    fn each_kind_is_read_typed_and_others_are_refused() {
        let unread = execute(json!({"kind":"payment","payee":"Hosting Co","amount":"49"}));
        let ActionOutcome::Failed(why) = unread else {
            panic!("{unread:?}")
        };
        assert!(
            why.contains("`payment` action") && why.ends_with(": nothing was sent"),
            "{why}"
        );
        assert_eq!(
            execute(json!({"kind":"send_email","to":"a@b.co"})),
            ActionOutcome::Failed("odoo: `send_email` is not an accounting action".into())
        );
        // "This item's own invoice", with none made yet: nothing to post, no call made.
        let own = execute(json!({"kind":"odoo_post_invoice","invoice":" odoo:invoice "}));
        let ActionOutcome::Failed(why) = own else {
            panic!("{own:?}")
        };
        assert!(why.contains("its `odoo_invoice` must run first"), "{why}");
    }
}
