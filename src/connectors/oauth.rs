//! OAuth 2.0 for every connector that signs in on the owner's behalf (Gmail today; X,
//! LinkedIn and Facebook next): the installed-app authorisation flow (PKCE S256, a random
//! `state`, a one-shot loopback redirect listener on `127.0.0.1:<free port>`, the code
//! exchange) and, for every run after, the refresh-token grant with its access token cached
//! in `.aie/` (mode 0600, never the vault), bound to the client, the token URL and the
//! refresh token it came from. A provider that rotates refresh tokens gets the new one stored
//! in that cache before the access token is used, and it is used from then on. A revoked
//! grant (`invalid_grant`) is [`AieError::Unavailable`] (exit 69) with the provider's hint;
//! an unknown client is a configuration error. All HTTP goes through [`super::http`]. No
//! printing, no vault access.

use super::http::{Body, Http, HttpError, Request, retry_usual};
use crate::exit::AieError;
use anyhow::{Context, Result};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// An OAuth client registered with a provider (the secret is absent for a public client).
#[derive(Clone)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: Option<String>,
}

/// Random bytes from the kernel (PKCE verifiers, OAuth state).
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

const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// A random string of `n` unreserved characters (RFC 7636 verifier alphabet).
pub fn random_token(n: usize) -> String {
    random_bytes(n)
        .iter()
        .map(|b| UNRESERVED[(*b as usize) % UNRESERVED.len()] as char)
        .collect()
}

/// The S256 challenge of a PKCE verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a percent-encoded query value (`+` is a space).
fn dec(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A query parameter of a request target (`/?state=..&code=..`), decoded.
pub fn query_param(target: &str, key: &str) -> Option<String> {
    let q = target.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| dec(v))
    })
}

/// One authorisation in progress: the loopback listener the browser comes back to, the PKCE
/// verifier and the `state`.
pub struct Authorization {
    listener: TcpListener,
    /// `http://127.0.0.1:<port>`: the redirect URI registered for installed apps.
    pub redirect_uri: String,
    pub verifier: String,
    pub state: String,
}

