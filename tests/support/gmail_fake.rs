//! A loopback fake of Google's token endpoint and the Gmail API v1, built on [`FakeServer`]
//! and answering with the shapes of `tests/fixtures/gmail/` (token refresh and code
//! exchange, profile, messages.list with pages, messages.get raw, modify, history.list,
//! labels list/create). It holds a small mailbox, and injects faults on demand: one-shot
//! answers for a path (429 with Retry-After, 500...), an expired history id, a revoked
//! refresh token. It also checks, at every `modify`, that the message's item already exists
//! in the vault (nothing may be marked read before its item is durable).

use super::http::{FakeServer, Request, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub const CLIENT_ID: &str = "123456789012-fixture.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "GOCSPX-fixtureSecret";
pub const REFRESH_TOKEN: &str = "1//0gFixtureRefreshTokenCgYIARAAGBASNwF-L9IrFixture";

/// A file under `tests/fixtures/gmail/`.
pub fn fixture(name: &str) -> String {
    super::fixture(&format!("gmail/{name}"))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

/// One message of the fake mailbox.
#[derive(Debug, Clone)]
pub struct FakeMessage {
    pub id: String,
    pub thread: String,
    pub raw: Vec<u8>,
    /// `raw` as sent: None means base64url of `raw` (padded).
    pub raw_text: Option<String>,
    pub labels: Vec<String>,
    /// The history record that added it.
    pub added: u64,
}

/// A one-shot answer for the next request whose path contains `path`.
pub struct Fault {
    pub method: &'static str,
    pub path: String,
    pub response: Response,
}

/// The fake's mailbox and what it saw.
pub struct Mailbox {
    pub messages: Vec<FakeMessage>,
    pub history_id: u64,
    /// history.list with a start below this answers 404.
    pub oldest_history: u64,
    pub labels: Vec<(String, String)>,
    pub page_size: usize,
    pub faults: VecDeque<Fault>,
    pub invalid_grant: bool,
    /// The vault whose items must exist before a modify.
    pub vault: Option<PathBuf>,
    /// Modifies that came before their item existed (must stay empty).
    pub marked_too_early: Vec<String>,
    /// (when, method, path) of every request.
    pub log: Vec<(Instant, String, String)>,
}

/// The running fake.
pub struct GmailFake {
    pub server: FakeServer,
    pub mailbox: Arc<Mutex<Mailbox>>,
}

/// The access token the fake hands out and accepts.
pub fn access_token() -> String {
    fixture_json("oauth_token_refresh_ok.json")["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A simple RFC 822 message.
pub fn simple_raw(from: &str, subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: Sam Owner <sam@owner.example>\r\nSubject: {subject}\r\nDate: Mon, 23 Nov 2026 08:00:00 +0000\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

impl GmailFake {
    pub fn start() -> GmailFake {
        let labels = fixture_json("labels_list.json")["labels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["name"] != "aie/processed")
            .map(|l| {
                (
                    l["id"].as_str().unwrap().to_string(),
                    l["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let mailbox = Arc::new(Mutex::new(Mailbox {
            messages: Vec::new(),
            history_id: 1000,
            oldest_history: 0,
            labels,
            page_size: 100,
            faults: VecDeque::new(),
            invalid_grant: false,
            vault: None,
            marked_too_early: Vec::new(),
            log: Vec::new(),
        }));
        let mb = mailbox.clone();
        let server = FakeServer::start(move |req| handle(&mut mb.lock().unwrap(), req));
        GmailFake { server, mailbox }
    }

    /// The `gmail:` section of aie.yaml pointing at this fake.
    pub fn config(&self, extra: &str) -> String {
        format!(
            "gmail:\n  api_base: {url}\n  token_url: {url}/token\n  auth_url: {url}/o/oauth2/v2/auth\n  timeout_seconds: 10\n{extra}",
            url = self.server.url()
        )
    }

    /// Adds an unread inbox message.
    pub fn add(&self, id: &str, raw: Vec<u8>) {
        let mut mb = self.mailbox.lock().unwrap();
        mb.history_id += 1;
        let added = mb.history_id;
        mb.messages.push(FakeMessage {
            id: id.to_string(),
            thread: format!("t{id}"),
            raw,
            raw_text: None,
            labels: vec!["UNREAD".into(), "IMPORTANT".into(), "INBOX".into()],
            added,
        });
    }

    /// Adds a message with these label ids.
    pub fn add_with_labels(&self, id: &str, raw: Vec<u8>, labels: &[&str]) {
        self.add(id, raw);
        let mut mb = self.mailbox.lock().unwrap();
        mb.messages.last_mut().unwrap().labels = labels.iter().map(|l| l.to_string()).collect();
    }

    /// Adds a message whose `raw` field is exactly `text` (for bad encodings).
    pub fn add_raw_text(&self, id: &str, text: &str) {
        self.add(id, Vec::new());
        let mut mb = self.mailbox.lock().unwrap();
        mb.messages.last_mut().unwrap().raw_text = Some(text.to_string());
    }

    /// Queues a one-shot answer for the next `method` request whose path contains `path`.
    pub fn fail_next(&self, method: &'static str, path: &str, response: Response) {
        self.mailbox.lock().unwrap().faults.push_back(Fault {
            method,
            path: path.to_string(),
            response,
        });
    }

    pub fn labels_of(&self, id: &str) -> Vec<String> {
        let mb = self.mailbox.lock().unwrap();
        mb.messages
            .iter()
            .find(|m| m.id == id)
            .unwrap()
            .labels
            .clone()
    }

    /// Paths of the requests so far (`METHOD /path`).
    pub fn requests(&self) -> Vec<String> {
        self.server
            .hits()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path()))
            .collect()
    }

    pub fn count(&self, method: &str, path_part: &str) -> usize {
        self.server
            .hits()
            .iter()
            .filter(|r| r.method == method && r.path().contains(path_part))
            .count()
    }
}

fn google_error(status: u16, fixture_name: &str) -> Response {
    Response::raw_json(status, &fixture(fixture_name))
}

fn handle(mb: &mut Mailbox, req: &Request) -> Response {
    mb.log
        .push((Instant::now(), req.method.clone(), req.path().to_string()));
    if let Some(i) = mb
        .faults
        .iter()
        .position(|f| f.method == req.method && req.path().contains(&f.path))
    {
        return mb.faults.remove(i).unwrap().response;
    }
    let path = req.path().to_string();
    if path == "/token" {
        return token(mb, req);
    }
    if req.header("authorization") != Some(&format!("Bearer {}", access_token())) {
        return google_error(401, "error_401_invalid_credentials.json");
    }
    let Some(rest) = path.strip_prefix("/gmail/v1/users/me/") else {
        return Response::text(404, "text/plain", "no such path");
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["profile"]) => Response::json(
            200,
            &json!({"emailAddress": "sam@owner.example", "messagesTotal": mb.messages.len(), "threadsTotal": mb.messages.len(), "historyId": mb.history_id.to_string()}),
        ),
        ("GET", ["messages"]) => {
            let q = req.query("q").unwrap_or_default();
            let max: usize = req
                .query("maxResults")
                .and_then(|m| m.parse().ok())
                .unwrap_or(100);
            let size = max.min(mb.page_size);
            let start: usize = req
                .query("pageToken")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            // Newest first, like Gmail; the query's `is:unread` is honoured.
            let matching: Vec<&FakeMessage> = mb
                .messages
                .iter()
                .rev()
                .filter(|m| !q.contains("is:unread") || m.labels.iter().any(|l| l == "UNREAD"))
                .collect();
            if matching.is_empty() {
                return Response::raw_json(200, &fixture("messages_list_empty.json"));
            }
            let page: Vec<Value> = matching
                .iter()
                .skip(start)
                .take(size)
                .map(|m| json!({"id": m.id, "threadId": m.thread}))
                .collect();
            let mut v = json!({"messages": page, "resultSizeEstimate": matching.len()});
            if start + size < matching.len() {
                v["nextPageToken"] = json!((start + size).to_string());
            }
            Response::json(200, &v)
        }
        ("GET", ["messages", id]) => {
            let Some(m) = mb.messages.iter().find(|m| m.id == *id) else {
                return google_error(404, "error_404_history_too_old.json");
            };
            let raw = m
                .raw_text
                .clone()
                .unwrap_or_else(|| base64::engine::general_purpose::URL_SAFE.encode(&m.raw));
            Response::json(
                200,
                &json!({"id": m.id, "threadId": m.thread, "labelIds": m.labels, "snippet": "",
                        "sizeEstimate": m.raw.len(), "historyId": m.added.to_string(),
                        "internalDate": "1795420800000", "raw": raw}),
            )
        }
        ("POST", ["messages", "batchModify"]) => {
            let body = req.json();
            let ids: Vec<String> = body["ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            for id in ids {
                modify(mb, &id, &body);
            }
            Response {
                status: 204,
                headers: Vec::new(),
                body: Vec::new(),
            }
        }
        ("POST", ["messages", id, "modify"]) => {
            let id = id.to_string();
            let body = req.json();
            match modify(mb, &id, &body) {
                Some(v) => Response::json(200, &v),
                None => google_error(404, "error_404_history_too_old.json"),
            }
        }
        ("GET", ["history"]) => {
            let start: u64 = req
                .query("startHistoryId")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if start < mb.oldest_history {
                return google_error(404, "error_404_history_too_old.json");
            }
            let from: usize = req
                .query("pageToken")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let added: Vec<&FakeMessage> = mb.messages.iter().filter(|m| m.added > start).collect();
            if added.is_empty() {
                return Response::json(200, &json!({"historyId": mb.history_id.to_string()}));
            }
            let page: Vec<Value> = added
                .iter()
                .skip(from)
                .take(mb.page_size)
                .map(|m| {
                    json!({"id": m.added.to_string(),
                           "messages": [{"id": m.id, "threadId": m.thread}],
                           "messagesAdded": [{"message": {"id": m.id, "threadId": m.thread, "labelIds": m.labels}}]})
                })
                .collect();
            let mut v = json!({"history": page, "historyId": mb.history_id.to_string()});
            if from + mb.page_size < added.len() {
                v["nextPageToken"] = json!((from + mb.page_size).to_string());
            }
            Response::json(200, &v)
        }
        ("GET", ["labels"]) => {
            let labels: Vec<Value> = mb
                .labels
                .iter()
                .map(|(id, name)| json!({"id": id, "name": name, "type": if id == name {"system"} else {"user"}}))
                .collect();
            Response::json(200, &json!({"labels": labels}))
        }
        ("POST", ["labels"]) => {
            let name = req.json()["name"].as_str().unwrap_or("").to_string();
            if mb.labels.iter().any(|(_, n)| n.eq_ignore_ascii_case(&name)) {
                return google_error(409, "error_409_label_exists.json");
            }
            let id = format!("Label_{}", 7 + mb.labels.len());
            mb.labels.push((id.clone(), name.clone()));
            Response::json(
                200,
                &json!({"id": id, "name": name, "messageListVisibility": "show", "labelListVisibility": "labelShow"}),
            )
        }
        _ => Response::text(404, "text/plain", "no such call"),
    }
}

/// Applies a modify to one message; checks that its item already exists in the vault.
fn modify(mb: &mut Mailbox, id: &str, body: &Value) -> Option<Value> {
    if let Some(v) = &mb.vault
        && !super::files_under(v).iter().any(|p| {
            p.file_name()
                .is_some_and(|n| *n == *format!("gmail-{id}.md"))
        })
    {
        mb.marked_too_early.push(id.to_string());
    }
    mb.history_id += 1;
    let m = mb.messages.iter_mut().find(|m| m.id == id)?;
    for l in body["removeLabelIds"].as_array().into_iter().flatten() {
        m.labels.retain(|x| Some(x.as_str()) != l.as_str());
    }
    for l in body["addLabelIds"].as_array().into_iter().flatten() {
        let l = l.as_str().unwrap().to_string();
        if !m.labels.contains(&l) {
            m.labels.push(l);
        }
    }
    Some(json!({"id": m.id, "threadId": m.thread, "labelIds": m.labels}))
}

fn token(mb: &mut Mailbox, req: &Request) -> Response {
    let form = req.body_str();
    let field = |k: &str| {
        form.split('&').find_map(|kv| {
            let (a, b) = kv.split_once('=')?;
            (a == k).then(|| super::http::percent_decode(b))
        })
    };
    if field("client_id").as_deref() != Some(CLIENT_ID)
        || field("client_secret").as_deref() != Some(CLIENT_SECRET)
    {
        return Response::raw_json(
            401,
            &fixture("oauth_error_invalid_client_unauthorized.json"),
        );
    }
    match field("grant_type").as_deref() {
        Some("refresh_token") => {
            if mb.invalid_grant || field("refresh_token").as_deref() != Some(REFRESH_TOKEN) {
                return Response::raw_json(400, &fixture("oauth_error_invalid_grant.json"));
            }
            Response::raw_json(200, &fixture("oauth_token_refresh_ok.json"))
        }
        Some("authorization_code") => {
            if field("code").is_none() || field("code_verifier").is_none() {
                return Response::raw_json(
                    400,
                    &fixture("oauth_error_invalid_grant_bad_code.json"),
                );
            }
            Response::raw_json(200, &fixture("oauth_token_code_exchange_ok.json"))
        }
        _ => Response::raw_json(400, &fixture("oauth_error_invalid_grant_bad_code.json")),
    }
}

/// A vault that polls `fake` with its client and refresh token; `extra` is more `gmail:` settings.
pub fn gmail_env(fake: &GmailFake, extra: &str) -> super::TestEnv {
    let mut env = super::TestEnv::new();
    env.config(&fake.config(extra));
    env.env("AIE_GMAIL_CLIENT_ID", CLIENT_ID)
        .env("AIE_GMAIL_CLIENT_SECRET", CLIENT_SECRET)
        .env("AIE_GMAIL_REFRESH_TOKEN", REFRESH_TOKEN);
    fake.mailbox.lock().unwrap().vault = Some(env.vault.clone());
    env
}
