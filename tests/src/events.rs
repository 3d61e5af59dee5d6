//! Every generated event payload, as a table the tests iterate. Adding an event page to
//! spec/ adds it here, through `feishu::__for_each_event!`; no test names an event.

use feishu::runtime::event::Event;
use feishu_spec::LoadedEvent;
use serde::Serialize;
use serde_json::Value;

/// One generated event type, with its type erased behind a function over JSON.
pub struct EventEntry {
    /// The event type Feishu writes in the envelope.
    pub event_type: &'static str,
    /// Deserializes an envelope's `event` object into the payload type and serializes it
    /// back.
    pub roundtrip: fn(&Value) -> Result<Value, String>,
}

fn roundtrip<E: Event + Serialize>(value: &Value) -> Result<Value, String> {
    let typed: E = serde_path_to_error::deserialize(value).map_err(|err| err.to_string())?;
    serde_json::to_value(&typed).map_err(|err| err.to_string())
}

macro_rules! table {
    ($($event:ty),* $(,)?) => {
        vec![$(EventEntry {
            event_type: <$event as Event>::EVENT_TYPE,
            roundtrip: roundtrip::<$event>,
        }),*]
    };
}

/// Every event payload of the generated crate.
pub fn entries() -> Vec<EventEntry> {
    feishu::__for_each_event!(table)
}

/// The events of spec/, in spec order.
pub fn specs() -> Vec<LoadedEvent> {
    feishu_spec::load(&crate::spec_dir())
        .expect("spec/ loads")
        .events
}
