//! LinkedIn posts through the Posts API (`POST {linkedin.api_base}/rest/posts`) with the
//! `LinkedIn-Version` header (`linkedin.version`, `YYYYMM`), `X-Restli-Protocol-Version:
//! 2.0.0` and the token `AIE_LINKEDIN_TOKEN`, as `linkedin.author` (a person or organization
//! URN). The commentary is written in LinkedIn's "little text" format, so its reserved
//! characters are escaped; the post's URN comes back in the `x-restli-id` header. A 426
//! (the version is no longer served) is a configuration error naming the setting. No
//! printing, no vault access.

use super::capabilities::{
    Connector, Finding, LiveCx, Probe, Publisher, Registered, SecretNeed, required,
};
use super::http::{Body, Http, HttpError, Request};
use super::social;
use crate::actions::social_post;
use crate::config::Settings;
use crate::executor::ActionOutcome;
use crate::exit::AieError;
use crate::secrets::Secrets;
use anyhow::Result;
use serde_json::{Value, json};
use std::path::Path;

const SECRETS: &[&str] = &["AIE_LINKEDIN_TOKEN"];

/// The connector as `doctor` sees it.
pub const CONNECTOR: Registered =
    Connector::of_section("linkedin", SECRETS, needs, check).with_live(live);

fn needs(s: &Settings) -> Option<Vec<SecretNeed>> {
    s.linkedin.as_ref().map(|_| required(SECRETS))
}

fn check(s: &Settings, secrets: &Secrets, _root: &Path) -> Result<String> {
    Ok(match publisher(s, secrets)? {
        Some(p) => format!("{} as {} (version {})", p.base, p.author, p.version),
        None => "not set up".into(),
    })
}

/// `GET /v2/userinfo` with the token aie posts with (see [`super::social_doctor`]).
fn live(cx: &LiveCx) -> Vec<Finding> {
    let (Some(li), Some(token)) = (&cx.settings.linkedin, cx.secrets.get(SECRETS[0])) else {
        return Vec::new();
    };
    let url = format!("{}/v2/userinfo", li.api_base.trim_end_matches('/'));
    let probe = match super::social_doctor::get("linkedin", token, &url, &[]) {
        Ok(v) => Probe::Ok(format!("reads the member `{}`", social::field(&v, "name"))),
        Err(HttpError::Status { code: 401, .. }) => Probe::Fail(
            "LinkedIn refused the token (401: expired or revoked; they last 60 days)".into(),
            Some("renew AIE_LINKEDIN_TOKEN (the app's OAuth flow, with w_member_social)".into()),
        ),
        // Reading the member needs `openid profile`; posting needs only w_member_social.
        Err(HttpError::Status { code: 403, .. }) => Probe::Warn(
            "the token is accepted but may not read the member (403: the `openid profile` scopes are not granted), so its posting scope is not confirmed".into(),
            "posting needs w_member_social (w_organization_social for an organization author); add `openid profile` to check it here".into(),
        ),
        Err(e) => super::social_doctor::transport(&e, "linkedin.api_base"),
    };
    vec![Finding::new("linkedin token", probe)]
}

/// The characters the "little text" format reserves: each is written with a backslash.
const RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
];

/// `text` as LinkedIn's "little text" commentary: every reserved character escaped, so
/// it shows as written (no mention, hashtag or template is made from it).
pub fn little_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Posts as one LinkedIn member or organization.
pub struct LinkedinPublisher {
    http: Http,
    pub base: String,
    pub author: String,
    pub version: String,
    token: String,
}

