//! `odoo_bill`: a vendor bill (an expense) recorded in Odoo. Always waits for the owner.

use super::{Action, ActionKind, Kind, Param, Ty, optional, text, text_str};
use crate::config::Policy;
use crate::executor::ExecutorFactory;
use crate::grounding::Grounds;
use crate::policy::{Decision, Origin, ask};

/// The kind.
pub struct OdooBill;

/// The parameters of an `odoo_bill` action.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub vendor: Option<String>,
    pub amount: Option<super::Number>,
    pub currency: Option<String>,
    pub date: Option<String>,
    pub description: Option<String>,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

impl Kind for OdooBill {
    const NAME: &'static str = "odoo_bill";
    const PARAMS: &'static [Param] = &[
        ("vendor", Ty::Str, true),
        ("amount", Ty::Amount, true),
        ("currency", Ty::Str, true),
        ("date", Ty::Str, false),
        ("description", Ty::Str, false),
        ("ref", Ty::Str, false),
    ];
    type Params = Params;
}

impl ActionKind for OdooBill {
    fn executor(&self) -> Option<ExecutorFactory> {
        Some(crate::connectors::odoo_ledger::EXECUTOR)
    }

    fn decide(&self, _policy: &Policy, _origin: &Origin, _action: &Action) -> Decision {
        ask("vendor_bill")
    }

    fn grounded(&self, g: &Grounds, action: &Action) -> bool {
        g.known_payee(text_str(action, "vendor")) && g.amount_ok(action, "amount")
    }

    fn preview(&self, action: &Action) -> String {
        format!(
            "Vendor bill from {}: {} {} dated {} ({}), ref {}",
            text(action, "vendor"),
            text(action, "amount"),
            text(action, "currency"),
            text(action, "date"),
            text(action, "description"),
            text(action, "ref")
        )
    }

    fn account(&self, settings: &crate::config::Settings, _action: &Action) -> Option<String> {
        super::odoo_account(settings)
    }

    fn summary(&self, action: &Action) -> String {
        format!(
            "record a vendor bill from {} of {} {}{}",
            text(action, "vendor"),
            text(action, "amount"),
            text(action, "currency"),
            optional(", ref ", &text(action, "ref"))
        )
    }

    fn target(&self, action: &Action) -> Option<String> {
        super::target_of(action, "vendor")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{act, check_catalogue_entry};
    use serde_json::json;

    #[test]
    fn params_schema_preview_summary_target() {
        let full = json!({"kind":"odoo_bill","vendor":"Paper Co","amount":12.5,"currency":"EUR",
            "date":"2026-11-19","description":"Paper","ref":"B-7"});
        check_catalogue_entry(&OdooBill, full.clone());
        let a = act(full);
        assert_eq!(
            OdooBill.preview(&a),
            "Vendor bill from Paper Co: 12.5 EUR dated 2026-11-19 (Paper), ref B-7"
        );
        assert_eq!(
            OdooBill.summary(&a),
            "record a vendor bill from Paper Co of 12.5 EUR, ref B-7"
        );
        assert_eq!(OdooBill.target(&a).as_deref(), Some("Paper Co"));
    }
}
