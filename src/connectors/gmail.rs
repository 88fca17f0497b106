//! The Gmail API v1 client: the calls poll-gmail needs (profile, messages.list with pages,
//! history.list, messages.get raw, modify, labels) over the shared HTTP layer, signed in
//! through [`super::oauth`] (the access token cached in `.aie/gmail_token.json`, never the
//! vault). Rate limits (429, 403 rate reasons) and 5xx answers are retried with backoff and
//! jitter, honouring `Retry-After` and Google's "Retry after <time>", but never past the
//! run's deadline. A revoked refresh token (`invalid_grant`) is [`AieError::Unavailable`]
//! (exit 69) telling the owner to run `aie auth gmail`; an unknown client is a config error.
//! No vault access, no printing.

use super::capabilities::{Connector, Finding, LiveCx, Mailbox, Marking, Registered, required};
use super::http::{Body, Http, HttpError, Reply, Request, RetryPolicy, Verdict};
use super::oauth::{OAuthClient, OAuthSession};
use crate::config::GmailSettings;
use crate::exit::AieError;
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Largest JSON body read (a 25 MB message is ~34 MB of base64url in `raw`).
const MAX_BODY: u64 = 96 * 1024 * 1024;

/// What the owner does when Google refuses the refresh token.
const REAUTHORISE: &str = "Run `aie auth gmail` to authorise aie again and put the new AIE_GMAIL_REFRESH_TOKEN in the secrets file";

/// The OAuth client (`aie auth gmail` needs only these two).
pub const CLIENT_SECRETS: &[&str] = &["AIE_GMAIL_CLIENT_ID", "AIE_GMAIL_CLIENT_SECRET"];
/// The refresh token `aie auth gmail` prints.
pub const REFRESH_SECRET: &str = "AIE_GMAIL_REFRESH_TOKEN";

/// The OAuth secrets Gmail needs (SPEC).
pub const SECRETS: &[&str] = &[CLIENT_SECRETS[0], CLIENT_SECRETS[1], REFRESH_SECRET];

/// The Gmail connector: the `gmail:` section and its three OAuth secrets.
pub const CONNECTOR: Registered = Connector::of_section(
    "gmail",
    SECRETS,
    |s| s.gmail.as_ref().map(|_| required(SECRETS)),
    check,
)
.with_live(live);

/// An access token, cached or refreshed: the grant still works.
fn live(cx: &LiveCx) -> Vec<Finding> {
    let Some(g) = &cx.settings.gmail else {
        return Vec::new();
    };
    let r = GmailClient::from_secrets(g, cx.secrets, &cx.aie_dir(), cx.time_left)
        .and_then(|mut c| c.token_check())
        .map(|()| "the Gmail token is valid".to_string())
        .map_err(|e| format!("{e:#}"));
    vec![Finding::passed_or("gmail token", r, REAUTHORISE)]
}

/// The settings and secrets make a client (no network): the secrets are there, `gmail.mark`
/// is known and the URLs are http(s).
fn check(
    s: &crate::config::Settings,
    secrets: &crate::secrets::Secrets,
    _vault_root: &Path,
) -> Result<String> {
    let Some(g) = &s.gmail else {
        return Ok("not set up".into());
    };
    secrets.require("gmail", SECRETS)?;
    for (key, url) in [
        ("gmail.api_base", &g.api_base),
        ("gmail.token_url", &g.token_url),
    ] {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(AieError::Config(format!("{key} `{url}` is not an http(s) URL")).into());
        }
    }
    Ok(format!(
        "API at {}, tokens from {}",
        super::url_host(&g.api_base),
        super::url_host(&g.token_url)
    ))
}

/// Gmail is the owner's [`Mailbox`]: its cursor is a history id, its changes
/// `history.list`, a mark is a `messages.batchModify` removing `UNREAD` and adding the label.
impl Mailbox for GmailClient {
    fn cursor(&mut self) -> Result<String> {
        self.history_id()
    }

    fn list(&mut self, query: &str) -> Result<Vec<String>> {
        self.list_messages(query)
    }

    fn changes_since(
        &mut self,
        cursor: &str,
        query: &str,
    ) -> Result<Option<(Vec<String>, String)>> {
        found(self.history_since(cursor, query))
    }