/// The publisher: `Ok(None)` without a `linkedin:` section; a config error (exit 78)
/// without a usable `linkedin.author`, `linkedin.version` or the token.
pub fn publisher(settings: &Settings, secrets: &Secrets) -> Result<Option<LinkedinPublisher>> {
    let Some(li) = &settings.linkedin else {
        return Ok(None);
    };
    let author = li.author.clone().unwrap_or_default();
    if !(author.starts_with("urn:li:person:") || author.starts_with("urn:li:organization:")) {
        return Err(AieError::Config(format!(
            "linkedin.author `{author}` is not a person or organization URN (`urn:li:person:...` or `urn:li:organization:...`)"
        ))
        .into());
    }
    if li.version.len() != 6 || !li.version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AieError::Config(format!(
            "linkedin.version `{}` is not a YYYYMM month",
            li.version
        ))
        .into());
    }
    let token = secrets.require("linkedin", SECRETS)?.remove(0);
    Ok(Some(LinkedinPublisher {
        http: social::client("linkedin", &token),
        base: li.api_base.trim_end_matches('/').to_string(),
        author,
        version: li.version.clone(),
        token,
    }))
}

/// LinkedIn's error text (`{"message", "status", "serviceErrorCode"}`), else the body.
fn message(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    match v["message"].as_str() {
        Some(m) => m.to_string(),
        None => social::clip(body.trim(), 300),
    }
}

impl Publisher for LinkedinPublisher {
    fn publish(&mut self, post: &social_post::Params, _key: &str) -> ActionOutcome {
        if !crate::actions::text(&post.image_url).trim().is_empty()
            || !crate::actions::text(&post.reply_to).trim().is_empty()
        {
            return ActionOutcome::Failed(
                "linkedin: aie posts text only on LinkedIn (no image upload, no comment replies): edit the action; nothing was sent".into(),
            );
        }
        let body = json!({
            "author": self.author,
            "commentary": little_text(crate::actions::text(&post.text)),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": []
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false
        });
        let url = format!("{}/rest/posts", self.base);
        let auth = format!("Bearer {}", self.token);
        let headers = [
            ("Authorization", auth.as_str()),
            ("LinkedIn-Version", self.version.as_str()),
            ("X-Restli-Protocol-Version", "2.0.0"),
        ];
        let req = Request {
            headers: &headers,
            ..Request::post(&url, Body::Json(&body), false)
        };
        match self.http.send(&req, &social::judge) {
            Ok(r) => match r.header("x-restli-id") {
                Some(urn) if !urn.is_empty() => ActionOutcome::Ok(format!(
                    "linkedin post {urn} https://www.linkedin.com/feed/update/{urn}"
                )),
                _ => ActionOutcome::Unknown(
                    "linkedin: the answer carried no x-restli-id: check the feed".into(),
                ),
            },
            Err(HttpError::Status {
                code: 426, body, ..
            }) => ActionOutcome::Failed(format!(
                "linkedin: the API version `{}` is no longer served ({}): set `linkedin.version` in aie.yaml to a recent month (YYYYMM)",
                self.version,
                message(&body)
            )),
            Err(HttpError::Status {
                code: 401, body, ..
            }) => ActionOutcome::Failed(format!(
                "linkedin: the token was refused ({}): renew `AIE_LINKEDIN_TOKEN`",
                message(&body)
            )),
            Err(HttpError::Status {
                code: 403, body, ..
            }) => ActionOutcome::Failed(format!(
                "linkedin: not allowed ({}): the token needs `w_member_social` (or `w_organization_social` for a page)",
                message(&body)
            )),
            Err(HttpError::Status { code: 429, .. }) => ActionOutcome::Retry(
                "linkedin: rate limited (429): the post waits for a later pass".into(),
            ),
            Err(HttpError::Status { code, body, .. }) if (400..500).contains(&code) => {
                ActionOutcome::Failed(format!("linkedin: answered {code}: {}", message(&body)))
            }
            Err(e) => super::http::action_outcome(&e, "linkedin"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_text_escapes_every_reserved_character() {
        assert_eq!(
            little_text("Hi @you (#1) [a] {b} <c> *d* _e_ ~f~ | \\ ok."),
            "Hi \\@you \\(\\#1\\) \\[a\\] \\{b\\} \\<c\\> \\*d\\* \\_e\\_ \\~f\\~ \\| \\\\ ok."
        );
    }
}
