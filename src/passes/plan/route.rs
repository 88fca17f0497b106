//! Where a planned item goes and why: the policy decides each action afresh, the plan file
//! is written from the proposals, and the routing fields and the owner's summary are set.

use crate::context::Ctx;
use crate::executor::preview;
use crate::grounding;
use crate::planner::Plan;
use crate::policy::Origin;
use crate::vault::{Item, Stage};
use serde_json::{Map, Value};
use std::fmt::Write;

/// Where a planned item goes: Done when every action is a note (or there is none);
/// Approved when the policy lets its first actions run (the rest, if any, is asked for once
/// they did: see [`may_start`]); Pending_Approval otherwise.
pub(super) fn destination(item: &Item) -> Stage {
    let actions = item.actions_ref();
    if !actions.iter().any(crate::actions::has_side_effect) {
        return Stage::Done;
    }
    if may_start(actions) {
        Stage::Approved
    } else {
        Stage::PendingApproval(item.domain().to_string())
    }
}

/// Whether the policy lets an item start without a human: its leading actions that the
/// policy allows include one that is not a note. Actions run in order, so an allowed
/// action after one that needs the owner never runs before the owner approved.
/// `execute-approved` stops at the first action that needs the owner and asks for it.
fn may_start(actions: &[Map<String, Value>]) -> bool {
    actions
        .iter()
        .take_while(|a| a.get("needs_approval").and_then(Value::as_bool) == Some(false))
        .any(crate::actions::has_side_effect)
}

/// What the policy needs to know of an item's origin, owned (the item is rewritten while
/// its actions are decided).
struct OwnedOrigin {
    /// A `calendar:` item whose post the owner's content calendar holds as written.
    in_calendar: bool,
    source: String,
    platform: String,
    post_text: String,
    sender: String,
    sender_authenticated: bool,
}

impl OwnedOrigin {
    fn of(ctx: &Ctx, item: &Item) -> OwnedOrigin {
        OwnedOrigin {
            in_calendar: in_calendar(ctx, item),
            source: item.str("source").to_string(),
            platform: item.str("platform").to_string(),
            post_text: item.str("post_text").to_string(),
            // Written by intake and poll-gmail from what they verified, never from the mail.
            sender: item.str("sender").to_string(),
            sender_authenticated: item
                .front
                .get("sender_authenticated")
                .and_then(Value::as_bool)
                == Some(true),
        }
    }

    fn origin(&self) -> Origin<'_> {
        Origin {
            source: &self.source,
            calendar_post: self
                .in_calendar
                .then_some((self.platform.as_str(), self.post_text.as_str())),
            sender: Some(self.sender.as_str()).filter(|s| !s.is_empty()),
            sender_authenticated: self.sender_authenticated,
        }
    }
}

/// Whether `item` is a post of the owner's content calendar: its `source` is `calendar:` and
/// the calendar (`policy.content_calendar`) holds its line (the item's id is the line's),
/// platform and text as written, due by now ([`crate::calendar::holds`]). Anyone
/// who can write the vault can write an item with a `calendar:` source; only the calendar
/// line makes it the owner's post (a change to the calendar through sync counts only when
/// signed, `passes::sync`). A calendar that cannot be read holds nothing.
fn in_calendar(ctx: &Ctx, item: &Item) -> bool {
    let source = item.str("source");
    if !source.starts_with("calendar:") {
        return false;
    }
    let root = ctx.vault.root();
    let rel = &ctx.settings.policy.content_calendar;
    match crate::fsutil::read_vault_file(root, &root.join(rel)) {
        Ok(Some(bytes)) => crate::calendar::holds(
            &String::from_utf8_lossy(&bytes),
            ctx.clock.tz(),
            &crate::calendar::Claim {
                id: item.id(),
                source,
                platform: item.str("platform"),
                text: item.str("post_text"),
            },
            ctx.clock.now(),
        ),
        _ => false,
    }
}

/// Lets the policy decide one action: whatever a planner, or the file, said about approval
/// is discarded first.
fn decide_into(
    ctx: &Ctx,
    origin: &Origin,
    facts: &grounding::ItemFacts,
    a: &mut Map<String, Value>,
) -> crate::policy::Decision {
    a.shift_remove("needs_approval");
    a.shift_remove("rule");
    a.shift_remove("result");
    let d = grounding::decide_for_item(&ctx.settings.policy, origin, a, facts);
    a.insert("needs_approval".into(), d.needs_approval.into());
    a.insert("rule".into(), d.rule.into());
    d
}

