//! `payment`: a payment recorded in Odoo (never a bank transfer). Runs unasked only when it
//! is recurring, to a known payee, below `policy.payment_auto_below`.

use super::{Kind, Number, Param, Ty, number, optional, text};
use crate::config::Policy;
use crate::executor::ExecutorFactory;
use crate::grounding::Grounds;
use crate::policy::{Decision, Origin, allow, ask};

/// The kind.
pub struct Payment;

/// The parameters of a `payment` action.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub payee: Option<String>,
    pub amount: Option<super::Number>,
    pub currency: Option<String>,
    pub reference: Option<String>,
    pub recurring: Option<bool>,
}

impl Kind for Payment {
    const NAME: &'static str = "payment";
    const PARAMS: &'static [Param] = &[
        ("payee", Ty::Str, true),
        ("amount", Ty::Amount, true),
        ("currency", Ty::Str, true),
        ("reference", Ty::Str, false),
        ("recurring", Ty::Bool, false),
    ];
    type Params = Params;

    fn executor() -> Option<ExecutorFactory> {
        Some(crate::connectors::odoo_ledger::EXECUTOR)
    }

    fn decide(p: &Params, policy: &Policy, _origin: &Origin) -> Decision {
        let Some(amount) = p.amount.as_ref().and_then(Number::as_f64) else {
            return ask("invalid_amount");
        };
        if !(amount.is_finite() && amount > 0.0) {
            return ask("invalid_amount");
        }
        let payee = text(&p.payee).trim().to_lowercase();
        let known = !payee.is_empty()
            && policy
                .known_payees
                .iter()
                .any(|k| k.trim().to_lowercase() == payee);
        if !known {
            return ask("new_payee");
        }
        if amount >= policy.payment_auto_below {
            return ask("payment_over_limit");
        }
        if p.recurring != Some(true) {
            return ask("payment_not_recurring");
        }
        allow("recurring_known_payee_small")
    }

    fn grounded(p: &Params, g: &Grounds) -> bool {
        g.known_payee(text(&p.payee)) && g.amount_ok(p.amount.as_ref())
    }

    fn preview(p: &Params) -> String {
        format!(
            "Record a payment of {} {} to {} (reference {}{})",
            number(&p.amount),
            text(&p.currency),
            text(&p.payee),
            text(&p.reference),
            if p.recurring == Some(true) {
                ", recurring"
            } else {
                ""
            }
        )
    }

    fn account(_p: &Params, settings: &crate::config::Settings) -> Option<String> {
        super::odoo_account(settings)
    }

    fn summary(p: &Params) -> String {
        format!(
            "record a payment of {} {} to {}{}{}",
            number(&p.amount),
            text(&p.currency),
            text(&p.payee),
            optional(", reference ", text(&p.reference)),
            if p.recurring == Some(true) {
                ", recurring"
            } else {
                ""
            }
        )
    }

    fn target(p: &Params) -> Option<String> {
        p.payee.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::ActionKind;
    use crate::actions::testing::{act, check_catalogue_entry, parsed};
    use serde_json::json;

    #[test]
    fn params_schema_preview_summary_target() {
        let full = json!({"kind":"payment","payee":"Hosting Co","amount":49.0,"currency":"USD",
            "reference":"H-1","recurring":true});
        check_catalogue_entry(&Payment, full.clone());
        assert!(
            Payment
                .check(&act(json!({"kind":"payment","amount":"5"})))
                .is_err()
        );
        let a = parsed::<Payment>(full);
        assert_eq!(
            Payment::preview(&a),
            "Record a payment of 49.0 USD to Hosting Co (reference H-1, recurring)"
        );
        assert_eq!(
            Payment::summary(&a),
            "record a payment of 49.0 USD to Hosting Co, reference H-1, recurring"
        );
        assert_eq!(Payment::target(&a).as_deref(), Some("Hosting Co"));
    }
}
