//! Feishu's side of the documented rate limits, when a test asks for it: each endpoint's
//! calls are counted per tenant, and a call past a quota its page states is refused as
//! Feishu refuses it (429, code 99991400, with the seconds until there is room).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use feishu::runtime::codegen::Quota;

/// The calls each endpoint and tenant made, oldest first, within its longest window.
#[derive(Default)]
pub(crate) struct Arrivals {
    calls: HashMap<(&'static str, Option<String>), VecDeque<Instant>>,
}

impl Arrivals {
    /// Counts a call that arrives `now` if every quota has room; otherwise the call is
    /// not counted and the answer is how long until one more would fit.
    pub(crate) fn admit(
        &mut self,
        endpoint: &'static str,
        tenant: Option<String>,
        quotas: &[Quota],
        now: Instant,
    ) -> Result<(), Duration> {
        let longest = quotas.iter().map(|q| q.window).max().unwrap_or_default();
        let calls = self.calls.entry((endpoint, tenant)).or_default();
        while calls
            .front()
            .is_some_and(|t| now.duration_since(*t) >= longest)
        {
            calls.pop_front();
        }
        let full = quotas.iter().filter_map(|quota| {
            let in_window = calls
                .iter()
                .rev()
                .take_while(|t| now.duration_since(**t) < quota.window)
                .count();
            let requests = quota.requests.max(1) as usize;
            (in_window >= requests).then(|| {
                (calls[calls.len() - requests] + quota.window).saturating_duration_since(now)
            })
        });
        match full.max() {
            Some(wait) => Err(wait),
            None => {
                calls.push_back(now);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_past_a_quota_is_refused_until_the_window_moves_on() {
        let mut arrivals = Arrivals::default();
        let quotas = [Quota::new(2, 1)];
        let start = Instant::now();
        let id = "im.v1.message.create";
        assert_eq!(arrivals.admit(id, None, &quotas, start), Ok(()));
        assert_eq!(arrivals.admit(id, None, &quotas, start), Ok(()));
        let later = start + Duration::from_millis(400);
        assert_eq!(
            arrivals.admit(id, None, &quotas, later),
            Err(Duration::from_millis(600))
        );
        let tenant = Some("t1".to_owned());
        assert_eq!(
            arrivals.admit(id, tenant, &quotas, later),
            Ok(()),
            "per tenant"
        );
        let next = start + Duration::from_secs(1);
        assert_eq!(arrivals.admit(id, None, &quotas, next), Ok(()));
    }
}
