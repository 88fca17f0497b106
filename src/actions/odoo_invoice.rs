//! `odoo_invoice`: a draft customer invoice in Odoo. A draft sends nothing, so the policy
//! lets it run; posting it is `odoo_post_invoice`'s, which waits for the owner.

use super::{Action, ActionKind, Kind, Param, Ty, optional, text, text_str};
use crate::config::Policy;
use crate::executor::ExecutorFactory;
use crate::grounding::Grounds;
use crate::policy::{Decision, Origin, allow};
use serde_json::Value;

/// The kind.
pub struct OdooInvoice;

/// The parameters of an `odoo_invoice` action.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub partner: Option<String>,
    pub partner_email: Option<String>,
    /// Whether the customer is a company (the mail names one) or the person who wrote.
    pub partner_is_company: Option<bool>,
    pub lines: Option<Vec<Line>>,
    pub currency: Option<String>,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

/// One invoice line.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub description: Option<String>,
    pub quantity: Option<super::Number>,
    pub price_unit: Option<super::Number>,
}

impl Kind for OdooInvoice {
    const NAME: &'static str = "odoo_invoice";
    const PARAMS: &'static [Param] = &[
        ("partner", Ty::Str, true),
        ("partner_email", Ty::Str, false),
        ("partner_is_company", Ty::Bool, false),
        ("lines", Ty::Lines, true),
        ("currency", Ty::Str, true),
        ("ref", Ty::Str, false),
    ];
    type Params = Params;
}

/// The lines of an invoice action, each as an object (anything else reads as empty).
fn lines(action: &Action) -> Vec<serde_json::Map<String, Value>> {
    match action.get("lines") {
        Some(Value::Array(l)) => l
            .iter()
            .map(|x| x.as_object().cloned().unwrap_or_default())
            .collect(),
        _ => Vec::new(),
    }
}

impl ActionKind for OdooInvoice {
    fn executor(&self) -> Option<ExecutorFactory> {
        Some(crate::connectors::odoo_ledger::EXECUTOR)
    }

    fn decide(&self, _policy: &Policy, _origin: &Origin, _action: &Action) -> Decision {
        allow("draft_invoice")
    }

    /// The partner's address and every line's unit price.
    fn grounded(&self, g: &Grounds, action: &Action) -> bool {
        let email = text_str(action, "partner_email");
        let email_ok = email.trim().is_empty() || g.known_address(email);
        let lines_ok = match action.get("lines") {
            Some(Value::Array(lines)) => lines.iter().all(|l| {
                l.get("price_unit")
                    .and_then(Value::as_f64)
                    .is_none_or(|n| g.has_number(n))
            }),
            _ => true,
        };
        email_ok && lines_ok
    }

    fn preview(&self, action: &Action) -> String {
        let mut out = format!(
            "Draft customer invoice for {} <{}>, currency {}, ref {}\n",
            text(action, "partner"),
            text(action, "partner_email"),
            text(action, "currency"),
            text(action, "ref")
        );
        for l in lines(action) {
            out.push_str(&format!(
                "- {} x {} @ {}\n",
                text(&l, "quantity"),
                text(&l, "description"),
                text(&l, "price_unit")
            ));
        }
        out
    }

    fn account(&self, settings: &crate::config::Settings, _action: &Action) -> Option<String> {
        super::odoo_account(settings)
    }

    fn summary(&self, action: &Action) -> String {
        let currency = text(action, "currency");
        let lines: Vec<String> = lines(action)
            .iter()
            .map(|l| {
                format!(
                    "{} x {} at {}",
                    text(l, "quantity"),
                    text(l, "description"),
                    match l.get("price_unit").and_then(Value::as_f64) {
                        Some(p) => crate::accounting::money(p, &currency),
                        None => text(l, "price_unit").into_owned(),
                    }
                )
            })
            .collect();
        let email = text(action, "partner_email");
        let who = match action.get("partner_is_company").and_then(Value::as_bool) {
            Some(true) => " (the company)",
            Some(false) => " (the person)",
            None => "",
        };
        format!(
            "create a draft invoice for {}{who}{} in {}: {}{}",
            text(action, "partner"),
            optional(" <", &email) + if email.is_empty() { "" } else { ">" },
            text(action, "currency"),
            if lines.is_empty() {
                "no lines".to_string()
            } else {
                lines.join(", ")
            },
            optional(", ref ", &text(action, "ref"))
        )
    }

    fn target(&self, action: &Action) -> Option<String> {
        super::target_of(action, "partner")
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
        let full = json!({"kind":"odoo_invoice","partner":"ACME","partner_email":"a@acme.com","partner_is_company":true,
            "lines":[{"description":"Consulting","quantity":10,"price_unit":150.0}],
            "currency":"USD","ref":"OCT"});
        check_catalogue_entry(&OdooInvoice, full.clone());
        let bad_line = json!({"kind":"odoo_invoice","lines":[{"description":"x","discount":5}]});
        let err = format!("{:#}", OdooInvoice.check(&act(bad_line)).unwrap_err());
        assert!(err.contains("`discount`"), "{err}");
        let a = act(full);
        assert_eq!(
            OdooInvoice.preview(&a),
            "Draft customer invoice for ACME <a@acme.com>, currency USD, ref OCT\n- 10 x Consulting @ 150.0\n"
        );
        assert_eq!(
            OdooInvoice.summary(&a),
            "create a draft invoice for ACME (the company) <a@acme.com> in USD: 10 x Consulting at 150.00 USD, ref OCT"
        );
        assert_eq!(OdooInvoice.target(&a).as_deref(), Some("ACME"));
    }
}
