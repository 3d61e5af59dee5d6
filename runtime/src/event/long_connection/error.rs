//! Why the long connection could not connect, or stopped.

/// Why [`LongConnection::run`](super::LongConnection::run) returned, or why one connection
/// attempt failed (logged, then retried, unless [fatal](Self::is_fatal)). No variant holds
/// the app secret or the connection URL, whose query carries a ticket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LongConnectionError {
    /// The settings cannot work: a `wss://` URL without TLS, an endpoint URL that is not
    /// one, a zero interval. Fatal.
    #[error("long connection: {0}")]
    Config(String),
    /// Feishu refused the app: wrong credentials, not an internal app, long connections
    /// not enabled, too many connections (1000040350), banned (403). Fatal: retrying
    /// would not help.
    #[error("Feishu refused the long connection: code {code}: {message}")]
    Refused {
        /// Feishu's code.
        code: i64,
        /// Feishu's message.
        message: String,
    },
    /// Feishu is busy or failed (codes 1 and 1000040343, a 5xx, a handshake refused for
    /// another reason): retried.
    #[error("Feishu's long connection service failed: code {code}: {message}")]
    Server {
        /// Feishu's code, or the HTTP status.
        code: i64,
        /// Feishu's message.
        message: String,
    },
    /// The endpoint request failed (network, timeout, an answer that is not the
    /// endpoint's): retried.
    #[error("cannot get the long connection's address: {0}")]
    Endpoint(String),
    /// The WebSocket failed: the handshake, or the connection once up. Retried.
    #[error("the long connection's WebSocket failed: {0}")]
    WebSocket(#[source] Box<tokio_tungstenite::tungstenite::Error>),
    /// Every reconnection attempt allowed (`ReconnectCount`) failed.
    #[error("gave up reconnecting after {attempts} attempts; the last failed: {last}")]
    GaveUp {
        /// How many attempts failed in a row.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: Box<LongConnectionError>,
    },
}

impl LongConnectionError {
    /// Whether the error ends [`run`](super::LongConnection::run) at once, without retrying:
    /// a configuration error, or Feishu refusing the app.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            LongConnectionError::Config(_)
                | LongConnectionError::Refused { .. }
                | LongConnectionError::GaveUp { .. }
        )
    }
}