/// Decides every action of an already planned item afresh (an item resumed from
/// `In_Progress/` is routed by the policy's verdict, never by flags read from its file).
pub(super) fn redecide(ctx: &Ctx, item: &mut Item) {
    let owned = OwnedOrigin::of(ctx, item);
    let origin = owned.origin();
    let facts = grounding::ItemFacts::of(item, ctx.settings.owner.email.as_deref());
    item.edit_actions(|actions| {
        for a in actions {
            decide_into(ctx, &origin, &facts, a);
        }
    });
}

/// Writes the plan's actions (with the policy's decisions) into the item; returns the
/// plan file's text.
pub(super) fn apply_plan(ctx: &Ctx, item: &mut Item, plan: &Plan) -> String {
    let owned = OwnedOrigin::of(ctx, item);
    let origin = owned.origin();
    let facts = grounding::ItemFacts::of(item, ctx.settings.owner.email.as_deref());
    let mut actions: Vec<Map<String, Value>> = Vec::with_capacity(plan.proposals.len());
    // The plan file's section on the proposed actions, one `###` part each.
    let mut proposed = String::with_capacity(1024);
    for (n, p) in plan.proposals.iter().enumerate() {
        let mut a = p.action.clone();
        let d = decide_into(ctx, &origin, &facts, &mut a);
        if n > 0 {
            proposed.push('\n');
        }
        let _ = write!(
            proposed,
            "### {}. `{}`\n\n{}\n\nPolicy: {} (rule `{}`).\n\n```\n{}\n```\n",
            n + 1,
            a.get("kind").and_then(Value::as_str).unwrap_or("?"),
            p.why,
            if d.needs_approval {
                "needs your approval"
            } else {
                "runs without approval"
            },
            d.rule,
            preview(&a)
        );
        actions.push(a);
    }
    item.set_actions(actions);
    item.set("planned", ctx.clock.stamp());
    item.set("planner", plan.planner.as_str());
    if let Some(t) = plan.tokens {
        item.set("llm_tokens", t);
    }
    let id = item.id();
    let mut text = String::with_capacity(512 + proposed.len());
    let _ = write!(
        text,
        "---\nitem: {id}\nplanner: {}\ncreated: {}\n---\n# Plan for [[{id}]]\n\n## Objective\n{}\n\n## Steps\n",
        plan.planner,
        ctx.clock.stamp(),
        plan.objective
    );
    for s in &plan.steps {
        let _ = writeln!(text, "- [ ] {s}");
    }
    if let Some(r) = &plan.fallback_reason {
        let _ = writeln!(
            text,
            "\n## Fallback\nThe template planner wrote this plan because: {r}"
        );
    }
    if let Some(t) = plan.tokens {
        let _ = writeln!(text, "\nTokens used: {t}");
    }
    text.push_str("\n## Proposed actions\n\n");
    text.push_str(&proposed);
    text
}

/// Sets status, approval and expiry fields for the stage the item goes to.
pub(super) fn set_routing_fields(ctx: &Ctx, item: &mut Item, to: &Stage) {
    item.set("status", to.status());
    match to {
        Stage::PendingApproval(_) => {
            item.set("requested", ctx.clock.stamp());
            item.set("expires", ctx.approval_expiry());
            item.set("summary", summary(item, &ctx.settings));
            item.body = crate::vault::approval_box::with_boxes(&item.body);
        }
        Stage::Approved => {
            item.set("approved_by", policy_by(item));
        }
        Stage::Done => {
            item.edit_actions(|actions| {
                for a in actions {
                    a.insert("result".into(), "ok".into());
                }
            });
        }
        _ => {}
    }
}

/// `policy:<rule>` for an item the policy approved: the rule of its first real action.
fn policy_by(item: &Item) -> String {
    let rule = item
        .actions_ref()
        .iter()
        .filter(|a| crate::actions::has_side_effect(a))
        .find_map(|a| a.get("rule").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| "note".into());
    format!("policy:{rule}")
}

/// The `policy:<rule>` under which the policy alone, deciding every action of `item` afresh
/// on the item's data (never on flags in its file), lets it start (its first actions run;
/// see [`may_start`]); `None` when its first action needs a human or there is none. For an
/// item in `Approved/` this agent holds no proof for.
pub fn policy_approval(ctx: &Ctx, item: &Item) -> Option<String> {
    let mut probe = item.clone();
    redecide(ctx, &mut probe);
    may_start(probe.actions_ref()).then(|| policy_by(&probe))
}

/// For each action of `item`, whether the policy, deciding afresh on the item's data (never
/// on flags in its file), lets it run without a human.
pub fn policy_allows(ctx: &Ctx, item: &Item) -> Vec<bool> {
    let mut probe = item.clone();
    redecide(ctx, &mut probe);
    probe
        .actions_ref()
        .iter()
        .map(|a| a.get("needs_approval").and_then(Value::as_bool) == Some(false))
        .collect()
}

