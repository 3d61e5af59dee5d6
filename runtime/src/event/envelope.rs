//! The JSON Feishu posts: a URL verification, a 2.0 event (`schema`, `header`, `event`),
//! a 1.0 `event_callback` (`uuid`, `token`, `ts`, `event`) or a 1.0 card callback of the old
//! card request URL (`open_id`, `open_message_id`, `token`, `action`), each possibly
//! encrypted as `{"encrypt": …}`.

use std::fmt;
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::WebhookError;
use super::crypto::EncryptKey;
use super::replay::parse_epoch;

/// The envelope an event came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventSchema {
    /// The 1.0 form: `{"uuid", "token", "ts", "type": "event_callback", "event": {"type", …}}`.
    V1,
    /// The 2.0 form: `{"schema": "2.0", "header": {…}, "event": {…}}`.
    V2,
    /// A card callback of the old card request URL: `{"open_id", "user_id",
    /// "open_message_id", "open_chat_id", "tenant_key", "token", "action"}`, without an
    /// envelope. Its handler gets the payload in the 2.0 form (`operator`, `token`,
    /// `action`, `context`); it has no event id of its own (see [`EventContext::event_id`]).
    CardV1,
}

/// What the envelope says about an event, beside its payload: handed to every handler.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventContext {
    /// The envelope the event came in.
    pub schema: EventSchema,
    /// The event's unique id: `header.event_id` (2.0) or `uuid` (1.0). Feishu may deliver an
    /// event more than once; the dispatcher runs its handler once per id (within its
    /// memory bound). A 1.0 card callback has none: its id is `card-v1:` and the request's
    /// signature, so only the same request sent again counts as a duplicate.
    pub event_id: String,
    /// `header.event_type` (2.0) or `event.type` (1.0), e.g. `im.message.receive_v1`.
    pub event_type: String,
    /// When the event was sent: `header.create_time` (2.0) or `ts` (1.0).
    pub create_time: Option<SystemTime>,
    /// The app the event is for: `header.app_id` (2.0) or `event.app_id` (1.0).
    pub app_id: Option<String>,
    /// The tenant the event comes from: `header.tenant_key` (2.0) or `event.tenant_key`
    /// (1.0). A marketplace app names it in its calls ([`Call::tenant_key`](crate::Call::tenant_key)).
    pub tenant_key: Option<String>,
}

/// An event as the [fallback](super::DispatcherBuilder::fallback) receives it: one of a type
/// no handler is registered for. Feishu adds event types; none is dropped.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RawEvent {
    /// What the envelope says about the event.
    pub context: EventContext,
    /// The payload: the envelope's `event` object.
    pub event: Value,
    /// The rest of the (decrypted) envelope: `schema` and `header` (2.0), or `uuid`, `ts`
    /// and `type` (1.0), without the verification token.
    pub envelope: Value,
}

/// A request body, parsed.
pub(crate) enum Incoming {
    /// The URL verification Feishu sends when the request URL is saved.
    Challenge {
        challenge: String,
        token: Option<String>,
    },
    /// An event or a callback.
    Event(Delivery),
    /// A 1.0 card callback: its id (empty here) and authentication come from the
    /// request's headers.
    CardV1(Delivery),
}

/// An event as it arrived, before it is authenticated.
pub(crate) struct Delivery {
    pub(crate) context: EventContext,
    /// The verification token of the envelope, checked when there is no Encrypt Key.
    pub(crate) token: Option<String>,
    pub(crate) event: Value,
    /// The envelope without `event` and without the token.
    pub(crate) envelope: Map<String, Value>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("context", &self.context)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl Delivery {
    pub(crate) fn into_raw(self) -> RawEvent {
        RawEvent {
            context: self.context,
            event: self.event,
            envelope: Value::Object(self.envelope),
        }
    }
}

/// Parses a request body, decrypting it first when it is `{"encrypt": …}`.
pub(crate) fn parse(body: &[u8], key: Option<&EncryptKey>) -> Result<Incoming, WebhookError> {
    let outer = json_object(body)?;
    let object = match outer.get("encrypt") {
        Some(Value::String(encrypt)) => decrypt_object(encrypt, key)?,
        Some(_) => return Err(not_an_envelope("`encrypt` is not a string")),
        None => outer,
    };
    classify(object)
}

fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, WebhookError> {
    match serde_json::from_slice(bytes).map_err(WebhookError::InvalidJson)? {
        Value::Object(object) => Ok(object),
        _ => Err(not_an_envelope("not a JSON object")),
    }
}

fn decrypt_object(
    encrypt: &str,
    key: Option<&EncryptKey>,
) -> Result<Map<String, Value>, WebhookError> {
    let key = key.ok_or(WebhookError::EncryptKeyMissing)?;
    let plain = key.decrypt(encrypt).ok_or(WebhookError::Undecryptable)?;
    // What does not decrypt to a JSON object is refused exactly like what does not
    // decrypt: a forger must not learn whether the padding of a tampered ciphertext held.
    match serde_json::from_slice(&plain) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(WebhookError::Undecryptable),
    }
}

