//! `doctor`'s online check of each social platform and WhatsApp set up in `aie.yaml`: one
//! cheap authenticated read with the token aie would post with, and what its answer means
//! for the owner: which secret to renew (Graph API error 190, X and LinkedIn 401), which
//! permission to grant (Graph API 10 and 200-299, X 403), which setting names an id the
//! token cannot read (Graph API 100). Never the token's value: every text that comes back
//! is scrubbed of it. No printing, no vault access.
//!
//! | platform  | read                               | permissions aie needs                    |
//! |-----------|------------------------------------|------------------------------------------|
//! | Facebook  | `GET /{page_id}?fields=id,name`    | pages_manage_posts, pages_read_engagement |
//! | Instagram | `GET /{ig_user_id}?fields=id,username` | instagram_basic, instagram_content_publish |
//! | X         | `GET /2/users/me`                  | tweet.read tweet.write users.read offline.access |
//! | LinkedIn  | `GET /v2/userinfo`                 | w_member_social (w_organization_social)  |
//! | WhatsApp  | `GET /{phone_number_id}`           | whatsapp_business_messaging, whatsapp_business_management |

use super::http::{Http, HttpError, Request, RetryPolicy, Verdict};
use super::social::{self, GraphPlatform, THROTTLING, field, graph_error};
use crate::config::Settings;
use crate::secrets::Secrets;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// What one token check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// The token reads the account: who it is.
    Ok(String),
    /// It works, with a caveat: what, and the fix.
    Warn(String, String),
    /// It does not work: why, and the fix.
    Fail(String, String),
}

/// One check: `<platform> token` and what it found.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenCheck {
    pub name: String,
    pub probe: Probe,
}

/// One GET with the token as a bearer: the answer's JSON, or the HTTP layer's error. Not
/// retried: doctor reports what it saw.
fn get(
    service: &'static str,
    token: &str,
    url: &str,
    query: &[(&str, &str)],
) -> Result<Value, HttpError> {
    let policy = RetryPolicy {
        max_retries: 0,
        initial: Duration::from_millis(100),
        max_backoff: Duration::from_millis(100),
        max_retry_after: Duration::ZERO,
        max_total_wait: Duration::ZERO,
    };
    let http = Http::new(service, Duration::from_secs(10), policy, None).scrubbing(&[token]);
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
fn transport(e: &HttpError, base_setting: &str) -> Probe {
    Probe::Fail(
        e.to_string(),
        format!("check {base_setting} in aie.yaml and the network"),
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
            format!(
                "renew {secret} (a long-lived token from the app's Graph API Explorer or system user)"
            ),
        ),
        10 | 200..=299 => Probe::Fail(
            format!("a permission is missing {said}"),
            format!("grant {perms} to the app, then renew {secret}"),
        ),
        100 | 803 => Probe::Fail(
            format!("the token cannot read the id in {id_setting} {said}"),
            format!("check {id_setting} in aie.yaml (and that {secret} belongs to it)"),
        ),
        _ => Probe::Fail(
            format!("Meta answered {said}"),
            format!("check {secret} and {id_setting}"),
        ),
    }
}

/// `GET {base}/{id}` on a Graph API platform set up as `(base, id)` whose token is set:
/// who the account is, or what the failure means. None when it is not set up or has no
/// token.
fn graph_probe(
    g: &GraphPlatform,
    secrets: &Secrets,
    account: Option<(&str, Option<&str>)>,
) -> Option<Probe> {
    let ((base, id), token) = account.zip(secrets.get(g.token))?;
    let url = format!("{}/{}", base.trim_end_matches('/'), id.unwrap_or_default());
    Some(match get(g.service, token, &url, g.query) {
        Ok(v) => Probe::Ok((g.who)(&v)),
        Err(e) => graph_failure(
            &e,
            g.token,
            g.perms,
            &format!("{}.{}", g.service, g.id_key),
            &format!("{}.graph_base", g.service),
        ),
    })
}

