//! `odoo_invoice`: a draft customer invoice in Odoo. A draft sends nothing, so the policy
//! lets it run; posting it is `odoo_post_invoice`'s, which waits for the owner.

use super::{Kind, Number, Param, Ty, number, optional, text};
use crate::config::Policy;
use crate::executor::ExecutorFactory;
use crate::grounding::Grounds;
use crate::policy::{Decision, Origin, allow};

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

    fn executor() -> Option<ExecutorFactory> {
        Some(crate::connectors::odoo_ledger::EXECUTOR)
    }

    fn decide(_p: &Params, _policy: &Policy, _origin: &Origin) -> Decision {
        allow("draft_invoice")
    }

    /// The partner's address and every line's unit price.
    fn grounded(p: &Params, g: &Grounds) -> bool {
        let email = text(&p.partner_email).trim();
        (email.is_empty() || g.known_address(email))
            && p.lines().iter().all(|l| {
                l.price_unit
                    .as_ref()
                    .and_then(Number::as_f64)
                    .is_none_or(|n| g.has_number(n))
            })
    }

    fn preview(p: &Params) -> String {
        let mut out = format!(
            "Draft customer invoice for {} <{}>, currency {}, ref {}\n",
            text(&p.partner),
            text(&p.partner_email),
            text(&p.currency),
            text(&p.reference)
        );
        for l in p.lines() {
            out.push_str(&format!(
                "- {} x {} @ {}\n",
                number(&l.quantity),
                text(&l.description),
                number(&l.price_unit)
            ));
        }
        out
    }

    fn account(_p: &Params, settings: &crate::config::Settings) -> Option<String> {
        super::odoo_account(settings)
    }

    fn summary(p: &Params) -> String {
        let currency = text(&p.currency);
        let lines: Vec<String> = p
            .lines()
            .iter()
            .map(|l| {
                format!(
                    "{} x {} at {}",
                    number(&l.quantity),
                    text(&l.description),
                    match l.price_unit.as_ref().and_then(Number::as_f64) {
                        Some(price) => crate::accounting::money(price, currency),
                        None => number(&l.price_unit),
                    }
                )
            })
            .collect();
        let email = text(&p.partner_email);
        let who = match p.partner_is_company {
            Some(true) => " (the company)",
            Some(false) => " (the person)",
            None => "",
        };
        format!(
            "create a draft invoice for {}{who}{} in {currency}: {}{}",
            text(&p.partner),
            if email.is_empty() {
                String::new()
            } else {
                format!(" <{email}>")
            },
            if lines.is_empty() {
                "no lines".to_string()
            } else {
                lines.join(", ")
            },
            optional(", ref ", text(&p.reference))
        )
    }

    fn target(p: &Params) -> Option<String> {
        p.partner.clone()
    }
}

impl Params {
    /// Its lines (none when unset).
    pub fn lines(&self) -> &[Line] {
        self.lines.as_deref().unwrap_or_default()
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
        let full = json!({"kind":"odoo_invoice","partner":"ACME","partner_email":"a@acme.com","partner_is_company":true,
            "lines":[{"description":"Consulting","quantity":10,"price_unit":150.0}],
            "currency":"USD","ref":"OCT"});
        check_catalogue_entry(&OdooInvoice, full.clone());
        let bad_line = json!({"kind":"odoo_invoice","lines":[{"description":"x","discount":5}]});
        let err = format!("{:#}", OdooInvoice.check(&act(bad_line)).unwrap_err());
        assert!(err.contains("`discount`"), "{err}");
        let a = parsed::<OdooInvoice>(full);
        assert_eq!(
            OdooInvoice::preview(&a),
            "Draft customer invoice for ACME <a@acme.com>, currency USD, ref OCT\n- 10 x Consulting @ 150.0\n"
        );
        assert_eq!(
            OdooInvoice::summary(&a),
            "create a draft invoice for ACME (the company) <a@acme.com> in USD: 10 x Consulting at 150.00 USD, ref OCT"
        );
        assert_eq!(OdooInvoice::target(&a).as_deref(), Some("ACME"));
    }
}