fn classify(object: Map<String, Value>) -> Result<Incoming, WebhookError> {
    let kind = text(&object, "type");
    if kind == Some("url_verification") {
        let challenge = text(&object, "challenge")
            .ok_or_else(|| not_an_envelope("a url_verification without a `challenge`"))?;
        return Ok(Incoming::Challenge {
            challenge: challenge.to_owned(),
            token: text(&object, "token").map(str::to_owned),
        });
    }
    if object.contains_key("header") {
        return v2(object).and_then(bounded).map(Incoming::Event);
    }
    if kind == Some("event_callback") {
        return v1(object).and_then(bounded).map(Incoming::Event);
    }
    if kind.is_none() && object.contains_key("action") && !object.contains_key("schema") {
        return Ok(Incoming::CardV1(card_v1(object)));
    }
    Err(not_an_envelope(
        "neither a url_verification, a 2.0 event (`header`), a 1.0 `event_callback` nor a \
         1.0 card callback (`action`)",
    ))
}

fn v2(mut object: Map<String, Value>) -> Result<Delivery, WebhookError> {
    let event = object.remove("event").unwrap_or_else(empty_object);
    let Some(Value::Object(header)) = object.get_mut("header") else {
        return Err(not_an_envelope("`header` is not an object"));
    };
    let token = take_text(header, "token");
    let field = |name: &str| text(header, name).map(str::to_owned);
    let context = EventContext {
        schema: EventSchema::V2,
        event_id: field("event_id").ok_or_else(|| not_an_envelope("no `header.event_id`"))?,
        event_type: field("event_type").ok_or_else(|| not_an_envelope("no `header.event_type`"))?,
        create_time: header.get("create_time").and_then(epoch),
        app_id: field("app_id"),
        tenant_key: field("tenant_key"),
    };
    Ok(Delivery {
        context,
        token,
        event,
        envelope: object,
    })
}

fn v1(mut object: Map<String, Value>) -> Result<Delivery, WebhookError> {
    let event = object.remove("event").unwrap_or_else(empty_object);
    let token = take_text(&mut object, "token");
    let field = |name: &str| text(event.as_object()?, name).map(str::to_owned);
    let context = EventContext {
        schema: EventSchema::V1,
        event_id: text(&object, "uuid")
            .ok_or_else(|| not_an_envelope("no `uuid`"))?
            .to_owned(),
        event_type: field("type").ok_or_else(|| not_an_envelope("no `event.type`"))?,
        create_time: object.get("ts").and_then(epoch),
        app_id: field("app_id"),
        tenant_key: field("tenant_key"),
    };
    Ok(Delivery {
        context,
        token,
        event,
        envelope: object,
    })
}

/// A 1.0 card callback, its payload moved into the 2.0 form so one handler takes both.
fn card_v1(object: Map<String, Value>) -> Delivery {
    let field = |name: &str| object.get(name).cloned().unwrap_or(Value::Null);
    let mut operator = Map::new();
    for name in ["open_id", "user_id", "union_id", "tenant_key"] {
        if let Some(value) = object.get(name) {
            operator.insert(name.to_owned(), value.clone());
        }
    }
    let event = serde_json::json!({
        "operator": operator,
        "token": field("token"),
        "action": field("action"),
        "host": "im_message",
        "context": {
            "open_message_id": field("open_message_id"),
            "open_chat_id": field("open_chat_id"),
        },
    });
    let context = EventContext {
        schema: EventSchema::CardV1,
        event_id: String::new(),
        event_type: super::card::CARD_ACTION_TRIGGER.to_owned(),
        create_time: None,
        app_id: text(&object, "app_id").map(str::to_owned),
        tenant_key: text(&object, "tenant_key").map(str::to_owned),
    };
    let mut envelope = object;
    // The card's update token is the handler's (`CardAction::token`), not the envelope's.
    envelope.remove("token");
    Delivery {
        context,
        token: None,
        event,
        envelope,
    }
}

/// Refuses an event id longer than any of Feishu's: the dispatcher remembers ids.
fn bounded(delivery: Delivery) -> Result<Delivery, WebhookError> {
    let length = delivery.context.event_id.len();
    if length > super::MAX_EVENT_ID_BYTES {
        return Err(not_an_envelope(&format!(
            "an event id of {length} bytes, over the {} accepted",
            super::MAX_EVENT_ID_BYTES
        )));
    }
    Ok(delivery)
}

fn text<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    object.get(name)?.as_str()
}

fn take_text(object: &mut Map<String, Value>, name: &str) -> Option<String> {
    match object.remove(name)? {
        Value::String(value) => Some(value),
        _ => None,
    }
}

