//! Posts on X through the X API v2 (`x.api_base`): `POST /2/tweets` with an OAuth 2.0 user
//! token. The token is `AIE_X_TOKEN` until a refresh was needed; with `AIE_X_REFRESH_TOKEN`
//! and `AIE_X_CLIENT_ID` set, a refused token (401) is refreshed at `{x.api_base}/2/oauth2/token`
//! through [`super::oauth::OAuthSession`], which stores the rotated refresh token and the new
//! access token in `.aie/x_token.json` (mode 0600) before either is used, so a crash between
//! the refresh and the post never strands the account; the post is then sent once more (a
//! 401 means it was not taken). X's problem JSON (`title`, `detail`) is reported as it is:
//! the duplicate-content refusal fails the action; a 429 waits for a later pass until
//! `x-rate-limit-reset`. Also reads mentions for `poll-social`. No printing, no vault access.

use super::capabilities::{
    Connector, Finding, LiveCx, Probe, Publisher, Registered, SecretNeed, required,
};
use super::http::{Body, Http, HttpError, Request, retry_usual};
use super::oauth::{OAuthClient, OAuthSession};
use super::social;
use crate::actions::social_post;
use crate::config::Settings;
use crate::executor::ActionOutcome;
use crate::exit::AieError;
use crate::secrets::Secrets;
use anyhow::Result;
use serde_json::{Value, json};
use std::cell::Cell;
use std::path::Path;

const SECRETS: &[&str] = &["AIE_X_TOKEN", "AIE_X_REFRESH_TOKEN", "AIE_X_CLIENT_ID"];

/// The connector as `doctor` sees it.
pub const CONNECTOR: Registered = Connector::of_section("x", SECRETS, needs, check).with_live(live);

fn needs(s: &Settings) -> Option<Vec<SecretNeed>> {
    s.x.as_ref()?;
    let mut v = required(&SECRETS[..1]);
    v.extend(SECRETS[1..].iter().map(|&name| SecretNeed {
        name,
        optional: true,
    }));
    Some(v)
}

fn check(s: &Settings, secrets: &Secrets, root: &Path) -> Result<String> {
    Ok(match publisher(s, secrets, &root.join(".aie"))? {
        Some(p) => format!(
            "{} ({})",
            p.base,
            if p.session.is_some() {
                "the token is refreshed when it expires"
            } else {
                "no refresh token: the token lasts until it expires"
            }
        ),
        None => "not set up".into(),
    })
}

/// `GET /2/users/me` with the token aie posts with (see [`super::social_doctor`]).
fn live(cx: &LiveCx) -> Vec<Finding> {
    match publisher(cx.settings, cx.secrets, &cx.aie_dir()) {
        Ok(Some(p)) => vec![Finding::new("x token", p.probe())],
        _ => Vec::new(),
    }
}

/// Posts on one X account.
pub struct XPublisher {
    http: Http,
    pub base: String,
    token: String,
    session: Option<OAuthSession>,
}

/// The X publisher: `Ok(None)` without an `x:` section; a config error (exit 78) without
/// `AIE_X_TOKEN`. `aie_dir` holds the token cache.
pub fn publisher(
    settings: &Settings,
    secrets: &Secrets,
    aie_dir: &Path,
) -> Result<Option<XPublisher>> {
    let Some(x) = &settings.x else {
        return Ok(None);
    };
    let token = secrets.require("x", &SECRETS[..1])?.remove(0);
    let base = x.api_base.trim_end_matches('/').to_string();
    let cache = aie_dir.join("x_token.json");
    let session = match (
        secrets.get("AIE_X_REFRESH_TOKEN"),
        secrets.get("AIE_X_CLIENT_ID"),
    ) {
        (Some(r), Some(c)) => {
            let mut s = OAuthSession::new(
                "X",
                &format!("{base}/2/oauth2/token"),
                OAuthClient {
                    client_id: c.to_string(),
                    client_secret: None,
                },
                r.to_string(),
                &cache,
                "Authorise aie again in the X developer portal and set AIE_X_TOKEN and AIE_X_REFRESH_TOKEN",
            );
            s.rotates = true;
            Some(s)
        }
        (None, None) => None,
        _ => {
            return Err(AieError::Config(
                "x: AIE_X_REFRESH_TOKEN and AIE_X_CLIENT_ID go together: set both or neither"
                    .into(),
            )
            .into());
        }
    };
    Ok(Some(XPublisher {
        http: social::client("x", &token),
        base,
        token,
        session,
    }))
}

/// The text of X's problem JSON (`{"title","detail","type","status"}`) or of its older
/// `errors` list, else the raw body.
fn problem(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    if let Some(d) = v["detail"].as_str() {
        return format!("{}: {d}", v["title"].as_str().unwrap_or("error"));
    }
    if let Some(m) = v["errors"][0]["message"].as_str() {
        return m.to_string();
    }
    social::clip(body.trim(), 300)
}

