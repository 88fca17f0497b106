//! The owner's targets, read from `Business_Goals.md`: the line `Monthly revenue target: $N`
//! and the `| Metric | Target | Alert |` table. A row is recognised by words in its metric
//! name (`response`, `approval`, `payment rate`, `software`); a cell's value is its first
//! number (`< 24 hours`, `> 90 %`, `< $500 / month`; `2 days` is 48 hours). What is missing
//! or unreadable keeps the default, and the briefing says which targets it used.

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
}

impl Default for Goals {
    fn default() -> Goals {
        Goals {
            revenue_target: None,
            response_hours: 24.0,
            approval_hours: 48.0,
            payment_rate: (90.0, 80.0),
            software: (500.0, 600.0),
        }
    }
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
    for line in text.lines() {
        let lower = line.to_lowercase();
        if !line.trim_start().starts_with('|') {
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
