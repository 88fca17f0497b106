//! Which action needs a human, and why. Every decision names the rule that made it; the
//! planner (template or LLM) never decides this. Defaults are the owner's rules from the
//! Company Handbook: new contacts, bulk sends, new payees, large payments, posts that do not
//! come from the owner's content calendar, posting invoices and WhatsApp all need approval.
//! Mail runs unasked only as a reply to a sender who is a known contact and whose address
//! is authenticated (the item says so: Gmail's own `Authentication-Results`, or the owner's
//! drop), and only to known contacts: a stranger never gets mail sent as the owner.

use crate::config::Policy;
use serde_json::{Map, Value};

/// The policy's verdict on one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub needs_approval: bool,
    /// The rule id, written into the action as `rule`.
    pub rule: &'static str,
}

/// A verdict that waits for the owner, under `rule`.
pub const fn ask(rule: &'static str) -> Decision {
    Decision {
        needs_approval: true,
        rule,
    }
}

/// A verdict that lets the action run, under `rule`.
pub const fn allow(rule: &'static str) -> Decision {
    Decision {
        needs_approval: false,
        rule,
    }
}

/// What the policy knows of the item an action came from.
#[derive(Debug, Clone, Default)]
pub struct Origin<'a> {
    /// The item's `source` (`inbox:...`, `gmail:...`, `calendar:...`).
    pub source: &'a str,
    /// For a calendar item: the platform and text the owner wrote in the calendar.
    pub calendar_post: Option<(&'a str, &'a str)>,
    /// For mail: the bare address of its sender (the item's `sender`), if it has one.
    pub sender: Option<&'a str>,
    /// Whether that address is authenticated (the item's `sender_authenticated`): Gmail's
    /// own DKIM/SPF/DMARC verdict aligned with the From domain, or the owner's drop.
    pub sender_authenticated: bool,
}

/// Decides one action: its kind's rule (`actions/<kind>.rs`).
pub fn decide(policy: &Policy, origin: &Origin, action: &Map<String, Value>) -> Decision {
    match readable(action) {
        Ok(typed) => typed.decide(policy, origin),
        Err(refused) => refused,
    }
}

/// An action read into its kind's typed parameters, or the verdict on one that does not
/// read: a kind outside the closed list (`unknown_kind`) or parameters its kind refuses
/// (`invalid_parameters`) always wait, and are refused if approved.
pub fn readable(
    action: &Map<String, Value>,
) -> Result<Box<dyn crate::actions::TypedAction>, Decision> {
    match crate::actions::get(crate::actions::kind_of(action)) {
        Some(kind) => kind.read(action).map_err(|_| ask("invalid_parameters")),
        None => Err(ask("unknown_kind")),
    }
}

/// The bare address of `Name <a@b.c>` or `a@b.c`, lowercased.
pub fn bare_address(s: &str) -> String {
    let s = s.trim();
    let inner = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    inner.trim().to_ascii_lowercase()
}

/// Whether `s` is a plain address `local@domain`: one `@`, a dot-atom local part, and a
/// domain of letters, digits and hyphens in dot-separated labels.
pub fn is_plain_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let dot_atom = |p: &str, ok: &dyn Fn(char) -> bool| {
        !p.is_empty() && p.split('.').all(|w| !w.is_empty() && w.chars().all(ok))
    };
    let label = |c: char| c.is_ascii_alphanumeric() || c == '-';
    dot_atom(local, &atext)
        && local.len() <= 64
        && domain.len() <= 253
        && dot_atom(domain, &label)
        && domain
            .split('.')
            .all(|l| !l.starts_with('-') && !l.ends_with('-'))
}

/// The bare address (lowercased) of a recipient written `a@b.c`, `Name <a@b.c>` or
/// `"Any, name" <a@b.c>`; `None` when it is malformed (`a@b@c`, `x; y@z`, `@domain`, a
/// name with `<`, `>` or `@` outside quotes): the policy decides only on addresses it reads
/// exactly as the mailer will.
pub fn parse_address(s: &str) -> Option<String> {
    let s = s.trim();
    let addr = match s.find('<') {
        None => s,
        Some(lt) => {
            let name = s[..lt].trim();
            let inner = s[lt + 1..].strip_suffix('>')?;
            let name_ok = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
                Some(q) => !q.contains(['"', '\\', '<', '>']),
                None => !name.contains(['"', '<', '>', '@', ',', ';', ':', '\\', '[', ']']),
            };
            if !name_ok {
                return None;
            }
            inner
        }
    };
    if addr.contains(['<', '>']) {
        return None;
    }
    let addr = addr.trim().to_ascii_lowercase();
    is_plain_address(&addr).then_some(addr)
}

