//! `whatsapp_send`: a WhatsApp message sent as the owner. Always waits for the owner.

use super::{Action, ActionKind, Param, Texts, Ty, list_of, optional, text, text_str};
use crate::config::Policy;
use crate::grounding::Grounds;
use crate::policy::{Decision, Origin, ask};
use anyhow::Result;

/// The kind.
pub struct WhatsappSend;

/// The parameters of a `whatsapp_send` action.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub to: Option<Texts>,
    pub text: Option<String>,
    pub template: Option<String>,
}

const PARAMS: &[Param] = &[
    ("to", Ty::Str, true),
    ("text", Ty::Str, true),
    ("template", Ty::Str, false),
];

impl ActionKind for WhatsappSend {
    fn name(&self) -> &'static str {
        "whatsapp_send"
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn check(&self, action: &Action) -> Result<()> {
        super::parse_params::<Params>(self.name(), action).map(drop)
    }

    fn decide(&self, _policy: &Policy, _origin: &Origin, _action: &Action) -> Decision {
        ask("whatsapp")
    }

    /// The number's digits appear in the item (written with any separators).
    fn grounded(&self, g: &Grounds, action: &Action) -> bool {
        let to: String = text_str(action, "to")
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        to.is_empty() || g.has_digits(&to)
    }

    fn preview(&self, action: &Action) -> String {
        format!(
            "WhatsApp to {}{}\n\n{}",
            text(action, "to"),
            match text(action, "template") {
                t if t.is_empty() => String::new(),
                t => format!(" (template {t})"),
            },
            text(action, "text")
        )
    }

    fn summary(&self, action: &Action) -> String {
        format!(
            "send a WhatsApp message to {}{}",
            list_of(action, "to").join(", "),
            optional(" with the template ", &text(action, "template"))
        )
    }

    fn target(&self, action: &Action) -> Option<String> {
        super::target_of(action, "to")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{act, check_catalogue_entry};
    use serde_json::json;

    #[test]
    fn params_schema_preview_summary_target() {
        let full =
            json!({"kind":"whatsapp_send","to":"+15550102030","text":"On my way","template":"eta"});
        check_catalogue_entry(&WhatsappSend, full.clone());
        let a = act(full);
        assert_eq!(
            WhatsappSend.preview(&a),
            "WhatsApp to +15550102030 (template eta)\n\nOn my way"
        );
        assert_eq!(
            WhatsappSend.summary(&a),
            "send a WhatsApp message to +15550102030 with the template eta"
        );
        assert_eq!(WhatsappSend.target(&a).as_deref(), Some("+15550102030"));
    }
}
