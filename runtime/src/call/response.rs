//! Reading an answer: Feishu's error, or the payload a call returns (a JSON payload in
//! the endpoint's envelope, or a [`Download`]).

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::call::endpoint::{Endpoint, Envelope};
use crate::error::{ApiError, Error, FieldViolation, Result, snippet};
use crate::transfer::download::{Download, FileAnswer};

/// What a successful call returns: any type deserialized from the answer's JSON payload,
/// or a [`Download`] for endpoints that answer with a file.
pub trait Payload: Sized + Send + 'static {
    /// Reads the payload out of a successful answer.
    #[doc(hidden)]
    fn from_answer(answer: Answer) -> Result<Self>;

    /// Whether `payload` (the answer's JSON payload) reads as this type; a file is not
    /// read from JSON, so nothing does. For an emulator, to answer only with what the
    /// client can read.
    #[doc(hidden)]
    fn reads(payload: &serde_json::Value) -> bool;
}

impl<T: DeserializeOwned + Send + 'static> Payload for T {
    fn from_answer(answer: Answer) -> Result<Self> {
        json_payload(&answer)
    }

    fn reads(payload: &serde_json::Value) -> bool {
        T::deserialize(payload).is_ok()
    }
}

impl Payload for Download {
    fn reads(_: &serde_json::Value) -> bool {
        false
    }

    fn from_answer(answer: Answer) -> Result<Self> {
        Ok(Download::new(FileAnswer {
            endpoint: answer.endpoint.id,
            status: answer.status,
            headers: answer.headers,
            log_id: answer.log_id,
            prefix: answer.body,
            rest: answer.rest,
            limit: answer.limit,
            idle: answer.idle,
        }))
    }
}

/// A successful answer, before its payload is read into the response type. Public only
/// in name: it cannot be reached from outside the runtime.
pub struct Answer {
    pub(crate) endpoint: &'static Endpoint,
    pub(crate) status: u16,
    pub(crate) log_id: Option<String>,
    pub(crate) headers: HeaderMap,
    /// The whole body; for a file, the part read to tell it from an error.
    pub(crate) body: bytes::Bytes,
    /// The rest of a file, not read yet.
    pub(crate) rest: Option<reqwest::Response>,
    /// The client's `max_response_bytes`.
    pub(crate) limit: usize,
    /// How long a file's transfer may stand still: the client's timeout.
    pub(crate) idle: Option<std::time::Duration>,
}

pub(crate) fn decode_error(
    endpoint: &'static Endpoint,
    status: u16,
    log_id: Option<String>,
    body: &[u8],
    message: String,
) -> Error {
    Error::Decode {
        endpoint: endpoint.id,
        status,
        log_id,
        message,
        snippet: snippet(body),
    }
}

/// Reads a response's head: Feishu's error, or success (giving back the log id). Every
/// Feishu response carries a `code`; a body without one (a gateway's JSON, say) is not
/// taken for success.
pub(crate) fn check(
    endpoint: &'static Endpoint,
    status: u16,
    log_id: Option<String>,
    body: &[u8],
) -> Result<Option<String>> {
    #[derive(Deserialize)]
    struct Head {
        code: Option<i64>,
        #[serde(default)]
        msg: String,
        error: Option<serde_json::Value>,
    }
    /// The parts of Feishu's `error` object the client reads; the rest stays in `details`.
    #[derive(Default, Deserialize)]
    struct Details {
        #[serde(default)]
        log_id: Option<String>,
        #[serde(default)]
        field_violations: Vec<FieldViolation>,
        #[serde(default)]
        permission_violations: Vec<crate::error::PermissionViolation>,
    }
    let head: Head = match serde_json::from_slice(body) {
        Ok(head) => head,
        Err(err) => {
            let message = format!("not a JSON object: {err}");
            return Err(decode_error(endpoint, status, log_id, body, message));
        }
    };
    match head.code {
        None => {
            let message = format!("HTTP {status}: the body has no Feishu `code`");
            Err(decode_error(endpoint, status, log_id, body, message))
        }
        Some(0) if (200..300).contains(&status) => Ok(log_id),
        Some(code) => {
            // Violations that do not parse are still in `details`; they never hide the error.
            let parsed: Details = head
                .error
                .as_ref()
                .and_then(|details| Details::deserialize(details).ok())
                .unwrap_or_default();
            Err(Error::Api(Box::new(ApiError {
                endpoint: endpoint.id,
                status,
                code,
                msg: head.msg,
                log_id: log_id.or(parsed.log_id),
                documented: endpoint.documented_error(code, status),
                field_violations: parsed.field_violations,
                permission_violations: parsed.permission_violations,
                details: head.error,
            })))
        }
    }
}

/// Reads a successful answer's JSON payload in the endpoint's envelope.
fn json_payload<T: DeserializeOwned>(answer: &Answer) -> Result<T> {
    let endpoint = answer.endpoint;
    let fail = |message: String| {
        let log_id = answer.log_id.clone();
        decode_error(endpoint, answer.status, log_id, &answer.body, message)
    };
    match endpoint.envelope {
        Envelope::Flat => serde_json::from_slice(&answer.body).map_err(|err| fail(err.to_string())),
        Envelope::Data => {
            #[derive(Deserialize)]
            struct Data<T> {
                data: Option<T>,
            }
            let data: Data<T> = serde_json::from_slice(&answer.body)
                .map_err(|err| fail(format!("`data`: {err}")))?;
            match data.data {
                Some(data) => Ok(data),
                // `"data": {}` may be left out entirely; that is only fine if T can be empty.
                None => serde_json::from_str("{}")
                    .map_err(|_| fail("the response has no `data`".to_owned())),
            }
        }
        Envelope::File => Err(fail(
            "the endpoint answers with a file: its response type is Download".to_owned(),
        )),
    }
}
