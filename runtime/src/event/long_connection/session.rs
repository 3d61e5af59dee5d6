//! One connection, from the handshake to its end: pings, pongs and their settings, data
//! frames joined and dispatched, and their acknowledgements.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinSet;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::frame::{
    Ack, ClientConfig, Frame, HEADER_MESSAGE_ID, HEADER_SEQ, HEADER_SUM, HEADER_TRACE_ID,
    HEADER_TYPE, METHOD_CONTROL, METHOD_DATA, TYPE_CARD, TYPE_EVENT, TYPE_PONG,
};
use super::reassembly::{Limits, Reassembly};
use super::{LongConnectionError, Settings};
use crate::event::Dispatcher;

/// How often incomplete split messages are looked at.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// How long sending one message, or closing, may take before the connection counts as
/// dead.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The longest period a ticker is given: longer ones would overflow the clock.
const MAX_PERIOD: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// How a connection ended.
pub(crate) enum Ended {
    /// The shutdown future completed.
    Shutdown,
    /// The connection failed or was closed: reconnect.
    Lost(LongConnectionError),
}

/// What one connection works with, over a socket of any transport (the client's upgraded
/// HTTP connection; an in-memory pipe for the fuzzer).
pub(crate) struct Session<'a, S> {
    pub(crate) socket: WebSocketStream<S>,
    pub(crate) dispatcher: &'a Dispatcher,
    pub(crate) settings: &'a mut Settings,
    pub(crate) device_id: &'a str,
    pub(crate) service_id: i32,
    pub(crate) limits: Limits,
    pub(crate) max_in_flight: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    /// Serves the connection until it fails or `shutdown` completes. Handlers still running
    /// then are not waited for: their events, not acknowledged, are delivered again (to
    /// this or another connection), and the dispatcher's memory of event ids keeps them
    /// from running twice.
    pub(crate) async fn serve(
        mut self,
        mut shutdown: Pin<&mut (dyn Future<Output = ()> + Send)>,
    ) -> Ended {
        let mut ping = ticker(self.settings.ping_interval);
        let mut sweep = ticker(SWEEP_EVERY);
        let mut parts = Reassembly::new(self.limits);
        let mut tasks: JoinSet<Vec<u8>> = JoinSet::new();
        let mut last_heard = Instant::now();
        // When the last ping went out, if the server's answer to it still counts.
        let mut last_ping: Option<Instant> = None;
        loop {
            let reading = tasks.len() < self.max_in_flight;
            let result = tokio::select! {
                () = &mut shutdown => {
                    let _ = tokio::time::timeout(SEND_TIMEOUT, self.socket.close(None)).await;
                    return Ended::Shutdown;
                }
                _ = ping.tick() => {
                    let result = self.ping(last_heard, last_ping).await;
                    // While reading waits for handlers, the server's silence says nothing.
                    last_ping = reading.then(Instant::now);
                    result
                }
                _ = sweep.tick() => {
                    let dropped = parts.sweep(Instant::now());
                    if dropped > 0 {
                        tracing::warn!(device_id = self.device_id, dropped, "split messages not completed in time; dropped");
                    }
                    Ok(())
                }
                Some(joined) = tasks.join_next() => match joined {
                    Ok(ack) => self.send(ack).await,
                    Err(err) => {
                        tracing::error!(device_id = self.device_id, error = %err, "an event's task failed; not acknowledged");
                        Ok(())
                    }
                },
                message = self.socket.next(), if reading => {
                    if matches!(message, Some(Ok(_))) {
                        last_heard = Instant::now();
                    }
                    match message {
                        None | Some(Ok(Message::Close(_))) => {
                            Err(closed("the server closed the connection"))
                        }
                        Some(Err(err)) => Err(LongConnectionError::WebSocket(Box::new(err))),
                        Some(Ok(Message::Binary(bytes))) => {
                            if self.on_frame(&bytes, &mut parts, &mut tasks) {
                                ping = ticker_from_now(self.settings.ping_interval);
                            }
                            Ok(())
                        }
                        // Pings are answered by tungstenite; nothing else is expected.
                        Some(Ok(_)) => Ok(()),
                    }
                }
            };
            if let Err(err) = result {
                return Ended::Lost(err);
            }
        }
    }

    async fn send(&mut self, bytes: Vec<u8>) -> Result<(), LongConnectionError> {
        match tokio::time::timeout(
            SEND_TIMEOUT,
            self.socket.send(Message::Binary(bytes.into())),
        )
        .await
        {
            Ok(sent) => sent.map_err(|err| LongConnectionError::WebSocket(Box::new(err))),
            Err(_) => Err(closed("sending took too long")),
        }
    }

    /// Pings, unless the last ping (sent at `last_ping`) went a whole ping interval without
    /// a word from the server, which answers every ping with a pong: then the connection is
    /// half-open (a peer or a middlebox gone without a close) and taken for dead.
    async fn ping(
        &mut self,
        last_heard: Instant,
        last_ping: Option<Instant>,
    ) -> Result<(), LongConnectionError> {
        if last_ping.is_some_and(|pinged| last_heard < pinged) {
            return Err(closed(
                "the last ping went unanswered for a whole ping interval",
            ));
        }
        self.send(Frame::ping(self.service_id).to_bytes()).await
    }

    /// Handles one frame; whether the ping interval changed.
    fn on_frame(
        &mut self,
        bytes: &[u8],
        parts: &mut Reassembly,
        tasks: &mut JoinSet<Vec<u8>>,
    ) -> bool {
        let frame = match Frame::from_bytes(bytes) {
            Ok(frame) => frame,
            Err(err) => {
                tracing::warn!(device_id = self.device_id, error = %err, "a message that is not a frame; ignored");
                return false;
            }
        };
        match frame.method {
            METHOD_CONTROL => self.on_control(&frame),
            METHOD_DATA => {
                self.on_data(frame, parts, tasks);
                false
            }
            method => {
                tracing::debug!(
                    device_id = self.device_id,
                    method,
                    "a frame of an unknown method; ignored"
                );
                false
            }
        }
    }

    /// A pong may carry new settings; whether the ping interval changed.
    fn on_control(&mut self, frame: &Frame) -> bool {
        if frame.header(HEADER_TYPE) != Some(TYPE_PONG) || frame.payload().is_empty() {
            return false;
        }
        match serde_json::from_slice::<ClientConfig>(frame.payload()) {
            Ok(config) => {
                let before = self.settings.ping_interval;
                self.settings.apply(&config);
                self.settings.ping_interval != before
            }
            Err(err) => {
                tracing::warn!(device_id = self.device_id, error = %err, "a pong whose settings do not parse; ignored");
                false
            }
        }
    }

    /// Joins a data frame's parts, then runs the message through the dispatcher in a task
    /// of its own, whose result is the acknowledgement to send.
    fn on_data(&mut self, mut frame: Frame, parts: &mut Reassembly, tasks: &mut JoinSet<Vec<u8>>) {
        let kind = frame.header(HEADER_TYPE).unwrap_or_default().to_owned();
        if kind != TYPE_EVENT && kind != TYPE_CARD {
            tracing::debug!(
                device_id = self.device_id,
                kind,
                "a data frame of an unknown type; ignored"
            );
            return;
        }
        let part = frame.payload.take().unwrap_or_default();
        let sum = frame.header_number(HEADER_SUM).unwrap_or(1).max(1);
        let payload = if sum == 1 {
            part
        } else {
            let id = frame
                .header(HEADER_MESSAGE_ID)
                .unwrap_or_default()
                .to_owned();
            let seq = frame.header_number(HEADER_SEQ).unwrap_or(0);
            match parts.add(&id, sum, seq, part, Instant::now()) {
                Ok(Some(whole)) => whole,
                Ok(None) => return,
                Err(err) => {
                    tracing::warn!(device_id = self.device_id, message_id = %id, error = %err, "a split message refused; dropped");
                    return;
                }
            }
        };
        tracing::debug!(
            device_id = self.device_id,
            message_id = frame.header(HEADER_MESSAGE_ID),
            trace_id = frame.header(HEADER_TRACE_ID),
            kind,
            "message received"
        );
        let dispatcher = self.dispatcher.clone();
        tasks.spawn(async move {
            let started = Instant::now();
            let (response, card) = dispatcher.handle_authenticated(&payload).await;
            let ok = response.status == http::StatusCode::OK;
            let ack = Ack {
                code: if ok { 200 } else { 500 },
                data: (ok && card).then(|| response.body.to_vec()),
            };
            frame.into_ack(&ack, started.elapsed()).to_bytes()
        });
    }
}

/// An interval whose first tick is now, that does not burst after a stall.
fn ticker(period: std::time::Duration) -> Interval {
    let mut interval = tokio::time::interval(period.min(MAX_PERIOD));
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

/// An interval whose first tick is one period from now.
fn ticker_from_now(period: std::time::Duration) -> Interval {
    let period = period.min(MAX_PERIOD);
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

fn closed(why: &str) -> LongConnectionError {
    LongConnectionError::WebSocket(Box::new(tokio_tungstenite::tungstenite::Error::Io(
        std::io::Error::new(std::io::ErrorKind::ConnectionAborted, why.to_owned()),
    )))
}
