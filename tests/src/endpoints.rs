//! Every generated endpoint, as a table the tests iterate, and what the spec says a call
//! to it looks like on the wire. Adding an endpoint to spec/ adds it here, through
//! `feishu::__for_each_endpoint!`; no test names an endpoint.

use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use feishu::runtime::codegen::{ApiRequest, PagedItems, PagedRequest};
use feishu::{Client, Download, UploadFile};
use feishu_spec::LoadedEndpoint;
use feishu_spec::model::{EndpointSpec, Envelope, Field};
use feishu_spec::{Primitive, TypeExpr};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, feishu::Error>> + Send + 'a>>;

/// One generated endpoint that answers with JSON, with its types erased behind functions
/// over JSON.
pub struct Endpoint {
    pub meta: &'static feishu::runtime::codegen::Endpoint,
    /// Deserializes a request body into the body type and serializes it back.
    pub body_roundtrip: fn(&Value) -> Result<Value, String>,
    /// Deserializes a payload (`data`, or the flat body) into the response type and back.
    pub response_roundtrip: fn(&Value) -> Result<Value, String>,
    /// Builds the request from JSON (params by wire name, and `body`) and calls it with
    /// the given options; returns the payload as JSON.
    pub call: for<'a> fn(&'a Client, Value, CallOptions) -> CallFuture<'a>,
    /// For an upload: `call`, with these files as its file parts, in the doc's order.
    pub upload: for<'a> fn(&'a Client, Value, Vec<UploadFile>, CallOptions) -> CallFuture<'a>,
    /// The `Debug` text of the call `call` would make, without making it.
    pub debug_call: fn(&Client, Value, CallOptions) -> String,
    /// For a paged list: builds the request as `call` does and walks its pages.
    pub walk_pages: Option<WalkFn>,
    /// For a paged list with one list of results: walks its items.
    pub walk_items: Option<WalkFn>,
}

/// One generated endpoint that answers with a file.
pub struct DownloadEndpoint {
    pub meta: &'static feishu::runtime::codegen::Endpoint,
    /// Builds the request from JSON (params by wire name) and calls it.
    pub call: for<'a> fn(&'a Client, Value, CallOptions) -> DownloadFuture<'a>,
}

pub type DownloadFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Download, feishu::Error>> + Send + 'a>>;

/// What walking a paged list brought back: what the stream yielded (pages or items, as
/// JSON) until it ended, and the error it ended with, if any.
#[derive(Debug)]
pub struct Walk {
    pub yielded: Vec<Value>,
    pub error: Option<feishu::Error>,
}

pub type WalkFuture<'a> = Pin<Box<dyn Future<Output = Walk> + Send + 'a>>;
pub type WalkFn = for<'a> fn(&'a Client, Value, CallOptions) -> WalkFuture<'a>;

/// The per-call settings a test can give a type-erased call.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    pub user_access_token: Option<String>,
    pub tenant_key: Option<String>,
    pub timeout: Option<std::time::Duration>,
    pub retry: Option<feishu::RetryPolicy>,
    /// For an item walk: the most items to take.
    pub item_limit: Option<u64>,
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

// Through bytes, as the client and the emulator read and write, rather than through
// `Value`: each type is then (de)serialized by one monomorphic copy, which at 1,500
// endpoints is the difference between a test crate that builds and one that does not.
fn roundtrip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let bytes = serde_json::to_vec(value).map_err(|err| err.to_string())?;
    let typed: T = serde_json::from_slice(&bytes).map_err(|err| err.to_string())?;
    to_json(&typed)
}

fn to_json<T: Serialize>(typed: &T) -> Result<Value, String> {
    let bytes = serde_json::to_vec(typed).map_err(|err| err.to_string())?;
    serde_json::from_slice(&bytes).map_err(|err| err.to_string())
}

fn call<R>(client: &Client, request: Value, options: CallOptions) -> CallFuture<'_>
where
    R: ApiRequest + DeserializeOwned + 'static,
    R::Response: Serialize + Send,
{
    Box::pin(async move {
        let call = make_call::<R>(client, request, options);
        let response = call.await?;
        Ok(to_json(&response).expect("responses serialize"))
    })
}

