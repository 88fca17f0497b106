//! `aie auth gmail`: the loopback PKCE flow, from the consent URL to the refresh token it
//! prints.

use crate::support::gmail_fake::{self, GmailFake, gmail_env};

#[test]
fn auth_gmail_runs_the_loopback_pkce_flow() {
    use std::io::{BufRead, BufReader, Read, Write};
    let fake = GmailFake::start();
    let env = gmail_env(&fake, "");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("aie"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AIE_VAULT", &env.vault)
        .env("AIE_GMAIL_CLIENT_ID", gmail_fake::CLIENT_ID)
        .env("AIE_GMAIL_CLIENT_SECRET", gmail_fake::CLIENT_SECRET)
        .args(["auth", "gmail", "--no-browser", "--timeout", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut url = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if line.starts_with("http") {
            url = line.trim().to_string();
            break;
        }
        line.clear();
    }
    assert!(
        url.starts_with(&format!("{}/o/oauth2/v2/auth?", fake.server.url())),
        "{url}"
    );
    let q = |k: &str| {
        url.split_once('?').unwrap().1.split('&').find_map(|kv| {
            let (a, b) = kv.split_once('=')?;
            (a == k).then(|| crate::support::http::percent_decode(b))
        })
    };
    assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(q("access_type").as_deref(), Some("offline"));
    let redirect = q("redirect_uri").unwrap();
    let port = redirect.rsplit(':').next().unwrap();
    // The scripted browser: Google sends it back with a code.
    let mut s = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    write!(
        s,
        "GET /?state={}&code=4%2F0AVGzR1Bfixture-authcode&scope=x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        q("state").unwrap()
    )
    .unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        "AIE_GMAIL_REFRESH_TOKEN=1//0gFixtureRefreshTokenCgYIARAAGBASNwF-L9IrFixture"
    );
    let exchange = fake.server.hits_to("/token");
    assert_eq!(exchange.len(), 1);
    let body = exchange[0].body_str();
    let field = |k: &str| {
        body.split('&').find_map(|kv| {
            let (a, b) = kv.split_once('=')?;
            (a == k).then(|| crate::support::http::percent_decode(b))
        })
    };
    assert_eq!(field("grant_type").as_deref(), Some("authorization_code"));
    assert_eq!(field("code").as_deref(), Some("4/0AVGzR1Bfixture-authcode"));
    assert_eq!(field("redirect_uri"), Some(redirect));
    // The verifier sent matches the challenge in the consent URL.
    use base64::Engine as _;
    use sha2::Digest as _;
    let verifier = field("code_verifier").unwrap();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    assert_eq!(Some(challenge), q("code_challenge"));
}
