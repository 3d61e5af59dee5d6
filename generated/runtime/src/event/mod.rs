//! Events and callbacks Feishu pushes to an app: the typed payloads the service crates
//! generate from the event pages implement [`Event`].

use serde::de::DeserializeOwned;

/// A typed event payload: the `event` object of the envelope Feishu pushes, for one event
/// type. Generated for every event page (`feishu::im::v1::message::MessageReceiveEvent`).
pub trait Event: DeserializeOwned + Send + 'static {
    /// The event type Feishu writes in the envelope: `header.event_type` in the 2.0 form,
    /// `event.type` in the 1.0 form (`im.message.receive_v1`, `app_ticket`).
    const EVENT_TYPE: &'static str;
}
