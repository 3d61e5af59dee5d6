//! Manual corrections to imported specs, kept in `<method>.overrides.yaml` beside the spec.
//! The importer reads them and never writes them, so they survive every re-import.
//!
//! ```yaml
//! - at: query_params.status           # a key path; list items are picked by `name`
//!   reason: The page gives the values without names.   # (fields) or `value` (options)
//!   set: { enum_name: feedback_status }
//! - at: query_params.status.options.1
//!   reason: …
//!   set: { name: handled }
//! - at: endpoint                      # the endpoint's own keys
//!   reason: …
//!   set: { tokens: [tenant, user] }
//! - at: request_body.legacy_flag
//!   reason: …
//!   remove: true
//! ```
//!
//! `set` of a list of named items (fields by `name`, options by `value`) merges into the
//! list by name: it cannot drop an item by leaving it out; `remove` takes one out.
//!
//! Like k8s-openapi's fixups, an override fails loudly once the page no longer needs it:
//! when its path matches nothing, or when the page already says what it sets.

use serde::Deserialize;
use serde_json::Value;

pub const SUFFIX: &str = ".overrides.yaml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub at: String,
    pub reason: String,
    #[serde(default)]
    pub set: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub remove: bool,
}

pub fn parse(text: &str) -> Result<Vec<Override>, String> {
    let overrides: Vec<Override> = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    for (i, o) in overrides.iter().enumerate() {
        if o.reason.trim().is_empty() {
            return Err(format!("override {} (`{}`) gives no reason", i + 1, o.at));
        }
        if o.set.is_some() == o.remove {
            return Err(format!(
                "override {} (`{}`) needs exactly one of `set` and `remove`",
                i + 1,
                o.at
            ));
        }
    }
    Ok(overrides)
}

/// Applies the overrides in order to a spec's JSON form. Errors name the override.
pub fn apply(spec: &mut Value, overrides: &[Override]) -> Result<(), String> {
    for (i, o) in overrides.iter().enumerate() {
        let label = format!("override {} (`{}`)", i + 1, o.at);
        if o.at == ROOT {
            set_keys(spec, o, &label)?;
            continue;
        }
        let segments: Vec<&str> = o.at.split('.').collect();
        let (last, parents) = segments
            .split_last()
            .ok_or_else(|| format!("{label}: empty path"))?;
        let parent = walk(spec, parents).map_err(|unmatched| unmatched.message(&label))?;
        if o.remove {
            let removed = match parent {
                Value::Array(items) => remove_item(items, last),
                Value::Object(map) if map.contains_key(*last) => map.remove(*last).is_some(),
                Value::Object(map) => map
                    .get_mut("fields")
                    .and_then(Value::as_array_mut)
                    .is_some_and(|items| remove_item(items, last)),
                _ => false,
            };
            if !removed {
                return Err(format!(
                    "{label}: nothing to remove any more; remove the override"
                ));
            }
            continue;
        }
        let target = walk(parent, &[last]).map_err(|unmatched| Unmatched {
            matched: parents.join("."),
            ..unmatched
        });
        let target = target.map_err(|unmatched| unmatched.message(&label))?;
        set_keys(target, o, &label)?;
    }
    Ok(())
}

/// The path naming the endpoint itself (its top-level keys: `doc_url`, `tokens`, …).
pub const ROOT: &str = "endpoint";

fn set_keys(target: &mut Value, o: &Override, label: &str) -> Result<(), String> {
    let set = o.set.as_ref().cloned().unwrap_or_default();
    let Value::Object(target) = target else {
        return Err(format!("{label}: `set` needs the path to name an object"));
    };
    let before = target.clone();
    merge_keys(target, set);
    if *target == before {
        return Err(format!(
            "{label}: the page now says this itself; remove the override"
        ));
    }
    Ok(())
}

/// Sets each key. A list of named items (fields and types by `name`, options by `value`,
/// scopes by `id`) is merged item by item rather than replaced, so an override that
/// names one item cannot silently drop the others: items it does not name keep their
/// place and content, items it names get its keys, new ones go at the end. Taking an
/// item out needs `remove`.
fn merge_keys(target: &mut serde_json::Map<String, Value>, set: serde_json::Map<String, Value>) {
    for (key, value) in set {
        match target.get_mut(&key) {
            Some(existing) => merge_value(existing, value),
            None => {
                target.insert(key, value);
            }
        }
    }
}

