//! The chats made through the emulator (`im.v1.chat.create`), kept so a test can read
//! them back (`.get`), list them (`.list`), update them and dissolve them (`.delete`; a
//! later get, update or delete of it is refused with 232006, other calls about it are
//! not checked).
//! A chat starts from the create page's documented answer, with the fields the call set.

use std::collections::VecDeque;

use serde_json::{Map, Value, json};

use super::kept::{Kept, MAX_KEPT};
use super::{Call, Handled};
use crate::codes;

/// Feishu's code for a `chat_id` that names no chat, as for a dissolved one.
pub const INVALID_CHAT_ID: i64 = 232006;

/// The chats made through the emulator, by id, in the order made.
#[derive(Default)]
pub(crate) struct Chats {
    kept: Kept,
    /// The ids of the chats dissolved, as many as chats are kept.
    dissolved: VecDeque<String>,
    made: u64,
}

impl Chats {
    /// Create, get, update and delete; `documented` is the endpoint's documented answer.
    pub(super) fn handle(&mut self, call: &Call, documented: impl FnOnce() -> Value) -> Handled {
        if call.endpoint == "im.v1.chat.create" {
            return self.create(call, documented());
        }
        let Some(id) = call.param("chat_id") else {
            return Handled::Default;
        };
        if self.dissolved.contains(&id) {
            let msg = "Your request specifies a chat_id which is invalid.";
            return Handled::Answer(codes::reply(400, INVALID_CHAT_ID, msg, None));
        }
        let Some(chat) = self.kept.get_mut(&id) else {
            return Handled::Default;
        };
        match call.endpoint {
            "im.v1.chat.get" => {
                let mut answer = documented();
                overlay(&mut answer, chat, |_| true);
                Handled::success(answer)
            }
            "im.v1.chat.update" => {
                // Only what the chat shows; a new owner in the request's id type.
                overlay_shown(chat, call.body);
                if call.body.get("owner_id").is_some() {
                    let kind = call
                        .query("user_id_type")
                        .unwrap_or_else(|| "open_id".to_owned());
                    chat["owner_id_type"] = Value::String(kind);
                }
                Handled::success(json!({}))
            }
            "im.v1.chat.delete" => {
                self.kept.remove(&id);
                if self.dissolved.len() >= MAX_KEPT {
                    self.dissolved.pop_front();
                }
                self.dissolved.push_back(id);
                Handled::success(json!({}))
            }
            _ => Handled::Default,
        }
    }

    fn create(&mut self, call: &Call, documented: Value) -> Handled {
        self.made += 1;
        let id = format!("oc_emu{:026x}", self.made);
        let mut chat = match documented {
            Value::Object(_) => documented,
            _ => Value::Object(Map::new()),
        };
        overlay_shown(&mut chat, call.body);
        chat["chat_id"] = Value::String(id.clone());
        match call.body.get("owner_id") {
            Some(owner) => {
                let kind = call
                    .query("user_id_type")
                    .unwrap_or_else(|| "open_id".to_owned());
                chat["owner_id"] = owner.clone();
                chat["owner_id_type"] = Value::String(kind);
            }
            // Without an owner, the bot that made the chat owns it.
            None => {
                chat["owner_id"] = Value::String(call.app_id.to_owned());
                chat["owner_id_type"] = Value::String("app_id".to_owned());
            }
        }
        self.kept.insert(id, chat.clone());
        Handled::success(chat)
    }

    /// The chats kept, oldest first, as `im.v1.chat.list` shows them.
    pub(crate) fn listed(&self) -> Vec<Value> {
        self.all()
            .into_iter()
            .map(|mut chat| {
                chat["chat_status"] = Value::String("normal".to_owned());
                chat
            })
            .collect()
    }

    /// The chats kept, oldest first (dissolved ones are gone).
    pub(crate) fn all(&self) -> Vec<Value> {
        self.kept.iter().cloned().collect()
    }
}

/// Sets in `target` each field of `source` that `target` already shows (not
/// `user_id_list` and the like, which a chat's answers never carry).
fn overlay_shown(target: &mut Value, source: &Value) {
    let shown: Vec<String> = target
        .as_object()
        .into_iter()
        .flat_map(|fields| fields.keys().cloned())
        .collect();
    overlay(target, source, |name| shown.iter().any(|s| s == name));
}

/// Sets in `target` each field of `source` that `takes`.
fn overlay(target: &mut Value, source: &Value, takes: impl Fn(&str) -> bool) {
    let (Value::Object(target), Value::Object(source)) = (target, source) else {
        return;
    };
    for (name, value) in source {
        if takes(name) {
            target.insert(name.clone(), value.clone());
        }
    }
}
