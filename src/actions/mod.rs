//! The action catalogue: every kind of the closed list (SPEC.md, "Action kinds") defined in
//! one file each as a [`Kind`], and reached through [`registry`] / [`get`] as an
//! [`ActionKind`]. A kind says, in one place: its parameters (the table the model's schema
//! is built from, and a serde struct that refuses unknown parameters), its policy rule, what
//! the grounding check compares with the item, its dry-run preview, its plain-language
//! summary for the owner, its audit target and the executor that carries it out
//! ([`Kind::executor`]; none for a note, which has no side effect).
//!
//! Every one of those reads the typed struct, never the raw map: an action is read once
//! ([`read`], [`Kind::parse`] in the executors) and every question is asked of what it read
//! ([`TypedAction`]), so the policy that lets an action through and the executor that runs
//! it cannot read it two ways. An action that does not read is described as written
//! ([`as_written`]) beside why it will be refused, waits for the owner (rule
//! `invalid_parameters`) and is refused if approved. The raw map ([`Action`]) stays the
//! action's form on disk and in the identity hash (`vault::identity`), so hashes never
//! depend on these types.
//!
//! Adding a kind is adding its file here (the kind, and its executor unless a connector has
//! it), its `mod` line and one line in [`registry`].

use crate::config::{Policy, Settings};
use crate::executor::ExecutorFactory;
use crate::grounding::Grounds;
use crate::policy::{Decision, Origin};
use anyhow::{Result, anyhow};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

pub mod note;
pub mod odoo_bill;
pub mod odoo_invoice;
pub mod odoo_post_invoice;
pub mod payment;
pub mod send_email;
pub mod social_post;
pub mod whatsapp_send;

/// An action as written in an item: `kind`, its parameters, and aie's own `needs_approval`,
/// `rule` and `result`.
pub type Action = Map<String, Value>;

/// Keys of an action that aie writes itself: never parameters.
pub const BOOKKEEPING_KEYS: &[&str] = &["kind", "needs_approval", "rule", "result"];

/// The type of one parameter, as the model's schema and its answer's check see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    /// A list of mail addresses.
    Addresses,
    StrList,
    /// A number above zero.
    Amount,
    Bool,
    /// Invoice lines: `description`, `quantity`, `price_unit`.
    Lines,
    /// One of [`social_post::PLATFORMS`].
    Platform,
}

/// One parameter of a kind: name, type, required.
pub type Param = (&'static str, Ty, bool);

/// A kind of the closed list, declared once in its file: its name, the parameter table the
/// model's schema is built from, the serde struct its parameters read into, and everything
/// aie asks of an action of it, over that typed struct. [`ActionKind`] (what the registry
/// holds) follows from it, so no kind writes the reading of an action by hand; executors
/// read an action through [`Kind::parse`] too, so policy and executor read it one way.
pub trait Kind: Sync + 'static {
    /// The kind's name, the `kind:` of its actions.
    const NAME: &'static str;
    /// Its parameters (SPEC.md): what the model is told and its answer is checked against.
    const PARAMS: &'static [Param];
    /// The struct its parameters read into (`deny_unknown_fields`).
    type Params: DeserializeOwned + 'static;
    /// What the types alone cannot say (the format of a time), checked once the parameters
    /// read: the error names the parameter.
    fn validate(_params: &Self::Params) -> Result<()> {
        Ok(())
    }
    /// Reads the parameters of `action` into [`Kind::Params`] and validates them: the one
    /// way every part of aie reads an action of this kind. The error names the kind and the
    /// parameter.
    fn parse(action: &Action) -> Result<Self::Params> {
        let p = parse_params::<Self::Params>(Self::NAME, action)?;
        Self::validate(&p)?;
        Ok(p)
    }
    /// What carries its actions out; `None` for a kind with no side effect (a note), whose
    /// actions need nothing run and no approval ([`has_side_effect`]). No default: a new
    /// kind says which.
    fn executor() -> Option<ExecutorFactory>;
    /// The policy's verdict (`policy::decide` calls it; the rule ids are the contract).
    fn decide(p: &Self::Params, policy: &Policy, origin: &Origin) -> Decision;
    /// Whether every recipient, payee and amount is in the item or a known list.
    fn grounded(_p: &Self::Params, _grounds: &Grounds) -> bool {
        true
    }
    /// Exactly what the action would send, as text: dry runs and approval requests.
    fn preview(p: &Self::Params) -> String;
    /// What the owner approves, in a few words: every recipient, attachment, amount and
    /// platform ([`Kind::account`] adds the account).
    fn summary(p: &Self::Params) -> String;
    /// The account the action acts as or in (the sender, the page, the books), as
    /// `aie.yaml` names it, for the owner's summary; `None` when nothing names one.
    fn account(_p: &Self::Params, _settings: &Settings) -> Option<String> {
        None
    }
    /// The `aie.yaml` section that sets up what runs the action (`smtp`, `odoo`, ...), or
    /// None for a kind with no side effect: named when an approved action finds nothing set
    /// up. By default its executor's connector, which is named after its section.
    fn section(_p: &Self::Params) -> Option<&'static str> {
        Self::executor().map(|f| f.connector)
    }
    /// The audit line's `target`.
    fn target(_p: &Self::Params) -> Option<String> {
        None
    }
    /// When the action may run at the earliest (a post's `scheduled_at`); None: now.
    fn not_before(_p: &Self::Params) -> Option<chrono::DateTime<chrono::Utc>> {
        None
    }
}

