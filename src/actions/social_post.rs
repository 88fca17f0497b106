//! `social_post`: a post on one of the owner's social accounts. Runs unasked only when it
//! is the owner's content-calendar post exactly as written; a reply always waits.

use super::{Kind, Param, Ty, optional, text};
use crate::config::Policy;
use crate::executor::ExecutorFactory;
use crate::policy::{Decision, Origin, allow, ask};
use anyhow::Result;
use serde_json::Value;
use std::fmt::Write as _;

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

impl Kind for SocialPost {
    const NAME: &'static str = "social_post";
    const PARAMS: &'static [Param] = &[
        ("platform", Ty::Platform, true),
        ("text", Ty::Str, true),
        ("image_url", Ty::Str, false),
        ("scheduled_at", Ty::Str, false),
        ("reply_to", Ty::Str, false),
    ];
    type Params = Params;

    /// `scheduled_at`, when set, is a time [`due_at`] reads.
    fn validate(p: &Params) -> Result<()> {
        match p.scheduled_at.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() && crate::clock::parse_time(t).is_none() => {
                anyhow::bail!("`scheduled_at` `{t}` is not an RFC 3339 time (2026-12-01T09:30:00Z)")
            }
            _ => Ok(()),
        }
    }

    fn executor() -> Option<ExecutorFactory> {
        Some(ExecutorFactory {
            connector: "social",
            build: crate::connectors::social::factory,
        })
    }

    fn not_before(p: &Params) -> Option<chrono::DateTime<chrono::Utc>> {
        due_at(p)
    }

    fn decide(p: &Params, _policy: &Policy, origin: &Origin) -> Decision {
        if !text(&p.reply_to).is_empty() {
            ask("social_reply")
        } else if origin.source.starts_with("calendar:") {
            // Only the post exactly as the owner wrote it runs unasked: the calendar line
            // names no image, so a post with one asks.
            let as_written = origin.calendar_post.is_some_and(|(platform, body)| {
                text(&p.platform).trim() == platform.trim()
                    && text(&p.text).trim() == body.trim()
                    && text(&p.image_url).trim().is_empty()
            });
            if as_written {
                allow("content_calendar")
            } else {
                ask("calendar_post_changed")
            }
        } else {
            ask("social_not_from_calendar")
        }
    }

    fn preview(p: &Params) -> String {
        let mut out = format!("Platform: {}\n", text(&p.platform));
        for (k, v) in [
            ("image_url", &p.image_url),
            ("scheduled_at", &p.scheduled_at),
            ("reply_to", &p.reply_to),
        ] {
            if !text(v).is_empty() {
                out.push_str(&format!("{k}: {}\n", text(v)));
            }
        }
        out.push('\n');
        out.push_str(text(&p.text));
        out
    }

    /// Each platform has its own section (the executor is one for all of them).
    fn section(p: &Params) -> Option<&'static str> {
        PLATFORMS.iter().copied().find(|k| *k == text(&p.platform))
    }

    fn account(p: &Params, settings: &crate::config::Settings) -> Option<String> {
        match text(&p.platform) {
            "facebook" => {
                let page = settings.facebook.as_ref()?.page_id.as_deref()?;
                Some(format!("as Facebook page {page}"))
            }
            "instagram" => {
                let user = settings.instagram.as_ref()?.user_id.as_deref()?;
                Some(format!("as Instagram account {user}"))
            }
            "linkedin" => {
                let author = settings.linkedin.as_ref()?.author.as_deref()?;
                Some(format!("as LinkedIn {author}"))
            }
            // X names no account in aie.yaml: the token's own user posts.
            "x" => settings
                .x
                .as_ref()
                .map(|_| "as the X account of AIE_X_TOKEN".to_string()),
            _ => None,
        }
    }

    fn summary(p: &Params) -> String {
        let platform = text(&p.platform);
        let body = text(&p.text);
        // Written into room for the whole post: it is quoted whole, and often long.
        let mut out = String::with_capacity(body.len() + 2 * platform.len() + 96);
        let _ = write!(
            out,
            "publish a {platform} post \"{body}\" ({} of {} characters as {platform} counts them){}{}{}",
            length(platform, body),
            limit(platform),
            optional(" with the image ", text(&p.image_url)),
            optional(" at ", text(&p.scheduled_at)),
            optional(" in reply to ", text(&p.reply_to))
        );
        out
    }

    fn target(p: &Params) -> Option<String> {
        p.platform.clone()
    }
}

/// The longest text each platform takes, counted its own way ([`length`]).
pub fn limit(platform: &str) -> usize {
    match platform {
        "x" => 280,
        "instagram" => 2200,
        "linkedin" => 3000,
        _ => 63206,
    }
}

