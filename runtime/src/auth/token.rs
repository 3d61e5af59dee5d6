//! Access tokens: which one a call sends, and the per-client cache that keeps the app's
//! own tokens until shortly before they expire.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::error::Error;
use crate::secret::Secret;

/// A kind of access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `tenant_access_token`: the app acting for its tenant. Fetched and cached by the client.
    Tenant,
    /// `user_access_token`: the app acting for a user. Given per call.
    User,
    /// `app_access_token`: the app acting as itself. Fetched and cached by the client.
    App,
}

impl TokenKind {
    /// The token's name in Feishu's docs, e.g. `tenant_access_token`.
    pub fn name(self) -> &'static str {
        match self {
            TokenKind::Tenant => "tenant_access_token",
            TokenKind::User => "user_access_token",
            TokenKind::App => "app_access_token",
        }
    }
}

/// Which cached token: the app's own token, or the tenant token of one tenant.
/// Internal apps have one tenant, so their tenant token has no key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    pub(crate) kind: TokenKind,
    pub(crate) tenant_key: Option<String>,
}

struct Cached {
    token: Secret,
    refresh_at: Instant,
}

#[derive(Default)]
struct SlotState<E> {
    cached: Option<Cached>,
    /// The last fetch's failure, with the number of that fetch.
    failed: Option<(u64, E)>,
}

/// One cached token. Callers that find it missing or due for refresh queue on the lock,
/// so a cold cache makes one fetch however many calls arrive at once; when that fetch
/// fails, the callers that queued behind it share its error instead of each trying again.
pub(crate) struct TokenSlot<E = Error> {
    state: Mutex<SlotState<E>>,
    /// How many fetches have finished.
    fetches: AtomicU64,
}

impl<E> Default for TokenSlot<E> {
    fn default() -> Self {
        TokenSlot {
            state: Mutex::new(SlotState {
                cached: None,
                failed: None,
            }),
            fetches: AtomicU64::new(0),
        }
    }
}

/// An error every caller queued behind a failed fetch can get a copy of.
pub(crate) trait SharedError {
    fn share(&self) -> Self;
}

impl SharedError for Error {
    fn share(&self) -> Self {
        match self {
            Error::Auth {
                kind,
                status,
                code,
                message,
                log_id,
                source,
            } => Error::Auth {
                kind,
                status: *status,
                code: *code,
                message: message.clone(),
                log_id: log_id.clone(),
                source: source.clone(),
            },
            // Token fetches fail with `Auth`; anything else is passed on as its text.
            other => Error::Auth {
                kind: "access token",
                status: None,
                code: other.code(),
                message: other.to_string(),
                log_id: other.log_id().map(str::to_owned),
                source: None,
            },
        }
    }
}

impl<E: SharedError> TokenSlot<E> {
    /// The cached token, or a fresh one from `fetch`, which returns the token and its
    /// lifetime. It is refreshed `margin` before it expires.
    pub(crate) async fn get<F, Fut>(&self, margin: Duration, fetch: F) -> Result<Secret, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Secret, Duration), E>>,
    {
        let arrived_after = self.fetches.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        if let Some(c) = state.cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        if let Some((fetch_number, error)) = &state.failed
            && *fetch_number > arrived_after
        {
            return Err(error.share());
        }
        let result = fetch().await;
        let fetch_number = self.fetches.fetch_add(1, Ordering::AcqRel) + 1;
        match result {
            Ok((token, lifetime)) => {
                state.cached = Some(Cached {
                    token: token.clone(),
                    refresh_at: Instant::now() + refresh_after(lifetime, margin),
                });
                state.failed = None;
                Ok(token)
            }
            Err(error) => {
                state.failed = Some((fetch_number, error.share()));
                Err(error)
            }
        }
    }

    /// Drops the cached token if it is still `rejected`. A caller that saw Feishu refuse
    /// an older token must not throw away the fresh one another caller has just fetched.
    pub(crate) async fn evict(&self, rejected: &Secret) {
        let mut state = self.state.lock().await;
        if state.cached.as_ref().is_some_and(|c| &c.token == rejected) {
            state.cached = None;
        }
    }
}

