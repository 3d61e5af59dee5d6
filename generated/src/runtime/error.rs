//! The one error type of every call.

use std::fmt;

use super::DocumentedError;

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
        endpoint: &'static str,
        status: u16,
        log_id: Option<String>,
        message: String,
        /// The start of the body, at most [`SNIPPET_LEN`] bytes.
        snippet: String,
    },
    /// The request did not get a response: connection refused, timeout, …
    #[error("{endpoint}: {source}")]
    Transport {
        endpoint: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// An access token could not be obtained.
    #[error("cannot get a {kind}: {message}")]
    Auth {
        kind: &'static str,
        /// Feishu's code, when Feishu refused.
        code: Option<i64>,
        message: String,
        log_id: Option<String>,
    },
    /// The call was refused before anything was sent, e.g. an endpoint that only takes a
    /// `user_access_token` was called without one.
    #[error("{endpoint}: {message}")]
    InvalidRequest {
        endpoint: &'static str,
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
