//! The generated endpoints as the emulator serves them: which request reaches which
//! endpoint, and whether its body fits the endpoint's documented schema. Built from the
//! generated crate's own endpoint list, so a new endpoint in spec/ is served with no
//! change here.

use std::any::TypeId;

use feishu::runtime::{ApiRequest, Endpoint};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::codes::violation;

/// Checks a body; the error lists Feishu-style field violations.
type BodyCheck = fn(&[u8]) -> Result<(), Vec<Value>>;

/// One endpoint the emulator answers.
pub(crate) struct Route {
    pub(crate) meta: &'static Endpoint,
    /// The documented path's segments; `None` stands for a `:param`.
    segments: Vec<Option<&'static str>>,
    /// Checks a body against the endpoint's body type; None for endpoints without one.
    check_body: Option<BodyCheck>,
}

impl Route {
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