/// The longest a token is kept, whatever lifetime the server claims for it (Feishu's live
/// two hours): a claimed lifetime of `u64::MAX` seconds must not overflow the clock.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// How long a fresh token of `lifetime` is used before it is refreshed: `margin` before it
/// expires, but never more than half its lifetime, so that a short-lived token is still
/// used by many calls rather than fetched again for each.
fn refresh_after(lifetime: Duration, margin: Duration) -> Duration {
    let lifetime = lifetime.min(MAX_TOKEN_LIFETIME);
    lifetime.saturating_sub(margin.min(lifetime / 2))
}

/// The tokens of one client, one slot per kind and tenant. Clients never share a cache.
#[derive(Default)]
pub(crate) struct TokenCache {
    slots: std::sync::Mutex<HashMap<TokenKey, Arc<TokenSlot>>>,
}

impl TokenCache {
    pub(crate) fn slot(&self, key: &TokenKey) -> Arc<TokenSlot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(key.clone()).or_default().clone()
    }
}

#[cfg(test)]
impl SharedError for () {
    fn share(&self) -> Self {}
}

#[cfg(test)]
impl SharedError for &'static str {
    fn share(&self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn caches_until_the_margin_before_expiry() {
        let slot = TokenSlot::<()>::default();
        let fetches = AtomicUsize::new(0);
        let fetch = |lifetime: u64| {
            let n = fetches.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, ()>((Secret::new(format!("t{n}")), Duration::from_secs(lifetime))) }
        };
        let margin = Duration::from_secs(180);
        assert_eq!(
            slot.get(margin, || fetch(7200)).await.unwrap().expose(),
            "t0"
        );
        assert_eq!(
            slot.get(margin, || fetch(7200)).await.unwrap().expose(),
            "t0"
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 1);

        // A token that lives no longer than the margin is still used for half its life.
        let short = TokenSlot::<()>::default();
        assert_eq!(
            short.get(margin, || fetch(100)).await.unwrap().expose(),
            "t1"
        );
        assert_eq!(
            short.get(margin, || fetch(100)).await.unwrap().expose(),
            "t1"
        );
        // A lifetime of u64::MAX seconds is kept, not overflowed.
        let endless = TokenSlot::<()>::default();
        assert_eq!(
            endless
                .get(margin, || fetch(u64::MAX))
                .await
                .unwrap()
                .expose(),
            "t2"
        );
    }

    #[test]
    fn the_refresh_margin_scales_down_to_short_lifetimes() {
        let margin = Duration::from_secs(180);
        let secs = Duration::from_secs;
        assert_eq!(refresh_after(secs(7200), margin), secs(7020));
        assert_eq!(refresh_after(secs(100), margin), secs(50));
        assert_eq!(refresh_after(secs(0), margin), secs(0));
        assert_eq!(
            refresh_after(Duration::MAX, margin),
            MAX_TOKEN_LIFETIME - margin
        );
    }

    #[tokio::test]
    async fn evicts_only_the_token_that_was_refused() {
        let slot = TokenSlot::<()>::default();
        let margin = Duration::ZERO;
        let fresh =
            |t: &'static str| async move { Ok::<_, ()>((Secret::new(t), Duration::from_secs(60))) };
        slot.get(margin, || fresh("old")).await.unwrap();
        // Another caller has already replaced the refused token: keep the new one.
        slot.evict(&Secret::new("older")).await;
        assert_eq!(
            slot.get(margin, || fresh("x")).await.unwrap().expose(),
            "old"
        );
        slot.evict(&Secret::new("old")).await;
        assert_eq!(
            slot.get(margin, || fresh("new")).await.unwrap().expose(),
            "new"
        );
    }
}

#[cfg(test)]
mod shared_failure_tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn callers_queued_behind_a_failed_fetch_share_its_error() {
        let slot = Arc::new(TokenSlot::<&'static str>::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (slot, fetches) = (slot.clone(), fetches.clone());
            callers.spawn(async move {
                slot.get(Duration::ZERO, || async {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Err::<(Secret, Duration), _>("token endpoint down")
                })
                .await
            });
        }
        while let Some(result) = callers.join_next().await {
            assert_eq!(result.unwrap().unwrap_err(), "token endpoint down");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // A caller arriving after the failure tries again.
        let fresh = || async { Ok::<_, &'static str>((Secret::new("t"), Duration::from_secs(60))) };
        assert_eq!(slot.get(Duration::ZERO, fresh).await.unwrap().expose(), "t");
    }
}