/// An action read into its kind's typed parameters ([`read`], [`ActionKind::read`]): what
/// the policy, the grounding check, the owner's summary, the preview and the audit ask of
/// it. Each answer is its kind's ([`Kind`]).
pub trait TypedAction {
    /// [`Kind::decide`].
    fn decide(&self, policy: &Policy, origin: &Origin) -> Decision;
    /// [`Kind::grounded`].
    fn grounded(&self, grounds: &Grounds) -> bool;
    /// [`Kind::preview`].
    fn preview(&self) -> String;
    /// [`Kind::summary`].
    fn summary(&self) -> String;
    /// [`Kind::account`].
    fn account(&self, settings: &Settings) -> Option<String>;
    /// [`Kind::section`].
    fn section(&self) -> Option<&'static str>;
    /// [`Kind::target`].
    fn target(&self) -> Option<String>;
    /// [`Kind::not_before`].
    fn not_before(&self) -> Option<chrono::DateTime<chrono::Utc>>;
}

/// The parameters of an action of kind `K`, as [`Kind::parse`] read them.
struct Typed<K: Kind>(K::Params);

impl<K: Kind> TypedAction for Typed<K> {
    fn decide(&self, policy: &Policy, origin: &Origin) -> Decision {
        K::decide(&self.0, policy, origin)
    }
    fn grounded(&self, grounds: &Grounds) -> bool {
        K::grounded(&self.0, grounds)
    }
    fn preview(&self) -> String {
        K::preview(&self.0)
    }
    fn summary(&self) -> String {
        K::summary(&self.0)
    }
    fn account(&self, settings: &Settings) -> Option<String> {
        K::account(&self.0, settings)
    }
    fn section(&self) -> Option<&'static str> {
        K::section(&self.0)
    }
    fn target(&self) -> Option<String> {
        K::target(&self.0)
    }
    fn not_before(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        K::not_before(&self.0)
    }
}

/// One kind of the closed list, as the registry holds it: implemented for every [`Kind`].
pub trait ActionKind: Sync {
    /// The kind's name, the `kind:` of its actions.
    fn name(&self) -> &'static str;
    /// Its parameters (SPEC.md): what the model is told and its answer is checked against.
    fn params(&self) -> &'static [Param];
    /// [`Kind::executor`].
    fn executor(&self) -> Option<ExecutorFactory>;
    /// Reads `action` into the kind's typed parameters ([`Kind::parse`]): an unknown
    /// parameter or a value of the wrong type is an error naming the kind and the parameter.
    fn read(&self, action: &Action) -> Result<Box<dyn TypedAction>>;
    /// Whether `action` reads ([`ActionKind::read`]).
    fn check(&self, action: &Action) -> Result<()> {
        self.read(action).map(drop)
    }
    /// The JSON schema of one action of this kind, as the model is given it.
    fn schema(&self) -> Value {
        kind_schema(self.name(), self.params())
    }
}

impl<K: Kind> ActionKind for K {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn params(&self) -> &'static [Param] {
        K::PARAMS
    }

    fn executor(&self) -> Option<ExecutorFactory> {
        K::executor()
    }

    fn read(&self, action: &Action) -> Result<Box<dyn TypedAction>> {
        Ok(Box::new(Typed::<K>(K::parse(action)?)))
    }
}

