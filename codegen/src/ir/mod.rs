//! The intermediate representation: the generated crate as modules of types and
//! operations, with every Rust name already decided. Emitters only print it.

mod body_schema;
mod lower;
mod paging;
pub mod rate_limit;

use std::collections::BTreeMap;

use feishu_spec::model::{ApiHost, Envelope, ErrorCode, HttpMethod, Rules, TokenKind};

// Only for a spec that passed validation (its panics are the validator's promises):
// outside the crate, `lower_generated` and `generate` validate first.
pub(crate) use lower::lower;

use crate::naming::RustName;

/// A module's path below `crate::api`, e.g. `[helpdesk, v1, ticket]`. The root is empty.
pub type ModPath = Vec<RustName>;

#[derive(Clone, Debug, Default)]
pub struct Ir {
    /// Every module, the root included, keyed by path so output order is fixed.
    pub modules: BTreeMap<ModPath, Module>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleKind {
    Root,
    Service,
    Version,
    Resource,
}

#[derive(Clone, Debug)]
pub struct Module {
    pub path: ModPath,
    pub kind: ModuleKind,
    /// The spec name of this level (`helpdesk`, `v1`, `ticket`); empty for the root.
    pub spec_name: String,
    pub children: Vec<RustName>,
    /// The handle type through which the client reaches this module's operations; none
    /// for the root, whose handle is the client itself, and for a resource that only has
    /// events (nothing to call).
    pub accessor: Option<Accessor>,
    pub structs: Vec<StructDef>,
    pub enums: Vec<EnumDef>,
    pub operations: Vec<Operation>,
    /// Spec files (relative to the spec dir) this module is generated from.
    pub sources: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Accessor {
    /// The handle type, e.g. `TicketApi`.
    pub type_name: RustName,
    /// The method on the parent's handle that returns it, e.g. `ticket`.
    pub method: RustName,
}

#[derive(Clone, Debug)]
pub enum RustType {
    String,
    I32,
    I64,
    F64,
    Bool,
    /// Any JSON value.
    Json,
    /// The runtime's empty object, for responses without data.
    Empty,
    /// A file part of an upload (`binary`): the runtime's `UploadFile`.
    File,
    /// The file a download answers with: the runtime's `Download`.
    Download,
    Vec(Box<RustType>),
    /// On the heap, to break a type's containment of itself.
    Box(Box<RustType>),
    /// A JSON object with arbitrary string keys.
    Map(Box<RustType>),
    Named(TypeRef),
}

/// A generated type, by the module it lives in and its name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TypeRef {
    pub module: ModPath,
    pub name: RustName,
}

/// Where a request field goes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
    /// The request body, serialized as JSON.
    Body,
    /// A field of a JSON object.
    Json,
}

#[derive(Clone, Debug)]
pub struct FieldDef {
    pub name: RustName,
    /// The builder method that sets the field (optional fields only).
    pub setter: RustName,
    pub wire: String,
    pub ty: RustType,
    pub required: bool,
    pub location: Location,
    /// Markdown paragraphs.
    pub doc: Vec<String>,
    /// The documented lengths and ranges the client checks before sending.
    pub rules: Rules,
    /// Whether the field holds a struct with rules of its own to check.
    pub nested_rules: bool,
    /// A required field of a struct the client both sends and receives: it stays a
    /// constructor parameter, and takes its type's default when a response leaves it out.
    pub default_when_absent: bool,
}

#[derive(Clone, Debug)]
pub struct StructDef {
    pub name: RustName,
    pub doc: Vec<String>,
    pub fields: Vec<FieldDef>,
    /// Whether the struct, or a struct it holds, has fields with rules to check: only
    /// those get a `Validate` impl.
    pub validated: bool,
    /// What the client needs of the struct: only those serde derives are always there;
    /// the others come with the crate's `roundtrip` feature.
    pub serde: SerdeNeeds,
    /// Whether the struct holds an upload's file (an upload's body, and its request): a
    /// file may be a one-shot stream, so such a struct is neither `Clone` nor `PartialEq`.
    pub holds_file: bool,
    /// The event type, when the struct is an event's payload: it implements the
    /// runtime's `Event` trait.
    pub event_type: Option<String>,
}

/// The serde derives the client itself needs of a struct: `Serialize` for what it sends
/// (bodies and the types in them), `Deserialize` for what it receives (responses and the
/// types in them). A request struct needs neither: the client reads its fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SerdeNeeds {
    pub serialize: bool,
    pub deserialize: bool,
}