/// Whether `addr` is a known contact: listed exactly, or its domain is listed as `@domain`.
/// A malformed address, or a malformed entry of the list, is never known.
pub fn is_known_contact(policy: &Policy, addr: &str) -> bool {
    let Some(a) = parse_address(addr) else {
        return false;
    };
    let Some((_, domain)) = a.rsplit_once('@') else {
        return false;
    };
    policy.known_contacts.iter().any(|k| {
        let k = k.trim().to_ascii_lowercase();
        match k.strip_prefix('@') {
            Some(d) => is_plain_address(&format!("x@{d}")) && d == domain,
            None => parse_address(&k).is_some_and(|k| k == a),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::testing::{act, policy};
    use serde_json::json;

    /// A reply to `sender`, authenticated or not.
    fn reply_to(sender: &str, authenticated: bool) -> Origin<'_> {
        Origin {
            source: "gmail:m1",
            sender: Some(sender),
            sender_authenticated: authenticated,
            ..Origin::default()
        }
    }

    #[test]
    fn email_rules() {
        let p = policy();
        let o = reply_to("client@acme.com", true);
        let d = |v| decide(&p, &o, &act(v)).rule;
        assert_eq!(
            d(json!({"kind":"send_email","to":["Client <CLIENT@acme.com>"]})),
            "known_contact"
        );
        assert_eq!(
            d(json!({"kind":"send_email","to":["x@trusted.org"]})),
            "known_contact"
        );
        assert_eq!(
            d(json!({"kind":"send_email","to":["x@evil.com"]})),
            "new_contact"
        );
        assert_eq!(
            d(json!({"kind":"send_email","to":["client@acme.com"],"bcc":["x@evil.com"]})),
            "new_contact"
        );
        assert_eq!(d(json!({"kind":"send_email","to":[]})), "missing_recipient");
        let many: Vec<String> = (0..6).map(|i| format!("u{i}@trusted.org")).collect();
        assert_eq!(d(json!({"kind":"send_email","to": many})), "bulk_send");
    }

    // Issue 8, finding 7: mail to a known contact ran unasked whoever asked for it (a
    // stranger's mail naming ceo@trusted.org, or a From that only looks like a contact's).
    #[test]
    fn mail_runs_unasked_only_as_a_reply_to_an_authenticated_known_sender() {
        let p = policy();
        let to_ceo = act(json!({"kind":"send_email","to":["ceo@trusted.org"]}));
        let rule = |o: &Origin| decide(&p, o, &to_ceo).rule;
        assert_eq!(rule(&reply_to("eve@evil.com", true)), "unknown_sender");
        assert_eq!(
            rule(&reply_to("x@trusted.org", false)),
            "sender_not_authenticated"
        );
        assert_eq!(rule(&reply_to("x@trusted.org", true)), "known_contact");
        assert_eq!(rule(&reply_to("client@acme.com", true)), "known_contact");
        // No sender at all (a note, a calendar item, an item written by hand): not a reply.
        assert_eq!(rule(&Origin::default()), "not_a_reply");
        assert_eq!(rule(&reply_to("", true)), "not_a_reply");
        // A sender that is itself malformed is never known.
        assert_eq!(
            rule(&reply_to("eve@evil.com@trusted.org", true)),
            "unknown_sender"
        );
    }

    #[test]
    fn malformed_addresses_are_refused_by_the_policy() {
        let p = policy();
        let o = reply_to("client@acme.com", true);
        let d = |to: &str| decide(&p, &o, &act(json!({"kind":"send_email","to":[to]}))).rule;
        for bad in [
            "a@b@trusted.org",
            "x; y@trusted.org",
            "@trusted.org",
            "trusted.org",
            "x@",
            "x@trusted..org",
            ".x@trusted.org",
            "x@-trusted.org",
            "<x@trusted.org> eve@evil.com",
            "x@trusted.org <eve@evil.com>",
            "Eve <x@trusted.org",
            "Eve <a@evil.com> <x@trusted.org>",
            "x y@trusted.org",
        ] {
            assert_eq!(d(bad), "invalid_address", "{bad}");
        }
        // In cc and bcc too.
        let cc = act(json!({"kind":"send_email","to":["client@acme.com"],"cc":["@trusted.org"]}));
        assert_eq!(decide(&p, &o, &cc).rule, "invalid_address");
        // Well-formed ones, with a quoted display name that holds anything but quotes.
        for good in [
            "x@trusted.org",
            "X.Y+tag@Trusted.org",
            "Client <client@acme.com>",
            "\"eve@evil.com, boss\" <x@trusted.org>",
        ] {
            assert_eq!(d(good), "known_contact", "{good}");
        }
        assert_eq!(
            parse_address("\"eve@evil.com\" <X@trusted.org>").as_deref(),
            Some("x@trusted.org")
        );
        // A malformed entry of the list matches nothing.
        let odd = Policy {
            known_contacts: vec!["@".into(), "a@b@c".into()],
            ..Policy::default()
        };
        assert!(!is_known_contact(&odd, "a@b@c"));
        assert!(!is_known_contact(&odd, "x@"));
    }

    #[test]
    fn payment_rules() {
        let p = policy();
        let o = Origin::default();
        let d = |v| decide(&p, &o, &act(v));
        assert!(
            !d(json!({"kind":"payment","payee":"hosting co","amount":49.0,"recurring":true}))
                .needs_approval
        );
        assert_eq!(
            d(json!({"kind":"payment","payee":"Hosting Co","amount":100,"recurring":true})).rule,
            "payment_over_limit"
        );
        assert_eq!(
            d(json!({"kind":"payment","payee":"New Vendor","amount":5,"recurring":true})).rule,
            "new_payee"
        );
        assert_eq!(
            d(json!({"kind":"payment","payee":"Hosting Co","amount":5})).rule,
            "payment_not_recurring"
        );
        // An amount written as text does not read: the action waits, and is refused.
        assert_eq!(
            d(json!({"kind":"payment","payee":"Hosting Co","amount":"5","recurring":true})).rule,
            "invalid_parameters"
        );
        assert_eq!(
            d(json!({"kind":"payment","payee":"Hosting Co","amount":-5,"recurring":true})).rule,
            "invalid_amount"
        );
    }

    #[test]
    fn social_and_other_rules() {
        let p = policy();
        let inbound = Origin {
            source: "inbox:post.txt",
            ..Origin::default()
        };
        let cal = Origin {
            source: "calendar:2026-11-23",
            calendar_post: Some(("x", "hi")),
            ..Origin::default()
        };
        let post = act(json!({"kind":"social_post","platform":"x","text":"hi"}));
        assert!(decide(&p, &inbound, &post).needs_approval);
        assert!(!decide(&p, &cal, &post).needs_approval);
        // A planner that changes the owner's calendar post (text or platform) needs a human.
        let changed = act(json!({"kind":"social_post","platform":"x","text":"hi, and buy now"}));
        assert_eq!(decide(&p, &cal, &changed).rule, "calendar_post_changed");
        let moved = act(json!({"kind":"social_post","platform":"linkedin","text":"hi"}));
        assert_eq!(decide(&p, &cal, &moved).rule, "calendar_post_changed");
        // The calendar line names no image: a post with one asks.
        let pictured = act(
            json!({"kind":"social_post","platform":"x","text":"hi","image_url":"https://e.x/a.jpg"}),
        );
        assert_eq!(decide(&p, &cal, &pictured).rule, "calendar_post_changed");
        let reply = act(json!({"kind":"social_post","platform":"x","text":"hi","reply_to":"123"}));
        assert_eq!(decide(&p, &cal, &reply).rule, "social_reply");
        let o = Origin::default();
        assert!(!decide(&p, &o, &act(json!({"kind":"odoo_invoice"}))).needs_approval);
        assert!(decide(&p, &o, &act(json!({"kind":"odoo_post_invoice"}))).needs_approval);
        assert!(decide(&p, &o, &act(json!({"kind":"whatsapp_send"}))).needs_approval);
        assert_eq!(
            decide(&p, &o, &act(json!({"kind":"wire_transfer"}))).rule,
            "unknown_kind"
        );
        assert!(!decide(&p, &o, &act(json!({"kind":"note","text":"x"}))).needs_approval);
    }

    /// An action whose parameters its kind does not read is decided on nothing it says:
    /// it waits with its own rule (before, a note carrying a `to:` was let through as a
    /// note, and a draft invoice with an unknown line field as a draft).
    #[test]
    fn an_action_that_does_not_read_always_waits() {
        let p = policy();
        let o = Origin::default();
        for v in [
            json!({"kind":"note","text":"x","to":"a@b.co"}),
            json!({"kind":"odoo_invoice","lines":[{"description":"x","discount":5}]}),
            json!({"kind":"send_email","to":5}),
            json!({"kind":"social_post","platform":"x","text":"hi","scheduled_at":"soon"}),
        ] {
            let d = decide(&p, &o, &act(v.clone()));
            assert!(d.needs_approval, "{v}");
            assert_eq!(d.rule, "invalid_parameters", "{v}");
        }
    }
}