/// A plain-language summary of exactly what will happen: every recipient (to, cc, bcc),
/// attachment, amount, platform and account of every action. The owner approves what it
/// says, so it is rebuilt from the actions whenever aie writes a request or sees one edited.
pub fn summary(item: &Item, settings: &crate::config::Settings) -> String {
    if !item.is_planned() {
        return Item::NO_PLAN.to_string();
    }
    // Built in one string: a post's summary quotes the whole post, which is not copied
    // again for each piece around it.
    let mut out = String::from("If approved, aie will ");
    for (i, a) in item.actions_ref().iter().enumerate() {
        let needs = if a.get("result").and_then(Value::as_str) == Some("ok") {
            " [done]"
        } else if a.get("needs_approval").and_then(Value::as_bool) == Some(false) {
            ""
        } else {
            " [needs approval]"
        };
        let kind = crate::actions::kind_of(a);
        let what = match crate::actions::get(kind).map(|k| k.read(a)) {
            None => format!("`{kind}` (not an action aie runs: it will be refused)"),
            Some(Ok(typed)) => {
                let mut what = typed.summary();
                if let Some(account) = typed.account(settings) {
                    what.push_str(" (");
                    what.push_str(&account);
                    what.push(')');
                }
                what
            }
            Some(Err(e)) => format!(
                "{} (it will be refused: {e:#})",
                crate::actions::as_written(a)
            ),
        };
        if i > 0 {
            out.push_str("; then ");
        }
        out.reserve(what.len() + needs.len() + 1);
        out.push_str(&what);
        out.push_str(needs);
    }
    out.push('.');
    out
}

#[cfg(test)]
mod tests {
    use super::may_start;
    use serde_json::{Map, Value, json};

    fn acts(v: Value) -> Vec<Map<String, Value>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_object().unwrap().clone())
            .collect()
    }

    #[test]
    fn an_item_starts_alone_only_when_its_first_real_actions_are_allowed() {
        let allowed = json!({"kind": "odoo_invoice", "needs_approval": false});
        let needs = json!({"kind": "send_email", "needs_approval": true});
        let note = json!({"kind": "note", "needs_approval": false});
        assert!(may_start(&acts(json!([allowed, needs]))));
        assert!(may_start(&acts(json!([note, allowed, needs]))));
        assert!(may_start(&acts(json!([allowed]))));
        // An allowed action after one that needs the owner never runs first.
        assert!(!may_start(&acts(json!([needs, allowed]))));
        assert!(!may_start(&acts(json!([note, needs, allowed]))));
        // Notes alone are filed, not started; a flag missing counts as needing the owner.
        assert!(!may_start(&acts(json!([note]))));
        assert!(!may_start(&acts(json!([{"kind": "payment"}]))));
        assert!(!may_start(&[]));
    }

    /// The issue: the summary names "the platform and account" the owner approves acting as.
    #[test]
    fn the_summary_names_the_account_each_action_acts_as_or_in() {
        use crate::config::{FacebookSettings, OdooSettings, Settings, SmtpSettings};
        let mut item =
            crate::vault::Item::new("i1", "email", "general", "inbox:x", "2026-11-23T09:00:00Z");
        item.set_actions(acts(json!([
            {"kind": "send_email", "to": ["a@b.example"], "subject": "s", "body": "b"},
            {"kind": "social_post", "platform": "facebook", "text": "hello"},
            {"kind": "odoo_bill", "vendor": "Hosting Co", "amount": 49, "currency": "USD"},
            {"kind": "note", "text": "n"},
        ])));
        let bare = super::summary(&item, &Settings::default());
        assert!(
            !bare.contains(" (from ") && !bare.contains("(as ") && !bare.contains("(in "),
            "{bare}"
        );
        let settings = Settings {
            smtp: Some(SmtpSettings {
                from: Some("Sam <sam@shop.example>".into()),
                ..SmtpSettings::default()
            }),
            facebook: Some(FacebookSettings {
                page_id: Some("111".into()),
                ..FacebookSettings::default()
            }),
            odoo: Some(OdooSettings {
                url: "https://books.example:8069".into(),
                db: "shop".into(),
                ..OdooSettings::default()
            }),
            ..Settings::default()
        };
        let s = super::summary(&item, &settings);
        assert!(s.contains("(from Sam <sam@shop.example>)"), "{s}");
        assert!(s.contains("(as Facebook page 111)"), "{s}");
        assert!(
            s.contains("(in Odoo database `shop` at books.example"),
            "{s}"
        );
    }
}
