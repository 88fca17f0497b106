//! Social posts and WhatsApp messages against a loopback fake of each API (Graph API, X API
//! v2, LinkedIn Posts API, WhatsApp Cloud API) answering with their documented shapes:
//! headers and bodies as sent, one request per approved post, none in dry-run, none for an
//! unapproved item, none before `scheduled_at`; rate limits wait, a broken connection after
//! the request went out goes to review and is never posted twice.

use crate::support::TestEnv;
use crate::support::fixture;
use crate::support::http::Response;
use crate::support::social_fake::{self, IG_CONTAINER, LI_URN, SECRETS, SocialFake, social_env};

/// Drops a post request, plans it, sets its actions to `actions_yaml` (the owner edits the
/// request) and, when `approve`, moves it to `Approved/`. Returns the item id.
fn requested(env: &TestEnv, name: &str, actions_yaml: &str, approve: bool) -> String {
    env.drop_file(
        name,
        format!("Please post on LinkedIn:\nPost: {name} news\n"),
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let id = env
        .items_in("Pending_Approval/social")
        .into_iter()
        .map(|n| n.trim_end_matches(".md").to_string())
        .find(|id| {
            env.read(&format!("Pending_Approval/social/{id}.md"))
                .contains(name)
        })
        .expect("the request");
    let rel = format!("Pending_Approval/social/{id}.md");
    env.set_actions(&rel, actions_yaml);
    if approve {
        env.mv(&rel, "Approved");
    }
    id
}

#[test]
fn each_platform_gets_one_request_with_its_headers_and_body_and_the_post_is_recorded() {
    let fake = SocialFake::start();
    fake.then(
        &format!("GET /{IG_CONTAINER}"),
        Response::raw_json(200, &fixture("instagram/status_in_progress.json")),
    );
    let env = social_env(&fake, true, "");
    let id = requested(
        &env,
        "launch.txt",
        "- kind: social_post\n  platform: facebook\n  text: Our shop opens Monday!\n\
         - kind: social_post\n  platform: instagram\n  text: \"Opening day #shop\"\n  image_url: https://cdn.example/p.jpg\n\
         - kind: social_post\n  platform: x\n  text: Opening Monday https://shop.example/open\n\
         - kind: social_post\n  platform: linkedin\n  text: \"We open (finally) on Monday @ 9 #news\"\n",
        true,
    );
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.where_is(&id), vec!["Done"]);
    // Facebook: the feed, with the Page token as a bearer.
    let fb = fake.server.hits_to(&format!("/{}/feed", social_fake::PAGE));
    assert_eq!(fb.len(), 1);
    assert_eq!(
        fb[0].header("authorization"),
        Some("Bearer fb-page-token-1")
    );
    assert_eq!(fb[0].json()["message"], "Our shop opens Monday!");
    // Instagram: the limit read first, the container, its status until FINISHED, publish.
    let ig: Vec<String> = fake
        .server
        .hits()
        .iter()
        .filter(|r| r.header("authorization") == Some("Bearer ig-token-1"))
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect();
    assert_eq!(
        ig,
        [
            "GET /222/content_publishing_limit",
            "POST /222/media",
            &format!("GET /{IG_CONTAINER}"),
            &format!("GET /{IG_CONTAINER}"),
            "POST /222/media_publish",
            "GET /17920238422030506",
        ]
    );
    let media = &fake.server.hits_to("/222/media")[0];
    assert_eq!(media.json()["caption"], "Opening day #shop");
    assert_eq!(media.json()["image_url"], "https://cdn.example/p.jpg");
    assert_eq!(
        fake.server.hits_to("/222/media_publish")[0].json()["creation_id"],
        IG_CONTAINER
    );
    // X: the user token, the text as written.
    let x = fake.server.hits_to("/2/tweets");
    assert_eq!(x.len(), 1);
    assert_eq!(x[0].header("authorization"), Some("Bearer x-access-1"));
    assert_eq!(
        x[0].json()["text"],
        "Opening Monday https://shop.example/open"
    );
    // LinkedIn: version headers, the author, the commentary escaped as "little text".
    let li = fake.server.hits_to("/rest/posts");
    assert_eq!(li.len(), 1);
    assert_eq!(li[0].header("linkedin-version"), Some("202506"));
    assert_eq!(li[0].header("x-restli-protocol-version"), Some("2.0.0"));
    assert_eq!(li[0].json()["author"], "urn:li:organization:2414183");
    assert_eq!(
        li[0].json()["commentary"],
        "We open \\(finally\\) on Monday \\@ 9 \\#news"
    );
    // The ids and URLs are in the item and the audit log.
    let done = env.read(&format!("Done/{id}.md"));
    for s in [
        "https://www.facebook.com/1234567890_9876543210",
        "https://www.instagram.com/p/DAbCdEf/",
        "https://x.com/i/web/status/1445880548472328192",
        &format!("https://www.linkedin.com/feed/update/{LI_URN}"),
    ] {
        assert!(done.contains(s), "{s} in {done}");
    }
    let audit = env.audit();
    let posted: Vec<&serde_json::Value> = audit
        .iter()
        .filter(|l| l["action"] == "social_post" && l["result"] == "ok")
        .collect();
    assert_eq!(posted.len(), 4);
    assert!(posted.iter().any(|l| {
        l["parameters"]["outcome"]
            .as_str()
            .is_some_and(|o| o.contains(LI_URN))
    }));
    // No secret anywhere in the vault.
    for (_, v) in SECRETS {
        assert!(!done.contains(v));
    }
    // Another pass sends nothing more.
    let before = fake.server.hits().len();
    env.ok(&["execute-approved"]);
    assert_eq!(fake.server.hits().len(), before);
}

