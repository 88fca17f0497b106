//! A loopback Odoo 17 fake answering `/jsonrpc` with the shapes recorded from a real server
//! (`tests/fixtures/odoo17/`): errors as HTTP 200 with an `error` object typed by
//! `data.name`, `login` returning `false` for a wrong key, `action_post` returning `false`, a
//! method returning None leaving `result` out, a draft move named `/` until it is posted.
//! It keeps partners, currencies, moves and payments, evaluates the domains aie sends, and
//! plays the faults the tests need: a refused key, an unknown database, a `UserError` on
//! post, a connection dropped after a `create` was received (and done), and a reply slower
//! than the client's deadline. [`OdooTarget`] is what a test talks to: this fake, or the real
//! server named by `AIE_ODOO_TEST_URL/DB/USER/KEY`.
//!
//! The same books are served over Odoo 19's `/json/2/<model>/<method>` (`odoo.api: json2`),
//! as its documentation gives it: `Authorization: bearer <key>`, an optional
//! `X-Odoo-Database`, the method's named arguments (and `ids`) as the JSON body; success is
//! 200 with the bare return value, a failure a 4xx/5xx status with the error object
//! (`name`, `message`, `arguments`, `context`, `debug`), 401 `werkzeug.exceptions.Unauthorized`
//! "Invalid apikey" for a wrong key. `/web/version` answers as the JSON-RPC route it is.
//!
//! [`env_for`] makes a vault that executes for real against an [`OdooTarget`], and
//! [`approved`] an item the owner approved with the actions a test gives.

use super::TestEnv;
use serde_json::{Map, Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const DB: &str = "aie_test";
pub const USER: &str = "admin";
pub const KEY: &str = "fake-odoo-api-key-5f3a9c";

/// Faults the fake can play.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// `action_post` answers a `UserError`.
    pub post_error: bool,
    /// After the next `create` of an `account.move` or `account.payment` is done, the
    /// connection is closed with no answer.
    pub drop_after_create: bool,
    /// Every `create` answers after this delay.
    pub slow_create: Option<Duration>,
}

#[derive(Default)]
struct Books {
    next: i64,
    partners: Vec<Map<String, Value>>,
    currencies: Vec<Map<String, Value>>,
    moves: Vec<Map<String, Value>>,
    payments: Vec<Map<String, Value>>,
    wizards: Vec<Map<String, Value>>,
    companies: Vec<Map<String, Value>>,
    /// `account.move.send` wizards and the `ir.attachment`s they render (invoice PDFs).
    sends: Vec<Map<String, Value>>,
    attachments: Vec<Map<String, Value>>,
    modules: Vec<Map<String, Value>>,
    sequence: i64,
    faults: Faults,
    /// (model, method) of every object call.
    calls: Vec<(String, String)>,
}

/// A running fake.
pub struct OdooFake {
    pub port: u16,
    books: Arc<Mutex<Books>>,
    stop: Arc<AtomicBool>,
}

