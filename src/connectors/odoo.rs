//! The Odoo connector: one client for a pass over Odoo's external API, either JSON-RPC
//! (`{odoo.url}/jsonrpc`: `common.version`, `common.login`, `object.execute_kw`; errors come
//! back as HTTP 200 with an `error` object typed by `error.data.name`) or, with
//! `odoo.api: json2`, Odoo 19's `/json/2/<model>/<method>` (a bearer key, real HTTP status
//! codes). It owns the typing of Odoo's failures ([`OdooError`]) and their mapping to an
//! action's outcome; the [`Ledger`](super::capabilities::Ledger) that carries out
//! `odoo_invoice`, `odoo_post_invoice`, `odoo_bill` and `payment` lives in
//! [`super::odoo_ledger`]. Every call goes through the one HTTP layer. No printing, no vault
//! access.

use super::capabilities::{Connector, Finding, LiveCx, Probe, Registered, SecretNeed, required};
use super::http::{Body, Http, HttpError, Request, RetryPolicy, Verdict, action_outcome};
use crate::config::{OdooApi, OdooSettings, Settings};
use crate::executor::ActionOutcome;
use crate::exit::AieError;
use crate::secrets::Secrets;
use serde_json::{Map, Value, json};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// The secrets of an Odoo login: the user's login and an API key used as the password.
pub const SECRETS: &[&str] = &["AIE_ODOO_USERNAME", "AIE_ODOO_API_KEY"];

/// The Odoo connector: the `odoo:` section and its two secrets. Only the local agent records
/// in the ledger or reads it (execution, the briefing): the cloud one is never asked for
/// the login.
pub const CONNECTOR: Registered = Connector::of_section("odoo", SECRETS, needs, check)
    .with_live(live)
    .local_only();

fn needs(s: &Settings) -> Option<Vec<SecretNeed>> {
    s.odoo.as_ref()?;
    Some(required(SECRETS))
}

/// Builds the client without connecting: the URL, the database and the secrets are there.
fn check(s: &Settings, secrets: &Secrets, _vault_root: &Path) -> anyhow::Result<String> {
    match Odoo::from_settings(s, secrets)? {
        Some(o) => Ok(format!(
            "{} database `{}` ({:?}) as `{}`",
            o.url, o.db, o.api, o.user
        )),
        None => Ok("not set up".into()),
    }
}

/// Online: reachable, the login works, the accounting module is installed, the configured
/// currency is active. Stops at the first that fails (the later ones need it).
fn live(cx: &LiveCx) -> Vec<Finding> {
    let mut out = Vec::new();
    let (Some(o), Ok(Some(odoo))) = (
        &cx.settings.odoo,
        Odoo::from_settings(cx.settings, cx.secrets),
    ) else {
        return out;
    };
    let mut odoo = odoo.until(cx.deadline());
    let reachable = odoo
        .version()
        .map(|v| format!("Odoo {v} answers at {}", o.url))
        .map_err(|e| e.to_string());
    let up = reachable.is_ok();
    out.push(Finding::passed_or(
        "odoo reachable",
        reachable,
        "check odoo.url in aie.yaml and that the Odoo server runs",
    ));
    if !up {
        return out;
    }
    if let Err(e) = odoo.login() {
        out.push(Finding::passed_or(
            "odoo login",
            Err(e.to_string()),
            "check odoo.db, AIE_ODOO_USERNAME and AIE_ODOO_API_KEY (an API key made under the user's Preferences > Account Security)",
        ));
        return out;
    }
    out.push(Finding::new(
        "odoo login",
        Probe::Ok("the login works".into()),
    ));
    let accounting = match odoo.search_read(
        "ir.module.module",
        json!([["name", "=", "account"]]),
        &["state"],
        json!({"limit": 1}),
    ) {
        Ok(m) if m.first().and_then(|m| m.get("state")?.as_str()) == Some("installed") => {
            Probe::Ok("the accounting module is installed".into())
        }
        Ok(_) => Probe::Fail(
            "the accounting module (`account`) is not installed".into(),
            Some("install the Invoicing app in Odoo (Apps > Invoicing)".into()),
        ),
        Err(e) => Probe::Fail(e.to_string(), None),
    };
    let installed = matches!(accounting, Probe::Ok(_));
    out.push(Finding::new("odoo accounting", accounting));
    if let Some(code) = o.currency.as_deref()
        && installed
    {
        out.push(Finding::new(
            "odoo currency",
            currency_probe(&mut odoo, code),
        ));
    }
    out
}

