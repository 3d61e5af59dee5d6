//! The im core as a bot's tests need it: message content checked per `msg_type` as Feishu
//! checks it ([`content`]), and the messages and chats made through the emulator kept
//! ([`messages`], [`chats`]), so a test can read back, list, reply to, update and delete
//! them, and assert on what its bot did.
//!
//! A call about a message or chat the emulator never made is left to the emulator's
//! default answer (a stub, a loaded list, or the page's example), so tests that load
//! their own data keep working.

mod chats;
mod content;
mod kept;
mod messages;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::codes;
use crate::http::{Recorded, Reply};

pub(crate) use chats::Chats;
pub(crate) use content::{SENDS_CONTENT, check_content};
pub(crate) use messages::Messages;

/// What the emulator keeps of the im core.
#[derive(Default)]
pub(crate) struct Im {
    pub(crate) messages: Messages,
    pub(crate) chats: Chats,
}

/// One call to a generated endpoint, as the im core reads it.
pub(crate) struct Call<'a> {
    /// The endpoint's id, e.g. `im.v1.message.create`.
    pub(crate) endpoint: &'a str,
    /// The endpoint's documented path, with `:name` placeholders.
    pub(crate) template: &'a str,
    pub(crate) request: &'a Recorded,
    /// The JSON body, already checked against the endpoint's schema (`null` if none).
    pub(crate) body: &'a Value,
    /// The app that calls.
    pub(crate) app_id: &'a str,
}

impl Call<'_> {
    /// The value of the path parameter `:name`.
    fn param(&self, name: &str) -> Option<String> {
        let wanted = format!(":{name}");
        self.template
            .split('/')
            .zip(self.request.path.split('/'))
            .find(|(segment, _)| *segment == wanted)
            .map(|(_, value)| {
                percent_encoding::percent_decode_str(value)
                    .decode_utf8_lossy()
                    .into_owned()
            })
    }

    /// The value of the query parameter `name`.
    fn query(&self, name: &str) -> Option<String> {
        query_param(self.request, name)
    }
}

fn query_param(request: &Recorded, name: &str) -> Option<String> {
    request
        .query_pairs()
        .into_iter()
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// What the im core does with a call: answers it, or leaves it to the emulator's default
/// answer.
pub(crate) enum Handled {
    Answer(Reply),
    Default,
}

impl Handled {
    fn success(data: Value) -> Handled {
        Handled::Answer(codes::success(data))
    }
}

/// Handles `call` if it is one of the im core's. `documented` makes the endpoint's
/// documented answer, the base of what a new chat shows.
pub(crate) fn handle(im: &mut Im, call: &Call, documented: impl FnOnce() -> Value) -> Handled {
    match call.endpoint {
        "im.v1.message.create" | "im.v1.message.reply" => {
            let chat_id = match call.endpoint {
                "im.v1.message.reply" => None,
                _ => Some(chat_of(call)),
            };
            im.messages.send(call, chat_id)
        }
        endpoint if endpoint.starts_with("im.v1.message.") => im.messages.handle(call),
        endpoint if endpoint.starts_with("im.v1.chat.") => im.chats.handle(call, documented),
        _ => Handled::Default,
    }
}

/// What a list endpoint of the im core serves from what the emulator kept, oldest first:
/// a chat's messages (`im.v1.message.list` by `container_id`), or the chats made (`im.v1.chat.list`).
/// `None` when nothing was kept for it, so a loaded list or the example answers instead.
pub(crate) fn kept_list(im: &Im, endpoint: &str, request: &Recorded) -> Option<Vec<Value>> {
    let items = match endpoint {
        "im.v1.message.list" => im.messages.of_chat(&query_param(request, "container_id")?),
        "im.v1.chat.list" => im.chats.listed(),
        _ => return None,
    };
    Some(items).filter(|items| !items.is_empty())
}

/// The chat a new message goes to: the chat itself, or the bot's chat with the user.
fn chat_of(call: &Call) -> String {
    let receiver = call.body["receive_id"].as_str().unwrap_or_default();
    match call.query("receive_id_type").as_deref() {
        Some("chat_id") => receiver.to_owned(),
        _ => format!("oc_p2p_{receiver}"),
    }
}

fn now_millis() -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    Value::String(now.map_or(0, |since| since.as_millis()).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_params_are_read_against_the_template() {
        let request = Recorded {
            method: "POST".to_owned(),
            path: "/open-apis/im/v1/messages/om_1%2Fx/reply".to_owned(),
            query: Some("a=1".to_owned()),
            headers: Vec::new(),
            body: Vec::new(),
            form: None,
        };
        let call = Call {
            endpoint: "im.v1.message.reply",
            template: "/open-apis/im/v1/messages/:message_id/reply",
            request: &request,
            body: &Value::Null,
            app_id: "cli_a",
        };
        assert_eq!(call.param("message_id").as_deref(), Some("om_1/x"));
        assert_eq!(call.param("chat_id"), None);
        assert_eq!(call.query("a").as_deref(), Some("1"));
    }
}
