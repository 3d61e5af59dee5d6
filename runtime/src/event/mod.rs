//! Events and callbacks Feishu pushes to an app: the typed payloads the service crates
//! generate from the event pages implement [`Event`], and the [`Dispatcher`] receives them
//! at the app's request URL (Feishu's "将事件发送至开发者服务器" mode): it answers the URL
//! verification, decrypts, checks the signature or token, refuses replays, runs each event's
//! handler once, and answers card callbacks with a toast or a card.
//!
//! ```no_run
//! use feishu_runtime::event::{Dispatcher, EventContext};
//!
//! #[derive(serde::Deserialize)]
//! struct ChatDisbanded {
//!     chat_id: String,
//! }
//!
//! impl feishu_runtime::event::Event for ChatDisbanded {
//!     const EVENT_TYPE: &'static str = "im.chat.disbanded_v1";
//! }
//!
//! # async fn serve(request: feishu_runtime::event::WebhookRequest) {
//! let dispatcher = Dispatcher::builder("verification-token")
//!     .encrypt_key("encrypt-key")
//!     .on(|event: ChatDisbanded, _context: EventContext| async move {
//!         println!("{} was disbanded", event.chat_id);
//!         Ok::<_, std::io::Error>(())
//!     })
//!     .build();
//! // Any server: hand over the headers and the raw body, send back status and body.
//! let response = dispatcher.handle(request).await;
//! # let _ = (response.status, response.body);
//! # }
//! ```
//!
//! The dispatcher is also a `tower_service::Service<http::Request<B>>`: in axum,
//! `Router::new().route_service("/feishu/events", dispatcher)`.
//!
//! With the `websocket` feature, an internal app can receive the same events over Feishu's
//! long connection instead ("使用长连接接收事件"), with no public request URL:
//! `LongConnection::new(client, dispatcher).run().await`.

use serde::de::DeserializeOwned;

mod card;
mod crypto;
mod dedup;
mod dispatcher;
mod envelope;
mod error;
#[cfg(feature = "websocket")]
pub(crate) mod long_connection;
mod replay;
mod service;
mod webhook;

pub use card::{
    CARD_ACTION_TRIGGER, CARD_ANSWER_LATE, CARD_ANSWER_WINDOW, Card, CardAction, CardActionData,
    CardContext, CardOperator, CardResponse, CardTemplate, Toast, ToastKind,
};
pub use dispatcher::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_DEDUP_CAPACITY, DEFAULT_DEDUP_MAX_BYTES, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_REPLAY_WINDOW, Dispatcher, DispatcherBuilder, MAX_EVENT_ID_BYTES, NONCE_HEADER,
    SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
pub use envelope::{EventContext, EventSchema, RawEvent};
pub use error::{BoxError, WebhookError};
#[cfg(feature = "websocket")]
#[cfg_attr(docsrs, doc(cfg(feature = "websocket")))]
pub use long_connection::{
    DEFAULT_MAX_IN_FLIGHT, DEFAULT_PING_INTERVAL, DEFAULT_RECONNECT_INTERVAL,
    DEFAULT_RECONNECT_NONCE, LongConnection, LongConnectionError,
};
pub use webhook::{WebhookRequest, WebhookResponse};

/// A typed event payload: the `event` object of the envelope Feishu pushes, for one event
/// type. Generated for every event page (`feishu::im::v1::message::MessageReceiveEvent`).
pub trait Event: DeserializeOwned + Send + 'static {
    /// The event type Feishu writes in the envelope: `header.event_type` in the 2.0 form,
    /// `event.type` in the 1.0 form (`im.message.receive_v1`, `app_ticket`).
    const EVENT_TYPE: &'static str;
}