/// Whether the currency `code` is known to Odoo and active.
fn currency_probe(odoo: &mut Odoo, code: &str) -> Probe {
    let code = code.to_uppercase();
    let found = odoo.search_read(
        "res.currency",
        json!([["name", "=", code]]),
        &["active"],
        json!({"limit": 1, "context": {"active_test": false}}),
    );
    match found.map(|r| r.into_iter().next()) {
        Err(e) => Probe::Fail(e.to_string(), None),
        Ok(Some(c)) if c.get("active") == Some(&Value::Bool(true)) => Probe::Ok(format!(
            "{code} is active (res.currency {})",
            m2o_id(c.get("id")).unwrap_or(0)
        )),
        Ok(Some(_)) => Probe::Fail(
            format!("the currency `{code}` is not active in Odoo"),
            Some("activate it in Odoo (Accounting > Configuration > Currencies)".into()),
        ),
        Ok(None) => Probe::Fail(
            format!("the currency `{code}` is not known to Odoo"),
            Some("set odoo.currency to an ISO code Odoo has".into()),
        ),
    }
}

/// Why an Odoo call failed, in the terms that decide what happens next.
#[derive(Debug, Clone, PartialEq)]
pub enum OdooError {
    /// The login was refused (a wrong user or key, or an unknown database): a setup error.
    Login(String),
    /// Odoo answered with an error (`odoo.exceptions.UserError`, `ValidationError`, ...): its
    /// transaction was rolled back, nothing was done. `name` is the exception's class.
    Server { name: String, message: String },
    /// aie itself refuses (an unknown currency, no such invoice): nothing was done.
    Refused(String),
    /// The HTTP layer's failure (nothing sent, or an open outcome).
    Http(HttpError),
}

impl std::fmt::Display for OdooError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OdooError::Login(m) | OdooError::Refused(m) => f.write_str(m),
            OdooError::Server { message, .. } => write!(f, "Odoo says: {message}"),
            OdooError::Http(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OdooError {}

impl OdooError {
    /// What an action that met this error reports: Odoo's own refusal fails the action
    /// with Odoo's message; a refused login waits (nothing was done); the HTTP layer's
    /// failures map as every connector's do.
    pub fn outcome(&self) -> ActionOutcome {
        match self {
            OdooError::Http(e) => action_outcome(e, "odoo"),
            OdooError::Login(m) => ActionOutcome::Retry(format!("odoo: {m}")),
            OdooError::Server { .. } | OdooError::Refused(_) => {
                ActionOutcome::Failed(format!("odoo: {self}"))
            }
        }
    }

    /// The error as the rest of the program sees it: a refused login is a setup error (exit
    /// 78), a server that cannot be reached is unavailable (exit 69).
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            OdooError::Login(m) => AieError::Config(m).into(),
            OdooError::Http(HttpError::Status { .. }) => anyhow::anyhow!("odoo: {self}"),
            OdooError::Http(e) => AieError::Unavailable(format!("odoo: {e}")).into(),
            e => anyhow::anyhow!("odoo: {e}"),
        }
    }
}

/// The verdict of this process's last Odoo call that reached a verdict: `Ok` when it
/// succeeded, the error's text when the connection, the login or Odoo itself failed (aie's
/// own refusals are not Odoo's errors). The runner takes it after a command
/// ([`take_last_verdict`]) and keeps it in `state.json` for `status`.
static LAST_VERDICT: Mutex<Option<Result<(), String>>> = Mutex::new(None);

/// Notes the verdict of a call in [`LAST_VERDICT`] and hands the result back.
fn noted<T>(r: Result<T, OdooError>) -> Result<T, OdooError> {
    let verdict = match &r {
        Ok(_) => Some(Ok(())),
        Err(OdooError::Refused(_)) => None,
        Err(e) => Some(Err(e.to_string())),
    };
    if let (Some(v), Ok(mut last)) = (verdict, LAST_VERDICT.lock()) {
        *last = Some(v);
    }
    r
}

/// The verdict of this process's last Odoo call, taken (None when no call was made since):
/// `Ok` after a success, else the error's text (never a secret's value).
pub fn take_last_verdict() -> Option<Result<(), String>> {
    LAST_VERDICT.lock().ok()?.take()
}

