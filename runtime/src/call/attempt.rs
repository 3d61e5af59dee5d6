//! Sending a prepared call in attempts: each one gets the app's token (fetched or cached),
//! waits for its turn under the documented rate limit, sends and reads the answer; a
//! refused token is replaced once, and rate limits and passing failures are waited out as
//! the retry policy and the call's deadline allow.

use std::future::Future;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap};
use tokio::time::Instant;

use crate::auth::token::TokenKey;
use crate::call::endpoint::{Endpoint, Envelope};
use crate::call::options::Options;
use crate::call::prepare::{Auth, Prepared, ReadyBody, bearer};
use crate::call::response::{Answer, check};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry::{RetryPolicy, reset_after};
use crate::secret::{Redactor, Secret};
use crate::transfer::body::{ReadError, Received, read_file, read_limited};
use crate::transfer::idle::Progress;
use crate::wire::log_id;

/// Makes attempts until one succeeds, fails for good, or the retry policy or the
/// deadline says stop.
pub(super) async fn run(
    client: &Client,
    endpoint: &'static Endpoint,
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
    let deadline = deadline.as_ref();
    let span = tracing::Span::current();
    // `tries` counts against the policy; the repeat after a refused token does not.
    let (mut attempt, mut tries, mut token_refreshed) = (0u32, 0u32, false);
    let mut waited = Duration::ZERO;
    loop {
        attempt += 1;
        tries += 1;
        span.record("attempt", attempt);
        let mut headers = prepared.headers.clone();
        let app_token = match app_token(client, &prepared.auth, deadline, &mut headers).await? {
            Ok(token) => token,
            // A token endpoint that is down or limited may recover: the call waits and
            // tries again as for any other transient failure.
            Err(error) => match token_retry_wait(policy, tries, deadline, &error) {
                Some(wait) => {
                    tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                None => return Err(error),
            },
        };
        if let Some(pacer) = &inner.pacer {
            let tenant = options.tenant_key.as_deref();
            let turn = pacer.wait_turn(endpoint.id, tenant, endpoint.rate_limit);
            within(deadline, turn).await?;
        }
        let (error, headers) = match send(client, endpoint, &prepared, headers, deadline).await? {
            Ok(sent) => match judge(client, endpoint, &prepared, sent, app_token.as_ref()) {
                Verdict::Accepted(answer) => {
                    return Ok((answer, app_token.map(|(_, token)| token)));
                }
                Verdict::Refused { error, headers } => (error, Some(headers)),
            },
            Err(error) => (error, None),
        };

        // A refused app token: drop it, fetch a new one, and repeat once.
        if let Some((key, token)) = app_token
            && !token_refreshed
            && refuses_token(&error)
        {
            if !prepared.body.replayable() {
                return Err(not_retried(endpoint, error));
            }
            token_refreshed = true;
            tries -= 1;
            within(deadline, client.evict_token(key, &token)).await?;
            tracing::info!(
                attempt,
                kind = key.kind.name(),
                "access token refused; retrying with a fresh one"
            );
            continue;
        }

        let (wait, error) = retry_wait(policy, tries, deadline, endpoint, error, headers.as_ref())?;
        if !prepared.body.replayable() {
            return Err(not_retried(endpoint, error));
        }
        waited += wait;
        span.record("wait_ms", waited.as_millis() as u64);
        tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying");
        tokio::time::sleep(wait).await;
    }
}

/// The app's access token for this attempt, set as its `Authorization` header; `None` for
/// a call that sends a user token or none. The inner error is a failed fetch, which may
/// be retried; the outer one ends the call (the deadline, a token no header can carry).
async fn app_token<'p>(
    client: &Client,
    auth: &'p Auth,
    deadline: Option<&Deadline>,
    headers: &mut HeaderMap,
) -> Result<std::result::Result<Option<(&'p TokenKey, Secret)>, Error>> {
    let Auth::App(key) = auth else {
        return Ok(Ok(None));
    };
    let token = match within(deadline, client.app_token(key)).await? {
        Ok(token) => token,
        Err(error) => return Ok(Err(error)),
    };
    let value = bearer(&token).ok_or_else(|| Error::Auth {
        kind: key.kind.name(),
        status: None,
        code: None,
        message: "the token is not a valid header value".to_owned(),
        log_id: None,
        source: None,
    })?;
    headers.insert(AUTHORIZATION, value);
    Ok(Ok(Some((key, token))))
}

/// What one attempt got back: the status, the headers and the body as read so far.
struct Sent {
    status: u16,
    headers: HeaderMap,
    received: Received,
    /// How long the transfer may stand still (a file's transfer only).
    idle: Option<Duration>,
}

