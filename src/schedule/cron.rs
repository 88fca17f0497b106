//! The cron expression engine: parse a 5-field expression, find its next firing time in a
//! time zone, and render it as a systemd `OnCalendar=`. Pure: no files, no clock of its own.

use anyhow::Result;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;

/// A 5-field cron expression (`minute hour day-of-month month day-of-week`), with lists,
/// ranges, steps, month and day names, and the `@daily`-style shorthands. As in Vixie cron,
/// when both day fields are restricted a day matching either one fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// The five fields, normalised (shorthands expanded).
    pub text: String,
    minutes: u64,
    hours: u32,
    /// Bits 1..=31.
    days: u32,
    /// Bits 1..=12.
    months: u16,
    /// Bits 0..=6, Sunday is 0.
    weekdays: u8,
    days_star: bool,
    weekdays_star: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const SYSTEMD_WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

fn parse_field(field: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let value = |s: &str| -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + if names.len() == 12 { 1 } else { 0 });
        }
        let v: u32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
        if v < min || v > max {
            return Err(format!("`{v}` is outside {min}-{max}"));
        }
        Ok(v)
    };
    let mut bits = 0u64;
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| format!("step `{s}` is not a number"))?;
                if step == 0 {
                    return Err("a step of 0 never fires".into());
                }
                (r, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if step > 1 { max } else { v })
        };
        if lo > hi {
            return Err(format!("range `{range}` runs backwards"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

impl Cron {
    /// Parses an expression. Errors say which field is wrong.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let expr = expr.trim();
        let expanded = match expr {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            e if e.starts_with('@') => return Err(format!("`{e}` is not a known shorthand")),
            e => e,
        };
        let f: Vec<&str> = expanded.split_whitespace().collect();
        if f.len() != 5 {
            return Err(format!("expected 5 fields, found {}", f.len()));
        }
        let field = |i: usize, name: &str, min, max, names: &[&str]| {
            parse_field(f[i], min, max, names).map_err(|e| format!("{name} field: {e}"))
        };
        let minutes = field(0, "minute", 0, 59, &[])?;
        let hours = field(1, "hour", 0, 23, &[])? as u32;
        let days = field(2, "day-of-month", 1, 31, &[])? as u32;
        let months = field(3, "month", 1, 12, &MONTHS)? as u16;
        let mut wd = field(4, "day-of-week", 0, 7, &WEEKDAYS)?;
        if wd & (1 << 7) != 0 {
            wd = (wd & 0x7f) | 1;
        }
        Ok(Cron {
            text: f.join(" "),
            minutes,
            hours,
            days,
            months,
            weekdays: wd as u8,
            days_star: f[2].starts_with('*'),
            weekdays_star: f[4].starts_with('*'),
        })
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        if self.months & (1 << d.month()) == 0 {
            return false;
        }
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().num_days_from_sunday()) != 0;
        if self.days_star || self.weekdays_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// Whether the schedule fires at `t` (a whole minute), read in `tz`; a local time that a
    /// clock change repeats fires at its first instance only, as [`Cron::next_after`] says.
    pub fn matches(&self, t: DateTime<Utc>, tz: Tz) -> bool {
        use chrono::TimeZone;
        let local = t.with_timezone(&tz);
        t.second() == 0
            && t.nanosecond() == 0
            && self.minutes & (1u64 << local.minute()) != 0
            && self.hours & (1 << local.hour()) != 0
            && self.day_matches(local.date_naive())
            && tz
                .from_local_datetime(&local.naive_local())
                .earliest()
                .is_some_and(|first| first.with_timezone(&Utc) == t)
    }

    /// The first time strictly after `t` that the schedule fires, read in `tz` (a local time
    /// skipped by a clock change does not fire; a repeated one fires at its first instance).
    /// None when it never fires within five years (such as `0 0 31 2 *`).
    pub fn next_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        use chrono::TimeZone;
        let local = t.with_timezone(&tz).naive_local();
        let start = local
            .with_second(0)
            .and_then(|l| l.with_nanosecond(0))
            .unwrap_or(local)
            + Duration::minutes(1);
        let mut day = start.date();
        for _ in 0..(366 * 5) {
            if self.day_matches(day) {
                for h in (0..24).filter(|h| self.hours & (1 << h) != 0) {
                    for m in (0..60).filter(|m| self.minutes & (1u64 << m) != 0) {
                        let Some(naive) = day.and_hms_opt(h, m, 0) else {
                            continue;
                        };
                        if naive < start - Duration::hours(3) {
                            continue;
                        }
                        let Some(at) = tz.from_local_datetime(&naive).earliest() else {
                            continue;
                        };
                        let at = at.with_timezone(&Utc);
                        if at > t {
                            return Some(at);
                        }
                    }
                }
            }
            day = day.succ_opt()?;
        }
        None
    }

    /// The gap between the next two firings after `t`: the job's period there.
    pub fn period_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<Duration> {
        let a = self.next_after(t, tz)?;
        let b = self.next_after(a, tz)?;
        Some(b - a)
    }

    /// The systemd `OnCalendar=` values for this schedule in the zone named `tz` (two when
    /// both day fields are restricted, since cron fires on either).
    pub fn on_calendar(&self, tz: &str) -> Vec<String> {
        let minute = render(self.minutes, 0, 59);
        let hour = render(self.hours as u64, 0, 23);
        let month = render(self.months as u64, 1, 12);
        let days = render(self.days as u64, 1, 31);
        let weekdays: Vec<&str> = (0..7)
            .map(|i| (i + 1) % 7)
            .filter(|i| self.weekdays & (1 << i) != 0)
            .map(|i| SYSTEMD_WEEKDAYS[i])
            .collect();
        let line = |dow: Option<&str>, dom: &str| {
            let prefix = dow.map(|d| format!("{d} ")).unwrap_or_default();
            format!("{prefix}*-{month}-{dom} {hour}:{minute}:00 {tz}")
        };
        let dow = weekdays.join(",");
        match (self.days_star, self.weekdays_star) {
            (true, true) => vec![line(None, "*")],
            (false, true) => vec![line(None, &days)],
            (true, false) => vec![line(Some(&dow), "*")],
            (false, false) => vec![line(None, &days), line(Some(&dow), "*")],
        }
    }
}

/// A set of values as systemd writes it: `*`, `start/step`, or a comma list, two digits each.
fn render(bits: u64, min: u32, max: u32) -> String {
    let vals: Vec<u32> = (min..=max).filter(|v| bits & (1u64 << v) != 0).collect();
    if vals.len() as u32 == max - min + 1 {
        return "*".into();
    }
    if vals.len() >= 3 {
        let step = vals[1] - vals[0];
        let regular = vals.windows(2).all(|w| w[1] - w[0] == step);
        if regular && step > 1 && vals[vals.len() - 1] + step > max {
            return format!("{:02}/{step}", vals[0]);
        }
    }
    vals.iter()
        .map(|v| format!("{v:02}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        crate::clock::parse_time(s).unwrap()
    }

    #[test]
    fn next_fire_in_the_vault_zone() {
        let c = Cron::parse("*/2 * * * *").unwrap();
        assert_eq!(
            c.next_after(t("2026-11-23T09:00:00Z"), Tz::UTC),
            Some(t("2026-11-23T09:02:00Z"))
        );
        assert_eq!(
            c.next_after(t("2026-11-23T09:01:30Z"), Tz::UTC),
            Some(t("2026-11-23T09:02:00Z"))
        );
        let monday = Cron::parse("0 7 * * mon").unwrap();
        let karachi: Tz = "Asia/Karachi".parse().unwrap();
        // Sunday 2026-11-22 is before Monday 07:00 in Karachi (02:00 UTC).
        assert_eq!(
            monday.next_after(t("2026-11-22T12:00:00Z"), karachi),
            Some(t("2026-11-23T02:00:00Z"))
        );
        assert_eq!(
            monday.period_after(t("2026-11-22T12:00:00Z"), karachi),
            Some(Duration::days(7))
        );
        // 02:30 does not exist in Berlin on 2026-03-29: that day does not fire.
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let c = Cron::parse("30 2 * * *").unwrap();
        assert_eq!(
            c.next_after(t("2026-03-28T12:00:00Z"), berlin),
            Some(t("2026-03-30T00:30:00Z"))
        );
        assert_eq!(
            Cron::parse("0 0 31 2 *")
                .unwrap()
                .next_after(t("2026-01-01T00:00:00Z"), Tz::UTC),
            None
        );
    }

    #[test]
    fn either_day_field_fires_when_both_are_restricted() {
        let c = Cron::parse("0 0 1 * fri").unwrap();
        // 2026-11-27 is a Friday, before December 1st.
        assert_eq!(
            c.next_after(t("2026-11-23T00:00:00Z"), Tz::UTC),
            Some(t("2026-11-27T00:00:00Z"))
        );
        assert_eq!(
            c.on_calendar("UTC"),
            vec!["*-*-01 00:00:00 UTC", "Fri *-*-* 00:00:00 UTC"]
        );
    }

    #[test]
    fn on_calendar_forms() {
        let oc = |e: &str| Cron::parse(e).unwrap().on_calendar("Europe/Berlin");
        assert_eq!(oc("*/2 * * * *"), vec!["*-*-* *:00/2:00 Europe/Berlin"]);
        assert_eq!(oc("0 7 * * 1"), vec!["Mon *-*-* 07:00:00 Europe/Berlin"]);
        assert_eq!(oc("30 2 * * *"), vec!["*-*-* 02:30:00 Europe/Berlin"]);
        assert_eq!(
            oc("0 9-17/4 * * 1-5"),
            vec!["Mon,Tue,Wed,Thu,Fri *-*-* 09,13,17:00:00 Europe/Berlin"]
        );
        assert_eq!(oc("@monthly"), vec!["*-*-01 00:00:00 Europe/Berlin"]);
        assert_eq!(oc("0 0 * * 7"), vec!["Sun *-*-* 00:00:00 Europe/Berlin"]);
        assert_eq!(
            oc("0 0 * jan,jul *"),
            vec!["*-01,07-* 00:00:00 Europe/Berlin"]
        );
    }

    #[test]
    fn bad_expressions() {
        for e in [
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "*/0 * * * *",
            "5-1 * * * *",
            "@reboot",
            "x * * * *",
        ] {
            assert!(Cron::parse(e).is_err(), "{e}");
        }
    }
}
