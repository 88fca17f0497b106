//! The Gmail API v1 client: OAuth2 refresh-token grant with the access token cached in
//! `.aie/gmail_token.json` (never the vault) until it expires, and the calls poll-gmail
//! needs (profile, messages.list with pages, history.list, messages.get raw, modify,
//! labels). Rate limits (429, 403 rate reasons) and 5xx answers are retried with backoff
//! and jitter, honouring `Retry-After`, but never past the run's deadline. A revoked refresh
//! token (`invalid_grant`) is [`AieError::Unavailable`] (exit 69) telling the owner to run
//! `aie auth gmail`; an unknown client is a config error. No vault access, no printing.

use crate::config::GmailSettings;
use crate::exit::AieError;
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How many times one call is tried before its error is returned.
const MAX_ATTEMPTS: u32 = 6;
/// Largest JSON body read (a 25 MB message is ~34 MB of base64url in `raw`).
const MAX_BODY: u64 = 96 * 1024 * 1024;
/// Longest single wait between attempts.
const MAX_WAIT: Duration = Duration::from_secs(64);
/// Longest total waiting in one run when there is no deadline.
const MAX_TOTAL_WAIT: Duration = Duration::from_secs(180);

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

/// The three OAuth secrets.
#[derive(Clone)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
}

/// A Gmail API client for one run.
pub struct GmailClient {
    agent: ureq::Agent,
    base: String,
    token_url: String,
    oauth: OAuthClient,
    refresh_token: String,
    cache_path: PathBuf,
    token: Option<String>,
    deadline: Option<Instant>,
    waited: Duration,
    /// How many HTTP calls this client made (for the pass's counts).
    pub calls: u64,
}

/// Seconds since the epoch by the real clock (token expiry is judged by Google's clock).
fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Random bytes from the kernel (PKCE verifiers, OAuth state, jitter).
pub fn random_bytes(n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_err()
    {
        // Never used for secrets on a system without /dev/urandom: aie needs Linux anyway.
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            ^ u128::from(std::process::id());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8;
        }
    }
    buf
}

/// `base/2 + random(0..base/2)`: exponential backoff with jitter, capped.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(500u64.saturating_mul(1 << attempt.min(7))).min(MAX_WAIT);
    let r = random_bytes(2);
    let frac = f64::from(u16::from_le_bytes([r[0], r[1]])) / f64::from(u16::MAX);
    base / 2 + (base / 2).mul_f64(frac)
}