/// Every kind of the closed list, in SPEC order.
pub fn registry() -> &'static [&'static dyn ActionKind] {
    &[
        &send_email::SendEmail,
        &odoo_invoice::OdooInvoice,
        &odoo_post_invoice::OdooPostInvoice,
        &odoo_bill::OdooBill,
        &payment::Payment,
        &social_post::SocialPost,
        &whatsapp_send::WhatsappSend,
        &note::Note,
    ]
}

/// The kind named `kind`, if it is one of the closed list.
pub fn get(kind: &str) -> Option<&'static dyn ActionKind> {
    registry().iter().copied().find(|k| k.name() == kind)
}

/// The names of the closed list, comma-separated: for messages.
pub fn names() -> String {
    registry()
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `kind:` of an action, or "".
pub fn kind_of(action: &Action) -> &str {
    action.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// The books an Odoo action works in, for the owner's summary: the database and its host.
pub fn odoo_account(settings: &Settings) -> Option<String> {
    let o = settings.odoo.as_ref()?;
    Some(format!(
        "in Odoo database `{}` at {}",
        o.db,
        crate::connectors::http::url_host(&o.url)
    ))
}

/// The `aie.yaml` section that sets up what runs `action` ([`Kind::section`]); None for a
/// note, a kind outside the closed list or an action that does not read.
pub fn section_of(action: &Action) -> Option<&'static str> {
    read(action).ok()?.section()
}

/// Whether `action` does anything outside the vault: every kind but a note (a kind with no
/// executor). An unknown kind counts as one: it is never taken for a note, and is refused
/// before it runs.
pub fn has_side_effect(action: &Action) -> bool {
    get(kind_of(action)).is_none_or(|k| k.executor().is_some())
}

/// Reads an action of an item: its kind is of the closed list and its parameters read into
/// that kind's struct. The error names the kind and the parameter.
pub fn read(action: &Action) -> Result<Box<dyn TypedAction>> {
    let kind = kind_of(action);
    match get(kind) {
        Some(k) => k.read(action),
        None => Err(anyhow!("unknown action kind `{kind}`")),
    }
}

/// Whether an action of an item reads ([`read`]).
pub fn check(action: &Action) -> Result<()> {
    read(action).map(drop)
}

/// An action as written, for one that does not read ([`read`]): its kind and every
/// parameter as JSON, so the owner sees what was proposed beside why it will be refused.
pub fn as_written(action: &Action) -> String {
    let params: Vec<String> = action
        .iter()
        .filter(|(k, _)| !BOOKKEEPING_KEYS.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    format!("a `{}` action ({})", kind_of(action), params.join(", "))
}

/// Reads the parameters of `action` (without aie's own keys) into `T`, a struct with
/// `deny_unknown_fields`: the error names the kind and the parameter.
pub fn parse_params<T: DeserializeOwned>(kind: &str, action: &Action) -> Result<T> {
    let params = Params {
        entries: action.iter(),
        value: None,
    };
    T::deserialize(serde::de::value::MapAccessDeserializer::new(params)).map_err(|e| {
        anyhow!(
            "`{kind}` action: {}",
            e.to_string().replace("field", "parameter")
        )
    })
}

/// The parameters of an action, read where they are (not a copy of the action without
/// aie's keys): what `serde_json::from_value` of that copy read, with the same errors.
struct Params<'a> {
    entries: serde_json::map::Iter<'a>,
    /// The value of the key just read.
    value: Option<&'a Value>,
}

impl<'de> serde::de::MapAccess<'de> for Params<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> std::result::Result<Option<K::Value>, Self::Error> {
        use serde::de::IntoDeserializer;
        for (k, v) in self.entries.by_ref() {
            if !BOOKKEEPING_KEYS.contains(&k.as_str()) {
                self.value = Some(v);
                return seed.deserialize(k.as_str().into_deserializer()).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> std::result::Result<V::Value, Self::Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(v),
            None => Err(serde::de::Error::custom("a value without its key")),
        }
    }
}

/// A value that is one text or a list of texts (an item's field such as `cc`), as a list
/// without empty entries.
pub fn list_in(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(l)) => l
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// `prefix` + `value`, or nothing when `value` is empty.
pub fn optional(prefix: &str, value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!("{prefix}{value}")
    }
}

/// An optional text parameter, or "" when it is unset.
pub fn text(t: &Option<String>) -> &str {
    t.as_deref().unwrap_or("")
}

/// An optional number parameter as written, or "" when it is unset.
pub fn number(n: &Option<Number>) -> String {
    n.as_ref().map(Number::to_string).unwrap_or_default()
}

