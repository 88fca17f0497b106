//! The clock aie writes and schedules by: real time, or pinned by `AIE_NOW` for tests,
//! read in the vault's `timezone`. File ages on disk are judged by the real clock elsewhere.

use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use chrono_tz::Tz;

/// A clock that is either pinned or real, with the owner's time zone.
#[derive(Debug, Clone)]
pub struct Clock {
    pinned: Option<DateTime<Utc>>,
    tz: Tz,
}

impl Clock {
    /// A clock pinned at `now` when given (an RFC 3339 string), else the real one.
    /// Errors when `now` does not parse or `tz` is not an IANA zone name.
    pub fn new(now: Option<&str>, tz: &str) -> Result<Clock> {
        let pinned = match now {
            Some(s) if !s.trim().is_empty() => Some(
                DateTime::parse_from_rfc3339(s.trim())
                    .with_context(|| format!("AIE_NOW `{s}` is not an RFC 3339 time"))?
                    .with_timezone(&Utc),
            ),
            _ => None,
        };
        let tz: Tz = tz
            .parse()
            .map_err(|_| anyhow::anyhow!("timezone `{tz}` is not an IANA time zone name"))?;
        Ok(Clock { pinned, tz })
    }

    /// Now, in UTC.
    pub fn now(&self) -> DateTime<Utc> {
        self.pinned.unwrap_or_else(Utc::now)
    }

    /// The configured time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Now, as RFC 3339 with seconds, in the owner's zone.
    pub fn stamp(&self) -> String {
        self.format(self.now())
    }

    /// A UTC instant as RFC 3339 in the owner's zone.
    pub fn format(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz)
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// Today's date (YYYY-MM-DD) in the owner's zone: names the day's audit log.
    pub fn today(&self) -> String {
        self.now()
            .with_timezone(&self.tz)
            .format("%Y-%m-%d")
            .to_string()
    }
}

/// Parses an RFC 3339 time as written in items and state.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::<FixedOffset>::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Parses a duration such as `24h`, `90m`, `30s`, `2d` or a bare number of seconds; None
/// beyond 100 years, so that no setting can make a date out of range (chrono panics there).
pub fn parse_duration(s: &str) -> Option<chrono::Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, "s"),
    };
    let n: i64 = num.parse().ok()?;
    let d = match unit {
        "s" | "sec" | "secs" | "seconds" => chrono::Duration::try_seconds(n),
        "m" | "min" | "mins" | "minutes" => chrono::Duration::try_minutes(n),
        "h" | "hour" | "hours" => chrono::Duration::try_hours(n),
        "d" | "day" | "days" => chrono::Duration::try_days(n),
        "w" | "week" | "weeks" => chrono::Duration::try_weeks(n),
        _ => None,
    }?;
    (d <= chrono::Duration::days(36_525)).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_clock_formats_in_zone() {
        let c = Clock::new(Some("2026-11-22T23:30:00Z"), "Asia/Karachi").unwrap();
        assert_eq!(c.stamp(), "2026-11-23T04:30:00+05:00");
        assert_eq!(c.today(), "2026-11-23");
    }

    /// `approval_expires: 99999999999999w` panicked in chrono as every command read aie.yaml.
    #[test]
    fn durations_out_of_range_are_refused_not_a_panic() {
        assert_eq!(parse_duration("2d"), Some(chrono::Duration::days(2)));
        assert_eq!(parse_duration("100w"), Some(chrono::Duration::weeks(100)));
        assert_eq!(parse_duration("99999999999999w"), None);
        assert_eq!(parse_duration("9223372036854775807s"), None);
        assert_eq!(parse_duration("5300w"), None);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(Clock::new(Some("yesterday"), "UTC").is_err());
        assert!(Clock::new(None, "Mars/Olympus").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Some(chrono::Duration::hours(24)));
        assert_eq!(parse_duration("90"), Some(chrono::Duration::seconds(90)));
        assert_eq!(parse_duration("2 d"), Some(chrono::Duration::days(2)));
        assert_eq!(parse_duration("soon"), None);
    }
}
