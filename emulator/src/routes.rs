//! The generated endpoints as the emulator serves them: which request reaches which
//! endpoint, and whether its body fits the endpoint's documented schema. Built from the
//! generated crate's own endpoint list, so a new endpoint in spec/ is served with no
//! change here.

use std::any::TypeId;

use feishu::runtime::codegen::{ApiRequest, Endpoint, Payload};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::codes::violation;
use crate::form::Form;

/// Checks a body; the error lists Feishu-style field violations.
type BodyCheck = fn(&[u8]) -> Result<(), Vec<Value>>;
/// Checks an upload's text fields, as a JSON object of the body's fields.
type FieldsCheck = fn(&serde_json::Map<String, Value>) -> Result<(), Vec<Value>>;

/// One endpoint the emulator answers.
pub(crate) struct Route {
    pub(crate) meta: &'static Endpoint,
    /// The documented path's segments; `None` stands for a `:param`.
    segments: Vec<Option<&'static str>>,
    /// Checks a body against the endpoint's body type; None for endpoints without one.
    check_body: Option<BodyCheck>,
    /// Checks an upload's text fields against the body type.
    check_fields: Option<FieldsCheck>,
    /// Whether a JSON payload reads as the endpoint's response type.
    pub(crate) reads_as_response: fn(&Value) -> bool,
}

impl Route {
    #[allow(
        dead_code,
        reason = "used by `routes!` for each service enabled; a build with none (the fuzz crate's, for the HTTP server alone) has no route"
    )]
    fn of<R>() -> Route
    where
        R: ApiRequest,
        R::Body: DeserializeOwned + 'static,
    {
        let meta = R::ENDPOINT;
        let segments = meta
            .path
            .split('/')
            .map(|segment| (!segment.starts_with(':')).then_some(segment))
            .collect();
        let has_body = TypeId::of::<R::Body>() != TypeId::of::<()>();
        Route {
            meta,
            segments,
            check_body: has_body.then_some(check_body::<R::Body> as BodyCheck),
            check_fields: has_body.then_some(check_fields::<R::Body> as FieldsCheck),
            reads_as_response: <R::Response as Payload>::reads,
        }
    }

    /// Whether the endpoint takes a `multipart/form-data` upload.
    pub(crate) fn is_upload(&self) -> bool {
        !self.meta.files.is_empty()
    }

    /// The field violations of an upload's form: its text fields must make the body, and
    /// its files must be the documented parts, each within its documented size. A file part
    /// may come without a `filename`, as Feishu's own SDKs send it.
    pub(crate) fn check_form(&self, form: Option<&Result<Form, String>>) -> Result<(), Vec<Value>> {
        let form = match form {
            None => return Err(vec![violation(".", "the body must be multipart/form-data")]),
            Some(Err(malformed)) => return Err(vec![violation(".", malformed)]),
            Some(Ok(form)) => form,
        };
        let mut violations = Vec::new();
        for part in self.meta.files {
            match (form.file_part(part.name), part.max_bytes) {
                (None, _) if part.required => {
                    violations.push(violation(part.name, "the file part is missing"))
                }
                (Some(file), Some(max)) if file.length > max => {
                    let message = format!(
                        "the file is {} bytes; at most {max} are accepted",
                        file.length
                    );
                    violations.push(violation(part.name, &message));
                }
                _ => {}
            }
        }
        let is_file_part = |name: &str| self.meta.files.iter().any(|part| part.name == name);
        for file in &form.files {
            if !is_file_part(&file.name) {
                violations.push(violation(&file.name, "not a documented file part"));
            }
        }
        let fields: Vec<(String, String)> = form
            .fields
            .iter()
            .filter(|(name, _)| !is_file_part(name))
            .cloned()
            .collect();
        if let Some(check) = self.check_fields
            && let Err(more) = check(&typed_fields(check, &fields))
        {
            violations.extend(more);
        }
        match violations.is_empty() {
            true => Ok(()),
            false => Err(violations),
        }
    }

    /// Whether a request for `method` and `path` (still percent-encoded) is for this route.
    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        if !method.eq_ignore_ascii_case(self.meta.method.as_str()) {
            return false;
        }
        let mut given = path.split('/');
        let fits = self.segments.iter().all(|want| match (want, given.next()) {
            (Some(literal), Some(segment)) => *literal == segment,
            (None, Some(segment)) => !segment.is_empty(),
            (_, None) => false,
        });
        fits && given.next().is_none()
    }

    /// Which segments are literal, in order: the more specific route compares greater.
    pub(crate) fn literals(&self) -> Vec<bool> {
        self.segments.iter().map(Option::is_some).collect()
    }

    /// The field violations of `body`, or Ok when it fits (or the endpoint takes none).
    pub(crate) fn check_body(&self, body: &[u8]) -> Result<(), Vec<Value>> {
        let Some(check) = self.check_body else {
            return Ok(());
        };
        // serde would read a struct from an array, field by field; Feishu wants an object.
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(vec![violation(".", "the body must be a JSON object")]);
        }
        check(body)
    }
}