#[test]
fn nothing_is_sent_in_dry_run_for_an_unapproved_item_or_before_scheduled_at() {
    let fake = SocialFake::start();
    let mut env = social_env(&fake, false, "");
    requested(
        &env,
        "dry.txt",
        "- kind: social_post\n  platform: x\n  text: Dry run only\n",
        true,
    );
    let r = env.ok(&["execute-approved"]);
    assert!(r.stdout.contains("Dry run only"), "{r:?}");
    assert!(fake.server.hits().is_empty());
    // Live, an item still waiting for approval sends nothing.
    env.config(&format!("execution:\n  dry_run: false\n{}", fake.config()));
    requested(
        &env,
        "wait.txt",
        "- kind: social_post\n  platform: x\n  text: Not approved\n",
        false,
    );
    let sched = requested(
        &env,
        "later.txt",
        "- kind: social_post\n  platform: facebook\n  text: Tomorrow's news\n  scheduled_at: 2026-11-24T08:00:00Z\n",
        true,
    );
    env.ok(&["execute-approved"]);
    let sent: Vec<String> = fake
        .posts()
        .iter()
        .map(|r| r.json()["text"].to_string())
        .collect();
    assert_eq!(
        sent,
        ["\"Dry run only\""],
        "only the dry-run item, now live"
    );
    assert!(fake.server.hits_to("/111/feed").is_empty());
    let f = env.front_matter(&format!("Approved/{sched}.md"));
    assert_eq!(f["status"], "scheduled");
    assert_eq!(f["due"], "2026-11-24T08:00:00Z");
    // When it is due, it goes out once.
    env.now = "2026-11-24T08:05:00Z".into();
    env.ok(&["execute-approved"]);
    assert_eq!(fake.server.hits_to("/111/feed").len(), 1);
    assert_eq!(env.where_is(&sched), vec!["Done"]);
}

