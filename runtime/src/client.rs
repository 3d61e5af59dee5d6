//! The client: where to send calls, with which credentials, and the token cache.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;

use crate::auth::token::TokenKey;
use crate::auth::{AppAuth, AppKind, AuthHttp};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::secret::Secret;

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

    /// The URL of the `www` host, which serves the old approval API
    /// (`/approval/openapi/…`): `https://www.feishu.cn` or `https://www.larksuite.com`.
    /// A custom address serves both hosts, as a test server does.
    pub fn www(&self) -> &str {
        match self {
            BaseUrl::Feishu => "https://www.feishu.cn",
            BaseUrl::Lark => "https://www.larksuite.com",
            BaseUrl::Custom(_) => self.as_str(),
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
    /// Where `www` host endpoints go.
    pub(crate) www_url: String,
    /// The app's credentials and tokens.
    pub(crate) auth: AppAuth,
    /// The whole `X-Lark-Helpdesk-Authorization` value: base64 of `id:token`.
    pub(crate) helpdesk: Option<Secret>,
    /// The helpdesk token itself, only to keep it out of errors.
    pub(crate) helpdesk_token: Option<Secret>,
    pub(crate) max_response_bytes: usize,
    pub(crate) timeout: Option<Duration>,
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    /// Set when calls keep to the documented rate limits.
    pub(crate) pacer: Option<crate::retry::rate_limit::Pacer>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("app_id", &self.inner.auth.app_id)
            .field("app_secret", &self.inner.auth.app_secret)
            .field("helpdesk", &self.inner.helpdesk.as_ref().map(|_| "***"))
            .field("marketplace", &self.inner.auth.kind.is_marketplace())
            .field("timeout", &self.inner.timeout)
            .field("call_timeout", &self.inner.call_timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`], or any client type made from one (`C`): the `feishu` crate's
/// `Client` wraps this one to carry the service methods (`client.im()`), which only the
/// crate that defines a type can add, and builds itself with this builder.
pub struct ClientBuilder<C = Client> {
    base_url: BaseUrl,
    app_id: String,
    app_secret: Secret,
    marketplace: bool,
    helpdesk: Option<(String, Secret)>,
    timeout: Option<Duration>,
    call_timeout: Option<Duration>,
    retry: RetryPolicy,
    refresh_margin: Duration,
    max_response_bytes: usize,
    http: Option<reqwest::Client>,
    pace_rate_limits: bool,
    builds: PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("app_secret", &self.app_secret)
            .field("marketplace", &self.marketplace)
            .field("helpdesk_id", &self.helpdesk.as_ref().map(|(id, _)| id))
            .field("timeout", &self.timeout)
            .field("call_timeout", &self.call_timeout)
            .field("retry", &self.retry)
            .field("pace_rate_limits", &self.pace_rate_limits)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the app `app_id` (`cli_…`) of an internal (自建) app.
    pub fn builder(app_id: impl Into<String>, app_secret: impl Into<Secret>) -> ClientBuilder {
        ClientBuilder::new(app_id, app_secret)
    }

    /// A client for a marketplace (商店) app. Its app token needs the `app_ticket` that
    /// Feishu pushes as an event: hand it over with [`Client::set_app_ticket`]. Calls with
    /// a `tenant_access_token` name the tenant with [`Call::tenant_key`](crate::call::Call::tenant_key).
    pub fn marketplace_builder(
        app_id: impl Into<String>,
        app_secret: impl Into<Secret>,
    ) -> ClientBuilder {
        ClientBuilder::new_marketplace(app_id, app_secret)
    }

    /// Sets the `app_ticket` of a marketplace app, from the `app_ticket` event Feishu
    /// pushes every hour. The app token is fetched with the newest ticket.
    pub fn set_app_ticket(&self, ticket: impl Into<Secret>) {
        self.inner.auth.set_app_ticket(ticket.into());
    }

    /// Asks Feishu to push the `app_ticket` event again
    /// (`POST /open-apis/auth/v3/app_ticket/resend`), for a marketplace app that has lost
    /// its ticket. The client also asks by itself when it needs a ticket it does not have.
    pub async fn resend_app_ticket(&self) -> Result<()> {
        self.inner.auth.resend_app_ticket(&self.auth_http()).await
    }

    /// The app's cached `tenant_access_token` (for `tenant_key`, for marketplace apps) or
    /// `app_access_token`, fetched when missing or due for refresh.
    pub(crate) async fn app_token(&self, key: &TokenKey) -> Result<Secret> {
        self.inner.auth.app_token(&self.auth_http(), key).await
    }

    /// Drops `token` from the cache after Feishu refused it.
    pub(crate) async fn evict_token(&self, key: &TokenKey, token: &Secret) {
        self.inner.auth.evict_token(key, token).await;
    }

    /// The settings the app's token requests go out with.
    fn auth_http(&self) -> AuthHttp<'_> {
        AuthHttp {
            http: &self.inner.http,
            base_url: &self.inner.base_url,
            timeout: self.inner.timeout,
            max_response_bytes: self.inner.max_response_bytes,
        }
    }

    /// Whether this is a marketplace app's client.
    pub fn is_marketplace(&self) -> bool {
        self.inner.auth.kind.is_marketplace()
    }

    /// The base URL calls go to, e.g. `https://open.feishu.cn`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }
}

impl<C> ClientBuilder<C> {
    /// The builder behind [`Client::builder`], for an internal (自建) app.
    pub fn new(app_id: impl Into<String>, app_secret: impl Into<Secret>) -> Self {
        ClientBuilder {
            base_url: BaseUrl::Feishu,
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            marketplace: false,
            helpdesk: None,
            timeout: Some(Duration::from_secs(30)),
            call_timeout: None,
            retry: RetryPolicy::default(),
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            max_response_bytes: crate::transfer::body::DEFAULT_MAX_RESPONSE_BYTES,
            http: None,
            pace_rate_limits: false,
            builds: PhantomData,
        }
    }

    /// The builder behind [`Client::marketplace_builder`], for a marketplace (商店) app.
    pub fn new_marketplace(app_id: impl Into<String>, app_secret: impl Into<Secret>) -> Self {
        ClientBuilder {
            marketplace: true,
            ..ClientBuilder::new(app_id, app_secret)
        }
    }

    /// Whether calls keep to each endpoint's documented rate limit (default: no). When on,
    /// a call that would go past a quota its page states (`1000 次/分钟、50 次/秒`) waits
    /// until it fits, counted per endpoint and tenant as Feishu counts, so a batch job
    /// paces itself instead of meeting 429s. Every attempt counts, retries included.
    /// Endpoints whose page states no quota (`特殊频控`) are not paced; a 429 from them
    /// is retried as before. See [`Endpoint::rate_limit`](crate::call::endpoint::Endpoint::rate_limit).
    pub fn pace_rate_limits(mut self, pace: bool) -> Self {
        self.pace_rate_limits = pace;
        self
    }

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
    /// whole with [`Call::timeout`](crate::call::Call::timeout). An upload or a download may
    /// take longer than any one timeout to move its file: for those it bounds how long
    /// the transfer may stand still ([`Error::Stalled`](crate::error::Error::Stalled)), not the
    /// whole transfer.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time each call may take as a whole, token fetch, retries and waits included
    /// (default: none). A call can set its own with [`Call::timeout`](crate::call::Call::timeout).
    pub fn call_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// How calls retry (default [`RetryPolicy::default`]); [`RetryPolicy::none`] turns
    /// retries off.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long before expiry cached tokens are refreshed (default 3 minutes), at most
    /// half a token's lifetime: a token that lives a minute is used for thirty seconds
    /// rather than fetched again for every call.
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The longest response body the client reads into memory (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::transfer::body::DEFAULT_MAX_RESPONSE_BYTES), 64 MiB); a
    /// longer one fails the call with [`Error::TooLarge`] without being read further.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Sends through this `reqwest` client (for proxies, TLS settings, …). Requests still
    /// carry this crate's `User-Agent`. The client's own redirect policy applies: the
    /// default client follows no redirect, since Feishu's API never redirects and every
    /// request carries credentials that a redirect would send on; build this one with
    /// `reqwest::redirect::Policy::none()` to keep that.
    ///
    /// Its TLS is its own, not the one the crate's TLS feature sets up. With `rustls` alone
    /// (ring) reqwest has no crypto provider of its own, so building one panics unless a
    /// process-wide provider is installed: call [`install_crypto_provider`](crate::install_crypto_provider)
    /// first, or give the app reqwest's own `rustls` feature.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the client; fails on a base URL that is not `http(s)://host[:port]`, or on an
    /// https one when the crate has no TLS feature.
    ///
    /// With the `rustls` feature (without `rustls-aws-lc`), building a client without
    /// [`http_client`](Self::http_client) makes ring rustls' process-wide crypto provider
    /// when none is installed (see [`install_crypto_provider`](crate::install_crypto_provider)):
    /// an app that wants another installs it before.
    pub fn build(self) -> Result<C>
    where
        C: From<Client>,
    {
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
        // Without a TLS feature reqwest cannot speak https: say so now, not as a
        // retryable transport error at the first call.
        if !crate::tls::ENABLED && parsed.scheme() == "https" && self.http.is_none() {
            return Err(Error::Config(format!(
                "base URL {base_url:?} is https, but {}",
                crate::tls::MISSING
            )));
        }
        self.retry.check()?;
        for (name, timeout) in [
            ("timeout", self.timeout),
            ("call_timeout", self.call_timeout),
        ] {
            if timeout.is_some_and(|t| t.is_zero()) {
                return Err(Error::Config(format!(
                    "{name} must be longer than zero; None waits as long as it takes"
                )));
            }
        }
        if self.max_response_bytes == 0 {
            return Err(Error::Config(
                "max_response_bytes must be at least 1".to_owned(),
            ));
        }
        let http = match self.http {
            Some(http) => http,
            None => default_http_client()?,
        };
        let kind = if self.marketplace {
            AppKind::Marketplace {
                ticket: std::sync::RwLock::new(None),
            }
        } else {
            AppKind::Internal
        };
        let helpdesk_token = self.helpdesk.as_ref().map(|(_, token)| token.clone());
        let helpdesk = self.helpdesk.map(|(id, token)| {
            let pair = format!("{id}:{}", token.expose());
            Secret::new(base64::engine::general_purpose::STANDARD.encode(pair))
        });
        Ok(C::from(Client {
            inner: Arc::new(Inner {
                http,
                www_url: self.base_url.www().to_owned(),
                base_url,
                helpdesk,
                helpdesk_token,
                max_response_bytes: self.max_response_bytes,
                timeout: self.timeout,
                call_timeout: self.call_timeout,
                retry: self.retry,
                pacer: self.pace_rate_limits.then(Default::default),
                auth: AppAuth::new(self.app_id, self.app_secret, kind, self.refresh_margin),
            }),
        }))
    }
}

/// The client's own reqwest client, with the TLS the crate's features chose (see
/// `tls.rs`).
fn default_http_client() -> Result<reqwest::Client> {
    crate::tls::install_crypto_provider();
    let builder = reqwest::Client::builder()
        .user_agent(crate::wire::USER_AGENT)
        // Every request the client sends carries credentials (the app secret, a token,
        // the long connection's ticket), and Feishu's API never redirects: a redirect,
        // even within the origin, would carry them where the caller did not send them.
        .redirect(reqwest::redirect::Policy::none());
    let builder = match crate::tls::Tls::chosen().map_err(Error::Config)? {
        Some(tls) => tls.into_reqwest(builder),
        None => builder,
    };
    builder
        .build()
        .map_err(|err| Error::Config(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_base_url_needs_a_tls_feature() {
        let built = ClientBuilder::<Client>::new("cli_a", "secret").build();
        let tls = cfg!(any(
            feature = "rustls",
            feature = "rustls-aws-lc",
            feature = "native-tls"
        ));
        if tls {
            assert!(built.is_ok(), "{:?}", built.err());
        } else {
            let err = built.expect_err("refused without TLS").to_string();
            for feature in ["`rustls`", "`rustls-aws-lc`", "`native-tls`"] {
                assert!(err.contains(feature), "{feature} in {err}");
            }
        }
        // Plain http needs no TLS.
        let local = ClientBuilder::<Client>::new("cli_a", "secret")
            .base_url(BaseUrl::Custom("http://127.0.0.1:9".into()))
            .build();
        assert!(local.is_ok());
    }

    #[test]
    fn the_user_agent_names_the_crate_and_its_version() {
        assert_eq!(
            crate::wire::USER_AGENT,
            format!("feishu/{}", env!("CARGO_PKG_VERSION"))
        );
    }
}