fn upload<R>(
    client: &Client,
    request: Value,
    files: Vec<UploadFile>,
    options: CallOptions,
) -> CallFuture<'_>
where
    R: ApiRequest + DeserializeOwned + 'static,
    R::Response: Serialize + Send,
{
    Box::pin(async move {
        let mut request = typed_request::<R>(request);
        let parts = request.files_mut();
        assert_eq!(
            parts.len(),
            files.len(),
            "{}: one file per part",
            R::ENDPOINT.id
        );
        for ((_, part), file) in parts.into_iter().zip(files) {
            *part = file;
        }
        let response = with_options(feishu::Call::new(client, request), options).await?;
        Ok(to_json(&response).expect("responses serialize"))
    })
}

fn download<R>(client: &Client, request: Value, options: CallOptions) -> DownloadFuture<'_>
where
    R: ApiRequest<Response = Download> + DeserializeOwned + 'static,
{
    Box::pin(make_call::<R>(client, request, options).send())
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
    with_options(feishu::Call::new(client, typed_request(request)), options)
}

/// The request type read from its JSON (params by wire name, and `body`).
fn typed_request<R: ApiRequest + DeserializeOwned>(request: Value) -> R {
    let bytes = serde_json::to_vec(&request).expect("JSON serializes");
    serde_json::from_slice(&bytes).unwrap_or_else(|err| {
        panic!(
            "{}: request {request} does not fit the request type: {err}",
            R::ENDPOINT.id
        )
    })
}

fn with_options<R: ApiRequest>(
    mut call: feishu::Call<'_, R>,
    options: CallOptions,
) -> feishu::Call<'_, R> {
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

fn walk_pages<R>(client: &Client, request: Value, options: CallOptions) -> WalkFuture<'_>
where
    R: PagedRequest + DeserializeOwned + 'static,
    R::Response: Serialize + Send,
{
    Box::pin(async move {
        let mut pages = make_call::<R>(client, request, options).pages();
        let mut walk = Walk {
            yielded: Vec::new(),
            error: None,
        };
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => walk
                    .yielded
                    .push(to_json(&page).expect("responses serialize")),
                Err(error) => walk.error = Some(error),
            }
        }
        walk
    })
}

fn walk_items<R>(client: &Client, request: Value, options: CallOptions) -> WalkFuture<'_>
where
    R: PagedItems + DeserializeOwned + 'static,
    R::Response: Serialize + Send,
    R::Item: Serialize,
{
    Box::pin(async move {
        let limit = options.item_limit;
        let mut items = make_call::<R>(client, request, options).items();
        if let Some(limit) = limit {
            items = items.limit(limit);
        }
        let mut walk = Walk {
            yielded: Vec::new(),
            error: None,
        };
        while let Some(item) = items.next().await {
            match item {
                Ok(item) => walk.yielded.push(to_json(&item).expect("items serialize")),
                Err(error) => walk.error = Some(error),
            }
        }
        walk
    })
}

fn entry<R>(walk_pages: Option<WalkFn>, walk_items: Option<WalkFn>) -> Endpoint
where
    R: ApiRequest + DeserializeOwned + std::fmt::Debug + 'static,
    R::Body: DeserializeOwned,
    R::Response: Serialize + DeserializeOwned + Send,
{
    Endpoint {
        meta: R::ENDPOINT,
        body_roundtrip: roundtrip::<R::Body>,
        response_roundtrip: roundtrip::<R::Response>,
        call: call::<R>,
        upload: upload::<R>,
        debug_call: debug_call::<R>,
        walk_pages,
        walk_items,
    }
}

// The macro below sees each request type by name, so it can ask which paging traits the
// type implements: a method found on `Probe<R>` itself (where `R` implements the trait)
// is preferred to the fallback's, which needs one more reference (autoref specialization).
struct Probe<R>(PhantomData<R>);

trait PagedProbe {
    fn pages_walker(&self) -> Option<WalkFn>;
}
impl<R> PagedProbe for Probe<R>
where
    R: PagedRequest + DeserializeOwned + 'static,
    R::Response: Serialize + Send,
{
    fn pages_walker(&self) -> Option<WalkFn> {
        Some(walk_pages::<R>)
    }
}
trait NotPaged {
    fn pages_walker(&self) -> Option<WalkFn> {
        None
    }
}
impl<R> NotPaged for &Probe<R> {}

trait ItemsProbe {
    fn items_walker(&self) -> Option<WalkFn>;
}
impl<R> ItemsProbe for Probe<R>
where
    R: PagedItems + DeserializeOwned + 'static,
    R::Response: Serialize + Send,
    R::Item: Serialize,
{
    fn items_walker(&self) -> Option<WalkFn> {
        Some(walk_items::<R>)
    }
}
trait NoItems {
    fn items_walker(&self) -> Option<WalkFn> {
        None
    }
}
impl<R> NoItems for &Probe<R> {}

