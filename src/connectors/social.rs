//! What the four publishers (Facebook, Instagram, X, LinkedIn) share: the `social_post`
//! executor that hands each approved post to its platform's [`Publisher`] (all built
//! without a connection, at the first post of a pass), the checks made before any call
//! (the platform is set up, the text is the owner's text and fits), Meta's Graph API error
//! object with its throttling codes, and the HTTP client every platform uses. A rate limit
//! makes a post wait for a later pass ([`ActionOutcome::Retry`]), never fail it. No printing,
//! no vault access.

use super::capabilities::Publisher;
use super::http::{
    Body, Http, HttpError, Reply, Request, RetryPolicy, Verdict, action_outcome, retry_usual,
};
use crate::actions::{Kind, social_post};
use crate::config::Settings;
use crate::executor::{ActionExecutor, ActionOutcome};
use crate::exit::AieError;
use crate::secrets::Secrets;
use crate::vault::Item;
use anyhow::Result;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// How hard a publisher tries within a pass: a request that never left is tried again at
/// once; a rate limit waits for a later pass instead.
pub const POLICY: RetryPolicy = RetryPolicy {
    max_retries: 2,
    initial: Duration::from_millis(300),
    max_backoff: Duration::from_secs(4),
    max_retry_after: Duration::from_secs(5),
    max_total_wait: Duration::from_secs(30),
};

/// The timeout of one request.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP client of one platform, scrubbing `token` from every text that comes back.
pub fn client(service: &'static str, token: &str) -> Http {
    Http::new(service, TIMEOUT, POLICY, None).scrubbing(&[token])
}

/// The text field `k` of an answer ("?" when absent).
pub fn field<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("?")
}

/// A Meta Graph API platform (Facebook, Instagram, WhatsApp): its account in `aie.yaml`, its
/// token, and what `doctor` reads to check that token.
pub struct GraphPlatform {
    /// The platform and its `aie.yaml` section.
    pub service: &'static str,
    /// The setting of the account's id in that section, and what that id is.
    pub id_key: &'static str,
    pub id_is: &'static str,
    /// The secret holding the token.
    pub token: &'static str,
    /// The permissions the token needs.
    pub perms: &'static str,
    /// The fields `doctor` reads of the account, and who the answer says it is.
    pub query: &'static [(&'static str, &'static str)],
    pub who: fn(&Value) -> String,
}

/// A Facebook Page.
pub const FACEBOOK: GraphPlatform = GraphPlatform {
    service: "facebook",
    id_key: "page_id",
    id_is: "the Page's numeric id",
    query: &[("fields", "id,name")],
    token: "AIE_FACEBOOK_TOKEN",
    perms: "pages_manage_posts and pages_read_engagement (a Page access token)",
    who: |v| format!("reads the Page `{}` ({})", field(v, "name"), field(v, "id")),
};

/// An Instagram professional account.
pub const INSTAGRAM: GraphPlatform = GraphPlatform {
    service: "instagram",
    id_key: "user_id",
    id_is: "the professional account's numeric id",
    query: &[("fields", "id,username")],
    token: "AIE_INSTAGRAM_TOKEN",
    perms: "instagram_basic and instagram_content_publish",
    who: |v| format!("reads @{} ({})", field(v, "username"), field(v, "id")),
};

/// A WhatsApp business number.
pub const WHATSAPP: GraphPlatform = GraphPlatform {
    service: "whatsapp",
    id_key: "phone_number_id",
    id_is: "the business number's id, not the number",
    query: &[],
    token: "AIE_WHATSAPP_TOKEN",
    perms: "whatsapp_business_messaging and whatsapp_business_management (a system user's token)",
    who: |v| {
        format!(
            "reads the number {} (`{}`)",
            field(v, "display_phone_number"),
            field(v, "verified_name")
        )
    },
};

/// One Graph API account (a Facebook Page, an Instagram professional account, a WhatsApp
/// business number): its client, its base URL, its id and the token.
pub struct GraphAccount {
    pub http: Http,
    pub base: String,
    pub id: String,
    token: String,
}