/// The text of the login error: which secret to check, never its value.
fn login_refused(user: &str, db: &str, why: &str) -> OdooError {
    OdooError::Login(format!(
        "odoo refused the login of `{user}` to database `{db}` ({why}): check AIE_ODOO_USERNAME, AIE_ODOO_API_KEY (an API key from Odoo: Preferences > Account Security > New API Key) and odoo.db"
    ))
}

/// One Odoo client for a pass: the HTTP client, the login, and what it has spent.
pub struct Odoo {
    http: Http,
    pub url: String,
    pub db: String,
    pub api: OdooApi,
    user: String,
    key: String,
    uid: Option<i64>,
    next_id: u64,
}

impl Odoo {
    /// The client for these settings, without connecting: `Ok(None)` when `aie.yaml` has no
    /// `odoo:` section; a setup error (exit 78) when the URL, the database or a secret is
    /// missing.
    pub fn from_settings(s: &Settings, secrets: &Secrets) -> anyhow::Result<Option<Odoo>> {
        let Some(o) = &s.odoo else {
            return Ok(None);
        };
        let v = secrets.require("odoo", SECRETS)?;
        Ok(Some(Odoo::new(o, &v[0], &v[1])?))
    }

    /// A client for `o` logging in as `user` with the API key `key`.
    pub fn new(o: &OdooSettings, user: &str, key: &str) -> anyhow::Result<Odoo> {
        if o.url.trim().is_empty() || o.db.trim().is_empty() {
            return Err(AieError::Config(
                "odoo.url and odoo.db must be set in aie.yaml (the server's address and its database)".into(),
            )
            .into());
        }
        let timeout = Duration::from_secs(o.timeout_seconds.max(1));
        // Odoo's calls that change anything are not idempotent: the HTTP layer repeats only
        // what never left, and reads.
        let policy = RetryPolicy {
            max_retries: 1,
            initial: Duration::from_millis(300),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(10),
            max_total_wait: Duration::from_secs(10),
        };
        Ok(Odoo {
            http: Http::new("odoo", timeout, policy, None).scrubbing(&[key]),
            url: o.url.trim_end_matches('/').to_string(),
            db: o.db.clone(),
            api: o.api,
            user: user.to_string(),
            key: key.to_string(),
            uid: None,
            next_id: 0,
        })
    }

    /// The same client, never waiting or sending past `deadline` (the run's).
    pub fn until(mut self, deadline: Option<std::time::Instant>) -> Odoo {
        self.http = self.http.until(deadline);
        self
    }

    /// How many HTTP requests this client made.
    pub fn calls(&self) -> u64 {
        self.http.calls()
    }

