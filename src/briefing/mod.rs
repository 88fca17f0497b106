//! The Monday briefing: the figures of one ISO week (in `timezone`) from the vault, the logs
//! and Odoo (when set up), worded into `Briefings/YYYY-MM-DD_Monday_Briefing.md` (the Monday
//! after the week). Every figure is fixed by the week, so a second run writes nothing unless
//! one changed; what the owner writes below [`NOTES_MARKER`] is kept. Nothing here prints,
//! reads the environment or acts: suggestions are listed for the owner to decide, and
//! [`requests`] turns each subscription to review into a request that runs nothing.

pub mod goals;
pub mod narrative;
mod render;
pub mod requests;

use crate::accounting::{Figures, figures};
use crate::actions::Kind;
use crate::actions::social_post::SocialPost;
use crate::context::Ctx;
use crate::vault::{Item, Stage};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub use render::NOTES_MARKER;

/// One ISO week in the owner's zone.
#[derive(Debug, Clone)]
pub struct Week {
    /// `2026-W47`.
    pub label: String,
    pub monday: NaiveDate,
    pub sunday: NaiveDate,
    /// Monday 00:00 local, and the next Monday 00:00 local, in UTC.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Local midnight of `day` in `tz` (the first such instant when a change of clocks repeats it).
fn midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let naive = day
        .and_hms_opt(0, 0, 0)
        .expect("invariant: midnight exists");
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.with_timezone(&Utc),
        // A zone that skips midnight: the first instant after the gap.
        None => tz
            .from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
            .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc)),
    }
}

impl Week {
    /// The week whose Monday is `monday`.
    fn of(tz: Tz, monday: NaiveDate) -> Week {
        let iso = monday.iso_week();
        Week {
            label: format!("{}-W{:02}", iso.year(), iso.week()),
            monday,
            sunday: monday + Duration::days(6),
            start: midnight(tz, monday),
            end: midnight(tz, monday + Duration::days(7)),
        }
    }

    /// `spec` (`YYYY-Www`), or the week before the one `now` is in, in `tz`.
    pub fn pick(tz: Tz, spec: Option<&str>, now: DateTime<Utc>) -> Result<Week> {
        let Some(spec) = spec else {
            let today = now.with_timezone(&tz).date_naive();
            let this = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
            return Ok(Week::of(tz, this - Duration::days(7)));
        };
        let parsed = spec.split_once("-W").and_then(|(y, w)| {
            let (y, w) = (y.parse::<i32>().ok()?, w.parse::<u32>().ok()?);
            NaiveDate::from_isoywd_opt(y, w, Weekday::Mon)
        });
        match parsed {
            Some(monday) => Ok(Week::of(tz, monday)),
            None => bail!("`{spec}` is not an ISO week of that year (YYYY-Www, such as 2026-W47)"),
        }
    }

    /// `Briefings/<the Monday after>_Monday_Briefing.md`, relative to the vault.
    pub fn file(&self) -> String {
        format!(
            "Briefings/{}_Monday_Briefing.md",
            self.monday + Duration::days(7)
        )
    }
}

/// An item that waited: a wikilink target and how long.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Wait {
    pub id: String,
    pub hours: f64,
}

/// A thing dated in the week ahead.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ahead {
    pub what: String,
    pub when: String,
}

/// The books' part of the briefing (Odoo set up).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Money {
    pub currency: String,
    pub week_revenue: f64,
    pub month_revenue: f64,
    /// Month to date as a percentage of the monthly target, when there is one.
    pub month_pct: Option<f64>,
    /// The last 8 weeks' revenue, oldest first (`W40`, amount).
    pub chart: Vec<(String, f64)>,
    pub receivables_total: f64,
    pub overdue: Vec<(String, String, f64, i64)>,
    /// Month to date: invoices due, paid, and the rate in percent.
    pub due: usize,
    pub paid: usize,
    pub payment_rate: Option<f64>,
    /// The monthly run rate of recurring bills (the latest bill of each).
    pub software_monthly: f64,
    /// Recurring bills up more than 20 % against the one before: (vendor, before, now, %).
    pub review: Vec<(String, f64, f64, f64)>,
}

