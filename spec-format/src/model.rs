//! The spec format: what one YAML file under `spec/` may contain.
//!
//! Every fact a Feishu doc page gives about an endpoint has a home here. The layout of
//! `spec/` carries the rest: `spec/<service>/<version>/<resource>/<method>.yaml` is one
//! endpoint, and `spec/<service>/<version>/_types.yaml` holds object types shared by the
//! endpoints of that service version. `spec/schema.json` is generated from these types
//! (`cargo xtask schema`), so editors can validate the files as they are written.

#[cfg(feature = "schema")]
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::located::Located;

/// One endpoint, as documented on one Feishu doc page.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// The page title, e.g. `更新工单详情`.
    pub title: Located<String>,
    /// The doc page this spec was taken from.
    pub doc_url: Located<String>,
    /// The page's last-updated date (`YYYY-MM-DD`), when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// What the endpoint does: the page's lead paragraph (markdown).
    #[serde(default)]
    pub description: String,
    /// Further remarks from the page (注意事项 and the like), one markdown paragraph each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The HTTP method.
    pub method: Located<HttpMethod>,
    /// The host that serves the endpoint.
    #[serde(default, skip_serializing_if = "ApiHost::is_open")]
    pub host: ApiHost,
    /// The path below the host, with `:name` placeholders for path parameters,
    /// e.g. `/open-apis/helpdesk/v1/tickets/:ticket_id`.
    pub path: Located<String>,
    /// The documented rate limit as written on the page, e.g. `100 次/分钟` or `特殊频控`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<String>,
    /// The kinds of app that may call the endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_types: Vec<AppType>,
    /// Scopes of which any one grants access to the endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<Scope>,
    /// Scopes that unlock sensitive fields of the response.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_scopes: Vec<Scope>,
    /// The access tokens the endpoint accepts. Empty means it takes no Authorization header.
    pub tokens: Located<Vec<TokenKind>>,
    /// Whether the endpoint also needs the `X-Lark-Helpdesk-Authorization` header.
    #[serde(default)]
    pub helpdesk: bool,
    /// The fixed `Content-Type` of the request, when the page states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Parameters in the path, in the order the path names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path_params: Vec<Field>,
    /// Parameters in the query string.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_params: Vec<Field>,
    /// Request headers other than `Authorization` and `Content-Type`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub header_params: Vec<Field>,
    /// The request body, if the endpoint takes one: JSON, or the parts of a
    /// `multipart/form-data` upload (see `content_type`), where a field of type `binary`
    /// is a file part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<Located<Payload>>,
    /// The response: where its fields sit and what they are.
    #[serde(default)]
    pub response: Response,
    /// Named object types used by this endpoint that are not defined inline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<TypeDef>,
    /// The page's error-code table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorCode>,
    /// The page's request and response examples.
    #[serde(default)]
    pub examples: Examples,
}

impl EndpointSpec {
    /// Whether the request is a `multipart/form-data` upload.
    pub fn is_upload(&self) -> bool {
        self.content_type.as_deref().is_some_and(is_multipart)
    }
}

/// Whether a `Content-Type` is that of an upload.
pub fn is_multipart(content_type: &str) -> bool {
    content_type.trim_start().starts_with("multipart/form-data")
}

/// One event (or callback) type Feishu pushes to an app, as documented on one event page:
/// `spec/<service>/<version>/<resource>/<name>.event.yaml`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// The page title, e.g. `接收消息`.
    pub title: Located<String>,
    /// The doc page this spec was taken from.
    pub doc_url: Located<String>,
    /// The page's last-updated date (`YYYY-MM-DD`), when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// When the event is pushed: the page's lead paragraph (markdown).
    #[serde(default)]
    pub description: String,
    /// Further remarks from the page, one markdown paragraph each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The event type Feishu writes in the envelope, e.g. `im.message.receive_v1`.
    pub event_type: Located<String>,
    /// The kinds of app that may subscribe to the event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_types: Vec<AppType>,
    /// Scopes of which any one lets the app subscribe.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<Scope>,
    /// Scopes that unlock sensitive fields of the payload.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_scopes: Vec<Scope>,
    /// How Feishu delivers it, as the page writes it (推送方式: `Webhook`, `长连接`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delivery: Vec<String>,
    /// The payload: the fields of the envelope's `event` object.
    pub payload: Located<Payload>,
    /// Named object types used by the payload that are not defined inline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<TypeDef>,
    /// The page's example: the whole envelope as pushed, `header` included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Located<String>>,
}

/// `spec/<service>/<version>/_types.yaml`: object types shared by a service version.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SharedTypes {
    pub types: Vec<TypeDef>,
}

