//! What the live checks of the social platforms and WhatsApp share (each connector's
//! `live` check is in its own file): one cheap authenticated read with the token aie would
//! post with, and what its answer means for the owner: which secret to renew (Graph API
//! error 190, X and LinkedIn 401), which permission to grant (Graph API 10 and 200-299, X
//! 403), which setting names an id the token cannot read (Graph API 100). Never the
//! token's value: every text that comes back is scrubbed of it. No printing, no vault
//! access.
//!
//! | platform  | read                               | permissions aie needs                    |
//! |-----------|------------------------------------|------------------------------------------|
//! | Facebook  | `GET /{page_id}?fields=id,name`    | pages_manage_posts, pages_read_engagement |
//! | Instagram | `GET /{ig_user_id}?fields=id,username` | instagram_basic, instagram_content_publish |
//! | X         | `GET /2/users/me`                  | tweet.read tweet.write users.read offline.access |
//! | LinkedIn  | `GET /v2/userinfo`                 | w_member_social (w_organization_social)  |
//! | WhatsApp  | `GET /{phone_number_id}`           | whatsapp_business_messaging, whatsapp_business_management |

use super::capabilities::{Finding, Probe};
use super::http::{Http, HttpError, Request, RetryPolicy, Verdict};
use super::social::{GraphPlatform, THROTTLING, graph_error};
use crate::secrets::Secrets;
use serde_json::Value;
use std::time::Duration;

/// One GET with the token as a bearer: the answer's JSON, or the HTTP layer's error. Not
/// retried: a check reports what it saw.
pub fn get(
    service: &'static str,
    token: &str,
    url: &str,
    query: &[(&str, &str)],
) -> Result<Value, HttpError> {
    let http =
        Http::new(service, Duration::from_secs(10), RetryPolicy::NONE, None).scrubbing(&[token]);
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str())];
    let req = Request {
        headers: &headers,
        query,
        ..Request::get(url)
    };
    http.send(&req, &|_| Verdict::Stop).map(|r| r.json())
}

/// A failure that is not the platform's own error shape: the connection or a bare status.
pub fn transport(e: &HttpError, base_setting: &str) -> Probe {
    Probe::Fail(
        e.to_string(),
        Some(format!("check {base_setting} in aie.yaml and the network")),
    )
}

/// What a Graph API (Facebook, Instagram, WhatsApp) failure means.
fn graph_failure(e: &HttpError, secret: &str, perms: &str, id_setting: &str, base: &str) -> Probe {
    let HttpError::Status { body, .. } = e else {
        return transport(e, base);
    };
    let Some(g) = graph_error(body) else {
        return transport(e, base);
    };
    let code = if g.subcode != 0 {
        format!("#{}/{}", g.code, g.subcode)
    } else {
        format!("#{}", g.code)
    };
    let said = format!("({code}: {})", super::social::clip(&g.message, 200));
    if THROTTLING.contains(&g.code) {
        return Probe::Warn(
            format!("rate limited {said}: the token could not be checked now"),
            "run doctor again later".into(),
        );
    }
    match g.code {
        190 => Probe::Fail(
            format!("the token is expired or invalid {said}"),
            Some(format!(
                "renew {secret} (a long-lived token from the app's Graph API Explorer or system user)"
            )),
        ),
        10 | 200..=299 => Probe::Fail(
            format!("a permission is missing {said}"),
            Some(format!("grant {perms} to the app, then renew {secret}")),
        ),
        100 | 803 => Probe::Fail(
            format!("the token cannot read the id in {id_setting} {said}"),
            Some(format!(
                "check {id_setting} in aie.yaml (and that {secret} belongs to it)"
            )),
        ),
        _ => Probe::Fail(
            format!("Meta answered {said}"),
            Some(format!("check {secret} and {id_setting}")),
        ),
    }
}

/// The live check of a Graph API platform set up as `(base, id)` whose token is set:
/// `GET {base}/{id}`, and who the account is or what the failure means. Nothing when it is
/// not set up or has no token (the secrets check reports a missing one).
pub fn graph_finding(
    g: &GraphPlatform,
    secrets: &Secrets,
    account: Option<(&str, Option<&str>)>,
) -> Vec<Finding> {
    let Some(((base, id), token)) = account.zip(secrets.get(g.token)) else {
        return Vec::new();
    };
    let url = format!("{}/{}", base.trim_end_matches('/'), id.unwrap_or_default());
    let probe = match get(g.service, token, &url, g.query) {
        Ok(v) => Probe::Ok((g.who)(&v)),
        Err(e) => graph_failure(
            &e,
            g.token,
            g.perms,
            &format!("{}.{}", g.service, g.id_key),
            &format!("{}.graph_base", g.service),
        ),
    };
    vec![Finding::new(format!("{} token", g.service), probe)]
}