/// Sends with `token` and, when X refuses it (401: nothing was done) and a refresh token is
/// set, renews it and sends once more ([`OAuthSession::send_renewing`]); without a refresh
/// token the answer stands. The error: the token could not be renewed.
fn renewing<T>(
    session: Option<&mut OAuthSession>,
    http: &Http,
    token: String,
    mut send: impl FnMut(&str) -> std::result::Result<T, HttpError>,
) -> std::result::Result<std::result::Result<T, HttpError>, String> {
    let Some(session) = session else {
        return Ok(send(&token));
    };
    let refused = |e: &HttpError| matches!(e, HttpError::Status { code: 401, .. });
    session
        .send_renewing(http, Some(token), send, refused)
        .map_err(|e| format!("x: the token was refused and could not be refreshed: {e:#}"))
}

impl XPublisher {
    /// The access token to use first: the cached one once a refresh happened, else
    /// `AIE_X_TOKEN`.
    fn current_token(&mut self) -> std::result::Result<String, ActionOutcome> {
        match &mut self.session {
            Some(s) if s.has_cached_grant() => s.access_token(&self.http).map_err(|e| {
                ActionOutcome::Unreachable(format!("x: cannot get an access token: {e:#}"))
            }),
            _ => Ok(self.token.clone()),
        }
    }

    /// The account as the token aie posts with reads it (the rotated one when a refresh
    /// happened): a refused token fails unless aie can refresh it.
    fn probe(&self) -> Probe {
        let cached = self.session.as_ref().and_then(OAuthSession::peek);
        let token = cached.as_deref().unwrap_or(&self.token);
        let url = format!("{}/2/users/me", self.base);
        match super::social_doctor::get("x", token, &url, &[]) {
            Ok(v) => {
                let d = &v["data"];
                Probe::Ok(format!(
                    "reads @{} ({})",
                    social::field(d, "username"),
                    social::field(d, "id")
                ))
            }
            Err(HttpError::Status { code: 401, .. }) if self.session.is_some() => Probe::Warn(
                "X refused the access token (401: expired): aie refreshes it with AIE_X_REFRESH_TOKEN at the next post".into(),
                "nothing, unless posts fail; then authorise aie again and set AIE_X_TOKEN and AIE_X_REFRESH_TOKEN".into(),
            ),
            Err(HttpError::Status { code: 401, .. }) => Probe::Fail(
                "X refused the access token (401: expired or revoked; user tokens last 2 hours)".into(),
                Some("renew AIE_X_TOKEN, or set AIE_X_REFRESH_TOKEN and AIE_X_CLIENT_ID (scope offline.access) so aie refreshes it".into()),
            ),
            Err(HttpError::Status { code: 403, body, .. }) => Probe::Fail(
                format!("X refused the read (403: {})", social::clip(&body, 200)),
                Some("give the app Read and write permissions in its project and authorise it with the scopes tweet.read tweet.write users.read offline.access".into()),
            ),
            Err(HttpError::Status { code: 429, .. }) => Probe::Warn(
                "rate limited (429): the token could not be checked now".into(),
                "run doctor again later".into(),
            ),
            Err(e) => super::social_doctor::transport(&e, "x.api_base"),
        }
    }

    /// Posts `body` with `token` first; a refused token (401: the post was not taken) is
    /// refreshed, when a refresh token is set, and the post sent once more.
    fn post(
        &mut self,
        token: String,
        body: &Value,
        reset: &Cell<Option<String>>,
    ) -> std::result::Result<Result<Value, HttpError>, ActionOutcome> {
        let (http, url) = (&self.http, format!("{}/2/tweets", self.base));
        let send = |token: &str| {
            let auth = format!("Bearer {token}");
            let headers = [("Authorization", auth.as_str())];
            let req = Request {
                headers: &headers,
                ..Request::post(&url, Body::Json(body), false)
            };
            let judge = |r: &super::http::Reply| {
                reset.set(r.header("x-rate-limit-reset").map(str::to_string));
                social::judge(r)
            };
            http.send(&req, &judge).map(|r| r.json())
        };
        renewing(self.session.as_mut(), http, token, send).map_err(ActionOutcome::Failed)
    }

    /// One GET of `{x.api_base}{path}` with the current token; a refused token (401: an
    /// access token lasts 2 hours) is refreshed, when a refresh token is set, and the read
    /// made once more, as a post's is.
    fn get(&mut self, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        let token = self
            .current_token()
            .map_err(|_| AieError::Unavailable("x: no usable access token".into()))?;
        let (http, url) = (&self.http, format!("{}{path}", self.base));
        let send = |token: &str| {
            let auth = format!("Bearer {token}");
            let headers = [("Authorization", auth.as_str())];
            let req = Request {
                headers: &headers,
                query,
                ..Request::get(&url)
            };
            http.send(&req, &retry_usual)
        };
        match renewing(self.session.as_mut(), http, token, send).map_err(AieError::Unavailable)? {
            Ok(r) => Ok(r.json()),
            Err(HttpError::Status { code, body, .. }) if (400..500).contains(&code) => Err(
                AieError::Unavailable(format!("x: `{path}` answered {code}: {}", problem(&body)))
                    .into(),
            ),
            Err(e) => Err(AieError::Unavailable(format!("x: cannot read `{path}`: {e}")).into()),
        }
    }

