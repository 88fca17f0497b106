//! Instagram posts through the Instagram Graph API (`instagram.graph_base`,
//! `instagram.user_id` of a professional account, `AIE_INSTAGRAM_TOKEN`): the account's
//! publishing limit is read first (`GET /{ig-user-id}/content_publishing_limit`: at the limit
//! the post waits for a later pass), then the media container is made
//! (`POST /{ig-user-id}/media` with `image_url` and `caption`), waited for until its
//! `status_code` is `FINISHED` (bounded), and published once
//! (`POST /{ig-user-id}/media_publish` with `creation_id`). A reply to a comment is
//! `POST /{ig-comment-id}/replies`. No printing, no vault access.

use super::capabilities::{
    Connector, Finding, LiveCx, Publisher, Registered, SecretNeed, required,
};
use super::facebook::valid_graph_id;
use super::http::{Body, Request, retry_usual};
use super::social::{self, GraphAccount, graph_outcome};
use crate::actions::social_post;
use crate::config::Settings;
use crate::executor::ActionOutcome;
use crate::secrets::Secrets;
use anyhow::Result;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const SECRETS: &[&str] = &[social::INSTAGRAM.token];

/// The connector as `doctor` sees it.
pub const CONNECTOR: Registered =
    Connector::of_section("instagram", SECRETS, needs, check).with_live(live);

fn needs(s: &Settings) -> Option<Vec<SecretNeed>> {
    s.instagram.as_ref().map(|_| required(SECRETS))
}

fn check(s: &Settings, secrets: &Secrets, _root: &Path) -> Result<String> {
    Ok(match publisher(s, secrets)? {
        Some(p) => format!("account {} at {}", p.acct.id, p.acct.base),
        None => "not set up".into(),
    })
}

/// Reads the account with the token aie posts with (see [`super::social_doctor`]).
fn live(cx: &LiveCx) -> Vec<Finding> {
    let ig = cx.settings.instagram.as_ref();
    let account = ig.map(|c| (&*c.graph_base, c.user_id.as_deref()));
    super::social_doctor::graph_finding(&social::INSTAGRAM, cx.secrets, account)
}

/// The longest a container is waited for in one pass.
const CONTAINER_WAIT: Duration = Duration::from_secs(60);

/// Posts to one Instagram professional account.
pub struct InstagramPublisher {
    acct: GraphAccount,
    /// The first wait between two looks at a container (it doubles, up to 5 s).
    poll: Duration,
}

/// The account's publisher: `Ok(None)` without an `instagram:` section; a config error
/// (exit 78) without `instagram.user_id` or the token.
pub fn publisher(settings: &Settings, secrets: &Secrets) -> Result<Option<InstagramPublisher>> {
    let Some(ig) = &settings.instagram else {
        return Ok(None);
    };
    let acct = GraphAccount::new(
        &social::INSTAGRAM,
        &ig.graph_base,
        ig.user_id.as_deref(),
        secrets,
    )?;
    Ok(Some(InstagramPublisher {
        acct,
        poll: Duration::from_millis(200),
    }))
}

type Step = std::result::Result<Value, ActionOutcome>;

impl InstagramPublisher {
    fn call(&self, method: &str, path: &str, query: &[(&str, &str)], body: Option<&Value>) -> Step {
        let url = format!("{}/{path}", self.acct.base);
        let auth = self.acct.bearer();
        let headers = [("Authorization", auth.as_str())];
        let base = match body {
            Some(b) => Request::post(&url, Body::Json(b), false),
            None => Request::get(&url),
        };
        let req = Request {
            headers: &headers,
            query,
            method,
            ..base
        };
        let judge = if body.is_some() {
            social::judge
        } else {
            retry_usual
        };
        self.acct
            .http
            .send(&req, &judge)
            .map(|r| r.json())
            .map_err(|e| graph_outcome(&e, "instagram", SECRETS[0]))
    }

    /// Whether the account may publish now (its 24-hour quota is not used up).
    fn under_limit(&self) -> std::result::Result<(), ActionOutcome> {
        let v = self.call(
            "GET",
            &format!("{}/content_publishing_limit", self.acct.id),
            &[("fields", "quota_usage,config")],
            None,
        )?;
        let d = &v["data"][0];
        let used = d["quota_usage"].as_u64().unwrap_or(0);
        match d["config"]["quota_total"].as_u64() {
            Some(total) if used >= total => Err(ActionOutcome::Retry(format!(
                "instagram: the account has published {used} of its {total} posts in 24 hours: the post waits for a later pass"
            ))),
            _ => Ok(()),
        }
    }

