//! `send_email`: a mail sent as the owner through the configured mailer. Runs unasked only
//! as a reply to an authenticated sender who is a known contact, and only to known contacts.

use super::{Action, ActionKind, Kind, Param, Texts, Ty, addresses, joined, list_of, text};
use crate::config::Policy;
use crate::executor::ExecutorFactory;
use crate::grounding::Grounds;
use crate::policy::{Decision, Origin, allow, ask, is_known_contact, parse_address};

/// The kind.
pub struct SendEmail;

/// The parameters of a `send_email` action.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub to: Option<Texts>,
    pub cc: Option<Texts>,
    pub bcc: Option<Texts>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub in_reply_to: Option<String>,
    pub attachments: Option<Texts>,
}

impl Kind for SendEmail {
    const NAME: &'static str = "send_email";
    const PARAMS: &'static [Param] = &[
        ("to", Ty::Addresses, true),
        ("cc", Ty::Addresses, false),
        ("bcc", Ty::Addresses, false),
        ("subject", Ty::Str, true),
        ("body", Ty::Str, true),
        ("in_reply_to", Ty::Str, false),
        ("attachments", Ty::StrList, false),
    ];
    type Params = Params;
}

impl ActionKind for SendEmail {
    fn executor(&self) -> Option<ExecutorFactory> {
        Some(ExecutorFactory {
            connector: "smtp",
            build: crate::connectors::smtp::factory,
        })
    }

    /// A recipient for each address, all well formed, few enough, every one a known
    /// contact, and the item a reply to an authenticated sender who is a known contact.
    fn decide(&self, policy: &Policy, origin: &Origin, action: &Action) -> Decision {
        let to = addresses(action, "to");
        let all: Vec<String> = to
            .iter()
            .cloned()
            .chain(addresses(action, "cc"))
            .chain(addresses(action, "bcc"))
            .collect();
        if to.is_empty() {
            return ask("missing_recipient");
        }
        if all.iter().any(|a| parse_address(a).is_none()) {
            return ask("invalid_address");
        }
        if all.len() > policy.bulk_recipients {
            return ask("bulk_send");
        }
        if all.iter().any(|a| !is_known_contact(policy, a)) {
            return ask("new_contact");
        }
        // Every recipient is known; whoever asked for the mail must be too, and proven.
        match origin.sender.filter(|s| !s.trim().is_empty()) {
            None => ask("not_a_reply"),
            Some(s) if !is_known_contact(policy, s) => ask("unknown_sender"),
            Some(_) if !origin.sender_authenticated => ask("sender_not_authenticated"),
            Some(_) => allow("known_contact"),
        }
    }

    /// Every recipient, and every attachment: a plan may attach the item's own files,
    /// never others of the vault, and `odoo:invoice` (the PDF of the invoice this item's
    /// own `odoo_invoice` made, fetched from Odoo once it is posted).
    fn grounded(&self, g: &Grounds, action: &Action) -> bool {
        ["to", "cc", "bcc"]
            .iter()
            .flat_map(|k| addresses(action, k))
            .all(|a| g.known_address(&a))
            && addresses(action, "attachments")
                .iter()
                .all(|f| f == crate::connectors::odoo_ledger::INVOICE_REF || g.mentions(f))
    }

    fn preview(&self, action: &Action) -> String {
        let mut out = format!("To: {}\n", joined(action, "to"));
        for (k, label) in [("cc", "Cc"), ("bcc", "Bcc")] {
            let v = joined(action, k);
            if !v.is_empty() {
                out.push_str(&format!("{label}: {v}\n"));
            }
        }
        out.push_str(&format!("Subject: {}\n", text(action, "subject")));
        let irt = text(action, "in_reply_to");
        if !irt.is_empty() {
            out.push_str(&format!("In-Reply-To: {irt}\n"));
        }
        let att = joined(action, "attachments");
        if !att.is_empty() {
            out.push_str(&format!("Attachments: {att}\n"));
        }
        out.push('\n');
        out.push_str(&text(action, "body"));
        out
    }

    fn account(&self, settings: &crate::config::Settings, _action: &Action) -> Option<String> {
        let from = settings.smtp.as_ref()?.from.as_deref()?;
        Some(format!("from {from}"))
    }

    fn summary(&self, action: &Action) -> String {
        let to = list_of(action, "to");
        let subject = text(action, "subject");
        let mut t = if to.is_empty() {
            format!("send an email \"{subject}\" (no recipient yet: add one under `to:`)")
        } else {
            format!("send an email \"{subject}\" to {}", to.join(", "))
        };
        for (key, label) in [("cc", "cc"), ("bcc", "bcc"), ("attachments", "attaching")] {
            let l = list_of(action, key);
            if !l.is_empty() {
                t.push_str(&format!(", {label} {}", l.join(", ")));
            }
        }
        t
    }

    fn target(&self, action: &Action) -> Option<String> {
        super::target_of(action, "to")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::Catalogued;
    use crate::actions::testing::{act, check_catalogue_entry};
    use serde_json::json;

    fn full() -> serde_json::Value {
        json!({"kind":"send_email","to":["a@b.co"],"cc":["c@d.co"],"bcc":["e@f.co"],
            "subject":"Hi","body":"Text","in_reply_to":"<m@x>","attachments":["inv.pdf"]})
    }

    #[test]
    fn params_schema_preview_summary_target() {
        check_catalogue_entry(&SendEmail, full());
        // `to` may be one text too, as the policy reads it.
        SendEmail
            .check(&act(
                json!({"kind":"send_email","to":"a@b.co","subject":"s","body":"b"}),
            ))
            .unwrap();
        assert!(
            SendEmail
                .check(&act(json!({"kind":"send_email","to":5})))
                .is_err()
        );
        let a = act(full());
        assert_eq!(
            SendEmail.preview(&a),
            "To: a@b.co\nCc: c@d.co\nBcc: e@f.co\nSubject: Hi\nIn-Reply-To: <m@x>\nAttachments: inv.pdf\n\nText"
        );
        assert_eq!(
            SendEmail.summary(&a),
            "send an email \"Hi\" to a@b.co, cc c@d.co, bcc e@f.co, attaching inv.pdf"
        );
        assert_eq!(SendEmail.target(&a).as_deref(), Some("a@b.co"));
        let none = act(json!({"kind":"send_email","subject":"Hi"}));
        assert!(SendEmail.summary(&none).contains("no recipient yet"));
    }
}
