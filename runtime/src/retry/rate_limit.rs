//! Documented rate limits, and the pacing that keeps a client's calls within them.
//!
//! Feishu counts calls per endpoint, app and tenant, and answers 429 (code 99991400) past
//! the limit its page states. With [`ClientBuilder::pace_rate_limits`] a call waits for its
//! turn instead: no endpoint gets more calls from this client in any window than its
//! quotas allow. Calls by other processes with the same app are not seen.
//!
//! [`ClientBuilder::pace_rate_limits`]: crate::ClientBuilder::pace_rate_limits

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One documented quota: at most `requests` calls in each window of `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// How many calls a window allows.
    pub requests: u32,
    /// The window's length.
    pub window: Duration,
}

impl Quota {
    /// `requests` calls in each `window_secs` seconds (`100 次/分钟` is `Quota::new(100, 60)`).
    pub const fn new(requests: u32, window_secs: u64) -> Quota {
        Quota {
            requests,
            window: Duration::from_secs(window_secs),
        }
    }
}

/// The window a call's request takes to reach Feishu varies: calls spaced exactly one
/// window apart when sent may land closer together. Each window is paced this much
/// longer (a twentieth) so that they do not.
const MARGIN_DIVISOR: u32 = 20;

/// Past this many keys (endpoints × tenants), a turn also forgets the keys whose calls
/// have all left their windows, so a client serving many tenants stays bounded.
const SWEEP_AT: usize = 1024;

/// The calls each endpoint and tenant made within its longest window.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    sent: Mutex<HashMap<(&'static str, Option<String>), Log>>,
}

/// One key's calls, oldest first, as long as they are within `window`, its longest.
#[derive(Debug, Default)]
struct Log {
    window: Duration,
    times: VecDeque<Instant>,
}

impl Pacer {
    /// Waits until a call to `endpoint` for `tenant` fits within every quota, and counts
    /// it. Without quotas it returns at once.
    pub(crate) async fn wait_turn(
        &self,
        endpoint: &'static str,
        tenant: Option<&str>,
        quotas: &[Quota],
    ) {
        if quotas.is_empty() {
            return;
        }
        let key = (endpoint, tenant.map(str::to_owned));
        while let Some(wait) = self.try_take(&key, quotas, Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }

    /// Counts a call at `now` if every quota has room, else says how long until one
    /// would.
    fn try_take(
        &self,
        key: &(&'static str, Option<String>),
        quotas: &[Quota],
        now: Instant,
    ) -> Option<Duration> {
        let mut sent = self
            .sent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if sent.len() >= SWEEP_AT {
            sent.retain(|_, log| {
                log.times
                    .back()
                    .is_some_and(|last| now.duration_since(*last) < log.window)
            });
        }
        let log = sent.entry(key.clone()).or_default();
        log.window = paced(quotas.iter().map(|q| q.window).max().unwrap_or_default());
        while log
            .times
            .front()
            .is_some_and(|first| now.duration_since(*first) >= log.window)
        {
            log.times.pop_front();
        }
        let wait = quotas
            .iter()
            .filter_map(|quota| room_in(&log.times, quota, now))
            .max();
        if wait.is_none() {
            log.times.push_back(now);
        }
        wait
    }
}

/// How long until `quota` has room for one more call, None if it has room now.
fn room_in(times: &VecDeque<Instant>, quota: &Quota, now: Instant) -> Option<Duration> {
    let window = paced(quota.window);
    let in_window = times
        .iter()
        .rev()
        .take_while(|t| now.duration_since(**t) < window)
        .count();
    let requests = quota.requests.max(1) as usize;
    if in_window < requests {
        return None;
    }
    // The call that must leave the window before one more fits.
    let leaving = times[times.len() - requests];
    Some((leaving + window).saturating_duration_since(now))
}

fn paced(window: Duration) -> Duration {
    window + window / MARGIN_DIVISOR
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: (&str, Option<String>) = ("im.v1.message.create", None);

    #[test]
    fn a_quota_lets_its_calls_through_then_says_when_the_next_fits() {
        let pacer = Pacer::default();
        let quotas = [Quota::new(3, 1)];
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(pacer.try_take(&KEY, &quotas, start), None);
        }
        let wait = pacer
            .try_take(&KEY, &quotas, start)
            .expect("the fourth waits");
        assert_eq!(wait, paced(Duration::from_secs(1)));
        let later = start + paced(Duration::from_secs(1));
        assert_eq!(pacer.try_take(&KEY, &quotas, later), None, "a window on");
    }

    #[test]
    fn every_quota_counts_and_the_longest_wait_wins() {
        let pacer = Pacer::default();
        let quotas = [Quota::new(4, 60), Quota::new(2, 1)];
        let start = Instant::now();
        let second = paced(Duration::from_secs(1));
        assert_eq!(pacer.try_take(&KEY, &quotas, start), None);
        assert_eq!(pacer.try_take(&KEY, &quotas, start), None);
        assert_eq!(pacer.try_take(&KEY, &quotas, start), Some(second));
        assert_eq!(pacer.try_take(&KEY, &quotas, start + second), None);
        assert_eq!(pacer.try_take(&KEY, &quotas, start + second), None);
        let minute = paced(Duration::from_secs(60));
        assert_eq!(
            pacer.try_take(&KEY, &quotas, start + second),
            Some(minute - second),
            "the per-minute quota is used up"
        );
    }

    #[test]
    fn endpoints_and_tenants_are_counted_apart() {
        let pacer = Pacer::default();
        let quotas = [Quota::new(1, 1)];
        let now = Instant::now();
        assert_eq!(pacer.try_take(&KEY, &quotas, now), None);
        let tenant = ("im.v1.message.create", Some("t1".to_owned()));
        assert_eq!(pacer.try_take(&tenant, &quotas, now), None);
        let other = ("im.v1.message.get", None);
        assert_eq!(pacer.try_take(&other, &quotas, now), None);
        assert!(pacer.try_take(&KEY, &quotas, now).is_some());
    }

    #[test]
    fn keys_whose_calls_left_their_windows_are_forgotten() {
        let pacer = Pacer::default();
        let quotas = [Quota::new(1, 1)];
        let start = Instant::now();
        for tenant in 0..SWEEP_AT {
            let key = ("im.v1.message.create", Some(tenant.to_string()));
            assert_eq!(pacer.try_take(&key, &quotas, start), None);
        }
        let later = start + Duration::from_secs(2);
        assert_eq!(pacer.try_take(&KEY, &quotas, later), None);
        assert_eq!(
            pacer.sent.lock().unwrap().len(),
            1,
            "only the live key is kept"
        );
    }
}