/// Everything the briefing says, as figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub week: String,
    pub from: String,
    pub to: String,
    pub file: String,
    pub goals: goals::Goals,
    /// Items completed in the week, by domain (ids, sorted).
    pub done: BTreeMap<String, Vec<String>>,
    pub slow_replies: Vec<Wait>,
    pub slow_approvals: Vec<Wait>,
    /// Requests still waiting at the week's end for longer than the approval target.
    pub waiting: Vec<Wait>,
    /// Median hours from request to approval of the week's human approvals.
    pub approval_median_hours: Option<f64>,
    pub approvals: usize,
    /// Social posts done in the week: (item id, platform).
    pub posts: Vec<(String, String)>,
    pub failed_runs: Vec<String>,
    pub incidents: Vec<String>,
    pub last_backup: Option<String>,
    pub last_sync: Option<String>,
    pub expiring: Vec<Ahead>,
    pub scheduled: Vec<Ahead>,
    pub bills_due: Vec<Ahead>,
    pub money: Option<Money>,
    /// Subscriptions to review, each with the request that asks the owner.
    pub subscriptions: Vec<SubReview>,
    /// The model's executive summary, when one was asked for and answered.
    pub narrative: Option<String>,
    /// Who wrote it (`anthropic:<model>`).
    pub narrator: String,
}

/// A subscription the owner should look at, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SubReview {
    /// The id of its review request (one per subscription per week).
    pub id: String,
    pub name: String,
    pub reasons: Vec<String>,
}

/// The subscriptions to review this week: cost up more than the goal's percentage (Odoo's
/// recurring bills), last used more than the goal's days before the week's end, and two or
/// more of one kind (the `Business_Goals.md` table).
fn sub_reviews(goals: &goals::Goals, week: &Week, money: Option<&Money>) -> Vec<SubReview> {
    let mut by: BTreeMap<String, SubReview> = BTreeMap::new();
    let mut push = |name: &str, why: String| {
        let key = crate::vault::item::slug(name, 40);
        if key.is_empty() {
            return;
        }
        by.entry(key.clone())
            .or_insert_with(|| SubReview {
                id: format!("subscription-review-{}-{key}", week.label.to_lowercase()),
                name: name.to_string(),
                reasons: Vec::new(),
            })
            .reasons
            .push(why);
    };
    if let Some(m) = money {
        for (v, before, now, pct) in &m.review {
            push(
                v,
                format!(
                    "{} to {} (+{pct:.1} %)",
                    crate::accounting::money(*before, &m.currency),
                    crate::accounting::money(*now, &m.currency)
                ),
            );
        }
    }
    for sub in &goals.subscriptions {
        if let Some(d) = sub.last_used {
            let days = (week.sunday - d).num_days();
            if days > goals.unused_days {
                push(&sub.name, format!("unused for {days} days (last used {d})"));
            }
        }
    }
    let mut kinds: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for sub in goals.subscriptions.iter().filter(|s| !s.kind.is_empty()) {
        kinds.entry(&sub.kind).or_default().push(&sub.name);
    }
    for (kind, names) in kinds.iter().filter(|(_, n)| n.len() > 1) {
        for name in names {
            let others: Vec<&str> = names.iter().filter(|n| *n != name).copied().collect();
            push(
                name,
                format!("the same kind (`{kind}`) as {}", others.join(", ")),
            );
        }
    }
    by.into_values().collect()
}

impl Report {
    /// Whether the week left no trace at all.
    pub fn empty(&self) -> bool {
        self.done.is_empty()
            && self.slow_replies.is_empty()
            && self.waiting.is_empty()
            && self.approvals == 0
            && self.failed_runs.is_empty()
            && self.incidents.is_empty()
            && self.money.as_ref().is_none_or(|m| {
                m.week_revenue == 0.0 && m.month_revenue == 0.0 && m.receivables_total == 0.0
            })
    }
}

fn hours(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    ((b - a).num_minutes() as f64 / 60.0 * 10.0).round() / 10.0
}

fn time_of(item: &Item, key: &str) -> Option<DateTime<Utc>> {
    crate::clock::parse_time(item.str(key))
}

/// Reads every item of `stage`; unreadable ones are skipped (the passes report them).
fn items(ctx: &Ctx, stage: &Stage) -> Vec<Item> {
    ctx.vault
        .list(stage)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| Item::read(p).ok())
        .collect()
}

