//! `aie auth gmail`: obtain the Gmail refresh token once, with Google's installed-app flow
//! (loopback redirect on `127.0.0.1:<free port>` and PKCE; the out-of-band copy-the-code
//! flow was shut down in 2023). Opens the consent page (or prints its address with
//! `--no-browser`), waits for the one redirect, checks `state`, trades the code at
//! `gmail.token_url`, and prints the refresh token for the secrets file. Stores nothing.

use crate::connectors::gmail::random_bytes;
use crate::context::Cx;
use crate::exit::AieError;
use crate::outcome::Outcome;
use anyhow::{Context, Result};
use base64::Engine as _;
use clap::{Args, Subcommand};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// The scope aie needs: read mail and change its labels.
const SCOPE: &str = "https://www.googleapis.com/auth/gmail.modify";

#[derive(Debug, Args)]
pub struct AuthArgs {
    #[command(subcommand)]
    pub service: AuthService,
}

#[derive(Debug, Subcommand)]
pub enum AuthService {
    /// Authorise aie to read and label your Gmail; prints AIE_GMAIL_REFRESH_TOKEN.
    Gmail(AuthGmailArgs),
}

#[derive(Debug, Args)]
pub struct AuthGmailArgs {
    /// Print the consent page's address instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Give up waiting for the browser after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// A random string of `n` unreserved characters (RFC 7636 verifier alphabet).
fn random_token(n: usize) -> String {
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
fn enc(s: &str) -> String {
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

fn query_param(target: &str, key: &str) -> Option<String> {
    let q = target.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == key).then(|| dec(v))
    })
}

/// Runs the flow.
pub fn run(cx: &Cx, args: &AuthArgs) -> Result<Outcome> {
    let ctx = cx.ctx();
    let AuthService::Gmail(args) = &args.service;
    let g = ctx.settings.gmail.clone().unwrap_or_default();
    let s = ctx
        .secrets
        .require("gmail", &["AIE_GMAIL_CLIENT_ID", "AIE_GMAIL_CLIENT_SECRET"])?;
    let (client_id, client_secret) = (&s[0], &s[1]);
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on 127.0.0.1")?;
    let port = listener.local_addr()?.port();
    let redirect = format!("http://127.0.0.1:{port}");
    let verifier = random_token(64);
    let state = random_token(24);
    let url = format!(
        "{}?client_id={}&redirect_uri={}&response_type=code&scope={}&code_challenge={}&code_challenge_method=S256&state={}&access_type=offline&prompt=consent",
        g.auth_url,
        enc(client_id),
        enc(&redirect),
        enc(SCOPE),
        pkce_challenge(&verifier),
        enc(&state)
    );
    eprintln!("Open this address in a browser, sign in and allow access:\n\n{url}\n");
    if !args.no_browser {
        let opened = std::process::Command::new("xdg-open")
            .arg(&url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok();
        if !opened {
            eprintln!("(no browser could be opened: copy the address by hand)");
        }
    }
    eprintln!("Waiting for Google to send the browser back to {redirect} ...");
    let code = wait_for_code(&listener, &state, Duration::from_secs(args.timeout))?;
    let agent = crate::connectors::http_agent(Duration::from_secs(g.timeout_seconds.max(1)));
    let mut resp = agent
        .post(&g.token_url)
        .send_form([
            ("code", code.as_str()),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("grant_type", "authorization_code"),
            ("code_verifier", verifier.as_str()),
        ])
        .map_err(|e| {
            AieError::Unavailable(format!(
                "cannot reach the Google token endpoint `{}`: {e}",
                crate::connectors::url_host(&g.token_url)
            ))
        })?;
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.body_mut().read_json().unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(anyhow::anyhow!(
            "Google refused the authorisation code ({status} {}: {})",
            body["error"].as_str().unwrap_or("error"),
            body["error_description"].as_str().unwrap_or("")
        ));
    }
    let Some(refresh) = body["refresh_token"].as_str() else {
        anyhow::bail!(
            "Google sent no refresh token: remove aie's access at https://myaccount.google.com/permissions and run `aie auth gmail` again"
        );
    };
    eprintln!(
        "Done. Put this line in your secrets file (AIE_SECRETS_FILE, mode 0600, outside the vault).\nIf the OAuth app is still in \"Testing\", this token expires after 7 days."
    );
    Ok(Outcome {
        summary: format!("AIE_GMAIL_REFRESH_TOKEN={refresh}\n"),
        json: serde_json::json!({"refresh_token": refresh}),
        ..Outcome::default()
    })
}

/// Serves the loopback redirect: returns the code once a request with the right `state`
/// arrives; a refusal or a wrong state is an error. Other requests (favicon) are answered
/// and ignored.
fn wait_for_code(listener: &TcpListener, state: &str, timeout: Duration) -> Result<String> {
    listener.set_nonblocking(true)?;
    let end = Instant::now() + timeout;
    loop {
        let (stream, _) = match listener.accept() {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= end {
                    anyhow::bail!(
                        "no answer from the browser within {} s: run `aie auth gmail` again",
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
        if query_param(&target, "state").as_deref() != Some(state) {
            reply(
                stream,
                "400 Bad Request",
                "The answer does not match this request.",
            );
            anyhow::bail!("the browser came back with a wrong `state`: run `aie auth gmail` again");
        }
        if let Some(err) = query_param(&target, "error") {
            reply(
                stream,
                "200 OK",
                "aie was not authorised. You can close this tab.",
            );
            anyhow::bail!("Google did not authorise aie ({err})");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let v = random_token(64);
        assert_eq!(v.len(), 64);
        assert!(v.bytes().all(|b| UNRESERVED.contains(&b)));
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
}
