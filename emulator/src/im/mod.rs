//! The im core as a bot's tests need it: message content checked per `msg_type` as Feishu
//! checks it (the formats of the message-content page, and its size limits), and the
//! messages sent through the emulator kept, so they can be read back, listed, replied to,
//! updated and deleted.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::codes;
use crate::http::{Recorded, Reply};

/// The invalid-parameter code of the im endpoints, for content that does not fit its type.
pub const INVALID_CONTENT: i64 = 230001;
/// The code for content over its size limit.
pub const CONTENT_TOO_LONG: i64 = 230025;
/// The size limit of a text message's content.
pub const MAX_TEXT_BYTES: usize = 150 * 1024;
/// The size limit of a card's or a post's content.
pub const MAX_CARD_OR_POST_BYTES: usize = 30 * 1024;

/// The messages sent through the emulator, by id, in the order sent.
#[derive(Default)]
pub(crate) struct Messages {
    by_id: BTreeMap<String, Value>,
    order: Vec<String>,
    sent: u64,
}

/// The endpoints whose body carries message content (`msg_type` and `content`).
pub(crate) const SENDS_CONTENT: [&str; 3] = [
    "im.v1.message.create",
    "im.v1.message.reply",
    "im.v1.message.update",
];

/// The endpoint that lists a chat's messages.
pub(crate) const MESSAGE_LIST: &str = "im.v1.message.list";

/// What the im core does with a call: answers it, or leaves it to the emulator's default
/// answer (a stub, a loaded list or `{}`).
pub(crate) enum Handled {
    Answer(Reply),
    Default,
}

/// Handles `endpoint`'s call if it is one of the im core's, sent by `app_id`.
pub(crate) fn handle(
    messages: &mut Messages,
    endpoint: &str,
    template: &str,
    request: &Recorded,
    app_id: &str,
) -> Handled {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let message_id = || path_param(template, &request.path, "message_id");
    let answer = match endpoint {
        "im.v1.message.create" | "im.v1.message.reply" => {
            let chat_id = match endpoint {
                "im.v1.message.create" => chat_of(request, &body),
                _ => message_id()
                    .and_then(|parent| messages.by_id.get(&parent))
                    .map_or("oc_emulated_chat".to_owned(), |parent| {
                        parent["chat_id"].as_str().unwrap_or_default().to_owned()
                    }),
            };
            let parent = (endpoint == "im.v1.message.reply")
                .then(message_id)
                .flatten();
            messages.send(&body, chat_id, parent, app_id)
        }
        "im.v1.message.update" => match message_id().and_then(|id| messages.by_id.get_mut(&id)) {
            Some(message) => {
                message["msg_type"] = body["msg_type"].clone();
                edit(message, &body)
            }
            None => return Handled::Default,
        },
        "im.v1.message.patch" => match message_id().and_then(|id| messages.by_id.get_mut(&id)) {
            Some(message) => edit(message, &body),
            None => return Handled::Default,
        },
        "im.v1.message.get" => match message_id().and_then(|id| messages.by_id.get(&id)) {
            Some(message) => json!({ "items": [message] }),
            None => return Handled::Default,
        },
        "im.v1.message.delete" => {
            if let Some(message) = message_id().and_then(|id| messages.by_id.get_mut(&id)) {
                message["deleted"] = Value::Bool(true);
            }
            json!({})
        }
        _ => return Handled::Default,
    };
    Handled::Answer(codes::success(answer))
}

impl Messages {
    /// Keeps a new message; its JSON as the get endpoint shows it.
    fn send(
        &mut self,
        body: &Value,
        chat_id: String,
        parent: Option<String>,
        app_id: &str,
    ) -> Value {
        self.sent += 1;
        let id = format!("om_emu{:026x}", self.sent);
        let now = now_millis();
        let mut message = json!({
            "message_id": id,
            "msg_type": body["msg_type"],
            "create_time": now,
            "update_time": now,
            "deleted": false,
            "updated": false,
            "chat_id": chat_id,
            "sender": {"id": app_id, "id_type": "app_id", "sender_type": "app", "tenant_key": "emulated_tenant"},
            "body": {"content": body["content"]},
        });
        if let Some(parent) = parent {
            message["root_id"] = Value::String(parent.clone());
            message["parent_id"] = Value::String(parent);
        }
        self.by_id.insert(id.clone(), message.clone());
        self.order.push(id);
        message
    }

    /// The messages kept for `chat_id`, oldest first: what a message list serves when no
    /// list was loaded.
    pub(crate) fn of_chat(&self, chat_id: &str) -> Vec<Value> {
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .filter(|message| message["chat_id"] == chat_id && message["deleted"] == false)
            .cloned()
            .collect()
    }

    /// The messages kept, oldest first, deleted ones included.
    pub(crate) fn all(&self) -> Vec<Value> {
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .cloned()
            .collect()
    }
}

fn edit(message: &mut Value, body: &Value) -> Value {
    message["body"]["content"] = body["content"].clone();
    message["updated"] = Value::Bool(true);
    message["update_time"] = now_millis();
    message.clone()
}

