//! The check of a model's answer, field by field, against the closed list of the catalogue
//! (`actions/`): kinds, parameter names and types, required parameters, sizes, then each
//! kind's own check (what `execute` would refuse). Any fault is the reason the planner falls
//! back to the template for that item (or an MCP proposal is refused).

use crate::actions::{Ty, social_post};
use crate::planner::{Plan, Proposal};
use serde_json::{Map, Value};

/// The most actions one plan may propose.
const MAX_ACTIONS: usize = 10;
/// The most characters of one string parameter.
const MAX_STRING: usize = 20_000;

/// Keys a model may write that are not its to decide: dropped without a word.
const POLICY_KEYS: &[&str] = &["needs_approval", "rule", "result", "approved_by"];

fn check_str(v: &Value, what: &str) -> std::result::Result<String, String> {
    let s = v
        .as_str()
        .ok_or_else(|| format!("{what} is not a string"))?;
    if s.chars().count() > MAX_STRING {
        return Err(format!("{what} is longer than {MAX_STRING} characters"));
    }
    if s.chars().any(|c| c == '\0') {
        return Err(format!("{what} holds a NUL character"));
    }
    Ok(s.to_string())
}

fn check_number(
    v: &Value,
    what: &str,
    min_exclusive: Option<f64>,
) -> std::result::Result<(), String> {
    let n = v
        .as_f64()
        .ok_or_else(|| format!("{what} is not a number"))?;
    if !n.is_finite() {
        return Err(format!("{what} is not a finite number"));
    }
    match min_exclusive {
        Some(m) if n <= m => Err(format!("{what} must be above {m}")),
        _ if n < 0.0 => Err(format!("{what} is negative")),
        _ => Ok(()),
    }
}

