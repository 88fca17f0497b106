//! `health-check` and `failover` (issue 12) against a loopback HTTP service the test turns
//! off (it answers 503) and on: one DOWN and one UP alert per incident, no alert while a
//! check flaps, a reminder while an incident lasts, the zone switch after the threshold,
//! the hold-down, no automatic fail-back, and the switch by hand. The zones decide who polls.

use crate::support::TestEnv;
use crate::support::http::{FakeServer, Response};
use serde_json::Value;
use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A service that answers `200 ok` while on and `503` while off.
struct Service {
    server: FakeServer,
    on: Arc<AtomicBool>,
}

impl Service {
    fn start() -> Service {
        let on = Arc::new(AtomicBool::new(true));
        let flag = on.clone();
        let server = FakeServer::start(move |_| {
            if flag.load(Ordering::SeqCst) {
                Response::text(200, "text/plain", "all ok")
            } else {
                Response::text(503, "text/plain", "down for maintenance")
            }
        });
        Service { server, on }
    }

    fn set(&self, on: bool) {
        self.on.store(on, Ordering::SeqCst);
    }
}

/// The pinned clock `minutes` after the base time.
fn at(minutes: i64) -> String {
    let base = chrono::DateTime::parse_from_rfc3339(crate::support::NOW).unwrap();
    (base + chrono::Duration::minutes(minutes))
        .with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Every alert line in `Logs/alerts/`.
fn alerts(env: &TestEnv) -> Vec<Value> {
    let dir = env.path("Logs/alerts");
    let mut out = Vec::new();
    for e in fs::read_dir(dir)
        .map(|r| r.flatten().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        for l in fs::read_to_string(e.path()).unwrap().lines() {
            out.push(serde_json::from_str(l).unwrap());
        }
    }
    out.sort_by(|a: &Value, b: &Value| a["ts"].as_str().cmp(&b["ts"].as_str()));
    out
}

fn count(alerts: &[Value], key: &str, event: &str) -> usize {
    alerts
        .iter()
        .filter(|a| a["key"] == key && a["event"] == event)
        .count()
}

/// The agent `cloud` synced at `now` (what its sync-vault writes).
fn cloud_beat(env: &TestEnv) {
    env.write(
        "Logs/heartbeats/cloud.json",
        format!(
            "{{\"agent\": \"cloud\", \"mode\": \"draft_only\", \"version\": \"x\", \"ts\": \"{}\"}}\n",
            env.now
        ),
    );
}

/// One health job run at `minutes`: the cloud's heartbeat (fresh), health-check, failover.
fn tick(env: &mut TestEnv, minutes: i64) -> String {
    env.now = at(minutes);
    cloud_beat(env);
    let r = env.run(&["health-check"]);
    assert!(r.stdout.contains("health-check"), "{r:?}");
    // SPEC's 1 while a check is DOWN (the pass finished, but checks failed), else 0.
    let down = r.stdout.contains("DOWN:");
    assert_eq!(r.code, if down { 1 } else { 0 }, "{r:?}");
    env.ok(&["failover"]).stdout
}

/// Whether the last health-check left a check DOWN (its record in state).
fn last_health_exit(env: &TestEnv) -> i64 {
    let s: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    s["jobs"]["health-check"]["last_exit"]
        .as_i64()
        .unwrap_or(-1)
}

fn active(env: &TestEnv) -> String {
    let s: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    s["zone"]["active"].as_str().unwrap_or("").to_string()
}

#[test]
fn health_check_and_failover_alert_once_per_incident_and_never_fail_back_alone() {
    let svc = Service::start();
    let hook = FakeServer::start(|_| Response::text(204, "text/plain", ""));
    let url = format!("{}/health", svc.server.url());
    let mut env = TestEnv::new();
    env.config(&format!(
        "zones:\n  - name: cloud\n    agent: cloud\n    does: [poll_gmail, plan]\n    health_url: {url}\n  - name: home\n    agent: local\n    does: [poll_gmail, plan, execute]\n\
         failover:\n  after: 10m\n  hold_down: 30m\n\
         health:\n  min_free_mb: 1\n  checks:\n    - name: website\n      http: {url}\n      body_contains: ok\n\
         alerts:\n  webhook_url: {}/hook\n",
        hook.url()
    ));
    let mut t = 0;
    tick(&mut env, t);
    assert_eq!(active(&env), "cloud");
    // The cloud's zone is active: only its agent polls Gmail.
    let r = env.ok(&["poll-gmail"]);
    assert!(r.stdout.contains("zone `cloud` is active"), "{r:?}");
    // Flapping: single failures between successes raise nothing.
    for on in [false, true, false, true, false, false, true] {
        svc.set(on);
        t += 2;
        tick(&mut env, t);
    }
    assert!(alerts(&env).is_empty(), "{:#?}", alerts(&env));
    assert_eq!(last_health_exit(&env), 0, "a flapping check is not DOWN");
    // Down for good: DOWN after the third failure in a row, once.
    svc.set(false);
    for _ in 0..3 {
        t += 2;
        tick(&mut env, t);
    }
    let a = alerts(&env);
    assert_eq!(count(&a, "health:website", "down"), 1, "{a:#?}");
    assert_eq!(count(&a, "health:zone:cloud", "down"), 1, "{a:#?}");
    assert!(a.iter().all(|x| x["level"] == "critical"), "{a:#?}");
    assert_eq!(last_health_exit(&env), 1, "exit 1 while a check is DOWN");
    let down_at = t;
    // Still down (one lone success does not end it), no switch before the threshold.
    let mut switched_at = None;
    for i in 0..8 {
        svc.set(i == 2);
        t += 2;
        let said = tick(&mut env, t);
        if switched_at.is_none() && active(&env) == "home" {
            switched_at = Some(t);
            assert!(said.contains("zone `home` is active"), "{said}");
        }
    }
    let switched_at = switched_at.expect("failover switched to home");
    assert!(switched_at - down_at >= 10, "{down_at} {switched_at}");
    let a = alerts(&env);
    assert_eq!(count(&a, "health:website", "down"), 1, "{a:#?}");
    assert_eq!(count(&a, "health:website", "up"), 0, "{a:#?}");
    assert_eq!(count(&a, "failover", "switched"), 1, "{a:#?}");
    // Now this agent's zone is active: it polls (Gmail is not set up here: skipped as such).
    let r = env.ok(&["poll-gmail"]);
    assert!(r.stdout.contains("gmail is not set up"), "{r:?}");
    // Back up: UP after two successes, once; no automatic fail-back.
    svc.set(true);
    for _ in 0..4 {
        t += 2;
        tick(&mut env, t);
    }
    let a = alerts(&env);
    assert_eq!(count(&a, "health:website", "up"), 1, "{a:#?}");
    assert_eq!(count(&a, "health:zone:cloud", "up"), 1, "{a:#?}");
    assert_eq!(last_health_exit(&env), 0, "exit 0 once every check is UP");
    assert!(
        a.iter()
            .filter(|x| x["event"] == "up")
            .all(|x| x["level"] == "info")
    );
    assert_eq!(active(&env), "home", "no fail-back without auto_failback");
    assert_eq!(count(&a, "failover", "switched"), 1);
    // Every alert also went to the webhook, as JSON.
    let posts = hook.hits_to("/hook");
    assert_eq!(posts.len(), a.len(), "{a:#?}");
    assert!(posts.iter().all(|p| p.json()["level"].is_string()));
    // The owner switches back by hand.
    let r = env.ok(&["failover", "--to", "cloud"]);
    assert!(r.stdout.contains("zone `cloud` is active"), "{r:?}");
    assert_eq!(active(&env), "cloud");
    assert_eq!(env.run(&["failover", "--to", "mars"]).code, 2);
    // A new incident within the hold-down: DOWN, but no second switch until it passes.
    svc.set(false);
    for _ in 0..9 {
        t += 2;
        let said = tick(&mut env, t);
        assert_eq!(active(&env), "cloud", "{said}");
    }
    let said = tick(&mut env, t + 30);
    assert!(said.contains("zone `home` is active"), "{said}");
    // A long incident is recalled every remind_every (4h), not every pass.
    t += 30;
    for _ in 0..3 {
        t += 2;
        tick(&mut env, t);
    }
    let before = count(&alerts(&env), "health:website", "still_down");
    assert_eq!(before, 0);
    t += 4 * 60;
    tick(&mut env, t);
    tick(&mut env, t + 2);
    let a = alerts(&env);
    assert_eq!(count(&a, "health:website", "still_down"), 1, "{a:#?}");
    assert_eq!(count(&a, "health:website", "down"), 2, "{a:#?}");
    // Every result is in Logs/health/, one line per check per pass.
    let day = fs::read_to_string(env.path(&format!("Logs/health/{}.jsonl", &at(0)[..10]))).unwrap();
    assert!(
        day.lines()
            .filter(|l| l.contains("\"check\":\"website\""))
            .count()
            >= 30
    );
}

#[test]
fn configured_tcp_and_aie_checks_and_a_bad_check_are_reported() {
    let svc = Service::start();
    let env = TestEnv::new();
    env.config(&format!(
        "health:\n  min_free_mb: 1\n  down_after: 1\n  checks:\n    - name: port\n      tcp: 127.0.0.1:{}\n    - name: status\n      aie: status\n    - name: refused\n      aie: sync-vault\n    - name: wrong\n      http: http://x\n      tcp: y:1\n",
        svc.server.port
    ));
    let r = env.run(&["health-check", "--json"]);
    assert_eq!(r.code, 1, "two checks are DOWN: {r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let by = |n: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("{n}: {v:#}"))
    };
    assert_eq!(by("port")["ok"], true, "{v:#}");
    assert_eq!(by("status")["ok"], true, "{v:#}");
    assert_eq!(by("refused")["ok"], false, "{v:#}");
    assert_eq!(by("wrong")["ok"], false, "{v:#}");
    assert_eq!(by("disk")["ok"], true, "{v:#}");
    assert_eq!(by("backlog")["ok"], true, "{v:#}");
    // down_after: 1: the two bad checks are DOWN at once, and under attention.
    let s: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    assert_eq!(s["health"]["checks"]["wrong"]["status"], "down", "{s:#}");
    assert!(
        s["attention"].to_string().contains("wrong is DOWN"),
        "{s:#}"
    );
}

#[test]
fn an_item_waiting_over_48_hours_is_a_failed_check() {
    let mut env = TestEnv::new();
    env.config("health:\n  min_free_mb: 1\n  down_after: 1\n");
    env.drop_file("note.txt", "please look at this\n");
    env.ok(&["process-inbox"]);
    let r = env.ok(&["health-check", "--json"]);
    assert!(r.stdout.contains("\"backlog\""), "{r:?}");
    env.now = at(49 * 60);
    let r = env.run(&["health-check", "--json"]);
    assert_eq!(r.code, 1, "the backlog check is DOWN: {r:?}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let b = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "backlog")
        .unwrap()
        .clone();
    assert_eq!(b["ok"], false, "{v:#}");
    assert!(b["message"].as_str().unwrap().contains("49 h"), "{b}");
    let a = alerts(&env);
    assert_eq!(count(&a, "health:backlog", "down"), 1, "{a:#?}");
    assert_eq!(a[0]["level"], "warning");
}

// The health job accepts health-check's 1 (`success_exit: [1]`): `aie run health` exits 1
// like its step (SPEC), but logs no error (cron mails nothing), the run counts as a success
// (no "missed runs" for it), and its unit has `SuccessExitStatus=75 1`, so `OnFailure=`
// does not alert every two minutes while the health alerts report the incident once.
#[test]
fn the_health_job_exits_1_while_a_check_is_down_without_counting_as_a_failed_run() {
    let svc = Service::start();
    svc.set(false);
    let env = TestEnv::new();
    env.config(&format!(
        "health:\n  min_free_mb: 1\n  down_after: 1\n  checks:\n    - name: website\n      http: {}/health\n",
        svc.server.url()
    ));
    let r = env.run(&["run", "health"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(!r.stderr.contains("ERROR"), "{r:?}");
    assert_eq!(count(&alerts(&env), "health:website", "down"), 1);
    let s: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    let job = &s["jobs"]["health"];
    assert_eq!(job["last_exit"], 1, "{s:#}");
    assert!(job["last_success"].is_string(), "{s:#}");
    assert_eq!(job["consecutive_failures"], 0, "{s:#}");
    // Back up (UP after two successes): exit 0.
    svc.set(true);
    assert_eq!(env.run(&["run", "health"]).code, 1);
    let r = env.run(&["run", "health"]);
    assert_eq!(r.code, 0, "{r:?}");
    // The unit accepts the 1; the other jobs' units do not.
    let out = env.dir.path().join("units");
    env.ok(&["schedule", "systemd", "--out", out.to_str().unwrap()]);
    let unit = fs::read_to_string(out.join("aie-health.service")).unwrap();
    assert!(unit.contains("\nSuccessExitStatus=75 1\n"), "{unit}");
    assert!(unit.contains("OnFailure="), "{unit}");
    let sync = fs::read_to_string(out.join("aie-sync.service")).unwrap();
    assert!(sync.contains("\nSuccessExitStatus=75\n"), "{sync}");
}

/// The built-in check `name` of one `health-check --json`.
fn builtin_check(env: &TestEnv, name: &str) -> Value {
    let r = env.run(&["health-check", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name);
    c.cloned().unwrap_or_else(|| panic!("no `{name}`: {v:#}"))
}

// health-check asked Gmail and SMTP live but Odoo and the social platforms only offline
// (the live checks lived in doctor), so an Odoo server that was down passed (issue 9). Each
// connector's live check is now its own, and both iterate them.
#[test]
fn health_check_asks_odoo_and_the_social_platforms_live() {
    use crate::support::odoo_fake::OdooTarget;
    use crate::support::social_fake::{SECRETS, SocialFake};
    let odoo = OdooTarget::new();
    let social = SocialFake::start();
    let mut env = TestEnv::new();
    env.config(&format!(
        "health:\n  min_free_mb: 1\n{}{}",
        odoo.config(""),
        social.config()
    ));
    env.env("AIE_ODOO_USERNAME", &odoo.user)
        .env("AIE_ODOO_API_KEY", &odoo.key);
    for (k, v) in SECRETS {
        env.env(k, v);
    }
    let c = builtin_check(&env, "odoo");
    assert_eq!(c["ok"], true, "{c}");
    assert!(
        c["message"].as_str().unwrap().contains("the login works"),
        "{c}"
    );
    let c = builtin_check(&env, "x");
    assert!(c["message"].as_str().unwrap().contains("@samsshop"), "{c}");
    // Nothing answers at odoo.url: the offline check passes, the live one does not.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    env.config(&format!(
        "health:\n  min_free_mb: 1\nodoo:\n  url: http://127.0.0.1:{port}\n  db: x\n  timeout_seconds: 2\n"
    ));
    let c = builtin_check(&env, "odoo");
    assert_eq!(c["ok"], false, "{c}");
    assert!(!c["message"].to_string().contains(&odoo.key), "{c}");
}

/// A vault with X (and the other platforms) pointed at `social`, with `extra` settings.
fn social_health_env(social: &crate::support::social_fake::SocialFake, extra: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.config(&format!(
        "health:\n  min_free_mb: 1\n{extra}{}",
        social.config()
    ));
    for (k, v) in crate::support::social_fake::SECRETS {
        env.env(k, v);
    }
    env
}

/// One `health-check --json` (with `more` flags) at `minutes`: the `x` check, and how many
/// times X's `/2/users/me` has been called so far.
fn x_pass(
    env: &mut TestEnv,
    social: &crate::support::social_fake::SocialFake,
    minutes: i64,
    more: &[&str],
) -> (Value, usize) {
    env.now = at(minutes);
    let args: Vec<&str> = ["health-check", "--json"]
        .iter()
        .chain(more)
        .copied()
        .collect();
    let r = env.run(&args);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    let x = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "x")
        .cloned()
        .unwrap_or_else(|| panic!("no `x`: {v:#}"));
    (x, social.server.hits_to("/2/users/me").len())
}

fn said(check: &Value) -> &str {
    check["message"].as_str().unwrap()
}

// health-check (every 2 minutes) asked every connector live on every pass: 720 calls a day
// of X's `/2/users/me` (25 allowed a day), of the Graph and LinkedIn, and 720 SMTP logins,
// so a healthy setup spent its quotas and then reported itself DOWN. A live answer now
// stands for `health.live_every` (1h), a failure is asked again every pass, and `--live`
// asks at once.
#[test]
fn health_check_asks_each_connector_live_once_per_live_every_unless_it_failed() {
    use crate::support::http::Response;
    use crate::support::social_fake::SocialFake;
    let social = SocialFake::start();
    let mut env = social_health_env(&social, "");
    // Three passes two minutes apart: one live call; the others say how old it is.
    let (x, calls) = x_pass(&mut env, &social, 0, &[]);
    assert_eq!((x["ok"].as_bool(), calls), (Some(true), 1), "{x}");
    assert!(
        said(&x).contains("@samsshop") && !said(&x).contains("asked live"),
        "{x}"
    );
    let (x, calls) = x_pass(&mut env, &social, 2, &[]);
    assert_eq!(calls, 1, "{x}");
    assert_eq!(x["ok"], true, "{x}");
    assert!(said(&x).starts_with("ok (asked live 2 min ago: "), "{x}");
    assert!(said(&x).contains("@samsshop"), "{x}");
    let (x, calls) = x_pass(&mut env, &social, 4, &[]);
    assert_eq!(calls, 1, "{x}");
    assert!(said(&x).starts_with("ok (asked live 4 min ago: "), "{x}");
    // live_every (1h) after the first: asked again.
    let (x, calls) = x_pass(&mut env, &social, 60, &[]);
    assert_eq!(calls, 2, "{x}");
    assert!(!said(&x).contains("asked live"), "{x}");
    // `--live` asks at once, and the next pass reuses that answer.
    let (x, calls) = x_pass(&mut env, &social, 62, &["--live"]);
    assert_eq!(calls, 3, "{x}");
    assert!(!said(&x).contains("asked live"), "{x}");
    let (x, calls) = x_pass(&mut env, &social, 64, &[]);
    assert_eq!(calls, 3, "{x}");
    assert!(said(&x).starts_with("ok (asked live 2 min ago: "), "{x}");
    // The token is refused when it is next due: every pass asks until it works again.
    let refused = crate::support::fixture("x/unauthorized.json");
    social
        .then("GET /2/users/me", Response::raw_json(401, &refused))
        .then("GET /2/users/me", Response::raw_json(401, &refused));
    let (x, calls) = x_pass(&mut env, &social, 122, &[]);
    assert_eq!((x["ok"].as_bool(), calls), (Some(false), 4), "{x}");
    let (x, calls) = x_pass(&mut env, &social, 124, &[]);
    assert_eq!((x["ok"].as_bool(), calls), (Some(false), 5), "{x}");
    assert!(!said(&x).contains("asked live"), "{x}");
    let (x, calls) = x_pass(&mut env, &social, 126, &[]);
    assert_eq!((x["ok"].as_bool(), calls), (Some(true), 6), "{x}");
    let (x, calls) = x_pass(&mut env, &social, 128, &[]);
    assert_eq!((x["ok"].as_bool(), calls), (Some(true), 6), "{x}");
    assert!(said(&x).starts_with("ok (asked live 2 min ago: "), "{x}");
    // The log says the same, pass by pass.
    let log = fs::read_to_string(env.path(&format!("Logs/health/{}.jsonl", &at(0)[..10]))).unwrap();
    let x_lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["check"] == "x")
        .collect();
    let reused: Vec<bool> = x_lines
        .iter()
        .map(|l| said(l).starts_with("ok (asked live "))
        .collect();
    let want = [
        false, true, true, false, false, true, false, false, false, true,
    ];
    assert_eq!(reused, want, "{x_lines:#?}");
    assert_eq!(x_lines[6]["ok"], false, "{x_lines:#?}");
    // The last live answer is in state.json, beside the check's state.
    let s: Value = serde_json::from_str(&env.ok(&["status", "--json"]).stdout).unwrap();
    let live = &s["health"]["checks"]["x"]["live"];
    assert_eq!(live["at"], at(126), "{s:#}");
    assert_eq!(live["ok"], true, "{s:#}");
}

// The offline check still runs every pass: a missing token is reported at once, without a
// live call, and once it is back the connector is asked live (not the old answer).
#[test]
fn a_failing_offline_check_is_reported_at_once_and_the_fix_is_asked_live() {
    use crate::support::social_fake::SocialFake;
    let social = SocialFake::start();
    let mut env = social_health_env(&social, "  live_every: 1d\n");
    let (_, calls) = x_pass(&mut env, &social, 0, &[]);
    assert_eq!(calls, 1);
    env.env("AIE_X_TOKEN", "");
    let (x, calls) = x_pass(&mut env, &social, 2, &[]);
    assert_eq!((x["ok"].as_bool(), calls), (Some(false), 1), "{x}");
    assert!(said(&x).contains("AIE_X_TOKEN"), "{x}");
    env.env("AIE_X_TOKEN", "x-access-1");
    let (x, calls) = x_pass(&mut env, &social, 4, &[]);
    assert_eq!((x["ok"].as_bool(), calls), (Some(true), 2), "{x}");
    assert!(!said(&x).contains("asked live"), "{x}");
    // Another X section in aie.yaml: its old answer no longer stands.
    let (_, calls) = x_pass(&mut env, &social, 6, &[]);
    assert_eq!(calls, 2);
    env.config(&format!(
        "health:\n  min_free_mb: 1\n  live_every: 1d\n{}x:\n  api_base: {}/\n",
        social.config().split("x:\n").next().unwrap(),
        social.url()
    ));
    let (x, calls) = x_pass(&mut env, &social, 8, &[]);
    assert_eq!((x["ok"].as_bool(), calls), (Some(true), 3), "{x}");
}
