//! The connector checks of `health-check`: each connector this agent uses, built from its
//! settings and secrets every pass (the offline check), and asked live (a token refresh, a
//! login, a call to the platform) only when its last live answer is due again: older than
//! `health.live_every`, a failure, given for other settings, or absent; or when the owner
//! runs `health-check --live`. The passes in between reuse the last live answer and say so.
//! A pass every two minutes would otherwise spend the platforms' daily quotas (X allows 25
//! calls of `/2/users/me` a day) and log in to the mail server 720 times a day. The
//! answers are kept in `state.json` ([`LiveAnswer`], on each check's state); `doctor`, run
//! by hand, asks live every time and does not come here.

use super::{CheckResult, LiveChange, result};
use crate::alerts::Level;
use crate::connectors::capabilities::{self, LiveCx};
use crate::context::Ctx;
use crate::state::{CheckState, LiveAnswer};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// How old a connector's last live answer is when it may stand for this pass; None when
/// the connector must be asked live now: `forced` (`--live`), no answer kept, a failure (a
/// recovery must be seen at the next pass), settings other than `settings` (the digest of
/// its section now), a time that does not parse or lies ahead of `now` (the pinned clock
/// was moved back), or an answer `every` old or older.
pub fn reusable_age(
    last: Option<&LiveAnswer>,
    now: DateTime<Utc>,
    every: Duration,
    settings: &str,
    forced: bool,
) -> Option<Duration> {
    let last = last.filter(|l| !forced && l.ok && l.settings_digest == settings)?;
    let age = now - crate::clock::parse_time(&last.at)?;
    (age >= Duration::zero() && age < every).then_some(age)
}

/// The digest of a connector's section of `aie.yaml` (`settings`, as JSON)
/// ([`LiveAnswer::settings_digest`]): short, and no secret goes into it (secrets are never
/// in `aie.yaml`).
fn section_digest(settings: &serde_json::Value, section: &str) -> String {
    let text = settings
        .get(section)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let mut hex = crate::backup::sha256_hex(text.as_bytes());
    hex.truncate(16);
    hex
}

/// An age in words, as the other health messages give one (`14 min`, `3 h`, `2 d`).
fn age_text(age: Duration) -> String {
    let minutes = age.num_minutes();
    match minutes {
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} d", m / (24 * 60)),
    }
}

/// One result per connector this agent uses: its offline check every pass (a failure is
/// reported at once, and forgets the live answer, so the fix is asked live), then its live
/// check when one is due (see [`reusable_age`]), else the last live answer, aged.
pub(super) fn connector_checks(ctx: &Ctx, force_live: bool) -> Vec<CheckResult> {
    let cx = LiveCx {
        settings: &ctx.settings,
        secrets: &ctx.secrets,
        vault_root: ctx.vault.root(),
        time_left: ctx.time_left(),
    };
    // A state that cannot be read keeps no answer: every connector is asked live.
    let kept: BTreeMap<String, CheckState> = match ctx.state.load() {
        Ok(s) => s.health,
        Err(e) => {
            log::warn!("cannot read the last live answers ({e:#}): asking every connector");
            BTreeMap::new()
        }
    };
    let every = ctx.settings.health.live_every.get();
    let now = ctx.clock.now();
    // Read once for every connector's digest.
    let settings = serde_json::to_value(&ctx.settings).unwrap_or_default();
    let mut out = Vec::new();
    for c in capabilities::all() {
        if c.needs_for(&ctx.settings, ctx.mode.role()).is_none() {
            continue;
        }
        let offline = match (c.check)(cx.settings, cx.secrets, cx.vault_root) {
            Ok(m) => m,
            Err(e) => {
                let mut r = result(c.name, Level::Critical, Err(format!("{e:#}")));
                r.live = LiveChange::Clear;
                out.push(r);
                continue;
            }
        };
        let Some(live) = c.live else {
            out.push(result(c.name, Level::Critical, Ok(offline)));
            continue;
        };
        let digest = section_digest(&settings, c.section);
        let last = kept.get(c.name).and_then(|s| s.live.as_ref());
        if let Some((last, age)) = last.zip(reusable_age(last, now, every, &digest, force_live)) {
            let said = format!("ok (asked live {} ago: {})", age_text(age), last.message);
            out.push(result(c.name, Level::Critical, Ok(said)));
            continue;
        }
        let found = live(&cx);
        if found.is_empty() {
            // Nothing was asked (nothing to ask with these settings): no answer to keep.
            let mut r = result(c.name, Level::Critical, Ok(offline));
            r.live = LiveChange::Clear;
            out.push(r);
            continue;
        }
        let mut r = result(c.name, Level::Critical, capabilities::verdict(&found));
        r.live = LiveChange::Set(LiveAnswer {
            at: ctx.clock.stamp(),
            ok: r.ok,
            message: r.message.clone(),
            settings_digest: digest,
        });
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn t(s: &str) -> DateTime<Utc> {
        crate::clock::parse_time(s).unwrap()
    }

    fn answer(at: &str, ok: bool) -> LiveAnswer {
        LiveAnswer {
            at: at.into(),
            ok,
            message: "@samsshop".into(),
            settings_digest: "abc".into(),
        }
    }

    #[test]
    fn a_fresh_success_stands_until_live_every_has_passed() {
        let last = answer("2026-03-02T09:00:00Z", true);
        let hour = Duration::hours(1);
        let at = |now| reusable_age(Some(&last), t(now), hour, "abc", false);
        assert_eq!(at("2026-03-02T09:00:00Z"), Some(Duration::zero()));
        assert_eq!(at("2026-03-02T09:14:00Z"), Some(Duration::minutes(14)));
        assert_eq!(at("2026-03-02T09:59:59Z"), Some(Duration::seconds(3599)));
        assert_eq!(
            at("2026-03-02T10:00:00Z"),
            None,
            "live_every old: asked again"
        );
        assert_eq!(at("2026-03-02T08:59:00Z"), None, "the clock went back");
    }

    #[test]
    fn a_failure_no_answer_other_settings_or_live_ask_at_once() {
        let now = t("2026-03-02T09:02:00Z");
        let hour = Duration::hours(1);
        let ok = answer("2026-03-02T09:00:00Z", true);
        let failed = answer("2026-03-02T09:00:00Z", false);
        assert_eq!(reusable_age(Some(&failed), now, hour, "abc", false), None);
        assert_eq!(reusable_age(None, now, hour, "abc", false), None);
        assert_eq!(reusable_age(Some(&ok), now, hour, "other", false), None);
        assert_eq!(reusable_age(Some(&ok), now, hour, "abc", true), None);
        let garbled = answer("yesterday", true);
        assert_eq!(reusable_age(Some(&garbled), now, hour, "abc", false), None);
    }

    #[test]
    fn ages_read_as_the_other_health_messages() {
        assert_eq!(age_text(Duration::seconds(59)), "0 min");
        assert_eq!(age_text(Duration::minutes(14)), "14 min");
        assert_eq!(age_text(Duration::minutes(150)), "2 h");
        assert_eq!(age_text(Duration::hours(50)), "2 d");
    }

    #[test]
    fn the_digest_follows_the_section_only() {
        let json = |s: &Settings| serde_json::to_value(s).unwrap();
        let mut s = Settings::default();
        let none = section_digest(&json(&s), "health");
        s.health.live_every = crate::config::Span::of("2h");
        let changed = section_digest(&json(&s), "health");
        assert_ne!(none, changed);
        assert_eq!(
            section_digest(&json(&s), "x"),
            section_digest(&json(&Settings::default()), "x")
        );
        assert_eq!(changed.len(), 16);
    }
}
