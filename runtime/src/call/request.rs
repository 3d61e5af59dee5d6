//! What a generated request tells the runtime: the endpoint's metadata and how to put
//! its parameters and body on the wire.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use crate::call::endpoint::Endpoint;
use crate::call::response::Payload;
use crate::error::FieldViolation;
use crate::transfer::upload::UploadFile;

/// A request to one endpoint. Implemented by every generated `…Request` type.
pub trait ApiRequest: Send + Sync {
    /// The JSON body type; `()` for endpoints without a body.
    type Body: Serialize + Send + Sync;
    /// What a successful call returns: the response's `data`, [`Empty`], or for an
    /// endpoint that answers with a file, a [`Download`](crate::transfer::download::Download).
    type Response: Payload;
    /// The endpoint's metadata, from its doc page.
    const ENDPOINT: &'static Endpoint;

    /// The metadata of the endpoint this request goes to: [`ENDPOINT`](Self::ENDPOINT) for
    /// every generated request; a [`RawRequest`](crate::call::raw::RawRequest) picks it by its method.
    fn endpoint(&self) -> &'static Endpoint {
        Self::ENDPOINT
    }

    /// The path, parameters filled in and percent-encoded.
    fn path(&self) -> String;

    /// Appends the query parameters that are set.
    fn query(&self, out: &mut Params) {
        let _ = out;
    }

    /// Appends the request headers that are set (besides authorization and content type).
    fn headers(&self, out: &mut Params) {
        let _ = out;
    }

    /// The JSON body, for endpoints that take one.
    fn body(&self) -> Option<&Self::Body> {
        None
    }

    /// The files of an upload, by part name in the doc's order; its text fields are the
    /// [`body`](Self::body)'s.
    fn files(&self) -> Vec<(&'static str, &UploadFile)> {
        Vec::new()
    }

    /// Every file part of an upload, an optional one that is not set set to an empty file
    /// first: to fill in a request built without its files (as a deserialized one is).
    #[doc(hidden)]
    fn files_mut(&mut self) -> Vec<(&'static str, &mut UploadFile)> {
        Vec::new()
    }

    /// Appends the documented rules (lengths, ranges) the request breaks; a call with any
    /// is refused before it is sent.
    fn validate(&self, out: &mut Vec<FieldViolation>) {
        let _ = out;
    }
}

/// The empty object a response without data carries (`"data": {}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Empty {}

/// Query or header parameters as name/value pairs, in the order they were set. A name
/// set twice is sent twice (`?user_ids=a&user_ids=b`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub(crate) Vec<(Cow<'static, str>, String)>);

impl Params {
    /// Appends a parameter.
    pub fn push(&mut self, name: impl Into<Cow<'static, str>>, value: &(impl ParamValue + ?Sized)) {
        self.0.push((name.into(), value.to_param().into_owned()));
    }

    /// The parameters as name/value pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }
}

/// A value that can stand in a path, query or header parameter.
pub trait ParamValue {
    /// The value as it is written in the URL or header, before any encoding.
    fn to_param(&self) -> Cow<'_, str>;
}

impl ParamValue for str {
    fn to_param(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl ParamValue for String {
    fn to_param(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

macro_rules! display_param {
    ($($ty:ty),*) => {$(
        impl ParamValue for $ty {
            fn to_param(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
        }
    )*};
}
display_param!(i32, i64, f64, bool);

/// Everything but RFC 3986's unreserved characters is encoded, so a parameter can never
/// add a path segment, a query or a fragment.
const PATH_PARAM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends a percent-encoded path parameter.
pub fn push_path_param(path: &mut String, value: &(impl ParamValue + ?Sized)) {
    path.extend(utf8_percent_encode(&value.to_param(), PATH_PARAM));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_params_cannot_escape_their_segment() {
        let mut path = String::from("/open-apis/x/");
        push_path_param(&mut path, "a/b?c#d e%");
        assert_eq!(path, "/open-apis/x/a%2Fb%3Fc%23d%20e%25");
        let mut path = String::new();
        push_path_param(&mut path, "工单-1.2_~");
        assert_eq!(path, "%E5%B7%A5%E5%8D%95-1.2_~");
    }
}
