//! `odoo_bill`: a vendor bill (an expense) recorded in Odoo. Always waits for the owner.

use super::{Kind, Param, Ty, number, optional, text};
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

    fn executor() -> Option<ExecutorFactory> {
        Some(crate::connectors::odoo_ledger::EXECUTOR)
    }

    fn decide(_p: &Params, _policy: &Policy, _origin: &Origin) -> Decision {
        ask("vendor_bill")
    }

    fn grounded(p: &Params, g: &Grounds) -> bool {
        g.known_payee(text(&p.vendor)) && g.amount_ok(p.amount.as_ref())
    }

    fn preview(p: &Params) -> String {
        format!(
            "Vendor bill from {}: {} {} dated {} ({}), ref {}",
            text(&p.vendor),
            number(&p.amount),
            text(&p.currency),
            text(&p.date),
            text(&p.description),
            text(&p.reference)
        )
    }

    fn account(_p: &Params, settings: &crate::config::Settings) -> Option<String> {
        super::odoo_account(settings)
    }

    fn summary(p: &Params) -> String {
        format!(
            "record a vendor bill from {} of {} {}{}",
            text(&p.vendor),
            number(&p.amount),
            text(&p.currency),
            optional(", ref ", text(&p.reference))
        )
    }

    fn target(p: &Params) -> Option<String> {
        p.vendor.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{check_catalogue_entry, parsed};
    use serde_json::json;

    #[test]
    fn params_schema_preview_summary_target() {
        let full = json!({"kind":"odoo_bill","vendor":"Paper Co","amount":12.5,"currency":"EUR",
            "date":"2026-11-19","description":"Paper","ref":"B-7"});
        check_catalogue_entry(&OdooBill, full.clone());
        let a = parsed::<OdooBill>(full);
        assert_eq!(
            OdooBill::preview(&a),
            "Vendor bill from Paper Co: 12.5 EUR dated 2026-11-19 (Paper), ref B-7"
        );
        assert_eq!(
            OdooBill::summary(&a),
            "record a vendor bill from Paper Co of 12.5 EUR, ref B-7"
        );
        assert_eq!(OdooBill::target(&a).as_deref(), Some("Paper Co"));
    }
}