/// A generated endpoint in the table: one that answers with JSON, or with a file.
pub enum Entry {
    Json(Endpoint),
    Download(DownloadEndpoint),
}

impl Entry {
    pub fn id(&self) -> &'static str {
        match self {
            Entry::Json(endpoint) => endpoint.meta.id,
            Entry::Download(endpoint) => endpoint.meta.id,
        }
    }
}

trait JsonProbe {
    fn entry(&self, walk_pages: Option<WalkFn>, walk_items: Option<WalkFn>) -> Entry;
}
impl<R> JsonProbe for Probe<R>
where
    R: ApiRequest + DeserializeOwned + std::fmt::Debug + 'static,
    R::Body: DeserializeOwned,
    R::Response: Serialize + DeserializeOwned + Send,
{
    fn entry(&self, walk_pages: Option<WalkFn>, walk_items: Option<WalkFn>) -> Entry {
        Entry::Json(entry::<R>(walk_pages, walk_items))
    }
}
trait DownloadProbe {
    fn entry(&self, walk_pages: Option<WalkFn>, walk_items: Option<WalkFn>) -> Entry;
}
impl<R> DownloadProbe for &Probe<R>
where
    R: ApiRequest<Response = Download> + DeserializeOwned + 'static,
{
    fn entry(&self, _: Option<WalkFn>, _: Option<WalkFn>) -> Entry {
        Entry::Download(DownloadEndpoint {
            meta: R::ENDPOINT,
            call: download::<R>,
        })
    }
}

macro_rules! table {
    ($($request:ty),* $(,)?) => {
        // The probes run here, where each request type is known: in a generic function
        // they could not tell which traits it implements.
        vec![$((&Probe::<$request>(PhantomData)).entry(
            (&Probe::<$request>(PhantomData)).pages_walker(),
            (&Probe::<$request>(PhantomData)).items_walker(),
        )),*]
    };
}

/// Every endpoint of the generated crate.
pub fn entries() -> Vec<Entry> {
    feishu::__for_each_endpoint!(table)
}

/// Every endpoint of the generated crate that answers with JSON (uploads included).
pub fn all() -> Vec<Endpoint> {
    entries()
        .into_iter()
        .filter_map(|entry| match entry {
            Entry::Json(endpoint) => Some(endpoint),
            Entry::Download(_) => None,
        })
        .collect()
}

/// The endpoints of spec/, in spec order.
pub fn specs() -> Vec<LoadedEndpoint> {
    feishu_spec::load(&crate::spec_dir())
        .expect("spec/ loads")
        .endpoints
}

/// Each spec endpoint with its generated counterpart, in spec order.
pub fn entries_with_specs() -> Vec<(LoadedEndpoint, Entry)> {
    let mut table: BTreeMap<&str, Entry> = entries().into_iter().map(|e| (e.id(), e)).collect();
    specs()
        .into_iter()
        .map(|loaded| {
            let entry = table
                .remove(loaded.id.dotted().as_str())
                .expect("every spec endpoint is generated");
            (loaded, entry)
        })
        .collect()
}

/// Each spec endpoint that sends and answers JSON (neither an upload nor a download),
/// with its generated counterpart, in spec order.
pub fn with_specs() -> Vec<(LoadedEndpoint, Endpoint)> {
    entries_with_specs()
        .into_iter()
        .filter_map(|(loaded, entry)| match entry {
            Entry::Json(endpoint) if endpoint.meta.files.is_empty() => Some((loaded, endpoint)),
            _ => None,
        })
        .collect()
}

/// Each upload, with its spec, in spec order.
pub fn uploads() -> Vec<(LoadedEndpoint, Endpoint)> {
    entries_with_specs()
        .into_iter()
        .filter_map(|(loaded, entry)| match entry {
            Entry::Json(endpoint) if !endpoint.meta.files.is_empty() => Some((loaded, endpoint)),
            _ => None,
        })
        .collect()
}

/// Each download, with its spec, in spec order.
pub fn downloads() -> Vec<(LoadedEndpoint, DownloadEndpoint)> {
    entries_with_specs()
        .into_iter()
        .filter_map(|(loaded, entry)| match entry {
            Entry::Download(endpoint) => Some((loaded, endpoint)),
            Entry::Json(_) => None,
        })
        .collect()
}

