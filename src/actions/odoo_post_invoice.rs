//! `odoo_post_invoice`: confirms (posts) a draft invoice in Odoo. Always waits for the owner.

use super::{Kind, Param, Ty, text};
use crate::config::Policy;
use crate::executor::ExecutorFactory;
use crate::policy::{Decision, Origin, ask};

/// The kind.
pub struct OdooPostInvoice;

/// The parameters of an `odoo_post_invoice` action.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The invoice's number or ref.
    pub invoice: Option<String>,
}

impl Kind for OdooPostInvoice {
    const NAME: &'static str = "odoo_post_invoice";
    const PARAMS: &'static [Param] = &[("invoice", Ty::Str, true)];
    type Params = Params;

    fn executor() -> Option<ExecutorFactory> {
        Some(crate::connectors::odoo_ledger::EXECUTOR)
    }

    fn decide(_p: &Params, _policy: &Policy, _origin: &Origin) -> Decision {
        ask("post_invoice")
    }

    fn preview(p: &Params) -> String {
        format!("Post (confirm) invoice {}", text(&p.invoice))
    }

    fn account(_p: &Params, settings: &crate::config::Settings) -> Option<String> {
        super::odoo_account(settings)
    }

    fn summary(p: &Params) -> String {
        format!("post invoice {}", text(&p.invoice))
    }

    fn target(p: &Params) -> Option<String> {
        p.invoice.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{check_catalogue_entry, parsed};
    use serde_json::json;

    #[test]
    fn params_schema_preview_summary_target() {
        let full = json!({"kind":"odoo_post_invoice","invoice":"INV/2026/0007"});
        check_catalogue_entry(&OdooPostInvoice, full.clone());
        let a = parsed::<OdooPostInvoice>(full);
        assert_eq!(
            OdooPostInvoice::preview(&a),
            "Post (confirm) invoice INV/2026/0007"
        );
        assert_eq!(OdooPostInvoice::summary(&a), "post invoice INV/2026/0007");
        assert_eq!(
            OdooPostInvoice::target(&a).as_deref(),
            Some("INV/2026/0007")
        );
    }
}