/// Where an endpoint is served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApiHost {
    /// `open.feishu.cn` / `open.larksuite.com`: every path below `/open-apis/`.
    #[default]
    Open,
    /// `www.feishu.cn` / `www.larksuite.com`: the old approval API below `/approval/openapi/`.
    Www,
}

impl ApiHost {
    pub fn is_open(&self) -> bool {
        *self == ApiHost::Open
    }

    /// The prefix every path on this host starts with.
    pub fn path_prefix(self) -> &'static str {
        match self {
            ApiHost::Open => "/open-apis/",
            ApiHost::Www => "/approval/openapi/",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// 支持的应用类型.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AppType {
    /// 自建应用: an app built by the tenant for itself.
    Custom,
    /// 商店应用: an app from the app store.
    Store,
}

/// An access token kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// `tenant_access_token`: the app acting for a tenant.
    Tenant,
    /// `user_access_token`: the app acting for a signed-in user.
    User,
    /// `app_access_token`: the app acting as itself.
    App,
}

/// A permission scope, e.g. `helpdesk:all` named `更新服务台资源详情`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// The scope's identifier.
    pub id: String,
    /// The scope's human-readable name.
    #[serde(default)]
    pub name: String,
}

/// A parameter, or a field of an object.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The name on the wire.
    pub name: Located<String>,
    /// The type: `string`, `int`, `int32`, `int64`, `float`, `bool`, `any`, `binary` (a
    /// file part of a multipart body), a named object
    /// type in snake_case (`customized_field_display_item`), `T[]` for arrays (nestable:
    /// `T[][]`) and `map<string, T>` for maps.
    #[serde(rename = "type")]
    pub ty: Located<String>,
    /// Whether the field must be present.
    #[serde(default)]
    pub required: bool,
    /// The field's description (markdown).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// An example value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
    /// The documented default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// The documented option values. A field with options becomes an enum.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<EnumOption>,
    /// The name of the enum made from `options` (snake_case), when the default
    /// (the field's own name) would be unclear or collide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enum_name: Option<Located<String>>,
    /// Validation rules (数据校验规则).
    #[serde(default, skip_serializing_if = "Rules::is_empty")]
    pub rules: Rules,
    /// Scopes needed for this field to be returned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_scopes: Vec<Scope>,
    /// True when the page gave no field table and the type was inferred from an example.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
    /// The fields of the named object type in `type`, defined here where the page
    /// lists them. Definitions of one name within a resource merge into one type when they
    /// agree; a use without `fields` refers to a definition (see spec/README.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<Field>>,
}

/// One documented option value and what it means.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EnumOption {
    /// The value on the wire: a string or an integer, matching the field's type.
    pub value: Located<Value>,
    /// What the value means.
    #[serde(default)]
    pub meaning: String,
    /// A name for the Rust variant (snake_case), for values that do not make one,
    /// such as integers or non-ASCII text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Located<String>>,
    /// Scopes this value needs (当值为 … 字段权限要求), e.g. `user_id` as a `user_id_type`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<Scope>,
}

/// Validation rules. Lengths count characters for strings and items for arrays.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value: Option<f64>,
    /// A regular expression the value must match (正则校验).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The largest file a `binary` field takes, in bytes (文件大小不超过 …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
}

impl Rules {
    pub fn is_empty(&self) -> bool {
        self == &Rules::default()
    }
}

/// A JSON body: either the fields listed inline, or a named object type.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// A named object type that is the whole body (defined elsewhere).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub ty: Option<Located<String>>,
    /// The body's fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<Field>>,
}

/// The response body.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// Where the payload sits. Most endpoints wrap it as `{"code", "msg", "data": {…}}`;
    /// a few (the auth endpoints) put their fields beside `code` and `msg`.
    #[serde(default)]
    pub envelope: Envelope,
    /// The payload: `data`'s fields, or the top-level fields other than `code` and `msg`.
    /// Absent or without fields means an empty `data` object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Located<Payload>>,
    /// The success answer is the file itself (返回文件二进制流), not JSON; errors still
    /// come as JSON.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub file: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Envelope {
    #[default]
    Data,
    Flat,
}

/// A named object type.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TypeDef {
    /// The doc's own name for the type, in snake_case (`notification_user`).
    pub name: Located<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub fields: Vec<Field>,
}

/// One row of the error-code table.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorCode {
    /// The HTTP status the error comes with, where the page gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Feishu's `code`.
    pub code: Located<i64>,
    /// The `msg` Feishu sends with it.
    pub message: String,
    /// The page's advice (排查建议).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hint: String,
}

/// Examples, as the JSON text the page shows.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Examples {
    /// The request body example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Located<String>>,
    /// The whole response body example, `code` and `msg` included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Located<String>>,
}