/// Each generated endpoint with its spec, except the token endpoints the emulator
/// answers as Feishu's auth service (with its own credentials, not the docs' examples).
pub fn emulated() -> Vec<(LoadedEndpoint, Endpoint)> {
    use feishu::runtime::wire::auth_paths::*;
    let auth = [
        TENANT_INTERNAL,
        APP_INTERNAL,
        TENANT_MARKETPLACE,
        APP_MARKETPLACE,
        APP_TICKET_RESEND,
    ];
    with_specs()
        .into_iter()
        .filter(|(_, endpoint)| !auth.contains(&endpoint.meta.path))
        .collect()
}

/// A parameter's documented value: its example, else its first option, else one that
/// fits its type.
fn documented_param(param: &Field) -> Value {
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

/// The request as the docs give it: every parameter by wire name, and the body example.
pub fn documented_request(spec: &EndpointSpec) -> Value {
    let mut object = serde_json::Map::new();
    for param in spec
        .path_params
        .iter()
        .chain(&spec.query_params)
        .chain(&spec.header_params)
    {
        object.insert(param.name.value.clone(), documented_param(param));
    }
    if spec.request_body.is_some() {
        let body = spec.examples.request.as_ref().map_or(json!({}), |e| {
            serde_json::from_str(e).expect("validated JSON")
        });
        object.insert("body".into(), body);
    }
    Value::Object(object)
}

/// The request a test call makes: the documented one, made to fit the generated type
/// (see [`crate::conform`]).
pub fn request_json(loaded: &LoadedEndpoint) -> Value {
    crate::conform::conformer().request(&loaded.id.dotted(), &documented_request(&loaded.spec))
}

/// The response payload a test server answers with: the documented one (`data`, or the
/// flat body without `code` and `msg`), made to fit the generated type.
pub fn payload_json(loaded: &LoadedEndpoint) -> Value {
    let example = documented_payload(loaded);
    crate::conform::conformer().payload(&loaded.id.dotted(), example.as_ref())
}

/// The response example's payload: `data`, or the flat body without `code` and `msg`.
pub fn documented_payload(loaded: &LoadedEndpoint) -> Option<Value> {
    let example = loaded.spec.examples.response.as_ref()?;
    let example: Value = serde_json::from_str(example).expect("validated JSON");
    Some(match loaded.spec.response.envelope {
        Envelope::Data => example
            .get("data")
            .cloned()
            .unwrap_or(Value::Object(Default::default())),
        Envelope::Flat => {
            let mut flat = example;
            if let Some(object) = flat.as_object_mut() {
                object.remove("code");
                object.remove("msg");
            }
            flat
        }
    })
}

/// A whole success answer around `payload`, as the endpoint's envelope puts it.
pub fn success_body(loaded: &LoadedEndpoint, payload: Value) -> Value {
    match loaded.spec.response.envelope {
        Envelope::Data => json!({"code": 0, "msg": "success", "data": payload}),
        Envelope::Flat => {
            let mut body = json!({"code": 0, "msg": "success"});
            if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), payload) {
                body.extend(fields);
            }
            body
        }
    }
}

/// How a parameter value is written in a path, query or header: as Rust prints it, so a
/// float `10.0` is `10`.
pub fn param_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => n.as_f64().unwrap_or_default().to_string(),
        other => other.to_string(),
    }
}

/// RFC 3986: everything but unreserved characters is percent-encoded in a path segment.
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The path the call must request: placeholders replaced by the request's values,
/// percent-encoded.
pub fn expected_path(spec: &EndpointSpec, request: &Value) -> String {
    spec.path
        .split('/')
        .map(|segment| match segment.strip_prefix(':') {
            Some(name) => {
                percent_encoding::utf8_percent_encode(&param_text(&request[name]), NOT_UNRESERVED)
                    .to_string()
            }
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The query pairs the call must send, in order; arrays repeat the name.
pub fn expected_query(spec: &EndpointSpec, request: &Value) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for param in &spec.query_params {
        let name = &param.name.value;
        match request.get(name) {
            Some(Value::Array(items)) => {
                pairs.extend(items.iter().map(|v| (name.clone(), param_text(v))))
            }
            Some(value) => pairs.push((name.clone(), param_text(value))),
            None => {}
        }
    }
    pairs
}
