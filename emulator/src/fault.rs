//! Faults on demand: answers Feishu or the network give on a bad day, injected into the
//! next matching requests.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::codes;
use crate::http::Reply;

fn too_many_requests() -> u16 {
    429
}

fn milliseconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_millis)
}

/// Something that goes wrong with a request. As the control API reads it (JSON):
/// `{"kind": "rate_limited", "status"?, "reset"?}`, `{"kind": "slow", "delay_ms"}`, … (the
/// variant's name in snake case, its fields by name).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fault {
    /// The rate limit: HTTP `status` (429, or 400 as some endpoints send it) with code
    /// 99991400, and, when `reset` is set, the `x-ogw-ratelimit-reset` header in seconds.
    RateLimited {
        /// The HTTP status.
        #[serde(default = "too_many_requests")]
        status: u16,
        /// The seconds until the limit resets.
        reset: Option<u64>,
    },
    /// A server error: HTTP `status` with a Feishu JSON body.
    ServerError {
        /// The HTTP status, e.g. 500 or 503.
        status: u16,
    },
    /// Feishu's JSON error with this code, e.g. one of the endpoint's documented codes; a
    /// download answers with it in place of the file.
    ApiError {
        /// The HTTP status, e.g. 400 (or 200, as some endpoints send their errors).
        status: u16,
        /// Feishu's code.
        code: i64,
        /// Feishu's message.
        msg: String,
    },
    /// A gateway's HTML error page, e.g. a 502 from a load balancer.
    HtmlGateway {
        /// The HTTP status.
        status: u16,
    },
    /// The normal answer, after `delay`: longer than the client's timeout, it times out.
    Slow {
        /// How long the answer takes.
        #[serde(rename = "delay_ms", deserialize_with = "milliseconds")]
        delay: Duration,
    },
    /// The normal answer with its JSON body cut in half.
    TruncatedJson,
    /// Feishu's refusal of a tenant_access_token it no longer accepts (HTTP 400, code
    /// 99991663), whatever token was sent: a token revoked early.
    Unauthorized,
    /// The connection is dropped without an answer.
    Disconnect,
}

impl Fault {
    /// The rate limit under HTTP 429, resetting in `reset` seconds.
    pub fn rate_limited(reset: u64) -> Fault {
        Fault::RateLimited {
            status: 429,
            reset: Some(reset),
        }
    }

    /// The answer this fault gives instead of the normal one, or None when it changes the
    /// normal answer (see [`Fault::alter`]).
    pub(crate) fn replace(&self) -> Option<Reply> {
        Some(match self {
            Fault::RateLimited { status, reset } => {
                let reply = codes::reply(
                    *status,
                    codes::RATE_LIMITED,
                    "request trigger frequency limit",
                    None,
                )
                .header("x-ogw-ratelimit-limit", "50");
                match reset {
                    Some(reset) => reply.header("x-ogw-ratelimit-reset", &reset.to_string()),
                    None => reply,
                }
            }
            Fault::ServerError { status } => codes::reply(
                *status,
                codes::INTERNAL_ERROR,
                "internal error, please retry later",
                None,
            ),
            Fault::ApiError { status, code, msg } => codes::reply(*status, *code, msg, None),
            Fault::HtmlGateway { status } => Reply::raw(
                *status,
                "text/html",
                format!(
                    "<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n<center><h1>{status} Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
                ),
            ),
            Fault::Unauthorized => codes::token_refusal(codes::INVALID_TENANT_TOKEN),
            Fault::Disconnect => Reply::close(),
            Fault::Slow { .. } | Fault::TruncatedJson => return None,
        })
    }

    /// Changes the normal answer (for faults that do not replace it).
    pub(crate) fn alter(&self, mut reply: Reply) -> Reply {
        match self {
            Fault::Slow { delay } => reply.delayed(*delay),
            Fault::TruncatedJson => {
                let keep = reply.body.len() / 2;
                reply.body.truncate(keep);
                reply
            }
            _ => reply,
        }
    }
}

/// Which requests a fault hits. As the control API reads it: `"api"`, `"auth"`, `"any"`
/// or `{"endpoint": "im.v1.message.create"}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Target {
    /// Calls to the generated endpoints (everything but the auth endpoints).
    Api,
    /// The auth endpoints: token fetches and app_ticket resends.
    Auth,
    /// One endpoint, by id, e.g. `helpdesk.v1.ticket.update`.
    Endpoint(String),
    /// Every request.
    Any,
}

/// A fault waiting for its requests.
#[derive(Debug)]
pub(crate) struct Scheduled {
    pub(crate) target: Target,
    pub(crate) fault: Fault,
    /// The matching requests still to let through before the fault applies.
    pub(crate) skip: usize,
    pub(crate) remaining: usize,
}

impl Scheduled {
    pub(crate) fn hits(&self, is_auth: bool, endpoint: Option<&str>) -> bool {
        match &self.target {
            Target::Any => true,
            Target::Auth => is_auth,
            Target::Api => !is_auth,
            Target::Endpoint(id) => endpoint == Some(id.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The control API's JSON for faults and targets.
    #[test]
    fn faults_and_targets_read_from_json() {
        let read = |value| serde_json::from_value::<Fault>(value).unwrap();
        assert_eq!(
            read(json!({"kind": "rate_limited", "reset": 2})),
            Fault::RateLimited {
                status: 429,
                reset: Some(2)
            }
        );
        assert_eq!(
            read(json!({"kind": "slow", "delay_ms": 1500})),
            Fault::Slow {
                delay: Duration::from_millis(1500)
            }
        );
        assert_eq!(read(json!({"kind": "disconnect"})), Fault::Disconnect);
        let target = |value| serde_json::from_value::<Target>(value).unwrap();
        assert_eq!(target(json!("api")), Target::Api);
        assert_eq!(
            target(json!({"endpoint": "im.v1.message.create"})),
            Target::Endpoint("im.v1.message.create".to_owned())
        );
        assert!(serde_json::from_value::<Fault>(json!({"kind": "slow"})).is_err());
    }
}
