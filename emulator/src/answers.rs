//! The answer to a call no test set one for: the page's documented response example (its
//! payload, as the generated crate keeps it), so that a new user's `message_id` is not
//! `None`, with the ids in it unique per call, and a paged list's example as its last page.

use feishu::runtime::codegen::Endpoint;
use serde_json::{Map, Value};

use crate::form::{FNV_START, fnv1a};

/// The documented answer to call number `call` of `endpoint`: its example's payload, each
/// id in it made unique to the call; `{}` where the page shows none, or one the response
/// type does not read (`reads`), as where the example contradicts the page's table.
pub(crate) fn documented(endpoint: &Endpoint, reads: fn(&Value) -> bool, call: u64) -> Value {
    let mut data = endpoint
        .response_example
        .and_then(|example| serde_json::from_str(example).ok())
        .filter(|example: &Value| example.is_object() && reads(example))
        .unwrap_or_else(|| Value::Object(Map::new()));
    unique_ids(&mut data, call);
    if let (Some(paging), Value::Object(fields)) = (endpoint.paging, &mut data) {
        // One page, the last: a walk over it ends instead of asking for the example's token.
        fields.remove(paging.response_token);
        if let Some(has_more) = paging.has_more
            && fields.contains_key(has_more)
        {
            fields.insert(has_more.to_owned(), Value::Bool(false));
        }
    }
    data
}

/// Whether a field holds an id: `id`, `*_id`, `*_key` (image and file keys), `*_token`
/// (document tokens).
fn is_id(name: &str) -> bool {
    name == "id" || name.ends_with("_id") || name.ends_with("_key") || name.ends_with("_token")
}

/// Replaces each id's value with one unique to `call`: its prefix (`om_`, `oc_`, …) kept,
/// the rest derived from the value and the call, so that equal ids in one answer (a
/// message's `root_id` and `parent_id`) stay equal.
fn unique_ids(value: &mut Value, call: u64) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                match field {
                    Value::String(id) if is_id(name) && !id.is_empty() => *id = unique(id, call),
                    _ => unique_ids(field, call),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| unique_ids(item, call)),
        _ => {}
    }
}

fn unique(id: &str, call: u64) -> String {
    let prefix = match id.split_once('_') {
        Some((prefix, _)) if prefix.len() <= 4 => &id[..=prefix.len()],
        _ => "",
    };
    let hash = fnv1a(fnv1a(FNV_START, id.as_bytes()), &call.to_le_bytes());
    format!("{prefix}emu{hash:016x}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_are_unique_per_call_and_consistent_within_one() {
        let example = json!({
            "message_id": "om_dc13264520392913993dd051dba21dcf",
            "root_id": "om_root", "parent_id": "om_root",
            "items": [{"chat_id": "oc_1", "name": "Team"}],
            "sender": {"id": "cli_9f5343c580712009", "id_type": "app_id"}
        });
        let (mut first, mut second) = (example.clone(), example);
        unique_ids(&mut first, 1);
        unique_ids(&mut second, 2);
        assert_ne!(first["message_id"], second["message_id"]);
        assert!(first["message_id"].as_str().unwrap().starts_with("om_emu"));
        assert_eq!(first["root_id"], first["parent_id"], "equal ids stay equal");
        assert_ne!(first["root_id"], first["message_id"]);
        assert!(
            first["items"][0]["chat_id"]
                .as_str()
                .unwrap()
                .starts_with("oc_emu")
        );
        assert_eq!(first["items"][0]["name"], "Team", "other fields untouched");
        assert_eq!(first["sender"]["id_type"], "app_id");
    }
}