#[test]
fn rate_limits_make_a_post_wait_for_a_later_pass_never_fail() {
    let fake = SocialFake::start();
    fake.then(
        "POST /2/tweets",
        Response::raw_json(429, &fixture("x/too_many.json"))
            .header("x-rate-limit-reset", "1795424400"),
    );
    fake.then(
        "POST /111/feed",
        Response::raw_json(400, &fixture("facebook/error_throttled.json")),
    );
    let env = social_env(&fake, true, "");
    let x = requested(
        &env,
        "x.txt",
        "- kind: social_post\n  platform: x\n  text: Later is fine\n",
        true,
    );
    let fb = requested(
        &env,
        "fb.txt",
        "- kind: social_post\n  platform: facebook\n  text: Page news\n",
        true,
    );
    let r = env.run(&["execute-approved"]);
    assert!(r.stdout.contains("retry_later: 2"), "{r:?}");
    assert!(
        r.stderr.contains("the limit resets at 2026-11-23T"),
        "{r:?}"
    );
    for id in [&x, &fb] {
        assert_eq!(env.where_is(id), vec!["Approved"]);
        assert!(
            !env.read(&format!("Approved/{id}.md"))
                .contains("result: failed")
        );
    }
    env.ok(&["execute-approved"]);
    assert_eq!(fake.server.hits_to("/2/tweets").len(), 2);
    assert_eq!(fake.server.hits_to("/111/feed").len(), 2);
    assert_eq!(env.items_in("Done").len(), 2);
}

#[test]
fn refusals_fail_with_the_platforms_reason_and_checks_come_before_any_call() {
    let fake = SocialFake::start();
    fake.then(
        "POST /2/tweets",
        Response::raw_json(403, &fixture("x/duplicate.json")),
    );
    fake.then(
        "POST /rest/posts",
        Response::raw_json(426, &fixture("linkedin/426.json")),
    );
    let env = social_env(&fake, true, "");
    let dup = requested(
        &env,
        "dup.txt",
        "- kind: social_post\n  platform: x\n  text: Same again\n",
        true,
    );
    let old = requested(
        &env,
        "old.txt",
        "- kind: social_post\n  platform: linkedin\n  text: Hello\n",
        true,
    );
    let noimg = requested(
        &env,
        "ig.txt",
        "- kind: social_post\n  platform: instagram\n  text: No picture\n",
        true,
    );
    let long = requested(
        &env,
        "long.txt",
        &format!(
            "- kind: social_post\n  platform: x\n  text: {}\n",
            "a".repeat(281)
        ),
        true,
    );
    let link = requested(
        &env,
        "link.txt",
        "- kind: social_post\n  platform: facebook\n  text: \"See [[Attachments/abc/link.txt]]\"\n",
        true,
    );
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    let review = |id: &str| {
        env.front_matter(&format!("Pending_Approval/social/{id}.md"))["review"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert!(
        review(&dup).contains("You are not allowed to create a Tweet with duplicate content"),
        "{}",
        review(&dup)
    );
    assert!(
        review(&old).contains("linkedin.version"),
        "{}",
        review(&old)
    );
    assert!(
        review(&noimg).contains("Instagram needs an image"),
        "{}",
        review(&noimg)
    );
    assert!(review(&long).contains("281"), "{}", review(&long));
    assert!(review(&link).contains("vault link"), "{}", review(&link));
    // Only the two that passed the checks reached the fake.
    assert_eq!(fake.posts().len(), 2, "{:?}", fake.posts());
    assert!(
        fake.server
            .hits()
            .iter()
            .all(|r| !r.path().starts_with("/222"))
    );
}

#[test]
fn a_connection_broken_after_the_post_went_out_goes_to_review_and_is_never_repeated() {
    let fake = SocialFake::start();
    fake.then("POST /111/feed", Response::text(0, "", ""));
    let env = social_env(&fake, true, "");
    let id = requested(
        &env,
        "lost.txt",
        "- kind: social_post\n  platform: facebook\n  text: Did it go?\n",
        true,
    );
    let r = env.run(&["execute-approved"]);
    assert_eq!(r.code, 1, "{r:?}");
    let rel = format!("Pending_Approval/social/{id}.md");
    assert!(
        env.read(&rel).contains("may or may not have happened"),
        "{}",
        env.read(&rel)
    );
    env.ok(&["execute-approved"]);
    assert_eq!(fake.server.hits_to("/111/feed").len(), 1);
}

#[test]
fn whatsapp_sends_text_and_explains_the_24_hour_window() {
    let fake = SocialFake::start();
    let env = social_env(&fake, true, "");
    let ok = requested(
        &env,
        "wa.txt",
        "- kind: whatsapp_send\n  to: \"+1 555 010 2030\"\n  text: On my way\n",
        true,
    );
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&ok), vec!["Done"]);
    let sent = fake.server.hits_to("/333/messages");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("authorization"), Some("Bearer wa-token-1"));
    let b = sent[0].json();
    assert_eq!(
        (
            b["messaging_product"].as_str(),
            b["to"].as_str(),
            b["type"].as_str(),
            b["text"]["body"].as_str()
        ),
        (
            Some("whatsapp"),
            Some("15550102030"),
            Some("text"),
            Some("On my way")
        )
    );
    fake.then(
        "POST /333/messages",
        Response::raw_json(400, &fixture("whatsapp/error_131047.json")),
    );
    let late = requested(
        &env,
        "wa2.txt",
        "- kind: whatsapp_send\n  to: \"+15550102030\"\n  text: Hello again\n",
        true,
    );
    env.run(&["execute-approved"]);
    let review =
        env.front_matter(&format!("Pending_Approval/social/{late}.md"))["review"].to_string();
    assert!(
        review.contains("the customer has not written in 24 h: choose an approved template"),
        "{review}"
    );
    // With a template it goes out as one.
    fake.then(
        "POST /333/messages",
        Response::raw_json(400, &fixture("whatsapp/error_131026.json")),
    );
    let tpl = requested(
        &env,
        "wa3.txt",
        "- kind: whatsapp_send\n  to: \"+15550102030\"\n  text: Hello\n  template: \"follow_up:de\"\n",
        true,
    );
    env.run(&["execute-approved"]);
    let last = fake.server.hits_to("/333/messages").pop().unwrap().json();
    assert_eq!(last["type"], "template");
    assert_eq!(last["template"]["name"], "follow_up");
    assert_eq!(last["template"]["language"]["code"], "de");
    let review =
        env.front_matter(&format!("Pending_Approval/social/{tpl}.md"))["review"].to_string();
    assert!(review.contains("131026"), "{review}");
}

