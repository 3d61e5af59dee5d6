//! The error codes the emulator answers with, as Feishu's general error-code list gives
//! them, and the shape of Feishu's error bodies.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::http::Reply;

/// Rate limit exceeded.
pub const RATE_LIMITED: i64 = feishu::runtime::codes::RATE_LIMITED;
/// No access token in the `Authorization` header.
pub const MISSING_TOKEN: i64 = feishu::runtime::codes::TOKEN_MISSING;
/// The tenant_access_token is invalid or expired.
pub const INVALID_TENANT_TOKEN: i64 = feishu::runtime::codes::TENANT_TOKEN_INVALID;
/// The app_access_token is invalid or expired.
pub const INVALID_APP_TOKEN: i64 = feishu::runtime::codes::APP_TOKEN_INVALID;
/// The user_access_token is invalid or expired.
pub const INVALID_USER_TOKEN: i64 = feishu::runtime::codes::USER_TOKEN_INVALID;
/// The user_access_token has expired.
pub const EXPIRED_USER_TOKEN: i64 = feishu::runtime::codes::USER_TOKEN_EXPIRED;
/// The `Authorization` header is not `Bearer <token>`.
pub const MALFORMED_TOKEN: i64 = feishu::runtime::codes::TOKEN_MALFORMED;
/// The body breaks the endpoint's schema.
pub const FIELD_VALIDATION_FAILED: i64 = feishu::runtime::codes::FIELD_VALIDATION_FAILED;
/// A server error.
pub const INTERNAL_ERROR: i64 = 99991500;
/// The auth endpoints' "invalid param".
pub const AUTH_INVALID_PARAM: i64 = 10003;
/// The app_ticket is missing or not the latest one.
pub const AUTH_INVALID_APP_TICKET: i64 = 10012;
/// The app_secret does not match the app_id.
pub const AUTH_INVALID_SECRET: i64 = 10014;
/// Fallback for a wrong `X-Lark-Helpdesk-Authorization` header, on a page that lists none.
pub const HELPDESK_UNAUTHORIZED: i64 = 154001;

/// A Feishu answer with a non-zero code, an `error` object holding the log id and any
/// field violations, and the `X-Tt-Logid` header.
pub(crate) fn reply(status: u16, code: i64, msg: &str, violations: Option<Vec<Value>>) -> Reply {
    let log_id = next_log_id();
    let mut error = json!({ "log_id": log_id });
    if let Some(violations) = violations {
        error["field_violations"] = Value::Array(violations);
    }
    Reply::json(status, &json!({ "code": code, "msg": msg, "error": error }))
        .header("x-tt-logid", &log_id)
}

/// The message Feishu gives with [`INVALID_TENANT_TOKEN`] and [`INVALID_USER_TOKEN`].
pub const INVALID_TOKEN_MESSAGE: &str =
    "Invalid access token for authorization. Please make a request with token attached.";

/// Feishu's refusal of a token it does not accept (unknown, revoked or expired), one
/// status for all: HTTP 400, the code of the token's kind, and its documented message.
pub(crate) fn token_refusal(code: i64) -> Reply {
    let msg = match code {
        EXPIRED_USER_TOKEN => "token expire",
        INVALID_APP_TOKEN => "invalid app token",
        _ => INVALID_TOKEN_MESSAGE,
    };
    reply(400, code, msg, None)
}

/// A success answer in the `data` envelope.
pub(crate) fn success(data: Value) -> Reply {
    let log_id = next_log_id();
    Reply::json(200, &json!({ "code": 0, "msg": "success", "data": data }))
        .header("x-tt-logid", &log_id)
}

/// A success answer of an endpoint whose payload is the body itself (a flat answer): the
/// payload's fields beside `code` and `msg`.
pub(crate) fn success_flat(data: Value) -> Reply {
    let log_id = next_log_id();
    let mut body = json!({ "code": 0, "msg": "success" });
    if let (Value::Object(body), Value::Object(fields)) = (&mut body, data) {
        for (name, value) in fields {
            body.entry(name).or_insert(value);
        }
    }
    Reply::json(200, &body).header("x-tt-logid", &log_id)
}

/// One entry of `error.field_violations`.
pub(crate) fn violation(field: &str, description: &str) -> Value {
    json!({ "field": field, "description": description })
}

/// Log ids look like Feishu's: a timestamp-like prefix and a counter, unique per process.
pub(crate) fn next_log_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    format!(
        "20261121000000EMU{:010}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
