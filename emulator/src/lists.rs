//! Paged lists a test loads into the emulator ([`Emulator::load_list`](crate::Emulator::load_list)),
//! served a page at a time as the endpoint documents it: the page token read from the
//! query or the body, the items, `has_more` and the next token written under the
//! response's own field names.

use feishu::runtime::codegen::{PageTokenIn, Paging};
use serde_json::{Map, Value};

use crate::codes;
use crate::http::{Recorded, Reply};

/// The largest page the emulator serves, whatever the request asks for.
const MAX_PAGE_SIZE: usize = 500;
const TOKEN_PREFIX: &str = "emu-page-";

/// A loaded list.
pub(crate) struct List {
    pub(crate) items: Vec<Value>,
    /// The page size when the request sends no `page_size`.
    pub(crate) page_size: usize,
}

/// The page of `list` that `request` asks for, merged into `base` (the endpoint's stubbed
/// answer); a refusal for a page token the emulator never handed out.
pub(crate) fn page(
    paging: &Paging,
    list: &List,
    request: &Recorded,
    base: Value,
) -> Result<Value, Reply> {
    let sent = sent_params(paging, request);
    let start = match sent.get(paging.request_token).and_then(param_text) {
        None => 0,
        Some(token) if token.is_empty() => 0,
        Some(token) => parse_token(&token)
            .filter(|start| *start <= list.items.len())
            .ok_or_else(|| {
                let violation =
                    codes::violation(paging.request_token, "the page token is invalid or expired");
                codes::reply(
                    400,
                    codes::FIELD_VALIDATION_FAILED,
                    "invalid page_token",
                    Some(vec![violation]),
                )
            })?,
    };
    let size = sent
        .get("page_size")
        .and_then(param_text)
        .and_then(|size| size.parse::<usize>().ok())
        .unwrap_or(list.page_size)
        .clamp(1, MAX_PAGE_SIZE);
    let end = start.saturating_add(size).min(list.items.len());
    let more = end < list.items.len();
    let mut data = match base {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if let Some(items) = paging.items {
        data.insert(
            items.to_owned(),
            Value::Array(list.items[start..end].to_vec()),
        );
    }
    if let Some(has_more) = paging.has_more {
        data.insert(has_more.to_owned(), Value::Bool(more));
    }
    match more {
        true => data.insert(
            paging.response_token.to_owned(),
            Value::String(format!("{TOKEN_PREFIX}{end}")),
        ),
        false => data.remove(paging.response_token),
    };
    Ok(Value::Object(data))
}

/// The request's parameters where it sends its page token: the query, or the body.
fn sent_params(paging: &Paging, request: &Recorded) -> Map<String, Value> {
    match paging.token_in {
        PageTokenIn::Query => request
            .query_pairs()
            .into_iter()
            .map(|(name, value)| (name, Value::String(value)))
            .collect(),
        PageTokenIn::Body => match serde_json::from_slice(&request.body) {
            Ok(Value::Object(body)) => body,
            _ => Map::new(),
        },
    }
}

fn param_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn parse_token(token: &str) -> Option<usize> {
    token.strip_prefix(TOKEN_PREFIX)?.parse().ok()
}
