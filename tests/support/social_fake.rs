//! A loopback fake of the four social platforms and the WhatsApp Cloud API, answering with
//! the recorded shapes in `tests/fixtures/<vendor>/`. Each `METHOD path` has a default
//! answer; a test queues other answers for a path (`then`), used once each in order.
//! [`social_env`] is a vault pointed at it.

use super::http::{FakeServer, Request, Response};
use super::{TestEnv, fixture};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

pub const PAGE: &str = "111";
pub const IG_USER: &str = "222";
pub const WA_NUMBER: &str = "333";
pub const IG_CONTAINER: &str = "17889455560051444";
pub const IG_MEDIA: &str = "17920238422030506";
pub const LI_URN: &str = "urn:li:share:6844785523593134080";

type Queue = Arc<Mutex<HashMap<String, VecDeque<Response>>>>;

pub struct SocialFake {
    pub server: FakeServer,
    queue: Queue,
}

fn default_answer(r: &Request) -> Response {
    let j = |status, f: &str| Response::raw_json(status, &fixture(f));
    match (r.method.as_str(), r.path()) {
        ("POST", p) if p == format!("/{PAGE}/feed") => j(200, "facebook/feed_ok.json"),
        ("POST", p) if p == format!("/{PAGE}/photos") => Response::json(
            200,
            &serde_json::json!({"id": "5550001", "post_id": format!("{PAGE}_5550001")}),
        ),
        ("POST", p) if p.ends_with("/comments") || p.ends_with("/replies") => {
            Response::json(200, &serde_json::json!({"id": "7770001"}))
        }
        ("GET", p) if p == format!("/{IG_USER}/content_publishing_limit") => {
            j(200, "instagram/publishing_limit.json")
        }
        ("POST", p) if p == format!("/{IG_USER}/media") => j(200, "instagram/container.json"),
        ("GET", p) if p == format!("/{IG_CONTAINER}") => j(200, "instagram/status_finished.json"),
        ("POST", p) if p == format!("/{IG_USER}/media_publish") => {
            j(200, "instagram/publish_ok.json")
        }
        ("GET", p) if p == format!("/{IG_MEDIA}") => Response::json(
            200,
            &serde_json::json!({"permalink": "https://www.instagram.com/p/DAbCdEf/", "id": IG_MEDIA}),
        ),
        ("GET", p) if p == format!("/{PAGE}/feed") => feed_comments(r),
        // The reads `doctor` makes with each token: a token other than the test's own is
        // refused in the platform's documented shape.
        ("GET", p) if p == format!("/{PAGE}") => match bearer(r) == secret("AIE_FACEBOOK_TOKEN") {
            true => Response::json(200, &serde_json::json!({"id": PAGE, "name": "Sam's Shop"})),
            false => j(400, "facebook/error_token.json"),
        },
        ("GET", p) if p == format!("/{IG_USER}") => {
            match bearer(r) == secret("AIE_INSTAGRAM_TOKEN") {
                true => Response::json(
                    200,
                    &serde_json::json!({"id": IG_USER, "username": "samsshop"}),
                ),
                false => j(400, "facebook/error_token.json"),
            }
        }
        ("GET", p) if p == format!("/{WA_NUMBER}") => {
            match bearer(r) == secret("AIE_WHATSAPP_TOKEN") {
                true => Response::json(
                    200,
                    &serde_json::json!({"verified_name": "Sam's Shop", "code_verification_status": "VERIFIED",
                    "display_phone_number": "+44 7700 900123", "quality_rating": "GREEN", "id": WA_NUMBER}),
                ),
                false => j(401, "facebook/error_token.json"),
            }
        }
        ("GET", "/v2/userinfo") => match bearer(r) == secret("AIE_LINKEDIN_TOKEN") {
            true => Response::json(
                200,
                &serde_json::json!({"sub": "782bbtaQ", "name": "Sam Example", "given_name": "Sam",
                    "family_name": "Example", "email_verified": true, "locale": {"country": "GB", "language": "en"}}),
            ),
            false => Response::json(
                401,
                &serde_json::json!({"serviceErrorCode": 65600, "message": "Invalid access token", "status": 401}),
            ),
        },
        ("GET", "/2/users/me") => {
            let t = bearer(r);
            if t == secret("AIE_X_TOKEN") || t == "x-access-rotated-2" {
                j(200, "x/users_me.json")
            } else {
                j(401, "x/unauthorized.json")
            }
        }
        ("GET", "/2/users/2244994945/mentions") => mentions(r),
        ("POST", "/2/tweets") => j(201, "x/create_ok.json"),
        ("POST", "/2/oauth2/token") => j(200, "x/token_ok.json"),
        ("POST", "/rest/posts") => {
            Response::text(201, "application/json", "").header("x-restli-id", LI_URN)
        }
        ("POST", p) if p == format!("/{WA_NUMBER}/messages") => j(200, "whatsapp/send_ok.json"),
        _ => Response::json(
            404,
            &serde_json::json!({"error": {"message": "unknown path", "code": 803}}),
        ),
    }
}

