//! The one error type of every call.

use std::fmt;

use serde::Deserialize;

use crate::codes;
use crate::wire::{INVALID_TOKEN_CODES, RATE_LIMIT_CODE};

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
    /// Feishu kept rate-limiting the call (HTTP 429 or code 99991400) until the retry
    /// policy's attempts or the call's deadline ran out.
    #[error("{endpoint}: rate limited after {attempts} attempt(s){}", match retry_after { Some(after) => format!("; the limit resets in {after:?}"), None => String::new() })]
    RateLimited {
        /// The endpoint called.
        endpoint: &'static str,
        /// The attempts made.
        attempts: u32,
        /// When the limit resets, from the last answer's `x-ogw-ratelimit-reset` header.
        retry_after: Option<std::time::Duration>,
        /// The HTTP status of the last answer.
        status: u16,
        /// The `X-Tt-Logid` header of the last answer.
        log_id: Option<String>,
    },
    /// The request did not get a response: connection refused, timeout, …. Its text
    /// names the root cause (reqwest's own says "error sending request" for all of them).
    #[error("{endpoint}: {}", with_causes(source))]
    Transport {
        /// The endpoint called.
        endpoint: &'static str,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The call's own timeout ([`Call::timeout`](crate::call::Call::timeout)) ran out before a
    /// response came; a request that times out on its own is a [`Error::Transport`].
    #[error("{endpoint}: no response within the call's timeout of {after:?}")]
    Timeout {
        /// The endpoint called.
        endpoint: &'static str,
        /// The call's timeout.
        after: std::time::Duration,
    },
    /// An upload or a download moved no byte for the client's
    /// [`timeout`](crate::client::ClientBuilder::timeout): a file's transfer may take longer than
    /// the timeout, but not stand still for it.
    #[error("{endpoint}: the file transfer stalled: nothing moved for {after:?}")]
    Stalled {
        /// The endpoint called.
        endpoint: &'static str,
        /// The client's timeout.
        after: std::time::Duration,
    },
    /// An access token could not be obtained.
    #[error("cannot get a {kind}: {message}")]
    Auth {
        /// The token wanted, e.g. `tenant_access_token`.
        kind: &'static str,
        /// The HTTP status of the token response, when one came.
        status: Option<u16>,
        /// Feishu's code, when Feishu refused.
        code: Option<i64>,
        /// Feishu's message, or what went wrong on the way.
        message: String,
        /// The `X-Tt-Logid` header of the token response.
        log_id: Option<String>,
        /// What failed underneath, e.g. the connection to the token endpoint; shared by
        /// the calls that queued behind the same fetch.
        #[source]
        source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// The call was refused before anything was sent, e.g. an endpoint that only takes a
    /// `user_access_token` was called without one.
    #[error("{endpoint}: {message}")]
    InvalidRequest {
        /// The endpoint called.
        endpoint: &'static str,
        /// Why the call was refused.
        message: String,
        /// The fields that break a documented rule, when that is why.
        violations: Vec<FieldViolation>,
    },
    /// The response body is longer than the client accepts
    /// ([`ClientBuilder::max_response_bytes`](crate::client::ClientBuilder::max_response_bytes));
    /// it was not read further.
    #[error("{endpoint}: the response body (HTTP {status}, log id {}) is longer than the client's limit of {limit} bytes", log_id.as_deref().unwrap_or("-"))]
    TooLarge {
        /// The endpoint called.
        endpoint: &'static str,
        /// The HTTP status of the response.
        status: u16,
        /// The `X-Tt-Logid` response header.
        log_id: Option<String>,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A paged list could not be walked to its end: the server handed out a page token
    /// it had handed out before, so walking on would never end.
    #[error("{endpoint}: {message}")]
    Paging {
        /// The endpoint called.
        endpoint: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A local file could not be read (an upload's) or written (a download's).
    #[error("{endpoint}: {}{source}", match path { Some(path) => format!("{}: ", path.display()), None => String::new() })]
    File {
        /// The endpoint called.
        endpoint: &'static str,
        /// The file, when the error concerns one path.
        path: Option<std::path::PathBuf>,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The call failed in a way that is retried, but it uploads a stream, which can be
    /// sent only once ([`UploadFile::stream`](crate::transfer::upload::UploadFile::stream)); upload bytes
    /// or a path to have such a call retried.
    #[error("{endpoint}: not retried, since the upload's stream can be sent only once: {source}")]
    NotRetried {
        /// The endpoint called.
        endpoint: &'static str,
        /// The failure that would have been retried.
        #[source]
        source: Box<Error>,
    },
    /// The client cannot be built as configured.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl Error {
    /// The error with every secret `redactor` knows taken out of the text it keeps from
    /// the server: the message, the body snippet, the `error` details.
    pub(crate) fn redacted(mut self, redactor: &crate::secret::Redactor) -> Error {
        match &mut self {
            Error::Api(api) => {
                api.msg = redactor.text(&api.msg);
                api.details = api.details.take().map(|details| redactor.json(details));
                for violation in &mut api.field_violations {
                    violation.field = redactor.text(&violation.field);
                    violation.value = violation.value.as_deref().map(|v| redactor.text(v));
                    violation.description = redactor.text(&violation.description);
                }
                for violation in &mut api.permission_violations {
                    violation.subject = redactor.text(&violation.subject);
                    violation.description = redactor.text(&violation.description);
                }
            }
            Error::Decode {
                message, snippet, ..
            } => {
                *message = redactor.text(message);
                *snippet = redactor.text(snippet);
            }
            Error::Auth { message, .. } => *message = redactor.text(message),
            _ => {}
        }
        self
    }
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
    /// The fields Feishu found invalid (`error.field_violations`).
    pub field_violations: Vec<FieldViolation>,
    /// The permissions the app or user lacks (`error.permission_violations`).
    pub permission_violations: Vec<PermissionViolation>,
    /// The response's whole `error` object (violations, troubleshooting links), when it
    /// has one.
    pub details: Option<serde_json::Value>,
}

/// A field that breaks a rule: named in Feishu's `field_violations`, or found by the
/// client before sending.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct FieldViolation {
    /// The field's path, e.g. `i18n_contents[0].content`.
    #[serde(default)]
    pub field: String,
    /// The offending value, where Feishu quotes it.
    #[serde(default)]
    pub value: Option<String>,
    /// What is wrong.
    #[serde(default)]
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        FieldViolation {
            field: field.into(),
            value: None,
            description: description.into(),
        }
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// A permission the call lacks, from Feishu's `permission_violations`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct PermissionViolation {
    /// The kind of permission, e.g. `action_privilege_required`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// The scope or resource, e.g. `im:chat`.
    #[serde(default)]
    pub subject: String,
    /// What is missing.
    #[serde(default)]
    pub description: String,
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
        for violation in &self.field_violations {
            write!(f, "; field {violation}")?;
        }
        for violation in &self.permission_violations {
            write!(f, "; needs {} {}", violation.kind, violation.subject)?;
        }
        if let Some(log_id) = &self.log_id {
            write!(f, " [log id {log_id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Whether Feishu refused the call for its rate limit.
    pub fn is_rate_limited(&self) -> bool {
        self.status == 429 || self.code == RATE_LIMIT_CODE
    }

    /// Whether Feishu refused the access token as invalid or expired: one of
    /// [`codes::INVALID_TOKEN`] (a user token's included), or HTTP 401 with a code the
    /// endpoint's page does not document (a documented 401, such as a helpdesk's wrong
    /// credentials, is about something else).
    pub fn is_invalid_token(&self) -> bool {
        codes::INVALID_TOKEN.contains(&self.code) || self.is_undocumented_401()
    }

    /// Whether the app or the user lacks a permission the call needs: one of
    /// [`codes::PERMISSION_DENIED`], or an answer that names `permission_violations`.
    pub fn is_permission_denied(&self) -> bool {
        codes::PERMISSION_DENIED.contains(&self.code) || !self.permission_violations.is_empty()
    }

    /// Whether the refusal is of a token the client fetched and caches (an app's or a
    /// tenant's, [`INVALID_TOKEN_CODES`]): the client drops it and fetches another. A user
    /// token is the caller's to renew.
    pub(crate) fn refuses_cached_token(&self) -> bool {
        INVALID_TOKEN_CODES.contains(&self.code) || self.is_undocumented_401()
    }

    fn is_undocumented_401(&self) -> bool {
        self.status == 401 && self.documented.is_none()
    }
}

impl Error {
    /// Feishu's log id for the failed call, when the response had one.
    pub fn log_id(&self) -> Option<&str> {
        match self {
            Error::Api(api) => api.log_id.as_deref(),
            Error::Decode { log_id, .. }
            | Error::TooLarge { log_id, .. }
            | Error::Auth { log_id, .. }
            | Error::RateLimited { log_id, .. } => log_id.as_deref(),
            Error::NotRetried { source, .. } => source.log_id(),
            _ => None,
        }
    }

    /// Feishu's error code, for API and authentication errors.
    pub fn code(&self) -> Option<i64> {
        match self {
            Error::Api(api) => Some(api.code),
            Error::Auth { code, .. } => *code,
            Error::RateLimited { .. } => Some(RATE_LIMIT_CODE),
            Error::NotRetried { source, .. } => source.code(),
            _ => None,
        }
    }

    /// Whether the same call might succeed if made again later: rate limits, timeouts,
    /// lost connections, 5xx answers and gateway pages. Refusals (a bad request, missing
    /// permissions, wrong credentials) and a 2xx body that cannot be read are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => api.is_rate_limited() || api.status >= 500,
            Error::RateLimited { .. }
            | Error::Transport { .. }
            | Error::Timeout { .. }
            | Error::Stalled { .. } => true,
            Error::Decode { status, .. } => *status == 429 || *status >= 500,
            // No code: the token endpoint was not reached or did not answer properly,
            // or a marketplace app's ticket has not arrived yet. A 5xx: it may recover.
            Error::Auth { code: None, .. } => true,
            Error::Auth {
                code: Some(code),
                status,
                ..
            } => *code == RATE_LIMIT_CODE || status.is_some_and(|s| s == 429 || s >= 500),
            // Only with the stream given again, which the caller decides.
            Error::NotRetried { .. } => false,
            Error::InvalidRequest { .. }
            | Error::TooLarge { .. }
            | Error::Paging { .. }
            | Error::File { .. }
            | Error::Config(_) => false,
        }
    }

    /// Whether the call ran out of time: its own deadline, or the HTTP request's timeout.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Stalled { .. } => true,
            Error::Transport { source, .. } => source.is_timeout(),
            _ => false,
        }
    }

    /// Whether Feishu refused the call for its rate limit: in an answer, or after the
    /// client's retries ran out ([`Error::RateLimited`]), or when getting a token.
    pub fn is_rate_limited(&self) -> bool {
        match self {
            Error::Api(api) => api.is_rate_limited(),
            Error::RateLimited { .. } | Error::Decode { status: 429, .. } => true,
            Error::Auth { code, status, .. } => {
                *code == Some(RATE_LIMIT_CODE) || *status == Some(429)
            }
            Error::NotRetried { source, .. } => source.is_rate_limited(),
            _ => false,
        }
    }

    /// Whether an access token was refused as invalid or expired, a user token's
    /// included (see [`ApiError::is_invalid_token`]), in a call or when getting a token.
    pub fn is_invalid_token(&self) -> bool {
        match self {
            Error::Api(api) => api.is_invalid_token(),
            Error::Auth {
                code: Some(code), ..
            } => codes::INVALID_TOKEN.contains(code),
            Error::NotRetried { source, .. } => source.is_invalid_token(),
            _ => false,
        }
    }

    /// Whether the app or the user lacks a permission (see
    /// [`ApiError::is_permission_denied`]).
    pub fn is_permission_denied(&self) -> bool {
        match self {
            Error::Api(api) => api.is_permission_denied(),
            Error::Auth {
                code: Some(code), ..
            } => codes::PERMISSION_DENIED.contains(code),
            Error::NotRetried { source, .. } => source.is_permission_denied(),
            _ => false,
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

/// An error's text followed by each cause that adds to it, deepest last: a transport
/// error then says "connection refused", "operation timed out" or "dns error" where
/// reqwest's own text is "error sending request for url (…)" for all three.
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = inner.source();
    }
    text
}

/// The start of a body, cut at a character boundary.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_LEN)]);
    text.trim_end_matches('\u{FFFD}').to_owned()
}

/// One row of a doc page's error-code table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocumentedError {
    /// The HTTP status the error comes with, where the page gives it.
    pub http_status: Option<u16>,
    /// Feishu's error code.
    pub code: i64,
    /// The `msg` Feishu sends with the code.
    pub message: &'static str,
    /// The page's advice on what to check.
    pub hint: &'static str,
}