impl Authorization {
    /// Listens on a free loopback port and draws a verifier and a state.
    pub fn start() -> Result<Authorization> {
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on 127.0.0.1")?;
        let port = listener.local_addr()?.port();
        Ok(Authorization {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}"),
            verifier: random_token(64),
            state: random_token(24),
        })
    }

    /// The consent page's address: `auth_url` with the client, redirect, scope, S256
    /// challenge and state, then `extra` parameters (Google's `access_type=offline`).
    pub fn consent_url(
        &self,
        auth_url: &str,
        client_id: &str,
        scope: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let mut url = format!(
            "{auth_url}?client_id={}&redirect_uri={}&response_type=code&scope={}&code_challenge={}&code_challenge_method=S256&state={}",
            enc(client_id),
            enc(&self.redirect_uri),
            enc(scope),
            pkce_challenge(&self.verifier),
            enc(&self.state)
        );
        for (k, v) in extra {
            url.push_str(&format!("&{k}={}", enc(v)));
        }
        url
    }

    /// Serves the loopback redirect: returns the code once a request with the right `state`
    /// arrives; a refusal or a wrong state is an error (`again` says how to start over).
    /// Other requests (favicon) are answered and ignored.
    pub fn wait_for_code(&self, timeout: Duration, again: &str) -> Result<String> {
        let listener = &self.listener;
        listener.set_nonblocking(true)?;
        let end = Instant::now() + timeout;
        loop {
            let (stream, _) = match listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= end {
                        anyhow::bail!(
                            "no answer from the browser within {} s: {again}",
                            timeout.as_secs()
                        );
                    }
                    // Polling the non-blocking listener: it is a one-off interactive wait.
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                Err(e) => return Err(e).context("cannot accept the browser's connection"),
            };
            stream.set_nonblocking(false)?;
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            let mut reader = BufReader::new(stream.try_clone()?);
            let mut line = String::new();
            reader.read_line(&mut line)?;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
                    break;
                }
            }
            let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let reply = |mut s: std::net::TcpStream, status: &str, text: &str| {
                let body = format!("<html><body><p>{text}</p></body></html>");
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            };
            if query_param(&target, "state").is_none() && query_param(&target, "code").is_none() {
                reply(stream, "404 Not Found", "Not found");
                continue;
            }
            if query_param(&target, "state").as_deref() != Some(self.state.as_str()) {
                reply(
                    stream,
                    "400 Bad Request",
                    "The answer does not match this request.",
                );
                anyhow::bail!("the browser came back with a wrong `state`: {again}");
            }
            if let Some(err) = query_param(&target, "error") {
                reply(
                    stream,
                    "200 OK",
                    "aie was not authorised. You can close this tab.",
                );
                anyhow::bail!("the provider did not authorise aie ({err})");
            }
            let Some(code) = query_param(&target, "code") else {
                reply(stream, "400 Bad Request", "No code in the answer.");
                anyhow::bail!("the browser came back without a code");
            };
            reply(
                stream,
                "200 OK",
                "aie is authorised. You can close this tab and go back to the terminal.",
            );
            return Ok(code);
        }
    }

    /// Trades the code for tokens at `token_url` (sent once: a code is single-use). Returns
    /// the token endpoint's JSON answer.
    pub fn exchange(
        &self,
        http: &Http,
        token_url: &str,
        client: &OAuthClient,
        code: &str,
    ) -> Result<Value> {
        let mut form = vec![
            ("code", code),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("grant_type", "authorization_code"),
            ("code_verifier", self.verifier.as_str()),
        ];
        if let Some(s) = &client.client_secret {
            form.insert(2, ("client_secret", s.as_str()));
        }
        let req = Request::post(token_url, Body::Form(&form), false);
        match http.send(&req, &|_| super::http::Verdict::Stop) {
            Ok(r) => Ok(r.json()),
            Err(HttpError::Status { code, body, .. }) => {
                let v: Value = serde_json::from_str(&body).unwrap_or_default();
                anyhow::bail!(
                    "{} refused the authorisation code ({code} {}: {})",
                    http.service,
                    v["error"].as_str().unwrap_or("error"),
                    v["error_description"].as_str().unwrap_or("")
                )
            }
            Err(e) => Err(AieError::Unavailable(format!(
                "cannot reach the token endpoint `{}`: {e}",
                super::url_host(token_url)
            ))
            .into()),
        }
    }
}

/// Seconds since the epoch by the real clock (token expiry is judged by the provider's clock).
fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A hash naming a refresh token (never the token): what a cached token is bound to.
pub fn grant_hash(refresh_token: &str) -> String {
    crate::vault::item::hex(&Sha256::digest(refresh_token.as_bytes())[..8])
}

/// The refresh-token grant of one connector for one run, with its 0600 cache in `.aie/`.
pub struct OAuthSession {
    /// The provider's name in messages (`Google`).
    pub provider: &'static str,
    pub token_url: String,
    pub client: OAuthClient,
    /// The refresh token of the secrets: what the cache is bound to.
    configured: String,
    /// The refresh token to use (a rotated one from the cache, else the configured one).
    refresh_token: String,
    cache_path: PathBuf,
    /// Whether the provider rotates refresh tokens (then a refresh is never repeated: the
    /// first may have spent the old token).
    pub rotates: bool,
    /// What the owner does when the grant is revoked (`Run \`aie auth gmail\` ...`).
    pub reauthorise: String,
    token: Option<String>,
}

impl OAuthSession {
    /// A session for `refresh_token`, caching in `cache_path` (a file in `.aie/`).
    pub fn new(
        provider: &'static str,
        token_url: &str,
        client: OAuthClient,
        refresh_token: String,
        cache_path: &Path,
        reauthorise: &str,
    ) -> OAuthSession {
        let mut s = OAuthSession {
            provider,
            token_url: token_url.to_string(),
            client,
            configured: refresh_token.clone(),
            refresh_token,
            cache_path: cache_path.to_path_buf(),
            rotates: false,
            reauthorise: reauthorise.to_string(),
            token: None,
        };
        // A refresh token rotated in an earlier run replaces the configured one, as long as
        // the cache belongs to this client and grant.
        if let Some(v) = s.cached()
            && let Some(r) = v["refresh_token"].as_str()
        {
            crate::secrets::scrub_also(r);
            s.refresh_token = r.to_string();
        }
        s
    }