    /// One JSON-RPC call to `service.method(args)`, its verdict noted for `status`.
    fn jsonrpc(
        &mut self,
        service: &str,
        method: &str,
        args: Value,
        safe: bool,
    ) -> Result<Value, OdooError> {
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "method": "call", "id": self.next_id,
            "params": {"service": service, "method": method, "args": args}});
        let url = format!("{}/jsonrpc", self.url);
        let req = Request::post(&url, Body::Json(&body), safe);
        let answer = self
            .http
            .send(&req, &|_| Verdict::Stop)
            .map_err(OdooError::Http)
            .and_then(|reply| self.rpc_answer(&url, &reply.json()));
        noted(answer)
    }

    /// The result of a JSON-RPC answer `v` from `url`, or its error typed.
    pub(crate) fn rpc_answer(&self, url: &str, v: &Value) -> Result<Value, OdooError> {
        if let Some(err) = v.get("error") {
            return Err(self.server_error(err));
        }
        // Odoo leaves `result` out when a method returns None (a payment's `action_post`).
        match v.get("result") {
            Some(r) => Ok(r.clone()),
            None if v.get("jsonrpc").is_some() => Ok(Value::Null),
            None => Err(OdooError::Refused(format!(
                "`{url}` did not answer as Odoo's JSON-RPC does: is odoo.url the Odoo server?"
            ))),
        }
    }

    /// Odoo's error object (`{"data": {"name", "message"}}`, or json2's flat one).
    fn server_error(&self, err: &Value) -> OdooError {
        let data = err.get("data").unwrap_or(err);
        let name = data.get("name").and_then(Value::as_str).unwrap_or("");
        let message = data
            .get("message")
            .or_else(|| err.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let message: String = self.http.scrub(message).trim().chars().take(500).collect();
        if name.ends_with("AccessDenied") {
            return login_refused(&self.user, &self.db, "access denied");
        }
        if message.contains("does not exist") && name.starts_with("psycopg2") {
            return login_refused(&self.user, &self.db, "no such database");
        }
        OdooError::Server {
            name: name.to_string(),
            message,
        }
    }

    /// The server's version (`common.version`; json2: `/web/version`).
    pub fn version(&mut self) -> Result<String, OdooError> {
        let v = match self.api {
            OdooApi::Jsonrpc => self.jsonrpc("common", "version", json!([]), true)?,
            OdooApi::Json2 => {
                let url = format!("{}/web/version", self.url);
                let empty = json!({});
                let req = Request::post(&url, Body::Json(&empty), true);
                let r = self.http.send(&req, &|_| Verdict::Stop);
                let v = noted(r.map_err(OdooError::Http))?.json();
                // `/web/version` is a JSON-RPC route: its value is the envelope's `result`.
                v.get("result").cloned().unwrap_or(v)
            }
        };
        Ok(v.get("server_version")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string())
    }

    /// Logs in once a pass (`common.login`; json2 asks for the user's context): the user's
    /// id, or [`OdooError::Login`].
    pub fn login(&mut self) -> Result<i64, OdooError> {
        if let Some(uid) = self.uid {
            return Ok(uid);
        }
        let uid = match self.api {
            OdooApi::Jsonrpc => {
                let args = json!([self.db, self.user, self.key]);
                let r = self.jsonrpc("common", "login", args, true)?;
                noted(
                    r.as_i64()
                        .ok_or_else(|| login_refused(&self.user, &self.db, "login refused")),
                )?
            }
            OdooApi::Json2 => {
                self.uid = Some(0);
                let r = self.call("res.users", "context_get", None, json!({}));
                self.uid = None;
                let ctx = r?;
                ctx.get("uid").and_then(Value::as_i64).unwrap_or(0)
            }
        };
        self.uid = Some(uid);
        Ok(uid)
    }

    /// `model.method` on `ids` (None for a model method) with named arguments: JSON-RPC's
    /// `execute_kw` takes them as keyword arguments, json2 as the body. `context`, when
    /// present, is Odoo's context. Logs in first when needed.
    pub fn call(
        &mut self,
        model: &str,
        method: &str,
        ids: Option<&[i64]>,
        named: Value,
    ) -> Result<Value, OdooError> {
        let safe = matches!(
            method,
            "search" | "search_read" | "read" | "search_count" | "read_group" | "fields_get"
        ) || method == "context_get";
        match self.api {
            OdooApi::Jsonrpc => {
                let args = match ids {
                    Some(ids) => json!([ids]),
                    None => json!([]),
                };
                self.execute_kw(model, method, args, named, safe)
            }
            OdooApi::Json2 => {
                let mut body = match named {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                if let Some(ids) = ids {
                    body.insert("ids".into(), json!(ids));
                }
                let r = self.json2(model, method, &Value::Object(body), safe);
                noted(r)
            }
        }
    }

    /// One json2 call: `POST {url}/json/2/<model>/<method>` with the bearer key. Odoo 19
    /// answers success with 200 and the method's return value, a failure with a 4xx/5xx
    /// status and its error object (`name`, `message`, `arguments`, `debug`): 401 is a
    /// refused key, a 502/504 from a proxy stays the HTTP layer's.
    fn json2(
        &mut self,
        model: &str,
        method: &str,
        body: &Value,
        safe: bool,
    ) -> Result<Value, OdooError> {
        let url = format!("{}/json/2/{model}/{method}", self.url);
        let auth = format!("bearer {}", self.key);
        let headers = [
            ("authorization", auth.as_str()),
            ("x-odoo-database", self.db.as_str()),
        ];
        let req = Request {
            headers: &headers,
            ..Request::post(&url, Body::Json(body), safe)
        };
        match self.http.send(&req, &|_| Verdict::Stop) {
            Ok(r) => Ok(r.json()),
            Err(HttpError::Status { code, body, .. }) if code != 502 && code != 504 => {
                let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                if code == 401 {
                    return Err(login_refused(&self.user, &self.db, "key refused"));
                }
                if v.get("name").is_some() {
                    return Err(self.server_error(&v));
                }
                Err(OdooError::Http(HttpError::Status {
                    code,
                    body,
                    retry_after: None,
                    gave_up: None,
                }))
            }
            Err(e) => Err(OdooError::Http(e)),
        }
    }

    /// `object.execute_kw` with positional `args` and keyword arguments `kwargs`.
    fn execute_kw(
        &mut self,
        model: &str,
        method: &str,
        args: Value,
        kwargs: Value,
        safe: bool,
    ) -> Result<Value, OdooError> {
        let uid = self.login()?;
        let a = json!([self.db, uid, self.key, model, method, args, kwargs]);
        self.jsonrpc("object", "execute_kw", a, safe)
    }

    /// `search_read` with `domain`, `fields` and extra keyword arguments (`limit`, `order`,
    /// `context`): the records.
    pub fn search_read(
        &mut self,
        model: &str,
        domain: Value,
        fields: &[&str],
        extra: Value,
    ) -> Result<Vec<Map<String, Value>>, OdooError> {
        let mut named = json!({"domain": domain, "fields": fields});
        if let (Some(n), Value::Object(e)) = (named.as_object_mut(), extra) {
            n.extend(e);
        }
        let r = self.call(model, "search_read", None, named)?;
        Ok(records(&r))
    }

    /// `create` of one record: its id.
    pub fn create(
        &mut self,
        model: &str,
        vals: Value,
        context: Option<Value>,
    ) -> Result<i64, OdooError> {
        let mut kwargs = json!({});
        if let Some(c) = context {
            kwargs["context"] = c;
        }
        // Odoo 17's `create` takes its values positionally only.
        let r = match self.api {
            OdooApi::Jsonrpc => self.execute_kw(model, "create", json!([[vals]]), kwargs, false)?,
            OdooApi::Json2 => {
                kwargs["vals_list"] = json!([vals]);
                self.call(model, "create", None, kwargs)?
            }
        };
        r.as_i64()
            .or_else(|| r.as_array()?.first()?.as_i64())
            .ok_or_else(|| OdooError::Refused(format!("odoo created a `{model}` with no id")))
    }
}

/// The records of a `search_read` or `read` answer.
pub fn records(v: &Value) -> Vec<Map<String, Value>> {
    v.as_array()
        .map(|a| a.iter().filter_map(|r| r.as_object().cloned()).collect())
        .unwrap_or_default()
}

/// A many2one value's id (`[7, "Client Co"]`), or an integer.
pub fn m2o_id(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Array(a) => a.first()?.as_i64(),
        v => v.as_i64(),
    }
}

