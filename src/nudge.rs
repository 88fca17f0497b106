//! Nudges: when requests have waited for approval longer than `policy.nudge_after`, one
//! digest mail to the owner lists them with what each will do (its `summary`); at most one
//! every `policy.nudge_every`, none in `policy.quiet_hours` (`HH:MM-HH:MM` in `timezone`,
//! may span midnight). Run at the end of each `plan` pass. A nudge is a notice to the owner,
//! like an alert: no item, no approval, no journal; the last one's time is in state
//! (section `nudge`).

use crate::context::Ctx;
use crate::vault::waiting::Waiting;
use crate::vault::{Item, Stage};
use anyhow::{Result, bail};
use chrono::{NaiveTime, Timelike};

/// Whether `now` (local time of day) is inside `spec` (`22:00-07:00`).
pub fn quiet(spec: &str, now: NaiveTime) -> Result<bool> {
    let parse = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M");
    let Some((a, b)) = spec.split_once('-') else {
        bail!("policy.quiet_hours `{spec}` is not HH:MM-HH:MM (such as 22:00-07:00)");
    };
    let (Ok(a), Ok(b)) = (parse(a), parse(b)) else {
        bail!("policy.quiet_hours `{spec}` is not HH:MM-HH:MM (such as 22:00-07:00)");
    };
    let now = now.with_second(0).unwrap_or(now);
    Ok(if a <= b {
        now >= a && now < b
    } else {
        now >= a || now < b
    })
}

/// Sends the digest when one is due: the number of requests it listed (0: none sent).
/// `seen` is the index of waiting requests as the plan pass just left it: every file in it
/// was read, written or found unchanged moments ago, so it is taken as it is. Without it
/// (no pass ran), the saved index counts only for files whose stamp is unchanged.
pub fn nudge(ctx: &Ctx, seen: Option<&Waiting>) -> Result<usize> {
    let p = &ctx.settings.policy;
    let (after, every) = (p.nudge_after.get(), p.nudge_every.get());
    let now = ctx.clock.now();
    if let Some(q) = &p.quiet_hours
        && quiet(q, now.with_timezone(&ctx.clock.tz()).time())?
    {
        return Ok(0);
    }
    let state = ctx.state.load()?;
    let last = state
        .nudge
        .and_then(|n| n.last)
        .as_deref()
        .and_then(crate::clock::parse_time);
    if last.is_some_and(|l| now - l < every) {
        return Ok(0);
    }
    let mut lines = Vec::new();
    // A request whose file is the version the plan pass last read or wrote is not read
    // again unless the digest lists it (the index does not keep summaries).
    let loaded;
    let index = match seen {
        Some(seen) => seen,
        None => {
            loaded = Waiting::load(&ctx.vault.aie_dir());
            &loaded
        }
    };
    for stage in ctx.vault.stages() {
        let Stage::PendingApproval(domain) = &stage else {
            continue;
        };
        for path in ctx.vault.list(&stage)? {
            let old_enough = |requested: &str| {
                crate::clock::parse_time(requested).filter(|req| now - *req >= after)
            };
            let rel = ctx.vault.rel(&path);
            let known = match seen {
                Some(_) => index.get(&rel),
                None => index.current(&rel, &path),
            };
            if known.is_some_and(|s| old_enough(&s.requested).is_none()) {
                continue;
            }
            let Ok(item) = Item::read(&path) else {
                continue;
            };
            let Some(req) = old_enough(item.str("requested")) else {
                continue;
            };
            lines.push(format!(
                "- {domain}/{} (waiting {} h, expires {}): {}",
                item.id(),
                (now - req).num_hours(),
                item.str("expires"),
                crate::audit::scrub(item.str("summary"), &ctx.secrets.values())
            ));
        }
    }
    if lines.is_empty() {
        return Ok(0);
    }
    let subject = format!("aie: {} request(s) wait for your approval", lines.len());
    let body = format!(
        "{}\n\nApprove by moving each to Approved/ (or ticking its Approve box), or run `aie approve ID`.",
        lines.join("\n")
    );
    if !crate::alerts::mail_owner_checked(ctx, "nudge", &subject, &body) {
        return Ok(0);
    }
    let stamp = ctx.clock.stamp();
    ctx.state.update(|s| {
        s.nudge = Some(crate::state::NudgeState { last: Some(stamp) });
    })?;
    Ok(lines.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_span_midnight() {
        let t = |s| NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        assert!(quiet("22:00-07:00", t("23:10")).unwrap());
        assert!(quiet("22:00-07:00", t("06:59")).unwrap());
        assert!(!quiet("22:00-07:00", t("07:00")).unwrap());
        assert!(quiet("12:00-13:00", t("12:30")).unwrap());
        assert!(!quiet("12:00-13:00", t("13:30")).unwrap());
        assert!(quiet("late", t("13:30")).is_err());
    }
}