    /// The cache, when it belongs to this client, token URL and configured grant.
    fn cached(&self) -> Option<Value> {
        // Never through a link: the cache lives in the vault's `.aie/`.
        let (bytes, _) = crate::fsutil::read_regular_nofollow(&self.cache_path).ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        (v["client_id"].as_str() == Some(self.client.client_id.as_str())
            && v["token_url"].as_str() == Some(self.token_url.as_str())
            && v["grant"].as_str() == Some(grant_hash(&self.configured).as_str()))
        .then_some(v)
    }

    /// Whether an earlier run refreshed this grant: a cache that belongs to this client,
    /// token URL and configured grant (then its tokens replace the configured ones).
    pub fn has_cached_grant(&self) -> bool {
        self.cached().is_some()
    }

    /// The cached access token, valid or not, without refreshing (what a check reads
    /// with); None without a cache of this client and grant, or once it was refused.
    pub fn peek(&self) -> Option<String> {
        let v = self.cached()?;
        let t = v["access_token"].as_str().filter(|t| !t.is_empty())?;
        crate::secrets::scrub_also(t);
        Some(t.to_string())
    }

    /// The access token: the one in memory, else the cached one while it is valid, else a
    /// fresh one from [`OAuthSession::refresh`].
    pub fn access_token(&mut self, http: &Http) -> Result<String> {
        if let Some(t) = &self.token {
            return Ok(t.clone());
        }
        if let Some(v) = self.cached()
            && v["expires_at"]
                .as_u64()
                .is_some_and(|e| e > epoch_now() + 60)
            && let Some(t) = v["access_token"].as_str()
        {
            // An access token is as secret as the grant: never in a log or a message.
            crate::secrets::scrub_also(t);
            self.token = Some(t.to_string());
            return Ok(t.to_string());
        }
        self.refresh(http)
    }

    /// Sends with an access token (`first`, else this session's) and, when the server
    /// refused it (`refused` says so: a 401, which nothing was done for), renews the token
    /// and sends once more. The second answer stands as it comes. Errors: no access token
    /// could be had or renewed (as [`OAuthSession::refresh`]).
    pub fn send_renewing<T, E>(
        &mut self,
        http: &Http,
        first: Option<String>,
        mut send: impl FnMut(&str) -> std::result::Result<T, E>,
        refused: impl Fn(&E) -> bool,
    ) -> Result<std::result::Result<T, E>> {
        let token = match first {
            Some(t) => t,
            None => self.access_token(http)?,
        };
        match send(&token) {
            Err(e) if refused(&e) => {
                self.invalidate();
                let token = self.refresh(http)?;
                crate::fsutil::failpoint(&format!(
                    "{}:token-refreshed",
                    self.provider.to_lowercase()
                ));
                Ok(send(&token))
            }
            answer => Ok(answer),
        }
    }

    /// Forgets the access token (the server refused it); the next call refreshes.
    pub fn invalidate(&mut self) {
        self.token = None;
        if let Some(mut v) = self.cached() {
            v["expires_at"] = json!(0);
            v["access_token"] = json!("");
            let _ = write_private(&self.cache_path, &v);
        }
    }