impl Drop for OdooFake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl OdooFake {
    /// Starts the fake on `127.0.0.1:0` with USD (the company's), EUR and GBP active and
    /// JPY inactive.
    pub fn start() -> OdooFake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut b = Books {
            next: 100,
            ..Books::default()
        };
        for (id, name, active) in [
            (1, "USD", true),
            (125, "EUR", true),
            (143, "GBP", true),
            (150, "JPY", false),
        ] {
            b.currencies.push(obj(
                json!({"id": id, "name": name, "active": active, "rounding": 0.01}),
            ));
        }
        b.companies.push(obj(
            json!({"id": 1, "name": "My Company", "currency_id": 1}),
        ));
        b.modules.push(obj(
            json!({"id": 900, "name": "account", "state": "installed"}),
        ));
        let books = Arc::new(Mutex::new(b));
        let stop = Arc::new(AtomicBool::new(false));
        let (b2, s2) = (books.clone(), stop.clone());
        // A blocking accept (a polling one adds its poll interval to every call); drop
        // wakes it with a connection of its own.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s2.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(stream) = stream {
                    let b3 = b2.clone();
                    std::thread::spawn(move || serve(stream, &b3));
                }
            }
        });
        OdooFake { port, books, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sets the faults played from now on.
    pub fn faults(&self, f: Faults) {
        self.books.lock().unwrap().faults = f;
    }

    /// Every object call so far, as `model.method`.
    pub fn calls(&self) -> Vec<String> {
        let b = self.books.lock().unwrap();
        b.calls.iter().map(|(m, f)| format!("{m}.{f}")).collect()
    }

    /// Adds a posted move (for the figures): its id.
    pub fn add_move(&self, m: Value) -> i64 {
        let mut b = self.books.lock().unwrap();
        b.next += 1;
        let id = b.next;
        let mut m = obj(m);
        m.insert("id".into(), json!(id));
        finish_amounts(&mut m);
        b.moves.push(m);
        id
    }

    /// Adds a partner: its id.
    pub fn add_partner(&self, name: &str, email: &str) -> i64 {
        let mut b = self.books.lock().unwrap();
        b.next += 1;
        let id = b.next;
        b.partners.push(obj(
            json!({"id": id, "name": name, "email": email, "is_company": true}),
        ));
        id
    }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn serve(stream: TcpStream, books: &Mutex<Books>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut len = 0;
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        if h.trim().is_empty() {
            break;
        }
    }
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let header = |k: &str| {
        headers
            .iter()
            .find(|(h, _)| h == k)
            .map(|(_, v)| v.as_str())
    };
    let (status, reply, drop_it, delay) = if let Some(rest) = path.strip_prefix("/json/2/") {
        let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mut b = books.lock().unwrap();
        json2(
            &mut b,
            rest,
            header("authorization"),
            header("x-odoo-database"),
            &req,
        )
    } else if path == "/web/version" {
        let r = json!({"jsonrpc": "2.0", "id": null, "result": version()});
        (200, r.to_string(), false, None)
    } else if path != "/jsonrpc" {
        (
            404,
            "<!DOCTYPE html>\n<html><head><title>Odoo</title></head></html>".to_string(),
            false,
            None,
        )
    } else {
        let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let id = req["id"].clone();
        let mut b = books.lock().unwrap();
        let (r, drop_it, delay) = handle(&mut b, &req["params"]);
        let mut out = json!({"jsonrpc": "2.0", "id": id});
        match r {
            Ok(Value::Null) => {}
            Ok(v) => out["result"] = v,
            Err((name, message)) => {
                out["error"] = json!({"code": 200, "message": "Odoo Server Error",
                    "data": {"name": name, "debug": "Traceback (most recent call last):\n<trimmed>",
                        "message": message, "arguments": [message], "context": {}}});
            }
        }
        (200, out.to_string(), drop_it, delay)
    };
    if let Some(d) = delay {
        std::thread::sleep(d);
    }
    if drop_it {
        return;
    }
    let mut s = stream;
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reply.len()
    );
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(reply.as_bytes());
}

type Answer = Result<Value, (String, String)>;

fn user_error(m: &str) -> (String, String) {
    ("odoo.exceptions.UserError".into(), m.into())
}

