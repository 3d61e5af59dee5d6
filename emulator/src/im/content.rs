//! Message content as Feishu checks it: per `msg_type`, the formats of the
//! message-content page, and its size limits.

use serde_json::Value;

use crate::codes;
use crate::http::Reply;

/// The invalid-parameter code of the im endpoints, for content that does not fit its type.
pub const INVALID_CONTENT: i64 = 230001;
/// The code for content over its size limit.
pub const CONTENT_TOO_LONG: i64 = 230025;
/// The size limit of a text message's content.
pub const MAX_TEXT_BYTES: usize = 150 * 1024;
/// The size limit of a card's or a post's content.
pub const MAX_CARD_OR_POST_BYTES: usize = 30 * 1024;

/// The endpoints whose body carries message content (`msg_type` and `content`).
pub(crate) const SENDS_CONTENT: [&str; 3] = [
    "im.v1.message.create",
    "im.v1.message.reply",
    "im.v1.message.update",
];

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

#[cfg(test)]
mod tests {
    use serde_json::json;

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
}