/// The token checks of every platform set up in `aie.yaml` whose token is set (a missing
/// token is the secrets check's to report). `aie_dir` holds X's rotated token.
pub fn checks(s: &Settings, secrets: &Secrets, aie_dir: &Path) -> Vec<TokenCheck> {
    let mut out = Vec::new();
    let mut push = |name: &str, probe: Probe| {
        out.push(TokenCheck {
            name: format!("{name} token"),
            probe,
        })
    };
    let fb = s
        .facebook
        .as_ref()
        .map(|c| (&*c.graph_base, c.page_id.as_deref()));
    if let Some(probe) = graph_probe(&social::FACEBOOK, secrets, fb) {
        push("facebook", probe);
    }
    let ig = s
        .instagram
        .as_ref()
        .map(|c| (&*c.graph_base, c.user_id.as_deref()));
    if let Some(probe) = graph_probe(&social::INSTAGRAM, secrets, ig) {
        push("instagram", probe);
    }
    if let (Some(x), Some(token)) = (&s.x, secrets.get("AIE_X_TOKEN")) {
        push("x", x_probe(&x.api_base, token, secrets, aie_dir));
    }
    if let (Some(li), Some(token)) = (&s.linkedin, secrets.get("AIE_LINKEDIN_TOKEN")) {
        let url = format!("{}/v2/userinfo", li.api_base.trim_end_matches('/'));
        let probe = match get("linkedin", token, &url, &[]) {
            Ok(v) => Probe::Ok(format!("reads the member `{}`", field(&v, "name"))),
            Err(HttpError::Status { code: 401, .. }) => Probe::Fail(
                "LinkedIn refused the token (401: expired or revoked; they last 60 days)".into(),
                "renew AIE_LINKEDIN_TOKEN (the app's OAuth flow, with w_member_social)".into(),
            ),
            // Reading the member needs `openid profile`; posting needs only w_member_social.
            Err(HttpError::Status { code: 403, .. }) => Probe::Warn(
                "the token is accepted but may not read the member (403: the `openid profile` scopes are not granted), so its posting scope is not confirmed".into(),
                "posting needs w_member_social (w_organization_social for an organization author); add `openid profile` to check it here".into(),
            ),
            Err(e) => transport(&e, "linkedin.api_base"),
        };
        push("linkedin", probe);
    }
    let wa = s.whatsapp.as_ref();
    let wa = wa.map(|c| (&*c.graph_base, c.phone_number_id.as_deref()));
    if let Some(probe) = graph_probe(&social::WHATSAPP, secrets, wa) {
        push("whatsapp", probe);
    }
    out
}

/// X: `GET /2/users/me` with the token aie posts with (the rotated one in `.aie/` when there
/// is one). A refused token is a failure unless aie can refresh it.
fn x_probe(base: &str, token: &str, secrets: &Secrets, aie_dir: &Path) -> Probe {
    let cached = crate::fsutil::read_regular_nofollow(&aie_dir.join("x_token.json"))
        .ok()
        .and_then(|(b, _)| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["access_token"].as_str().map(str::to_string))
        .filter(|t| !t.is_empty());
    let token = cached.as_deref().unwrap_or(token);
    let url = format!("{}/2/users/me", base.trim_end_matches('/'));
    let refreshes =
        secrets.get("AIE_X_REFRESH_TOKEN").is_some() && secrets.get("AIE_X_CLIENT_ID").is_some();
    match get("x", token, &url, &[]) {
        Ok(v) => {
            let d = &v["data"];
            Probe::Ok(format!("reads @{} ({})", field(d, "username"), field(d, "id")))
        }
        Err(HttpError::Status { code: 401, .. }) if refreshes => Probe::Warn(
            "X refused the access token (401: expired): aie refreshes it with AIE_X_REFRESH_TOKEN at the next post".into(),
            "nothing, unless posts fail; then authorise aie again and set AIE_X_TOKEN and AIE_X_REFRESH_TOKEN".into(),
        ),
        Err(HttpError::Status { code: 401, .. }) => Probe::Fail(
            "X refused the access token (401: expired or revoked; user tokens last 2 hours)".into(),
            "renew AIE_X_TOKEN, or set AIE_X_REFRESH_TOKEN and AIE_X_CLIENT_ID (scope offline.access) so aie refreshes it".into(),
        ),
        Err(HttpError::Status { code: 403, body, .. }) => Probe::Fail(
            format!("X refused the read (403: {})", super::social::clip(&body, 200)),
            "give the app Read and write permissions in its project and authorise it with the scopes tweet.read tweet.write users.read offline.access".into(),
        ),
        Err(HttpError::Status { code: 429, .. }) => Probe::Warn(
            "rate limited (429): the token could not be checked now".into(),
            "run doctor again later".into(),
        ),
        Err(e) => transport(&e, "x.api_base"),
    }
}
