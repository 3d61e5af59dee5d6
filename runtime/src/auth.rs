//! Access tokens: which one a call sends, how the app's own tokens are fetched, and the
//! per-client cache that keeps them until shortly before they expire.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;
use tracing::Instrument;

use crate::client::{AppKind, Client};
use crate::error::{Error, Result};
use crate::secret::Redactor;
use crate::secret::Secret;
use crate::transfer::body::{ReadError, read_limited};
use crate::wire::auth_paths::*;
use crate::wire::{INVALID_TOKEN_CODES, USER_AGENT, log_id};

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

/// What the auth endpoints answer. Its fields hold tokens, so it has no `Debug`.
#[derive(Deserialize)]
struct AuthResponse {
    code: Option<i64>,
    #[serde(default)]
    msg: String,
    tenant_access_token: Option<String>,
    app_access_token: Option<String>,
    expire: Option<u64>,
}

impl Client {
    /// The app's cached `tenant_access_token` (for `tenant_key`, for marketplace apps) or
    /// `app_access_token`, fetched when missing or due for refresh.
    pub(crate) async fn app_token(&self, key: &TokenKey) -> Result<Secret> {
        let slot = self.inner.tokens.slot(key);
        slot.get(self.inner.refresh_margin, || self.fetch_token(key))
            .await
    }

    /// Drops `token` from the cache after Feishu refused it.
    pub(crate) async fn evict_token(&self, key: &TokenKey, token: &Secret) {
        tracing::debug!(kind = key.kind.name(), "dropping a token Feishu refused");
        self.inner.tokens.slot(key).evict(token).await;
    }

    /// Sets the `app_ticket` of a marketplace app, from the `app_ticket` event Feishu
    /// pushes every hour. The app token is fetched with the newest ticket.
    pub fn set_app_ticket(&self, ticket: impl Into<Secret>) {
        if let AppKind::Marketplace { ticket: slot } = &self.inner.app_kind {
            *slot.write().unwrap_or_else(|e| e.into_inner()) = Some(ticket.into());
        }
    }

    /// Asks Feishu to push the `app_ticket` event again
    /// (`POST /open-apis/auth/v3/app_ticket/resend`), for a marketplace app that has lost
    /// its ticket. The client also asks by itself when it needs a ticket it does not have.
    pub async fn resend_app_ticket(&self) -> Result<()> {
        let body = serde_json::json!({
            "app_id": self.inner.app_id,
            "app_secret": self.inner.app_secret.expose(),
        });
        self.post_auth("app_ticket", APP_TICKET_RESEND, &body)
            .await
            .map(drop)
    }

    async fn fetch_token(&self, key: &TokenKey) -> Result<(Secret, Duration)> {
        let span = tracing::debug_span!(
            "feishu.token",
            kind = key.kind.name(),
            tenant_key = key.tenant_key.as_deref()
        );
        async {
            let kind = key.kind;
            let (path, body) = match (&self.inner.app_kind, kind) {
                (AppKind::Internal, TokenKind::Tenant) => (TENANT_INTERNAL, self.app_credentials(None)),
                (AppKind::Internal, _) => (APP_INTERNAL, self.app_credentials(None)),
                (AppKind::Marketplace { .. }, TokenKind::Tenant) => {
                    let tenant_key = key.tenant_key.as_deref().ok_or_else(|| Error::Auth {
                        kind: kind.name(),
                        status: None,
                        code: None,
                        message: "a marketplace app needs a tenant_key for a tenant_access_token".into(),
                        log_id: None,
                        source: None,
                    })?;
                    let app_key = TokenKey { kind: TokenKind::App, tenant_key: None };
                    let app_token = Box::pin(self.app_token(&app_key)).await?;
                    let body = serde_json::json!({
                        "app_access_token": app_token.expose(),
                        "tenant_key": tenant_key,
                    });
                    match self.token_from(kind, TENANT_MARKETPLACE, &body).await {
                        // Feishu refused the app token the cache still held: drop it,
                        // and try once more with a fresh one.
                        Err(Error::Auth { code: Some(code), .. }) if INVALID_TOKEN_CODES.contains(&code) => {
                            self.evict_token(&app_key, &app_token).await;
                            let app_token = Box::pin(self.app_token(&app_key)).await?;
                            let body = serde_json::json!({
                                "app_access_token": app_token.expose(),
                                "tenant_key": tenant_key,
                            });
                            (TENANT_MARKETPLACE, body)
                        }
                        other => return other,
                    }
                }
                (AppKind::Marketplace { ticket }, _) => {
                    let ticket = ticket.read().unwrap_or_else(|e| e.into_inner()).clone();
                    let Some(ticket) = ticket else {
                        // The ticket comes as an event; ask Feishu to send it again.
                        let resent = self.resend_app_ticket().await;
                        let asked = match resent {
                            Ok(()) => "Feishu was asked to resend it".to_owned(),
                            Err(err) => format!("asking Feishu to resend it failed: {err}"),
                        };
                        return Err(Error::Auth {
                            kind: kind.name(),
                            status: None,
                            code: None,
                            message: format!(
                                "the marketplace app has no app_ticket yet ({asked}); pass the app_ticket event's ticket to Client::set_app_ticket"
                            ),
                            log_id: None,
                            source: None,
                        });
                    };
                    (APP_MARKETPLACE, self.app_credentials(Some(&ticket)))
                }
            };
            self.token_from(kind, path, &body).await
        }
        .instrument(span)
        .await
    }