#[test]
fn a_refused_x_token_is_refreshed_once_and_the_rotated_pair_is_kept_private() {
    let fake = SocialFake::start();
    fake.then(
        "POST /2/tweets",
        Response::raw_json(401, &fixture("x/unauthorized.json")),
    );
    let mut env = social_env(&fake, true, "");
    env.env("AIE_X_REFRESH_TOKEN", "x-refresh-1")
        .env("AIE_X_CLIENT_ID", "x-client");
    requested(
        &env,
        "t.txt",
        "- kind: social_post\n  platform: x\n  text: Fresh token\n",
        true,
    );
    env.ok(&["execute-approved"]);
    let tweets = fake.server.hits_to("/2/tweets");
    assert_eq!(tweets.len(), 2);
    assert_eq!(
        tweets[1].header("authorization"),
        Some("Bearer x-access-rotated-2")
    );
    let refresh = fake.server.hits_to("/2/oauth2/token");
    assert_eq!(refresh.len(), 1);
    assert!(refresh[0].body_str().contains("refresh_token=x-refresh-1"));
    let cache = env.vault.join(".aie/x_token.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        std::fs::read_to_string(&cache)
            .unwrap()
            .contains("x-refresh-rotated-2")
    );
    // The next post uses the kept token: no second refresh.
    requested(
        &env,
        "t2.txt",
        "- kind: social_post\n  platform: x\n  text: Still fresh\n",
        true,
    );
    env.ok(&["execute-approved"]);
    assert_eq!(fake.server.hits_to("/2/oauth2/token").len(), 1);
    assert_eq!(
        fake.server.hits_to("/2/tweets")[2].header("authorization"),
        Some("Bearer x-access-rotated-2")
    );
}