impl GraphAccount {
    /// The account `id` on platform `p` at `graph_base`: a config error (exit 78) when `id`
    /// is not a Graph id or the token is missing.
    pub fn new(
        p: &GraphPlatform,
        graph_base: &str,
        id: Option<&str>,
        secrets: &Secrets,
    ) -> Result<GraphAccount> {
        let id = id.unwrap_or_default().to_string();
        if !super::facebook::valid_graph_id(&id) {
            return Err(AieError::Config(format!(
                "{}.{} is not set in aie.yaml ({})",
                p.service, p.id_key, p.id_is
            ))
            .into());
        }
        let token = secrets.require(p.service, &[p.token])?.remove(0);
        Ok(GraphAccount {
            http: client(p.service, &token),
            base: graph_base.trim_end_matches('/').to_string(),
            id,
            token,
        })
    }

    /// The `Authorization` header's value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// One POST of `body` to `{graph_base}/{path}`, never repeated after it may have
    /// arrived: the answer's JSON.
    pub fn post(&self, path: &str, body: &Value) -> std::result::Result<Value, HttpError> {
        let url = format!("{}/{path}", self.base);
        let auth = self.bearer();
        let headers = [("Authorization", auth.as_str())];
        let req = Request {
            headers: &headers,
            ..Request::post(&url, Body::Json(body), false)
        };
        self.http.send(&req, &judge).map(|r| r.json())
    }
}

/// The judgement of every publisher: a rate limit (429) is not waited for in this pass;
/// a 5xx or 408 is retried only where the request is idempotent (the HTTP layer knows).
pub fn judge(r: &Reply) -> Verdict {
    if r.status == 429 {
        Verdict::Stop
    } else {
        retry_usual(r)
    }
}

/// Meta's error object: `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphError {
    pub code: i64,
    pub subcode: i64,
    pub message: String,
    pub trace: String,
}

/// The Graph API error in an answer's body, when there is one.
pub fn graph_error(body: &str) -> Option<GraphError> {
    let v: Value = serde_json::from_str(body).ok()?;
    let e = v.get("error")?;
    Some(GraphError {
        code: e["code"].as_i64()?,
        subcode: e["error_subcode"].as_i64().unwrap_or(0),
        message: e["error_user_msg"]
            .as_str()
            .or(e["message"].as_str())
            .unwrap_or("")
            .to_string(),
        trace: e["fbtrace_id"].as_str().unwrap_or("").to_string(),
    })
}

/// Meta's throttling codes (application, user, page, custom and business use case limits,
/// WhatsApp's throughput and pair rate limits): the request was not taken.
pub const THROTTLING: &[i64] = &[
    4, 17, 32, 613, 80001, 80002, 80004, 80005, 80006, 80007, 80008, 80009, 80014, 130429, 131048,
    131056,
];

/// What a failed Graph API call means for the action: a throttling code waits for a later
/// pass; an expired or invalid token (190) or a missing permission (10, 200-299) names the
/// secret to renew; any other error object fails with Meta's message, code and trace id.
/// Transport failures and bare statuses map as every connector's ([`action_outcome`]).
pub fn graph_outcome(err: &HttpError, service: &str, secret: &str) -> ActionOutcome {
    let HttpError::Status { code, body, .. } = err else {
        return action_outcome(err, service);
    };
    let Some(g) = graph_error(body) else {
        return action_outcome(err, service);
    };
    let what = format!(
        "#{}{} {}{}",
        g.code,
        if g.subcode != 0 {
            format!("/{}", g.subcode)
        } else {
            String::new()
        },
        g.message,
        if g.trace.is_empty() {
            String::new()
        } else {
            format!(" (fbtrace_id {})", g.trace)
        }
    );
    if THROTTLING.contains(&g.code) {
        return ActionOutcome::Retry(format!(
            "{service}: rate limited ({code} {what}): it waits for a later pass"
        ));
    }
    match g.code {
        190 => ActionOutcome::Failed(format!(
            "{service}: the access token was refused ({code} {what}): renew `{secret}`"
        )),
        10 | 200..=299 => ActionOutcome::Failed(format!(
            "{service}: a permission is missing ({code} {what}): grant it to the app and renew `{secret}`"
        )),
        _ if *code >= 500 => action_outcome(err, service),
        _ => ActionOutcome::Failed(format!("{service}: answered {code} {what}")),
    }
}

/// The first `n` characters of a text from outside (for messages).
pub fn clip(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}

