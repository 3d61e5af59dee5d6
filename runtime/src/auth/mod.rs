//! The app's own access tokens: its credentials, how its tenant and app tokens are
//! fetched from Feishu's auth endpoints (internal and marketplace apps alike), and the
//! cache that keeps them ([`token`]). The client owns an [`AppAuth`] and hands it the
//! HTTP settings each fetch uses ([`AuthHttp`]); nothing here knows the client.

pub(crate) mod token;

use std::time::Duration;

use serde::Deserialize;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::secret::{Redactor, Secret};
use crate::transfer::body::{ReadError, read_limited};
use crate::wire::auth_paths::*;
use crate::wire::{INVALID_TOKEN_CODES, USER_AGENT, log_id};
use token::{TokenCache, TokenKey, TokenKind};

/// How the app gets its tokens.
pub(crate) enum AppKind {
    /// An internal (自建) app: app_id and app_secret are enough.
    Internal,
    /// A marketplace (商店) app: the app token also needs the `app_ticket` Feishu pushes,
    /// and each tenant that installed the app has its own tenant token.
    Marketplace {
        ticket: std::sync::RwLock<Option<Secret>>,
    },
}

impl AppKind {
    pub(crate) fn is_marketplace(&self) -> bool {
        matches!(self, AppKind::Marketplace { .. })
    }
}

/// The app's identity and the tokens it has been given.
pub(crate) struct AppAuth {
    pub(crate) app_id: String,
    pub(crate) app_secret: Secret,
    pub(crate) kind: AppKind,
    /// How long before a token expires it is fetched anew.
    pub(crate) refresh_margin: Duration,
    tokens: TokenCache,
}

/// The client's HTTP settings an auth request goes out with.
pub(crate) struct AuthHttp<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) base_url: &'a str,
    /// Bounds each auth request: a hung token endpoint must not hang every call queued
    /// behind it.
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_response_bytes: usize,
}

impl AppAuth {
    pub(crate) fn new(
        app_id: String,
        app_secret: Secret,
        kind: AppKind,
        refresh_margin: Duration,
    ) -> Self {
        AppAuth {
            app_id,
            app_secret,
            kind,
            refresh_margin,
            tokens: TokenCache::default(),
        }
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

impl AppAuth {
    /// The app's cached `tenant_access_token` (for `tenant_key`, for marketplace apps) or
    /// `app_access_token`, fetched when missing or due for refresh.
    pub(crate) async fn app_token(&self, via: &AuthHttp<'_>, key: &TokenKey) -> Result<Secret> {
        let slot = self.tokens.slot(key);
        slot.get(self.refresh_margin, || self.fetch_token(via, key))
            .await
    }

    /// Drops `token` from the cache after Feishu refused it.
    pub(crate) async fn evict_token(&self, key: &TokenKey, token: &Secret) {
        tracing::debug!(kind = key.kind.name(), "dropping a token Feishu refused");
        self.tokens.slot(key).evict(token).await;
    }

    /// Sets the `app_ticket` of a marketplace app; the app token is fetched with the
    /// newest ticket.
    pub(crate) fn set_app_ticket(&self, ticket: Secret) {
        if let AppKind::Marketplace { ticket: slot } = &self.kind {
            *slot.write().unwrap_or_else(|e| e.into_inner()) = Some(ticket);
        }
    }

    /// Asks Feishu to push the `app_ticket` event again.
    pub(crate) async fn resend_app_ticket(&self, via: &AuthHttp<'_>) -> Result<()> {
        let body = serde_json::json!({
            "app_id": self.app_id,
            "app_secret": self.app_secret.expose(),
        });
        via.post("app_ticket", APP_TICKET_RESEND, &body)
            .await
            .map(drop)
    }

    async fn fetch_token(&self, via: &AuthHttp<'_>, key: &TokenKey) -> Result<(Secret, Duration)> {
        let span = tracing::debug_span!(
            "feishu.token",
            kind = key.kind.name(),
            tenant_key = key.tenant_key.as_deref()
        );
        async {
            let kind = key.kind;
            let (path, body) = match (&self.kind, kind) {
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
                    let app_token = Box::pin(self.app_token(via, &app_key)).await?;
                    let body = serde_json::json!({
                        "app_access_token": app_token.expose(),
                        "tenant_key": tenant_key,
                    });
                    match self.token_from(via, kind, TENANT_MARKETPLACE, &body).await {
                        // Feishu refused the app token the cache still held: drop it,
                        // and try once more with a fresh one.
                        Err(Error::Auth { code: Some(code), .. }) if INVALID_TOKEN_CODES.contains(&code) => {
                            self.evict_token(&app_key, &app_token).await;
                            let app_token = Box::pin(self.app_token(via, &app_key)).await?;
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
                        let resent = self.resend_app_ticket(via).await;
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
            self.token_from(via, kind, path, &body).await
        }
        .instrument(span)
        .await
    }

    fn app_credentials(&self, ticket: Option<&Secret>) -> serde_json::Value {
        let mut body = serde_json::json!({
            "app_id": self.app_id,
            "app_secret": self.app_secret.expose(),
        });
        if let Some(ticket) = ticket {
            body["app_ticket"] = ticket.expose().into();
        }
        body
    }

    async fn token_from(
        &self,
        via: &AuthHttp<'_>,
        kind: TokenKind,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(Secret, Duration)> {
        let name = kind.name();
        let (parsed, status, log_id) = via.post(name, path, body).await?;
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
}

impl AuthHttp<'_> {
    /// POSTs to an auth endpoint, bounded by the client's timeout: a hung token endpoint
    /// must not hang every call queued behind it. Errors never quote the body, which
    /// holds tokens.
    async fn post(
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
            .http
            .post(format!("{}{path}", self.base_url))
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(body.to_string());
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        let response = request
            .send()
            .await
            .map_err(|err| transport_err(err, None, None))?;
        let log_id = log_id(response.headers());
        let status = response.status();
        let code_of_status = Some(status.as_u16());
        let limit = self.max_response_bytes;
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