#[cfg(feature = "failpoints")]
#[test]
fn a_crash_right_after_the_x_refresh_leaves_a_usable_token_and_a_crash_after_the_post_never_posts_twice()
 {
    let fake = SocialFake::start();
    fake.then(
        "POST /2/tweets",
        Response::raw_json(401, &fixture("x/unauthorized.json")),
    );
    let mut env = social_env(&fake, true, "");
    env.env("AIE_X_REFRESH_TOKEN", "x-refresh-1")
        .env("AIE_X_CLIENT_ID", "x-client");
    let id = requested(
        &env,
        "c.txt",
        "- kind: social_post\n  platform: x\n  text: Crash test\n",
        true,
    );
    env.env("AIE_CRASH_AT", "x:token-refreshed");
    let r = env.run(&["execute-approved"]);
    assert_ne!(r.code, 0, "{r:?}");
    // The old refresh token is spent: a second refresh with it would fail.
    fake.then(
        "POST /2/oauth2/token",
        Response::raw_json(400, &fixture("x/token_invalid.json")),
    );
    env.env("AIE_CRASH_AT", "");
    // The run stopped mid-action: unknown, to review; the owner approves it again.
    env.run(&["execute-approved"]);
    assert_eq!(env.where_is(&id), vec!["Pending_Approval/social"]);
    env.mv(&format!("Pending_Approval/social/{id}.md"), "Approved");
    env.ok(&["execute-approved"]);
    assert_eq!(env.where_is(&id), vec!["Done"]);
    let tweets = fake.server.hits_to("/2/tweets");
    assert_eq!(
        tweets.len(),
        2,
        "the 401, then the post with the kept token"
    );
    assert_eq!(
        tweets[1].header("authorization"),
        Some("Bearer x-access-rotated-2")
    );
    assert_eq!(fake.server.hits_to("/2/oauth2/token").len(), 1);
    // A crash right after the post: unknown, to review, never posted a second time.
    let id = requested(
        &env,
        "c2.txt",
        "- kind: social_post\n  platform: x\n  text: Posted once\n",
        true,
    );
    env.env("AIE_CRASH_AT", "execute:action-done");
    assert_ne!(env.run(&["execute-approved"]).code, 0);
    env.env("AIE_CRASH_AT", "");
    env.run(&["execute-approved"]);
    env.run(&["execute-approved"]);
    assert_eq!(env.where_is(&id), vec!["Pending_Approval/social"]);
    assert_eq!(fake.server.hits_to("/2/tweets").len(), 3);
}

// ---------------------------------------------------------------- inbound WhatsApp

