//! The transport-independent request and answer of [`Dispatcher::handle`](super::Dispatcher::handle):
//! a request Feishu posted to the app's request URL, and what the app answers it.

use std::fmt;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, StatusCode};
use http_body_util::Full;

use super::WebhookError;
use super::card::{Card, CardResponse};

/// A request Feishu posted, its body read whole: what [`Dispatcher::handle`](super::Dispatcher::handle) takes, for
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
    /// A 1.0 card callback's answer: Feishu takes the new card itself as the body.
    CardV1(CardResponse),
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
            Reply::Card(card) => WebhookResponse::ok(json_or_empty(&card)),
            // The old card request URL updates the card with the card JSON answered; a
            // toast or a template goes in the 2.0 form, which the old URL has no other way
            // to say.
            Reply::CardV1(CardResponse {
                toast: None,
                card: Some(Card::Raw(card)),
            }) => WebhookResponse::ok(json_or_empty(&card)),
            Reply::CardV1(answer) => WebhookResponse::ok(json_or_empty(&answer)),
        }
    }
}

/// A value as JSON. A card answer is strings and JSON values: serializing it cannot fail,
/// and `{}` (leave the card alone) would be the safe answer if it did.
fn json_or_empty(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}
