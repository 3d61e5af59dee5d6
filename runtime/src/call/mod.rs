//! One call: per-call options, and sending a request through the client, with token
//! refresh, rate-limit waits and retries. Beside it, what a call is made of: the request
//! a generated type describes ([`request`]), reading its answer ([`response`]), walking
//! pages ([`paging`]), and calls the generated crates do not have ([`raw`]).

pub(crate) mod paging;
pub(crate) mod raw;
pub(crate) mod request;
pub(crate) mod response;

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use reqwest::header::{
    AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT,
};
use tokio::time::Instant;
use tracing::Instrument;
use tracing::field::Empty;

use crate::auth::TokenKey;
use crate::auth::TokenKind;
use crate::call::request::{ApiRequest, Envelope, Host, Params};
use crate::call::response::Payload;
use crate::call::response::{Answer, check};
use crate::client::AppKind;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::retry::reset_after;
use crate::secret::Redactor;
use crate::secret::Secret;
use crate::transfer::body::{ReadError, Received, read_file, read_limited};
use crate::transfer::idle::Progress;
use crate::transfer::upload::Upload;
use crate::transfer::upload::UploadFile;
use crate::wire::{REQUEST_ID_HEADER, log_id};

const HELPDESK_HEADER_LOWER: &str = "x-lark-helpdesk-authorization";

/// A call being set up. Await it (or its [`send`](Call::send)) to make the request.
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<'a, R> {
    client: &'a Client,
    request: R,
    options: Options,
}

/// A call's own settings. Kept apart from the request so that everything after building
/// the request (auth, attempts, retries) is compiled once, not once per endpoint.
#[derive(Default)]
struct Options {
    user_access_token: Option<Secret>,
    headers: Vec<(String, String)>,
    request_id: Option<String>,
    tenant_key: Option<String>,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
}

/// What only the request's own type knows, computed before anything generic-free runs.
struct Parts<'a> {
    path: String,
    query: Params,
    body: std::result::Result<Body<'a>, String>,
    headers: Params,
}

/// A request's body: none, JSON, or the form fields and files of an upload.
enum Body<'a> {
    None,
    Json(Vec<u8>),
    Form {
        fields: Vec<(String, String)>,
        files: Vec<(&'static str, &'a UploadFile)>,
    },
}

/// The body as each attempt sends it, after the checks made before the first.
enum ReadyBody<'a> {
    None,
    Json(Vec<u8>),
    Form(Upload<'a>),
}

impl ReadyBody<'_> {
    /// Whether another attempt can send the body again.
    fn replayable(&self) -> bool {
        match self {
            ReadyBody::Form(upload) => upload.replayable(),
            _ => true,
        }
    }
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
        async move {
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

/// The text fields of an upload's form: the body's fields, strings as they are and other
/// values as JSON.
fn form_fields(body: &impl serde::Serialize) -> std::result::Result<Vec<(String, String)>, String> {
    let fail = |err: &dyn fmt::Display| format!("cannot serialize the form fields: {err}");
    match serde_json::to_value(body).map_err(|err| fail(&err))? {
        serde_json::Value::Object(fields) => Ok(fields
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => (name, text),
                other => (name, other.to_string()),
            })
            .collect()),
        other => Err(fail(&format!("not an object: {other}"))),
    }
}

