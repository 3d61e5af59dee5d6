//! Getting a connection: the endpoint request (app id and secret for a `wss://` URL) and
//! the WebSocket handshake, with Feishu's ways of refusing either.

use std::time::Duration;

use http::HeaderMap;
use http::header::{self, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::{WebSocketStream, tungstenite};

use super::LongConnectionError;
use super::frame::ClientConfig;
use crate::client::Client;
use crate::secret::Redactor;

/// Where the client asks for a connection URL.
pub(crate) const ENDPOINT_PATH: &str = "/callback/ws/endpoint";
/// How long the endpoint request and the handshake may take, each.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest endpoint answer read.
const MAX_ENDPOINT_ANSWER: usize = 64 * 1024;

/// The endpoint's codes for Feishu's own failures, retried.
const SYSTEM_BUSY: i64 = 1;
const INTERNAL_ERROR: i64 = 1_000_040_343;
/// The handshake's `Handshake-Status` when authentication failed, and the auth code that
/// makes it fatal: too many connections.
const AUTH_FAILED: i64 = 514;
const EXCEED_CONN_LIMIT: i64 = 1_000_040_350;
/// The handshake's `Handshake-Status` of a banned app.
const FORBIDDEN: i64 = 403;

/// The socket of one connection.
pub(crate) type Socket = WebSocketStream<reqwest::Upgraded>;

/// What the endpoint hands out.
pub(crate) struct Endpoint {
    /// The `ws(s)://` URL; its query holds a ticket, so it is never logged.
    url: String,
    /// `device_id` of the URL: names the connection in logs.
    pub(crate) device_id: String,
    /// `service_id` of the URL: the `service` of the client's pings.
    pub(crate) service_id: i32,
    /// The settings Feishu sent along.
    pub(crate) config: Option<ClientConfig>,
}

impl std::fmt::Debug for Endpoint {
    // The URL's query holds a ticket.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("device_id", &self.device_id)
            .field("service_id", &self.service_id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct Answer {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    msg: String,
    data: Option<AnswerData>,
}

#[derive(serde::Deserialize)]
struct AnswerData {
    #[serde(rename = "URL", default)]
    url: String,
    #[serde(rename = "ClientConfig")]
    client_config: Option<ClientConfig>,
}

/// Asks Feishu for a connection URL.
pub(crate) async fn fetch(client: &Client) -> Result<Endpoint, LongConnectionError> {
    let inner = &client.inner;
    let mut redactor = Redactor::default();
    redactor.add(inner.auth.app_secret.expose());
    let body = serde_json::json!({
        "AppID": inner.auth.app_id,
        "AppSecret": inner.auth.app_secret.expose(),
    });
    let request = inner
        .http
        .post(format!("{}{ENDPOINT_PATH}", inner.base_url))
        .header("locale", "zh")
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(body.to_string())
        .timeout(CONNECT_TIMEOUT);
    let transport = |err: reqwest::Error| {
        LongConnectionError::Endpoint(redactor.text(&err.without_url().to_string()))
    };
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status();
    if !status.is_success() {
        return Err(LongConnectionError::Server {
            code: i64::from(status.as_u16()),
            message: "the endpoint answered an HTTP error".to_owned(),
        });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if bytes.len() + chunk.len() > MAX_ENDPOINT_ANSWER {
            return Err(LongConnectionError::Endpoint(format!(
                "the answer is over {MAX_ENDPOINT_ANSWER} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    let answer: Answer = serde_json::from_slice(&bytes)
        .map_err(|err| LongConnectionError::Endpoint(format!("not the endpoint's JSON: {err}")))?;
    read_answer(answer, &redactor)
}

fn read_answer(answer: Answer, redactor: &Redactor) -> Result<Endpoint, LongConnectionError> {
    let message = redactor.text(&answer.msg);
    match answer.code {
        0 => {}
        SYSTEM_BUSY | INTERNAL_ERROR => {
            return Err(LongConnectionError::Server {
                code: answer.code,
                message,
            });
        }
        code => return Err(LongConnectionError::Refused { code, message }),
    }
    let data = answer
        .data
        .filter(|data| !data.url.is_empty())
        .ok_or_else(|| LongConnectionError::Server {
            code: answer.code,
            message: "the endpoint answered no URL".to_owned(),
        })?;
    let parsed = reqwest::Url::parse(&data.url)
        .map_err(|err| LongConnectionError::Endpoint(format!("the URL is not one: {err}")))?;
    if !matches!(parsed.scheme(), "ws" | "wss") {
        return Err(LongConnectionError::Endpoint(format!(
            "the URL's scheme is {:?}, not ws or wss",
            parsed.scheme()
        )));
    }
    let query = |name: &str| {
        parsed
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    Ok(Endpoint {
        device_id: query("device_id").unwrap_or_default(),
        service_id: query("service_id")
            .and_then(|id| id.parse().ok())
            .unwrap_or_default(),
        config: data.client_config,
        url: data.url,
    })
}

/// Opens the WebSocket; `max_message` bounds a frame and a message.
///
/// The upgrade request goes through the client's own reqwest client (its TLS set-up,
/// proxy and redirect policy), not tungstenite's handshake, which logs the request line
/// (and with it the URL's ticket and access key) at trace level.
pub(crate) async fn dial(
    client: &Client,
    endpoint: &Endpoint,
    max_message: usize,
) -> Result<Socket, LongConnectionError> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message));
    match tokio::time::timeout(CONNECT_TIMEOUT, upgrade(client, &endpoint.url)).await {
        Err(_) => Err(LongConnectionError::Server {
            code: 0,
            message: format!("the handshake took over {CONNECT_TIMEOUT:?}"),
        }),
        Ok(upgraded) => {
            Ok(WebSocketStream::from_raw_socket(upgraded?, Role::Client, Some(config)).await)
        }
    }
}

/// The WebSocket handshake (RFC 6455, section 4.1) over HTTP/1.1: a GET asking for an
/// upgrade, answered 101 with the key's accept value.
async fn upgrade(client: &Client, url: &str) -> Result<reqwest::Upgraded, LongConnectionError> {
    let key = tungstenite::handshake::client::generate_key();
    let response = client
        .inner
        .http
        .get(http_url(url)?)
        .version(http::Version::HTTP_11)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_VERSION, "13")
        .header(header::SEC_WEBSOCKET_KEY, &key)
        .send()
        .await
        .map_err(handshake_failed)?;
    let status = response.status();
    if status != http::StatusCode::SWITCHING_PROTOCOLS {
        return Err(refused_handshake(status.as_u16(), response.headers()));
    }
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let answered = response.headers().get(header::SEC_WEBSOCKET_ACCEPT);
    if answered.map(HeaderValue::as_bytes) != Some(accept.as_bytes()) {
        return Err(LongConnectionError::WebSocket(Box::new(
            tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::SecWebSocketAcceptKeyMismatch,
            ),
        )));
    }
    response.upgrade().await.map_err(handshake_failed)
}

/// The `http(s)://` URL the upgrade request goes to, for a `ws(s)://` one.
fn http_url(url: &str) -> Result<String, LongConnectionError> {
    if let Some(rest) = url.strip_prefix("ws://") {
        return Ok(format!("http://{rest}"));
    }
    let Some(rest) = url.strip_prefix("wss://") else {
        return Err(LongConnectionError::Config(
            "the connection URL is not ws:// or wss://".to_owned(),
        ));
    };
    if !crate::tls::ENABLED {
        return Err(LongConnectionError::Config(format!(
            "the long connection is wss://, but {}",
            crate::tls::MISSING
        )));
    }
    Ok(format!("https://{rest}"))
}

/// A transport failure of the handshake, without the URL (its query holds the ticket).
fn handshake_failed(err: reqwest::Error) -> LongConnectionError {
    LongConnectionError::WebSocket(Box::new(tungstenite::Error::Io(std::io::Error::other(
        err.without_url().to_string(),
    ))))
}

/// Why Feishu refused the handshake, from its `Handshake-*` headers.
fn refused_handshake(status: u16, headers: &HeaderMap) -> LongConnectionError {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let number = |name: &str| header(name).and_then(|value| value.trim().parse::<i64>().ok());
    let code = number("Handshake-Status").unwrap_or(i64::from(status));
    let message = header("Handshake-Msg")
        .map(|text| text.chars().take(200).collect())
        .unwrap_or_else(|| format!("the handshake was answered {status}"));
    let fatal = code == FORBIDDEN
        || (code == AUTH_FAILED && number("Handshake-Autherrcode") == Some(EXCEED_CONN_LIMIT));
    if fatal {
        LongConnectionError::Refused { code, message }
    } else {
        LongConnectionError::Server { code, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: serde_json::Value) -> Result<Endpoint, LongConnectionError> {
        let mut redactor = Redactor::default();
        redactor.add("the-app-secret");
        read_answer(serde_json::from_value(json).unwrap(), &redactor)
    }

    #[test]
    fn reads_the_url_its_ids_and_the_client_config() {
        let endpoint = answer(serde_json::json!({"code": 0, "msg": "ok", "data": {
            "URL": "wss://msg.example/ws/v2?device_id=d-1&service_id=33&ticket=t",
            "ClientConfig": {"ReconnectCount": -1, "ReconnectInterval": 120,
                             "ReconnectNonce": 30, "PingInterval": 120}
        }}))
        .unwrap();
        assert_eq!(
            (endpoint.device_id.as_str(), endpoint.service_id),
            ("d-1", 33)
        );
        assert_eq!(endpoint.config.unwrap().ping_interval, Some(120));
    }

    #[test]
    fn tells_server_errors_from_refusals_and_redacts_the_secret() {
        let busy = answer(serde_json::json!({"code": 1, "msg": "busy"})).unwrap_err();
        assert!(!busy.is_fatal());
        let internal = answer(serde_json::json!({"code": 1000040343, "msg": "x"})).unwrap_err();
        assert!(!internal.is_fatal());
        let refused =
            answer(serde_json::json!({"code": 10014, "msg": "bad the-app-secret"})).unwrap_err();
        assert!(refused.is_fatal());
        assert!(!refused.to_string().contains("the-app-secret"), "{refused}");
        let no_url = answer(serde_json::json!({"code": 0, "data": {}})).unwrap_err();
        assert!(!no_url.is_fatal());
    }

    #[test]
    fn reads_the_handshake_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("Handshake-Status", "514".parse().unwrap());
        headers.insert("Handshake-Msg", "auth failed".parse().unwrap());
        assert!(!refused_handshake(400, &headers).is_fatal());
        headers.insert("Handshake-Autherrcode", "1000040350".parse().unwrap());
        assert!(refused_handshake(400, &headers).is_fatal());
        headers.insert("Handshake-Status", "403".parse().unwrap());
        assert!(refused_handshake(400, &headers).is_fatal());
        assert!(!refused_handshake(502, &HeaderMap::new()).is_fatal());
    }
}
