//! `odoo_post_invoice`: confirms (posts) a draft invoice in Odoo. Always waits for the owner.

use super::{Action, ActionKind, Kind, Param, Ty, text};
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
}

impl ActionKind for OdooPostInvoice {
    fn executor(&self) -> Option<ExecutorFactory> {
        Some(crate::connectors::odoo_ledger::EXECUTOR)
    }

    fn decide(&self, _policy: &Policy, _origin: &Origin, _action: &Action) -> Decision {
        ask("post_invoice")
    }

    fn preview(&self, action: &Action) -> String {
        format!("Post (confirm) invoice {}", text(action, "invoice"))
    }

    fn account(&self, settings: &crate::config::Settings, _action: &Action) -> Option<String> {
        super::odoo_account(settings)
    }

    fn summary(&self, action: &Action) -> String {
        format!("post invoice {}", text(action, "invoice"))
    }

    fn target(&self, action: &Action) -> Option<String> {
        super::target_of(action, "invoice")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{act, check_catalogue_entry};
    use serde_json::json;

    #[test]
    fn params_schema_preview_summary_target() {
        let full = json!({"kind":"odoo_post_invoice","invoice":"INV/2026/0007"});
        check_catalogue_entry(&OdooPostInvoice, full.clone());
        let a = act(full);
        assert_eq!(
            OdooPostInvoice.preview(&a),
            "Post (confirm) invoice INV/2026/0007"
        );
        assert_eq!(OdooPostInvoice.summary(&a), "post invoice INV/2026/0007");
        assert_eq!(OdooPostInvoice.target(&a).as_deref(), Some("INV/2026/0007"));
    }
}
