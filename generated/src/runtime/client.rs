//! The client: where to send calls, with which credentials, and the token cache.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;

use super::auth::TokenSlot;
use super::{Error, Result, Secret, TokenKind};

/// Where the Open Platform is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BaseUrl {
    /// `https://open.feishu.cn`
    Feishu,
    /// `https://open.larksuite.com`
    Lark,
    /// Any other address, e.g. a local test server: `http://127.0.0.1:8080`.
    Custom(String),
}

impl BaseUrl {
    /// The URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        match self {
            BaseUrl::Feishu => "https://open.feishu.cn",
            BaseUrl::Lark => "https://open.larksuite.com",
            BaseUrl::Custom(url) => url.trim_end_matches('/'),
        }
    }
}

/// How long before a token's documented expiry the client fetches a new one.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(180);

/// A Feishu client. Cheap to clone: clones share the connection pool and the token cache.
/// Separate clients built by [`Client::builder`] share nothing.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) app_id: String,
    pub(crate) app_secret: Secret,
    /// The whole `X-Lark-Helpdesk-Authorization` value: base64 of `id:token`.
    pub(crate) helpdesk: Option<Secret>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) refresh_margin: Duration,
    tenant_token: TokenSlot,
    app_token: TokenSlot,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("app_id", &self.inner.app_id)
            .field("app_secret", &self.inner.app_secret)
            .field("helpdesk", &self.inner.helpdesk.as_ref().map(|_| "***"))
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    base_url: BaseUrl,
    app_id: String,
    app_secret: Secret,
    helpdesk: Option<(String, Secret)>,
    timeout: Option<Duration>,
    refresh_margin: Duration,
    http: Option<reqwest::Client>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("app_secret", &self.app_secret)
            .field("helpdesk_id", &self.helpdesk.as_ref().map(|(id, _)| id))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the app `app_id` (`cli_…`) of an internal (自建) app.
    pub fn builder(app_id: impl Into<String>, app_secret: impl Into<Secret>) -> ClientBuilder {
        ClientBuilder {
            base_url: BaseUrl::Feishu,
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            helpdesk: None,
            timeout: Some(Duration::from_secs(30)),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            http: None,
        }
    }

    /// The base URL calls go to, e.g. `https://open.feishu.cn`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The app's `tenant_access_token` or `app_access_token`, from the cache or fetched.
    pub(crate) async fn app_token(&self, kind: TokenKind) -> Result<Secret> {
        let slot = match kind {
            TokenKind::Tenant => &self.inner.tenant_token,
            TokenKind::App => &self.inner.app_token,
            TokenKind::User => unreachable!("user tokens are given per call"),
        };
        slot.get(self.inner.refresh_margin, || self.fetch_token(kind))
            .await
    }

    /// `POST /open-apis/auth/v3/{tenant,app}_access_token/internal`, bounded by the
    /// client's timeout: a hung token endpoint must not hang every call queued behind it.
    async fn fetch_token(&self, kind: TokenKind) -> Result<(Secret, Duration)> {
        let name = kind.name();
        let path = match kind {
            TokenKind::Tenant => "/open-apis/auth/v3/tenant_access_token/internal",
            _ => "/open-apis/auth/v3/app_access_token/internal",
        };
        let auth_err = |code, message: String, log_id| Error::Auth {
            kind: name,
            code,
            message,
            log_id,
        };
        let body = serde_json::json!({ "app_id": self.inner.app_id, "app_secret": self.inner.app_secret.expose() });
        let mut request = self
            .inner
            .http
            .post(format!("{}{path}", self.inner.base_url))
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
            .map_err(|err| auth_err(None, err.to_string(), None))?;
        let log_id = log_id(response.headers());
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| auth_err(None, err.to_string(), log_id.clone()))?;

        #[derive(Deserialize)]
        struct TokenResponse {
            code: Option<i64>,
            #[serde(default)]
            msg: String,
            tenant_access_token: Option<String>,
            app_access_token: Option<String>,
            expire: Option<u64>,
        }
        // The body holds the token: an error about it says where it is malformed, never
        // what it contains.
        let parsed: TokenResponse = serde_json::from_slice(&bytes).map_err(|err| {
            let at = format!("line {} column {}", err.line(), err.column());
            auth_err(
                None,
                format!(
                    "HTTP {status}: the token response is malformed ({:?} at {at})",
                    err.classify()
                ),
                log_id.clone(),
            )
        })?;
        match parsed.code {
            Some(0) => {}
            Some(code) => return Err(auth_err(Some(code), parsed.msg, log_id)),
            None => {
                return Err(auth_err(
                    None,
                    format!("HTTP {status}: the token response has no code"),
                    log_id,
                ));
            }
        }
        let token = match kind {
            TokenKind::Tenant => parsed.tenant_access_token,
            _ => parsed.app_access_token,
        };
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| auth_err(None, format!("the response has no {name}"), log_id.clone()))?;
        let expire = parsed.expire.ok_or_else(|| {
            auth_err(
                None,
                "the response does not say when the token expires".to_owned(),
                log_id,
            )
        })?;
        Ok((Secret::new(token), Duration::from_secs(expire)))
    }
}

pub(crate) fn log_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get("x-tt-logid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl ClientBuilder {
    /// Feishu, Lark, or a custom address (default: Feishu).
    pub fn base_url(mut self, base_url: BaseUrl) -> Self {
        self.base_url = base_url;
        self
    }

    /// The helpdesk credentials that helpdesk endpoints send in
    /// `X-Lark-Helpdesk-Authorization`.
    pub fn helpdesk(
        mut self,
        helpdesk_id: impl Into<String>,
        helpdesk_token: impl Into<Secret>,
    ) -> Self {
        self.helpdesk = Some((helpdesk_id.into(), helpdesk_token.into()));
        self
    }

    /// The timeout of each HTTP request the client makes, token requests included
    /// (default 30 s); `None` waits as long as it takes. A call can bound itself as a
    /// whole with [`Call::timeout`](super::Call::timeout).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long before expiry cached tokens are refreshed (default 3 minutes).
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Sends through this `reqwest` client (for proxies, TLS settings, …).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the client; fails on a base URL that is not `http(s)://host[:port]`.
    pub fn build(self) -> Result<Client> {
        let base_url = self.base_url.as_str().to_owned();
        let parsed = reqwest::Url::parse(&base_url)
            .map_err(|err| Error::Config(format!("base URL {base_url:?}: {err}")))?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.path() != "/"
            || parsed.query().is_some()
        {
            return Err(Error::Config(format!(
                "base URL {base_url:?} must be http(s)://host[:port], without a path"
            )));
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .user_agent(concat!(
                    env!("CARGO_PKG_NAME"),
                    "-rust/",
                    env!("CARGO_PKG_VERSION")
                ))
                .build()
                .map_err(|err| Error::Config(err.to_string()))?,
        };
        let helpdesk = self.helpdesk.map(|(id, token)| {
            let pair = format!("{id}:{}", token.expose());
            Secret::new(base64::engine::general_purpose::STANDARD.encode(pair))
        });
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                app_id: self.app_id,
                app_secret: self.app_secret,
                helpdesk,
                timeout: self.timeout,
                refresh_margin: self.refresh_margin,
                tenant_token: TokenSlot::default(),
                app_token: TokenSlot::default(),
            }),
        })
    }
}
