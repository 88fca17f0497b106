//! `odoo_post_invoice`: confirms (posts) a draft invoice in Odoo. Always waits for the owner.

use super::{Action, ActionKind, Param, Ty, text};
use crate::config::Policy;
use crate::policy::{Decision, Origin, ask};
use anyhow::Result;

/// The kind.
pub struct OdooPostInvoice;

/// The parameters of an `odoo_post_invoice` action.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The invoice's number or ref.
    pub invoice: Option<String>,
}

const PARAMS: &[Param] = &[("invoice", Ty::Str, true)];

impl ActionKind for OdooPostInvoice {
    fn name(&self) -> &'static str {
        "odoo_post_invoice"
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn check(&self, action: &Action) -> Result<()> {
        super::parse_params::<Params>(self.name(), action).map(drop)
    }

    fn decide(&self, _policy: &Policy, _origin: &Origin, _action: &Action) -> Decision {
        ask("post_invoice")
    }

    fn preview(&self, action: &Action) -> String {
        format!("Post (confirm) invoice {}", text(action, "invoice"))
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
