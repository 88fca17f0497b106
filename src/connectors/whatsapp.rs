//! WhatsApp through the Cloud API (`whatsapp.graph_base`, `whatsapp.phone_number_id`,
//! `AIE_WHATSAPP_TOKEN`): `whatsapp_send` is one `POST /{phone-number-id}/messages` per
//! action, free text (`type: text`) inside the 24-hour customer-service window, an approved
//! template (`type: template`) outside it. The re-engagement error (131047) fails the action
//! with a plain explanation; throttling waits for a later pass. Incoming messages arrive by
//! webhook (`aie ingest whatsapp`, [`crate::passes::whatsapp_ingest`]). No printing, no
//! vault access.

use super::capabilities::{Connector, Finding, LiveCx, Messenger, Registered, SecretNeed};
use super::http::HttpError;
use super::social::{self, GraphAccount, graph_error, graph_outcome};
use crate::actions::{Kind, items, whatsapp_send};
use crate::config::Settings;
use crate::executor::{ActionExecutor, ActionOutcome};
use crate::secrets::Secrets;
use crate::vault::Item;
use anyhow::Result;
use serde_json::{Map, Value, json};
use std::path::Path;

/// The app secret that signs each webhook delivery (`aie ingest whatsapp`).
pub const APP_SECRET: &str = "AIE_WHATSAPP_APP_SECRET";
const SECRETS: &[&str] = &[social::WHATSAPP.token, APP_SECRET];

/// The connector as `doctor` sees it.
pub const CONNECTOR: Registered =
    Connector::of_section("whatsapp", SECRETS, needs, check).with_live(live);

fn needs(s: &Settings) -> Option<Vec<SecretNeed>> {
    s.whatsapp.as_ref()?;
    Some(vec![
        SecretNeed {
            name: SECRETS[0],
            optional: false,
        },
        SecretNeed {
            name: SECRETS[1],
            optional: true,
        },
    ])
}

/// Reads the business number with the token aie sends with (see [`super::social_doctor`]).
fn live(cx: &LiveCx) -> Vec<Finding> {
    let wa = cx.settings.whatsapp.as_ref();
    let account = wa.map(|c| (&*c.graph_base, c.phone_number_id.as_deref()));
    super::social_doctor::graph_finding(&social::WHATSAPP, cx.secrets, account)
}

fn check(s: &Settings, secrets: &Secrets, _root: &Path) -> Result<String> {
    Ok(match messenger(s, secrets)? {
        Some(m) => format!(
            "number {} at {}{}",
            m.acct.id,
            m.acct.base,
            if secrets.get(SECRETS[1]).is_some() {
                ""
            } else {
                " (no AIE_WHATSAPP_APP_SECRET: `aie ingest whatsapp` refuses every delivery)"
            }
        ),
        None => "not set up".into(),
    })
}

/// Sends WhatsApp messages from one business number.
pub struct WhatsappMessenger {
    acct: GraphAccount,
}

/// The messenger: `Ok(None)` without a `whatsapp:` section; a config error (exit 78)
/// without `whatsapp.phone_number_id` or the token.
pub fn messenger(settings: &Settings, secrets: &Secrets) -> Result<Option<WhatsappMessenger>> {
    let Some(wa) = &settings.whatsapp else {
        return Ok(None);
    };
    let acct = GraphAccount::new(
        &social::WHATSAPP,
        &wa.graph_base,
        wa.phone_number_id.as_deref(),
        secrets,
    )?;
    Ok(Some(WhatsappMessenger { acct }))
}

/// The `whatsapp_send` executor's factory.
pub fn factory(
    settings: &Settings,
    secrets: &Secrets,
    _vault_root: &Path,
) -> Result<Option<Box<dyn ActionExecutor>>> {
    Ok(messenger(settings, secrets)?.map(|m| Box::new(m) as Box<dyn ActionExecutor>))
}

impl ActionExecutor for WhatsappMessenger {
    fn execute(&mut self, _item: &Item, action: &Map<String, Value>, key: &str) -> ActionOutcome {
        match whatsapp_send::WhatsappSend::parse(action) {
            Ok(msg) => self.message(&msg, key),
            Err(e) => ActionOutcome::Failed(format!("{e:#}: nothing was sent")),
        }
    }
}

/// The template's name and language: `name` (English, `en_US`) or `name:lang` (`eta:de`).
fn template_parts(t: &str) -> (&str, &str) {
    match t.split_once(':') {
        Some((n, l)) if !l.trim().is_empty() => (n.trim(), l.trim()),
        _ => (t.trim(), "en_US"),
    }
}

