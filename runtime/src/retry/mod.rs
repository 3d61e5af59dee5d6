//! When a failed attempt is tried again, and how long the client waits before it does;
//! and, in [`rate_limit`], pacing calls within the documented rate limits.

pub(crate) mod rate_limit;

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::wire::RATE_LIMIT_RESET_HEADER;

/// How a call retries. Set per client with
/// [`ClientBuilder::retry`](crate::client::ClientBuilder::retry) and per call with
/// [`Call::retry`](crate::call::Call::retry).
///
/// - A rate-limited attempt (HTTP 429, or code 99991400 under any status) is retried after
///   the `x-ogw-ratelimit-reset` seconds the gateway gives, plus up to
///   [`max_jitter`](Self::max_jitter), or after an exponential backoff when the header is
///   absent.
/// - A 5xx answer or a lost connection is retried, after a backoff, only when repeating
///   the request is safe: GET, PUT and DELETE, or any method with
///   [`retry_non_idempotent`](Self::retry_non_idempotent). A request that never reached
///   the server (connection refused) is always safe to repeat.
/// - No wait runs past the call's deadline ([`Call::timeout`](crate::call::Call::timeout) or
///   [`ClientBuilder::call_timeout`](crate::client::ClientBuilder::call_timeout)): a call that
///   would have to wait longer fails at once.
///
/// A call whose access token Feishu refuses as invalid or expired is not a retry in this
/// sense: the client drops the token, fetches a new one and repeats the call once, also
/// with retries off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The attempts a call makes at most, the first included (default 3); 1 turns
    /// retries off.
    pub max_attempts: u32,
    /// Whether a POST or PATCH that got a 5xx or lost its connection is sent again
    /// (default false: it may have taken effect).
    pub retry_non_idempotent: bool,
    /// The first backoff (default 200 ms); each further one doubles, up to
    /// [`max_backoff`](Self::max_backoff).
    pub initial_backoff: Duration,
    /// The longest backoff (default 10 s).
    pub max_backoff: Duration,
    /// The longest rate-limit wait the client accepts (default 60 s); a reset further
    /// away fails the call with [`Error::RateLimited`](crate::error::Error::RateLimited).
    pub max_rate_limit_wait: Duration,
    /// The most random time added to a wait (default 500 ms), so that clients that were
    /// limited together do not all come back at the same instant.
    pub max_jitter: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            retry_non_idempotent: false,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_rate_limit_wait: Duration::from_secs(60),
            max_jitter: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// No retries: every call makes one attempt (plus the one repeat after a refused token).
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The backoff before attempt `attempt + 1`, jitter included.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self
            .initial_backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let base = doubled.min(self.max_backoff);
        // Half fixed, half random: retries spread out but never come back at once.
        base / 2 + random_up_to(base / 2)
    }

    /// The wait a rate-limited answer asks for: the reset the gateway gives, plus jitter;
    /// None when the header is missing or unreadable.
    pub(crate) fn rate_limit_wait(&self, headers: &HeaderMap) -> Option<Duration> {
        let reset = reset_after(headers)?;
        Some(reset.saturating_add(random_up_to(self.max_jitter)))
    }

    /// Refuses a policy that cannot work: no attempt at all, or a jitter longer than the
    /// longest wait the policy accepts.
    pub(crate) fn check(&self) -> Result<(), crate::error::Error> {
        if self.max_attempts == 0 {
            return Err(crate::error::Error::Config(
                "RetryPolicy::max_attempts must be at least 1".to_owned(),
            ));
        }
        if self.max_jitter > self.max_rate_limit_wait {
            return Err(crate::error::Error::Config(format!(
                "RetryPolicy::max_jitter ({:?}) must not be longer than max_rate_limit_wait ({:?})",
                self.max_jitter, self.max_rate_limit_wait
            )));
        }
        Ok(())
    }
}

/// The `x-ogw-ratelimit-reset` header as a duration.
pub(crate) fn reset_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RATE_LIMIT_RESET_HEADER)?.to_str().ok()?;
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)))
}

/// A uniformly random duration in `[0, max]`. The standard library's per-process random
/// hash keys, mixed with a counter, are random enough for spreading retries.
fn random_up_to(max: Duration) -> Duration {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if max.is_zero() {
        return Duration::ZERO;
    }
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let fraction = (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64;
    max.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first));
            let second = policy.backoff(2);
            assert!((Duration::from_millis(100)..=Duration::from_millis(200)).contains(&second));
            let capped = policy.backoff(30);
            assert!((Duration::from_millis(175)..=Duration::from_millis(350)).contains(&capped));
        }
    }

    #[test]
    fn reads_the_reset_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(reset_after(&headers), None);
        headers.insert(RATE_LIMIT_RESET_HEADER, "2".parse().unwrap());
        assert_eq!(reset_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(RATE_LIMIT_RESET_HEADER, "0.5".parse().unwrap());
        assert_eq!(reset_after(&headers), Some(Duration::from_millis(500)));
        headers.insert(RATE_LIMIT_RESET_HEADER, "soon".parse().unwrap());
        assert_eq!(reset_after(&headers), None);
        headers.insert(RATE_LIMIT_RESET_HEADER, "-1".parse().unwrap());
        assert_eq!(reset_after(&headers), None);

        let policy = RetryPolicy::default();
        headers.insert(RATE_LIMIT_RESET_HEADER, "1".parse().unwrap());
        for _ in 0..50 {
            let wait = policy.rate_limit_wait(&headers).unwrap();
            assert!((Duration::from_secs(1)..=Duration::from_millis(1500)).contains(&wait));
        }
    }
}