fn handle(b: &mut Books, p: &Value) -> (Answer, bool, Option<Duration>) {
    let args = p["args"].as_array().cloned().unwrap_or_default();
    match (p["service"].as_str(), p["method"].as_str()) {
        (Some("common"), Some("version")) => (Ok(version()), false, None),
        (Some("common"), Some("login")) => {
            if args.first().and_then(Value::as_str) != Some(DB) {
                return (Err(no_db(&args)), false, None);
            }
            let ok = args.get(1).and_then(Value::as_str) == Some(USER)
                && args.get(2).and_then(Value::as_str) == Some(KEY);
            (Ok(if ok { json!(2) } else { json!(false) }), false, None)
        }
        (Some("object"), Some("execute_kw")) => {
            if args.first().and_then(Value::as_str) != Some(DB) {
                return (Err(no_db(&args)), false, None);
            }
            if args.get(1) != Some(&json!(2)) || args.get(2).and_then(Value::as_str) != Some(KEY) {
                return (
                    Err(("odoo.exceptions.AccessDenied".into(), "Access Denied".into())),
                    false,
                    None,
                );
            }
            let model = args.get(3).and_then(Value::as_str).unwrap_or("").to_string();
            let method = args.get(4).and_then(Value::as_str).unwrap_or("").to_string();
            let pos = args.get(5).and_then(Value::as_array).cloned().unwrap_or_default();
            let kw = args.get(6).and_then(Value::as_object).cloned().unwrap_or_default();
            b.calls.push((model.clone(), method.clone()));
            let creating = method == "create"
                && matches!(model.as_str(), "account.move" | "account.payment");
            let r = object(b, &model, &method, &pos, &kw);
            let drop_it = creating && r.is_ok() && std::mem::take(&mut b.faults.drop_after_create);
            let delay = if method == "create" { b.faults.slow_create } else { None };
            (r, drop_it, delay)
        }
        (Some(s), _) => (
            Err(("builtins.KeyError".into(), s.to_string())),
            false,
            None,
        ),
        _ => (
            Err(("builtins.TypeError".into(),
                "RPC.jsonrpc() missing 3 required positional arguments: 'service', 'method', and 'args'".into())),
            false,
            None,
        ),
    }
}

fn version() -> Value {
    json!({"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0, ""],
        "server_serie": "17.0", "protocol_version": 1})
}

/// One `/json/2/<model>/<method>` call: (status, body, drop the connection, delay).
fn json2(
    b: &mut Books,
    rest: &str,
    auth: Option<&str>,
    db: Option<&str>,
    req: &Value,
) -> (u16, String, bool, Option<Duration>) {
    let fail = |status: u16, name: &str, message: &str| {
        let e = json!({"name": name, "message": message, "arguments": [message, status],
            "context": {}, "debug": format!("Traceback (most recent call last):\n<trimmed>\n{name}: {message}\n")});
        (status, e.to_string(), false, None)
    };
    let key = auth.and_then(|a| {
        let (scheme, key) = a.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(key.trim())
    });
    if db.is_some_and(|d| d != DB) {
        return fail(
            404,
            "werkzeug.exceptions.NotFound",
            "404 Not Found: The requested URL was not found on the server.",
        );
    }
    if key != Some(KEY) {
        return fail(401, "werkzeug.exceptions.Unauthorized", "Invalid apikey");
    }
    let Some((model, method)) = rest.split_once('/') else {
        return fail(404, "werkzeug.exceptions.NotFound", "404 Not Found");
    };
    let mut kw = req.as_object().cloned().unwrap_or_default();
    // `ids` are the records, `vals_list` is `create`'s one parameter: the rest are named.
    let mut pos = Vec::new();
    if let Some(ids) = kw.remove("ids") {
        pos.push(ids);
    }
    if method == "create" {
        match kw.remove("vals_list") {
            Some(v) => pos.push(v),
            None => {
                return fail(
                    422,
                    "builtins.TypeError",
                    "BaseModel.create() missing 1 required positional argument: 'vals_list'",
                );
            }
        }
    }
    b.calls.push((model.to_string(), method.to_string()));
    if (model, method) == ("res.users", "context_get") {
        let ctx = json!({"lang": "en_US", "tz": "Europe/London", "uid": 2});
        return (200, ctx.to_string(), false, None);
    }
    let creating = method == "create" && matches!(model, "account.move" | "account.payment");
    let r = object(b, model, method, &pos, &kw);
    let drop_it = creating && r.is_ok() && std::mem::take(&mut b.faults.drop_after_create);
    let delay = if method == "create" {
        b.faults.slow_create
    } else {
        None
    };
    match r {
        Ok(v) => (200, v.to_string(), drop_it, delay),
        Err((name, message)) => {
            // Odoo 19 gives each exception its HTTP status.
            let status = match name.as_str() {
                "odoo.exceptions.UserError" | "odoo.exceptions.ValidationError" => 422,
                "odoo.exceptions.AccessError" => 403,
                "odoo.exceptions.MissingError" => 404,
                "odoo.exceptions.AccessDenied" => 401,
                _ => 500,
            };
            let (st, body, _, _) = fail(status, &name, &message);
            (st, body, false, delay)
        }
    }
}