impl FieldDef {
    /// Whether the field's own value has a rule the client checks: a length on a string
    /// or list, a range on a number. Other rules (a pattern, a length on a map or enum)
    /// are documented only, so they must not make a `Validate` impl with nothing in it.
    pub fn has_checks(&self) -> bool {
        self.checks_length() || self.checks_range()
    }

    pub fn checks_length(&self) -> bool {
        (self.rules.min_length.is_some() || self.rules.max_length.is_some())
            && matches!(self.ty, RustType::String | RustType::Vec(_))
    }

    pub fn checks_range(&self) -> bool {
        (self.rules.min_value.is_some() || self.rules.max_value.is_some())
            && matches!(self.ty, RustType::F64 | RustType::I32 | RustType::I64)
    }
}

impl RustType {
    /// The named type inside any lists, maps and boxes.
    pub fn named_leaf(&self) -> Option<&TypeRef> {
        match self {
            RustType::Vec(inner) | RustType::Box(inner) | RustType::Map(inner) => {
                inner.named_leaf()
            }
            RustType::Named(type_ref) => Some(type_ref),
            _ => None,
        }
    }
}

impl StructDef {
    /// A struct whose fields are all optional can be built empty.
    pub fn is_defaultable(&self) -> bool {
        self.fields.iter().all(|f| !f.required)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnumRepr {
    String,
    Integer,
}

#[derive(Clone, Debug)]
pub struct EnumDef {
    pub name: RustName,
    pub doc: Vec<String>,
    pub repr: EnumRepr,
    pub variants: Vec<Variant>,
}

#[derive(Clone, Debug)]
pub struct Variant {
    pub name: RustName,
    pub value: serde_json::Value,
    pub doc: String,
}

#[derive(Clone, Debug)]
pub enum PathSegment {
    Literal(String),
    /// A path parameter, by its field in the request struct.
    Param(RustName),
}

#[derive(Clone, Debug)]
pub struct Operation {
    /// `helpdesk.v1.ticket.update`
    pub id: String,
    pub fn_name: RustName,
    /// The request struct: parameters and body.
    pub request: StructDef,
    pub method: HttpMethod,
    pub host: ApiHost,
    /// The documented path, with `:name` placeholders.
    pub path: String,
    pub segments: Vec<PathSegment>,
    pub body: Option<RustType>,
    pub response: RustType,
    pub envelope: Envelope,
    pub tokens: Vec<TokenKind>,
    pub helpdesk: bool,
    pub errors: Vec<ErrorCode>,
    pub doc_url: String,
    /// Markdown paragraphs.
    pub doc: Vec<String>,
    /// How the endpoint pages its results, if it pages by token.
    pub paging: Option<Paging>,
    /// The parameter a list pages by, if it pages by position (`offset`, `page`) instead.
    pub paged_by: Option<String>,
    /// An upload's file parts, all fields of the body struct, in the doc's order; empty
    /// for other endpoints.
    pub files: Vec<FilePartDef>,
    /// Whether the endpoint answers with a file (the response is a `Download`).
    pub file_response: bool,
    /// The documented rate limit's quotas; empty when the page states none the client
    /// can pace by (`特殊频控`, or nothing).
    pub rate_limit: Vec<rate_limit::Quota>,
    /// The response example's payload as compact JSON, if the page shows one.
    pub response_example: Option<String>,
    /// The body's JSON Schema as compact JSON (see `body_schema`), if it takes a body.
    pub body_schema: Option<String>,
}

/// A file part of an upload: the body field that holds it, and its documented limit.
#[derive(Clone, Debug)]
pub struct FilePartDef {
    pub field: FieldRef,
    /// The request's field that holds the body.
    pub body: RustName,
    pub max_bytes: Option<u64>,
}

/// A paged list: the request's `page_token` and the response fields that say what comes
/// next. Found by their documented wire names, so every list that pages the usual way
/// gets a page stream with no override.
#[derive(Clone, Debug)]
pub struct Paging {
    /// The request's token field; in the body struct when `body` names the request's
    /// field that holds the body.
    pub token: FieldRef,
    pub body: Option<RustName>,
    pub response_token: FieldRef,
    pub has_more: Option<FieldRef>,
    /// The response's one list of results, with the type of an item.
    pub items: Option<(FieldRef, RustType)>,
}

/// A struct field as the emitters need it to read or write the field.
#[derive(Clone, Debug)]
pub struct FieldRef {
    pub name: RustName,
    pub wire: String,
    /// Whether the field is a plain value rather than an `Option`.
    pub required: bool,
}

impl From<&FieldDef> for FieldRef {
    fn from(field: &FieldDef) -> Self {
        FieldRef {
            name: field.name.clone(),
            wire: field.wire.clone(),
            required: field.required,
        }
    }
}
