//! `note`: no side effect; a plan whose actions are all notes goes straight to `Done/`.

use super::{Kind, Param, Ty, text};
use crate::config::Policy;
use crate::executor::ExecutorFactory;
use crate::policy::{Decision, Origin, allow};

/// The kind.
pub struct Note;

/// The parameters of a `note` action.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub text: Option<String>,
}

impl Kind for Note {
    const NAME: &'static str = "note";
    const PARAMS: &'static [Param] = &[("text", Ty::Str, true)];
    type Params = Params;

    fn executor() -> Option<ExecutorFactory> {
        None
    }

    fn decide(_p: &Params, _policy: &Policy, _origin: &Origin) -> Decision {
        allow("note")
    }

    fn preview(p: &Params) -> String {
        format!("Note: {}", text(&p.text))
    }

    fn summary(_p: &Params) -> String {
        "file a note".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{check_catalogue_entry, parsed};
    use serde_json::json;

    #[test]
    fn params_schema_preview_summary_target() {
        check_catalogue_entry(&Note, json!({"kind":"note","text":"x"}));
        let a = parsed::<Note>(json!({"kind":"note","text":"x"}));
        assert_eq!(Note::preview(&a), "Note: x");
        assert_eq!(Note::summary(&a), "file a note");
        assert_eq!(Note::target(&a), None);
    }
}
