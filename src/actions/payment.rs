//! `payment`: a payment recorded in Odoo (never a bank transfer). Runs unasked only when it
//! is recurring, to a known payee, below `policy.payment_auto_below`.

use super::{Action, ActionKind, Kind, Param, Ty, flag, optional, text};
use crate::config::Policy;
use crate::executor::ExecutorFactory;
use crate::grounding::Grounds;
use crate::policy::{Decision, Origin, allow, ask};
use serde_json::Value;

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
}

impl ActionKind for Payment {
    fn executor(&self) -> Option<ExecutorFactory> {
        Some(crate::connectors::odoo_ledger::EXECUTOR)
    }

    fn decide(&self, policy: &Policy, _origin: &Origin, action: &Action) -> Decision {
        let Some(amount) = action.get("amount").and_then(Value::as_f64) else {
            return ask("invalid_amount");
        };
        if !(amount.is_finite() && amount > 0.0) {
            return ask("invalid_amount");
        }
        let payee = text(action, "payee").trim().to_lowercase();
        let known = !payee.is_empty()
            && policy
                .known_payees
                .iter()
                .any(|p| p.trim().to_lowercase() == payee);
        if !known {
            return ask("new_payee");
        }
        if amount >= policy.payment_auto_below {
            return ask("payment_over_limit");
        }
        if !flag(action, "recurring") {
            return ask("payment_not_recurring");
        }
        allow("recurring_known_payee_small")
    }

    fn grounded(&self, g: &Grounds, action: &Action) -> bool {
        g.known_payee(super::text_str(action, "payee")) && g.amount_ok(action, "amount")
    }

    fn preview(&self, action: &Action) -> String {
        format!(
            "Record a payment of {} {} to {} (reference {}{})",
            text(action, "amount"),
            text(action, "currency"),
            text(action, "payee"),
            text(action, "reference"),
            if flag(action, "recurring") {
                ", recurring"
            } else {
                ""
            }
        )
    }

    fn account(&self, settings: &crate::config::Settings, _action: &Action) -> Option<String> {
        super::odoo_account(settings)
    }

    fn summary(&self, action: &Action) -> String {
        format!(
            "record a payment of {} {} to {}{}{}",
            text(action, "amount"),
            text(action, "currency"),
            text(action, "payee"),
            optional(", reference ", &text(action, "reference")),
            if flag(action, "recurring") {
                ", recurring"
            } else {
                ""
            }
        )
    }

    fn target(&self, action: &Action) -> Option<String> {
        super::target_of(action, "payee")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::Catalogued;
    use crate::actions::testing::{act, check_catalogue_entry};
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
        let a = act(full);
        assert_eq!(
            Payment.preview(&a),
            "Record a payment of 49.0 USD to Hosting Co (reference H-1, recurring)"
        );
        assert_eq!(
            Payment.summary(&a),
            "record a payment of 49.0 USD to Hosting Co, reference H-1, recurring"
        );
        assert_eq!(Payment.target(&a).as_deref(), Some("Hosting Co"));
    }
}