/// The bearer token of a request ("" without one).
fn bearer(r: &Request) -> String {
    let h = r.header("authorization").unwrap_or("");
    match h.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim().to_string(),
        _ => String::new(),
    }
}

/// A test secret's value.
fn secret(name: &str) -> String {
    SECRETS
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

/// The recorded feed with only the comments at or after `comments.since(N)` of `fields`,
/// as the Graph API filters them.
fn feed_comments(r: &Request) -> Response {
    let mut v: serde_json::Value =
        serde_json::from_str(&fixture("facebook/page_feed_comments.json")).unwrap();
    let fields = r.query("fields").unwrap_or_default();
    let since: i64 = fields
        .split(".since(")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    for post in v["data"].as_array_mut().unwrap() {
        post["comments"]["data"]
            .as_array_mut()
            .unwrap()
            .retain(|c| {
                let t = c["created_time"].as_str().unwrap();
                chrono::DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%z")
                    .unwrap()
                    .timestamp()
                    >= since
            });
    }
    Response::json(200, &v)
}

/// The recorded mentions newer than `since_id`, as X filters them.
fn mentions(r: &Request) -> Response {
    let mut v: serde_json::Value = serde_json::from_str(&fixture("x/mentions.json")).unwrap();
    let Some(since) = r.query("since_id") else {
        return Response::json(200, &v);
    };
    let since: u64 = since.parse().unwrap();
    v["data"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["id"].as_str().unwrap().parse::<u64>().unwrap() > since);
    if v["data"].as_array().unwrap().is_empty() {
        return Response::json(200, &serde_json::json!({"meta": {"result_count": 0}}));
    }
    Response::json(200, &v)
}

impl SocialFake {
    pub fn start() -> SocialFake {
        let queue: Queue = Arc::default();
        let q = queue.clone();
        let server = FakeServer::start(move |r| {
            let key = format!("{} {}", r.method, r.path());
            if let Some(resp) = q
                .lock()
                .unwrap()
                .get_mut(&key)
                .and_then(VecDeque::pop_front)
            {
                return resp;
            }
            default_answer(r)
        });
        SocialFake { server, queue }
    }

    /// Answers the next request to `METHOD path` with `resp` (then the default again).
    pub fn then(&self, method_path: &str, resp: Response) -> &Self {
        self.queue
            .lock()
            .unwrap()
            .entry(method_path.to_string())
            .or_default()
            .push_back(resp);
        self
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every request except GETs of status and limits: the posts and messages sent.
    pub fn posts(&self) -> Vec<Request> {
        self.server
            .hits()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path() != "/2/oauth2/token")
            .collect()
    }

    /// `aie.yaml` sections pointing every platform at this fake.
    pub fn config(&self) -> String {
        let u = self.url();
        format!(
            "facebook:\n  graph_base: {u}\n  page_id: \"{PAGE}\"\ninstagram:\n  graph_base: {u}\n  user_id: \"{IG_USER}\"\nx:\n  api_base: {u}\nlinkedin:\n  api_base: {u}\n  author: \"urn:li:organization:2414183\"\n  version: \"202506\"\nwhatsapp:\n  graph_base: {u}\n  phone_number_id: \"{WA_NUMBER}\"\n  verify_token: hook-check-7\n"
        )
    }
}

/// A vault with every platform pointed at `fake` and [`SECRETS`] set, executing for real
/// when `live` (else in dry run), with `extra` (top-level YAML) added to its settings.
pub fn social_env(fake: &SocialFake, live: bool, extra: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.config(&format!(
        "execution:\n  dry_run: {}\n{}{extra}",
        !live,
        fake.config()
    ));
    for (k, v) in SECRETS {
        env.env(k, v);
    }
    env
}

/// The secrets of every platform (test values).
pub const SECRETS: &[(&str, &str)] = &[
    ("AIE_FACEBOOK_TOKEN", "fb-page-token-1"),
    ("AIE_INSTAGRAM_TOKEN", "ig-token-1"),
    ("AIE_X_TOKEN", "x-access-1"),
    ("AIE_LINKEDIN_TOKEN", "li-token-1"),
    ("AIE_WHATSAPP_TOKEN", "wa-token-1"),
    ("AIE_WHATSAPP_APP_SECRET", "wa-app-secret-1"),
];