fn is_address(s: &str) -> bool {
    let a = crate::policy::bare_address(s);
    let Some((local, domain)) = a.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.contains('@')
        && !a.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn check_param(ty: Ty, v: &Value, what: &str) -> std::result::Result<(), String> {
    match ty {
        Ty::Str => check_str(v, what).map(|_| ()),
        Ty::Addresses | Ty::StrList => {
            let a = v
                .as_array()
                .ok_or_else(|| format!("{what} is not a list"))?;
            if a.len() > 50 {
                return Err(format!("{what} has more than 50 entries"));
            }
            for (i, x) in a.iter().enumerate() {
                let s = check_str(x, &format!("{what}[{i}]"))?;
                if ty == Ty::Addresses && !is_address(&s) {
                    return Err(format!("{what}[{i}] `{s}` is not a mail address"));
                }
            }
            Ok(())
        }
        Ty::Amount => check_number(v, what, Some(0.0)),
        Ty::Bool => v
            .is_boolean()
            .then_some(())
            .ok_or_else(|| format!("{what} is not true or false")),
        Ty::Platform => {
            let s = check_str(v, what)?;
            social_post::PLATFORMS
                .contains(&s.as_str())
                .then_some(())
                .ok_or_else(|| {
                    format!(
                        "{what} `{s}` is not one of {}",
                        social_post::PLATFORMS.join(", ")
                    )
                })
        }
        Ty::Lines => {
            let a = v
                .as_array()
                .ok_or_else(|| format!("{what} is not a list"))?;
            if a.is_empty() || a.len() > 50 {
                return Err(format!("{what} must have 1 to 50 lines"));
            }
            for (i, l) in a.iter().enumerate() {
                let l = l
                    .as_object()
                    .ok_or_else(|| format!("{what}[{i}] is not an object"))?;
                for k in l.keys() {
                    if !["description", "quantity", "price_unit"].contains(&k.as_str()) {
                        return Err(format!("{what}[{i}] has an unknown field `{k}`"));
                    }
                }
                let d = check_str(
                    l.get("description").unwrap_or(&Value::Null),
                    &format!("{what}[{i}].description"),
                )?;
                if d.trim().is_empty() {
                    return Err(format!("{what}[{i}].description is empty"));
                }
                check_number(
                    l.get("quantity").unwrap_or(&Value::Null),
                    &format!("{what}[{i}].quantity"),
                    Some(0.0),
                )?;
                check_number(
                    l.get("price_unit").unwrap_or(&Value::Null),
                    &format!("{what}[{i}].price_unit"),
                    None,
                )?;
            }
            Ok(())
        }
    }
}

/// Validates one proposed action against the closed list; returns it without `why`, null
/// parameters or approval keys, and its `why`.
fn check_action(n: usize, v: &Value) -> std::result::Result<Proposal, String> {
    let at = format!("action {}", n + 1);
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{at} is not an object"))?;
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{at} has no `kind`"))?;
    let Some(entry) = crate::actions::get(kind) else {
        return Err(format!(
            "{at} has the unknown kind `{kind}` (allowed: {})",
            crate::actions::names()
        ));
    };
    let params = entry.params();
    let mut action = Map::new();
    action.insert("kind".into(), kind.into());
    let mut why = String::new();
    for (k, val) in obj {
        if k == "kind" || POLICY_KEYS.contains(&k.as_str()) {
            continue;
        }
        if k == "why" {
            why = match val {
                Value::Null => String::new(),
                _ => check_str(val, &format!("{at} `why`"))?,
            };
            continue;
        }
        let Some((_, ty, _)) = params.iter().find(|(p, _, _)| p == k) else {
            return Err(format!("{at} (`{kind}`) has the unknown parameter `{k}`"));
        };
        if val.is_null() {
            continue;
        }
        check_param(*ty, val, &format!("{at} (`{kind}`) `{k}`"))?;
        action.insert(k.clone(), val.clone());
    }
    for (p, ty, req) in params.iter() {
        if !*req {
            continue;
        }
        let missing = match action.get(*p) {
            None => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(Value::Array(a)) => a.is_empty() && *ty != Ty::StrList,
            Some(_) => false,
        };
        if missing {
            return Err(format!("{at} (`{kind}`) lacks `{p}`"));
        }
    }
    // What the kind itself checks beyond the types (a post's `scheduled_at` is a time):
    // what `execute` would refuse is refused now, before the plan is written.
    if let Err(e) = entry.check(&action) {
        let e = format!("{e:#}");
        let e = e.trim_start_matches(&format!("`{kind}` action: "));
        return Err(format!("{at} (`{kind}`) {e}"));
    }
    Ok(Proposal {
        action,
        why: if why.trim().is_empty() {
            "The model proposed it.".into()
        } else {
            why.trim().to_string()
        },
    })
}

/// Validates a model's answer field by field; any fault is the reason to fall back.
pub fn check_answer(v: &Value) -> std::result::Result<Plan, String> {
    let obj = v.as_object().ok_or("the answer is not a JSON object")?;
    for k in obj.keys() {
        if !["objective", "steps", "actions"].contains(&k.as_str()) {
            return Err(format!("the answer has the unknown field `{k}`"));
        }
    }
    let objective = check_str(
        obj.get("objective").ok_or("the answer lacks `objective`")?,
        "`objective`",
    )?;
    if objective.trim().is_empty() {
        return Err("`objective` is empty".into());
    }
    let steps = obj
        .get("steps")
        .ok_or("the answer lacks `steps`")?
        .as_array()
        .ok_or("`steps` is not a list")?;
    if steps.len() > 30 {
        return Err("`steps` has more than 30 entries".into());
    }
    let steps = steps
        .iter()
        .enumerate()
        .map(|(i, s)| check_str(s, &format!("step {}", i + 1)))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let actions = obj
        .get("actions")
        .ok_or("the answer lacks `actions`")?
        .as_array()
        .ok_or("`actions` is not a list")?;
    if actions.is_empty() {
        return Err("the answer proposes no action".into());
    }
    if actions.len() > MAX_ACTIONS {
        return Err(format!(
            "the answer proposes {} actions (at most {MAX_ACTIONS})",
            actions.len()
        ));
    }
    let proposals = actions
        .iter()
        .enumerate()
        .map(|(n, a)| check_action(n, a))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Plan {
        objective: objective.trim().to_string(),
        steps,
        proposals,
        ..Plan::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(action: Value) -> Value {
        json!({"objective": "o", "steps": [], "actions": [{"kind": "note", "text": "t"}, action]})
    }

    /// Regression: the kind's own check never ran on a proposal, so a post scheduled at
    /// `tomorrow 9am` was accepted and written, and only `execute` refused it.
    #[test]
    fn the_kinds_own_check_refuses_a_proposal_naming_the_action_and_the_parameter() {
        let post = json!({"kind": "social_post", "platform": "x", "text": "Hi",
            "scheduled_at": "tomorrow 9am", "why": "w"});
        let err = check_answer(&answer(post)).unwrap_err();
        assert_eq!(
            err,
            "action 2 (`social_post`) `scheduled_at` `tomorrow 9am` is not an RFC 3339 time (2026-12-01T09:30:00Z)"
        );
        let fine = json!({"kind": "social_post", "platform": "x", "text": "Hi",
            "scheduled_at": "2026-12-01T09:30:00Z", "image_url": null});
        let plan = check_answer(&answer(fine)).unwrap();
        assert_eq!(
            plan.proposals[1].action["scheduled_at"],
            "2026-12-01T09:30:00Z"
        );
    }
}
