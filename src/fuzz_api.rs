//! Entry points for the fuzz targets (`fuzz/`) and the stable replay of their crashers
//! (`tests/cli/fuzz_replay.rs`): each takes the raw bytes a stranger could write, runs the
//! real parser on them, and panics when an invariant the promises rest on breaks (a parsed
//! item that does not render back, a name that leaves `Attachments/<id>/`, a plan whose
//! actions change identity through the vault). Not an API for anything else.

use crate::vault::item::{Item, actions_hash, valid_id};
use serde_json::{Map, Value};
use std::path::{Component, Path};

/// The text of `data` when it is UTF-8 (what every reader of the vault requires).
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Item front matter: what parses renders back to text that parses to the same item (the
/// unknown keys and the body byte for byte), and rendering is stable from then on.
pub fn item(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let Ok(item) = Item::parse(t) else { return };
    item_round_trip(&item);
}

/// Rendering `item` and parsing it again gives the same item, the same actions hash, and
/// the same text when rendered again.
fn item_round_trip(item: &Item) {
    let once = item.render();
    let again = match Item::parse(&once) {
        Ok(i) => i,
        Err(e) => panic!("a rendered item does not parse: {e:#}\n{once}"),
    };
    assert_eq!(again.front, item.front, "front matter changed:\n{once}");
    assert_eq!(again.body, item.body, "body changed:\n{once}");
    assert_eq!(again.actions(), item.actions(), "actions changed:\n{once}");
    assert_eq!(again.actions_hash(), item.actions_hash());
    assert_eq!(again.render(), once, "rendering is not stable");
}

/// Whether `name`, joined under `Attachments/<id>/`, is exactly one plain file name there.
fn stays_in_folder(name: &str) -> bool {
    let p = Path::new("Attachments").join("a1").join(name);
    let parts: Vec<Component> = p.components().collect();
    parts.len() == 3
        && matches!(parts[2], Component::Normal(n) if n == name)
        && !name.starts_with('.')
        && !name.is_empty()
        && !name.contains(['/', '\\', '\0'])
}

/// A mail (RFC 822 bytes): it decodes without a panic, its subject is one line, and every
/// attachment's saved name (after the sanitizer, numbered as the Gmail pass numbers
/// duplicates) stays inside `Attachments/<id>/`.
pub fn mime(data: &[u8]) {
    let Ok(mail) = crate::connectors::mime::parse_message(data) else {
        return;
    };
    if let Some(s) = &mail.subject {
        let line = crate::connectors::mime::one_line(s);
        assert!(
            !line.contains(['\n', '\r']),
            "subject {line:?} is not one line"
        );
    }
    for a in &mail.attachments {
        attachment_name(&a.name);
    }
}

/// The sanitizer on one name, with the numbered forms the Gmail pass gives duplicates.
pub fn attachment_name(name: &str) {
    let safe = crate::connectors::smtp::safe_component(name);
    for n in [1, 2, 10] {
        let numbered = crate::fsutil::numbered_name(&safe, n);
        assert!(
            stays_in_folder(&numbered),
            "attachment name {name:?} became {numbered:?}, which leaves Attachments/<id>/"
        );
    }
}

/// A Gmail message resource (`format=raw` JSON): its raw content decodes and the mail in
/// it passes [`mime`]; an error body's retry hint never panics.
pub fn gmail(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = crate::connectors::gmail::retry_after(None, &v);
    if let Ok((bytes, _thread)) = crate::connectors::gmail::raw_from_json(&v) {
        mime(&bytes);
    }
}

/// A model's HTTP answer (the first byte picks the provider: even Anthropic, odd an
/// OpenAI-compatible server) read into a plan: when the validator accepts it, its actions
/// written into an item's `## Actions` block read back with the same identity.
pub fn llm(data: &[u8]) {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let Some(t) = text(rest) else { return };
    let reply = if first % 2 == 0 {
        crate::connectors::anthropic::parse_reply(t, crate::planner::llm::TOOL_NAME)
    } else {
        crate::connectors::openai_compatible::parse_reply(t)
    };
    let Ok(answer) = reply.answer else { return };
    let Ok(plan) = crate::planner::llm::check_answer(&answer) else {
        return;
    };
    let actions: Vec<Map<String, Value>> = plan.proposals.into_iter().map(|p| p.action).collect();
    let mut item = Item::new(
        "fuzz-1",
        "email",
        "email",
        "gmail:1",
        "2026-01-01T00:00:00Z",
    );
    item.body = "# Hello\n\nA body.\n".into();
    let hash = actions_hash("fuzz-1", &actions);
    item.set_actions(actions.clone());
    let text = item.render();
    let back = match Item::parse(&text) {
        Ok(i) => i,
        Err(e) => panic!("a planned item does not parse: {e:#}\n{text}"),
    };
    assert_eq!(
        back.actions(),
        actions,
        "the actions changed in the vault:\n{text}"
    );
    assert_eq!(back.actions_hash(), hash);
    item_round_trip(&back);
}

/// `aie.yaml`: the strict reader never panics, and settings it accepts have a valid zone.
pub fn settings(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let Ok(s) = crate::config::Settings::parse(t, Path::new("aie.yaml")) else {
        return;
    };
    assert!(
        s.timezone().parse::<chrono_tz::Tz>().is_ok(),
        "accepted time zone {:?}",
        s.timezone()
    );
}

/// A job file, and its schedule (or the first line as a bare cron expression): the next
/// run is after now and matches the expression; a job's steps are aie commands.
pub fn jobs(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let now = chrono::DateTime::parse_from_rfc3339("2026-03-29T00:30:00Z")
        .map(|d| d.with_timezone(&chrono::Utc))
        .expect("invariant: a valid time");
    if let Ok(job) = crate::schedule::jobs::Job::parse("fuzz", t, "jobs/fuzz.yaml") {
        let _ = job.commands();
        cron_next(&job.schedule, now);
    }
    let line = t.lines().next().unwrap_or("");
    if let Ok(c) = crate::schedule::cron::Cron::parse(line) {
        cron_next(&c, now);
        let _ = c.on_calendar("Europe/Berlin");
        let reparsed = crate::schedule::cron::Cron::parse(&c.text)
            .unwrap_or_else(|e| panic!("normalised {:?} does not parse: {e}", c.text));
        assert_eq!(reparsed, c, "normalising {line:?} changed the schedule");
    }
}

/// The next firing of `c` after `now` in two zones (one with a clock change that night).
fn cron_next(c: &crate::schedule::cron::Cron, now: chrono::DateTime<chrono::Utc>) {
    for tz in [chrono_tz::UTC, chrono_tz::Europe::Berlin] {
        if let Some(next) = c.next_after(now, tz) {
            assert!(next > now, "{:?}: next {next} is not after {now}", c.text);
            assert!(
                c.matches(next, tz),
                "{:?}: next {next} does not match",
                c.text
            );
        }
    }
}

/// One MCP message as a client sends it: parsing never panics; an error is answered with a
/// JSON-RPC error whose id is the message's own only when that id was a string or number;
/// a request's id is kept as sent; version negotiation always answers a revision this
/// server speaks; a client's name is made one safe token.
pub fn mcp(data: &[u8]) {
    use crate::mcp::protocol::{Message, SUPPORTED_VERSIONS, error, negotiate, parse_message};
    match parse_message(data) {
        Err(e) => {
            assert!(
                matches!(e.id, Value::Null | Value::String(_) | Value::Number(_)),
                "an error answers with a string, number or null id: {:?}",
                e.id
            );
            let answer = error(&e.id, e.code, &e.message);
            let text = serde_json::to_string(&answer).expect("invariant: an answer is JSON");
            assert!(!text.contains('\n'), "one answer is one line: {text}");
        }
        Ok(Message::Request { id, params, .. }) => {
            assert!(matches!(id, Value::String(_) | Value::Number(_)), "{id:?}");
            let asked = params.get("protocolVersion").and_then(Value::as_str);
            assert!(SUPPORTED_VERSIONS.contains(&negotiate(asked)));
            if let Some(name) = params
                .get("clientInfo")
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
            {
                let safe = crate::mcp::client_name(name);
                assert!(!safe.is_empty() && safe.len() <= 40, "{safe}");
                assert!(
                    safe.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
                    "{safe}"
                );
            }
        }
        Ok(_) => {}
    }
}

/// The Dashboard splice: aie's block is in the result once, splicing again changes
/// nothing (the file does not grow with each pass), and the owner's text before the block
/// is kept.
pub fn dashboard(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let block = "- Needs action: 3\n- Pending approval: 1\n";
    let once = crate::dashboard::splice(t, block);
    let twice = crate::dashboard::splice(&once, block);
    assert_eq!(twice, once, "splicing twice changed the page");
    let own = format!(
        "{}\n{block}{}",
        crate::dashboard::START,
        crate::dashboard::END
    );
    assert_eq!(
        once.matches(&own).count(),
        1,
        "the block is not there once:\n{once}"
    );
    let kept = match t.rfind(crate::dashboard::START) {
        Some(a) if t[a..].contains(crate::dashboard::END) => &t[..a],
        _ => t,
    };
    assert!(once.starts_with(kept), "the owner's text was not kept");
}

/// An Odoo JSON-RPC answer body: read as the client reads it, the result's records and
/// many2one values read without a panic, and no error text carries the API key.
pub fn odoo(data: &[u8]) {
    let key = "k3y-value-0d00";
    let settings = crate::config::OdooSettings {
        url: "http://127.0.0.1:9".into(),
        db: "d".into(),
        ..crate::config::OdooSettings::default()
    };
    let Ok(client) = crate::connectors::odoo::Odoo::new(&settings, "admin", key) else {
        panic!("invariant: an Odoo client for fixed settings");
    };
    let v: Value = serde_json::from_slice(data).unwrap_or(Value::Null);
    match client.rpc_answer("http://127.0.0.1:9/jsonrpc", &v) {
        Ok(r) => {
            for rec in crate::connectors::odoo::records(&r) {
                for f in rec.values() {
                    let _ = crate::connectors::odoo::m2o_id(Some(f));
                    let _ = crate::connectors::odoo::m2o_name(Some(f));
                }
            }
        }
        Err(e) => {
            let shown = format!("{e}");
            assert!(
                !shown.contains(key),
                "the key leaked into an error: {shown}"
            );
        }
    }
}

/// One vault set up for WhatsApp deliveries, so the fuzzer can run the whole handler.
pub struct WebhookVault {
    ctx: crate::context::Ctx,
}

/// The app secret the webhook vault's deliveries are signed with.
pub const WEBHOOK_SECRET: &str = "fuzz-app-secret";

impl WebhookVault {
    /// A vault in `root` (a new folder) with WhatsApp set up and the clock pinned.
    pub fn new(root: &Path) -> anyhow::Result<WebhookVault> {
        let vault = crate::vault::Vault::at(root);
        crate::vault::template::write(&vault, "local")?;
        std::fs::write(
            root.join("aie.yaml"),
            "timezone: UTC\nwhatsapp:\n  phone_number_id: \"1\"\n  verify_token: tok\n",
        )?;
        let mut env = crate::context::Env::default();
        env.vars
            .insert("AIE_NOW".into(), "2026-11-23T10:00:00Z".into());
        env.vars
            .insert("AIE_WHATSAPP_APP_SECRET".into(), WEBHOOK_SECRET.into());
        let ctx = crate::context::Ctx::open(&env, root, "ingest", None)?;
        Ok(WebhookVault { ctx })
    }

    /// One delivery (an HTTP request as read from stdin): the request reads to its end, the
    /// handler answers with a well-formed response, and every item it wrote parses, has a
    /// safe id and sits in `Needs_Action/<domain>/`. The items are removed afterwards.
    pub fn delivery(&self, data: &[u8]) {
        use crate::passes::whatsapp_ingest as wa;
        let mut cursor = std::io::Cursor::new(data);
        let raw = wa::read_request(&mut cursor).expect("invariant: reading memory never fails");
        assert!(
            data.starts_with(&raw),
            "the request read is not a prefix of the input"
        );
        let Ok(req) = wa::parse_request(&raw) else {
            return;
        };
        let sig = req
            .headers
            .iter()
            .find(|(k, _)| k == "x-hub-signature-256")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let signed = wa::signature_ok(WEBHOOK_SECRET, &req.body, sig);
        let mut out = crate::outcome::Outcome::default();
        let (status, body) = match wa::handle(&self.ctx, &req, signed, &mut out) {
            Ok(r) => r,
            Err(e) => panic!("the handler failed on a delivery: {e:#}"),
        };
        let resp = wa::response(status, &body);
        assert!(resp.ends_with(&body) && resp.contains(&format!("content-length: {}", body.len())));
        let root = self.ctx.vault.root();
        let needs = root.join("Needs_Action");
        for entry in walkdir::WalkDir::new(&needs).min_depth(1) {
            let entry = entry.expect("invariant: the fuzz vault is readable");
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path();
            let rel = path
                .strip_prefix(&needs)
                .expect("invariant: under the folder");
            assert_eq!(rel.components().count(), 2, "item at {}", path.display());
            let item = Item::read(path).unwrap_or_else(|e| panic!("{e:#}"));
            assert!(valid_id(item.id()));
            let domain = rel.components().next().map(|c| c.as_os_str().to_owned());
            assert_eq!(domain.as_deref(), Some(std::ffi::OsStr::new(item.domain())));
            item_round_trip(&item);
            std::fs::remove_file(path).expect("invariant: the fuzz vault is writable");
        }
        let _ = std::fs::remove_dir_all(root.join("Logs"));
        let _ = std::fs::create_dir_all(root.join("Logs"));
    }
}