/// A time field, as a string (Feishu's way) or a number.
fn epoch(value: &Value) -> Option<SystemTime> {
    match value {
        Value::String(text) => parse_epoch(text),
        Value::Number(number) => parse_epoch(&number.to_string()),
        _ => None,
    }
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

fn not_an_envelope(why: &str) -> WebhookError {
    WebhookError::NotAnEnvelope(why.to_owned())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use serde_json::json;

    use super::*;

    fn parse_json(body: Value) -> Result<Incoming, WebhookError> {
        parse(body.to_string().as_bytes(), None)
    }

    fn delivery(body: Value) -> Delivery {
        match parse_json(body) {
            Ok(Incoming::Event(delivery)) => delivery,
            Ok(Incoming::Challenge { .. }) => panic!("a challenge"),
            Ok(Incoming::CardV1(_)) => panic!("a 1.0 card callback"),
            Err(err) => panic!("{err}"),
        }
    }

    #[test]
    fn reads_a_challenge() {
        let body = json!({"challenge": "c-1", "token": "v", "type": "url_verification"});
        let Ok(Incoming::Challenge { challenge, token }) = parse_json(body) else {
            panic!("not a challenge");
        };
        assert_eq!((challenge.as_str(), token.as_deref()), ("c-1", Some("v")));
    }

    #[test]
    fn reads_a_2_0_envelope_and_keeps_its_token_apart() {
        let delivery = delivery(json!({
            "schema": "2.0",
            "header": {
                "event_id": "e-1", "event_type": "im.message.receive_v1",
                "create_time": "1603977298000", "token": "v", "app_id": "cli_1", "tenant_key": "t-1"
            },
            "event": {"message": {"chat_id": "oc_1"}}
        }));
        assert_eq!(
            delivery.context,
            EventContext {
                schema: EventSchema::V2,
                event_id: "e-1".into(),
                event_type: "im.message.receive_v1".into(),
                create_time: Some(UNIX_EPOCH + Duration::from_millis(1_603_977_298_000)),
                app_id: Some("cli_1".into()),
                tenant_key: Some("t-1".into()),
            }
        );
        assert_eq!(delivery.token.as_deref(), Some("v"));
        assert_eq!(delivery.event, json!({"message": {"chat_id": "oc_1"}}));
        let raw = delivery.into_raw();
        assert_eq!(
            raw.envelope,
            json!({"schema": "2.0", "header": {
                "event_id": "e-1", "event_type": "im.message.receive_v1",
                "create_time": "1603977298000", "app_id": "cli_1", "tenant_key": "t-1"
            }})
        );
    }

    #[test]
    fn reads_a_1_0_envelope() {
        // The example of the app_ticket event page.
        let delivery = delivery(json!({
            "ts": "1502199207.7171419",
            "uuid": "bc447199585340d1f3728d26b1c0297a",
            "token": "41a9425ea7df4536a7623e38fa321bae",
            "type": "event_callback",
            "event": {"app_id": "cli_xxx", "app_ticket": "xxx", "type": "app_ticket"}
        }));
        assert_eq!(delivery.context.schema, EventSchema::V1);
        assert_eq!(
            delivery.context.event_id,
            "bc447199585340d1f3728d26b1c0297a"
        );
        assert_eq!(delivery.context.event_type, "app_ticket");
        assert_eq!(delivery.context.app_id.as_deref(), Some("cli_xxx"));
        assert!(delivery.context.create_time.is_some());
        assert_eq!(
            delivery.token.as_deref(),
            Some("41a9425ea7df4536a7623e38fa321bae")
        );
        assert!(!format!("{delivery:?}").contains("41a9425ea7df"));
        assert_eq!(
            delivery.into_raw().envelope,
            json!({"ts": "1502199207.7171419", "uuid": "bc447199585340d1f3728d26b1c0297a", "type": "event_callback"})
        );
    }

    #[test]
    fn refuses_what_is_not_an_envelope() {
        let cases = [
            (json!([1, 2]), "not a JSON object"),
            (json!({"type": "url_verification"}), "without a `challenge`"),
            (
                json!({"schema": "2.0", "header": {"event_type": "x"}}),
                "header.event_id",
            ),
            (
                json!({"schema": "2.0", "header": "x"}),
                "`header` is not an object",
            ),
            (
                json!({"type": "event_callback", "event": {"type": "x"}}),
                "no `uuid`",
            ),
            (json!({"type": "event_callback", "uuid": "u"}), "event.type"),
            (json!({"hello": "world"}), "neither"),
            (json!({"encrypt": 1}), "`encrypt` is not a string"),
        ];
        for (body, why) in cases {
            match parse_json(body.clone()) {
                Err(WebhookError::NotAnEnvelope(message)) => {
                    assert!(message.contains(why), "{body}: {message}")
                }
                Err(other) => panic!("{body}: {other:?}"),
                Ok(_) => panic!("{body}: accepted"),
            }
        }
        assert!(matches!(
            parse(b"{not json", None),
            Err(WebhookError::InvalidJson(_))
        ));
        assert!(matches!(
            parse(br#"{"encrypt": "abc"}"#, None),
            Err(WebhookError::EncryptKeyMissing)
        ));
    }

    #[test]
    fn an_encrypted_body_that_is_not_a_json_object_is_undecryptable() {
        // The guide's example decrypts to "hello world": valid padding, not JSON.
        let key = EncryptKey::new("test key".into());
        let body = br#"{"encrypt": "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="}"#;
        assert!(matches!(
            parse(body, Some(&key)),
            Err(WebhookError::Undecryptable)
        ));
    }
}