/// Gathers the week's figures. Errors: Odoo refusing the login or out of reach.
pub fn gather(ctx: &Ctx, week: &Week) -> Result<Report> {
    let root = ctx.vault.root();
    let goals = match crate::fsutil::read_vault_file(root, &root.join("Business_Goals.md"))? {
        Some(b) => goals::parse(&String::from_utf8_lossy(&b)),
        None => goals::Goals::default(),
    };
    let in_week = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t >= week.start && t < week.end);
    let ahead_end = week.end + Duration::days(7);
    let in_ahead = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t >= week.end && t < ahead_end);

    let mut done: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut slow_replies, mut posts) = (Vec::new(), Vec::new());
    for item in items(ctx, &Stage::Done) {
        let Some(completed) = time_of(&item, "completed").filter(|t| in_week(Some(*t))) else {
            continue;
        };
        done.entry(item.domain().to_string())
            .or_default()
            .push(item.id().to_string());
        if item.domain() == "email"
            && let Some(created) = time_of(&item, "created")
            && hours(created, completed) > goals.response_hours
        {
            slow_replies.push(Wait {
                id: item.id().into(),
                hours: hours(created, completed),
            });
        }
        for a in item.actions_ref() {
            let res = a.get("result").and_then(Value::as_str).unwrap_or("");
            if crate::actions::kind_of(a) == SocialPost::NAME && matches!(res, "ok" | "dry_run") {
                // Read as the executor read it (a post that ran did read).
                let platform = SocialPost::parse(a).ok().and_then(|p| p.platform);
                posts.push((
                    item.id().to_string(),
                    platform.unwrap_or_else(|| "?".into()),
                ));
            }
        }
    }
    for v in done.values_mut() {
        v.sort();
    }
    slow_replies.sort_by(|a, b| a.id.cmp(&b.id));
    posts.sort();

    let (mut waiting, mut expiring, mut scheduled) = (Vec::new(), Vec::new(), Vec::new());
    for stage in ctx.vault.stages() {
        let pending = matches!(stage, Stage::PendingApproval(_));
        if !pending && stage != Stage::Approved {
            continue;
        }
        for item in items(ctx, &stage) {
            if pending {
                if let Some(req) = time_of(&item, "requested")
                    && req < week.end
                    && hours(req, week.end) > goals.approval_hours
                {
                    waiting.push(Wait {
                        id: item.id().into(),
                        hours: hours(req, week.end),
                    });
                }
                if in_ahead(time_of(&item, "expires")) {
                    expiring.push(Ahead {
                        what: item.id().into(),
                        when: item.str("expires").into(),
                    });
                }
            } else if item.str("status") == "scheduled" && in_ahead(time_of(&item, "due")) {
                scheduled.push(Ahead {
                    what: item.id().into(),
                    when: item.str("due").into(),
                });
            }
        }
    }
    waiting.sort_by(|a, b| a.id.cmp(&b.id));
    expiring.sort_by(|a, b| (&a.when, &a.what).cmp(&(&b.when, &b.what)));
    scheduled.sort_by(|a, b| (&a.when, &a.what).cmp(&(&b.when, &b.what)));

    let (latencies, slow_approvals) = approval_waits(ctx, week, goals.approval_hours);
    let (failed_runs, incidents) = alerts_in(ctx, week);
    let state = ctx.state.load()?;
    let last = |job: &str| state.jobs.get(job).and_then(|j| j.last_success.clone());

    let money = books(ctx, week, &goals)?;
    let bills_due = money
        .as_ref()
        .map(|(_, month)| {
            month
                .recurring
                .iter()
                .filter_map(|r| {
                    let last = NaiveDate::parse_from_str(&r.last_date, "%Y-%m-%d").ok()?;
                    let next = last.checked_add_months(chrono::Months::new(1))?;
                    in_ahead(Some(midnight(ctx.clock.tz(), next))).then(|| Ahead {
                        what: format!(
                            "{} (about {})",
                            r.vendor,
                            crate::accounting::money(r.last_amount, &month.currency)
                        ),
                        when: next.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();

    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let subscriptions = sub_reviews(&goals, week, money.as_ref().map(|(m, _)| m));
    Ok(Report {
        subscriptions,
        narrative: None,
        narrator: String::new(),
        week: week.label.clone(),
        from: week.monday.to_string(),
        to: week.sunday.to_string(),
        file: week.file(),
        goals,
        done,
        slow_replies,
        slow_approvals,
        waiting,
        approval_median_hours: sorted.get(sorted.len() / 2).copied(),
        approvals: latencies.len(),
        posts,
        failed_runs,
        incidents,
        last_backup: last("backup"),
        last_sync: last("sync-vault"),
        expiring,
        scheduled,
        bills_due,
        money: money.map(|(m, _)| m),
    })
}

/// The week's human approvals from the readable trail (`Logs/approvals.jsonl`): each
/// request's wait until it was bound, and those over `target` hours.
fn approval_waits(ctx: &Ctx, week: &Week, target: f64) -> (Vec<f64>, Vec<Wait>) {
    let path = ctx.vault.logs().join("approvals.jsonl");
    let Ok(Some(bytes)) = crate::fsutil::read_vault_file(ctx.vault.root(), &path) else {
        return (Vec::new(), Vec::new());
    };
    let mut requested: HashMap<String, DateTime<Utc>> = HashMap::new();
    let (mut all, mut slow) = (Vec::new(), Vec::new());
    let mut lines: Vec<Value> = String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    lines.sort_by(|a, b| a["ts"].as_str().cmp(&b["ts"].as_str()));
    for l in lines {
        let (Some(item), Some(ts)) = (
            l["item"].as_str(),
            l["ts"].as_str().and_then(crate::clock::parse_time),
        ) else {
            continue;
        };
        match l["event"].as_str() {
            Some("requested" | "review") => {
                requested.insert(item.to_string(), ts);
            }
            Some("bound") if !l["by"].as_str().unwrap_or("").starts_with("policy:") => {
                if let Some(req) = requested.remove(item)
                    && ts >= week.start
                    && ts < week.end
                {
                    let h = hours(req, ts);
                    all.push(h);
                    if h > target {
                        slow.push(Wait {
                            id: item.into(),
                            hours: h,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    slow.sort_by(|a, b| a.id.cmp(&b.id));
    (all, slow)
}

/// Failed runs and health incidents (checks that went DOWN) from `Logs/alerts/` in the week.
fn alerts_in(ctx: &Ctx, week: &Week) -> (Vec<String>, Vec<String>) {
    let (mut failed, mut down) = (Vec::new(), Vec::new());
    let dir = ctx.vault.logs().join("alerts");
    // Log files are named by the local day; a day before and after covers any zone change.
    let mut day = week.monday - Duration::days(1);
    while day <= week.sunday + Duration::days(1) {
        let path: PathBuf = dir.join(format!("{day}.jsonl"));
        if let Ok(Some(bytes)) = crate::fsutil::read_vault_file(ctx.vault.root(), &path) {
            for l in String::from_utf8_lossy(&bytes).lines() {
                let Ok(v) = serde_json::from_str::<Value>(l) else {
                    continue;
                };
                let ts = v["ts"].as_str().and_then(crate::clock::parse_time);
                if !ts.is_some_and(|t| t >= week.start && t < week.end) {
                    continue;
                }
                let key = v["key"].as_str().unwrap_or("?").to_string();
                match v["event"].as_str() {
                    Some("failed") => failed.push(key),
                    Some("down") => down.push(key),
                    _ => {}
                }
            }
        }
        day += Duration::days(1);
    }
    (failed, down)
}

/// The books' figures, with the month-to-date [`Figures`] (for the bills ahead); None when
/// Odoo is not set up.
fn books(ctx: &Ctx, week: &Week, goals: &goals::Goals) -> Result<Option<(Money, Figures)>> {
    let Some(this) = figures(ctx, week.monday, week.sunday)? else {
        return Ok(None);
    };
    let first = week.sunday.with_day(1).context("invariant: day 1 exists")?;
    let month = figures(ctx, first, week.sunday)?.context("invariant: Odoo is set up")?;
    let mut chart = Vec::new();
    for back in (1..8).rev() {
        let monday = week.monday - Duration::days(7 * back);
        let f = figures(ctx, monday, monday + Duration::days(6))?
            .context("invariant: Odoo is set up")?;
        chart.push((format!("W{:02}", monday.iso_week().week()), f.revenue + 0.0));
    }
    chart.push((
        format!("W{:02}", week.monday.iso_week().week()),
        this.revenue + 0.0,
    ));
    let review = month
        .recurring
        .iter()
        .filter(|r| {
            r.previous_amount > 0.0 && r.change / r.previous_amount > goals.cost_rise_pct / 100.0
        })
        .map(|r| {
            (
                r.vendor.clone(),
                r.previous_amount,
                r.last_amount,
                (r.change / r.previous_amount * 1000.0).round() / 10.0,
            )
        })
        .collect();
    let money = Money {
        currency: this.currency.clone(),
        week_revenue: this.revenue,
        month_revenue: month.revenue,
        month_pct: goals
            .revenue_target
            .filter(|t| *t > 0.0)
            .map(|t| (month.revenue / t * 1000.0).round() / 10.0),
        chart,
        receivables_total: month.receivables_total,
        overdue: month
            .receivables
            .iter()
            .filter(|r| r.days_overdue > 0)
            .map(|r| {
                (
                    r.number.clone(),
                    r.partner.clone(),
                    r.amount_due,
                    r.days_overdue,
                )
            })
            .collect(),
        due: month.due_in_period,
        paid: month.paid_of_due,
        payment_rate: month.payment_rate.map(|r| (r * 1000.0).round() / 10.0),
        software_monthly: month.recurring.iter().map(|r| r.last_amount).sum(),
        review,
    };
    Ok(Some((money, month)))
}

/// What [`write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Updated,
    Unchanged,
}

/// Writes the briefing for `report` unless the file already says the same; the owner's
/// notes below the marker (or a whole file without one) are kept under the new text.
pub fn write(ctx: &Ctx, report: &Report) -> Result<Written> {
    let root = ctx.vault.root();
    let path = root.join(&report.file);
    let text = render::markdown(report);
    let old = crate::fsutil::read_vault_file(root, &path)?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let notes = match &old {
        None => render::NOTES_TAIL.to_string(),
        Some(old) => match old.split_once(NOTES_MARKER) {
            Some((head, _))
                if format!("{head}{NOTES_MARKER}") == text || same_figures(head, report) =>
            {
                return Ok(Written::Unchanged);
            }
            Some((_, tail)) => tail.to_string(),
            None => format!("\n{old}"),
        },
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    crate::fsutil::write_atomic(&path, format!("{text}{notes}").as_bytes())?;
    Ok(if old.is_some() {
        Written::Updated
    } else {
        Written::Created
    })
}

/// Whether a briefing's head (its text before the notes marker) was written from the same
/// figures as `report`.
fn same_figures(head: &str, report: &Report) -> bool {
    head.split("\n---\n")
        .next()
        .is_some_and(|front| front.lines().any(|l| l == render::figures_line(report)))
}

/// Whether the briefing file of `report` already says these figures (so a run writes
/// nothing and asks no model).
pub fn unchanged(ctx: &Ctx, report: &Report) -> Result<bool> {
    let root = ctx.vault.root();
    let old = crate::fsutil::read_vault_file(root, &root.join(&report.file))?;
    Ok(old.is_some_and(|b| {
        String::from_utf8_lossy(&b)
            .split_once(NOTES_MARKER)
            .is_some_and(|(head, _)| same_figures(head, report))
    }))
}

/// The whole briefing text (for `--stdout` and mail).
pub fn text(report: &Report) -> String {
    format!("{}{}", render::markdown(report), render::NOTES_TAIL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_are_iso_weeks_in_the_owners_zone() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let w = Week::pick(tz, Some("2026-W53"), Utc::now()).unwrap();
        assert_eq!(
            (w.monday.to_string(), w.sunday.to_string()),
            ("2026-12-28".into(), "2027-01-03".into())
        );
        assert_eq!(w.file(), "Briefings/2027-01-04_Monday_Briefing.md");
        assert!(Week::pick(tz, Some("2025-W53"), Utc::now()).is_err());
        assert!(Week::pick(tz, Some("2026-47"), Utc::now()).is_err());
        // The week clocks go back (2026-10-25): 169 hours long.
        let w = Week::pick(tz, Some("2026-W43"), Utc::now()).unwrap();
        assert_eq!((w.end - w.start).num_hours(), 169);
        assert_eq!(w.start.to_rfc3339(), "2026-10-18T22:00:00+00:00");
        let now = "2026-11-23T09:00:00Z".parse().unwrap();
        assert_eq!(Week::pick(tz, None, now).unwrap().label, "2026-W47");
    }
}