/// Deserializes `body` as `B`; a failure names the field where it happened.
#[allow(
    dead_code,
    reason = "used by `routes!` for each service enabled; a build with none (the fuzz crate's, for the HTTP server alone) has no route"
)]
fn check_body<B: DeserializeOwned>(body: &[u8]) -> Result<(), Vec<Value>> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, B>(deserializer) {
        Ok(_) => Ok(()),
        Err(err) => {
            let message = err.inner().to_string();
            let mut field = err.path().to_string();
            // serde reports a missing field at its parent; name the field itself.
            if let Some(missing) = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
            {
                field = match field.as_str() {
                    "." => missing.to_owned(),
                    parent => format!("{parent}.{missing}"),
                };
            }
            Err(vec![violation(&field, &message)])
        }
    }
}

/// Deserializes the JSON object of an upload's fields as `B`.
#[allow(
    dead_code,
    reason = "used by `routes!` for each service enabled; a build with none (the fuzz crate's, for the HTTP server alone) has no route"
)]
fn check_fields<B: DeserializeOwned>(
    fields: &serde_json::Map<String, Value>,
) -> Result<(), Vec<Value>> {
    let body = serde_json::to_vec(fields).expect("JSON serializes");
    check_body::<B>(&body)
}

/// A form's text fields as the JSON object the body type reads: a value that is JSON (a
/// number, `true`, an object) is taken as such, unless the type wants a string there,
/// which is found by trying.
fn typed_fields(check: FieldsCheck, fields: &[(String, String)]) -> serde_json::Map<String, Value> {
    let mut object: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(name, text)| {
            let value = match serde_json::from_str::<Value>(text) {
                Ok(value) if !value.is_string() => value,
                _ => Value::String(text.clone()),
            };
            (name.clone(), value)
        })
        .collect();
    // Each round turns one field the type refused back into its text; at most one round
    // per field.
    for _ in 0..fields.len() {
        let Err(violations) = check(&object) else {
            break;
        };
        let refused = violations
            .first()
            .and_then(|v| v["field"].as_str())
            .and_then(|field| fields.iter().find(|(name, _)| name == field));
        match refused {
            Some((name, text)) if !object[name].is_string() => {
                object.insert(name.clone(), Value::String(text.clone()));
            }
            _ => break,
        }
    }
    object
}

macro_rules! routes {
    ($($request:ty),* $(,)?) => {
        vec![$(Route::of::<$request>()),*]
    };
}

/// Every endpoint of the generated crate.
pub(crate) fn all() -> Vec<Route> {
    feishu::__for_each_endpoint!(routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_their_documented_paths_only() {
        let routes = all();
        assert!(!routes.is_empty());
        for route in &routes {
            let path = route.meta.path.replace(':', "x");
            assert!(route.matches(route.meta.method.as_str(), &path), "{path}");
            assert!(!route.matches(route.meta.method.as_str(), &format!("{path}/more")));
            assert!(!route.matches("OPTIONS", &path));
            if route.meta.path.contains(':') {
                let empty = route
                    .meta
                    .path
                    .split('/')
                    .map(|s| if s.starts_with(':') { "" } else { s })
                    .collect::<Vec<_>>()
                    .join("/");
                assert!(
                    !route.matches(route.meta.method.as_str(), &empty),
                    "{empty}"
                );
            }
        }
    }
}