/// The schema of one parameter type; an optional one may be null (strict schemas list every
/// property as required).
fn ty_schema(ty: Ty, required: bool) -> Value {
    let mut s = match ty {
        Ty::Str => json!({"type": "string"}),
        Ty::Addresses | Ty::StrList => json!({"type": "array", "items": {"type": "string"}}),
        Ty::Amount => json!({"type": "number"}),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Platform => json!({"type": "string", "enum": social_post::PLATFORMS}),
        Ty::Lines => json!({"type": "array", "items": {
            "type": "object",
            "properties": {
                "description": {"type": "string"},
                "quantity": {"type": "number"},
                "price_unit": {"type": "number"},
            },
            "required": ["description", "quantity", "price_unit"],
            "additionalProperties": false,
        }}),
    };
    if required {
        return s;
    }
    let t = s["type"].clone();
    s["type"] = json!([t, "null"]);
    if let Some(e) = s.get_mut("enum").and_then(Value::as_array_mut) {
        e.push(Value::Null);
    }
    s
}

/// The object schema of one kind: `kind`, `why` and its parameters, strict-mode compatible.
pub fn kind_schema(kind: &str, params: &[Param]) -> Value {
    let mut props = Map::new();
    props.insert("kind".into(), json!({"type": "string", "enum": [kind]}));
    props.insert(
        "why".into(),
        json!({"type": "string", "description": "one sentence: why this action"}),
    );
    let mut required = vec![json!("kind"), json!("why")];
    for (name, ty, req) in params {
        props.insert(name.to_string(), ty_schema(*ty, *req));
        required.push(json!(name));
    }
    json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    })
}

/// One text, or a list of texts (a parameter such as `to` is written either way).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub enum Texts {
    One(String),
    Many(Vec<String>),
}

impl Texts {
    /// Its entries, trimmed, without empty ones; one text is a comma-separated list
    /// (`a@b.co, c@d.co`). How the policy, the summary and the executor all read it.
    pub fn items(&self) -> Vec<&str> {
        let keep = |s: &str| !s.is_empty();
        match self {
            Texts::One(s) => s.split(',').map(str::trim).filter(|s| keep(s)).collect(),
            Texts::Many(l) => l.iter().map(|s| s.trim()).filter(|s| keep(s)).collect(),
        }
    }
}

/// The entries of an optional [`Texts`] parameter ([`Texts::items`]); none when it is unset.
pub fn items(t: &Option<Texts>) -> Vec<&str> {
    t.as_ref().map(Texts::items).unwrap_or_default()
}

/// A number as it was written (`49`, `49.0`, `12.5`), shown so and read with `as_f64`.
pub type Number = serde_json::Number;

#[cfg(test)]
pub(crate) mod testing {
    use super::Action;

    /// An action from JSON.
    pub fn act(v: serde_json::Value) -> Action {
        v.as_object().expect("an object").clone()
    }

    /// The typed parameters of an action from JSON, which must read.
    pub fn parsed<K: super::Kind>(v: serde_json::Value) -> K::Params {
        K::parse(&act(v)).expect("the action reads")
    }

    /// The policy the policy and grounding tests decide with: one known contact, one known
    /// domain, one known payee.
    pub fn policy() -> crate::config::Policy {
        crate::config::Policy {
            known_contacts: vec!["client@acme.com".into(), "@trusted.org".into()],
            known_payees: vec!["Hosting Co".into()],
            ..crate::config::Policy::default()
        }
    }

