//! Checks a request body against its endpoint's JSON Schema, the `body_schema` each
//! generated endpoint carries as data. Reading the schema instead of deserializing into
//! the generated types means the emulator needs nothing of the service crates but their
//! endpoint lists: an app's services build once, for its code and its tests alike.
//!
//! The schemas are codegen's, so only the keywords it writes are read: `type` (one or
//! several), `format` (`int32`, `int64`), `properties`, `required`,
//! `additionalProperties`, `items`, `anyOf`, `$ref` (to `#` or `#/$defs/…`), and the
//! bounds `minLength`, `maxLength`, `minItems`, `maxItems`, `minimum`, `maximum`. Others
//! are ignored, as JSON Schema ignores keywords it does not know.

use serde_json::{Map, Value};

use crate::codes::violation;

/// At most this many violations are reported for one body: enough to fix a request by,
/// and a bound on the answer however wrong the body is.
const MAX_VIOLATIONS: usize = 20;

/// How many `$ref`s may lead to another without the value getting any deeper: codegen
/// writes none that lead to a reference, so a longer chain is a loop.
const MAX_REF_HOPS: usize = 8;

/// A parsed body schema.
#[derive(Debug)]
pub(crate) struct BodySchema {
    root: Value,
}

impl BodySchema {
    /// Reads `text`, which must be a JSON object whose every `$ref` leads somewhere.
    pub(crate) fn parse(text: &str) -> Result<BodySchema, String> {
        let root = match serde_json::from_str::<Value>(text) {
            Ok(root) if root.is_object() => root,
            Ok(_) => return Err("the body schema is not a JSON object".to_owned()),
            Err(err) => return Err(format!("the body schema is not JSON: {err}")),
        };
        let check = Check {
            root: &root,
            found: Vec::new(),
        };
        check.references(&root)?;
        Ok(BodySchema { root })
    }

    /// The field violations of `value`, Feishu's way (`field` and `description`); empty
    /// when it fits.
    pub(crate) fn violations(&self, value: &Value) -> Vec<Value> {
        let mut check = Check {
            root: &self.root,
            found: Vec::new(),
        };
        check.value(&self.root, value, &mut Path::default(), 0);
        check.found
    }

    /// The schema of the body's property `name`, if it has one (found through `$ref`s).
    pub(crate) fn property(&self, name: &str) -> Option<&Value> {
        let check = Check {
            root: &self.root,
            found: Vec::new(),
        };
        let object = check.resolve(&self.root, 0).ok()?;
        object.get("properties")?.get(name)
    }

    /// An upload's text field as the value its property's schema wants: the text itself
    /// where a string is taken (or the body lists no such field), else its JSON reading
    /// (`3`, `true`, `{…}`) if it has one, as for a struct (`$ref`) or any value.
    pub(crate) fn form_value(&self, name: &str, text: &str) -> Value {
        let takes_string = self
            .property(name)
            .is_none_or(|schema| types_of(schema).is_some_and(|types| types.contains(&"string")));
        match takes_string {
            true => Value::String(text.to_owned()),
            false => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())),
        }
    }
}

/// Where in the body a value sits: `.` for the body itself, then `a.b[0].c`.
#[derive(Default)]
struct Path(String);

impl Path {
    fn field(&self, name: &str) -> Path {
        match self.0.is_empty() {
            true => Path(name.to_owned()),
            false => Path(format!("{}.{name}", self.0)),
        }
    }

    fn item(&self, n: usize) -> Path {
        Path(format!("{}[{n}]", self.0))
    }

    fn name(&self) -> &str {
        match self.0.is_empty() {
            true => ".",
            false => &self.0,
        }
    }
}

/// Why a schema cannot be followed.
enum Broken {
    NotAnObject,
    Loop,
    Nowhere(String),
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Broken::NotAnObject => f.write_str("the schema here is not an object"),
            Broken::Loop => f.write_str("the schema's references lead in a loop"),
            Broken::Nowhere(reference) => {
                write!(f, "the schema's reference {reference} leads nowhere")
            }
        }
    }
}

struct Check<'s> {
    root: &'s Value,
    found: Vec<Value>,
}

