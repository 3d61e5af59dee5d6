//! The dispatcher over HTTP: the `tower_service::Service` that mounts the dispatcher in
//! axum or hyper, reading the body within its limit into a [`WebhookRequest`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Method;
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};

use super::dispatcher::log_error;
use super::webhook::{WebhookRequest, WebhookResponse};
use super::{BoxError, Dispatcher, WebhookError};

impl Dispatcher {
    /// Handles an HTTP request: refuses anything but `POST` (405), reads the body up to
    /// [`max_body_bytes`](super::DispatcherBuilder::max_body_bytes) (413 beyond, without
    /// reading the rest, and at once when `Content-Length` says so) and within
    /// [`body_timeout`](super::DispatcherBuilder::body_timeout) (408 after), then answers as
    /// [`Dispatcher::handle`] does. For servers whose handlers take an `http::Request`;
    /// tower-based servers can mount the dispatcher itself, a `tower_service::Service`.
    pub async fn handle_http<B>(&self, request: http::Request<B>) -> http::Response<Full<Bytes>>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        let read = if parts.method == Method::POST {
            let limit = self.max_body_bytes();
            match self.body_timeout() {
                Some(after) => tokio::time::timeout(after, read_body(body, limit))
                    .await
                    .unwrap_or(Err(WebhookError::BodyTimeout { after })),
                None => read_body(body, limit).await,
            }
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