    /// Trades the refresh token for an access token and caches both (mode 0600); a rotated
    /// refresh token is stored before the access token is handed out. Errors: a revoked
    /// grant (exit 69, with the hint), an unknown client (exit 78), an unreachable endpoint
    /// (exit 69).
    pub fn refresh(&mut self, http: &Http) -> Result<String> {
        let mut form = vec![
            ("client_id", self.client.client_id.as_str()),
            ("refresh_token", self.refresh_token.as_str()),
            ("grant_type", "refresh_token"),
        ];
        if let Some(s) = &self.client.client_secret {
            form.insert(1, ("client_secret", s.as_str()));
        }
        let req = Request::post(&self.token_url, Body::Form(&form), !self.rotates);
        let body = match http.send(&req, &retry_usual) {
            Ok(r) => r.json(),
            Err(HttpError::Status { code, body, .. }) => {
                let v: Value = serde_json::from_str(&body).unwrap_or_default();
                let reason = v["error"].as_str().unwrap_or("");
                let message = v["error_description"].as_str().unwrap_or("");
                return Err(match reason {
                    "invalid_grant" => AieError::Unavailable(format!(
                        "the {} refresh token was refused (invalid_grant: {message}): it was revoked or has expired. {}",
                        self.provider, self.reauthorise
                    )),
                    "invalid_client" => AieError::Config(format!(
                        "{} does not accept the OAuth client ({reason}: {message})",
                        self.provider
                    )),
                    _ if code == 401 => AieError::Config(format!(
                        "{} does not accept the OAuth client ({reason}: {message})",
                        self.provider
                    )),
                    _ => AieError::Unavailable(format!(
                        "the {} token endpoint answered {code} {reason}: {message}",
                        self.provider
                    )),
                }
                .into());
            }
            Err(e) => {
                return Err(AieError::Unavailable(format!(
                    "cannot reach the {} token endpoint `{}`: {e}",
                    self.provider,
                    super::url_host(&self.token_url)
                ))
                .into());
            }
        };
        let token = body["access_token"]
            .as_str()
            .context("the token endpoint answered without an access_token")?
            .to_string();
        crate::secrets::scrub_also(&token);
        let expires_in = body["expires_in"].as_u64().unwrap_or(3599);
        let rotated = body["refresh_token"]
            .as_str()
            .filter(|r| !r.is_empty() && *r != self.refresh_token)
            .map(str::to_string);
        let mut cache = json!({
            "access_token": token,
            "expires_at": epoch_now() + expires_in,
            "client_id": self.client.client_id,
            "token_url": self.token_url,
            "grant": grant_hash(&self.configured),
        });
        if let Some(r) = &rotated {
            crate::secrets::scrub_also(r);
            self.refresh_token = r.clone();
        }
        if self.refresh_token != self.configured {
            cache["refresh_token"] = json!(self.refresh_token);
        }
        match write_private(&self.cache_path, &cache) {
            Ok(()) => {}
            // The old refresh token is spent: a new one that cannot be kept must not be used
            // as if it could.
            Err(e) if rotated.is_some() => {
                return Err(e.context(format!(
                    "cannot store the rotated {} refresh token",
                    self.provider
                )));
            }
            Err(e) => log::warn!("cannot cache the {} access token: {e:#}", self.provider),
        }
        self.token = Some(token.clone());
        Ok(token)
    }
}

