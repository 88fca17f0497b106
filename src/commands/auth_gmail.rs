//! `aie auth gmail`: obtain the Gmail refresh token once, with Google's installed-app flow
//! (loopback redirect on `127.0.0.1:<free port>` and PKCE, from [`crate::connectors::oauth`];
//! the out-of-band copy-the-code flow was shut down in 2023). Opens the consent page (or
//! prints its address with `--no-browser`), waits for the one redirect, checks `state`,
//! trades the code at `gmail.token_url`, and prints the refresh token for the secrets file.
//! Stores nothing.

use crate::connectors::http::{Http, RetryPolicy};
use crate::connectors::oauth::{Authorization, OAuthClient};
use crate::context::Cx;
use crate::outcome::Outcome;
use anyhow::Result;
use clap::{Args, Subcommand};
use std::time::Duration;

/// The scope aie needs: read mail and change its labels.
const SCOPE: &str = "https://www.googleapis.com/auth/gmail.modify";

#[derive(Debug, Args)]
pub struct AuthArgs {
    #[command(subcommand)]
    pub service: AuthService,
}

impl crate::cli::CommandArgs for AuthArgs {}

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

/// Runs the flow.
pub fn run(cx: &Cx, args: &AuthArgs) -> Result<Outcome> {
    let ctx = cx.ctx();
    let AuthService::Gmail(args) = &args.service;
    let g = ctx.settings.gmail.clone().unwrap_or_default();
    let s = ctx
        .secrets
        .require("gmail", crate::connectors::gmail::CLIENT_SECRETS)?;
    let client = OAuthClient {
        client_id: s[0].clone(),
        client_secret: Some(s[1].clone()),
    };
    let flow = Authorization::start()?;
    let url = flow.consent_url(
        &g.auth_url,
        &client.client_id,
        SCOPE,
        &[("access_type", "offline"), ("prompt", "consent")],
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
    eprintln!(
        "Waiting for Google to send the browser back to {} ...",
        flow.redirect_uri
    );
    let code = flow.wait_for_code(
        Duration::from_secs(args.timeout),
        "run `aie auth gmail` again",
    )?;
    let http = Http::new(
        "Google",
        Duration::from_secs(g.timeout_seconds.max(1)),
        RetryPolicy::GOOGLE,
        None,
    );
    let body = flow.exchange(&http, &g.token_url, &client, &code)?;
    let Some(refresh) = body["refresh_token"].as_str() else {
        anyhow::bail!(
            "Google sent no refresh token: remove aie's access at https://myaccount.google.com/permissions and run `aie auth gmail` again"
        );
    };
    eprintln!(
        "Done. Put this line in your secrets file (AIE_SECRETS_FILE, mode 0600, outside the vault).\nIf the OAuth app is still in \"Testing\", this token expires after 7 days."
    );
    Ok(Outcome {
        summary: format!("{}={refresh}\n", crate::connectors::gmail::REFRESH_SECRET),
        json: serde_json::json!({"refresh_token": refresh}),
        ..Outcome::default()
    })
}