    /// Checks what every kind file tests: an example with every parameter reads, an unknown
    /// parameter is refused naming the kind and the parameter, and the schema lists exactly
    /// the parameters of the table.
    pub fn check_catalogue_entry(kind: &dyn super::ActionKind, full: serde_json::Value) {
        let full = act(full);
        kind.check(&full).unwrap();
        let mut extra = full.clone();
        extra.insert("iban".into(), "XX00".into());
        extra.insert("rule".into(), "x".into());
        let err = format!("{:#}", kind.check(&extra).unwrap_err());
        assert!(err.contains(kind.name()) && err.contains("`iban`"), "{err}");
        let schema = kind.schema();
        let props: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        let mut want = vec!["kind", "why"];
        want.extend(kind.params().iter().map(|p| p.0));
        assert_eq!(props, want);
        for (p, _, _) in kind.params() {
            assert!(full.contains_key(*p), "the example lacks `{p}`");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_the_closed_list_of_spec() {
        let names: Vec<&str> = registry().iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            [
                "send_email",
                "odoo_invoice",
                "odoo_post_invoice",
                "odoo_bill",
                "payment",
                "social_post",
                "whatsapp_send",
                "note"
            ]
        );
        assert!(get("wire_transfer").is_none());
        let err = check(&testing::act(json!({"kind": "wire_transfer"}))).unwrap_err();
        assert!(format!("{err}").contains("`wire_transfer`"));
    }

    /// An approved action with nothing set up names the `aie.yaml` section to fill in: every
    /// kind with a side effect names a section that a registered connector reads.
    #[test]
    fn every_kind_with_a_side_effect_names_a_connectors_section() {
        let sections: Vec<&str> = crate::connectors::capabilities::all()
            .iter()
            .map(|c| c.connector.section)
            .collect();
        for k in registry() {
            let a = match k.name() {
                "social_post" => testing::act(json!({"kind": k.name(), "platform": "linkedin"})),
                name => testing::act(json!({ "kind": name })),
            };
            match section_of(&a) {
                Some(s) => assert!(sections.contains(&s), "{}: `{s}`", k.name()),
                None => assert_eq!(k.name(), "note"),
            }
        }
        let post =
            |p: &str| section_of(&testing::act(json!({"kind": "social_post", "platform": p})));
        assert_eq!(post("instagram"), Some("instagram"));
        assert_eq!(post("myspace"), None);
        assert_eq!(
            section_of(&testing::act(json!({"kind": "payment"}))),
            Some("odoo")
        );
    }

    #[test]
    fn only_a_note_has_no_side_effect() {
        for k in registry() {
            let a = testing::act(json!({"kind": k.name()}));
            assert_eq!(has_side_effect(&a), k.name() != "note", "{}", k.name());
        }
        // An unknown kind (or none) is never taken for a note.
        assert!(has_side_effect(&testing::act(
            json!({"kind": "wire_transfer"})
        )));
        assert!(has_side_effect(&testing::act(json!({}))));
    }

    /// The parameters as `serde_json::from_value` read a copy of the action without aie's
    /// own keys (how they were read before): the same values, and the same errors.
    fn from_a_copy<T: DeserializeOwned>(kind: &str, action: &Action) -> Result<T> {
        let mut params = action.clone();
        for k in BOOKKEEPING_KEYS {
            params.shift_remove(*k);
        }
        serde_json::from_value(Value::Object(params)).map_err(|e| {
            anyhow!(
                "`{kind}` action: {}",
                e.to_string().replace("field", "parameter")
            )
        })
    }

    #[test]
    fn parameters_are_read_in_place_as_from_a_copy() {
        fn same<T: DeserializeOwned + std::fmt::Debug>(kind: &str, v: Value) {
            let a = testing::act(v);
            let show = |r: Result<T>| match r {
                Ok(t) => format!("{t:?}"),
                Err(e) => format!("error: {e:#}"),
            };
            assert_eq!(
                show(parse_params::<T>(kind, &a)),
                show(from_a_copy::<T>(kind, &a)),
                "{a:?}"
            );
        }
        let mails = [
            json!({"kind":"send_email","to":["a@b.co"],"cc":"c@d.co","subject":"Hi","body":"x",
                "needs_approval":true,"rule":"new_contact","result":"ok"}),
            json!({"kind":"send_email","to":5}),
            json!({"kind":"send_email","to":[5]}),
            json!({"kind":"send_email","iban":"XX00","to":[]}),
            json!({"kind":"send_email","subject":null,"attachments":["a.pdf", "b"]}),
            json!({"kind":"send_email","subject":{"x":1}}),
            json!({}),
        ];
        for v in mails {
            same::<send_email::Params>("send_email", v);
        }
        for v in [
            json!({"kind":"odoo_invoice","partner":"A","lines":[{"description":"d","quantity":1,"price_unit":49.5}],"ref":"R"}),
            json!({"kind":"odoo_invoice","lines":[{"description":"d","quantity":"1"}]}),
            json!({"kind":"odoo_invoice","lines":[{"description":"d","vat":1}]}),
            json!({"kind":"odoo_invoice","lines":"none","partner_is_company":"yes"}),
        ] {
            same::<odoo_invoice::Params>("odoo_invoice", v);
        }
        for v in [
            json!({"kind":"payment","payee":"P","amount":49,"currency":"USD","recurring":true}),
            json!({"kind":"payment","amount":"5"}),
            json!({"kind":"payment","amount":-1.5,"rule":5}),
        ] {
            same::<payment::Params>("payment", v);
        }
    }
}
