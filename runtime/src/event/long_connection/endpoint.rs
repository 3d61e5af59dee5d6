//! Getting a connection: the endpoint request (app id and secret for a `wss://` URL) and
//! the WebSocket handshake, with Feishu's ways of refusing either.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::http::HeaderMap;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite};

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
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

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
pub(crate) async fn dial(
    endpoint: &Endpoint,
    max_message: usize,
) -> Result<Socket, LongConnectionError> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message));
    match tokio::time::timeout(CONNECT_TIMEOUT, handshake(&endpoint.url, config)).await {
        Err(_) => Err(LongConnectionError::Server {
            code: 0,
            message: format!("the handshake took over {CONNECT_TIMEOUT:?}"),
        }),
        Ok(Ok(socket)) => Ok(socket),
        Ok(Err(HandshakeError::Config(err))) => Err(err),
        Ok(Err(HandshakeError::WebSocket(tungstenite::Error::Http(response)))) => Err(
            refused_handshake(response.status().as_u16(), response.headers()),
        ),
        Ok(Err(HandshakeError::WebSocket(err))) => {
            Err(LongConnectionError::WebSocket(Box::new(err)))
        }
    }
}

enum HandshakeError {
    Config(LongConnectionError),
    WebSocket(tungstenite::Error),
}

/// The handshake, with TLS for a `wss://` URL: the same set-up as the client's HTTP (see
/// `tls.rs`), built afresh for each connection.
#[cfg(any(feature = "rustls", feature = "rustls-aws-lc", feature = "native-tls"))]
async fn handshake(url: &str, config: WebSocketConfig) -> Result<Socket, HandshakeError> {
    let connector = match crate::tls::Tls::chosen() {
        Ok(Some(tls)) => tls.into_websocket(),
        // Not met: this function exists only when a TLS feature is on.
        Ok(None) => tokio_tungstenite::Connector::Plain,
        Err(err) => return Err(HandshakeError::Config(LongConnectionError::Config(err))),
    };
    tokio_tungstenite::connect_async_tls_with_config(url, Some(config), true, Some(connector))
        .await
        .map(|(socket, _)| socket)
        .map_err(HandshakeError::WebSocket)
}

/// The handshake without TLS: only `ws://` works, a `wss://` URL is refused at once.
#[cfg(not(any(feature = "rustls", feature = "rustls-aws-lc", feature = "native-tls")))]
async fn handshake(url: &str, config: WebSocketConfig) -> Result<Socket, HandshakeError> {
    if url.starts_with("wss:") {
        return Err(HandshakeError::Config(LongConnectionError::Config(
            format!("the long connection is wss://, but {}", crate::tls::MISSING),
        )));
    }
    tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .map(|(socket, _)| socket)
        .map_err(HandshakeError::WebSocket)
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