/// Sends the request once and reads its answer, within the client's limits. The inner
/// error is this attempt's failure (which may be retried); the outer one is the deadline.
async fn send(
    client: &Client,
    endpoint: &'static Endpoint,
    prepared: &Prepared<'_>,
    headers: HeaderMap,
    deadline: Option<&Deadline>,
) -> Result<Result<Sent>> {
    let inner = &client.inner;
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
    // A file may take longer than any one timeout to send or receive: its transfer fails
    // when it stands still for the timeout (and at the call's deadline).
    let transfer = !endpoint.files.is_empty() || endpoint.envelope == Envelope::File;
    let idle = inner.timeout.filter(|_| transfer);
    if let Some(timeout) = inner.timeout.filter(|_| !transfer) {
        request = request.timeout(timeout);
    }
    let limit = inner.max_response_bytes;
    within(
        deadline,
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
                Ok(received) => Ok(Sent {
                    status,
                    headers,
                    received,
                    idle,
                }),
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
    .await
}

/// What Feishu made of an attempt.
enum Verdict {
    Accepted(Answer),
    /// Refused: the error (with every secret the attempt sent taken out), and the answer's
    /// headers, which say how long a rate limit lasts.
    Refused {
        error: Error,
        headers: HeaderMap,
    },
}

/// Reads Feishu's verdict on an attempt from its answer.
fn judge(
    client: &Client,
    endpoint: &'static Endpoint,
    prepared: &Prepared<'_>,
    sent: Sent,
    app_token: Option<&(&TokenKey, Secret)>,
) -> Verdict {
    let span = tracing::Span::current();
    let Sent {
        status,
        headers,
        received,
        idle,
    } = sent;
    span.record("status", status);
    let log_id = log_id(&headers);
    if let Some(log_id) = &log_id {
        span.record("log_id", log_id.as_str());
    }
    let (checked, body, rest) = match received {
        Received::Whole(bytes) => (check(endpoint, status, log_id, &bytes), bytes, None),
        Received::File { prefix, rest } => (Ok(log_id), prefix, rest),
    };
    match checked {
        Ok(log_id) => Verdict::Accepted(Answer {
            endpoint,
            status,
            log_id,
            headers,
            body,
            rest,
            limit: client.inner.max_response_bytes,
            idle,
        }),
        Err(error) => {
            let user = match &prepared.auth {
                Auth::User(token) => Some(token),
                _ => None,
            };
            let sent = app_token.map(|(_, token)| token);
            Verdict::Refused {
                error: error.redacted(&redactor(client, user, sent)),
                headers,
            }
        }
    }
}

/// How long to wait before the next attempt after `error`, with the error kept for the
/// log; or the error the call ends with: a rate limit waited out no longer (the policy's
/// attempts or longest wait, or the deadline, say stop), or a failure that would not pass
/// or may not be repeated.
fn retry_wait(
    policy: &RetryPolicy,
    tries: u32,
    deadline: Option<&Deadline>,
    endpoint: &'static Endpoint,
    error: Error,
    headers: Option<&HeaderMap>,
) -> Result<(Duration, Error)> {
    if let Some(status) = rate_limited(&error) {
        let reset = headers.and_then(reset_after);
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
            .and_then(|h| policy.rate_limit_wait(h))
            .unwrap_or_else(|| policy.backoff(tries));
        let floor = reset.unwrap_or(wait);
        if floor > policy.max_rate_limit_wait {
            return Err(give_up(tries));
        }
        // Jitter never takes a wait past the longest one the policy accepts.
        let wait = wait.min(policy.max_rate_limit_wait);
        // The window must reset before the deadline, and the next attempt needs time too:
        // jitter may use at most half of what the reset leaves.
        let wait = match deadline {
            Some(deadline) if floor >= deadline.remaining() => return Err(give_up(tries)),
            Some(deadline) => wait.min(floor + (deadline.remaining() - floor) / 2),
            None => wait,
        };
        return Ok((wait, error));
    }
    let repeatable =
        endpoint.method.is_idempotent() || policy.retry_non_idempotent || never_sent(&error);
    if !(transient(&error) && tries < policy.max_attempts && repeatable) {
        return Err(error);
    }
    let wait = policy.backoff(tries);
    match deadline {
        Some(deadline) if wait >= deadline.remaining() => Err(error),
        _ => Ok((wait, error)),
    }
}

/// The error of a call that failed with `error` and could have been tried again, but for
/// a body that cannot be sent twice.
fn not_retried(endpoint: &'static Endpoint, error: Error) -> Error {
    Error::NotRetried {
        endpoint: endpoint.id,
        source: Box::new(error),
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
pub(super) fn redactor(client: &Client, user: Option<&Secret>, app: Option<&Secret>) -> Redactor {
    let inner = &client.inner;
    let mut redactor = Redactor::default();
    redactor.add(inner.auth.app_secret.expose());
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
        Error::Api(api) => api.refuses_cached_token(),
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
