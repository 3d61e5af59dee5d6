//! Feishu's side of the long connection: the endpoint that hands out a WebSocket URL (on
//! the emulator itself) for the app's id and secret, the WebSocket that answers pings, and
//! what a test does with it: push an event or a card callback (split over several frames
//! if asked), read the acknowledgements, drop every connection.
//!
//! ```no_run
//! # async fn run() {
//! use std::time::Duration;
//! use feishu_emulator::Emulator;
//!
//! let emulator = Emulator::start().await;
//! let feishu = emulator.long_connections();
//! // ... start a `LongConnection` with `emulator.client_builder()` ...
//! assert!(feishu.wait_connected(1, Duration::from_secs(5)).await);
//! let id = feishu.push_event(&serde_json::json!({"schema": "2.0"}), 3).unwrap();
//! let ack = feishu.wait_ack(&id, Duration::from_secs(5)).await.unwrap();
//! assert_eq!(ack.code, 200);
//! # }
//! ```

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use crate::codes;
use crate::http::{Recorded, Reply};

/// Where the client asks for a connection URL.
pub const ENDPOINT_PATH: &str = "/callback/ws/endpoint";
/// The WebSocket's path on the emulator.
pub const SOCKET_PATH: &str = "/ws";
/// The `service_id` of the URLs handed out.
pub const SERVICE_ID: i32 = 7;

/// The endpoint's code for an app id and secret that do not match: authentication failed.
pub const AUTH_FAILED: i64 = 514;

/// The `ClientConfig` the endpoint hands out, and each pong carries, unless a test sets
/// another: the fields Feishu always sends (seconds; a `ReconnectCount` of -1 is no limit).
/// Feishu's own intervals are minutes; the emulator's reconnect at once, so a test that
/// drops connections does not wait. [`feishu_client_config`] is Feishu's.
pub fn default_client_config() -> Value {
    json!({"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 120})
}

/// The `ClientConfig` Feishu hands out: pings every 2 minutes, reconnects after 2 minutes
/// and up to 30 seconds more, without a limit.
pub fn feishu_client_config() -> Value {
    json!({"ReconnectCount": -1, "ReconnectInterval": 120, "ReconnectNonce": 30, "PingInterval": 120})
}

/// A frame, as Feishu's `pbbp2.Frame` declares it (proto2).
#[derive(Clone, PartialEq, prost::Message)]
struct Frame {
    #[prost(uint64, required, tag = "1")]
    seq_id: u64,
    #[prost(uint64, required, tag = "2")]
    log_id: u64,
    #[prost(int32, required, tag = "3")]
    service: i32,
    #[prost(int32, required, tag = "4")]
    method: i32,
    #[prost(message, repeated, tag = "5")]
    headers: Vec<Header>,
    #[prost(string, optional, tag = "6")]
    payload_encoding: Option<String>,
    #[prost(string, optional, tag = "7")]
    payload_type: Option<String>,
    #[prost(bytes = "vec", optional, tag = "8")]
    payload: Option<Vec<u8>>,
    #[prost(string, optional, tag = "9")]
    log_id_new: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Header {
    #[prost(string, required, tag = "1")]
    key: String,
    #[prost(string, required, tag = "2")]
    value: String,
}

impl Frame {
    fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.key == key)
            .map(|h| h.value.as_str())
    }
}

fn header(key: &str, value: &str) -> Header {
    Header {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

/// An acknowledgement the client sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    /// The `message_id` of the acknowledged message.
    pub message_id: String,
    /// `type` of the frame: `event` or `card`.
    pub kind: String,
    /// The payload's `code`: 200, or 500 when the handler failed.
    pub code: u16,
    /// The payload's `data`, base64-decoded: a card callback's answer.
    pub data: Option<Vec<u8>>,
    /// The `biz_rt` header: the handler's time in milliseconds.
    pub biz_rt: Option<u64>,
}

/// Why a push did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushError {
    /// No client is connected.
    NotConnected,
    /// `parts` is 0, or more than the payload has bytes.
    BadParts,
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushError::NotConnected => f.write_str("no long connection is open"),
            PushError::BadParts => f.write_str("cannot split the payload into that many parts"),
        }
    }
}