    /// Waits (bounded, and never past the run's deadline) until the container is
    /// `FINISHED`.
    fn wait_finished(&self, container: &str) -> std::result::Result<(), ActionOutcome> {
        let most = Instant::now() + CONTAINER_WAIT;
        let end = self.acct.http.deadline().map_or(most, |d| d.min(most));
        let within = if end < most {
            "before the run's deadline".to_string()
        } else {
            format!("within {} s", CONTAINER_WAIT.as_secs())
        };
        let mut wait = self.poll;
        loop {
            let v = self.call("GET", container, &[("fields", "status_code,status")], None)?;
            match v["status_code"].as_str().unwrap_or("") {
                "FINISHED" => return Ok(()),
                "ERROR" | "EXPIRED" => {
                    return Err(ActionOutcome::Failed(format!(
                        "instagram: the media container {container} ended {}: {} (is `image_url` a public JPEG?); nothing was published",
                        v["status_code"].as_str().unwrap_or(""),
                        social::clip(v["status"].as_str().unwrap_or(""), 200)
                    )));
                }
                _ if Instant::now() + wait > end => {
                    return Err(ActionOutcome::Retry(format!(
                        "instagram: the media container {container} was not ready {within}; nothing was published"
                    )));
                }
                // Waiting for Meta to fetch and process the image: nothing to await but time.
                _ => std::thread::sleep(wait),
            }
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }
}

impl Publisher for InstagramPublisher {
    fn publish(&mut self, post: &social_post::Params, _key: &str) -> ActionOutcome {
        let text = crate::actions::text(&post.text);
        let reply_to = crate::actions::text(&post.reply_to).trim();
        if !reply_to.is_empty() {
            if !valid_graph_id(reply_to) {
                return ActionOutcome::Failed(format!(
                    "instagram: `{}` is not a comment id: nothing was sent",
                    social::clip(reply_to, 40)
                ));
            }
            return match self.call(
                "POST",
                &format!("{reply_to}/replies"),
                &[],
                Some(&json!({"message": text})),
            ) {
                Ok(v) => ActionOutcome::Ok(format!(
                    "instagram reply {}",
                    v["id"].as_str().unwrap_or("")
                )),
                Err(o) => o,
            };
        }
        let run = || -> std::result::Result<String, ActionOutcome> {
            self.under_limit()?;
            let image = crate::actions::text(&post.image_url).trim();
            let c = self.call(
                "POST",
                &format!("{}/media", self.acct.id),
                &[],
                Some(&json!({"image_url": image, "caption": text})),
            )?;
            let container = c["id"].as_str().unwrap_or("").to_string();
            if !valid_graph_id(&container) {
                return Err(ActionOutcome::Failed(
                    "instagram: the answer carried no container id; nothing was published".into(),
                ));
            }
            self.wait_finished(&container)?;
            let p = self.call(
                "POST",
                &format!("{}/media_publish", self.acct.id),
                &[],
                Some(&json!({"creation_id": container})),
            )?;
            let id = p["id"].as_str().unwrap_or("").to_string();
            if id.is_empty() {
                return Err(ActionOutcome::Unknown(
                    "instagram: the publish answer carried no media id: check the account".into(),
                ));
            }
            // The link is a courtesy: the post is out whatever this answers.
            let link = if valid_graph_id(&id) {
                self.call("GET", &id, &[("fields", "permalink")], None)
                    .ok()
                    .and_then(|v| v["permalink"].as_str().map(str::to_string))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            Ok(format!("instagram media {id} {link}")
                .trim_end()
                .to_string())
        };
        match run() {
            Ok(d) => ActionOutcome::Ok(d),
            Err(o) => o,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Instagram waited up to 60 s for a media container whatever time the run had left
    // (issue 9): the wait now ends at the run's deadline too.
    #[test]
    fn the_container_wait_ends_at_the_runs_deadline() {
        let body = r#"{"status_code":"IN_PROGRESS","status":""}"#;
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let (url, _) =
            super::super::http::test_server(|line, _| line, move |_| Some(reply.clone()));
        let yaml = format!("instagram:\n  graph_base: {url}\n  user_id: \"17841400000000001\"\n");
        let settings = Settings::parse(&yaml, Path::new("aie.yaml")).unwrap();
        let env = std::collections::BTreeMap::from([(
            SECRETS[0].to_string(),
            "ig-token-0123456789".to_string(),
        )]);
        let secrets = Secrets::load(&env, None, None).unwrap();
        let mut p = publisher(&settings, &secrets).unwrap().unwrap();
        let started = Instant::now();
        p.acct.http = p.acct.http.until(Some(started + Duration::from_secs(1)));
        p.poll = Duration::from_millis(50);
        let r = p.wait_finished("17900000000000001");
        let Err(ActionOutcome::Retry(why)) = r else {
            panic!("{r:?}")
        };
        assert!(why.contains("before the run's deadline"), "{why}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
