//! Documented rate limits, and the pacing that keeps a client's calls within them.
//!
//! Feishu counts calls per endpoint, app and tenant, and answers 429 (code 99991400) past
//! the limit its page states. With [`ClientBuilder::pace_rate_limits`] a call waits for its
//! turn instead: no endpoint gets more calls from this client in any window than its
//! quotas allow. Calls by other processes with the same app are not seen.
//!
//! [`ClientBuilder::pace_rate_limits`]: crate::ClientBuilder::pace_rate_limits

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
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

/// A shard sweeps (forgets the keys whose calls have all left their windows) once it
/// holds this many keys, and after that once it has doubled since its last sweep: a
/// client serving many tenants stays bounded, and a sweep costs each call O(1) on average.
const SWEEP_AT: usize = 1024;

/// The keys are spread over this many locks, so that calls for different tenants seldom
/// wait for each other.
const SHARDS: usize = 16;

type Key = (&'static str, Option<String>);

/// The calls each endpoint and tenant made within its longest window.
#[derive(Debug)]
pub struct Pacer {
    shards: [Mutex<Shard>; SHARDS],
    hasher: RandomState,
}

#[derive(Debug)]
struct Shard {
    logs: HashMap<Key, Log>,
    /// The size at which the next sweep runs.
    sweep_at: usize,
    /// Keys looked at by sweeps so far, for the tests of its cost.
    #[cfg(test)]
    swept: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Shard {
            logs: HashMap::new(),
            sweep_at: SWEEP_AT,
            #[cfg(test)]
            swept: 0,
        }
    }
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            shards: std::array::from_fn(|_| Mutex::default()),
            hasher: RandomState::new(),
        }
    }
}

/// One key's calls, oldest first, as long as they are within `window`, its longest.
#[derive(Debug, Default)]
struct Log {
    window: Duration,
    times: VecDeque<Instant>,
}

impl Log {
    /// Whether a call is still within the window at `now`.
    fn is_live(&self, now: Instant) -> bool {
        self.times
            .back()
            .is_some_and(|last| now.duration_since(*last) < self.window)
    }
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

    /// Counts a call to `endpoint` for `tenant` now if every quota has room, else says how
    /// long until one would: one turn of [`wait_turn`](Self::wait_turn), for the
    /// benchmarks.
    #[doc(hidden)]
    pub fn take_turn(
        &self,
        endpoint: &'static str,
        tenant: Option<&str>,
        quotas: &[Quota],
    ) -> Option<Duration> {
        self.try_take(
            &(endpoint, tenant.map(str::to_owned)),
            quotas,
            Instant::now(),
        )
    }

    /// Counts a call at `now` if every quota has room, else says how long until one
    /// would.
    fn try_take(&self, key: &Key, quotas: &[Quota], now: Instant) -> Option<Duration> {
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        let mut shard = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if shard.logs.len() >= shard.sweep_at {
            shard.sweep(now);
        }
        let log = shard.logs.entry(key.clone()).or_default();
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

impl Shard {
    /// Forgets the keys whose calls have all left their windows, and sets the next sweep
    /// at twice the keys kept.
    fn sweep(&mut self, now: Instant) {
        #[cfg(test)]
        {
            self.swept += self.logs.len();
        }
        self.logs.retain(|_, log| log.is_live(now));
        self.sweep_at = SWEEP_AT.max(self.logs.len().saturating_mul(2));
    }
}

/// How long until `quota` has room for one more call, None if it has room now.
fn room_in(times: &VecDeque<Instant>, quota: &Quota, now: Instant) -> Option<Duration> {
    let window = paced(quota.window);
    // The times are in order: the calls within the window are the ones after the first
    // that is not (a binary search, as a key may hold thousands of calls).
    let in_window = times.len() - times.partition_point(|t| now.duration_since(*t) >= window);
    let requests = quota.requests.max(1) as usize;
    if in_window < requests {
        return None;
    }
    // The call that must leave the window before one more fits. A window too long for
    // the clock waits as long as it can be said.
    let leaving = times[times.len() - requests];
    Some(
        leaving
            .checked_add(window)
            .map_or(window, |free| free.saturating_duration_since(now)),
    )
}

fn paced(window: Duration) -> Duration {
    window.saturating_add(window / MARGIN_DIVISOR)
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
        // Each shard sweeps when it next reaches its threshold: drive every shard there
        // with fresh keys, all of them later than the first ones' window.
        let later = start + Duration::from_secs(2);
        for tenant in SWEEP_AT..SWEEP_AT * (SHARDS + 1) {
            let key = ("im.v1.message.create", Some(tenant.to_string()));
            assert_eq!(pacer.try_take(&key, &quotas, later), None);
        }
        let old_keys_kept: usize = pacer
            .shards
            .iter()
            .map(|shard| {
                let shard = shard.lock().unwrap();
                shard
                    .logs
                    .values()
                    .filter(|log| !log.is_live(later))
                    .count()
            })
            .sum();
        assert!(
            old_keys_kept < SWEEP_AT,
            "{old_keys_kept} keys outside their windows kept"
        );
    }

    #[test]
    fn sweeps_cost_each_call_o1_on_average_however_many_tenants_are_live() {
        let pacer = Pacer::default();
        let quotas = [Quota::new(1, 60)];
        let now = Instant::now();
        let tenants = 50_000;
        for tenant in 0..tenants {
            let key = ("im.v1.message.create", Some(tenant.to_string()));
            assert_eq!(pacer.try_take(&key, &quotas, now), None);
        }
        let (keys, swept) = pacer.shards.iter().fold((0, 0), |(keys, swept), shard| {
            let shard = shard.lock().unwrap();
            (keys + shard.logs.len(), swept + shard.swept)
        });
        assert_eq!(keys, tenants, "every key is live, none forgotten");
        // Sweeping at every call past the threshold would look at ~tenants²/SHARDS keys.
        assert!(
            swept <= 2 * tenants,
            "{swept} keys swept for {tenants} calls"
        );
    }

    #[test]
    fn a_window_too_long_for_the_clock_saturates_instead_of_panicking() {
        let pacer = Pacer::default();
        let quotas = [Quota {
            requests: 1,
            window: Duration::MAX,
        }];
        let now = Instant::now();
        assert_eq!(pacer.try_take(&KEY, &quotas, now), None);
        let wait = pacer
            .try_take(&KEY, &quotas, now)
            .expect("the second waits");
        assert!(wait > Duration::from_secs(1 << 40), "{wait:?}");
    }
}
