//! `whatsapp_send`: a WhatsApp message sent as the owner. Always waits for the owner.
//! `to` is one number (SPEC; the schema the model is given says a text); a list of one number
//! reads too, as the executor sends it, and the grounding check compares every number given.

use super::{Kind, Param, Texts, Ty, items, optional, text};
use crate::config::Policy;
use crate::executor::ExecutorFactory;
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

impl Kind for WhatsappSend {
    const NAME: &'static str = "whatsapp_send";
    const PARAMS: &'static [Param] = &[
        ("to", Ty::Str, true),
        ("text", Ty::Str, true),
        ("template", Ty::Str, false),
    ];
    type Params = Params;

    /// A message goes to one number: more (a list, or one text with commas, as [`items`]
    /// reads it) is refused here, not at execution.
    fn validate(p: &Params) -> Result<()> {
        let n = items(&p.to).len();
        if n > 1 {
            anyhow::bail!("`to` lists {n} numbers: a WhatsApp message goes to exactly one");
        }
        Ok(())
    }

    fn executor() -> Option<ExecutorFactory> {
        Some(ExecutorFactory {
            connector: "whatsapp",
            build: crate::connectors::whatsapp::factory,
        })
    }

    fn decide(_p: &Params, _policy: &Policy, _origin: &Origin) -> Decision {
        ask("whatsapp")
    }

    /// The number's digits appear in the item (written with any separators), whether `to`
    /// is one text or a list.
    fn grounded(p: &Params, g: &Grounds) -> bool {
        items(&p.to).iter().all(|to| {
            let to: String = to.chars().filter(char::is_ascii_digit).collect();
            to.is_empty() || g.has_digits(&to)
        })
    }

    fn preview(p: &Params) -> String {
        format!(
            "WhatsApp to {}{}\n\n{}",
            items(&p.to).join(", "),
            match text(&p.template) {
                "" => String::new(),
                t => format!(" (template {t})"),
            },
            text(&p.text)
        )
    }

    fn account(_p: &Params, settings: &crate::config::Settings) -> Option<String> {
        let id = settings.whatsapp.as_ref()?.phone_number_id.as_deref()?;
        Some(format!("from WhatsApp number id {id}"))
    }

    fn summary(p: &Params) -> String {
        format!(
            "send a WhatsApp message to {}{}",
            items(&p.to).join(", "),
            optional(" with the template ", text(&p.template))
        )
    }

    fn target(p: &Params) -> Option<String> {
        p.to.as_ref().map(|t| t.items().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::ActionKind;
    use crate::actions::testing::{self, act, check_catalogue_entry, parsed};
    use serde_json::json;

    #[test]
    fn params_schema_preview_summary_target() {
        let full =
            json!({"kind":"whatsapp_send","to":"+15550102030","text":"On my way","template":"eta"});
        check_catalogue_entry(&WhatsappSend, full.clone());
        let a = parsed::<WhatsappSend>(full);
        assert_eq!(
            WhatsappSend::preview(&a),
            "WhatsApp to +15550102030 (template eta)\n\nOn my way"
        );
        assert_eq!(
            WhatsappSend::summary(&a),
            "send a WhatsApp message to +15550102030 with the template eta"
        );
        assert_eq!(WhatsappSend::target(&a).as_deref(), Some("+15550102030"));
        // A list of one number reads (the executor sends it); of two, it is refused.
        let one = json!({"kind":"whatsapp_send","to":["+15550102030"],"text":"x"});
        WhatsappSend.check(&act(one)).unwrap();
        let two = json!({"kind":"whatsapp_send","to":["+15550102030","+15550102031"],"text":"x"});
        let err = format!("{:#}", WhatsappSend.check(&act(two)).unwrap_err());
        assert!(err.contains("`to`") && err.contains("exactly one"), "{err}");
        // One text with two numbers is two numbers, for the check as for the executor.
        let both = json!({"kind":"whatsapp_send","to":"+15550102030, +15550102031","text":"x"});
        assert!(WhatsappSend.check(&act(both)).is_err());
    }

    /// Regression: a list `to` was read as no number at all, so a number the item never
    /// named passed the grounding check and got the rule `whatsapp` instead of
    /// `not_in_item`.
    #[test]
    fn a_list_to_not_in_the_item_is_flagged() {
        use crate::grounding::{ItemFacts, decide_for_item};
        let facts = ItemFacts::from_text("Call me on +1 (555) 010-2030 please", None);
        let rule = |to| {
            let a = act(json!({"kind":"whatsapp_send","to":to,"text":"On my way"}));
            decide_for_item(&testing::policy(), &Default::default(), &a, &facts).rule
        };
        assert_eq!(rule(json!(["+447700900123"])), "not_in_item");
        assert_eq!(rule(json!("+447700900123")), "not_in_item");
        assert_eq!(rule(json!(["+15550102030"])), "whatsapp");
        assert_eq!(rule(json!("+1 555 010 2030")), "whatsapp");
    }
}