fn no_db(args: &[Value]) -> (String, String) {
    let db = args.first().and_then(Value::as_str).unwrap_or("");
    (
        "psycopg2.OperationalError".into(),
        format!(
            "connection to server at \"127.0.0.1\", port 55432 failed: FATAL:  database \"{db}\" does not exist\n"
        ),
    )
}

fn table<'a>(b: &'a mut Books, model: &str) -> Option<&'a mut Vec<Map<String, Value>>> {
    Some(match model {
        "res.partner" => &mut b.partners,
        "res.currency" => &mut b.currencies,
        "account.move" => &mut b.moves,
        "account.payment" => &mut b.payments,
        "account.payment.register" => &mut b.wizards,
        "res.company" => &mut b.companies,
        "account.move.send" => &mut b.sends,
        "ir.attachment" => &mut b.attachments,
        "ir.module.module" => &mut b.modules,
        _ => return None,
    })
}

const M2O: &[(&str, &str)] = &[
    ("partner_id", "res.partner"),
    ("currency_id", "res.currency"),
    ("invoice_pdf_report_id", "ir.attachment"),
];

/// A record as `read` shows it: many2one fields as `[id, name]`, missing fields `false`.
fn shown(b: &Books, r: &Map<String, Value>, fields: &[String]) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), r["id"].clone());
    for f in fields {
        let v = r.get(f).cloned().unwrap_or(Value::Bool(false));
        let v = match M2O.iter().find(|(k, _)| k == f) {
            Some((_, m)) if v.is_i64() => {
                let rows = match *m {
                    "res.partner" => &b.partners,
                    "ir.attachment" => &b.attachments,
                    _ => &b.currencies,
                };
                let name = rows
                    .iter()
                    .find(|x| x["id"] == v)
                    .map(|x| x["name"].clone());
                json!([v, name.unwrap_or(Value::Bool(false))])
            }
            _ => v,
        };
        out.insert(f.clone(), v);
    }
    Value::Object(out)
}