/// Everything that can be refused is checked here, before anything is sent: the auth,
/// the URL, the headers, and an upload's files.
async fn prepare<'a>(
    client: &Client,
    endpoint: &'static crate::call::request::Endpoint,
    options: &Options,
    parts: Parts<'a>,
) -> Result<Prepared<'a>> {
    let inner = &client.inner;
    let invalid = |message: &str| Error::InvalidRequest {
        endpoint: endpoint.id,
        message: message.to_owned(),
        violations: Vec::new(),
    };
    if let Some(policy) = &options.retry {
        policy.check().map_err(|err| invalid(&err.to_string()))?;
    }

    let auth = match (&options.user_access_token, endpoint.tokens) {
        (Some(token), tokens) if tokens.contains(&TokenKind::User) => Auth::User(token.clone()),
        (Some(_), _) => {
            return Err(invalid("the endpoint does not accept a user_access_token"));
        }
        (None, []) => Auth::None,
        (None, tokens) => {
            let kind = *tokens.iter().find(|t| **t != TokenKind::User).ok_or_else(|| {
                invalid("the endpoint only accepts a user_access_token: set one with Call::user_access_token")
            })?;
            let tenant_key = match (&inner.app_kind, kind, &options.tenant_key) {
                (AppKind::Marketplace { .. }, TokenKind::Tenant, None) => {
                    return Err(invalid(
                        "a marketplace app acts for a tenant: name it with Call::tenant_key",
                    ));
                }
                (AppKind::Marketplace { .. }, TokenKind::Tenant, Some(key)) => Some(key.clone()),
                _ => None,
            };
            Auth::App(TokenKey { kind, tenant_key })
        }
    };
    if options.tenant_key.is_some()
        && !matches!(
            &auth,
            Auth::App(TokenKey {
                tenant_key: Some(_),
                ..
            })
        )
    {
        return Err(invalid(
            "a tenant_key only applies to a marketplace app's tenant_access_token calls",
        ));
    }
    let helpdesk = match (endpoint.helpdesk, &inner.helpdesk) {
        (false, _) => None,
        (true, Some(value)) => Some(value.clone()),
        (true, None) => {
            return Err(invalid(
                "the endpoint needs helpdesk credentials: set them with ClientBuilder::helpdesk",
            ));
        }
    };
    let Parts {
        path,
        query,
        body,
        headers: params,
    } = parts;
    // Documented paths have no empty segments (but a trailing slash, for a few), so an
    // empty one is an empty parameter, which would address another endpoint. A raw call
    // (no documented path) has checked its own path.
    let segments = match endpoint.path.ends_with('/') {
        true => path.strip_suffix('/').unwrap_or(&path),
        false => &path,
    };
    if !endpoint.path.is_empty() && segments.split('/').skip(1).any(str::is_empty) {
        return Err(invalid("a path parameter is empty"));
    }
    let base_url = match endpoint.host {
        Host::Open => &inner.base_url,
        Host::Www => &inner.www_url,
    };
    let mut url = reqwest::Url::parse(&format!("{base_url}{path}"))
        .map_err(|err| invalid(&format!("bad URL: {err}")))?;
    if !query.0.is_empty() {
        url.query_pairs_mut().extend_pairs(query.iter());
    }
    let body = body.map_err(|message| invalid(&message))?;
    // Later entries win: documented parameters, then the request id, then the caller's
    // own headers.
    let mut headers = HeaderMap::new();
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(crate::wire::USER_AGENT),
    );
    if matches!(body, Body::Json(_)) {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    let request_id = options
        .request_id
        .as_deref()
        .map(|id| (REQUEST_ID_HEADER, id));
    let custom = options
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()));
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
    if let Auth::User(token) = &auth {
        headers.insert(
            AUTHORIZATION,
            bearer(token)
                .ok_or_else(|| invalid("the user_access_token is not a valid header value"))?,
        );
    }
    let body = match body {
        Body::None => ReadyBody::None,
        Body::Json(json) => ReadyBody::Json(json),
        Body::Form { fields, files } => {
            ReadyBody::Form(Upload::check(endpoint.id, endpoint.files, fields, files).await?)
        }
    };
    Ok(Prepared {
        url,
        headers,
        body,
        auth,
    })
}