/// Writes JSON to a file only this user can read, atomically and durably.
fn write_private(path: &Path, v: &Value) -> Result<()> {
    crate::fsutil::write_atomic_private(path, serde_json::to_string(v)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::{Arc, Mutex};

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let v = random_token(64);
        assert_eq!(v.len(), 64);
        assert!(v.bytes().all(|b| UNRESERVED.contains(&b)));
        let a = Authorization::start().unwrap();
        let url = a.consent_url("http://h/auth", "id 1", "s", &[("prompt", "consent")]);
        assert!(url.contains(&format!("code_challenge={}", pkce_challenge(&a.verifier))));
        assert!(url.contains("client_id=id%201") && url.ends_with("&prompt=consent"));
    }

    #[test]
    fn query_values_round_trip() {
        assert_eq!(enc("http://127.0.0.1:5"), "http%3A%2F%2F127.0.0.1%3A5");
        assert_eq!(
            query_param("/?state=ab&code=4%2F0AVG+x", "code").as_deref(),
            Some("4/0AVG x")
        );
        assert_eq!(query_param("/?state=ab", "code"), None);
    }

    /// A token endpoint that answers each request with the next JSON body and records the
    /// form bodies it got.
    fn token_endpoint(answers: Vec<Value>) -> (String, Arc<Mutex<Vec<String>>>) {
        let (base, seen) = crate::connectors::http::test_server(
            |_, body| String::from_utf8(body).unwrap(),
            move |i| {
                let a = answers[i.min(answers.len() - 1)].to_string();
                Some(format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{a}",
                    a.len()
                ))
            },
        );
        (format!("{base}/token"), seen)
    }

    /// The token endpoint's client in these tests.
    fn test_http() -> Http {
        Http::new(
            "x",
            Duration::from_secs(5),
            super::super::http::RetryPolicy::LLM,
            None,
        )
    }

    fn session(url: &str, cache: &Path) -> OAuthSession {
        session_of(url, cache, "refresh-one")
    }

    /// X's session of the grant `refresh`.
    fn session_of(url: &str, cache: &Path, refresh: &str) -> OAuthSession {
        let mut s = OAuthSession::new(
            "X",
            url,
            OAuthClient {
                client_id: "cid".into(),
                client_secret: None,
            },
            refresh.into(),
            cache,
            "Run `aie auth x`",
        );
        s.rotates = true;
        s
    }

    /// An access token, fresh or from the cache, is scrubbed from every text of the run.
    #[test]
    fn access_tokens_are_scrubbed_wherever_they_come_from() {
        let fresh = "ya29.fresh-access-token-0123456789";
        let (url, _) = token_endpoint(vec![json!({"access_token": fresh, "expires_in": 3600})]);
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("x_token.json");
        let http = test_http();
        assert_eq!(session(&url, &cache).access_token(&http).unwrap(), fresh);
        assert_eq!(
            crate::secrets::scrub(&format!("echoed: Bearer {fresh}")),
            "echoed: Bearer [secret]"
        );
        // A later run takes the token from the cache, never from the endpoint.
        let cached = "ya29.cached-access-token-9876543210";
        let mut v: Value = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
        v["access_token"] = json!(cached);
        write_private(&cache, &v).unwrap();
        assert_eq!(session(&url, &cache).access_token(&http).unwrap(), cached);
        assert_eq!(
            crate::secrets::scrub(&format!("echoed: {cached}")),
            "echoed: [secret]"
        );
    }

    #[test]
    fn a_rotated_refresh_token_is_stored_0600_before_use_and_used_next() {
        let (url, seen) = token_endpoint(vec![
            json!({"access_token": "at-1", "expires_in": 3600, "refresh_token": "refresh-two"}),
            json!({"access_token": "at-2", "expires_in": 3600, "refresh_token": "refresh-three"}),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("x_token.json");
        let http = test_http();
        let mut s = session(&url, &cache);
        assert_eq!(s.access_token(&http).unwrap(), "at-1");
        let stored: Value =
            serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
        assert_eq!(stored["refresh_token"], "refresh-two");
        assert_eq!(stored["grant"], grant_hash("refresh-one"));
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // The next run: the access token is still valid and comes from the cache.
        let mut s = session(&url, &cache);
        assert_eq!(s.access_token(&http).unwrap(), "at-1");
        assert_eq!(seen.lock().unwrap().len(), 1);
        // Refused: the refresh sends the rotated token, not the configured one.
        s.invalidate();
        assert_eq!(s.access_token(&http).unwrap(), "at-2");
        let seen = seen.lock().unwrap();
        assert!(seen[0].contains("refresh_token=refresh-one"), "{seen:?}");
        assert!(seen[1].contains("refresh_token=refresh-two"), "{seen:?}");
        assert!(
            !seen[1].contains("client_secret"),
            "a public client sends none"
        );
        let stored: Value =
            serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
        assert_eq!(stored["refresh_token"], "refresh-three");
        // A new refresh token in the secrets (the owner authorised again) ignores the cache.
        let fresh = OAuthSession::new(
            "X",
            &url,
            OAuthClient {
                client_id: "cid".into(),
                client_secret: None,
            },
            "refresh-new".into(),
            &cache,
            "",
        );
        assert_eq!(fresh.refresh_token, "refresh-new");
    }

    // doctor read `.aie/x_token.json` itself and checked with its access token whatever
    // client or grant wrote it (issue 9): the cache is only this module's to read.
    #[test]
    fn a_cache_of_another_grant_is_not_peeked_at() {
        let (url, _) = token_endpoint(vec![json!({"access_token": "at-1", "expires_in": 3600})]);
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("x_token.json");
        let http = Http::new(
            "x",
            Duration::from_secs(5),
            super::super::http::RetryPolicy::NONE,
            None,
        );
        let mut s = session(&url, &cache);
        assert!(!s.has_cached_grant() && s.peek().is_none());
        s.access_token(&http).unwrap();
        let s = session(&url, &cache);
        assert!(s.has_cached_grant());
        assert_eq!(s.peek().as_deref(), Some("at-1"));
        let other = session_of(&url, &cache, "refresh-of-another-grant");
        assert!(!other.has_cached_grant() && other.peek().is_none());
    }
}