/// What a URL counts for on X (every link is shortened to t.co).
const X_URL: usize = 23;

/// The length `text` has on `platform` after the platform's own counting: on X a URL counts
/// 23 and a character outside Latin and general punctuation counts 2 (X's weighted length);
/// elsewhere each character counts 1.
pub fn length(platform: &str, text: &str) -> usize {
    if platform != "x" {
        return text.chars().count();
    }
    let mut n = 0;
    for word in text.split_inclusive(char::is_whitespace) {
        let w = word.trim_end();
        if w.starts_with("https://") || w.starts_with("http://") {
            n += X_URL + word[w.len()..].chars().count();
            continue;
        }
        n += word
            .chars()
            .map(|c| match c as u32 {
                0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247 => 1,
                _ => 2,
            })
            .sum::<usize>();
    }
    n
}

/// Why this post cannot go out as it is, checked before any call: no text, a text that
/// carries a vault link or front matter (what aie itself writes, never the owner's post), a
/// text longer than the platform takes, an Instagram post without an image.
pub fn check_publishable(p: &Params) -> std::result::Result<(), String> {
    let platform = p.platform.as_deref().unwrap_or("");
    let body = p.text.as_deref().unwrap_or("");
    if body.trim().is_empty() {
        return Err("the post has no text".into());
    }
    if body.contains("[[") {
        return Err(
            "the text carries a vault link (`[[...]]`), which is not for the public: edit the text"
                .into(),
        );
    }
    if body.trim_start().starts_with("---\n") {
        return Err("the text starts with front matter: edit the text".into());
    }
    let (n, max) = (length(platform, body), limit(platform));
    if n > max {
        return Err(format!(
            "the text is {n} characters long as {platform} counts them, over its limit of {max}"
        ));
    }
    if platform == "instagram" && p.image_url.as_deref().unwrap_or("").trim().is_empty() {
        return Err("Instagram needs an image: set `image_url` (a public URL of a JPEG)".into());
    }
    Ok(())
}

/// When a post with `scheduled_at` is due (None: now; an unreadable time is refused when
/// the action is read, [`Kind::validate`]).
pub fn due_at(p: &Params) -> Option<chrono::DateTime<chrono::Utc>> {
    crate::clock::parse_time(p.scheduled_at.as_deref()?.trim())
}

/// Whether `v` names a platform of [`PLATFORMS`].
pub fn is_platform(v: &Value) -> bool {
    v.as_str().is_some_and(|s| PLATFORMS.contains(&s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{act, check_catalogue_entry, parsed};
    use serde_json::json;

    #[test]
    fn params_schema_preview_summary_target() {
        let full = json!({"kind":"social_post","platform":"linkedin","text":"Hiring!",
            "image_url":"https://x.example/a.png","scheduled_at":"2026-12-01T09:30:00Z","reply_to":"42"});
        check_catalogue_entry(&SocialPost, full.clone());
        let a = parsed::<SocialPost>(full);
        assert_eq!(
            SocialPost::preview(&a),
            "Platform: linkedin\nimage_url: https://x.example/a.png\nscheduled_at: 2026-12-01T09:30:00Z\nreply_to: 42\n\nHiring!"
        );
        assert_eq!(
            SocialPost::summary(&a),
            "publish a linkedin post \"Hiring!\" (7 of 3000 characters as linkedin counts them) with the image https://x.example/a.png at 2026-12-01T09:30:00Z in reply to 42"
        );
        assert_eq!(SocialPost::target(&a).as_deref(), Some("linkedin"));
        assert!(is_platform(&json!("x")) && !is_platform(&json!("myspace")));
    }

    #[test]
    fn x_counts_a_url_as_23_and_wide_characters_as_2() {
        let url = "https://example.com/a/very/long/path/that/is/longer/than/23/characters";
        assert_eq!(length("x", &format!("Read {url} now")), 5 + 23 + 4);
        assert_eq!(length("linkedin", "héllo"), 5);
        assert_eq!(length("x", "日本"), 4);
        let act = |v| SocialPost::parse(&act(v)).unwrap();
        let long = act(json!({"kind":"social_post","platform":"x","text":"a".repeat(281)}));
        assert!(check_publishable(&long).unwrap_err().contains("281"));
        let ok = act(
            json!({"kind":"social_post","platform":"x","text":format!("{} {url}", "a".repeat(256))}),
        );
        assert!(check_publishable(&ok).is_ok());
        let link =
            act(json!({"kind":"social_post","platform":"x","text":"See [[Attachments/a/b.txt]]"}));
        assert!(check_publishable(&link).unwrap_err().contains("vault link"));
        let ig = act(json!({"kind":"social_post","platform":"instagram","text":"Hi"}));
        assert!(check_publishable(&ig).unwrap_err().contains("image"));
    }
}
