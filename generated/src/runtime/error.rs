//! The one error type of every call.

use std::fmt;

use super::DocumentedError;

/// The result of a call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a call failed. No variant ever holds a token or a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Feishu answered with a non-zero `code`.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The response was not what the endpoint documents: not JSON (an HTML gateway page, a
    /// truncated body), or JSON of another shape.
    #[error("{endpoint}: cannot decode the response (HTTP {status}, log id {}): {message}; the body starts {snippet:?}", log_id.as_deref().unwrap_or("-"))]
    Decode {
        /// The endpoint called, e.g. `helpdesk.v1.ticket.update`.
        endpoint: &'static str,
        /// The HTTP status of the response.
        status: u16,
        /// The `X-Tt-Logid` response header.
        log_id: Option<String>,
        /// What is wrong with the body.
        message: String,
        /// The start of the body, at most [`SNIPPET_LEN`] bytes.
        snippet: String,
    },
    /// The request did not get a response: connection refused, timeout, …
    #[error("{endpoint}: {source}")]
    Transport {
        /// The endpoint called.
        endpoint: &'static str,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The call's own timeout ([`Call::timeout`](super::Call::timeout)) ran out before a
    /// response came; a request that times out on its own is a [`Error::Transport`].
    #[error("{endpoint}: no response within the call's timeout of {after:?}")]
    Timeout {
        /// The endpoint called.
        endpoint: &'static str,
        /// The call's timeout.
        after: std::time::Duration,
    },
    /// An access token could not be obtained.
    #[error("cannot get a {kind}: {message}")]
    Auth {
        /// The token wanted, e.g. `tenant_access_token`.
        kind: &'static str,
        /// Feishu's code, when Feishu refused.
        code: Option<i64>,
        /// Feishu's message, or what went wrong on the way.
        message: String,
        /// The `X-Tt-Logid` header of the token response.
        log_id: Option<String>,
    },
    /// The call was refused before anything was sent, e.g. an endpoint that only takes a
    /// `user_access_token` was called without one.
    #[error("{endpoint}: {message}")]
    InvalidRequest {
        /// The endpoint called.
        endpoint: &'static str,
        /// Why the call was refused.
        message: String,
    },
    /// The client cannot be built as configured.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

/// How much of an undecodable body an error keeps.
pub const SNIPPET_LEN: usize = 512;

/// An error answer from Feishu.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The endpoint called, e.g. `helpdesk.v1.ticket.update`.
    pub endpoint: &'static str,
    /// The HTTP status of the response.
    pub status: u16,
    /// Feishu's error code.
    pub code: i64,
    /// Feishu's error message.
    pub msg: String,
    /// The `X-Tt-Logid` response header: quote it when asking Feishu for help.
    pub log_id: Option<String>,
    /// The endpoint's doc page entry for this code, where the page lists it.
    pub documented: Option<&'static DocumentedError>,
    /// The response's `error` object (field and permission violations, troubleshooting
    /// links), when it has one.
    pub details: Option<serde_json::Value>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: Feishu error {} (HTTP {}): {}",
            self.endpoint, self.code, self.status, self.msg
        )?;
        if let Some(doc) = self.documented
            && !doc.hint.is_empty()
        {
            write!(f, "; the docs advise: {}", doc.hint)?;
        }
        if let Some(log_id) = &self.log_id {
            write!(f, " [log id {log_id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl Error {
    /// Feishu's log id for the failed call, when the response had one.
    pub fn log_id(&self) -> Option<&str> {
        match self {
            Error::Api(api) => api.log_id.as_deref(),
            Error::Decode { log_id, .. } | Error::Auth { log_id, .. } => log_id.as_deref(),
            _ => None,
        }
    }

    /// Feishu's error code, for API and authentication errors.
    pub fn code(&self) -> Option<i64> {
        match self {
            Error::Api(api) => Some(api.code),
            Error::Auth { code, .. } => *code,
            _ => None,
        }
    }

    /// The API error, if Feishu answered with one.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }
}

/// The start of a body, cut at a character boundary.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_LEN)]);
    text.trim_end_matches('\u{FFFD}').to_owned()
}
