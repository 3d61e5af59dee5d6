//! One call: a [`Call`] carries a request and its own options until it is awaited, then
//! is prepared (everything that can be refused is checked before anything is sent:
//! [`prepare`]) and sent in attempts with token refresh, rate-limit waits and retries
//! ([`attempt`]). Beside it, what a call is made of: the request a generated type
//! describes ([`request`], [`endpoint`]), reading its answer ([`response`]), walking
//! pages ([`paging`]), and calls the generated crates do not have ([`raw`]).

mod attempt;
pub(crate) mod endpoint;
mod options;
pub(crate) mod paging;
mod prepare;
pub(crate) mod raw;
pub(crate) mod request;
pub(crate) mod response;

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use reqwest::header::HeaderMap;
use tracing::Instrument;
use tracing::field::Empty;

use crate::call::request::{ApiRequest, Params};
use crate::call::response::Payload;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use attempt::{redactor, run};
use options::Options;
use prepare::{Body, Parts, form_fields, prepare};

/// A call being set up. Await it (or its [`send`](Call::send)) to make the request.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<'a, R> {
    client: &'a Client,
    request: R,
    options: Options,
}

impl<R: fmt::Debug> fmt::Debug for Call<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = &self.options;
        f.debug_struct("Call")
            .field("request", &self.request)
            .field("user_access_token", &options.user_access_token)
            // Header values may carry credentials of their own; only the names are shown.
            .field(
                "headers",
                &options
                    .headers
                    .iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            )
            .field("request_id", &options.request_id)
            .field("tenant_key", &options.tenant_key)
            .field("timeout", &options.timeout)
            .field("retry", &options.retry)
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
            options: Options::default(),
        }
    }

    /// Acts for a user: sends this `user_access_token` instead of the app's token. Required
    /// by endpoints that take only user tokens.
    pub fn user_access_token(mut self, token: impl Into<Secret>) -> Self {
        self.options.user_access_token = Some(token.into());
        self
    }

    /// Adds a header to this call.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.headers.push((name.into(), value.into()));
        self
    }

    /// Sends `X-Request-Id`, to find the call in Feishu's logs.
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.options.request_id = Some(request_id.into());
        self
    }

    /// The tenant a marketplace app acts for: its `tenant_access_token` is the one of this
    /// `tenant_key` (from the event or callback that brought the tenant).
    pub fn tenant_key(mut self, tenant_key: impl Into<String>) -> Self {
        self.options.tenant_key = Some(tenant_key.into());
        self
    }

    /// The time this whole call may take: waiting for an access token, every attempt and
    /// every wait between attempts. Overrides the client's
    /// [`call_timeout`](crate::client::ClientBuilder::call_timeout); each HTTP request is also
    /// bounded by the client's [`timeout`](crate::client::ClientBuilder::timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// How this call retries, instead of the client's policy; [`RetryPolicy::none`]
    /// turns retries off.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.options.retry = Some(policy);
        self
    }

    /// The request this call will send.
    pub fn request(&self) -> &R {
        &self.request
    }

    pub(crate) fn request_mut(&mut self) -> &mut R {
        &mut self.request
    }

    /// Sends the request and returns the response's payload: its JSON `data`, or for a
    /// download a [`Download`](crate::transfer::download::Download) of the file.
    pub async fn send(self) -> Result<R::Response> {
        self.send_ref().await
    }

    /// Sends the request and returns the response's payload with the answer's
    /// [`Metadata`]: its status, log id and headers, for callers who log them.
    pub async fn send_with_metadata(self) -> Result<(R::Response, Metadata)> {
        self.send_inner(true)
            .await
            .map(|(payload, metadata)| (payload, metadata.unwrap_or_default()))
    }

    /// Sends the request, keeping the call for another page.
    pub(crate) async fn send_ref(&self) -> Result<R::Response> {
        self.send_inner(false).await.map(|(payload, _)| payload)
    }

    /// Sends the request; the answer's metadata is kept only when `metadata` asks for it.
    async fn send_inner(&self, metadata: bool) -> Result<(R::Response, Option<Metadata>)> {
        let endpoint = self.request.endpoint();
        let span = tracing::info_span!(
            "feishu.call",
            endpoint = endpoint.id,
            method = endpoint.method.as_str(),
            path = endpoint.path,
            attempt = Empty,
            status = Empty,
            log_id = Empty,
            wait_ms = Empty,
        );
        let started = std::time::Instant::now();
        let called = async move {
            let parts = self.parts()?;
            let prepared = prepare(self.client, endpoint, &self.options, parts).await?;
            let (answer, app_token) = run(self.client, endpoint, &self.options, prepared).await?;
            let metadata = metadata.then(|| Metadata {
                status: answer.status,
                log_id: answer.log_id.clone(),
                headers: answer.headers.clone(),
            });
            let payload = R::Response::from_answer(answer).map_err(|error| {
                let user = self.options.user_access_token.as_ref();
                error.redacted(&redactor(self.client, user, app_token.as_ref()))
            })?;
            Ok((payload, metadata))
        };
        async move {
            let result = called.await;
            // One line per call at debug level, inside the span that carries its
            // endpoint, attempts, status and log id.
            let duration_ms = started.elapsed().as_millis() as u64;
            match &result {
                Ok(_) => tracing::debug!(duration_ms, "call answered"),
                Err(error) => tracing::debug!(duration_ms, error = %error, "call failed"),
            }
            result
        }
        .instrument(span)
        .await
    }

    /// The request's documented rules, path, query, body and header parameters: the only
    /// steps that need its type.
    fn parts(&self) -> Result<Parts<'_>> {
        let mut violations = Vec::new();
        self.request.validate(&mut violations);
        if !violations.is_empty() {
            let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
            return Err(Error::InvalidRequest {
                endpoint: self.request.endpoint().id,
                message: format!("the request breaks documented rules: {}", list.join("; ")),
                violations,
            });
        }
        let mut query = Params::default();
        self.request.query(&mut query);
        let mut headers = Params::default();
        self.request.headers(&mut headers);
        let body = if self.request.endpoint().files.is_empty() {
            match self.request.body() {
                Some(body) => serde_json::to_vec(body)
                    .map(Body::Json)
                    .map_err(|err| format!("cannot serialize the body: {err}")),
                None => Ok(Body::None),
            }
        } else {
            let fields = self.request.body().map_or(Ok(Vec::new()), form_fields);
            fields.map(|fields| Body::Form {
                fields,
                files: self.request.files(),
            })
        };
        Ok(Parts {
            path: self.request.path(),
            query,
            body,
            headers,
        })
    }
}

/// What a successful answer said besides its payload
/// ([`Call::send_with_metadata`]).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Metadata {
    /// The HTTP status.
    pub status: u16,
    /// The `X-Tt-Logid` header: quote it when asking Feishu for help.
    pub log_id: Option<String>,
    /// All the response headers (rate-limit headers such as `x-ogw-ratelimit-remaining`
    /// among them).
    pub headers: HeaderMap,
}

impl<'a, R> IntoFuture for Call<'a, R>
where
    R: ApiRequest + 'a,
{
    type Output = Result<R::Response>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