impl<'s> Check<'s> {
    fn report(&mut self, path: &Path, description: String) {
        if self.found.len() < MAX_VIOLATIONS {
            self.found.push(violation(path.name(), &description));
        }
    }

    /// Whether every `$ref` within `schema` leads to a schema (the loops among them are
    /// found when a value is checked).
    fn references(&self, schema: &'s Value) -> Result<(), String> {
        match schema {
            Value::Object(object) => {
                if object.contains_key("$ref") {
                    match self.resolve(schema, 0) {
                        Ok(_) | Err(Broken::Loop) => {}
                        Err(broken) => return Err(broken.to_string()),
                    }
                }
                object.values().try_for_each(|inner| self.references(inner))
            }
            Value::Array(items) => items.iter().try_for_each(|inner| self.references(inner)),
            _ => Ok(()),
        }
    }

    /// The schema a `$ref` chain leads to, or why it leads nowhere.
    fn resolve(&self, schema: &'s Value, hops: usize) -> Result<&'s Map<String, Value>, Broken> {
        let object = schema.as_object().ok_or(Broken::NotAnObject)?;
        let Some(reference) = object.get("$ref") else {
            return Ok(object);
        };
        if hops >= MAX_REF_HOPS {
            return Err(Broken::Loop);
        }
        let target = match reference.as_str() {
            Some("#") => Some(self.root),
            Some(pointer) => pointer
                .strip_prefix("#/$defs/")
                .and_then(|key| self.root.get("$defs")?.get(key)),
            None => None,
        };
        let target = target.ok_or_else(|| Broken::Nowhere(reference.to_string()))?;
        self.resolve(target, hops + 1)
    }

    fn value(&mut self, schema: &'s Value, value: &Value, path: &mut Path, hops: usize) {
        let schema = match self.resolve(schema, hops) {
            Ok(schema) => schema,
            Err(broken) => return self.report(path, format!("cannot be checked: {broken}")),
        };
        if let Some(Value::Array(choices)) = schema.get("anyOf") {
            return self.any_of(choices, value, path);
        }
        if let Some(types) = types_of_map(schema)
            && !types.iter().any(|ty| is_of_type(ty, value))
        {
            let description = format!("expected {}, found {}", expected(&types), kind_of(value));
            return self.report(path, description);
        }
        if let Some(format) = schema.get("format").and_then(Value::as_str) {
            self.format(format, value, path);
        }
        self.bounds(schema, value, path);
        match value {
            Value::Object(object) => self.object(schema, object, path),
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (n, item) in items.iter().enumerate() {
                        self.value(item_schema, item, &mut path.item(n), 0);
                    }
                }
            }
            _ => {}
        }
    }

    /// A value that fits one of the choices fits; else the first choice that is not the
    /// `null` of an optional field says what is wrong. Each choice is walked once, its
    /// findings kept: walking the telling one again would double the work at each level
    /// of a type that holds itself.
    fn any_of(&mut self, choices: &'s [Value], value: &Value, path: &mut Path) {
        let mut trials = Vec::with_capacity(choices.len());
        for choice in choices {
            let mut trial = Check {
                root: self.root,
                found: Vec::new(),
            };
            trial.value(choice, value, &mut Path(path.0.clone()), 0);
            if trial.found.is_empty() {
                return;
            }
            trials.push(trial.found);
        }
        let telling = choices
            .iter()
            .position(|choice| types_of(choice) != Some(vec!["null"]))
            .unwrap_or(0);
        match trials.into_iter().nth(telling) {
            Some(found) => {
                let room = MAX_VIOLATIONS.saturating_sub(self.found.len());
                self.found.extend(found.into_iter().take(room));
            }
            None => self.report(path, "no schema of `anyOf` to check against".to_owned()),
        }
    }

    fn object(&mut self, schema: &'s Map<String, Value>, object: &Map<String, Value>, path: &Path) {
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                // Present is what `required` asks; a `null` is then checked by its type.
                if !object.contains_key(name) {
                    self.report(&path.field(name), "the field is required".to_owned());
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        let others = schema.get("additionalProperties");
        for (name, field) in object {
            // A field the page does not list is ignored, as serde and Feishu ignore it.
            let Some(field_schema) = properties.and_then(|p| p.get(name)).or(others) else {
                continue;
            };
            self.value(field_schema, field, &mut path.field(name), 0);
        }
    }

    fn format(&mut self, format: &str, value: &Value, path: &Path) {
        let range = match format {
            "int32" => i64::from(i32::MIN)..=i64::from(i32::MAX),
            "int64" => i64::MIN..=i64::MAX,
            _ => return,
        };
        if let Value::Number(number) = value
            && !number.as_i64().is_some_and(|n| range.contains(&n))
        {
            let bits = if format == "int32" { 32 } else { 64 };
            self.report(path, format!("{number} is not a {bits}-bit integer"));
        }
    }

    fn bounds(&mut self, schema: &Map<String, Value>, value: &Value, path: &Path) {
        let bound = |keyword: &str| schema.get(keyword).and_then(Value::as_f64);
        let (count, unit, min, max) = match value {
            Value::String(text) => (
                text.chars().count(),
                "characters",
                bound("minLength"),
                bound("maxLength"),
            ),
            Value::Array(items) => (items.len(), "items", bound("minItems"), bound("maxItems")),
            Value::Number(number) => {
                let n = number.as_f64().unwrap_or(f64::NAN);
                if let Some(min) = bound("minimum").filter(|min| n < *min) {
                    self.report(path, format!("{number} is less than the minimum {min}"));
                }
                if let Some(max) = bound("maximum").filter(|max| n > *max) {
                    self.report(path, format!("{number} is more than the maximum {max}"));
                }
                return;
            }
            _ => return,
        };
        let count_f = count as f64;
        if let Some(min) = min.filter(|min| count_f < *min) {
            self.report(
                path,
                format!("at least {min} {unit} are needed, found {count}"),
            );
        }
        if let Some(max) = max.filter(|max| count_f > *max) {
            self.report(
                path,
                format!("at most {max} {unit} are taken, found {count}"),
            );
        }
    }
}

