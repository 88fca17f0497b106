//! `status` maps `poll-social` to the sources it reads, like poll-gmail: with neither
//! `facebook:` nor `x:` in aie.yaml it is "not set up"; with one of them it is set up and
//! shows its runs.

use crate::support::TestEnv;
use crate::support::social_fake::SocialFake;
use serde_json::Value;

fn status(env: &TestEnv) -> (Value, String) {
    let v = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    (v, env.ok(&["status"]).stdout)
}

#[test]
fn status_shows_poll_social_as_set_up_only_with_a_platform() {
    let env = TestEnv::new();
    env.run(&["run", "triage"]);
    let (v, text) = status(&env);
    assert_eq!(v["jobs"]["poll-social"]["set_up"], false, "{v}");
    assert!(
        text.contains("poll-social       not set up (no `facebook:` or `x:` in aie.yaml)"),
        "{text}"
    );
    // X set up: poll-social is a source with its runs.
    let fake = SocialFake::start();
    let mut env = TestEnv::new();
    env.config(&format!("x:\n  api_base: {}\n", fake.url()));
    env.env("AIE_X_TOKEN", "x-access-1");
    env.ok(&["poll-social"]);
    let (v, text) = status(&env);
    assert_eq!(v["jobs"]["poll-social"]["set_up"], true, "{v}");
    assert_eq!(v["jobs"]["poll-social"]["last_exit"], 0, "{v}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("poll-social"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        !line.contains("not set up") && line.contains("last success 2026-11-23T09:00:00Z"),
        "{line}"
    );
}
