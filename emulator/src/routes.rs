//! The generated endpoints as the emulator serves them: which request reaches which
//! endpoint, and whether its body fits the endpoint's documented schema. Built from the
//! generated crate's own endpoint list, so a new endpoint in spec/ is served with no
//! change here.

use std::sync::OnceLock;

use feishu::runtime::codegen::{ApiRequest, Endpoint, Payload};
use serde_json::Value;

use crate::codes::violation;
use crate::form::Form;
use crate::schema::BodySchema;

/// One endpoint the emulator answers.
pub(crate) struct Route {
    pub(crate) meta: &'static Endpoint,
    /// The documented path's segments; `None` stands for a `:param`.
    segments: Vec<Option<&'static str>>,
    /// The endpoint's body schema, read on the first request that needs it.
    body_schema: OnceLock<Result<BodySchema, String>>,
    /// Whether a JSON payload reads as the endpoint's response type.
    pub(crate) reads_as_response: fn(&Value) -> bool,
}

impl Route {
    #[allow(
        dead_code,
        reason = "used by `routes!` for each service enabled; a build with none (the fuzz crate's, for the HTTP server alone) has no route"
    )]
    fn of<R: ApiRequest>() -> Route {
        let meta = R::ENDPOINT;
        let segments = meta
            .path
            .split('/')
            .map(|segment| (!segment.starts_with(':')).then_some(segment))
            .collect();
        Route {
            meta,
            segments,
            body_schema: OnceLock::new(),
            reads_as_response: <R::Response as Payload>::reads,
        }
    }

    /// The body schema, if the endpoint takes a body; an error if the generated schema
    /// cannot be read (a codegen bug, reported to the caller rather than a panic).
    fn body_schema(&self) -> Option<Result<&BodySchema, Vec<Value>>> {
        let text = self.meta.body_schema?;
        let parsed = self.body_schema.get_or_init(|| BodySchema::parse(text));
        Some(
            parsed
                .as_ref()
                .map_err(|broken| vec![violation(".", &format!("{}: {broken}", self.meta.id))]),
        )
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
        match self.body_schema() {
            Some(Ok(schema)) => {
                let fields: serde_json::Map<String, Value> = form
                    .fields
                    .iter()
                    .filter(|(name, _)| !is_file_part(name))
                    .map(|(name, text)| (name.clone(), schema.form_value(name, text)))
                    .collect();
                violations.extend(schema.violations(&Value::Object(fields)));
            }
            Some(Err(broken)) => violations.extend(broken),
            None => {}
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

    /// The body read as JSON, if the endpoint takes one; its field violations when it is
    /// not JSON or does not fit the endpoint's body schema.
    pub(crate) fn check_body(&self, body: &[u8]) -> Result<Option<Value>, Vec<Value>> {
        let Some(schema) = self.body_schema() else {
            return Ok(None);
        };
        let schema = schema?;
        let value: Value = serde_json::from_slice(body)
            .map_err(|err| vec![violation(".", &format!("the body is not JSON: {err}"))])?;
        if !value.is_object() {
            return Err(vec![violation(".", "the body must be a JSON object")]);
        }
        match schema.violations(&value) {
            violations if violations.is_empty() => Ok(Some(value)),
            violations => Err(violations),
        }
    }
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
    fn every_body_schema_reads_and_its_references_resolve() {
        let routes = all();
        let with_body = routes.iter().filter(|r| r.meta.body_schema.is_some());
        let mut checked = 0;
        for route in with_body {
            let schema = match route.body_schema() {
                Some(Ok(schema)) => schema,
                other => panic!("{}: {other:?}", route.meta.id),
            };
            // An empty body reaches every required field: any broken reference among
            // them, or at the root, says so.
            for found in schema.violations(&Value::Object(Default::default())) {
                let description = found["description"].as_str().unwrap_or_default();
                assert!(
                    !description.starts_with("cannot be checked"),
                    "{}: {found}",
                    route.meta.id
                );
            }
            checked += 1;
        }
        assert!(checked > 0);
    }

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
