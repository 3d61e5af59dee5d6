//! One call: per-call options, and sending a request through the client.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::client::log_id;
use super::error::snippet;
use super::{ApiError, ApiRequest, Client, Envelope, Error, Params, Result, Secret, TokenKind};

/// The header helpdesk endpoints need besides the access token.
pub const HELPDESK_HEADER: &str = "X-Lark-Helpdesk-Authorization";
const HELPDESK_HEADER_LOWER: &str = "x-lark-helpdesk-authorization";
/// The header Feishu echoes a caller's request id in.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// A call being set up. Await it (or its [`send`](Call::send)) to make the request.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<'a, R> {
    client: &'a Client,
    request: R,
    user_access_token: Option<Secret>,
    headers: Vec<(String, String)>,
    request_id: Option<String>,
    timeout: Option<Duration>,
}

impl<R: fmt::Debug> fmt::Debug for Call<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("request", &self.request)
            .field("user_access_token", &self.user_access_token)
            // Header values may carry credentials of their own; only the names are shown.
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .field("request_id", &self.request_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<'a, R: ApiRequest> Call<'a, R> {
    /// A call of `request` through `client`; generated methods such as
    /// `client.helpdesk().v1().ticket().update(…)` make these.
    pub fn new(client: &'a Client, request: R) -> Self {
        Call {
            client,
            request,
            user_access_token: None,
            headers: Vec::new(),
            request_id: None,
            timeout: None,
        }
    }

    /// Acts for a user: sends this `user_access_token` instead of the app's token. Required
    /// by endpoints that take only user tokens.
    pub fn user_access_token(mut self, token: impl Into<Secret>) -> Self {
        self.user_access_token = Some(token.into());
        self
    }

    /// Adds a header to this call.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends `X-Request-Id`, to find the call in Feishu's logs.
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// The time this whole call may take, waiting for an access token included; without
    /// it, each request the call makes is bounded by the client's timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The request this call will send.
    pub fn request(&self) -> &R {
        &self.request
    }

    /// Sends the request and returns the response's payload.
    pub async fn send(self) -> Result<R::Response> {
        let endpoint = R::ENDPOINT;
        let invalid = |message: &str| Error::InvalidRequest {
            endpoint: endpoint.id,
            message: message.to_owned(),
        };

        // Everything that can be refused is checked before any I/O.
        let token_kind = match (&self.user_access_token, endpoint.tokens) {
            (Some(_), tokens) if tokens.contains(&TokenKind::User) => Some(TokenKind::User),
            (Some(_), _) => return Err(invalid("the endpoint does not accept a user_access_token")),
            (None, []) => None,
            (None, tokens) => Some(*tokens.iter().find(|t| **t != TokenKind::User).ok_or_else(|| {
                invalid("the endpoint only accepts a user_access_token: set one with Call::user_access_token")
            })?),
        };
        let inner = &self.client.inner;
        let helpdesk = match (endpoint.helpdesk, &inner.helpdesk) {
            (false, _) => None,
            (true, Some(value)) => Some(value.clone()),
            (true, None) => {
                return Err(invalid(
                    "the endpoint needs helpdesk credentials: set them with ClientBuilder::helpdesk",
                ));
            }
        };
        let path = self.request.path();
        // Documented paths have no empty segments, so an empty one is an empty parameter,
        // which would address another endpoint.
        if path.split('/').skip(1).any(str::is_empty) {
            return Err(invalid("a path parameter is empty"));
        }
        let mut url = reqwest::Url::parse(&format!("{}{path}", inner.base_url))
            .map_err(|err| invalid(&format!("bad URL: {err}")))?;
        let mut query = Params::default();
        self.request.query(&mut query);
        if !query.0.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter());
        }
        let body = match self.request.body() {
            Some(body) => Some(
                serde_json::to_vec(body)
                    .map_err(|err| invalid(&format!("cannot serialize the body: {err}")))?,
            ),
            None => None,
        };
        // Later entries win: documented parameters, then the request id, then the caller's
        // own headers.
        let mut headers = HeaderMap::new();
        if body.is_some() {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
        }
        let mut params = Params::default();
        self.request.headers(&mut params);
        let request_id = self.request_id.as_deref().map(|id| (REQUEST_ID_HEADER, id));
        let custom = self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        for (name, value) in params.iter().chain(request_id).chain(custom) {
            let name = HeaderName::try_from(name)
                .map_err(|err| invalid(&format!("header name {name:?}: {err}")))?;
            let value = HeaderValue::try_from(value)
                .map_err(|err| invalid(&format!("header {name}: {err}")))?;
            headers.insert(name, value);
        }
        if let Some(helpdesk) = helpdesk {
            let mut value = HeaderValue::try_from(helpdesk.expose())
                .map_err(|_| invalid("the helpdesk credentials are not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(HeaderName::from_static(HELPDESK_HEADER_LOWER), value);
        }

        // A per-call timeout bounds the whole call, waiting for a token included.
        let deadline = self
            .timeout
            .map(|timeout| (tokio::time::Instant::now() + timeout, timeout));
        let token = match (token_kind, deadline) {
            (None, _) => None,
            (Some(TokenKind::User), _) => self.user_access_token.clone(),
            (Some(kind), None) => Some(self.client.app_token(kind).await?),
            (Some(kind), Some((at, after))) => Some(
                tokio::time::timeout_at(at, self.client.app_token(kind))
                    .await
                    .map_err(|_| Error::Timeout {
                        endpoint: endpoint.id,
                        after,
                    })??,
            ),
        };
        if let Some(token) = token {
            let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
                .map_err(|_| invalid("the access token is not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }

        let mut builder = inner
            .http
            .request(endpoint.method.to_reqwest(), url)
            .headers(headers);
        if let Some(body) = body {
            builder = builder.body(body);
        }
        let timeout = match deadline {
            Some((at, _)) => Some(at.saturating_duration_since(tokio::time::Instant::now())),
            None => inner.timeout,
        };
        if let Some(timeout) = timeout {
            builder = builder.timeout(timeout);
        }
        let transport = |source| Error::Transport {
            endpoint: endpoint.id,
            source,
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let log_id = log_id(response.headers());
        let bytes = response.bytes().await.map_err(transport)?;
        decode::<R::Response>(endpoint, status.as_u16(), log_id, &bytes)
    }
}

/// Reads a response: Feishu's error, or the payload in the endpoint's envelope. Every
/// Feishu response carries a `code`; a body without one (a gateway's JSON, say) is not
/// taken for success.
fn decode<T: DeserializeOwned>(
    endpoint: &'static super::Endpoint,
    status: u16,
    log_id: Option<String>,
    body: &[u8],
) -> Result<T> {
    let decode_error = |message: String| Error::Decode {
        endpoint: endpoint.id,
        status,
        log_id: log_id.clone(),
        message,
        snippet: snippet(body),
    };

    #[derive(Deserialize)]
    struct Head {
        code: Option<i64>,
        #[serde(default)]
        msg: String,
        error: Option<serde_json::Value>,
    }
    let head: Head = serde_json::from_slice(body)
        .map_err(|err| decode_error(format!("not a JSON object: {err}")))?;
    match head.code {
        None => {
            return Err(decode_error(format!(
                "HTTP {status}: the body has no Feishu `code`"
            )));
        }
        Some(0) if (200..300).contains(&status) => {}
        Some(code) => {
            return Err(Error::Api(Box::new(ApiError {
                endpoint: endpoint.id,
                status,
                code,
                msg: head.msg,
                log_id,
                documented: endpoint.documented_error(code, status),
                details: head.error,
            })));
        }
    }
    match endpoint.envelope {
        Envelope::Flat => serde_json::from_slice(body).map_err(|err| decode_error(err.to_string())),
        Envelope::Data => {
            #[derive(Deserialize)]
            struct Data<T> {
                data: Option<T>,
            }
            let data: Data<T> = serde_json::from_slice(body)
                .map_err(|err| decode_error(format!("`data`: {err}")))?;
            match data.data {
                Some(data) => Ok(data),
                // `"data": {}` may be left out entirely; that is only fine if T can be empty.
                None => serde_json::from_str("{}")
                    .map_err(|_| decode_error("the response has no `data`".to_owned())),
            }
        }
    }
}

impl<'a, R> IntoFuture for Call<'a, R>
where
    R: ApiRequest + 'a,
    R::Response: Send,
{
    type Output = Result<R::Response>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