impl std::error::Error for PushError {}

enum Command {
    Send(Vec<u8>),
}

struct State {
    /// The device ids handed out: only their connections are accepted.
    devices: HashSet<String>,
    connections: BTreeMap<u64, mpsc::Sender<Command>>,
    next_id: u64,
    connects: usize,
    acks: Vec<Ack>,
    pings: Vec<Instant>,
    /// What the endpoint hands out as `ClientConfig`; `None`: nothing.
    endpoint_config: Option<Value>,
    /// What pongs carry; `None`: the endpoint's config.
    pong_config: Option<Value>,
    next_message: u64,
    /// The code the next endpoint calls fail with, and how many.
    endpoint_failures: Option<(i64, usize)>,
    /// The connections gone half-open: they stay up and answer nothing.
    silenced: HashSet<u64>,
}

impl Default for State {
    fn default() -> Self {
        State {
            devices: HashSet::new(),
            connections: BTreeMap::new(),
            next_id: 0,
            connects: 0,
            acks: Vec::new(),
            pings: Vec::new(),
            endpoint_config: Some(default_client_config()),
            pong_config: None,
            next_message: 0,
            endpoint_failures: None,
            silenced: HashSet::new(),
        }
    }
}

/// The emulator's long connections: a handle, cheap to clone.
#[derive(Clone)]
pub struct LongConnections {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
    listener: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for LongConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LongConnections")
            .field("addr", &self.addr)
            .field("connected", &self.connected())
            .finish_non_exhaustive()
    }
}

