//! The dispatcher over HTTP: the transport-independent request and answer of
//! [`Dispatcher::handle`], and the `tower_service::Service` that mounts the dispatcher in
//! axum or hyper.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};

use super::card::CardResponse;
use super::dispatcher::log_error;
use super::{BoxError, Dispatcher, WebhookError};

/// A request Feishu posted, its body read whole: what [`Dispatcher::handle`] takes, for
/// servers that are not tower-based.
#[derive(Clone, Default)]
pub struct WebhookRequest {
    /// The request's headers; the `X-Lark-*` ones carry the signature.
    pub headers: HeaderMap,
    /// The raw body, exactly as received: the signature covers its bytes.
    pub body: Bytes,
}

impl WebhookRequest {
    /// A request with these headers and body.
    pub fn new(headers: HeaderMap, body: impl Into<Bytes>) -> Self {
        WebhookRequest {
            headers,
            body: body.into(),
        }
    }
}

impl fmt::Debug for WebhookRequest {
    // A plaintext body holds the verification token: only its size is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The answer to a request: send `status` and `body` (JSON) back to Feishu.
#[derive(Debug)]
#[non_exhaustive]
pub struct WebhookResponse {
    /// 200 when the request was handled (or is a duplicate, or has no handler); the
    /// error's [status](WebhookError::status) otherwise.
    pub status: StatusCode,
    /// The JSON body: `{"challenge": …}` for the URL verification, the
    /// [`CardResponse`] for a card callback, `{}` for an event, `{"msg": …}` for an error.
    pub body: Bytes,
    /// Why the request was refused or failed, for the caller's own logs and metrics (the
    /// dispatcher logs it too, with `tracing`).
    pub error: Option<WebhookError>,
}

impl WebhookResponse {
    pub(crate) fn from_error(error: WebhookError) -> Self {
        let body = serde_json::json!({ "msg": error.public_message() });
        WebhookResponse {
            status: error.status(),
            body: Bytes::from(body.to_string()),
            error: Some(error),
        }
    }

    fn ok(body: impl Into<Bytes>) -> Self {
        WebhookResponse {
            status: StatusCode::OK,
            body: body.into(),
            error: None,
        }
    }

    /// The answer as an HTTP response, with its JSON content type (and `Allow: POST` for
    /// a 405).
    pub fn into_http(self) -> http::Response<Full<Bytes>> {
        let mut response = http::Response::new(Full::new(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}

/// What a request that was not refused is answered with.
pub(crate) enum Reply {
    /// The URL verification's challenge, echoed.
    Challenge(String),
    /// An event handled (or a duplicate, or one nothing handles).
    Ack,
    /// A card callback's answer.
    Card(CardResponse),
}

impl Reply {
    pub(crate) fn into_response(self) -> WebhookResponse {
        match self {
            Reply::Challenge(challenge) => {
                WebhookResponse::ok(serde_json::json!({ "challenge": challenge }).to_string())
            }
            Reply::Ack => WebhookResponse::ok(Bytes::from_static(b"{}")),
            // A `CardResponse` is strings and JSON values: serializing it cannot fail, and
            // `{}` (leave the card alone) would be the safe answer if it did.
            Reply::Card(card) => {
                WebhookResponse::ok(serde_json::to_vec(&card).unwrap_or_else(|_| b"{}".to_vec()))
            }
        }
    }
}

impl Dispatcher {
    /// Handles an HTTP request: refuses anything but `POST` (405), reads the body up to
    /// [`max_body_bytes`](super::DispatcherBuilder::max_body_bytes) (413 beyond, without
    /// reading the rest, and at once when `Content-Length` says so), then answers as
    /// [`Dispatcher::handle`] does. For servers whose handlers take an `http::Request`;
    /// tower-based servers can mount the dispatcher itself, a `tower_service::Service`.
    pub async fn handle_http<B>(&self, request: http::Request<B>) -> http::Response<Full<Bytes>>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        let read = if parts.method == Method::POST {
            read_body(body, self.max_body_bytes()).await
        } else {
            Err(WebhookError::MethodNotAllowed {
                method: parts.method,
            })
        };
        let response = match read {
            Ok(body) => self.handle(WebhookRequest::new(parts.headers, body)).await,
            Err(err) => {
                log_error(&err);
                WebhookResponse::from_error(err)
            }
        };
        response.into_http()
    }
}

/// Reads a body of at most `limit` bytes.
async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, WebhookError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    // A declared length (Content-Length) over the limit is refused before reading.
    if body.size_hint().lower() > u64::try_from(limit).unwrap_or(u64::MAX) {
        return Err(WebhookError::BodyTooLarge { limit });
    }
    // Otherwise the reading stops as soon as the limit is passed.
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(WebhookError::BodyTooLarge { limit }),
        Err(err) => Err(WebhookError::Body(err)),
    }
}

/// Mounts the dispatcher in axum (`Router::route_service`) or hyper (through
/// `hyper_util::service::TowerToHyperService`). It never fails: every outcome is a response.
impl<B> tower_service::Service<http::Request<B>> for Dispatcher
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let dispatcher = self.clone();
        Box::pin(async move { Ok(dispatcher.handle_http(request).await) })
    }
}