fn types_of(schema: &Value) -> Option<Vec<&str>> {
    types_of_map(schema.as_object()?)
}

fn types_of_map(schema: &Map<String, Value>) -> Option<Vec<&str>> {
    match schema.get("type")? {
        Value::String(ty) => Some(vec![ty.as_str()]),
        Value::Array(types) => Some(types.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

fn is_of_type(ty: &str, value: &Value) -> bool {
    match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        // As serde reads an integer: no fraction, not even `.0`.
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number with a fraction",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expected(types: &[&str]) -> String {
    let names: Vec<&str> = types
        .iter()
        .map(|ty| match *ty {
            "null" => "null",
            "boolean" => "a boolean",
            "string" => "a string",
            "array" => "an array",
            "object" => "an object",
            "number" => "a number",
            "integer" => "an integer",
            _ => "a value of an unknown type",
        })
        .collect();
    names.join(" or ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(schema: Value, value: Value) -> Vec<(String, String)> {
        let schema = BodySchema::parse(&schema.to_string()).expect("a schema");
        schema
            .violations(&value)
            .into_iter()
            .map(|v| {
                let field = v["field"].as_str().unwrap_or_default().to_owned();
                (
                    field,
                    v["description"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    fn message() -> Value {
        json!({
            "type": "object",
            "properties": {
                "receive_id": {"type": "string"},
                "uuid": {"type": ["string", "null"], "maxLength": 3},
                "count": {"type": "integer", "format": "int32", "minimum": 1},
                "mentions": {"type": ["array", "null"], "items": {"$ref": "#/$defs/Mention"}, "maxItems": 2},
                "reply": {"anyOf": [{"$ref": "#"}, {"type": "null"}]},
                "extra": {"type": "object", "additionalProperties": {"type": "boolean"}}
            },
            "required": ["receive_id"],
            "$defs": {
                "Mention": {
                    "type": "object",
                    "properties": {"key": {"type": "string"}},
                    "required": ["key"]
                }
            }
        })
    }

    #[test]
    fn a_body_that_fits_has_no_violation() {
        let body = json!({
            "receive_id": "ou_a", "uuid": null, "count": 3, "unlisted": [1],
            "mentions": [{"key": "@_user_1"}], "reply": {"receive_id": "ou_b"},
            "extra": {"a": true}
        });
        assert_eq!(check(message(), body), vec![]);
    }

    #[test]
    fn each_violation_names_its_field() {
        let body = json!({
            "uuid": "abcd", "count": 2147483648i64,
            "mentions": [{"key": 1}, {}, {"key": "c"}],
            "reply": {"receive_id": 5}, "extra": {"a": "yes"}
        });
        let mut found = check(message(), body);
        found.sort();
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "count",
                "extra.a",
                "mentions",
                "mentions[0].key",
                "mentions[1].key",
                "receive_id",
                "reply.receive_id",
                "uuid"
            ],
            "{found:?}"
        );
        assert_eq!(found[0].1, "2147483648 is not a 32-bit integer");
        assert_eq!(found[2].1, "at most 2 items are taken, found 3");
        assert_eq!(found[3].1, "expected a string, found an integer");
        assert_eq!(found[4].1, "the field is required");
        assert_eq!(found[5].1, "the field is required");
        assert_eq!(found[7].1, "at most 3 characters are taken, found 4");
    }

    #[test]
    fn a_required_field_sent_as_null_is_checked_by_its_type() {
        let found = check(message(), json!({"receive_id": null}));
        let expected = "expected a string, found null".to_owned();
        assert_eq!(found, [("receive_id".to_owned(), expected)]);
        let any = json!({"type": "object", "properties": {"v": {}}, "required": ["v"]});
        assert_eq!(check(any, json!({"v": null})), vec![]);
    }

    #[test]
    fn a_deep_wrong_value_in_a_type_that_holds_itself_is_checked_in_linear_time() {
        // Each level an optional reference to the root: walking the telling choice again
        // would take 2^depth steps.
        let schema = json!({
            "type": "object",
            "properties": {
                "next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]},
                "name": {"type": "string"}
            }
        });
        let mut value = json!({"name": 1});
        for _ in 0..100 {
            value = json!({ "next": value });
        }
        let found = check(schema, value);
        assert_eq!(found.len(), 1);
        assert!(found[0].0.ends_with("next.name"), "{found:?}");
    }

    #[test]
    fn the_body_itself_must_be_an_object() {
        let found = check(message(), json!([1, 2]));
        assert_eq!(
            found,
            [(
                ".".to_owned(),
                "expected an object, found an array".to_owned()
            )]
        );
    }

    #[test]
    fn an_integer_is_written_without_a_fraction() {
        let found = check(message(), json!({"receive_id": "a", "count": 2.0}));
        assert_eq!(
            found[0].1,
            "expected an integer, found a number with a fraction"
        );
        let found = check(message(), json!({"receive_id": "a", "count": 0}));
        assert_eq!(found[0].1, "0 is less than the minimum 1");
    }

    #[test]
    fn a_reference_loop_is_reported_not_followed() {
        let schema = json!({"$ref": "#/$defs/A", "$defs": {"A": {"$ref": "#/$defs/A"}}});
        let found = check(schema, json!({}));
        assert_eq!(
            found[0].1,
            "cannot be checked: the schema's references lead in a loop"
        );
        let schema = json!({"properties": {"a": {"$ref": "#/$defs/Missing"}}});
        let refused = BodySchema::parse(&schema.to_string()).expect_err("a broken reference");
        assert!(refused.contains("leads nowhere"), "{refused}");
    }

    #[test]
    fn violations_are_bounded() {
        let schema = json!({"type": "array", "items": {"type": "string"}});
        let found = check(schema, json!(vec![1; 1000]));
        assert_eq!(found.len(), MAX_VIOLATIONS);
    }

    #[test]
    fn form_fields_take_the_type_their_property_wants() {
        let schema = BodySchema::parse(&message().to_string()).expect("a schema");
        assert_eq!(schema.form_value("count", "3"), json!(3));
        assert_eq!(schema.form_value("uuid", "3"), json!("3"));
        assert_eq!(schema.form_value("unlisted", "3"), json!("3"));
        assert_eq!(schema.form_value("count", "three"), json!("three"));
        assert_eq!(
            schema.form_value("reply", r#"{"receive_id":"a"}"#),
            json!({"receive_id": "a"})
        );
    }
}