/// Makes attempts until one succeeds, fails for good, or the retry policy or the
/// deadline says stop.
async fn run(
    client: &Client,
    endpoint: &'static crate::call::request::Endpoint,
    options: &Options,
    prepared: Prepared<'_>,
) -> Result<(Answer, Option<Secret>)> {
    let inner = &client.inner;
    let policy = options.retry.as_ref().unwrap_or(&inner.retry);
    let timeout = options.timeout.or(inner.call_timeout);
    // A timeout too long for the clock to reach is no deadline at all.
    let deadline = timeout.and_then(|after| {
        Some(Deadline {
            at: Instant::now().checked_add(after)?,
            after,
            endpoint: endpoint.id,
        })
    });
    let span = tracing::Span::current();
    // `tries` counts against the policy; the repeat after a refused token does not.
    let (mut attempt, mut tries, mut token_refreshed) = (0u32, 0u32, false);
    let mut waited = Duration::ZERO;
    loop {
        attempt += 1;
        tries += 1;
        span.record("attempt", attempt);
        let mut headers = prepared.headers.clone();
        let app_token = match &prepared.auth {
            Auth::App(key) => match within(deadline.as_ref(), client.app_token(key)).await? {
                Ok(token) => {
                    headers.insert(
                        AUTHORIZATION,
                        bearer(&token).ok_or_else(|| Error::Auth {
                            kind: key.kind.name(),
                            status: None,
                            code: None,
                            message: "the token is not a valid header value".to_owned(),
                            log_id: None,
                            source: None,
                        })?,
                    );
                    Some((key, token))
                }
                // A token endpoint that is down or limited may recover: the call waits
                // and tries again as for any other transient failure.
                Err(error) => match token_retry_wait(policy, tries, deadline.as_ref(), &error) {
                    Some(wait) => {
                        tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    None => return Err(error),
                },
            },
            _ => None,
        };
        if let Some(pacer) = &inner.pacer {
            let tenant = options.tenant_key.as_deref();
            let turn = pacer.wait_turn(endpoint.id, tenant, endpoint.rate_limit);
            within(deadline.as_ref(), turn).await?;
        }
        let mut request = inner
            .http
            .request(endpoint.method.to_reqwest(), prepared.url.clone())
            .headers(headers);
        let progress = Progress::start();
        match &prepared.body {
            ReadyBody::None => {}
            ReadyBody::Json(json) => request = request.body(json.clone()),
            ReadyBody::Form(upload) => {
                request = request.multipart(upload.form(endpoint.id, &progress).await?)
            }
        }
        // A file may take longer than any one timeout to send or receive: its transfer
        // fails when it stands still for the timeout (and at the call's deadline).
        let transfer = !endpoint.files.is_empty() || endpoint.envelope == Envelope::File;
        let idle = inner.timeout.filter(|_| transfer);
        if let Some(timeout) = inner.timeout.filter(|_| !transfer) {
            request = request.timeout(timeout);
        }
        let limit = inner.max_response_bytes;
        let answer = within(
            deadline.as_ref(),
            unless_stalled(endpoint.id, idle, &progress, async {
                let response = request.send().await.map_err(|source| Error::Transport {
                    endpoint: endpoint.id,
                    source,
                })?;
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let received = match endpoint.envelope {
                    Envelope::File => read_file(response, limit, &progress).await,
                    _ => read_limited(response, limit, Some(&progress))
                        .await
                        .map(Received::Whole),
                };
                match received {
                    Ok(received) => Ok((status, headers, received)),
                    Err(ReadError::TooLarge) => Err(Error::TooLarge {
                        endpoint: endpoint.id,
                        status,
                        log_id: log_id(&headers),
                        limit,
                    }),
                    Err(ReadError::Transport(err)) => Err(Error::Transport {
                        endpoint: endpoint.id,
                        source: err,
                    }),
                }
            }),
        )
        .await?;

        let (error, headers) = match answer {
            Ok((status, headers, received)) => {
                span.record("status", status);
                let log_id = log_id(&headers);
                if let Some(log_id) = &log_id {
                    span.record("log_id", log_id.as_str());
                }
                let (checked, body, rest) = match received {
                    Received::Whole(bytes) => {
                        (check(endpoint, status, log_id, &bytes), bytes, None)
                    }
                    Received::File { prefix, rest } => (Ok(log_id), prefix, rest),
                };
                match checked {
                    Ok(log_id) => {
                        let answer = Answer {
                            endpoint,
                            status,
                            log_id,
                            headers,
                            body,
                            rest,
                            limit,
                            idle,
                        };
                        return Ok((answer, app_token.map(|(_, token)| token)));
                    }
                    Err(error) => {
                        let user = match &prepared.auth {
                            Auth::User(token) => Some(token),
                            _ => None,
                        };
                        let sent = app_token.as_ref().map(|(_, token)| token);
                        (error.redacted(&redactor(client, user, sent)), Some(headers))
                    }
                }
            }
            Err(error) => (error, None),
        };

        let not_retried = |error| Error::NotRetried {
            endpoint: endpoint.id,
            source: Box::new(error),
        };
        // A refused app token: drop it, fetch a new one, and repeat once.
        if let Some((key, token)) = app_token
            && !token_refreshed
            && refuses_token(&error)
        {
            if !prepared.body.replayable() {
                return Err(not_retried(error));
            }
            token_refreshed = true;
            tries -= 1;
            within(deadline.as_ref(), client.evict_token(key, &token)).await?;
            tracing::info!(
                attempt,
                kind = key.kind.name(),
                "access token refused; retrying with a fresh one"
            );
            continue;
        }

        let wait = if let Some(status) = rate_limited(&error) {
            let reset = headers.as_ref().and_then(reset_after);
            let give_up = |attempts| {
                let log_id = error.log_id().map(str::to_owned);
                Error::RateLimited {
                    endpoint: endpoint.id,
                    attempts,
                    retry_after: reset,
                    status,
                    log_id,
                }
            };
            if tries >= policy.max_attempts {
                return Err(give_up(tries));
            }
            let wait = headers
                .as_ref()
                .and_then(|h| policy.rate_limit_wait(h))
                .unwrap_or_else(|| policy.backoff(tries));
            let floor = reset.unwrap_or(wait);
            if floor > policy.max_rate_limit_wait {
                return Err(give_up(tries));
            }
            // Jitter never takes a wait past the longest one the policy accepts.
            let wait = wait.min(policy.max_rate_limit_wait);
            // The window must reset before the deadline, and the next attempt needs
            // time too: jitter may use at most half of what the reset leaves.
            match &deadline {
                Some(deadline) if floor >= deadline.remaining() => {
                    return Err(give_up(tries));
                }
                Some(deadline) => wait.min(floor + (deadline.remaining() - floor) / 2),
                None => wait,
            }
        } else if transient(&error)
            && tries < policy.max_attempts
            && (endpoint.method.is_idempotent()
                || policy.retry_non_idempotent
                || never_sent(&error))
        {
            let wait = policy.backoff(tries);
            match &deadline {
                Some(deadline) if wait >= deadline.remaining() => return Err(error),
                _ => wait,
            }
        } else {
            return Err(error);
        };
        if !prepared.body.replayable() {
            return Err(not_retried(error));
        }
        waited += wait;
        span.record("wait_ms", waited.as_millis() as u64);
        tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying");
        tokio::time::sleep(wait).await;
    }
}

/// The wait before trying again after the access token could not be fetched, when the
/// token endpoint answered with a 5xx or a rate limit (it may recover) and the policy and
/// the deadline leave room for another attempt. Other failures (refused credentials, a
/// marketplace app still waiting for its ticket) would only fail again at once.
fn token_retry_wait(
    policy: &RetryPolicy,
    tries: u32,
    deadline: Option<&Deadline>,
    error: &Error,
) -> Option<Duration> {
    let passing = matches!(error, Error::Auth { status: Some(status), .. } if *status >= 500 || *status == 429);
    if !passing || tries >= policy.max_attempts {
        return None;
    }
    let wait = policy.backoff(tries);
    match deadline {
        Some(deadline) if wait >= deadline.remaining() => None,
        _ => Some(wait),
    }
}

/// Every secret an attempt may have sent: the app secret, the helpdesk credentials, and
/// the user or app token. Built only for an error, never on a call's successful path.
fn redactor(client: &Client, user: Option<&Secret>, app: Option<&Secret>) -> Redactor {
    let inner = &client.inner;
    let mut redactor = Redactor::default();
    redactor.add(inner.app_secret.expose());
    for secret in [&inner.helpdesk, &inner.helpdesk_token]
        .into_iter()
        .flatten()
    {
        redactor.add(secret.expose());
    }
    for token in [user, app].into_iter().flatten() {
        redactor.add(token.expose());
    }
    redactor
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

/// A request ready to send, but for the app's access token, which each attempt fetches
/// from the cache.
struct Prepared<'a> {
    url: reqwest::Url,
    headers: HeaderMap,
    body: ReadyBody<'a>,
    auth: Auth,
}

/// The token a call sends.
enum Auth {
    None,
    User(Secret),
    App(TokenKey),
}

fn bearer(token: &Secret) -> Option<HeaderValue> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose())).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The point in time a call must be done by.
struct Deadline {
    at: Instant,
    after: Duration,
    endpoint: &'static str,
}

