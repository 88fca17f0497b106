//! The owner's content calendar (`policy.content_calendar`, default `Content_Calendar.md`):
//! each list item `- YYYY-MM-DD HH:MM platform: text` is a post the owner wrote. When it is
//! due, `process-inbox` turns it into an item with `source: calendar:...`, the only kind of
//! social post the policy lets run without approval. Entries inside HTML comments are ignored.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

/// One post of the calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarEntry {
    /// When it is due, in UTC.
    pub due: chrono::DateTime<chrono::Utc>,
    /// As written (`2026-12-01 09:00`).
    pub when: String,
    pub platform: String,
    pub text: String,
    /// The whole line, for the entry's stable id.
    pub line: String,
}

use crate::actions::social_post::PLATFORMS;

/// Parses every well-formed entry; other lines are prose and are skipped.
pub fn parse(text: &str, tz: Tz) -> Vec<CalendarEntry> {
    let mut out = Vec::new();
    let mut in_comment = false;
    for raw in text.lines() {
        let line = raw.trim();
        if in_comment {
            if line.contains("-->") {
                in_comment = false;
            }
            continue;
        }
        if line.starts_with("<!--") {
            in_comment = !line.contains("-->");
            continue;
        }
        let Some(rest) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) else {
            continue;
        };
        let rest = rest.trim_start_matches("[ ] ").trim();
        let mut words = rest.splitn(3, ' ');
        let Some(date) = words
            .next()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            continue;
        };
        let second = words.next().unwrap_or("");
        let (time, tail) = match NaiveTime::parse_from_str(second, "%H:%M") {
            Ok(t) => (t, words.next().unwrap_or("").to_string()),
            Err(_) => (
                NaiveTime::from_hms_opt(9, 0, 0).expect("invariant: valid time"),
                format!("{second} {}", words.next().unwrap_or("")),
            ),
        };
        let Some((platform, post)) = tail.split_once(':') else {
            continue;
        };
        let platform = platform.trim().to_lowercase();
        let post = post.trim();
        if !PLATFORMS.contains(&platform.as_str()) || post.is_empty() {
            continue;
        }
        let Some(due) = tz
            .from_local_datetime(&NaiveDateTime::new(date, time))
            .earliest()
            .map(|t| t.with_timezone(&chrono::Utc))
        else {
            continue;
        };
        out.push(CalendarEntry {
            due,
            when: format!("{} {}", date.format("%Y-%m-%d"), time.format("%H:%M")),
            platform,
            text: post.to_string(),
            line: line.to_string(),
        });
    }
    out
}

/// The `source` of the item an entry becomes (`calendar:<when> <platform>`): what ties the
/// item to its line.
pub fn source_of(e: &CalendarEntry) -> String {
    format!("calendar:{} {}", e.when, e.platform)
}

/// The id of the item an entry becomes: stable for its line, so the line becomes one item
/// once, and a post of it that ran cannot run again as another item.
pub fn item_id(e: &CalendarEntry) -> String {
    crate::vault::item::make_id(
        &format!("calendar {} {}", e.when, e.platform),
        &[e.line.as_bytes()],
    )
}

/// What an item claims to be: a post of the owner's calendar.
pub struct Claim<'a> {
    /// The item's id.
    pub id: &'a str,
    /// Its `source` (`calendar:<when> <platform>`).
    pub source: &'a str,
    pub platform: &'a str,
    /// Its `post_text`.
    pub text: &'a str,
}

/// Whether the calendar `text` holds the post `claim` says it is, as the owner wrote it and
/// due by `now`: the same line (the item's id is the line's), platform and text. An item is
/// data anyone who can write the vault may have written: its `calendar:` source alone is
/// not the owner's word, nor is an item of a line not due yet, nor a second item of a line.
pub fn holds(text: &str, tz: Tz, claim: &Claim, now: chrono::DateTime<chrono::Utc>) -> bool {
    parse(text, tz).iter().any(|e| {
        e.due <= now
            && item_id(e) == claim.id
            && source_of(e) == claim.source
            && e.platform == claim.platform.trim()
            && e.text.trim() == claim.text.trim()
    })
}

#[cfg(test)]
mod tests {
    /// An item is the owner's post only when the calendar holds its line as written.
    #[test]
    fn the_calendar_holds_a_post_as_written_only() {
        let cal = "- 2026-12-01 09:00 x: Hello there\n";
        let tz: Tz = "UTC".parse().unwrap();
        let entry = &parse(cal, tz)[0];
        let id = item_id(entry);
        let claim = |id, source, platform, text| Claim {
            id,
            source,
            platform,
            text,
        };
        let src = "calendar:2026-12-01 09:00 x";
        let due = entry.due;
        let later = due + chrono::Duration::hours(1);
        assert!(holds(cal, tz, &claim(&id, src, "x", "Hello there"), later));
        assert!(holds(cal, tz, &claim(&id, src, "x", "Hello there"), due));
        // Not due yet, another item of the line, another text, platform or time.
        let early = due - chrono::Duration::minutes(1);
        assert!(!holds(cal, tz, &claim(&id, src, "x", "Hello there"), early));
        assert!(!holds(
            cal,
            tz,
            &claim("other-id", src, "x", "Hello there"),
            later
        ));
        assert!(!holds(cal, tz, &claim(&id, src, "x", "Buy now"), later));
        assert!(!holds(
            cal,
            tz,
            &claim(&id, src, "linkedin", "Hello there"),
            later
        ));
        let moved = "calendar:2026-12-02 09:00 x";
        assert!(!holds(
            cal,
            tz,
            &claim(&id, moved, "x", "Hello there"),
            later
        ));
        assert!(!holds("", tz, &claim(&id, src, "x", "Hello there"), later));
    }

    use super::*;

    #[test]
    fn entries_outside_comments_with_a_known_platform() {
        let text = "# Calendar\n<!-- Example:\n- 2026-01-01 09:00 linkedin: commented out\n-->\n- 2026-12-01 09:30 LinkedIn: We are hiring!\n- 2026-12-02 x: Morning post\n- 2026-12-03 10:00 myspace: nope\n- not a date: x\n";
        let e = parse(text, chrono_tz::Europe::Berlin);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].platform, "linkedin");
        assert_eq!(e[0].text, "We are hiring!");
        assert_eq!(e[0].due.to_rfc3339(), "2026-12-01T08:30:00+00:00");
        assert_eq!(e[1].when, "2026-12-02 09:00");
    }
}