fn object(
    b: &mut Books,
    model: &str,
    method: &str,
    pos: &[Value],
    kw: &Map<String, Value>,
) -> Answer {
    if table(b, model).is_none() {
        return Err(user_error(&format!("Object {model} doesn't exist")));
    }
    let active_test = kw
        .get("context")
        .and_then(|c| c.get("active_test"))
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let fields: Vec<String> = kw
        .get("fields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let ids: Vec<i64> = pos
        .first()
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    match method {
        "search_read" | "search_count" => {
            let domain = kw
                .get("domain")
                .or(pos.first())
                .cloned()
                .unwrap_or(json!([]));
            let rows = table(b, model).unwrap().clone();
            let mut hits: Vec<_> = rows
                .iter()
                .filter(|r| !active_test || r.get("active") != Some(&json!(false)))
                .filter(|r| eval(&domain, r))
                .cloned()
                .collect();
            if kw.get("order").and_then(Value::as_str) == Some("id desc") {
                hits.reverse();
            }
            if method == "search_count" {
                return Ok(json!(hits.len()));
            }
            if let Some(l) = kw.get("limit").and_then(Value::as_u64) {
                hits.truncate(l as usize);
            }
            Ok(Value::Array(
                hits.iter().map(|r| shown(b, r, &fields)).collect(),
            ))
        }
        "read" => {
            let rows = table(b, model).unwrap().clone();
            Ok(Value::Array(
                rows.iter()
                    .filter(|r| ids.contains(&r["id"].as_i64().unwrap_or(0)))
                    .map(|r| shown(b, r, &fields))
                    .collect(),
            ))
        }
        "create" => {
            let Some(vals) = pos.first().and_then(Value::as_array).cloned() else {
                return Err((
                    "builtins.IndexError".into(),
                    "tuple index out of range".into(),
                ));
            };
            let mut made = Vec::new();
            for v in vals {
                let mut r = obj(v);
                b.next += 1;
                let id = b.next;
                r.insert("id".into(), json!(id));
                match model {
                    "res.partner" if r.get("name").is_none_or(|n| n == "") => {
                        return Err((
                            "odoo.exceptions.ValidationError".into(),
                            "The operation cannot be completed: Contacts require a name".into(),
                        ));
                    }
                    "account.move" => {
                        if let Some(n) = r.get("narration").and_then(Value::as_str) {
                            let n = format!("<p>{n}</p>");
                            r.insert("narration".into(), json!(n));
                        }
                        r.insert("name".into(), json!("/"));
                        r.insert("state".into(), json!("draft"));
                        r.insert("create_date".into(), json!("2026-11-23 09:00:00"));
                        r.insert("payment_state".into(), json!("not_paid"));
                        let lines: Vec<Value> = r
                            .get("invoice_line_ids")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|c| c[2].clone())
                            .collect();
                        r.insert("lines".into(), json!(lines));
                        r.remove("invoice_line_ids");
                        finish_amounts(&mut r);
                    }
                    "account.payment" => {
                        r.insert("state".into(), json!("draft"));
                        r.insert("name".into(), json!("/"));
                    }
                    "account.move.send" => {
                        // `move_ids: [[6, 0, [ids]]]`, as the wizard is given them.
                        let ids = r["move_ids"][0][2].clone();
                        r.insert("move_ids".into(), ids);
                    }
                    "account.payment.register" => {
                        let ctx = kw.get("context").cloned().unwrap_or(json!({}));
                        r.insert("active_ids".into(), ctx["active_ids"].clone());
                    }
                    _ => {}
                }
                table(b, model).unwrap().push(r);
                made.push(json!(id));
            }
            Ok(Value::Array(made))
        }
        "action_post" if model == "account.move" => {
            if b.faults.post_error {
                return Err(user_error(
                    "You cannot validate an invoice with a negative total amount. You should create a credit note instead.",
                ));
            }
            for id in ids {
                b.sequence += 1;
                let seq = b.sequence;
                let m = b.moves.iter_mut().find(|m| m["id"] == id).ok_or_else(|| {
                    ("odoo.exceptions.MissingError".into(), format!("Record does not exist or has been deleted.\n(Record: account.move({id},), User: 2)"))
                })?;
                if m["state"] != "draft" {
                    return Err(user_error(&format!(
                        "The entry {} (id {id}) must be in draft.",
                        m["name"].as_str().unwrap_or("")
                    )));
                }
                let bill = m["move_type"] == "in_invoice";
                if bill && m.get("invoice_date").is_none_or(|d| !d.is_string()) {
                    return Err(user_error(
                        "The Bill/Refund date is required to validate this document.",
                    ));
                }
                let name = if bill {
                    format!("BILL/2026/11/{seq:04}")
                } else {
                    format!("INV/2026/{seq:05}")
                };
                m.insert("name".into(), json!(name));
                m.insert("state".into(), json!("posted"));
                if !m.get("invoice_date").is_some_and(Value::is_string) {
                    m.insert("invoice_date".into(), json!("2026-11-23"));
                }
            }
            Ok(json!(false))
        }
        "action_post" if model == "account.payment" => {
            for id in ids {
                b.sequence += 1;
                let seq = b.sequence;
                let p = b.payments.iter_mut().find(|p| p["id"] == id).unwrap();
                if p["state"] != "draft" {
                    return Err(user_error("Only a draft payment can be posted."));
                }
                p.insert("state".into(), json!("posted"));
                p.insert("name".into(), json!(format!("PBNK1/2026/{seq:05}")));
            }
            // A method returning None: `result` is left out.
            Ok(Value::Null)
        }
        "action_create_payments" => {
            let Some(w) = b
                .wizards
                .iter()
                .find(|w| ids.contains(&w["id"].as_i64().unwrap_or(0)))
                .cloned()
            else {
                return Err((
                    "odoo.exceptions.MissingError".into(),
                    "Record does not exist or has been deleted.".into(),
                ));
            };
            let move_id = w["active_ids"][0].clone();
            let amount = w["amount"].as_f64().unwrap_or(0.0);
            b.next += 1;
            b.sequence += 1;
            let (pid, seq) = (b.next, b.sequence);
            let m = b.moves.iter_mut().find(|m| m["id"] == move_id).unwrap();
            let residual = m["amount_residual"].as_f64().unwrap_or(0.0) - amount;
            m.insert("amount_residual".into(), json!(residual));
            m.insert(
                "payment_state".into(),
                json!(if residual <= 0.005 { "paid" } else { "partial" }),
            );
            let partner = m["partner_id"].clone();
            b.payments.push(obj(
                json!({"id": pid, "name": format!("PBNK1/2026/{seq:05}"),
                "state": "posted", "amount": amount, "currency_id": w["currency_id"],
                "partner_id": partner, "ref": w["communication"], "reconciled_move": move_id}),
            ));
            Ok(
                json!({"name": "Payments", "type": "ir.actions.act_window", "res_model": "account.payment",
                "context": {"create": false}, "view_mode": "form", "res_id": pid}),
            )
        }
        "action_send_and_print" if model == "account.move.send" => {
            // Odoo 17 renders each posted move's PDF, keeps it as the move's
            // `invoice_pdf_report_id` attachment and answers a download action.
            let Some(w) = b
                .sends
                .iter()
                .find(|w| ids.contains(&w["id"].as_i64().unwrap_or(0)))
                .cloned()
            else {
                return Err((
                    "odoo.exceptions.MissingError".into(),
                    "Record does not exist or has been deleted.".into(),
                ));
            };
            let mut last = 0;
            for mid in w["move_ids"].as_array().cloned().unwrap_or_default() {
                let m = b
                    .moves
                    .iter()
                    .find(|m| m["id"] == mid)
                    .cloned()
                    .ok_or_else(|| {
                        (
                            "odoo.exceptions.MissingError".into(),
                            "Record does not exist or has been deleted.".to_string(),
                        )
                    })?;
                if m["state"] != "posted" {
                    return Err(user_error("You can only send posted moves."));
                }
                if m.get("invoice_pdf_report_id").is_some_and(|v| v.is_i64()) {
                    last = m["invoice_pdf_report_id"].as_i64().unwrap_or(0);
                    continue;
                }
                let number = m["name"].as_str().unwrap_or("").to_string();
                let pdf = format!(
                    "%PDF-1.4\n% fake render of {number}, total {}\n%%EOF\n",
                    m["amount_total"]
                );
                use base64::Engine as _;
                b.next += 1;
                last = b.next;
                b.attachments.push(obj(json!({"id": last,
                    "name": format!("{}.pdf", number.replace('/', "_")),
                    "mimetype": "application/pdf",
                    "res_model": "account.move", "res_id": mid,
                    "datas": base64::engine::general_purpose::STANDARD.encode(pdf)})));
                let m = b.moves.iter_mut().find(|m| m["id"] == mid).unwrap();
                m.insert("invoice_pdf_report_id".into(), json!(last));
            }
            Ok(json!({"type": "ir.actions.act_url",
                "url": format!("/web/content/{last}?download=true"), "close": true}))
        }
        "fields_get" => Ok(json!({})),
        other => Err((
            "builtins.AttributeError".into(),
            format!("type object '{model}' has no attribute '{other}'"),
        )),
    }
}