impl Deadline {
    fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }
}

/// Runs `work`, cut off at the deadline if there is one.
async fn within<T>(deadline: Option<&Deadline>, work: impl Future<Output = T>) -> Result<T> {
    match deadline {
        None => Ok(work.await),
        Some(deadline) => tokio::time::timeout_at(deadline.at, work)
            .await
            .map_err(|_| Error::Timeout {
                endpoint: deadline.endpoint,
                after: deadline.after,
            }),
    }
}

/// Runs `work` (an attempt of a file transfer), failing it with [`Error::Stalled`] once
/// `progress` has stood still for `idle`.
async fn unless_stalled<T>(
    endpoint: &'static str,
    idle: Option<Duration>,
    progress: &Progress,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let Some(idle) = idle else {
        return work.await;
    };
    let (mut work, mut stalled) = (std::pin::pin!(work), std::pin::pin!(progress.stalled(idle)));
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(done) = work.as_mut().poll(cx) {
            return std::task::Poll::Ready(done);
        }
        stalled.as_mut().poll(cx).map(|()| {
            Err(Error::Stalled {
                endpoint,
                after: idle,
            })
        })
    })
    .await
}

/// Whether Feishu refused the access token as invalid or expired.
fn refuses_token(error: &Error) -> bool {
    match error {
        Error::Api(api) => api.is_invalid_token(),
        Error::Decode { status, .. } => *status == 401,
        _ => false,
    }
}

/// The HTTP status, if the answer says the call was rate-limited.
fn rate_limited(error: &Error) -> Option<u16> {
    match error {
        Error::Api(api) if api.is_rate_limited() => Some(api.status),
        Error::Decode { status: 429, .. } => Some(429),
        _ => None,
    }
}

/// Whether the failure may pass: a 5xx answer, a lost or failed connection, or a stalled
/// file transfer.
fn transient(error: &Error) -> bool {
    match error {
        Error::Api(api) => api.status >= 500,
        Error::Decode { status, .. } => *status >= 500,
        Error::Transport { .. } | Error::Stalled { .. } => true,
        _ => false,
    }
}

/// Whether the request certainly never reached the server, so sending it again cannot
/// do anything twice.
fn never_sent(error: &Error) -> bool {
    matches!(error, Error::Transport { source, .. } if source.is_connect())
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
