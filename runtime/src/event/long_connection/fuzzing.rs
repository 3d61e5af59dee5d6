//! The long connection's session driven over an in-memory pipe, for the project's fuzzer
//! (`feishu-fuzz`): frames that no real server would send go through the same code as
//! Feishu's. Not for apps: it changes in any release.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::frame::{Frame, Header};
use super::reassembly::{Limits, MAX_PARTS, MAX_PENDING, PART_TIMEOUT};
use super::session::{Ended, Session};
use super::{DEFAULT_PING_INTERVAL, DEFAULT_RECONNECT_INTERVAL, DEFAULT_RECONNECT_NONCE, Settings};
use crate::event::Dispatcher;

/// How long the server side waits for one more answer before it ends the session.
const QUIET: Duration = Duration::from_millis(50);

/// A frame's protobuf bytes: `method` 0 (control) or 1 (data), its headers and payload.
pub fn frame(method: i32, headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    Frame {
        method,
        headers: headers.iter().map(|(k, v)| Header::new(k, v)).collect(),
        payload: Some(payload.to_vec()),
        ..Frame::default()
    }
    .to_bytes()
}

/// How a session fed by [`serve`] went.
#[derive(Debug)]
pub struct Served {
    /// The messages the session sent back: acknowledgements and pings.
    pub answers: usize,
    /// Why the session ended on its own, if it did before the feed was done.
    pub lost: Option<String>,
}

/// Opens a session over an in-memory pipe, sends it `messages` (each a binary WebSocket
/// message, a frame or not), reads its answers until it has been quiet for a moment, and
/// ends it.
pub async fn serve(dispatcher: &Dispatcher, messages: Vec<Vec<u8>>) -> Served {
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let (client, server) = tokio::io::duplex(bytes.saturating_add(1 << 20));
    let socket = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
    let mut feishu = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
    let mut settings = Settings {
        reconnect_count: None,
        reconnect_interval: DEFAULT_RECONNECT_INTERVAL,
        reconnect_nonce: DEFAULT_RECONNECT_NONCE,
        ping_interval: DEFAULT_PING_INTERVAL,
    };
    let session = Session {
        socket,
        dispatcher,
        settings: &mut settings,
        device_id: "fuzz",
        service_id: 1,
        limits: Limits {
            max_parts: MAX_PARTS,
            max_bytes: dispatcher.max_body_bytes(),
            max_pending: MAX_PENDING,
            timeout: PART_TIMEOUT,
        },
        max_in_flight: 8,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = std::pin::pin!(async {
        let _ = stopped.await;
    });
    let feed = async move {
        let mut answers = 0;
        for message in messages {
            if feishu.send(Message::Binary(message.into())).await.is_err() {
                break;
            }
        }
        while let Ok(Some(Ok(_))) = tokio::time::timeout(QUIET, feishu.next()).await {
            answers += 1;
        }
        let _ = stop.send(());
        // Kept open until the session has seen the shutdown: closed now, it would end
        // the session first, as a lost connection.
        (answers, feishu)
    };
    let (ended, (answers, _feishu)) = tokio::join!(session.serve(shutdown), feed);
    Served {
        answers,
        lost: match ended {
            Ended::Shutdown => None,
            Ended::Lost(err) => Some(err.to_string()),
        },
    }
}
