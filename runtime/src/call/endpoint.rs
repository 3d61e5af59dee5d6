//! What a generated crate says of each endpoint: its method, host and path, the tokens it
//! takes, where its answer carries the payload, its upload parts, documented errors,
//! paging, rate limit, response example and body schema. Plain data, read by the call that sends a
//! request.

use crate::auth::token::TokenKind;
use crate::error::DocumentedError;
use crate::retry::rate_limit::Quota;
use crate::transfer::upload::FilePart;

/// An endpoint's documented facts.
#[derive(Debug)]
pub struct Endpoint {
    /// `service.version.resource.method`, e.g. `helpdesk.v1.ticket.update`.
    pub id: &'static str,
    /// The HTTP method.
    pub method: HttpMethod,
    /// The host that serves the endpoint.
    pub host: Host,
    /// The documented path, with `:name` placeholders.
    pub path: &'static str,
    /// The access tokens the endpoint accepts, in the doc's order. Empty: none is sent.
    pub tokens: &'static [TokenKind],
    /// Whether the endpoint needs the `X-Lark-Helpdesk-Authorization` header.
    pub helpdesk: bool,
    /// Where the response carries its payload.
    pub envelope: Envelope,
    /// An upload's file parts; an endpoint with any takes a `multipart/form-data` body.
    pub files: &'static [FilePart],
    /// The error codes the doc page lists.
    pub errors: &'static [DocumentedError],
    /// The endpoint's doc page.
    pub doc_url: &'static str,
    /// Where a paged list carries its page token and results; `None` for other endpoints.
    pub paging: Option<Paging>,
    /// The quotas of the rate limit the page states (`1000 次/分钟、50 次/秒` is two), which
    /// [`ClientBuilder::pace_rate_limits`](crate::client::ClientBuilder::pace_rate_limits) keeps
    /// calls within. Empty when the page states none (`特殊频控`, or nothing).
    pub rate_limit: &'static [Quota],
    /// The page's response example, as compact JSON: its payload (the `data` object, or for
    /// a flat answer the body without `code` and `msg`). `None` where the page shows none,
    /// or for a download. What an emulator answers by default.
    pub response_example: Option<&'static str>,
    /// The JSON Schema (2020-12) of the request body as the page documents it, as compact
    /// JSON: its fields, their types, which are required, and the lengths and ranges the
    /// client checks. For an upload, the schema of its text fields (the file parts are in
    /// [`files`](Self::files)). `None` where the endpoint takes no body. Plain data, so an
    /// emulator can check what any client sends without the crate's `roundtrip` feature.
    pub body_schema: Option<&'static str>,
}

impl Endpoint {
    /// The doc page's entry for an error code, if it lists one: the row with the same HTTP
    /// status if there is one, else the first row with the code.
    pub fn documented_error(&self, code: i64, status: u16) -> Option<&'static DocumentedError> {
        let rows = || self.errors.iter().filter(move |e| e.code == code);
        rows()
            .find(|e| e.http_status == Some(status))
            .or_else(|| rows().next())
    }
}

/// The host an endpoint is served on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// The Open Platform, `open.feishu.cn` or `open.larksuite.com`: every path below
    /// `/open-apis/`.
    Open,
    /// `www.feishu.cn` or `www.larksuite.com`: the old approval API below
    /// `/approval/openapi/`.
    Www,
}

/// An HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // The variants are the methods of the same names.
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    /// The method's name, e.g. `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Patch => reqwest::Method::PATCH,
            HttpMethod::Delete => reqwest::Method::DELETE,
        }
    }

    /// Whether repeating the request has the same effect as sending it once.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, HttpMethod::Post | HttpMethod::Patch)
    }
}

/// Where a response carries its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Envelope {
    /// `{"code": 0, "msg": "success", "data": {…}}`: the payload is `data`.
    Data,
    /// `{"code": 0, "msg": "…", …}`: the payload is the whole body (the auth endpoints).
    Flat,
    /// The body is a file (`返回文件二进制流`); an error still comes as Feishu's JSON.
    File,
}

/// Where a paged endpoint carries its page token and its results, by their wire names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    /// Where the request sends the page token.
    pub token_in: PageTokenIn,
    /// The request's page token parameter (`page_token`).
    pub request_token: &'static str,
    /// The response field with the next page's token (`page_token` or `next_page_token`).
    pub response_token: &'static str,
    /// The response field that says whether there is a next page (`has_more`), where the
    /// endpoint has one.
    pub has_more: Option<&'static str>,
    /// The response field that lists the page's results, where the response has exactly
    /// one list.
    pub items: Option<&'static str>,
}

/// Where a request sends its page token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageTokenIn {
    /// A query parameter.
    Query,
    /// A field of the JSON body.
    Body,
}