fn merge_value(existing: &mut Value, value: Value) {
    match (existing, value) {
        (Value::Array(items), Value::Array(new)) if is_named_list(items) && is_named_list(&new) => {
            for item in new {
                let found = items
                    .iter_mut()
                    .find(|old| item_key(old) == item_key(&item));
                match (found, item) {
                    (Some(Value::Object(old)), Value::Object(item)) => merge_keys(old, item),
                    (_, item) => items.push(item),
                }
            }
        }
        (existing, value) => *existing = value,
    }
}

/// The key that names a list item: `value` (options), `id` (scopes) or `name` (fields,
/// types).
fn item_key(item: &Value) -> Option<&Value> {
    ["value", "id", "name"].iter().find_map(|key| item.get(key))
}

fn is_named_list(items: &[Value]) -> bool {
    items
        .iter()
        .all(|item| item.is_object() && item_key(item).is_some())
}

/// The first segment of an override's path that names nothing in the spec.
#[derive(Debug)]
struct Unmatched {
    /// The part of the path before it, which did match.
    matched: String,
    segment: String,
    /// What could come there instead: keys, field names or option values.
    there: Vec<String>,
}

impl Unmatched {
    /// Both a mistyped path and a page that changed end here, so the message says which
    /// segment matched nothing and what is there, rather than guessing which it was.
    fn message(&self, label: &str) -> String {
        let under = match self.matched.as_str() {
            "" => "at the top of the spec".to_owned(),
            matched => format!("under `{matched}`"),
        };
        format!(
            "{label}: `{}` matches nothing {under}, which has: {}; fix the path, or remove \
             the override if the page no longer has what it names",
            self.segment,
            self.there.join(", ")
        )
    }
}

fn walk<'a>(mut value: &'a mut Value, segments: &[&str]) -> Result<&'a mut Value, Unmatched> {
    for (i, segment) in segments.iter().enumerate() {
        if step(value, segment).is_none() {
            return Err(Unmatched {
                matched: segments[..i].join("."),
                segment: (*segment).to_owned(),
                there: names_in(value),
            });
        }
        value = step(value, segment).expect("just found");
    }
    Ok(value)
}

/// What a path segment can name in `value`: an object's keys and its fields' names, or a
/// list's item names (or values).
fn names_in(value: &Value) -> Vec<String> {
    let item_name = |item: &Value| match item_key(item)? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    match value {
        Value::Object(map) => {
            let fields = map.get("fields").and_then(Value::as_array);
            let keys = map.keys().filter(|k| *k != "fields").cloned();
            keys.chain(fields.into_iter().flatten().filter_map(item_name))
                .collect()
        }
        Value::Array(items) => items.iter().filter_map(item_name).collect(),
        _ => Vec::new(),
    }
}

fn step<'a>(value: &'a mut Value, segment: &str) -> Option<&'a mut Value> {
    match value {
        Value::Object(map) => match map.get("fields") {
            // `request_body.fields.x` and `…x.fields.y`; a payload or field's own keys win.
            _ if map.contains_key(segment) => map.get_mut(segment),
            Some(Value::Array(_)) => {
                let items = map.get_mut("fields")?.as_array_mut()?;
                let index = position(items, segment)?;
                items.get_mut(index)
            }
            _ => None,
        },
        Value::Array(items) => {
            let index = position(items, segment)?;
            items.get_mut(index)
        }
        _ => None,
    }
}

fn remove_item(items: &mut Vec<Value>, segment: &str) -> bool {
    position(items, segment)
        .map(|index| items.remove(index))
        .is_some()
}

