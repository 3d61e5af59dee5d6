//! The messages sent through the emulator (`im.v1.message.create` and `.reply`), kept as
//! `im.v1.message.get` shows them, so they can be read back, listed by chat, updated,
//! patched and deleted.

use serde_json::{Value, json};

use super::kept::Kept;
use super::{Call, Handled, now_millis};

/// The messages sent through the emulator, by id, in the order sent.
#[derive(Default)]
pub(crate) struct Messages {
    kept: Kept,
    sent: u64,
}

impl Messages {
    /// Sends the message of a create call (to `chat_id`) or a reply call (to the chat of
    /// the message replied to).
    pub(super) fn send(&mut self, call: &Call, chat_id: Option<String>) -> Handled {
        let parent = match chat_id {
            Some(_) => None,
            None => call.param("message_id"),
        };
        let replied_to = parent.as_ref().and_then(|id| self.kept.get(id));
        let chat_id = chat_id
            .or_else(|| {
                replied_to
                    .and_then(|m| m["chat_id"].as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "oc_emulated_chat".to_owned());
        // A reply's root is the thread's first message.
        let root = replied_to
            .and_then(|m| m["root_id"].as_str())
            .map(str::to_owned)
            .or_else(|| parent.clone());
        self.sent += 1;
        let id = format!("om_emu{:026x}", self.sent);
        let now = now_millis();
        let mut message = json!({
            "message_id": id,
            "msg_type": call.body["msg_type"],
            "create_time": now,
            "update_time": now,
            "deleted": false,
            "updated": false,
            "chat_id": chat_id,
            "sender": {"id": call.app_id, "id_type": "app_id", "sender_type": "app", "tenant_key": "emulated_tenant"},
            "body": {"content": call.body["content"]},
        });
        if let (Some(parent), Some(root)) = (parent, root) {
            message["root_id"] = Value::String(root);
            message["parent_id"] = Value::String(parent);
        }
        self.kept.insert(id, message.clone());
        Handled::success(message)
    }

    /// Get, update, patch and delete of a kept message.
    pub(super) fn handle(&mut self, call: &Call) -> Handled {
        let Some(message) = call
            .param("message_id")
            .and_then(|id| self.kept.get_mut(&id))
        else {
            return Handled::Default;
        };
        let answer = match call.endpoint {
            "im.v1.message.get" => json!({ "items": [message] }),
            "im.v1.message.update" => {
                message["msg_type"] = call.body["msg_type"].clone();
                edit(message, call.body)
            }
            "im.v1.message.patch" => edit(message, call.body),
            "im.v1.message.delete" => {
                message["deleted"] = Value::Bool(true);
                json!({})
            }
            _ => return Handled::Default,
        };
        Handled::success(answer)
    }

    /// The messages kept for `chat_id`, oldest first: what a message list serves when no
    /// list was loaded.
    pub(crate) fn of_chat(&self, chat_id: &str) -> Vec<Value> {
        self.kept
            .iter()
            .filter(|message| message["chat_id"] == chat_id && message["deleted"] == false)
            .cloned()
            .collect()
    }

    /// The messages kept, oldest first, deleted ones included.
    pub(crate) fn all(&self) -> Vec<Value> {
        self.kept.iter().cloned().collect()
    }
}

fn edit(message: &mut Value, body: &Value) -> Value {
    message["body"]["content"] = body["content"].clone();
    message["updated"] = Value::Bool(true);
    message["update_time"] = now_millis();
    message.clone()
}