/// Totals of a move from its lines (no taxes), and the signed amounts.
fn finish_amounts(m: &mut Map<String, Value>) {
    let total: f64 = match m.get("lines").and_then(Value::as_array) {
        Some(lines) => lines
            .iter()
            .map(|l| {
                l["quantity"].as_f64().unwrap_or(1.0) * l["price_unit"].as_f64().unwrap_or(0.0)
            })
            .sum(),
        None => m.get("amount_total").and_then(Value::as_f64).unwrap_or(0.0),
    };
    let total = (total * 100.0).round() / 100.0;
    let sign = if matches!(m["move_type"].as_str(), Some("in_invoice" | "out_refund")) {
        -1.0
    } else {
        1.0
    };
    m.insert("amount_total".into(), json!(total));
    m.insert("amount_untaxed".into(), json!(total));
    m.entry("amount_residual").or_insert(json!(total));
    let residual = m["amount_residual"].as_f64().unwrap_or(0.0);
    m.insert("amount_total_signed".into(), json!(sign * total));
    m.insert("amount_untaxed_signed".into(), json!(sign * total));
    m.insert("amount_residual_signed".into(), json!(sign * residual));
    m.entry("currency_id").or_insert(json!(1));
    m.entry("payment_state").or_insert(json!("not_paid"));
}