impl LongConnections {
    /// Listens for WebSocket connections on an ephemeral port of 127.0.0.1.
    pub(crate) async fn start() -> LongConnections {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let hub = LongConnections {
            state: Arc::default(),
            addr,
            listener: Arc::default(),
        };
        let accepting = hub.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(accepting.clone().serve(stream));
            }
        });
        *hub.listener.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        hub
    }

    /// Stops listening and drops every connection.
    pub(crate) fn stop(&self) {
        if let Some(task) = self
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
        self.drop_connections();
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `ClientConfig` the endpoint hands out with the URL (default
    /// [`default_client_config`]), e.g. `{"ReconnectInterval": 1, "PingInterval": 1}`
    /// (seconds); `None` leaves it out, which Feishu never does.
    pub fn set_endpoint_config(&self, config: Option<Value>) {
        self.state().endpoint_config = config;
    }

    /// The next `times` endpoint calls are answered with `code` (and HTTP 200), as Feishu
    /// answers when busy (1, 1000040343) or refusing (e.g. 1000040350, too many
    /// connections).
    pub fn fail_endpoint(&self, code: i64, times: usize) {
        self.state().endpoint_failures = Some((code, times));
    }

    /// The `ClientConfig` each pong carries (default: the endpoint's).
    pub fn set_pong_config(&self, config: Option<Value>) {
        self.state().pong_config = config;
    }

    /// How many connections are open.
    pub fn connected(&self) -> usize {
        self.state().connections.len()
    }

    /// How many connections were accepted so far.
    pub fn connects(&self) -> usize {
        self.state().connects
    }

    /// Waits until at least `n` connections are open; whether they were within `timeout`.
    pub async fn wait_connected(&self, n: usize, timeout: Duration) -> bool {
        wait_until(timeout, || self.connected() >= n).await
    }

    /// The times the pings so far arrived.
    pub fn pings(&self) -> Vec<Instant> {
        self.state().pings.clone()
    }

    /// Waits until at least `n` pings arrived; whether they did within `timeout`.
    pub async fn wait_pings(&self, n: usize, timeout: Duration) -> bool {
        wait_until(timeout, || self.pings().len() >= n).await
    }

    /// The acknowledgements so far, in arrival order.
    pub fn acks(&self) -> Vec<Ack> {
        self.state().acks.clone()
    }

    /// Waits for the acknowledgement of message `message_id`.
    pub async fn wait_ack(&self, message_id: &str, timeout: Duration) -> Option<Ack> {
        let find = || {
            self.acks()
                .into_iter()
                .find(|ack| ack.message_id == message_id)
        };
        wait_until(timeout, || find().is_some()).await;
        find()
    }

    /// Makes every open connection half-open, as a peer or a middlebox that vanished without
    /// a close does: it stays up, but pings get no pong and acknowledgements are not read.
    /// Connections opened later are answered as usual.
    pub fn silence_connections(&self) {
        let mut state = self.state();
        let open: Vec<u64> = state.connections.keys().copied().collect();
        state.silenced.extend(open);
    }

    /// Drops every open connection, without a close frame, as a network failure does.
    pub fn drop_connections(&self) {
        self.state().connections.clear();
    }

    /// Pushes an event (the JSON envelope a request URL would get, unencrypted) to one
    /// open connection, split into `parts` frames; its message id.
    pub fn push_event(&self, envelope: &Value, parts: usize) -> Result<String, PushError> {
        self.push("event", envelope.to_string().as_bytes(), parts)
    }

    /// Pushes a card callback (a `card.action.trigger` envelope) as Feishu does: in a frame
    /// of type `event`, which every official client dispatches (they ignore `card` frames);
    /// its message id.
    pub fn push_card(&self, envelope: &Value) -> Result<String, PushError> {
        self.push("event", envelope.to_string().as_bytes(), 1)
    }

    /// Pushes `payload` as a data frame of type `kind`, split into `parts` frames sent in
    /// order, to the connection opened first; its message id.
    pub fn push(&self, kind: &str, payload: &[u8], parts: usize) -> Result<String, PushError> {
        if parts == 0 || parts > payload.len().max(1) {
            return Err(PushError::BadParts);
        }
        let mut state = self.state();
        state.next_message += 1;
        let message_id = format!("emu-msg-{}", state.next_message);
        let sender = state
            .connections
            .values()
            .next()
            .cloned()
            .ok_or(PushError::NotConnected)?;
        let seq_id = state.next_message;
        drop(state);
        let size = payload.len().div_ceil(parts);
        let chunks: Vec<&[u8]> = if payload.is_empty() {
            vec![payload]
        } else {
            payload.chunks(size).collect()
        };
        let sum = chunks.len().to_string();
        for (seq, chunk) in chunks.into_iter().enumerate() {
            let frame = Frame {
                seq_id,
                log_id: seq_id,
                service: SERVICE_ID,
                method: 1,
                headers: vec![
                    header("type", kind),
                    header("message_id", &message_id),
                    header("sum", &sum),
                    header("seq", &seq.to_string()),
                    header("trace_id", &format!("trace-{seq_id}")),
                ],
                payload: Some(chunk.to_vec()),
                ..Frame::default()
            };
            sender
                .try_send(Command::Send(frame.encode_to_vec()))
                .map_err(|_| PushError::NotConnected)?;
        }
        Ok(message_id)
    }

    /// The endpoint: checks the app's id and secret, hands out a URL on the emulator.
    pub(crate) fn endpoint(&self, app: &(String, String), request: &Recorded) -> Reply {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return codes::reply(400, codes::AUTH_INVALID_PARAM, "invalid param", None);
        };
        let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default();
        if field("AppID") != app.0 || field("AppSecret") != app.1 {
            return refusal(AUTH_FAILED, "auth failed: app id or app secret invalid");
        }
        let mut state = self.state();
        if let Some((code, times)) = state.endpoint_failures.take()
            && times > 0
        {
            state.endpoint_failures = Some((code, times - 1));
            return refusal(code, "system busy");
        }
        state.next_message += 1;
        let device = format!("emu-device-{}", state.next_message);
        state.devices.insert(device.clone());
        // Feishu's URL carries an access key and a ticket beside the ids: both secret.
        let url = format!(
            "ws://{}{SOCKET_PATH}?device_id={device}&service_id={SERVICE_ID}\
             &access_key=emu-access-key-{n}&ticket=emu-ticket-{n}",
            self.addr,
            n = state.next_message
        );
        let mut data = json!({ "URL": url });
        if let Some(config) = &state.endpoint_config {
            data["ClientConfig"] = config.clone();
        }
        Reply::json(200, &json!({"code": 0, "msg": "ok", "data": data}))
    }

    /// One connection: the handshake (only for a device id handed out), then frames.
    // tungstenite's handshake callback returns its refusal, a whole response, as the error.
    #[allow(clippy::result_large_err)]
    async fn serve(self, stream: TcpStream) {
        let devices = self.state().devices.clone();
        let check = move |request: &Request, response: Response| {
            let query = request.uri().query().unwrap_or_default();
            let known = query
                .split('&')
                .filter_map(|pair| pair.strip_prefix("device_id="))
                .any(|device| devices.contains(device));
            if request.uri().path() == SOCKET_PATH && known {
                return Ok(response);
            }
            let mut refusal = ErrorResponse::new(Some("forbidden".to_owned()));
            *refusal.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::FORBIDDEN;
            let headers = refusal.headers_mut();
            headers.insert("Handshake-Status", "403".parse().expect("header"));
            headers.insert("Handshake-Msg", "unknown device".parse().expect("header"));
            Err(refusal)
        };
        let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, check).await else {
            return;
        };
        let (sender, mut commands) = mpsc::channel(256);
        let id = {
            let mut state = self.state();
            state.next_id += 1;
            state.connects += 1;
            let id = state.next_id;
            state.connections.insert(id, sender);
            id
        };
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Send(bytes)) => {
                        if socket.send(Message::Binary(bytes.into())).await.is_err() {
                            break;
                        }
                    }
                    // Dropped: the socket goes without a close frame.
                    None => break,
                },
                message = socket.next() => match message {
                    Some(Ok(Message::Binary(_))) if self.state().silenced.contains(&id) => {}
                    Some(Ok(Message::Binary(bytes))) => {
                        if let Some(answer) = self.on_frame(&bytes)
                            && socket.send(Message::Binary(answer.into())).await.is_err()
                        {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
            }
        }
        let mut state = self.state();
        state.connections.remove(&id);
        state.silenced.remove(&id);
    }

    /// Records a ping (answering it with a pong) or an acknowledgement.
    fn on_frame(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let frame = Frame::decode(bytes).ok()?;
        match (frame.method, frame.header("type")) {
            (0, Some("ping")) => {
                let mut state = self.state();
                state.pings.push(Instant::now());
                let pong = Frame {
                    service: frame.service,
                    method: 0,
                    headers: vec![header("type", "pong")],
                    payload: state
                        .pong_config
                        .as_ref()
                        .or(state.endpoint_config.as_ref())
                        .map(|config| config.to_string().into_bytes()),
                    ..Frame::default()
                };
                Some(pong.encode_to_vec())
            }
            (1, _) => {
                let ack = read_ack(&frame)?;
                self.state().acks.push(ack);
                None
            }
            _ => None,
        }
    }
}

/// The endpoint's refusal, as Feishu sends it: HTTP 200, the code, and an empty `data`
/// (Feishu's Node client reads `data`'s fields before the code).
fn refusal(code: i64, msg: &str) -> Reply {
    Reply::json(200, &json!({"code": code, "msg": msg, "data": {}}))
}

fn read_ack(frame: &Frame) -> Option<Ack> {
    let payload: Value = serde_json::from_slice(frame.payload.as_deref()?).ok()?;
    let data = match payload.get("data") {
        Some(Value::String(data)) => base64::engine::general_purpose::STANDARD.decode(data).ok(),
        _ => None,
    };
    Some(Ack {
        message_id: frame.header("message_id")?.to_owned(),
        kind: frame.header("type").unwrap_or_default().to_owned(),
        code: u16::try_from(payload.get("code")?.as_u64()?).ok()?,
        data,
        biz_rt: frame.header("biz_rt").and_then(|rt| rt.parse().ok()),
    })
}

async fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