/// The wait a rate-limit answer asks for: the `Retry-After` header (seconds or an HTTP
/// date), or Google's "Retry after <RFC 3339>" in the error message.
pub fn retry_after(header: Option<&str>, body: &Value) -> Option<Duration> {
    if let Some(h) = header.map(str::trim) {
        if let Ok(s) = h.parse::<f64>()
            && s.is_finite()
            && s >= 0.0
        {
            return Some(Duration::from_secs_f64(s));
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc2822(h) {
            let secs = t.timestamp() - epoch_now() as i64;
            return Some(Duration::from_secs(secs.max(0) as u64));
        }
    }
    let msg = body["error"]["message"].as_str().unwrap_or("");
    let at = msg
        .split("Retry after ")
        .nth(1)?
        .split_whitespace()
        .next()?;
    let t = chrono::DateTime::parse_from_rfc3339(at).ok()?;
    let ms = t.timestamp_millis() - (epoch_now() as i64) * 1000;
    Some(Duration::from_millis(ms.max(0) as u64))
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
            agent: super::http_agent(Duration::from_secs(settings.timeout_seconds.max(1))),
            base,
            token_url: settings.token_url.clone(),
            oauth,
            refresh_token,
            cache_path: aie_dir.join("gmail_token.json"),
            token: None,
            deadline: time_left.map(|d| Instant::now() + d),
            waited: Duration::ZERO,
            calls: 0,
        }
    }

    /// Waits `d` before the next attempt, or says why it may not (past the deadline).
    fn wait(&mut self, d: Duration, what: &str) -> Result<()> {
        let d = d.min(MAX_WAIT);
        if let Some(end) = self.deadline {
            if Instant::now() + d > end {
                anyhow::bail!(
                    "{what}: the next try (in {:.1} s) would be past the run's deadline",
                    d.as_secs_f64()
                );
            }
        } else if self.waited + d > MAX_TOTAL_WAIT {
            anyhow::bail!(
                "{what}: still failing after {} s of retries",
                self.waited.as_secs()
            );
        }
        log::info!("gmail: {what}: retrying in {:.1} s", d.as_secs_f64());
        std::thread::sleep(d);
        self.waited += d;
        Ok(())
    }

    /// The access token: the cached one while it is valid, else a fresh one.
    fn access_token(&mut self) -> Result<String> {
        if let Some(t) = &self.token {
            return Ok(t.clone());
        }
        if let Ok(text) = std::fs::read_to_string(&self.cache_path)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
            && v["client_id"].as_str() == Some(self.oauth.client_id.as_str())
            && v["token_url"].as_str() == Some(self.token_url.as_str())
            && v["grant"].as_str() == Some(self.grant_hash().as_str())
            && v["expires_at"]
                .as_u64()
                .is_some_and(|e| e > epoch_now() + 60)
            && let Some(t) = v["access_token"].as_str()
        {
            self.token = Some(t.to_string());
            return Ok(t.to_string());
        }
        self.refresh()
    }

    /// Which refresh token a cached access token came from (a hash, never the token).
    fn grant_hash(&self) -> String {
        use sha2::Digest as _;
        crate::vault::item::hex(&sha2::Sha256::digest(self.refresh_token.as_bytes())[..8])
    }

    /// Trades the refresh token for an access token and caches it (mode 0600).
    fn refresh(&mut self) -> Result<String> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.calls += 1;
            let started = Instant::now();
            let res = self.agent.post(&self.token_url).send_form([
                ("client_id", self.oauth.client_id.as_str()),
                ("client_secret", self.oauth.client_secret.as_str()),
                ("refresh_token", self.refresh_token.as_str()),
                ("grant_type", "refresh_token"),
            ]);
            let mut resp = match res {
                Ok(r) => r,
                Err(e) => {
                    if attempt < MAX_ATTEMPTS {
                        self.wait(backoff(attempt), "token endpoint unreachable")?;
                        continue;
                    }
                    return Err(AieError::Unavailable(format!(
                        "cannot reach the Google token endpoint `{}`: {e}",
                        super::url_host(&self.token_url)
                    ))
                    .into());
                }
            };
            let status = resp.status().as_u16();
            log::debug!(
                "gmail POST {}{} {status} {} ms",
                super::url_host(&self.token_url),
                super::url_path(&self.token_url),
                started.elapsed().as_millis()
            );
            let ra = resp
                .headers()
                .get("retry-after")
                .and_then(|h| h.to_str().ok())
                .map(str::to_string);
            let body: Value = resp.body_mut().read_json().unwrap_or(Value::Null);
            if (200..300).contains(&status) {
                let token = body["access_token"]
                    .as_str()
                    .context("the token endpoint answered without an access_token")?
                    .to_string();
                let expires_in = body["expires_in"].as_u64().unwrap_or(3599);
                let cache = json!({
                    "access_token": token,
                    "expires_at": epoch_now() + expires_in,
                    "client_id": self.oauth.client_id,
                    "token_url": self.token_url,
                    "grant": self.grant_hash(),
                });
                if let Err(e) = write_private(&self.cache_path, &cache) {
                    log::warn!("cannot cache the Gmail access token: {e:#}");
                }
                self.token = Some(token.clone());
                return Ok(token);
            }
            let (reason, message) = error_reason(&body);
            if reason == "invalid_grant" {
                return Err(AieError::Unavailable(format!(
                    "the Gmail refresh token was refused (invalid_grant: {message}): it was revoked or has expired. Run `aie auth gmail` to authorise aie again and put the new AIE_GMAIL_REFRESH_TOKEN in the secrets file"
                ))
                .into());
            }
            if reason == "invalid_client" || status == 401 {
                return Err(AieError::Config(format!(
                    "Google does not accept the OAuth client ({reason}: {message}): check AIE_GMAIL_CLIENT_ID and AIE_GMAIL_CLIENT_SECRET"
                ))
                .into());
            }
            if retryable(status, &reason) && attempt < MAX_ATTEMPTS {
                let d = retry_after(ra.as_deref(), &body).unwrap_or_else(|| backoff(attempt));
                self.wait(d, &format!("token endpoint answered {status}"))?;
                continue;
            }
            return Err(AieError::Unavailable(format!(
                "the Google token endpoint answered {status} {reason}: {message}"
            ))
            .into());
        }
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
        let mut attempt = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let token = self.access_token()?;
            self.calls += 1;
            let started = Instant::now();
            let auth = format!("Bearer {token}");
            let res = if method == "POST" {
                let req = self
                    .agent
                    .post(&url)
                    .header("Authorization", &auth)
                    .query_pairs(query.iter().copied());
                req.send_json(body.cloned().unwrap_or_else(|| json!({})))
            } else {
                self.agent
                    .get(&url)
                    .header("Authorization", &auth)
                    .query_pairs(query.iter().copied())
                    .call()
            };
            let mut resp = match res {
                Ok(r) => r,
                Err(e) => {
                    if attempt < MAX_ATTEMPTS {
                        self.wait(backoff(attempt), &format!("{method} {path}: {e}"))?;
                        continue;
                    }
                    return Err(AieError::Unavailable(format!(
                        "cannot reach the Gmail API at `{}`: {e}",
                        super::url_host(&url)
                    ))
                    .into());
                }
            };
            let status = resp.status().as_u16();
            log::debug!(
                "gmail {method} {}{} {status} {} ms",
                super::url_host(&url),
                super::url_path(&url),
                started.elapsed().as_millis()
            );
            let ra = resp
                .headers()
                .get("retry-after")
                .and_then(|h| h.to_str().ok())
                .map(str::to_string);
            let bytes = resp
                .body_mut()
                .with_config()
                .limit(MAX_BODY)
                .read_to_vec()
                .with_context(|| format!("cannot read the answer to {method} {path}"))?;
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if (200..300).contains(&status) {
                if value.is_null() && !bytes.is_empty() {
                    anyhow::bail!("gmail answered {method} {path} with something that is not JSON");
                }
                return Ok(value);
            }
            let (reason, message) = error_reason(&value);
            if status == 401 && !refreshed {
                refreshed = true;
                self.token = None;
                let _ = std::fs::remove_file(&self.cache_path);
                self.refresh()?;
                continue;
            }
            if status == 404 {
                return Err(GmailError::NotFound(message).into());
            }
            if retryable(status, &reason) && attempt < MAX_ATTEMPTS {
                let d = retry_after(ra.as_deref(), &value).unwrap_or_else(|| backoff(attempt));
                self.wait(d, &format!("{method} {path} answered {status} {reason}"))?;
                continue;
            }
            return Err(GmailError::Api {
                status,
                reason,
                message,
            }
            .into());
        }
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
        let raw = v["raw"]
            .as_str()
            .context("the message has no `raw` content")?;
        let bytes = super::mime::decode_base64url(raw)?;
        Ok((bytes, v["threadId"].as_str().unwrap_or("").to_string()))
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

/// A Gmail id field, which is a JSON string (uint64) but tolerated as a number.
fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Writes JSON to a file only this user can read, atomically.
fn write_private(path: &Path, v: &Value) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = crate::fsutil::temp_path_for(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create `{}`", tmp.display()))?;
    f.write_all(serde_json::to_string(v)?.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write `{}`", path.display()))
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
        assert_eq!(retry_after(None, &body), Some(Duration::ZERO));
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
        let b = backoff(1);
        assert!(
            b >= Duration::from_millis(500) && b <= Duration::from_millis(1000),
            "{b:?}"
        );
    }

    #[test]
    fn oauth_and_api_error_shapes() {
        let oauth = json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."});
        assert_eq!(error_reason(&oauth).0, "invalid_grant");
        let api = json!({"error": {"code": 429, "message": "m", "errors": [{"reason": "rateLimitExceeded"}]}});
        assert_eq!(error_reason(&api), ("rateLimitExceeded".into(), "m".into()));
    }
}