impl Messenger for WhatsappMessenger {
    fn message(&mut self, msg: &whatsapp_send::Params, _key: &str) -> ActionOutcome {
        let to = match items(&msg.to).as_slice() {
            [one] => one.chars().filter(char::is_ascii_digit).collect::<String>(),
            _ => {
                return ActionOutcome::Failed(
                    "whatsapp: a message goes to exactly one number: nothing was sent".into(),
                );
            }
        };
        if !(7..=15).contains(&to.len()) {
            return ActionOutcome::Failed(format!(
                "whatsapp: `{to}` is not a phone number with its country code: nothing was sent"
            ));
        }
        let text = crate::actions::text(&msg.text);
        let template = crate::actions::text(&msg.template).trim();
        let body = if template.is_empty() {
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
                   "type": "text", "text": {"preview_url": false, "body": text}})
        } else {
            let (name, lang) = template_parts(template);
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
                   "type": "template", "template": {"name": name, "language": {"code": lang}}})
        };
        match self.acct.post(&format!("{}/messages", self.acct.id), &body) {
            Ok(v) => match v["messages"][0]["id"].as_str() {
                Some(id) => ActionOutcome::Ok(format!("whatsapp message {id} to +{to}")),
                None => ActionOutcome::Unknown(
                    "whatsapp: the answer carried no message id: check the chat".into(),
                ),
            },
            Err(e) => outcome(&e),
        }
    }
}

/// WhatsApp's own errors in plain words, else Meta's usual mapping.
fn outcome(e: &HttpError) -> ActionOutcome {
    if let HttpError::Status { body, .. } = e
        && let Some(g) = graph_error(body)
    {
        match g.code {
            131047 => {
                return ActionOutcome::Failed(
                    "whatsapp: the customer has not written in 24 h: choose an approved template (set `template`) (#131047)".into(),
                );
            }
            131026 => {
                return ActionOutcome::Failed(format!(
                    "whatsapp: the message could not be delivered: the number may not be on WhatsApp, or has not accepted the terms (#131026 {})",
                    g.message
                ));
            }
            132000 | 132001 => {
                return ActionOutcome::Failed(format!(
                    "whatsapp: the template does not exist in that language or its parameters do not match (#{} {})",
                    g.code, g.message
                ));
            }
            _ => {}
        }
    }
    graph_outcome(e, "whatsapp", SECRETS[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A messenger whose server is never reached: every case below is refused before a call.
    fn offline() -> WhatsappMessenger {
        let yaml =
            "whatsapp:\n  graph_base: http://127.0.0.1:9\n  phone_number_id: \"1065550100\"\n";
        let settings = Settings::parse(yaml, Path::new("aie.yaml")).unwrap();
        let env = std::collections::BTreeMap::from([(
            SECRETS[0].to_string(),
            "wa-token-0123456789".to_string(),
        )]);
        let secrets = Secrets::load(&env, None, None).unwrap();
        messenger(&settings, &secrets).unwrap().unwrap()
    }

    /// What the offline messenger makes of the action `a`.
    fn execute(a: Value) -> ActionOutcome {
        let item = Item::new(
            "w1",
            "whatsapp",
            "whatsapp",
            "whatsapp:1",
            "2026-01-01T00:00:00Z",
        );
        offline().execute(&item, a.as_object().unwrap(), "k1")
    }

    fn send(to: Value) -> ActionOutcome {
        execute(json!({"kind": "whatsapp_send", "to": to, "text": "On my way"}))
    }

    /// Regression: `to: "+1 555 010 2030, +44 7700 900123"` was read as one entry and its
    /// digits run together into one number; it is two numbers, as the policy reads it, and
    /// a message goes to exactly one.
    #[test]
    fn a_comma_separated_to_is_two_numbers_and_is_refused() {
        // Refused when it is read (the kind's check), before the executor looks at it.
        let ActionOutcome::Failed(why) = send(json!("+1 555 010 2030, +44 7700 900123")) else {
            panic!()
        };
        assert!(
            why.contains("`to` lists 2 numbers") && why.contains("exactly one"),
            "{why}"
        );
        let ActionOutcome::Failed(why) = send(json!(" , ")) else {
            panic!()
        };
        assert!(why.contains("exactly one number"), "{why}");
        let ActionOutcome::Failed(why) = send(json!(["+1 555"])) else {
            panic!()
        };
        assert!(why.contains("`1555` is not a phone number"), "{why}");
    }

    #[test]
    fn an_action_its_kind_does_not_read_sends_nothing() {
        let a = json!({"kind": "whatsapp_send", "to": "+15550102030", "iban": "XX00"});
        let ActionOutcome::Failed(why) = execute(a) else {
            panic!()
        };
        assert!(
            why.contains("`iban`") && why.ends_with("nothing was sent"),
            "{why}"
        );
    }
}
