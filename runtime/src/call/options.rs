//! A call's own settings, set on a [`Call`](super::Call) before it is awaited: the user
//! token it acts with, extra headers, the request id, the tenant, its timeout and retry
//! policy.

use std::time::Duration;

use crate::retry::RetryPolicy;
use crate::secret::Secret;

/// A call's own settings. Kept apart from the request so that everything after building
/// the request (auth, attempts, retries) is compiled once, not once per endpoint.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) user_access_token: Option<Secret>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) request_id: Option<String>,
    pub(crate) tenant_key: Option<String>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: Option<RetryPolicy>,
}
