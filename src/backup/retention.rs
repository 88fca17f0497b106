//! Which snapshots to keep: the newest of each of the last `daily` days, `weekly` ISO weeks
//! and `monthly` months that have a snapshot (in the owner's time zone), and always the
//! newest of all. Pure: it decides, [`super::Store::prune`] deletes.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// The period a snapshot falls in (year, day/week/month, which rule).
type PeriodOf = dyn Fn(&DateTime<Tz>) -> (i32, u32, u32);

/// How many of each period to keep (`backup.keep`, `backup.keep_weekly`, `backup.keep_monthly`).
#[derive(Debug, Clone, Copy)]
pub struct Keep {
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

/// The ids to prune among `snaps` (id, time). Snapshots whose time does not parse are kept.
pub fn to_prune(snaps: &[(String, Option<DateTime<Utc>>)], keep: Keep, tz: Tz) -> Vec<String> {
    let mut dated: Vec<(&String, DateTime<Tz>)> = snaps
        .iter()
        .filter_map(|(id, t)| t.map(|t| (id, t.with_timezone(&tz))))
        .collect();
    // Newest first; the id breaks ties (two in one second: `-2` is the later).
    dated.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(a.0)));
    let mut kept: BTreeSet<&String> = BTreeSet::new();
    if let Some((id, _)) = dated.first() {
        kept.insert(id);
    }
    let mut bucket = |n: u32, key: &PeriodOf| {
        let mut seen = BTreeSet::new();
        for (id, t) in &dated {
            if seen.len() >= n as usize {
                break;
            }
            if seen.insert(key(t)) {
                kept.insert(id);
            }
        }
    };
    bucket(keep.daily, &|t| (t.year(), t.ordinal(), 0));
    bucket(keep.weekly, &|t| {
        let w = t.iso_week();
        (w.year(), w.week(), 1)
    });
    bucket(keep.monthly, &|t| (t.year(), t.month(), 2));
    dated
        .iter()
        .filter(|(id, _)| !kept.contains(id))
        .map(|(id, _)| (*id).clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_year_of_nightly_snapshots_keeps_seven_days_four_weeks_six_months() {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 3, 0, 0).unwrap();
        let snaps: Vec<(String, Option<DateTime<Utc>>)> = (0..365)
            .map(|d| {
                let t = start + chrono::Duration::days(d);
                (super::super::id_for(t), Some(t))
            })
            .collect();
        let keep = Keep {
            daily: 7,
            weekly: 4,
            monthly: 6,
        };
        let pruned: BTreeSet<String> = to_prune(&snaps, keep, chrono_tz::UTC).into_iter().collect();
        let kept: Vec<&String> = snaps
            .iter()
            .map(|(id, _)| id)
            .filter(|id| !pruned.contains(*id))
            .collect();
        // Days 25-31 Dec; the newest of ISO weeks 2026-W53 (31 Dec), W52, W51, W50 (Sundays
        // 27, 20, 13 Dec); month ends 31 Dec, 30 Nov, 31 Oct, 30 Sep, 31 Aug, 31 Jul.
        let want = [
            "20260731T030000Z",
            "20260831T030000Z",
            "20260930T030000Z",
            "20261031T030000Z",
            "20261130T030000Z",
            "20261213T030000Z",
            "20261220T030000Z",
            "20261225T030000Z",
            "20261226T030000Z",
            "20261227T030000Z",
            "20261228T030000Z",
            "20261229T030000Z",
            "20261230T030000Z",
            "20261231T030000Z",
        ];
        assert_eq!(kept, want.iter().collect::<Vec<_>>());
    }
}
