//! Why the dispatcher refused or failed a request.

use std::time::Duration;

use http::StatusCode;

/// The error a handler may return: any error, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a request Feishu pushed was not handled. Each variant maps to the HTTP status the
/// dispatcher answers with ([`WebhookError::status`]). No variant ever holds the
/// Verification Token, the Encrypt Key or anything derived from them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The request was not a `POST`: Feishu only ever posts.
    #[error("only POST is accepted, not {method}")]
    MethodNotAllowed {
        /// The method the request used.
        method: http::Method,
    },
    /// The body is bigger than the dispatcher's
    /// [`max_body_bytes`](super::DispatcherBuilder::max_body_bytes).
    #[error("the body is over the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body could not be read from the connection.
    #[error("cannot read the body: {0}")]
    Body(#[source] BoxError),
    /// The body did not arrive whole within the dispatcher's
    /// [`body_timeout`](super::DispatcherBuilder::body_timeout).
    #[error("the body did not arrive within {after:?}")]
    BodyTimeout {
        /// The time allowed.
        after: std::time::Duration,
    },
    /// The body (or what its `encrypt` field decrypts to) is not JSON.
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// The body is JSON, but not a Feishu envelope: neither a URL verification, nor a 2.0
    /// event (`schema`, `header`, `event`), nor a 1.0 `event_callback`.
    #[error("the body is not a Feishu event: {0}")]
    NotAnEnvelope(String),
    /// The body is encrypted (`{"encrypt": …}`) but the dispatcher has no Encrypt Key.
    #[error("the body is encrypted but no Encrypt Key is configured")]
    EncryptKeyMissing,
    /// The `encrypt` field does not decrypt to JSON with the configured Encrypt Key: a wrong
    /// key, or a corrupt or forged ciphertext. Which of those is deliberately not said (nor
    /// whether the padding was valid): telling them apart would let a forger probe the
    /// cipher (a padding oracle).
    #[error("cannot decrypt the body with the configured Encrypt Key")]
    Undecryptable,
    /// An Encrypt Key is configured and the request lacks `X-Lark-Signature`,
    /// `X-Lark-Request-Timestamp` or `X-Lark-Request-Nonce`.
    #[error("the request is not signed: the {header} header is missing or not text")]
    MissingSignature {
        /// The header that is missing.
        header: &'static str,
    },
    /// `X-Lark-Signature` is not the SHA-256 of timestamp, nonce, Encrypt Key and body.
    #[error("the X-Lark-Signature header does not match the body")]
    BadSignature,
    /// The verification token in the body is missing or not the configured one.
    #[error("the verification token is missing or wrong")]
    BadToken,
    /// A timestamp (`X-Lark-Request-Timestamp`, or the envelope's create time) is not a
    /// number.
    #[error("the timestamp {value:?} is not a Unix time")]
    InvalidTimestamp {
        /// The value received.
        value: String,
    },
    /// The request is older than the replay window, or further ahead than it: a replayed
    /// (or badly clocked) request.
    #[error("the request is {offset:?} {}, outside the replay window of {window:?}", if *ahead { "in the future" } else { "old" })]
    Stale {
        /// How far the request's time is from the dispatcher's clock.
        offset: Duration,
        /// Whether the request's time is in the future.
        ahead: bool,
        /// The configured window.
        window: Duration,
    },
    /// The same event is being handled right now (Feishu delivered it again while its
    /// handler was still running). Refused with 503 so that Feishu retries later: by then
    /// the first delivery has either succeeded (the retry is a duplicate) or failed (the
    /// retry runs the handler again), and the event is not lost either way.
    #[error("event {event_id} is being handled; deliver it again later")]
    InProgress {
        /// The event's `event_id` (2.0) or `uuid` (1.0).
        event_id: String,
    },
    /// The event's payload does not decode into its handler's type.
    #[error("event {event_type}: the payload does not match its type at `{path}`: {message}")]
    Payload {
        /// The event type.
        event_type: String,
        /// Where in the payload decoding failed, e.g. `message.mentions[0].key`.
        path: String,
        /// What is wrong there.
        message: String,
    },
    /// The handler returned an error.
    #[error("event {event_type} ({event_id}): the handler failed: {source}")]
    Handler {
        /// The event type.
        event_type: String,
        /// The event's `event_id` (2.0) or `uuid` (1.0).
        event_id: String,
        /// The handler's error.
        #[source]
        source: BoxError,
    },
    /// The handler panicked.
    #[error("event {event_type} ({event_id}): the handler panicked")]
    HandlerPanicked {
        /// The event type.
        event_type: String,
        /// The event's `event_id` (2.0) or `uuid` (1.0).
        event_id: String,
    },
}

impl WebhookError {
    /// The HTTP status the dispatcher answers this error with: 401 for a request that fails
    /// authentication or the replay window, 4xx for a malformed request, 503 for an event
    /// being handled, 500 for a handler that failed. Feishu delivers an event again after
    /// any answer but 200.
    pub fn status(&self) -> StatusCode {
        use WebhookError::*;
        match self {
            MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Body(_)
            | InvalidJson(_)
            | NotAnEnvelope(_)
            | EncryptKeyMissing
            | Undecryptable
            | InvalidTimestamp { .. }
            | Payload { .. } => StatusCode::BAD_REQUEST,
            MissingSignature { .. } | BadSignature | BadToken | Stale { .. } => {
                StatusCode::UNAUTHORIZED
            }
            InProgress { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Handler { .. } | HandlerPanicked { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The text of the answer's body (`{"msg": …}`). A handler's own error stays out of
    /// it, since it may tell more about the app than Feishu needs to know; it is in
    /// [`WebhookResponse::error`](super::WebhookResponse::error) and the log.
    pub(crate) fn public_message(&self) -> String {
        match self {
            WebhookError::Handler {
                event_type,
                event_id,
                ..
            } => format!("event {event_type} ({event_id}): the handler failed"),
            other => other.to_string(),
        }
    }
}