    fn fetch(&mut self, id: &str) -> Result<Option<(Vec<u8>, String)>> {
        found(self.raw_message(id))
    }

    fn label(&mut self, name: &str) -> Result<String> {
        self.label_id(name)
    }

    fn mark(&mut self, ids: &[String], how: &Marking) -> Result<()> {
        let add: Vec<String> = how.label.iter().cloned().collect();
        let remove: Vec<String> = if how.read {
            vec!["UNREAD".to_string()]
        } else {
            Vec::new()
        };
        self.batch_modify(ids, &add, &remove)
    }

    fn calls(&self) -> u64 {
        GmailClient::calls(self)
    }
}

/// `r`, with a 404 ([`GmailError::NotFound`]: a history id too old, a message deleted) as
/// None.
fn found<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e)
            if e.downcast_ref::<GmailError>()
                .is_some_and(|g| matches!(g, GmailError::NotFound(_))) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// An answer of the Gmail API that is not a success, typed where the caller reacts to it.
#[derive(Debug, thiserror::Error)]
pub enum GmailError {
    /// 404: a history id too old, or a message deleted since it was listed.
    #[error("not found (404): {0}")]
    NotFound(String),
    #[error("gmail answered {status} {reason}: {message}")]
    Api {
        status: u16,
        reason: String,
        message: String,
    },
}

/// A Gmail API client for one run.
pub struct GmailClient {
    http: Http,
    base: String,
    oauth: OAuthSession,
}

