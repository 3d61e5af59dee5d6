//! Feishu's common error codes, as its general error-code page (通用错误码) lists them: the
//! ones an app meets on any endpoint. An endpoint's own codes are on its page, and in
//! [`ApiError::documented`](crate::ApiError::documented) when it answers with one.

/// The request needs an access token and carries none (`Need a token`).
pub const TOKEN_MISSING: i64 = 99991661;
/// The tenant_access_token is invalid or expired.
pub const TENANT_TOKEN_INVALID: i64 = 99991663;
/// The app_access_token is invalid.
pub const APP_TOKEN_INVALID: i64 = 99991664;
/// The user_access_token is invalid.
pub const USER_TOKEN_INVALID: i64 = 99991668;
/// The token is malformed (`must start with t-/u-`).
pub const TOKEN_MALFORMED: i64 = 99991671;
/// The app lacks a scope the endpoint needs (`Access denied. One of the following scopes
/// is required`); the scopes are in the error's `permission_violations`.
pub const APP_SCOPE_MISSING: i64 = 99991672;
/// The token lacks the permission the call needs (`token no permission`).
pub const TOKEN_NO_PERMISSION: i64 = 99991676;
/// The user_access_token has expired: refresh it.
pub const USER_TOKEN_EXPIRED: i64 = 99991677;
/// The user has not granted the scope the call needs: ask them to authorize again.
pub const USER_SCOPE_MISSING: i64 = 99991679;
/// Too many requests: the rate limit (`request trigger frequency limit`).
pub const RATE_LIMITED: i64 = 99991400;
/// The caller's IP is not on the app's allow list.
pub const IP_DENIED: i64 = 99991401;
/// The tenant's monthly API quota is used up.
pub const MONTHLY_QUOTA_EXCEEDED: i64 = 99991403;
/// A field of the request is invalid; the fields are in `field_violations`.
pub const FIELD_VALIDATION_FAILED: i64 = 99992402;

/// The codes that say the access token was refused: tenant, app or user token invalid,
/// malformed, or a user token expired.
pub const INVALID_TOKEN: [i64; 5] = [
    TENANT_TOKEN_INVALID,
    APP_TOKEN_INVALID,
    USER_TOKEN_INVALID,
    TOKEN_MALFORMED,
    USER_TOKEN_EXPIRED,
];

/// The codes that say the app or user lacks a permission.
pub const PERMISSION_DENIED: [i64; 3] =
    [APP_SCOPE_MISSING, TOKEN_NO_PERMISSION, USER_SCOPE_MISSING];