    fn app_credentials(&self, ticket: Option<&Secret>) -> serde_json::Value {
        let mut body = serde_json::json!({
            "app_id": self.inner.app_id,
            "app_secret": self.inner.app_secret.expose(),
        });
        if let Some(ticket) = ticket {
            body["app_ticket"] = ticket.expose().into();
        }
        body
    }

    async fn token_from(
        &self,
        kind: TokenKind,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(Secret, Duration)> {
        let name = kind.name();
        let (parsed, status, log_id) = self.post_auth(name, path, body).await?;
        let auth_err = |message: String| Error::Auth {
            kind: name,
            status: Some(status),
            code: None,
            message,
            log_id: log_id.clone(),
            source: None,
        };
        let token = match kind {
            TokenKind::Tenant => parsed.tenant_access_token,
            _ => parsed.app_access_token,
        };
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| auth_err(format!("the response has no {name}")))?;
        let expire = parsed.expire.ok_or_else(|| {
            auth_err("the response does not say when the token expires".to_owned())
        })?;
        Ok((Secret::new(token), Duration::from_secs(expire)))
    }

    /// POSTs to an auth endpoint, bounded by the client's timeout: a hung token endpoint
    /// must not hang every call queued behind it. Errors never quote the body, which
    /// holds tokens.
    async fn post_auth(
        &self,
        name: &'static str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(AuthResponse, u16, Option<String>)> {
        let auth_err = |status, code, message: String, log_id| Error::Auth {
            kind: name,
            status,
            code,
            message,
            log_id,
            source: None,
        };
        // A failure underneath keeps its cause: connection refused, DNS, certificates.
        let transport_err = |err: reqwest::Error, status, log_id| Error::Auth {
            kind: name,
            status,
            code: None,
            message: format!("the request to {path} failed: {err}"),
            log_id,
            source: Some(std::sync::Arc::new(err)),
        };
        // What the request sent that the answer must not echo into an error.
        let mut redactor = Redactor::default();
        for key in ["app_secret", "app_ticket", "app_access_token"] {
            if let Some(secret) = body.get(key).and_then(serde_json::Value::as_str) {
                redactor.add(secret);
            }
        }
        let mut request = self
            .inner
            .http
            .post(format!("{}{path}", self.inner.base_url))
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(body.to_string());
        if let Some(timeout) = self.inner.timeout {
            request = request.timeout(timeout);
        }
        let response = request
            .send()
            .await
            .map_err(|err| transport_err(err, None, None))?;
        let log_id = log_id(response.headers());
        let status = response.status();
        let code_of_status = Some(status.as_u16());
        let limit = self.inner.max_response_bytes;
        let bytes = read_limited(response, limit, None).await.map_err(|err| match err {
            ReadError::TooLarge => auth_err(
                code_of_status,
                None,
                format!("HTTP {status}: the response is longer than the client's limit of {limit} bytes"),
                log_id.clone(),
            ),
            ReadError::Transport(err) => transport_err(err, code_of_status, log_id.clone()),
        })?;
        let parsed: AuthResponse = serde_json::from_slice(&bytes).map_err(|err| {
            let at = format!("line {} column {}", err.line(), err.column());
            auth_err(
                code_of_status,
                None,
                format!(
                    "HTTP {status}: the response is malformed ({:?} at {at})",
                    err.classify()
                ),
                log_id.clone(),
            )
        })?;
        match parsed.code {
            Some(0) => Ok((parsed, status.as_u16(), log_id)),
            Some(code) => Err(auth_err(
                code_of_status,
                Some(code),
                format!("HTTP {status}: {}", redactor.text(&parsed.msg)),
                log_id,
            )),
            None => Err(auth_err(
                code_of_status,
                None,
                format!("HTTP {status}: the response has no code"),
                log_id,
            )),
        }
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
