//! `send_email`: a mail sent as the owner through the configured mailer. Runs unasked only
//! as a reply to an authenticated sender who is a known contact, and only to known contacts.

use super::{Kind, Param, Texts, Ty, items, text};
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

    fn executor() -> Option<ExecutorFactory> {
        Some(ExecutorFactory {
            connector: "smtp",
            build: crate::connectors::smtp::factory,
        })
    }

    /// A recipient for each address, all well formed, few enough, every one a known
    /// contact, and the item a reply to an authenticated sender who is a known contact.
    fn decide(p: &Params, policy: &Policy, origin: &Origin) -> Decision {
        let to = items(&p.to);
        if to.is_empty() {
            return ask("missing_recipient");
        }
        let all = p.recipients();
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
    fn grounded(p: &Params, g: &Grounds) -> bool {
        p.recipients().iter().all(|a| g.known_address(a))
            && items(&p.attachments)
                .iter()
                .all(|f| *f == crate::connectors::odoo_ledger::INVOICE_REF || g.mentions(f))
    }

    fn preview(p: &Params) -> String {
        let mut out = format!("To: {}\n", items(&p.to).join(", "));
        for (list, label) in [(&p.cc, "Cc"), (&p.bcc, "Bcc")] {
            let v = items(list);
            if !v.is_empty() {
                out.push_str(&format!("{label}: {}\n", v.join(", ")));
            }
        }
        out.push_str(&format!("Subject: {}\n", text(&p.subject)));
        if let Some(irt) = p.in_reply_to.as_deref().filter(|t| !t.is_empty()) {
            out.push_str(&format!("In-Reply-To: {irt}\n"));
        }
        let att = items(&p.attachments);
        if !att.is_empty() {
            out.push_str(&format!("Attachments: {}\n", att.join(", ")));
        }
        out.push('\n');
        out.push_str(text(&p.body));
        out
    }

    fn account(_p: &Params, settings: &crate::config::Settings) -> Option<String> {
        let from = settings.smtp.as_ref()?.from.as_deref()?;
        Some(format!("from {from}"))
    }

    fn summary(p: &Params) -> String {
        let to = items(&p.to);
        let subject = text(&p.subject);
        let mut t = if to.is_empty() {
            format!("send an email \"{subject}\" (no recipient yet: add one under `to:`)")
        } else {
            format!("send an email \"{subject}\" to {}", to.join(", "))
        };
        for (list, label) in [
            (&p.cc, "cc"),
            (&p.bcc, "bcc"),
            (&p.attachments, "attaching"),
        ] {
            let l = items(list);
            if !l.is_empty() {
                t.push_str(&format!(", {label} {}", l.join(", ")));
            }
        }
        t
    }

    fn target(p: &Params) -> Option<String> {
        p.to.as_ref().map(|t| t.items().join(", "))
    }
}

impl Params {
    /// Every recipient: `to`, `cc` and `bcc`, as [`items`] reads them.
    pub fn recipients(&self) -> Vec<&str> {
        [&self.to, &self.cc, &self.bcc]
            .into_iter()
            .flat_map(items)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::ActionKind;
    use crate::actions::testing::{act, check_catalogue_entry, parsed};
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
        let p = parsed::<SendEmail>(full());
        assert_eq!(
            SendEmail::preview(&p),
            "To: a@b.co\nCc: c@d.co\nBcc: e@f.co\nSubject: Hi\nIn-Reply-To: <m@x>\nAttachments: inv.pdf\n\nText"
        );
        assert_eq!(
            SendEmail::summary(&p),
            "send an email \"Hi\" to a@b.co, cc c@d.co, bcc e@f.co, attaching inv.pdf"
        );
        assert_eq!(SendEmail::target(&p).as_deref(), Some("a@b.co"));
        let none = parsed::<SendEmail>(json!({"kind":"send_email","subject":"Hi"}));
        assert!(SendEmail::summary(&none).contains("no recipient yet"));
    }

    /// One text of comma-separated addresses is read as that many recipients everywhere:
    /// by the policy (two unknown recipients ask), the summary and the preview.
    #[test]
    fn a_comma_separated_to_is_every_recipient_it_names() {
        let p = parsed::<SendEmail>(
            json!({"kind":"send_email","to":"client@acme.com, x@evil.example","subject":"s","body":"b"}),
        );
        assert_eq!(p.recipients(), ["client@acme.com", "x@evil.example"]);
        let origin = crate::policy::Origin {
            sender: Some("client@acme.com"),
            sender_authenticated: true,
            ..Default::default()
        };
        let policy = crate::actions::testing::policy();
        assert_eq!(SendEmail::decide(&p, &policy, &origin).rule, "new_contact");
        assert!(SendEmail::summary(&p).contains("to client@acme.com, x@evil.example"));
        assert!(SendEmail::preview(&p).starts_with("To: client@acme.com, x@evil.example\n"));
    }
}