fn sign(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn deliver(env: &TestEnv, request: Vec<u8>) -> crate::support::Run {
    let mut c = env.cmd();
    c.args(["ingest", "whatsapp"]).write_stdin(request);
    env.run_cmd(&mut c)
}

fn post(body: &[u8], signature: &str) -> Vec<u8> {
    let mut r = format!(
        "POST /webhooks/whatsapp HTTP/1.1\r\nHost: hooks.owner.example\r\nContent-Type: application/json\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[test]
fn a_signed_delivery_makes_one_item_per_message_once_and_a_bad_signature_writes_nothing() {
    let fake = SocialFake::start();
    let env = social_env(&fake, false, "");
    let body = fixture("whatsapp/webhook_two_messages.json");
    // A bad signature: 401, a log line, nothing written.
    let r = deliver(
        &env,
        post(body.as_bytes(), &sign("another-secret", body.as_bytes())),
    );
    assert!(r.stdout.starts_with("HTTP/1.1 401"), "{r:?}");
    assert!(r.stderr.contains("bad X-Hub-Signature-256"), "{r:?}");
    assert!(env.all_items().is_empty());
    // The same body, signed, but one byte changed after signing.
    let sig = sign("wa-app-secret-1", body.as_bytes());
    let tampered = body.replace("price list", "price lists");
    let r = deliver(&env, post(tampered.as_bytes(), &sig));
    assert!(r.stdout.starts_with("HTTP/1.1 401"), "{r:?}");
    assert!(env.all_items().is_empty());
    // Signed: two messages, two items.
    let r = deliver(&env, post(body.as_bytes(), &sig));
    assert!(r.stdout.starts_with("HTTP/1.1 200 OK\r\n"), "{r:?}");
    assert!(r.stdout.contains("\r\n\r\nEVENT_RECEIVED"), "{r:?}");
    let items = env.all_items();
    assert_eq!(items.len(), 2, "{items:?}");
    let fronts: Vec<serde_json::Value> = items
        .iter()
        .map(|(id, stage)| env.front_matter(&format!("{stage}/{id}.md")))
        .collect();
    let text = fronts.iter().find(|f| f["message_type"] == "text").unwrap();
    assert_eq!(text["kind"], "whatsapp");
    assert_eq!(
        text["source"],
        "whatsapp:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
    );
    assert_eq!(text["from"], "+16505551234");
    assert_eq!(text["from_name"], "Sheena Nelson");
    assert_eq!(text["sent"], "2026-11-23T09:00:00Z");
    let image = fronts
        .iter()
        .find(|f| f["message_type"] == "image")
        .unwrap();
    assert_eq!(image["media_id"], "1003383421387256");
    assert_eq!(image["sent"], "2026-11-23T09:01:00Z");
    // Meta delivers again: nothing new.
    let r = deliver(&env, post(body.as_bytes(), &sig));
    assert!(r.stdout.starts_with("HTTP/1.1 200"), "{r:?}");
    assert_eq!(env.all_items().len(), 2);
    // A status-only delivery makes nothing.
    let status = fixture("whatsapp/webhook_status.json");
    let r = deliver(
        &env,
        post(
            status.as_bytes(),
            &sign("wa-app-secret-1", status.as_bytes()),
        ),
    );
    assert!(r.stdout.starts_with("HTTP/1.1 200"), "{r:?}");
    assert_eq!(env.all_items().len(), 2);
    let created = env
        .audit()
        .iter()
        .filter(|l| l["action"] == "item_created")
        .count();
    assert_eq!(created, 2);
}

#[test]
fn the_subscription_handshake_echoes_the_challenge_only_for_the_verify_token() {
    let fake = SocialFake::start();
    let env = social_env(&fake, false, "");
    let get = |token: &str| {
        format!("GET /webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={token} HTTP/1.1\r\nHost: h\r\n\r\n").into_bytes()
    };
    let r = deliver(&env, get("hook-check-7"));
    assert!(r.stdout.starts_with("HTTP/1.1 200 OK\r\n"), "{r:?}");
    assert!(r.stdout.contains("content-length: 10\r\n"), "{r:?}");
    assert!(r.stdout.contains("\r\n\r\n1158201444"), "{r:?}");
    let r = deliver(&env, get("guess"));
    assert!(r.stdout.starts_with("HTTP/1.1 403"), "{r:?}");
    assert!(!r.stdout.contains("1158201444"));
}

#[test]
fn a_bare_payload_by_hand_is_taken_without_a_signature() {
    let fake = SocialFake::start();
    let env = social_env(&fake, false, "");
    let f = env.dir.path().join("payload.json");
    std::fs::write(&f, fixture("whatsapp/webhook_two_messages.json")).unwrap();
    let r = env.run(&["ingest", "whatsapp", "--body", f.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.all_items().len(), 2);
}