/// Seconds since the epoch by the real clock (Google's "Retry after" is a real time).
fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The wait a rate-limit answer asks for: the `Retry-After` header (seconds or an HTTP
/// date), or Google's "Retry after <RFC 3339>" in the error message.
pub fn retry_after(header: Option<&str>, body: &Value) -> Option<Duration> {
    if let Some(d) = super::http::retry_after(None, header) {
        return Some(d);
    }
    let msg = body["error"]["message"].as_str().unwrap_or("");
    let at = msg
        .split("Retry after ")
        .nth(1)?
        .split_whitespace()
        .next()?;
    let t = chrono::DateTime::parse_from_rfc3339(at).ok()?;
    // A time already past asks for no wait: the usual backoff applies.
    let ms = u64::try_from(t.timestamp_millis() - (epoch_now() as i64) * 1000).ok()?;
    Some(Duration::from_millis(ms)).filter(|d| !d.is_zero())
}

/// Whether a status and reason mean "slow down and try again".
fn retryable(status: u16, reason: &str) -> bool {
    status == 429
        || status >= 500
        || (status == 403
            && matches!(
                reason,
                "rateLimitExceeded" | "userRateLimitExceeded" | "backendError"
            ))
}

/// Google's judgement of a failed answer, for the HTTP layer.
fn judge(r: &Reply) -> Verdict {
    let body = r.json();
    let (reason, _) = error_reason(&body);
    if retryable(r.status, &reason) {
        Verdict::Retry(retry_after(r.header("retry-after"), &body))
    } else {
        Verdict::Stop
    }
}

fn error_reason(body: &Value) -> (String, String) {
    let e = &body["error"];
    if let Some(s) = e.as_str() {
        // OAuth form: {"error": "invalid_grant", "error_description": "..."}
        return (
            s.to_string(),
            body["error_description"].as_str().unwrap_or("").to_string(),
        );
    }
    let reason = e["errors"][0]["reason"]
        .as_str()
        .or_else(|| e["status"].as_str())
        .unwrap_or("")
        .to_string();
    (reason, e["message"].as_str().unwrap_or("").to_string())
}

impl GmailClient {
    /// A client for `settings`, caching its access token in `aie_dir`. `time_left` is the
    /// run's deadline: no wait between attempts goes past it.
    pub fn new(
        settings: &GmailSettings,
        oauth: OAuthClient,
        refresh_token: String,
        aie_dir: &Path,
        time_left: Option<Duration>,
    ) -> GmailClient {
        let base = settings.api_base.trim_end_matches('/');
        let base = if base.ends_with("/gmail/v1") {
            format!("{base}/users/me")
        } else {
            format!("{base}/gmail/v1/users/me")
        };
        GmailClient {
            http: Http::new(
                "gmail",
                Duration::from_secs(settings.timeout_seconds.max(1)),
                RetryPolicy::GOOGLE,
                time_left.map(|d| Instant::now() + d),
            ),
            base,
            oauth: OAuthSession::new(
                "Google",
                &settings.token_url,
                oauth,
                refresh_token,
                &aie_dir.join("gmail_token.json"),
                REAUTHORISE,
            ),
        }
    }

    /// The client of `settings` with the OAuth secrets (see [`GmailClient::new`]). Errors:
    /// a missing secret (exit 78).
    pub fn from_secrets(
        settings: &GmailSettings,
        secrets: &crate::secrets::Secrets,
        aie_dir: &Path,
        time_left: Option<Duration>,
    ) -> Result<GmailClient> {
        let [id, secret, refresh]: [String; 3] = secrets
            .require("gmail", SECRETS)?
            .try_into()
            .expect("invariant: one value per secret");
        let client = OAuthClient {
            client_id: id,
            client_secret: Some(secret),
        };
        Ok(GmailClient::new(
            settings, client, refresh, aie_dir, time_left,
        ))
    }

    /// An access token: the cached one while valid, else a refresh (what `health-check`
    /// asks of Gmail). Errors as [`OAuthSession::refresh`].
    pub fn token_check(&mut self) -> Result<()> {
        self.oauth.access_token(&self.http).map(|_| ())
    }

    /// How many HTTP calls this client made (for the pass's counts).
    pub fn calls(&self) -> u64 {
        self.http.calls()
    }

    /// One API call with retries. `path` is under `users/me`.
    pub fn call(
        &mut self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let url = format!("{}/{}", self.base, path.trim_start_matches('/'));
        let empty = json!({});
        let http = &self.http;
        let send = |token: &str| {
            let auth = format!("Bearer {token}");
            let headers = [("Authorization", auth.as_str())];
            // Every call aie makes is safe to repeat: reads, label changes, and a label
            // creation whose repeat answers 409 (handled by `label_id`).
            let req = Request {
                query,
                headers: &headers,
                max_body: MAX_BODY,
                ..if method == "POST" {
                    Request::post(&url, Body::Json(body.unwrap_or(&empty)), true)
                } else {
                    Request::get(&url)
                }
            };
            http.send(&req, &judge)
        };
        let refused = |e: &HttpError| matches!(e, HttpError::Status { code: 401, .. });
        let reply = match self.oauth.send_renewing(http, None, send, refused)? {
            Ok(r) => r,
            Err(HttpError::Status {
                code,
                body,
                gave_up,
                ..
            }) => {
                let (reason, mut message) =
                    error_reason(&serde_json::from_str(&body).unwrap_or(Value::Null));
                if code == 404 {
                    return Err(GmailError::NotFound(message).into());
                }
                if let Some(g) = gave_up {
                    message = format!("{message} ({g})");
                }
                return Err(GmailError::Api {
                    status: code,
                    reason,
                    message,
                }
                .into());
            }
            Err(e) => {
                return Err(AieError::Unavailable(format!(
                    "cannot reach the Gmail API at `{}`: {e}",
                    super::url_host(&url)
                ))
                .into());
            }
        };
        let value: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        if value.is_null() && !reply.body.is_empty() {
            anyhow::bail!("gmail answered {method} {path} with something that is not JSON");
        }
        Ok(value)
    }

    /// The mailbox's current history id (`users.getProfile`).
    pub fn history_id(&mut self) -> Result<String> {
        let v = self.call("GET", "profile", &[], None)?;
        id_string(&v["historyId"]).context("the profile has no historyId")
    }

    /// Ids of every message matching `q`, all pages.
    pub fn list_messages(&mut self, q: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut query = vec![("q", q), ("maxResults", "500")];
            if let Some(p) = &page {
                query.push(("pageToken", p.as_str()));
            }
            let v = self.call("GET", "messages", &query, None)?;
            if let Some(list) = v["messages"].as_array() {
                out.extend(
                    list.iter()
                        .filter_map(|m| m["id"].as_str())
                        .filter(|id| usable_id(id))
                        .map(str::to_string),
                );
            }
            match v["nextPageToken"].as_str() {
                Some(p) if !p.is_empty() => page = Some(p.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// Messages added since `start`, all pages, and the history id to continue from. Mail
    /// aie should not read (sent, drafts, spam, trash) is left out. A 404 (the id expired)
    /// comes back as [`GmailError::NotFound`].
    pub fn history_since(&mut self, start: &str, query: &str) -> Result<(Vec<String>, String)> {
        let required = query_labels(query);
        let mut out: Vec<String> = Vec::new();
        let mut page: Option<String> = None;
        let mut last = start.to_string();
        loop {
            let mut query = vec![("startHistoryId", start), ("historyTypes", "messageAdded")];
            if let Some(p) = &page {
                query.push(("pageToken", p.as_str()));
            }
            let v = self.call("GET", "history", &query, None)?;
            for h in v["history"].as_array().into_iter().flatten() {
                for added in h["messagesAdded"].as_array().into_iter().flatten() {
                    let m = &added["message"];
                    let labels: Vec<&str> = m["labelIds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    if labels
                        .iter()
                        .any(|l| matches!(*l, "SENT" | "DRAFT" | "SPAM" | "TRASH" | "CHAT"))
                        || (!labels.is_empty()
                            && !required.iter().all(|r| labels.contains(&r.as_str())))
                    {
                        continue;
                    }
                    if let Some(id) = m["id"].as_str()
                        && usable_id(id)
                        && !out.iter().any(|x| x == id)
                    {
                        out.push(id.to_string());
                    }
                }
            }
            if let Some(h) = id_string(&v["historyId"]) {
                last = h;
            }
            match v["nextPageToken"].as_str() {
                Some(p) if !p.is_empty() => page = Some(p.to_string()),
                _ => return Ok((out, last)),
            }
        }
    }

    /// The whole RFC 822 message (`format=raw`), decoded, with its thread id.
    pub fn raw_message(&mut self, id: &str) -> Result<(Vec<u8>, String)> {
        check_message_id(id)?;
        let v = self.call("GET", &format!("messages/{id}"), &[("format", "raw")], None)?;
        raw_from_json(&v)
    }

    /// Adds and removes label ids on a message (`messages.modify`).
    pub fn modify(&mut self, id: &str, add: &[String], remove: &[String]) -> Result<()> {
        check_message_id(id)?;
        let body = json!({"addLabelIds": add, "removeLabelIds": remove});
        self.call("POST", &format!("messages/{id}/modify"), &[], Some(&body))?;
        Ok(())
    }

    /// Adds and removes label ids on many messages at once (`messages.batchModify`, up to
    /// 1,000 ids a call).
    pub fn batch_modify(
        &mut self,
        ids: &[String],
        add: &[String],
        remove: &[String],
    ) -> Result<()> {
        for chunk in ids.chunks(1000) {
            let body = json!({"ids": chunk, "addLabelIds": add, "removeLabelIds": remove});
            self.call("POST", "messages/batchModify", &[], Some(&body))?;
        }
        Ok(())
    }

    /// The id of the user label `name`, created when it does not exist yet.
    pub fn label_id(&mut self, name: &str) -> Result<String> {
        let find = |v: &Value| {
            v["labels"].as_array().and_then(|ls| {
                ls.iter()
                    .find(|l| {
                        l["name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(name))
                    })
                    .and_then(|l| l["id"].as_str().map(str::to_string))
            })
        };
        let v = self.call("GET", "labels", &[], None)?;
        if let Some(id) = find(&v) {
            return Ok(id);
        }
        let body = json!({"name": name, "labelListVisibility": "labelShow", "messageListVisibility": "show"});
        match self.call("POST", "labels", &[], Some(&body)) {
            Ok(v) => v["id"]
                .as_str()
                .map(str::to_string)
                .context("the created label has no id"),
            Err(e)
                if e.downcast_ref::<GmailError>()
                    .is_some_and(|g| matches!(g, GmailError::Api { status: 409, .. })) =>
            {
                // Made meanwhile (or a case-insensitive clash): list again.
                let v = self.call("GET", "labels", &[], None)?;
                find(&v).with_context(|| format!("label `{name}` exists but cannot be found"))
            }
            Err(e) => Err(e),
        }
    }
}

/// The system labels a Gmail query requires (`is:unread` -> UNREAD, `is:important`,
/// `is:starred`, `in:inbox`), so history.list, which has no query, keeps to what the query
/// would list. Other query terms are not checked there.
pub fn query_labels(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .filter_map(|t| match t.to_ascii_lowercase().as_str() {
            "is:unread" => Some("UNREAD"),
            "is:important" => Some("IMPORTANT"),
            "is:starred" => Some("STARRED"),
            "in:inbox" => Some("INBOX"),
            _ => None,
        })
        .map(str::to_string)
        .collect()
}

/// Whether a Gmail message id is safe to put into a URL path and an item file name
/// (`gmail-<id>.md`): Gmail's are hex; anything else is refused before it is used.
pub fn valid_message_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// [`valid_message_id`] as an error naming the id.
fn check_message_id(id: &str) -> Result<()> {
    if valid_message_id(id) {
        return Ok(());
    }
    anyhow::bail!(
        "gmail message id {:?} is not a plain id: refused",
        id.chars().take(60).collect::<String>()
    )
}

/// A listed message id that can be used; an odd one is logged and left out.
fn usable_id(id: &str) -> bool {
    let ok = valid_message_id(id);
    if !ok {
        log::warn!(
            "gmail: message id {:?} is not a plain id: skipped",
            id.chars().take(60).collect::<String>()
        );
    }
    ok
}

/// A `format=raw` message resource: the RFC 822 bytes it carries, decoded, and its thread id.
pub fn raw_from_json(v: &Value) -> Result<(Vec<u8>, String)> {
    let raw = v["raw"]
        .as_str()
        .context("the message has no `raw` content")?;
    let bytes = super::mime::decode_base64url(raw)?;
    Ok((bytes, v["threadId"].as_str().unwrap_or("").to_string()))
}

/// A Gmail id field, which is a JSON string (uint64) but tolerated as a number.
fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_from_header_or_google_message() {
        assert_eq!(
            retry_after(Some("3"), &Value::Null),
            Some(Duration::from_secs(3))
        );
        let body = json!({"error": {"message": "User-rate limit exceeded.  Retry after 2000-01-01T00:00:00.000Z"}});
        assert_eq!(retry_after(None, &body), None);
        let later = chrono::Utc::now() + chrono::Duration::seconds(30);
        let body = json!({"error": {"message": format!("Retry after {}", later.to_rfc3339())}});
        let d = retry_after(None, &body).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(31),
            "{d:?}"
        );
        assert_eq!(retry_after(None, &json!({})), None);
    }

    // A message id from the server reached a URL and the path `gmail-<id>.md` unchecked.
    #[test]
    fn odd_message_ids_are_refused() {
        assert!(valid_message_id("18c2f0a9b3e4d5c6"));
        for id in ["", "../../x", "a/b", "a.b", "a%2f", "a b", &"f".repeat(65)] {
            assert!(!valid_message_id(id), "{id}");
        }
    }

    #[test]
    fn query_terms_become_required_labels() {
        assert_eq!(
            query_labels("is:unread is:important"),
            ["UNREAD", "IMPORTANT"]
        );
        assert_eq!(query_labels("from:x IN:INBOX"), ["INBOX"]);
        assert!(query_labels("").is_empty());
    }

    #[test]
    fn which_answers_are_retried() {
        assert!(retryable(429, "rateLimitExceeded"));
        assert!(retryable(500, "backendError"));
        assert!(retryable(403, "userRateLimitExceeded"));
        assert!(!retryable(403, "insufficientPermissions"));
        assert!(!retryable(400, "badRequest"));
    }

    #[test]
    fn oauth_and_api_error_shapes() {
        let oauth = json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."});
        assert_eq!(error_reason(&oauth).0, "invalid_grant");
        let api = json!({"error": {"code": 429, "message": "m", "errors": [{"reason": "rateLimitExceeded"}]}});
        assert_eq!(error_reason(&api), ("rateLimitExceeded".into(), "m".into()));
    }
}
