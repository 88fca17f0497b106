//! Facebook Page posts through the Graph API (`facebook.graph_base`, `facebook.page_id`,
//! the Page access token `AIE_FACEBOOK_TOKEN`): a feed post (`POST /{page-id}/feed` with
//! `message`), a photo post when `image_url` is set (`POST /{page-id}/photos` with `url`
//! and `caption`), or a reply to a comment or post (`POST /{id}/comments`). Each post is
//! one request, never repeated after it may have arrived. Also reads the Page's new
//! comments for `poll-social`. No printing, no vault access.

use super::capabilities::{
    Connector, Finding, LiveCx, Publisher, Registered, SecretNeed, required,
};
use super::http::Request;
use super::social::{self, GraphAccount, graph_outcome};
use crate::actions::social_post;
use crate::config::Settings;
use crate::executor::ActionOutcome;
use crate::exit::AieError;
use crate::secrets::Secrets;
use anyhow::Result;
use serde_json::{Value, json};
use std::path::Path;

const SECRETS: &[&str] = &[social::FACEBOOK.token];

/// The connector as `doctor` sees it.
pub const CONNECTOR: Registered =
    Connector::of_section("facebook", SECRETS, needs, check).with_live(live);

fn needs(s: &Settings) -> Option<Vec<SecretNeed>> {
    s.facebook.as_ref().map(|_| required(SECRETS))
}

fn check(s: &Settings, secrets: &Secrets, _root: &Path) -> Result<String> {
    Ok(match publisher(s, secrets)? {
        Some(p) => format!("page {} at {}", p.acct.id, p.acct.base),
        None => "not set up".into(),
    })
}

/// Reads the Page with the token aie posts with (see [`super::social_doctor`]).
fn live(cx: &LiveCx) -> Vec<Finding> {
    let fb = cx.settings.facebook.as_ref();
    let account = fb.map(|c| (&*c.graph_base, c.page_id.as_deref()));
    super::social_doctor::graph_finding(&social::FACEBOOK, cx.secrets, account)
}

/// Whether `id` may go into a Graph API path (digits, with `_` between a page's and a
/// post's id).
pub fn valid_graph_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

/// Posts to one Facebook Page.
pub struct FacebookPublisher {
    acct: GraphAccount,
}

/// The Page publisher: `Ok(None)` when `aie.yaml` has no `facebook:` section; a config
/// error (exit 78) without `facebook.page_id` or the token.
pub fn publisher(settings: &Settings, secrets: &Secrets) -> Result<Option<FacebookPublisher>> {
    let Some(fb) = &settings.facebook else {
        return Ok(None);
    };
    let acct = GraphAccount::new(
        &social::FACEBOOK,
        &fb.graph_base,
        fb.page_id.as_deref(),
        secrets,
    )?;
    Ok(Some(FacebookPublisher { acct }))
}

impl FacebookPublisher {
    /// One POST of `body` to `{graph_base}/{path}`, never repeated after it may have arrived.
    fn post(&self, path: &str, body: &Value) -> std::result::Result<Value, ActionOutcome> {
        self.acct
            .post(path, body)
            .map_err(|e| graph_outcome(&e, "facebook", SECRETS[0]))
    }

    /// The comments on the Page's 25 newest posts made at or after `since` (a Unix time),
    /// oldest first, leaving out the Page's own: (comment id, author name, text, created
    /// time, the post commented on). `filter(stream)` returns every comment, replies
    /// included, not only the top-level ones the default filter keeps.
    pub fn comments_since(&self, since: i64) -> Result<Vec<[String; 5]>> {
        let url = format!("{}/{}/feed", self.acct.base, self.acct.id);
        let auth = self.acct.bearer();
        let headers = [("Authorization", auth.as_str())];
        let fields = format!(
            "id,comments.filter(stream).since({since}).limit(100){{id,from,message,created_time}}"
        );
        let query = [("fields", fields.as_str()), ("limit", "25")];
        let req = Request {
            headers: &headers,
            query: &query,
            ..Request::get(&url)
        };
        let v = self
            .acct
            .http
            .send(&req, &super::http::retry_usual)
            .map_err(|e| AieError::Unavailable(format!("facebook: cannot read comments: {e}")))?
            .json();
        let mut out = Vec::new();
        for post in v["data"].as_array().into_iter().flatten() {
            for c in post["comments"]["data"].as_array().into_iter().flatten() {
                if c["from"]["id"].as_str() == Some(self.acct.id.as_str()) {
                    continue;
                }
                out.push([
                    c["id"].as_str().unwrap_or("").to_string(),
                    c["from"]["name"].as_str().unwrap_or("").to_string(),
                    c["message"].as_str().unwrap_or("").to_string(),
                    c["created_time"].as_str().unwrap_or("").to_string(),
                    post["id"].as_str().unwrap_or("").to_string(),
                ]);
            }
        }
        out.sort_by(|a, b| a[3].cmp(&b[3]));
        Ok(out)
    }
}

/// A Graph API time (`2026-11-30T05:00:00+0000`) as Unix seconds.
pub fn graph_time(t: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%z")
        .ok()
        .map(|d| d.timestamp())
}

impl Publisher for FacebookPublisher {
    fn publish(&mut self, post: &social_post::Params, _key: &str) -> ActionOutcome {
        let text = crate::actions::text(&post.text);
        let image = crate::actions::text(&post.image_url).trim();
        let reply_to = crate::actions::text(&post.reply_to).trim();
        let answer = if !reply_to.is_empty() {
            if !valid_graph_id(reply_to) {
                return ActionOutcome::Failed(format!(
                    "facebook: `{}` is not a comment or post id: nothing was sent",
                    social::clip(reply_to, 40)
                ));
            }
            self.post(&format!("{reply_to}/comments"), &json!({"message": text}))
        } else if !image.is_empty() {
            self.post(
                &format!("{}/photos", self.acct.id),
                &json!({"url": image, "caption": text, "published": true}),
            )
        } else {
            self.post(&format!("{}/feed", self.acct.id), &json!({"message": text}))
        };
        match answer {
            Ok(v) => {
                let id = v["post_id"].as_str().or(v["id"].as_str()).unwrap_or("");
                if id.is_empty() {
                    return ActionOutcome::Unknown(
                        "facebook: the answer carried no post id: check the Page".into(),
                    );
                }
                ActionOutcome::Ok(format!("facebook post {id} https://www.facebook.com/{id}"))
            }
            Err(outcome) => outcome,
        }
    }
}
