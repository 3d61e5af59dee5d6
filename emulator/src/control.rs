//! The control API: what a test in any language does to a running emulator, as JSON over
//! HTTP on a port of its own (so that its calls never show among the recorded requests).
//!
//! | Request | Does |
//! | --- | --- |
//! | `GET /requests`, `DELETE /requests` | the requests so far (the second also forgets them) |
//! | `GET /messages` | the messages sent through the emulator, as `im.v1.message.get` shows them |
//! | `GET /chats` | the chats made through the emulator (dissolved ones gone), as `im.v1.chat.get` shows them |
//! | `POST /respond` `{endpoint, data}` | what a call to `endpoint` answers as its `data` |
//! | `POST /lists` `{endpoint, items, page_size}` | the list a paged endpoint serves |
//! | `POST /files` `{endpoint, base64, file_name?, content_type?}` | the file a download serves |
//! | `POST /faults` `{target, fault, times?, skip?}` | faults for the next requests |
//! | `POST /documented_errors` `{endpoint, code, times?}` | the page's own error, as Feishu sends it |
//! | `POST /tokens/expire`, `POST /tokens/revoke` | every token handed out expires, or is revoked |
//! | `POST /user_tokens` `{token}` | a `user_access_token` accepted from now on |
//! | `POST /user_tokens/expire` `{token}` | that user token expires (99991677) |
//! | `POST /app_ticket` | a new app_ticket, as the hourly event brings it: `{app_ticket}` |
//! | `GET /long_connection` | `{connected, connects, pings}` |
//! | `POST /long_connection/push` `{envelope, parts?}` | an event (or card callback) pushed: `{message_id}` |
//! | `GET /long_connection/acks/{message_id}?timeout_ms=N` | its acknowledgement, waited for (404 if none) |
//! | `POST /long_connection/drop` | every connection dropped, as a network failure does |
//! | `POST /long_connection/silence` | every open connection goes half-open: no pongs, nothing read |
//! | `POST /long_connection/config` `{endpoint?, pong?}` | the `ClientConfig` handed out |
//! | `POST /long_connection/fail_endpoint` `{code, times}` | the endpoint refuses the next calls |
//! | `POST /webhook/push` `{url, verification_token, encrypt_key?, event_type, event}` | an event delivered to a request URL: `{delivered, envelope, attempts}`, each attempt `{status, body, failure, client_error}` |
//! | `POST /webhook/push` `{url, verification_token, encrypt_key?, envelope}` | a whole envelope (a 1.0 `app_ticket`, say) delivered |
//!
//! `target` is a [`Target`] and `fault` a [`Fault`] as JSON: `"api"`, `"auth"`, `"any"` or
//! `{"endpoint": "im.v1.message.create"}`; `{"kind": "rate_limited", "status"?, "reset"?}`,
//! `{"kind": "server_error", "status"}`, `{"kind": "api_error", "status", "code", "msg"}`,
//! `{"kind": "html_gateway", "status"}`, `{"kind": "slow", "delay_ms"}`,
//! `{"kind": "truncated_json"}`, `{"kind": "unauthorized"}` or `{"kind": "disconnect"}`. A request the API cannot read is answered 400 with
//! `{"error": …}` saying why.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::http::Recorded;
use crate::webhook::Pusher;
use crate::{Emulator, Fault, ServedFile, Target};

/// The largest control request read: a list or a file a test loads.
const MAX_CONTROL_BODY: usize = 64 << 20;
/// The longest wait for an acknowledgement a request may ask for.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// The control API's server; it stops when dropped.
#[derive(Debug)]
pub struct ControlServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ControlServer {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves the control API of `emulator` on `addr` (port 0: an ephemeral one).
pub async fn serve(emulator: Arc<Emulator>, addr: SocketAddr) -> std::io::Result<ControlServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let emulator = emulator.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| answer(emulator.clone(), request));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(ControlServer { addr, task })
}

/// What went wrong with a control request: its status and why.
struct Refusal(StatusCode, String);

impl Refusal {
    fn bad(why: impl std::fmt::Display) -> Self {
        Refusal(StatusCode::BAD_REQUEST, why.to_string())
    }
}

