//! How hard a connector tries: its [`RetryPolicy`], its [`Verdict`] on a failed answer, the
//! server's requested delay and the backoff with jitter.

use super::{GaveUp, HttpError, Reply};
use std::time::Duration;

/// How hard one connector tries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; it doubles each retry up to `max_backoff`.
    pub initial: Duration,
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is ignored (the backoff is used).
    pub max_retry_after: Duration,
    /// Total waiting one client may do in a run without a deadline.
    pub max_total_wait: Duration,
}

impl RetryPolicy {
    /// No retry: a failure is reported as it came (a check, which the next pass repeats).
    pub const NONE: RetryPolicy = RetryPolicy {
        max_retries: 0,
        initial: Duration::from_millis(100),
        max_backoff: Duration::from_millis(100),
        max_retry_after: Duration::ZERO,
        max_total_wait: Duration::ZERO,
    };
    /// The language-model SDKs' rules: 2 retries, 0.5 s doubling to 8 s, `Retry-After` up to
    /// 60 s.
    pub const LLM: RetryPolicy = RetryPolicy {
        max_retries: 2,
        initial: Duration::from_millis(500),
        max_backoff: Duration::from_secs(8),
        max_retry_after: Duration::from_secs(60),
        max_total_wait: Duration::from_secs(180),
    };
    /// Google's advice for Gmail: exponential backoff up to 64 s, 6 attempts, and no more
    /// than 3 minutes of waiting in a run.
    pub const GOOGLE: RetryPolicy = RetryPolicy {
        max_retries: 5,
        initial: Duration::from_millis(1000),
        max_backoff: Duration::from_secs(64),
        max_retry_after: Duration::from_secs(64),
        max_total_wait: Duration::from_secs(180),
    };
}

/// A connector's verdict on an answer that is not a success.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Try again, after this delay (None: the server's `Retry-After`, else backoff).
    Retry(Option<Duration>),
    /// Return the answer to the connector as [`HttpError::Status`].
    Stop,
}

/// How a connector judges a failed answer.
pub type Judge<'j> = &'j dyn Fn(&Reply) -> Verdict;

/// The usual judgement: 408, 429 and 5xx are retried.
pub fn retry_usual(r: &Reply) -> Verdict {
    if matches!(r.status, 408 | 429) || r.status >= 500 {
        Verdict::Retry(None)
    } else {
        Verdict::Stop
    }
}

/// `err` noting why it was not retried further.
pub(super) fn gave_up(err: HttpError, why: GaveUp) -> HttpError {
    match err {
        HttpError::Status {
            code,
            body,
            retry_after,
            ..
        } => HttpError::Status {
            code,
            body,
            retry_after,
            gave_up: Some(why),
        },
        HttpError::Unreachable(m) => HttpError::Unreachable(format!("{m} ({why})")),
        HttpError::Timeout(m) => HttpError::Timeout(format!("{m} ({why})")),
        HttpError::BrokenAfterSend(m) => HttpError::BrokenAfterSend(format!("{m} ({why})")),
    }
}

/// The server's requested delay: `retry-after-ms`, else `retry-after` in seconds or as an
/// HTTP date. None when it is absent, unreadable, or not in the future.
pub fn retry_after(ms: Option<&str>, secs: Option<&str>) -> Option<Duration> {
    let seconds = ms
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v / 1000.0)
        .or_else(|| secs.and_then(|v| v.trim().parse::<f64>().ok()))
        .or_else(|| {
            let date = chrono::DateTime::parse_from_rfc2822(secs?.trim()).ok()?;
            let left = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
            Some(left.num_milliseconds() as f64 / 1000.0)
        })?;
    // At most a day: a larger number is a mistake, and Duration would overflow on inf.
    (seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0)
        .then(|| Duration::from_secs_f64(seconds))
}

/// Exponential backoff after `done` retries: `min(initial * 2^done, max_backoff)`, times a
/// jitter factor between 0.75 and 1 (`jitter` in 0..1), so clients that failed together do
/// not come back together.
pub fn backoff(p: &RetryPolicy, done: u32, jitter: f64) -> Duration {
    let base = p
        .initial
        .saturating_mul(1u32 << done.min(16))
        .min(p.max_backoff);
    base.mul_f64(1.0 - 0.25 * jitter.clamp(0.0, 1.0))
}

/// A number in 0..1 that differs from call to call (std's randomly seeded hasher).
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_milliseconds_and_http_dates() {
        assert_eq!(retry_after(None, Some("17")), Some(Duration::from_secs(17)));
        assert_eq!(
            retry_after(Some("250"), Some("3")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(None, Some("0.5")),
            Some(Duration::from_millis(500))
        );
        for bad in ["0", "-3", "soon", "inf", "100000"] {
            assert_eq!(retry_after(None, Some(bad)), None, "{bad}");
        }
        assert_eq!(retry_after(None, None), None);
        let in_5s = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc2822();
        let d = retry_after(None, Some(&in_5s)).unwrap();
        assert!(
            d > Duration::from_secs(3) && d <= Duration::from_secs(5),
            "{d:?}"
        );
        let past = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc2822();
        assert_eq!(retry_after(None, Some(&past)), None);
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_jitter_only_shortens_it_by_a_quarter() {
        let p = RetryPolicy::LLM;
        assert_eq!(backoff(&p, 0, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(&p, 1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(&p, 5, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(&p, 40, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(&p, 0, 1.0), Duration::from_millis(375));
        for _ in 0..200 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
            let b = backoff(&RetryPolicy::GOOGLE, 2, j);
            assert!(
                b > Duration::from_secs(3) && b <= Duration::from_secs(4),
                "{b:?}"
            );
        }
    }
}
