//! Every generated endpoint, as a table the tests iterate, and what the spec says a call
//! to it looks like on the wire. Adding an endpoint to spec/ adds it here, through
//! `feishu::__for_each_endpoint!`; no test names an endpoint.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use feishu::Client;
use feishu::runtime::ApiRequest;
use feishu_codegen::spec::LoadedEndpoint;
use feishu_codegen::spec::model::{EndpointSpec, Field};
use feishu_codegen::spec::{Primitive, TypeExpr};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, feishu::Error>> + Send + 'a>>;

/// One generated endpoint, with its types erased behind functions over JSON.
pub struct Endpoint {
    pub meta: &'static feishu::runtime::Endpoint,
    /// Deserializes a request body into the body type and serializes it back.
    pub body_roundtrip: fn(&Value) -> Result<Value, String>,
    /// Deserializes a payload (`data`, or the flat body) into the response type and back.
    pub response_roundtrip: fn(&Value) -> Result<Value, String>,
    /// Builds the request from JSON (params by wire name, and `body`) and calls it with
    /// the given options; returns the payload as JSON.
    pub call: for<'a> fn(&'a Client, Value, CallOptions) -> CallFuture<'a>,
    /// The `Debug` text of the call `call` would make, without making it.
    pub debug_call: fn(&Client, Value, CallOptions) -> String,
}

/// The per-call settings a test can give a type-erased call.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    pub user_access_token: Option<String>,
    pub tenant_key: Option<String>,
    pub timeout: Option<std::time::Duration>,
    pub retry: Option<feishu::RetryPolicy>,
}

impl CallOptions {
    /// Acting for a user, if a token is given.
    pub fn user(token: Option<String>) -> Self {
        CallOptions {
            user_access_token: token,
            ..CallOptions::default()
        }
    }
}

fn roundtrip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|err| err.to_string())?;
    serde_json::to_value(typed).map_err(|err| err.to_string())
}

fn call<R>(client: &Client, request: Value, options: CallOptions) -> CallFuture<'_>
where
    R: ApiRequest + DeserializeOwned + 'static,
    R::Response: Serialize + Send,
{
    Box::pin(async move {
        let call = make_call::<R>(client, request, options);
        let response = call.await?;
        Ok(serde_json::to_value(response).expect("responses serialize"))
    })
}

fn debug_call<R>(client: &Client, request: Value, options: CallOptions) -> String
where
    R: ApiRequest + DeserializeOwned + std::fmt::Debug,
{
    format!("{:?}", make_call::<R>(client, request, options))
}

fn make_call<R>(client: &Client, request: Value, options: CallOptions) -> feishu::Call<'_, R>
where
    R: ApiRequest + DeserializeOwned,
{
    let request: R = serde_json::from_value(request.clone()).unwrap_or_else(|err| {
        panic!(
            "{}: request {request} does not fit the request type: {err}",
            R::ENDPOINT.id
        )
    });
    let mut call = feishu::Call::new(client, request);
    if let Some(token) = options.user_access_token {
        call = call.user_access_token(token);
    }
    if let Some(tenant_key) = options.tenant_key {
        call = call.tenant_key(tenant_key);
    }
    if let Some(timeout) = options.timeout {
        call = call.timeout(timeout);
    }
    if let Some(retry) = options.retry {
        call = call.retry(retry);
    }
    call
}

fn entry<R>() -> Endpoint
where
    R: ApiRequest + DeserializeOwned + std::fmt::Debug + 'static,
    R::Body: DeserializeOwned,
    R::Response: Serialize + Send,
{
    Endpoint {
        meta: R::ENDPOINT,
        body_roundtrip: roundtrip::<R::Body>,
        response_roundtrip: roundtrip::<R::Response>,
        call: call::<R>,
        debug_call: debug_call::<R>,
    }
}

macro_rules! table {
    ($($request:ty),* $(,)?) => {
        vec![$(entry::<$request>()),*]
    };
}

/// Every endpoint of the generated crate.
pub fn all() -> Vec<Endpoint> {
    feishu::__for_each_endpoint!(table)
}

/// Each spec endpoint with its generated counterpart, in spec order.
pub fn with_specs() -> Vec<(LoadedEndpoint, Endpoint)> {
    let spec = feishu_codegen::spec::load(&crate::spec_dir()).expect("spec/ loads");
    let mut table: BTreeMap<&str, Endpoint> = all().into_iter().map(|e| (e.meta.id, e)).collect();
    spec.endpoints
        .into_iter()
        .map(|loaded| {
            let endpoint = table
                .remove(loaded.id.dotted().as_str())
                .expect("every spec endpoint is generated");
            (loaded, endpoint)
        })
        .collect()
}

/// A parameter's value for a test call: its example, else one that fits its type.
pub fn param_value(param: &Field) -> Value {
    if let Some(example) = &param.example {
        return example.clone();
    }
    if let Some(option) = param.options.first() {
        return option.value.value.clone();
    }
    let ty = TypeExpr::parse(&param.ty).expect("the spec was validated");
    let scalar = match ty.leaf() {
        TypeExpr::Primitive(Primitive::Int | Primitive::Int32 | Primitive::Int64) => json!(7),
        TypeExpr::Primitive(Primitive::Float) => json!(1.5),
        TypeExpr::Primitive(Primitive::Bool) => json!(true),
        _ => json!("x/y z"),
    };
    if matches!(ty, TypeExpr::Array(_)) {
        json!([scalar])
    } else {
        scalar
    }
}

/// The request as JSON: every parameter by wire name, and the body example.
pub fn request_json(spec: &EndpointSpec) -> Value {
    let mut object = serde_json::Map::new();
    for param in spec
        .path_params
        .iter()
        .chain(&spec.query_params)
        .chain(&spec.header_params)
    {
        object.insert(param.name.value.clone(), param_value(param));
    }
    if spec.request_body.is_some() {
        let body = spec.examples.request.as_ref().map_or(json!({}), |e| {
            serde_json::from_str(e).expect("validated JSON")
        });
        object.insert("body".into(), body);
    }
    Value::Object(object)
}

/// How a parameter value is written in a path, query or header.
pub fn param_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// RFC 3986: everything but unreserved characters is percent-encoded in a path segment.
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The path the call must request: placeholders replaced by percent-encoded values.
pub fn expected_path(spec: &EndpointSpec) -> String {
    spec.path
        .split('/')
        .map(|segment| match segment.strip_prefix(':') {
            Some(name) => {
                let param = spec
                    .path_params
                    .iter()
                    .find(|p| *p.name == name)
                    .expect("validated");
                percent_encoding::utf8_percent_encode(
                    &param_text(&param_value(param)),
                    NOT_UNRESERVED,
                )
                .to_string()
            }
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The query pairs the call must send, in order; arrays repeat the name.
pub fn expected_query(spec: &EndpointSpec) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for param in &spec.query_params {
        match param_value(param) {
            Value::Array(items) => pairs.extend(
                items
                    .iter()
                    .map(|v| (param.name.value.clone(), param_text(v))),
            ),
            value => pairs.push((param.name.value.clone(), param_text(&value))),
        }
    }
    pairs
}