async fn answer(
    emulator: Arc<Emulator>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match route(&emulator, request).await {
        Ok(value) => (StatusCode::OK, value),
        Err(Refusal(status, why)) => (status, json!({ "error": why })),
    };
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

async fn route(
    emulator: &Emulator,
    request: Request<hyper::body::Incoming>,
) -> Result<Value, Refusal> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let body = Limited::new(request.into_body(), MAX_CONTROL_BODY)
        .collect()
        .await
        .map_err(Refusal::bad)?
        .to_bytes();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let done = json!({});
    match (&method, segments.as_slice()) {
        (&Method::GET, ["requests"]) => Ok(requests(&emulator.requests())),
        (&Method::DELETE, ["requests"]) => Ok(requests(&emulator.take_requests())),
        (&Method::GET, ["messages"]) => Ok(Value::Array(emulator.messages())),
        (&Method::GET, ["chats"]) => Ok(Value::Array(emulator.chats())),
        (&Method::POST, ["respond"]) => {
            let Respond { endpoint, data } = read(&body)?;
            emulator.respond(&endpoint, data);
            Ok(done)
        }
        (&Method::POST, ["lists"]) => {
            let List {
                endpoint,
                items,
                page_size,
            } = read(&body)?;
            known(emulator.is_paged(&endpoint), &endpoint, "a paged endpoint")?;
            emulator.load_list(&endpoint, items, page_size);
            Ok(done)
        }
        (&Method::POST, ["files"]) => {
            let file: File = read(&body)?;
            known(
                emulator.is_download(&file.endpoint),
                &file.endpoint,
                "a download",
            )?;
            let bytes = STANDARD.decode(&file.base64).map_err(Refusal::bad)?;
            let mut served = ServedFile::bytes(bytes);
            if let Some(content_type) = &file.content_type {
                served = served.content_type(content_type);
            }
            if let Some(name) = &file.file_name {
                served = served.file_name(name);
            }
            emulator.serve_file(&file.endpoint, served);
            Ok(done)
        }
        (&Method::POST, ["faults"]) => {
            let Faults {
                target,
                fault,
                times,
                skip,
            } = read(&body)?;
            emulator.inject_after(target, skip, fault, times);
            Ok(done)
        }
        (&Method::POST, ["documented_errors"]) => {
            let DocumentedError {
                endpoint,
                code,
                times,
            } = read(&body)?;
            let fault = emulator
                .documented_error(&endpoint, code)
                .map_err(Refusal::bad)?;
            emulator.inject(Target::Endpoint(endpoint), fault, times);
            Ok(done)
        }
        (&Method::POST, ["tokens", "expire"]) => {
            emulator.expire_tokens();
            Ok(done)
        }
        (&Method::POST, ["tokens", "revoke"]) => {
            emulator.revoke_tokens();
            Ok(done)
        }
        (&Method::POST, ["user_tokens"]) => {
            let UserToken { token } = read(&body)?;
            emulator.add_user_token(&token);
            Ok(done)
        }
        (&Method::POST, ["user_tokens", "expire"]) => {
            let UserToken { token } = read(&body)?;
            emulator.expire_user_token(&token);
            Ok(done)
        }
        (&Method::POST, ["app_ticket"]) => Ok(json!({ "app_ticket": emulator.issue_app_ticket() })),
        (_, ["long_connection", rest @ ..]) => {
            long_connection(emulator, &method, rest, &query, &body).await
        }
        (&Method::POST, ["webhook", "push"]) => push_webhook(&body).await,
        _ => Err(Refusal(
            StatusCode::NOT_FOUND,
            format!("no control request {method} {path}"),
        )),
    }
}

async fn long_connection(
    emulator: &Emulator,
    method: &Method,
    rest: &[&str],
    query: &str,
    body: &[u8],
) -> Result<Value, Refusal> {
    let feishu = emulator.long_connections();
    match (method, rest) {
        (&Method::GET, []) => Ok(json!({
            "connected": feishu.connected(),
            "connects": feishu.connects(),
            "pings": feishu.pings().len(),
        })),
        (&Method::POST, ["push"]) => {
            let Push { envelope, parts } = read(body)?;
            let message_id = feishu
                .push_event(&envelope, parts)
                .map_err(|err| Refusal(StatusCode::CONFLICT, err.to_string()))?;
            Ok(json!({ "message_id": message_id }))
        }
        (&Method::GET, ["acks", message_id]) => {
            let wait = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("timeout_ms="))
                .and_then(|ms| ms.parse().ok())
                .map_or(Duration::ZERO, Duration::from_millis)
                .min(MAX_WAIT);
            let ack = feishu.wait_ack(message_id, wait).await.ok_or_else(|| {
                Refusal(
                    StatusCode::NOT_FOUND,
                    format!("no acknowledgement of {message_id}"),
                )
            })?;
            Ok(json!({
                "message_id": ack.message_id,
                "kind": ack.kind,
                "code": ack.code,
                "data": ack.data.map(|data| String::from_utf8_lossy(&data).into_owned()),
                "biz_rt": ack.biz_rt,
            }))
        }
        (&Method::POST, ["drop"]) => {
            feishu.drop_connections();
            Ok(json!({}))
        }
        (&Method::POST, ["silence"]) => {
            feishu.silence_connections();
            Ok(json!({}))
        }
        (&Method::POST, ["config"]) => {
            // A key that is present sets its config; `null` sets none.
            let config: serde_json::Map<String, Value> = read(body)?;
            let given = |key: &str| {
                config
                    .get(key)
                    .map(|v| Some(v.clone()).filter(|v| !v.is_null()))
            };
            if let Some(endpoint) = given("endpoint") {
                feishu.set_endpoint_config(endpoint);
            }
            if let Some(pong) = given("pong") {
                feishu.set_pong_config(pong);
            }
            Ok(json!({}))
        }
        (&Method::POST, ["fail_endpoint"]) => {
            let FailEndpoint { code, times } = read(body)?;
            feishu.fail_endpoint(code, times);
            Ok(json!({}))
        }
        _ => Err(Refusal(
            StatusCode::NOT_FOUND,
            format!(
                "no control request {method} /long_connection/{}",
                rest.join("/")
            ),
        )),
    }
}