/// Evaluates an Odoo domain (Polish notation: `|`, `&`, `!`; leaves `[field, op, value]`).
fn eval(domain: &Value, r: &Map<String, Value>) -> bool {
    let items = domain.as_array().cloned().unwrap_or_default();
    let mut i = 0;
    let mut all = true;
    while i < items.len() {
        all &= term(&items, &mut i, r);
    }
    all
}

fn term(items: &[Value], i: &mut usize, r: &Map<String, Value>) -> bool {
    let t = items[*i].clone();
    *i += 1;
    match t.as_str() {
        Some("|") => {
            let a = term(items, i, r);
            let b = term(items, i, r);
            a || b
        }
        Some("&") => {
            let a = term(items, i, r);
            let b = term(items, i, r);
            a && b
        }
        Some("!") => !term(items, i, r),
        _ => leaf(&t, r),
    }
}

fn leaf(t: &Value, r: &Map<String, Value>) -> bool {
    let field = t[0].as_str().unwrap_or("");
    let op = t[1].as_str().unwrap_or("");
    let want = &t[2];
    let have = r.get(field).cloned().unwrap_or(Value::Bool(false));
    let text = |v: &Value| v.as_str().unwrap_or("").to_lowercase();
    match op {
        "=" => have == *want || (have.as_f64().is_some() && have.as_f64() == want.as_f64()),
        "!=" => have != *want,
        "=ilike" => have.is_string() && text(&have) == text(want),
        "ilike" => have.is_string() && text(&have).contains(&text(want)),
        "in" => want.as_array().is_some_and(|a| a.contains(&have)),
        "not in" => !want.as_array().is_some_and(|a| a.contains(&have)),
        ">=" | "<=" | ">" | "<" => {
            let (Some(h), Some(w)) = (have.as_str(), want.as_str()) else {
                return false;
            };
            match op {
                ">=" => h >= w,
                "<=" => h <= w,
                ">" => h > w,
                _ => h < w,
            }
        }
        _ => false,
    }
}

/// The Odoo a test talks to: this fake, or the real server the `AIE_ODOO_TEST_*` variables
/// name (the same tests then run against it; faults only the fake can play are skipped).
pub struct OdooTarget {
    pub url: String,
    pub db: String,
    pub user: String,
    pub key: String,
    pub fake: Option<OdooFake>,
    /// A text unique to this run, so records on a real server never meet an earlier run's.
    pub nonce: String,
    /// aie talks json2 (Odoo 19's `/json/2`) instead of JSON-RPC.
    pub json2: bool,
}

