//! Feishu's protocol as the client speaks it: header names, codes and the auth paths. A
//! leaf of the crate: the modules that send and read requests take their names from here,
//! and the emulator and tests that play Feishu's side use the same constants.

/// The `User-Agent` of every request: the `feishu` crate and its version, which the
/// runtime shares.
pub const USER_AGENT: &str = concat!("feishu/", env!("CARGO_PKG_VERSION"));

/// The header helpdesk endpoints need besides the access token.
pub const HELPDESK_HEADER: &str = "X-Lark-Helpdesk-Authorization";

/// The header Feishu echoes a caller's request id in.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// The header of Feishu's log id for a request (`X-Tt-Logid`), which its support asks for.
pub const LOG_ID_HEADER: &str = "X-Tt-Logid";

/// The header in which Feishu's gateway says how many seconds remain until a rate-limit
/// window resets.
pub const RATE_LIMIT_RESET_HEADER: &str = "x-ogw-ratelimit-reset";

/// The code Feishu answers with when a call exceeds a rate limit, under HTTP 429 or any
/// other status.
pub const RATE_LIMIT_CODE: i64 = 99991400;

/// The codes Feishu answers a call with when its access token is invalid or expired
/// (tenant, app, malformed). The client then drops that token and fetches a new one.
pub const INVALID_TOKEN_CODES: [i64; 3] = [99991663, 99991664, 99991671];

/// The auth endpoints the client calls, for servers that stand in for Feishu.
pub mod auth_paths {
    /// An internal app's tenant_access_token.
    pub const TENANT_INTERNAL: &str = "/open-apis/auth/v3/tenant_access_token/internal";
    /// An internal app's app_access_token.
    pub const APP_INTERNAL: &str = "/open-apis/auth/v3/app_access_token/internal";
    /// A marketplace app's tenant_access_token, per tenant.
    pub const TENANT_MARKETPLACE: &str = "/open-apis/auth/v3/tenant_access_token";
    /// A marketplace app's app_access_token, from its app_ticket.
    pub const APP_MARKETPLACE: &str = "/open-apis/auth/v3/app_access_token";
    /// Asks Feishu to push the app_ticket event again.
    pub const APP_TICKET_RESEND: &str = "/open-apis/auth/v3/app_ticket/resend";
}

/// Feishu's log id of an answer, from its headers.
pub(crate) fn log_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get(LOG_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