async fn push_webhook(body: &[u8]) -> Result<Value, Refusal> {
    let WebhookPush {
        url,
        verification_token,
        encrypt_key,
        event_type,
        event,
        envelope,
        retry_after_ms,
    } = read(body)?;
    let mut pusher = Pusher::new(url, verification_token).retry_after(
        retry_after_ms
            .into_iter()
            .map(Duration::from_millis)
            .collect(),
    );
    if let Some(key) = encrypt_key {
        pusher = pusher.encrypt_key(key);
    }
    let envelope = match (envelope, event_type) {
        (Some(envelope), _) => envelope,
        (None, Some(event_type)) => pusher.envelope(&event_type, event.unwrap_or_default()),
        (None, None) => {
            return Err(Refusal::bad(
                "give an `envelope`, or an `event_type` and its `event`",
            ));
        }
    };
    let pushed = pusher.push(&envelope).await;
    let attempts: Vec<Value> = pushed
        .attempts
        .iter()
        .map(|attempt| {
            json!({
                "status": attempt.status,
                "body": attempt.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()),
                "failure": attempt.failure,
                "client_error": attempt.client_error,
            })
        })
        .collect();
    Ok(json!({ "delivered": pushed.delivered(), "envelope": envelope, "attempts": attempts }))
}

fn known(known: bool, endpoint: &str, what: &str) -> Result<(), Refusal> {
    match known {
        true => Ok(()),
        false => Err(Refusal::bad(format!(
            "{endpoint} is not {what} of the generated crate"
        ))),
    }
}

/// The recorded requests as JSON: a JSON body as JSON, any other as text, a form as its
/// fields and its files' names, types, lengths and checksums.
fn requests(recorded: &[Recorded]) -> Value {
    Value::Array(recorded.iter().map(request).collect())
}

fn request(recorded: &Recorded) -> Value {
    let headers: serde_json::Map<String, Value> = recorded
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value).into_owned();
            (name.clone(), Value::String(value))
        })
        .collect();
    let body = match serde_json::from_slice::<Value>(&recorded.body) {
        Ok(json) => json,
        Err(_) => Value::String(String::from_utf8_lossy(&recorded.body).into_owned()),
    };
    let form = recorded.form.as_ref().map(|form| match form {
        Ok(form) => json!({
            "fields": form.fields.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
            "files": form.files.iter().map(|f| json!({
                "name": f.name, "file_name": f.file_name, "content_type": f.content_type,
                "length": f.length, "checksum": format!("{:016x}", f.checksum),
            })).collect::<Vec<_>>(),
        }),
        Err(malformed) => json!({ "error": malformed }),
    });
    json!({
        "method": recorded.method,
        "path": recorded.path,
        "query": recorded.query,
        "headers": headers,
        "body": body,
        "form": form,
    })
}

fn read<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|err| Refusal::bad(format!("the body: {err}")))
}

#[derive(Deserialize)]
struct Respond {
    endpoint: String,
    data: Value,
}

#[derive(Deserialize)]
struct List {
    endpoint: String,
    items: Vec<Value>,
    page_size: usize,
}

#[derive(Deserialize)]
struct File {
    endpoint: String,
    base64: String,
    file_name: Option<String>,
    content_type: Option<String>,
}

#[derive(Deserialize)]
struct Faults {
    target: Target,
    fault: Fault,
    #[serde(default = "one")]
    times: usize,
    #[serde(default)]
    skip: usize,
}

#[derive(Deserialize)]
struct DocumentedError {
    endpoint: String,
    code: i64,
    #[serde(default = "one")]
    times: usize,
}

fn one() -> usize {
    1
}

#[derive(Deserialize)]
struct UserToken {
    token: String,
}

#[derive(Deserialize)]
struct Push {
    envelope: Value,
    #[serde(default = "one")]
    parts: usize,
}

#[derive(Deserialize)]
struct FailEndpoint {
    code: i64,
    times: usize,
}

#[derive(Deserialize)]
struct WebhookPush {
    url: String,
    verification_token: String,
    encrypt_key: Option<String>,
    event_type: Option<String>,
    event: Option<Value>,
    envelope: Option<Value>,
    #[serde(default)]
    retry_after_ms: Vec<u64>,
}