impl OdooTarget {
    pub fn new() -> OdooTarget {
        let nonce = format!(
            "{:x}{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
                ^ rand_bits()
        );
        match std::env::var("AIE_ODOO_TEST_URL") {
            Ok(url) if !url.is_empty() => OdooTarget {
                url,
                db: std::env::var("AIE_ODOO_TEST_DB").unwrap_or_default(),
                user: std::env::var("AIE_ODOO_TEST_USER").unwrap_or_default(),
                key: std::env::var("AIE_ODOO_TEST_KEY").unwrap_or_default(),
                fake: None,
                nonce,
                json2: false,
            },
            _ => OdooTarget::on_fake(nonce, false),
        }
    }

    /// A new fake, aie talking json2 to it or not.
    fn on_fake(nonce: String, json2: bool) -> OdooTarget {
        let fake = OdooFake::start();
        OdooTarget {
            url: fake.url(),
            db: DB.into(),
            user: USER.into(),
            key: KEY.into(),
            fake: Some(fake),
            nonce,
            json2,
        }
    }

    /// The fake, with aie talking json2 to it (`odoo.api: json2`): Odoo 17, the real
    /// server of the suite, has no `/json/2`, so this is always the fake.
    pub fn json2() -> OdooTarget {
        OdooTarget::on_fake(format!("j{:x}", rand_bits()), true)
    }

    /// The `odoo:` section of `aie.yaml` for this target.
    pub fn config(&self, extra: &str) -> String {
        // The fake's slow reply outlasts 2 s; a real server under a parallel suite is slow.
        let timeout = if self.fake.is_some() { 2 } else { 120 };
        let api = if self.json2 { "  api: json2\n" } else { "" };
        format!(
            "odoo:\n  url: {}\n  db: {}\n  timeout_seconds: {timeout}\n{api}{extra}",
            self.url, self.db
        )
    }

    /// One `execute_kw` call, as a test's own look into the books.
    pub fn call(&self, model: &str, method: &str, args: Value, kwargs: Value) -> Value {
        let rpc = |service: &str, method: &str, args: Value| -> Value {
            let body = json!({"jsonrpc": "2.0", "method": "call", "id": 1,
                "params": {"service": service, "method": method, "args": args}});
            let mut resp = ureq::post(format!("{}/jsonrpc", self.url))
                .send_json(&body)
                .unwrap();
            let v: Value = resp.body_mut().read_json().unwrap();
            assert!(v.get("error").is_none(), "{v}");
            v.get("result").cloned().unwrap_or(Value::Null)
        };
        let uid = rpc("common", "login", json!([self.db, self.user, self.key]));
        rpc(
            "object",
            "execute_kw",
            json!([self.db, uid, self.key, model, method, args, kwargs]),
        )
    }

    /// Records of `model` matching `domain`, with `fields`.
    pub fn search_read(&self, model: &str, domain: Value, fields: &[&str]) -> Vec<Value> {
        let r = self.call(
            model,
            "search_read",
            json!([]),
            json!({"domain": domain, "fields": fields}),
        );
        r.as_array().cloned().unwrap_or_default()
    }
}

/// A vault that executes for real, talking to `odoo`.
pub fn env_for(odoo: &OdooTarget, extra: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.config(&format!(
        "execution:\n  dry_run: false\n{}",
        odoo.config(extra)
    ));
    env.env("AIE_ODOO_USERNAME", &odoo.user)
        .env("AIE_ODOO_API_KEY", &odoo.key);
    env
}

/// An item the owner approved with `actions_yaml` as its actions: its id.
pub fn approved(env: &TestEnv, actions_yaml: &str) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    env.drop_file(
        &format!("q{n}.eml"),
        format!("From: Ann <ann@x.example>\nSubject: Books {n}\n\nCan you call me?\n"),
    );
    env.ok(&["process-inbox"]);
    env.ok(&["plan"]);
    let id = env.only_item("Pending_Approval/general");
    let rel = format!("Pending_Approval/general/{id}.md");
    env.set_actions(&rel, actions_yaml);
    env.mv(&rel, "Approved");
    id
}

fn rand_bits() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(1);
    h.finish() as u32
}