    /// The account's user id (`GET /2/users/me`).
    pub fn me(&mut self) -> Result<String> {
        let v = self.get("/2/users/me", &[])?;
        match v["data"]["id"].as_str() {
            Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(id.to_string())
            }
            _ => Err(AieError::Unavailable("x: `/2/users/me` carried no user id".into()).into()),
        }
    }

    /// Mentions of `user_id` newer than `since_id`, oldest first: (id, author id, author
    /// username, text, created_at), and the newest id X reports (`meta.newest_id`).
    pub fn mentions(
        &mut self,
        user_id: &str,
        since_id: Option<&str>,
    ) -> Result<(Vec<[String; 5]>, Option<String>)> {
        let mut query = vec![
            ("tweet.fields", "created_at,author_id"),
            ("expansions", "author_id"),
            ("user.fields", "username"),
            ("max_results", "100"),
        ];
        if let Some(s) = since_id {
            query.push(("since_id", s));
        }
        let v = self.get(&format!("/2/users/{user_id}/mentions"), &query)?;
        let username = |id: &str| {
            v["includes"]["users"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|u| u["id"].as_str() == Some(id))
                .and_then(|u| u["username"].as_str())
                .unwrap_or("")
                .to_string()
        };
        let mut out: Vec<[String; 5]> = v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                let s = |k: &str| t[k].as_str().unwrap_or("").to_string();
                let author = s("author_id");
                let name = username(&author);
                [s("id"), author, name, s("text"), s("created_at")]
            })
            .collect();
        // Ids grow with time: the oldest first.
        out.sort_by(|a, b| (a[0].len(), &a[0]).cmp(&(b[0].len(), &b[0])));
        Ok((out, v["meta"]["newest_id"].as_str().map(str::to_string)))
    }
}

impl Publisher for XPublisher {
    fn publish(&mut self, post: &social_post::Params, _key: &str) -> ActionOutcome {
        if !crate::actions::text(&post.image_url).trim().is_empty() {
            return ActionOutcome::Failed(
                "x: aie does not upload images to X: put the image's link in the text, or post it by hand; nothing was sent".into(),
            );
        }
        let mut body = json!({"text": crate::actions::text(&post.text)});
        let reply_to = crate::actions::text(&post.reply_to).trim();
        if !reply_to.is_empty() {
            if !reply_to.bytes().all(|b| b.is_ascii_digit()) || reply_to.len() > 20 {
                return ActionOutcome::Failed(format!(
                    "x: `{}` is not a post id: nothing was sent",
                    social::clip(reply_to, 40)
                ));
            }
            body["reply"] = json!({"in_reply_to_tweet_id": reply_to});
        }
        let token = match self.current_token() {
            Ok(t) => t,
            Err(o) => return o,
        };
        let reset = Cell::new(None);
        let answer = match self.post(token, &body, &reset) {
            Ok(a) => a,
            Err(o) => return o,
        };
        match answer {
            Ok(v) => {
                let id = v["data"]["id"].as_str().unwrap_or("");
                if id.is_empty() {
                    return ActionOutcome::Unknown(
                        "x: the answer carried no post id: check the account".into(),
                    );
                }
                ActionOutcome::Ok(format!("x post {id} https://x.com/i/web/status/{id}"))
            }
            Err(HttpError::Status {
                code: 401, body: b, ..
            }) if self.session.is_none() => ActionOutcome::Failed(format!(
                "x: the access token was refused ({}): renew `AIE_X_TOKEN`, or set AIE_X_REFRESH_TOKEN and AIE_X_CLIENT_ID",
                problem(&b)
            )),
            Err(HttpError::Status { code: 429, .. }) => {
                let when = reset
                    .take()
                    .and_then(|r| r.trim().parse::<i64>().ok())
                    .and_then(|r| chrono::DateTime::from_timestamp(r, 0))
                    .map(|t| format!(" (the limit resets at {})", t.to_rfc3339()))
                    .unwrap_or_default();
                ActionOutcome::Retry(format!(
                    "x: rate limited{when}: the post waits for a later pass"
                ))
            }
            Err(HttpError::Status { code, body: b, .. }) if (400..500).contains(&code) => {
                ActionOutcome::Failed(format!("x: answered {code}: {}", problem(&b)))
            }
            Err(e) => super::http::action_outcome(&e, "x"),
        }
    }
}