/// Builds every publisher set up in `aie.yaml` (no connection yet). A platform that is set
/// up but lacks its secrets or settings is a configuration error (exit 78).
pub fn factory(
    settings: &Settings,
    secrets: &Secrets,
    vault_root: &Path,
) -> Result<Option<Box<dyn ActionExecutor>>> {
    let aie_dir = vault_root.join(".aie");
    let mut publishers: BTreeMap<&'static str, Box<dyn Publisher>> = BTreeMap::new();
    if let Some(p) = super::facebook::publisher(settings, secrets)? {
        publishers.insert("facebook", Box::new(p));
    }
    if let Some(p) = super::instagram::publisher(settings, secrets)? {
        publishers.insert("instagram", Box::new(p));
    }
    if let Some(p) = super::x::publisher(settings, secrets, &aie_dir)? {
        publishers.insert("x", Box::new(p));
    }
    if let Some(p) = super::linkedin::publisher(settings, secrets)? {
        publishers.insert("linkedin", Box::new(p));
    }
    if publishers.is_empty() {
        return Ok(None);
    }
    Ok(Some(Box::new(SocialExecutor { publishers })))
}

/// The `social_post` executor: one publisher per platform set up.
struct SocialExecutor {
    publishers: BTreeMap<&'static str, Box<dyn Publisher>>,
}

impl ActionExecutor for SocialExecutor {
    fn execute(&mut self, _item: &Item, action: &Map<String, Value>, key: &str) -> ActionOutcome {
        let post = match social_post::SocialPost::parse(action) {
            Ok(p) => p,
            Err(e) => return ActionOutcome::Failed(format!("{e:#}: nothing was sent")),
        };
        let platform = post.platform.as_deref().unwrap_or("");
        if let Err(why) = social_post::check_publishable(&post) {
            return ActionOutcome::Failed(format!("{platform}: nothing was sent: {why}"));
        }
        match self.publishers.get_mut(platform) {
            Some(p) => p.publish(&post, key),
            None => ActionOutcome::Failed(format!(
                "the connector for `{platform}` is not configured in aie.yaml, so nothing was sent"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the executor answers, with no platform set up, for a post written as `v`.
    fn execute(v: Value) -> ActionOutcome {
        let mut ex = SocialExecutor {
            publishers: BTreeMap::new(),
        };
        let item = Item::new("s1", "email", "email", "gmail:1", "2026-01-01T00:00:00Z");
        ex.execute(&item, v.as_object().unwrap(), "k1")
    }

    #[test]
    fn the_post_is_read_typed_and_checked_before_any_platform() {
        let unread = execute(json!({"kind":"social_post","platform":"x","text":"Hi","poll":1}));
        let ActionOutcome::Failed(why) = unread else {
            panic!("{unread:?}")
        };
        assert!(
            why.contains("`poll`") && why.ends_with(": nothing was sent"),
            "{why}"
        );
        let empty = execute(json!({"kind":"social_post","platform":"x","text":"  "}));
        assert_eq!(
            empty,
            ActionOutcome::Failed("x: nothing was sent: the post has no text".into())
        );
        let unset = execute(json!({"kind":"social_post","platform":"linkedin","text":"Hi"}));
        let ActionOutcome::Failed(why) = unset else {
            panic!("{unset:?}")
        };
        assert!(why.contains("`linkedin` is not configured"), "{why}");
    }

    fn status(code: u16, body: &str) -> HttpError {
        HttpError::Status {
            code,
            body: body.into(),
            retry_after: None,
            gave_up: None,
        }
    }

    #[test]
    fn graph_errors_map_throttling_to_a_later_pass_and_name_the_secret() {
        let throttled = r#"{"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32,"fbtrace_id":"AbC"}}"#;
        assert!(matches!(
            graph_outcome(&status(400, throttled), "facebook", "AIE_FACEBOOK_TOKEN"),
            ActionOutcome::Retry(_)
        ));
        let expired = r#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"Xy"}}"#;
        let ActionOutcome::Failed(m) =
            graph_outcome(&status(400, expired), "facebook", "AIE_FACEBOOK_TOKEN")
        else {
            panic!()
        };
        assert!(
            m.contains("#190/463") && m.contains("AIE_FACEBOOK_TOKEN") && m.contains("Xy"),
            "{m}"
        );
        // No error object: the usual mapping.
        assert!(matches!(
            graph_outcome(&status(502, "bad gateway"), "facebook", "T"),
            ActionOutcome::Unknown(_)
        ));
    }
}
