//! The owner's targets, read from `Business_Goals.md`: the line `Monthly revenue target: $N`
//! and the `| Metric | Target | Alert |` table. A row is recognised by words in its metric
//! name (`response`, `approval`, `payment rate`, `software`); a cell's value is its first
//! number (`< 24 hours`, `> 90 %`, `< $500 / month`; `2 days` is 48 hours). What is missing
//! or unreadable keeps the default, and the briefing says which targets it used.
//! Subscriptions: the lines `unused for N days` and `more than N %` under `## Subscriptions`,
//! and the `| Subscription | Kind | Last used |` table (two of one kind are flagged, and one
//! last used more than N days before the week's end).

use serde::Serialize;

/// The thresholds the briefing judges by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Goals {
    /// Monthly revenue target, when the file names one.
    pub revenue_target: Option<f64>,
    /// A client waiting longer than this (hours) for a reply is a bottleneck.
    pub response_hours: f64,
    /// A request waiting longer than this (hours) for approval is a bottleneck.
    pub approval_hours: f64,
    /// Target and alert of the invoice payment rate, in percent.
    pub payment_rate: (f64, f64),
    /// Target and alert of the monthly software costs.
    pub software: (f64, f64),
    /// A subscription unused for more than this many days is flagged.
    pub unused_days: i64,
    /// A subscription whose cost rose by more than this percentage is flagged.
    pub cost_rise_pct: f64,
    /// The owner's subscriptions table.
    pub subscriptions: Vec<Subscription>,
}

/// One row of the subscriptions table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subscription {
    pub name: String,
    /// What it is for (`notes`, `design`): two of one kind are flagged.
    pub kind: String,
    /// `YYYY-MM-DD`, when the owner filled it in.
    #[serde(serialize_with = "date_text")]
    pub last_used: Option<chrono::NaiveDate>,
}

impl Default for Goals {
    fn default() -> Goals {
        Goals {
            revenue_target: None,
            response_hours: 24.0,
            approval_hours: 48.0,
            payment_rate: (90.0, 80.0),
            software: (500.0, 600.0),
            unused_days: 30,
            cost_rise_pct: 20.0,
            subscriptions: Vec::new(),
        }
    }
}

fn date_text<S: serde::Serializer>(d: &Option<chrono::NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.map(|d| d.to_string()).unwrap_or_default())
}

/// The first number in `cell` (`$10,000` is 10000), in hours when the cell says days.
fn number(cell: &str, hours: bool) -> Option<f64> {
    let start = cell.find(|c: char| c.is_ascii_digit())?;
    let digits: String = cell[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    let n: f64 = digits.trim_end_matches('.').parse().ok()?;
    let days = cell.to_lowercase().contains("day");
    Some(if hours && days { n * 24.0 } else { n })
}

/// Reads the targets from the text of `Business_Goals.md`.
pub fn parse(text: &str) -> Goals {
    let mut g = Goals::default();
    // Whether the table being read is the subscriptions table (its header says so).
    let mut subs_table = false;
    for line in text.lines() {
        let lower = line.to_lowercase();
        if !line.trim_start().starts_with('|') {
            subs_table = false;
            if lower.contains("subscription") {
                if let Some((_, v)) = lower.split_once("unused for")
                    && let Some(n) = number(v, false)
                {
                    g.unused_days = n as i64;
                }
                if let Some((_, v)) = lower.split_once("more than")
                    && let Some(n) = number(v, false)
                {
                    g.cost_rise_pct = n;
                }
            }
            if lower.contains("monthly revenue target")
                && let Some((_, v)) = line.split_once(':')
                && let Some(n) = number(v, false)
            {
                g.revenue_target = Some(n);
            }
            continue;
        }
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() < 2 {
            continue;
        }
        let name = cells[0].to_lowercase();
        if name == "subscription" || name == "tool" {
            subs_table = true;
            continue;
        }
        if subs_table {
            if !cells[0].is_empty() && !cells[0].starts_with('-') {
                g.subscriptions.push(Subscription {
                    name: cells[0].to_string(),
                    kind: cells[1].to_lowercase(),
                    last_used: cells
                        .get(2)
                        .and_then(|c| chrono::NaiveDate::parse_from_str(c, "%Y-%m-%d").ok()),
                });
            }
            continue;
        }
        let target = |h| number(cells[1], h);
        let alert = |h| cells.get(2).and_then(|c| number(c, h));
        if name.contains("approval") {
            if let Some(t) = target(true) {
                g.approval_hours = t;
            }
        } else if name.contains("response") {
            if let Some(t) = target(true) {
                g.response_hours = t;
            }
        } else if name.contains("payment rate") {
            g.payment_rate = (
                target(false).unwrap_or(g.payment_rate.0),
                alert(false).unwrap_or(g.payment_rate.1),
            );
        } else if name.contains("software") {
            g.software = (
                target(false).unwrap_or(g.software.0),
                alert(false).unwrap_or(g.software.1),
            );
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_table_is_read() {
        let g = parse(include_str!("../../vault_template/Business_Goals.md"));
        assert_eq!(g.revenue_target, Some(10_000.0));
        assert_eq!(g.response_hours, 24.0);
        assert_eq!(g.approval_hours, 48.0);
        assert_eq!(g.payment_rate, (90.0, 80.0));
        assert_eq!(g.software, (500.0, 600.0));
        assert_eq!((g.unused_days, g.cost_rise_pct), (30, 20.0));
    }

    #[test]
    fn the_subscriptions_table_and_its_thresholds_are_read() {
        let g = parse(
            "## Subscriptions\n- Flag any subscription unused for 45 days.\n- Flag any subscription whose cost went up by more than 15 %.\n\n| Subscription | Kind | Last used |\n|---|---|---|\n| Notion | Notes | 2026-10-01 |\n| Obsidian Sync | notes | |\n\n| Metric | Target | Alert |\n|---|---|---|\n| Software costs | < $300 | > $350 |\n",
        );
        assert_eq!((g.unused_days, g.cost_rise_pct), (45, 15.0));
        assert_eq!(g.software, (300.0, 350.0));
        assert_eq!(g.subscriptions.len(), 2);
        assert_eq!(g.subscriptions[0].kind, "notes");
        assert_eq!(
            g.subscriptions[0].last_used,
            chrono::NaiveDate::from_ymd_opt(2026, 10, 1)
        );
        assert_eq!(g.subscriptions[1].last_used, None);
    }

    #[test]
    fn changed_targets_and_days_are_read_and_missing_ones_keep_defaults() {
        let g = parse(
            "Monthly revenue target: $25,500.50\n| Metric | Target | Alert |\n|---|---|---|\n| Approval time | < 2 days | > 3 days |\n| Software costs | < $300 | > $350 |\n",
        );
        assert_eq!(g.revenue_target, Some(25_500.5));
        assert_eq!(g.approval_hours, 48.0);
        assert_eq!(g.software, (300.0, 350.0));
        assert_eq!(g.response_hours, 24.0);
        assert_eq!(parse("nothing here"), Goals::default());
    }
}
