//! Access tokens: which one a call sends, and the cache of the app's own tokens.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::Secret;

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

struct Cached {
    token: Secret,
    refresh_at: Instant,
}

/// One cached token. Callers that find it missing or due for refresh queue on the lock,
/// so a cold cache makes one fetch however many calls arrive at once.
#[derive(Default)]
pub(crate) struct TokenSlot {
    cached: Mutex<Option<Cached>>,
}

impl TokenSlot {
    /// The cached token, or a fresh one from `fetch`, which returns the token and its
    /// lifetime. It is refreshed `margin` before it expires.
    pub(crate) async fn get<F, Fut, E>(&self, margin: Duration, fetch: F) -> Result<Secret, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Secret, Duration), E>>,
    {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let (token, lifetime) = fetch().await?;
        *cached = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn caches_until_the_margin_before_expiry() {
        let slot = TokenSlot::default();
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

        // A token that lives no longer than the margin is already due: each call refetches.
        let short = TokenSlot::default();
        assert_eq!(
            short.get(margin, || fetch(100)).await.unwrap().expose(),
            "t1"
        );
        assert_eq!(
            short.get(margin, || fetch(100)).await.unwrap().expose(),
            "t2"
        );
    }
}