/// The list item whose `name` or `value` is `segment`, else the item at that index.
fn position(items: &[Value], segment: &str) -> Option<usize> {
    let matches = |v: &Value| match v {
        Value::String(s) => s == segment,
        Value::Number(n) => n.to_string() == segment,
        _ => false,
    };
    items
        .iter()
        .position(|item| item.get("name").is_some_and(matches))
        .or_else(|| {
            items
                .iter()
                .position(|item| item.get("value").is_some_and(matches))
        })
        .or_else(|| segment.parse::<usize>().ok().filter(|&i| i < items.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sets_removes_and_refuses_stale_overrides() {
        let mut spec = json!({
            "tokens": ["tenant"],
            "query_params": [{"name": "status", "type": "int", "options": [{"value": 1, "meaning": "x"}]}],
            "request_body": {"fields": [{"name": "a", "type": "x", "fields": [{"name": "b", "type": "string"}]}]}
        });
        let overrides = parse(
            "- at: query_params.status\n  reason: clearer\n  set: { enum_name: feedback_status }\n\
             - at: query_params.status.options.1\n  reason: named\n  set: { name: handled }\n\
             - at: request_body.a.b\n  reason: gone\n  remove: true\n",
        )
        .unwrap();
        apply(&mut spec, &overrides).unwrap();
        assert_eq!(spec["query_params"][0]["enum_name"], "feedback_status");
        assert_eq!(spec["query_params"][0]["options"][0]["name"], "handled");
        assert_eq!(spec["request_body"]["fields"][0]["fields"], json!([]));

        let stale =
            parse("- at: query_params.status\n  reason: r\n  set: { type: int }\n").unwrap();
        assert!(
            apply(&mut spec, &stale)
                .unwrap_err()
                .contains("now says this itself")
        );
        let gone =
            parse("- at: query_params.missing\n  reason: r\n  set: { type: int }\n").unwrap();
        assert_eq!(
            apply(&mut spec, &gone).unwrap_err(),
            "override 1 (`query_params.missing`): `missing` matches nothing under \
             `query_params`, which has: status; fix the path, or remove the override if the \
             page no longer has what it names"
        );
        let typo = parse("- at: request_body.aa.b\n  reason: r\n  remove: true\n").unwrap();
        let err = apply(&mut spec, &typo).unwrap_err();
        assert!(
            err.contains("`aa` matches nothing under `request_body`, which has: a;"),
            "{err}"
        );
        assert!(parse("- at: x\n  reason: ''\n  remove: true\n").is_err());
    }

    #[test]
    fn setting_a_named_list_merges_it_by_name() {
        let mut spec = json!({
            "tokens": ["tenant"],
            "request_body": {"fields": [
                {"name": "a", "type": "string", "description": "A"},
                {"name": "b", "type": "x", "fields": [
                    {"name": "c", "type": "string"},
                    {"name": "d", "type": "int", "options": [
                        {"value": 1, "meaning": "one"}, {"value": 2, "meaning": "two"}
                    ]}
                ]},
                {"name": "e", "type": "bool"}
            ]}
        });
        let overrides = parse(
            "- at: request_body\n  reason: r\n  set:\n    fields:\n\
             \x20     - { name: b, fields: [{ name: d, options: [{ value: 2, name: second }] }] }\n\
             \x20     - { name: a, type: int }\n\
             \x20     - { name: z, type: string }\n\
             - at: endpoint\n  reason: r\n  set: { tokens: [user] }\n",
        )
        .unwrap();
        apply(&mut spec, &overrides).unwrap();
        assert_eq!(
            spec,
            json!({
                // A list of plain values is replaced.
                "tokens": ["user"],
                "request_body": {"fields": [
                    // Named items get the keys set, and keep the others.
                    {"name": "a", "type": "int", "description": "A"},
                    {"name": "b", "type": "x", "fields": [
                        {"name": "c", "type": "string"},
                        {"name": "d", "type": "int", "options": [
                            {"value": 1, "meaning": "one"},
                            {"value": 2, "meaning": "two", "name": "second"}
                        ]}
                    ]},
                    // Items not named keep their place; new ones come last.
                    {"name": "e", "type": "bool"},
                    {"name": "z", "type": "string"}
                ]}
            })
        );
        // Setting a list to fewer items drops nothing, so it changes nothing here: stale.
        let shorter = parse(
            "- at: request_body\n  reason: r\n  set: { fields: [{ name: e, type: bool }] }\n",
        )
        .unwrap();
        assert!(
            apply(&mut spec, &shorter)
                .unwrap_err()
                .contains("now says this itself")
        );
        assert_eq!(spec["request_body"]["fields"].as_array().unwrap().len(), 4);
    }
}