/// A many2one value's name (`[7, "Client Co"]`).
pub fn m2o_name(v: Option<&Value>) -> String {
    match v {
        Some(Value::Array(a)) => a.get(1).and_then(Value::as_str).unwrap_or("").to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Odoo {
        let o = OdooSettings {
            url: "http://127.0.0.1:9/".into(),
            db: "d".into(),
            ..OdooSettings::default()
        };
        Odoo::new(&o, "admin", "k3y-value").unwrap()
    }

    #[test]
    fn errors_are_typed_by_the_exception_class() {
        let o = client();
        let e = o.server_error(&json!({"code":200,"message":"Odoo Server Error",
            "data":{"name":"odoo.exceptions.UserError","message":"The entry INV/1 must be in draft."}}));
        assert_eq!(
            e.outcome(),
            ActionOutcome::Failed("odoo: Odoo says: The entry INV/1 must be in draft.".into())
        );
        let denied = o.server_error(
            &json!({"data":{"name":"odoo.exceptions.AccessDenied","message":"Access Denied"}}),
        );
        assert!(matches!(denied, OdooError::Login(_)));
        let text = denied.to_string();
        assert!(
            text.contains("AIE_ODOO_API_KEY") && !text.contains("k3y-value"),
            "{text}"
        );
        let db = o.server_error(&json!({"data":{"name":"psycopg2.OperationalError",
            "message":"FATAL:  database \"no_such_db\" does not exist"}}));
        assert!(matches!(db, OdooError::Login(_)));
        let err = crate::exit::exit_for(&db.into_anyhow());
        assert_eq!(err, crate::exit::Exit::Config);
    }

    #[test]
    fn many2one_values_read() {
        let v = json!([7, "Client Co"]);
        assert_eq!(m2o_id(Some(&v)), Some(7));
        assert_eq!(m2o_name(Some(&v)), "Client Co");
        assert_eq!(m2o_id(Some(&json!(false))), None);
    }
}