/// The chat whose messages a list call asks for: its `container_id`.
pub(crate) fn listed_chat(request: &Recorded) -> Option<String> {
    request
        .query_pairs()
        .into_iter()
        .find_map(|(name, value)| (name == "container_id").then_some(value))
}

/// The chat a new message goes to: the chat itself, or the bot's chat with the user.
fn chat_of(request: &Recorded, body: &Value) -> String {
    let receiver = body["receive_id"].as_str().unwrap_or_default();
    let by_chat = request
        .query_pairs()
        .iter()
        .any(|(name, value)| name == "receive_id_type" && value == "chat_id");
    match by_chat {
        true => receiver.to_owned(),
        false => format!("oc_p2p_{receiver}"),
    }
}

/// Refuses content that does not fit its `msg_type`, as Feishu does: it must be a JSON
/// object in a string, with the fields its type needs, within the type's size limit.
pub(crate) fn check_content(body: &Value) -> Result<(), Reply> {
    let (Some(kind), Some(content)) = (body["msg_type"].as_str(), body["content"].as_str()) else {
        return Ok(());
    };
    let limit = match kind {
        "text" => MAX_TEXT_BYTES,
        "post" | "interactive" => MAX_CARD_OR_POST_BYTES,
        _ => usize::MAX,
    };
    if content.len() > limit {
        let why = format!(
            "the {kind} content is {} bytes; at most {limit} are accepted",
            content.len()
        );
        return Err(refusal(
            CONTENT_TOO_LONG,
            "The length of the message content reaches its limit.",
            &why,
        ));
    }
    let parsed = match serde_json::from_str::<Value>(content) {
        Ok(Value::Object(object)) => object,
        _ => {
            let why = format!(
                "content is not a JSON object (as a {kind} message needs); see the message content formats"
            );
            return Err(refusal(
                INVALID_CONTENT,
                "Your request contains an invalid request parameter.",
                &why,
            ));
        }
    };
    let needs: &[&str] = match kind {
        "text" => &["text"],
        "image" => &["image_key"],
        "file" | "audio" | "media" | "sticker" => &["file_key"],
        "share_chat" => &["chat_id"],
        "share_user" => &["user_id"],
        _ => &[],
    };
    if let Some(missing) = needs
        .iter()
        .find(|field| !parsed.get(**field).is_some_and(Value::is_string))
    {
        let why = format!("a {kind} message's content needs the string `{missing}`");
        return Err(refusal(
            INVALID_CONTENT,
            "Your request contains an invalid request parameter.",
            &why,
        ));
    }
    if kind == "post" && parsed.values().all(|post| !post.is_object()) {
        let why =
            "a post's content is an object per language, e.g. {\"zh_cn\": {\"content\": [[…]]}}";
        return Err(refusal(
            INVALID_CONTENT,
            "Your request contains an invalid request parameter.",
            why,
        ));
    }
    Ok(())
}

fn refusal(code: i64, msg: &str, why: &str) -> Reply {
    codes::reply(400, code, msg, Some(vec![codes::violation("content", why)]))
}

/// The value of `:name` in `path`, read against the route's `template`.
fn path_param(template: &str, path: &str, name: &str) -> Option<String> {
    let wanted = format!(":{name}");
    template
        .split('/')
        .zip(path.split('/'))
        .find(|(segment, _)| *segment == wanted)
        .map(|(_, value)| {
            percent_encoding::percent_decode_str(value)
                .decode_utf8_lossy()
                .into_owned()
        })
}

fn now_millis() -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    Value::String(now.map_or(0, |since| since.as_millis()).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(kind: &str, content: &str) -> Value {
        json!({"receive_id": "ou_1", "msg_type": kind, "content": content})
    }

    #[test]
    fn content_is_checked_per_message_type() {
        assert!(check_content(&body("text", r#"{"text":"hello"}"#)).is_ok());
        assert!(check_content(&body("text", "hello")).is_err(), "not JSON");
        assert!(
            check_content(&body("text", r#"{"txt":"hello"}"#)).is_err(),
            "no text"
        );
        assert!(check_content(&body("image", r#"{"image_key":"img_1"}"#)).is_ok());
        assert!(check_content(&body("image", r#"{"file_key":"f"}"#)).is_err());
        let post = r#"{"zh_cn":{"title":"t","content":[[{"tag":"text","text":"x"}]]}}"#;
        assert!(check_content(&body("post", post)).is_ok());
        assert!(check_content(&body("post", r#"{"title":"t"}"#)).is_err());
        assert!(check_content(&body("interactive", r#"{"elements":[]}"#)).is_ok());
        let long = format!(r#"{{"text":"{}"}}"#, "x".repeat(MAX_TEXT_BYTES));
        let refused = check_content(&body("text", &long)).unwrap_err();
        let answer: Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!(answer["code"], CONTENT_TOO_LONG);
    }

    #[test]
    fn path_params_are_read_against_the_template() {
        let template = "/open-apis/im/v1/messages/:message_id/reply";
        let path = "/open-apis/im/v1/messages/om_1%2Fx/reply";
        assert_eq!(
            path_param(template, path, "message_id").as_deref(),
            Some("om_1/x")
        );
        assert_eq!(path_param(template, path, "chat_id"), None);
    }
}
