//! `aie doctor` checks each configured platform's token online with one cheap read against
//! the social fakes: good tokens are ok and say whose account they read; a bad token fails
//! naming the secret to renew, never its value; a missing permission (Graph API #10) names
//! the permission; X with a refresh token only warns; a platform not set up is not checked.

use crate::support::TestEnv;
use crate::support::http::Response;
use crate::support::social_fake::{PAGE, SECRETS, SocialFake};
use serde_json::Value;

fn env_with(fake: &SocialFake, secrets: &[(&str, &str)]) -> TestEnv {
    let mut env = TestEnv::new();
    env.config(&fake.config());
    for (k, v) in secrets {
        env.env(k, v);
    }
    env
}

/// The `<platform> token` checks of `doctor --json`, and the whole output.
fn token_checks(env: &TestEnv) -> (Vec<Value>, String) {
    let r = env.run(&["doctor", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    let checks = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"].as_str().unwrap().ends_with(" token"))
        .cloned()
        .collect();
    (checks, format!("{}{}", r.stdout, r.stderr))
}

fn find<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in {checks:?}"))
}

#[test]
fn doctor_reads_each_platform_with_its_token() {
    let fake = SocialFake::start();
    let env = env_with(&fake, SECRETS);
    let (checks, out) = token_checks(&env);
    for (name, says) in [
        ("facebook token", "Sam's Shop"),
        ("instagram token", "@samsshop"),
        ("x token", "@samsshop"),
        ("linkedin token", "Sam Example"),
        ("whatsapp token", "+44 7700 900123"),
    ] {
        let c = find(&checks, name);
        assert_eq!(c["status"], "ok", "{name}: {out}");
        assert!(c["message"].as_str().unwrap().contains(says), "{c}");
    }
    // Each read carried the platform's own token as a bearer.
    for (path, secret) in [
        (format!("/{PAGE}"), "fb-page-token-1"),
        ("/2/users/me".to_string(), "x-access-1"),
        ("/v2/userinfo".to_string(), "li-token-1"),
    ] {
        let hits = fake.server.hits_to(&path);
        assert_eq!(hits.len(), 1, "{path}");
        assert_eq!(
            hits[0].header("authorization"),
            Some(format!("Bearer {secret}").as_str())
        );
    }
    assert!(
        fake.server.hits_to(&format!("/{PAGE}"))[0]
            .query("fields")
            .as_deref()
            == Some("id,name")
    );
}

#[test]
fn a_bad_token_fails_naming_the_secret_never_its_value() {
    let fake = SocialFake::start();
    let bad: Vec<(&str, &str)> = SECRETS
        .iter()
        .map(|(k, v)| match *k {
            "AIE_WHATSAPP_APP_SECRET" => (*k, *v),
            _ => (*k, "stale-token-value-8642"),
        })
        .collect();
    let env = env_with(&fake, &bad);
    let r = env.run(&["doctor", "--json"]);
    assert_ne!(r.code, 0, "{r:?}");
    let (checks, out) = token_checks(&env);
    for (name, secret) in [
        ("facebook token", "AIE_FACEBOOK_TOKEN"),
        ("instagram token", "AIE_INSTAGRAM_TOKEN"),
        ("x token", "AIE_X_TOKEN"),
        ("linkedin token", "AIE_LINKEDIN_TOKEN"),
        ("whatsapp token", "AIE_WHATSAPP_TOKEN"),
    ] {
        let c = find(&checks, name);
        assert_eq!(c["status"], "fail", "{name}: {out}");
        assert!(c["fix"].as_str().unwrap().contains(secret), "{c}");
    }
    let fb = find(&checks, "facebook token");
    assert!(fb["message"].as_str().unwrap().contains("#190/463"), "{fb}");
    assert!(!out.contains("stale-token-value-8642"), "{out}");
    let text = env.run(&["doctor"]);
    assert!(
        !format!("{}{}", text.stdout, text.stderr).contains("stale-token-value-8642"),
        "{text:?}"
    );
}

#[test]
fn a_missing_permission_is_named_and_x_with_a_refresh_token_only_warns() {
    let fake = SocialFake::start();
    fake.then(
        &format!("GET /{PAGE}"),
        Response::raw_json(
            403,
            r#"{"error":{"message":"(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content Access' feature.","type":"OAuthException","code":10,"fbtrace_id":"AzP1"}}"#,
        ),
    );
    let mut secrets: Vec<(&str, &str)> = SECRETS
        .iter()
        .map(|(k, v)| match *k {
            "AIE_X_TOKEN" => (*k, "x-expired-1"),
            _ => (*k, *v),
        })
        .collect();
    secrets.push(("AIE_X_REFRESH_TOKEN", "x-refresh-1"));
    secrets.push(("AIE_X_CLIENT_ID", "x-client-1"));
    let env = env_with(&fake, &secrets);
    let (checks, out) = token_checks(&env);
    let fb = find(&checks, "facebook token");
    assert_eq!(fb["status"], "fail", "{out}");
    assert!(
        fb["message"]
            .as_str()
            .unwrap()
            .contains("a permission is missing")
            && fb["fix"]
                .as_str()
                .unwrap()
                .contains("pages_read_engagement"),
        "{fb}"
    );
    let x = find(&checks, "x token");
    assert_eq!(x["status"], "warn", "{x}");
    assert!(
        x["message"]
            .as_str()
            .unwrap()
            .contains("AIE_X_REFRESH_TOKEN"),
        "{x}"
    );
    // The token was only read: no refresh, no rotation by doctor.
    assert!(fake.server.hits_to("/2/oauth2/token").is_empty());
}

#[test]
fn a_platform_not_set_up_is_not_checked() {
    let fake = SocialFake::start();
    let mut env = TestEnv::new();
    env.config(&format!("x:\n  api_base: {}\n", fake.url()));
    env.env("AIE_X_TOKEN", "x-access-1");
    let (checks, _) = token_checks(&env);
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["x token"]);
    assert_eq!(fake.server.hits().len(), 1);
}

// doctor read `.aie/x_token.json` itself and checked X with its access token whatever client
// or grant had written it (issue 9): a cache of another grant is not this one's token.
#[test]
fn a_token_cache_of_another_grant_is_not_used_to_check_x() {
    let fake = SocialFake::start();
    let mut env = TestEnv::new();
    env.config(&format!("x:\n  api_base: {}\n", fake.url()));
    env.env("AIE_X_TOKEN", "x-access-1")
        .env("AIE_X_REFRESH_TOKEN", "x-refresh-1")
        .env("AIE_X_CLIENT_ID", "x-client-1");
    let cache = env.vault.join(".aie/x_token.json");
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    std::fs::write(
        &cache,
        r#"{"access_token":"x-cached-of-another-grant","expires_at":4102444800,"client_id":"other-client","token_url":"https://elsewhere.example/token","grant":"0000000000000000"}"#,
    )
    .unwrap();
    let (checks, out) = token_checks(&env);
    assert_eq!(find(&checks, "x token")["status"], "ok", "{out}");
    let hits = fake.server.hits_to("/2/users/me");
    assert_eq!(hits[0].header("authorization"), Some("Bearer x-access-1"));
}
