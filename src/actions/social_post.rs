//! `social_post`: a post on one of the owner's social accounts. Runs unasked only when it
//! is the owner's content-calendar post exactly as written; a reply always waits.

use super::{Action, ActionKind, Param, Ty, optional, text, text_str};
use crate::config::Policy;
use crate::policy::{Decision, Origin, allow, ask};
use anyhow::Result;
use serde_json::Value;

/// The platforms a post can go to (the content calendar accepts the same).
pub const PLATFORMS: &[&str] = &["facebook", "instagram", "x", "linkedin"];

/// The kind.
pub struct SocialPost;

/// The parameters of a `social_post` action.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub platform: Option<String>,
    pub text: Option<String>,
    pub image_url: Option<String>,
    pub scheduled_at: Option<String>,
    pub reply_to: Option<String>,
}

const PARAMS: &[Param] = &[
    ("platform", Ty::Platform, true),
    ("text", Ty::Str, true),
    ("image_url", Ty::Str, false),
    ("scheduled_at", Ty::Str, false),
    ("reply_to", Ty::Str, false),
];

impl ActionKind for SocialPost {
    fn name(&self) -> &'static str {
        "social_post"
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn check(&self, action: &Action) -> Result<()> {
        super::parse_params::<Params>(self.name(), action).map(drop)
    }

    fn decide(&self, _policy: &Policy, origin: &Origin, action: &Action) -> Decision {
        let is_reply = action
            .get("reply_to")
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
        if is_reply {
            ask("social_reply")
        } else if origin.source.starts_with("calendar:") {
            // Only the post exactly as the owner wrote it runs unasked.
            let s = |k: &str| text_str(action, k).trim();
            let as_written = origin
                .calendar_post
                .is_some_and(|(p, t)| s("platform") == p.trim() && s("text") == t.trim());
            if as_written {
                allow("content_calendar")
            } else {
                ask("calendar_post_changed")
            }
        } else {
            ask("social_not_from_calendar")
        }
    }

    fn preview(&self, action: &Action) -> String {
        let mut out = format!("Platform: {}\n", text(action, "platform"));
        for k in ["image_url", "scheduled_at", "reply_to"] {
            let v = text(action, k);
            if !v.is_empty() {
                out.push_str(&format!("{k}: {v}\n"));
            }
        }
        out.push('\n');
        out.push_str(&text(action, "text"));
        out
    }

    fn summary(&self, action: &Action) -> String {
        format!(
            "publish a {} post \"{}\"{}{}{}",
            text(action, "platform"),
            text(action, "text"),
            optional(" with the image ", &text(action, "image_url")),
            optional(" at ", &text(action, "scheduled_at")),
            optional(" in reply to ", &text(action, "reply_to"))
        )
    }

    fn target(&self, action: &Action) -> Option<String> {
        super::target_of(action, "platform")
    }
}

/// Whether `v` names a platform of [`PLATFORMS`].
pub fn is_platform(v: &Value) -> bool {
    v.as_str().is_some_and(|s| PLATFORMS.contains(&s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{act, check_catalogue_entry};
    use serde_json::json;

    #[test]
    fn params_schema_preview_summary_target() {
        let full = json!({"kind":"social_post","platform":"linkedin","text":"Hiring!",
            "image_url":"https://x.example/a.png","scheduled_at":"2026-12-01T09:30:00Z","reply_to":"42"});
        check_catalogue_entry(&SocialPost, full.clone());
        let a = act(full);
        assert_eq!(
            SocialPost.preview(&a),
            "Platform: linkedin\nimage_url: https://x.example/a.png\nscheduled_at: 2026-12-01T09:30:00Z\nreply_to: 42\n\nHiring!"
        );
        assert_eq!(
            SocialPost.summary(&a),
            "publish a linkedin post \"Hiring!\" with the image https://x.example/a.png at 2026-12-01T09:30:00Z in reply to 42"
        );
        assert_eq!(SocialPost.target(&a).as_deref(), Some("linkedin"));
        assert!(is_platform(&json!("x")) && !is_platform(&json!("myspace")));
    }
}
