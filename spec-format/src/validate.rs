//! Checks a loaded spec for everything codegen relies on, and resolves named types.
//!
//! Every problem is collected, so one run reports them all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value;

use super::load::{LoadedEndpoint, LoadedEvent, Spec};
use super::model::{EnumOption, Field, HttpMethod, Payload, TypeDef};
use super::type_expr::{Primitive, TypeExpr, is_snake_case};
use super::types::{self, Definition, Side, TypeRegistry, TypeScope, Use};
use super::{Located, Pos};
use crate::diagnostic::Diagnostics;

/// The most fields an object (or a list of parameters) may have: the largest Feishu
/// object has 73. Beyond it a hostile spec would make codegen's time and memory grow
/// without a useful result.
pub const MAX_FIELDS: usize = 1000;

/// Validates `spec` and returns its named types.
pub fn validate(spec: &Spec) -> Result<TypeRegistry, Diagnostics> {
    validate_loaded(spec, true)
}

/// Validates the files of a spec that did load. When some did not (`complete` is false),
/// a type may be unknown only because its definition is in one of them, so unknown
/// types are not reported.
pub fn validate_loaded(spec: &Spec, complete: bool) -> Result<TypeRegistry, Diagnostics> {
    let mut v = Validator::default();
    for shared in &spec.shared {
        let key = (shared.service.clone(), shared.version.clone());
        let origin = Origin {
            file: &shared.file,
            rel: &shared.rel,
            resource: None,
            method: None,
            side: Side::Declared,
        };
        v.type_defs(&key, origin, &shared.spec.types);
    }
    // Each file is checked on its own, on all cores; the parts are joined in file order,
    // so the diagnostics and the definitions keep that order.
    let endpoints = checked_apart(&spec.endpoints, Validator::endpoint);
    let events = checked_apart(&spec.events, Validator::event);
    let mut routes: BTreeMap<(HttpMethod, &str), &LoadedEndpoint> = BTreeMap::new();
    for (endpoint, part) in spec.endpoints.iter().zip(endpoints) {
        v.append(part);
        let route = (*endpoint.spec.method, endpoint.spec.path.as_str());
        if let Some(first) = routes.insert(route, endpoint) {
            v.diagnostics.push(
                &endpoint.file,
                Some(endpoint.spec.path.pos),
                "path",
                format!(
                    "{} {} is also the endpoint of {}",
                    route.0.as_str(),
                    route.1,
                    first.file.display()
                ),
            );
        }
    }
    let mut event_types: BTreeMap<&str, &LoadedEvent> = BTreeMap::new();
    for (event, part) in spec.events.iter().zip(events) {
        v.append(part);
        if let Some(first) = event_types.insert(event.spec.event_type.as_str(), event) {
            v.diagnostics.push(
                &event.file,
                Some(event.spec.event_type.pos),
                "event_type",
                format!(
                    "`{}` is also the event type of {}",
                    *event.spec.event_type,
                    first.file.display()
                ),
            );
        }
    }
    let Validator {
        mut diagnostics,
        definitions,
        uses,
        ..
    } = v;
    let registry = types::build(&definitions, &uses, complete, &mut diagnostics);
    diagnostics.into_result(registry)
}

/// Each file checked by a validator of its own, on all cores, in file order.
fn checked_apart<T: Sync>(files: &[T], check: fn(&mut Validator, &T)) -> Vec<Validator> {
    files
        .par_iter()
        .map(|file| {
            let mut part = Validator::default();
            check(&mut part, file);
            part
        })
        .collect()
}

#[derive(Default)]
struct Validator {
    diagnostics: Diagnostics,
    /// Every definition of a named type, in file order and page order.
    definitions: Vec<Definition>,
    /// Every use of a named type, resolved once every definition is known.
    uses: Vec<Use>,
}

impl Validator {
    /// Adds what `part` found after what this validator has, its indexes into the
    /// definitions and the uses moved along.
    fn append(&mut self, part: Validator) {
        let (definitions, uses) = (self.definitions.len(), self.uses.len());
        self.diagnostics.0.extend(part.diagnostics.0);
        self.definitions
            .extend(part.definitions.into_iter().map(|mut definition| {
                for (_, use_) in &mut definition.field_uses {
                    *use_ += uses;
                }
                definition
            }));
        self.uses.extend(part.uses.into_iter().map(|mut use_| {
            if let Some(definition) = &mut use_.inline {
                *definition += definitions;
            }
            use_
        }));
    }

    fn endpoint(&mut self, endpoint: &LoadedEndpoint) {
        let file = &endpoint.file;
        let spec = &endpoint.spec;
        let key = (endpoint.id.service.clone(), endpoint.id.version.clone());
        let origin = Origin {
            file,
            rel: &endpoint.rel,
            resource: Some(endpoint.id.resource.as_str()),
            method: Some(endpoint.id.method.as_str()),
            side: Side::Declared,
        };

        self.page_facts(file, &spec.title, &spec.doc_url);
        self.path(endpoint);
        for (pos, at, problem) in file_problems(spec) {
            self.diagnostics.push(file, Some(pos), at, problem);
        }
        if let Some(body) = spec.request_body.as_ref().filter(|_| spec.is_upload()) {
            let fields = body.fields.as_deref().unwrap_or_default();
            if !fields.iter().any(|field| *field.ty == "binary") {
                self.diagnostics.push(
                    file,
                    Some(body.pos),
                    "request_body",
                    "a multipart/form-data upload needs a `binary` field for its file",
                );
            }
        }

        let mut seen_tokens = BTreeSet::new();
        for token in spec.tokens.iter() {
            if !seen_tokens.insert(*token) {
                self.diagnostics.push(
                    file,
                    Some(spec.tokens.pos),
                    "tokens",
                    format!("{token:?} is listed twice"),
                );
            }
        }

        let mut param_names: BTreeMap<&str, &str> = BTreeMap::new();
        for (list, params) in [
            ("path_params", &spec.path_params),
            ("query_params", &spec.query_params),
            ("header_params", &spec.header_params),
        ] {
            for (i, param) in params.iter().enumerate() {
                let at = format!("{list}[{i}]");
                if let Some(other) = param_names.insert(param.name.as_str(), list) {
                    self.diagnostics.push(
                        file,
                        Some(param.name.pos),
                        format!("{at}.name"),
                        format!("`{}` is already a parameter in {other}", *param.name),
                    );
                }
                if param.fields.is_some() {
                    self.diagnostics.push(
                        file,
                        Some(param.ty.pos),
                        format!("{at}.fields"),
                        "parameters are scalars and cannot have fields",
                    );
                }
                if let Ok(ty) = TypeExpr::parse(&param.ty) {
                    let scalar = match &ty {
                        TypeExpr::Primitive(p) => *p != Primitive::Any,
                        TypeExpr::Array(inner) if list == "query_params" => {
                            matches!(**inner, TypeExpr::Primitive(p) if p != Primitive::Any)
                        }
                        _ => false,
                    };
                    if !scalar {
                        let what = if list == "query_params" {
                            "a scalar (string, int, int32, int64, float or bool) or an array of scalars"
                        } else {
                            "a scalar (string, int, int32, int64, float or bool)"
                        };
                        self.diagnostics.push(
                            file,
                            Some(param.ty.pos),
                            format!("{at}.type"),
                            format!("`{}` cannot be a {list} type: it must be {what}", *param.ty),
                        );
                    }
                }
            }
            self.fields(&key, origin, params, list);
        }

        if let Some(body) = &spec.request_body {
            let origin = Origin {
                side: Side::Request,
                ..origin
            };
            self.payload(&key, origin, body, "request_body", false);
        }
        if let Some(payload) = &spec.response.payload {
            let origin = Origin {
                side: Side::Response,
                ..origin
            };
            self.payload(&key, origin, payload, "response.payload", true);
        }
        self.type_defs(&key, origin, &spec.types);

        let mut codes = BTreeSet::new();
        for (i, error) in spec.errors.iter().enumerate() {
            if !codes.insert((*error.code, error.http_status)) {
                self.diagnostics.push(
                    file,
                    Some(error.code.pos),
                    format!("errors[{i}].code"),
                    format!("code {} is listed twice", error.code),
                );
            }
        }
        for (name, example) in [
            ("request", &spec.examples.request),
            ("response", &spec.examples.response),
        ] {
            self.json_example(file, example.as_ref(), &format!("examples.{name}"));
        }
        if let (Some(example), None) = (&spec.examples.request, &spec.request_body) {
            self.diagnostics.push(
                file,
                Some(example.pos),
                "examples.request",
                "the endpoint has no request_body to exemplify",
            );
        }
    }

    fn event(&mut self, event: &LoadedEvent) {
        let file = &event.file;
        let spec = &event.spec;
        let key = (event.id.service.clone(), event.id.version.clone());
        let origin = Origin {
            file,
            rel: &event.rel,
            resource: Some(event.id.resource.as_str()),
            method: Some(event.id.name.as_str()),
            side: Side::Declared,
        };
        self.page_facts(file, &spec.title, &spec.doc_url);
        let event_type = &spec.event_type;
        let is_word = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.".contains(c);
        if event_type.is_empty() || !event_type.chars().all(is_word) {
            self.diagnostics.push(
                file,
                Some(event_type.pos),
                "event_type",
                format!(
                    "`{}` is not an event type: lowercase words joined by `.` \
                     (`im.message.receive_v1`)",
                    **event_type
                ),
            );
        }
        let fields = spec.payload.fields.as_deref().unwrap_or_default();
        let mut out = Vec::new();
        misused_files(fields, "payload.fields", false, &mut out);
        for (i, def) in spec.types.iter().enumerate() {
            misused_files(&def.fields, &format!("types[{i}].fields"), false, &mut out);
        }
        for (pos, at, problem) in out {
            self.diagnostics.push(file, Some(pos), at, problem);
        }
        let received = Origin {
            side: Side::Response,
            ..origin
        };
        if let Some(ty) = &spec.payload.ty {
            self.diagnostics.push(
                file,
                Some(ty.pos),
                "payload.type",
                "an event's payload lists its `fields` (the event struct is generated from them)",
            );
        }
        self.fields(&key, received, fields, "payload.fields");
        self.type_defs(&key, origin, &spec.types);
        self.json_example(file, spec.example.as_ref(), "example");
    }

    /// The facts every spec file takes from its page: a title and the page's address.
    fn page_facts(&mut self, file: &Path, title: &Located<String>, doc_url: &Located<String>) {
        if title.trim().is_empty() {
            self.diagnostics
                .push(file, Some(title.pos), "title", "must not be empty");
        }
        if !doc_url.starts_with("https://") {
            self.diagnostics.push(
                file,
                Some(doc_url.pos),
                "doc_url",
                "must be the https:// address of the doc page",
            );
        }
    }

    fn json_example(&mut self, file: &Path, example: Option<&Located<String>>, at: &str) {
        if let Some(example) = example
            && let Err(err) = serde_json::from_str::<Value>(example)
        {
            self.diagnostics.push(
                file,
                Some(example.pos),
                at,
                format!("is not valid JSON: {err}"),
            );
        }
    }

    fn path(&mut self, endpoint: &LoadedEndpoint) {
        let file = &endpoint.file;
        let spec = &endpoint.spec;
        let path = &spec.path;
        let prefix = spec.host.path_prefix();
        if !path.starts_with(prefix) {
            self.diagnostics.push(
                file,
                Some(path.pos),
                "path",
                format!("must start with `{prefix}` (the host is `{:?}`)", spec.host),
            );
        }
        if path.contains(['?', '#', '{', '}']) || path.contains("//") {
            self.diagnostics.push(
                file,
                Some(path.pos),
                "path",
                "must be a plain path: parameters are written `:name`, and the query goes in query_params",
            );
        }
        let placeholders: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix(':'))
            .collect();
        let declared: Vec<&str> = spec.path_params.iter().map(|p| p.name.as_str()).collect();
        if placeholders != declared {
            self.diagnostics.push(
                file,
                Some(path.pos),
                "path",
                format!(
                    "names the parameters {placeholders:?}, but path_params declares {declared:?}; \
                     they must match, in order"
                ),
            );
        }
    }

    fn payload(
        &mut self,
        key: &(String, String),
        origin: Origin<'_>,
        payload: &Located<Payload>,
        at: &str,
        may_be_empty: bool,
    ) {
        let file = origin.file;
        let pos = Some(payload.pos);
        match (&payload.ty, &payload.fields) {
            (Some(_), Some(_)) => {
                self.diagnostics
                    .push(file, pos, at, "give either `type` or `fields`, not both");
            }
            (Some(ty), None) => match TypeExpr::parse(ty) {
                Ok(TypeExpr::Named(name)) => {
                    self.reference(key, origin, &name, ty.pos, format!("{at}.type"), None);
                }
                Ok(_) => self.diagnostics.push(
                    file,
                    Some(ty.pos),
                    format!("{at}.type"),
                    "a body is a named object type",
                ),
                Err(err) => self
                    .diagnostics
                    .push(file, Some(ty.pos), format!("{at}.type"), err),
            },
            (None, Some(fields)) => {
                self.fields(key, origin, fields, &format!("{at}.fields"));
            }
            (None, None) if may_be_empty => {}
            (None, None) => {
                self.diagnostics
                    .push(file, pos, at, "give the body's `type` or its `fields`")
            }
        }
    }

    /// Checks a field list, recursing into inline definitions; returns the uses of named
    /// types it makes, by field name.
    fn fields(
        &mut self,
        key: &(String, String),
        origin: Origin<'_>,
        fields: &[Field],
        at: &str,
    ) -> Vec<(String, usize)> {
        let file = origin.file;
        if let Some(first_over) = fields.get(MAX_FIELDS) {
            self.diagnostics.push(
                file,
                Some(first_over.name.pos),
                format!("{at}[{MAX_FIELDS}]"),
                format!(
                    "an object has at most {MAX_FIELDS} fields, and this one has {}; no \
                     Feishu object has a hundred",
                    fields.len()
                ),
            );
            return Vec::new();
        }
        let mut names = BTreeSet::new();
        let mut uses = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            let at = format!("{at}[{i}]");
            if field.name.trim().is_empty() {
                self.diagnostics.push(
                    file,
                    Some(field.name.pos),
                    format!("{at}.name"),
                    "must not be empty",
                );
            } else if !names.insert(field.name.as_str()) {
                self.diagnostics.push(
                    file,
                    Some(field.name.pos),
                    format!("{at}.name"),
                    format!("`{}` is listed twice", *field.name),
                );
            }
            let ty = match TypeExpr::parse(&field.ty) {
                Ok(ty) => ty,
                Err(err) => {
                    self.diagnostics
                        .push(file, Some(field.ty.pos), format!("{at}.type"), err);
                    continue;
                }
            };
            self.options(file, field, &ty, &at);
            let type_at = format!("{at}.type");
            match (ty.named(), &field.fields) {
                (Some(name), Some(children)) => {
                    let def = self.define(
                        key,
                        (name, field.ty.pos),
                        &field.description,
                        children,
                        origin,
                        (&type_at, &format!("{at}.fields")),
                    );
                    if let Some(def) = def {
                        let use_ =
                            self.reference(key, origin, name, field.ty.pos, type_at, Some(def));
                        uses.push((field.name.value.clone(), use_));
                    }
                }
                (Some(name), None) => {
                    let use_ = self.reference(key, origin, name, field.ty.pos, type_at, None);
                    uses.push((field.name.value.clone(), use_));
                }
                (None, Some(_)) => self.diagnostics.push(
                    file,
                    Some(field.ty.pos),
                    format!("{at}.fields"),
                    format!(
                        "only a named object type has fields, and `{}` is not one",
                        *field.ty
                    ),
                ),
                (None, None) => {}
            }
        }
        uses
    }

    fn options(&mut self, file: &Path, field: &Field, ty: &TypeExpr, at: &str) {
        if let Some(name) = &field.enum_name
            && !is_snake_case(name)
        {
            self.diagnostics.push(
                file,
                Some(name.pos),
                format!("{at}.enum_name"),
                "must be snake_case",
            );
        }
        if field.options.is_empty() {
            if let Some(name) = &field.enum_name {
                self.diagnostics.push(
                    file,
                    Some(name.pos),
                    format!("{at}.enum_name"),
                    "names an enum, but the field has no options",
                );
            }
            return;
        }
        let integer = match ty.leaf() {
            TypeExpr::Primitive(Primitive::String) => false,
            TypeExpr::Primitive(Primitive::Int | Primitive::Int32 | Primitive::Int64) => true,
            _ => {
                self.diagnostics.push(
                    file,
                    Some(field.ty.pos),
                    format!("{at}.options"),
                    format!(
                        "options make an enum, which needs a string or integer type, not `{}`",
                        *field.ty
                    ),
                );
                return;
            }
        };
        let mut seen = BTreeSet::new();
        for (i, option) in field.options.iter().enumerate() {
            let EnumOption { value, name, .. } = option;
            let at = format!("{at}.options[{i}]");
            let fits = if integer {
                value.is_i64()
            } else {
                value.is_string()
            };
            if !fits {
                let want = if integer { "an integer" } else { "a string" };
                self.diagnostics.push(
                    file,
                    Some(value.pos),
                    format!("{at}.value"),
                    format!("must be {want}, as the field is `{}`", *field.ty),
                );
            }
            if !seen.insert(value.to_string()) {
                self.diagnostics.push(
                    file,
                    Some(value.pos),
                    format!("{at}.value"),
                    format!("{} is listed twice", **value),
                );
            }
            if let Some(name) = name
                && !is_snake_case(name)
            {
                self.diagnostics.push(
                    file,
                    Some(name.pos),
                    format!("{at}.name"),
                    "must be snake_case",
                );
            }
        }
    }

    /// Checks and records a `types` list.
    fn type_defs(&mut self, key: &(String, String), origin: Origin<'_>, defs: &[TypeDef]) {
        let origin = Origin {
            side: Side::Declared,
            ..origin
        };
        for (i, def) in defs.iter().enumerate() {
            let at = format!("types[{i}]");
            self.define(
                key,
                (&def.name, def.name.pos),
                &def.description,
                &def.fields,
                origin,
                (&at, &format!("{at}.fields")),
            );
        }
    }

    /// Records a definition of a named type and checks its fields; definitions are merged
    /// once all are known. Returns the definition's number, unless its name is unusable.
    fn define(
        &mut self,
        key: &(String, String),
        name: (&str, Pos),
        description: &str,
        fields: &[Field],
        origin: Origin<'_>,
        (at, fields_at): (&str, &str),
    ) -> Option<usize> {
        let (name, pos) = name;
        if !is_snake_case(name) {
            self.diagnostics.push(
                origin.file,
                Some(pos),
                at,
                format!("`{name}`: a type name is snake_case"),
            );
            self.fields(key, origin, fields, fields_at);
            return None;
        }
        let id = self.definitions.len();
        self.definitions.push(Definition {
            service: key.0.clone(),
            version: key.1.clone(),
            scope: origin.scope(),
            name: name.to_owned(),
            method: origin.method.map(str::to_owned),
            side: origin.side,
            file: origin.file.clone(),
            rel: origin.rel.to_owned(),
            pos,
            at: at.to_owned(),
            description: description.to_owned(),
            fields: fields.to_vec(),
            field_uses: Vec::new(),
        });
        // Recorded before its fields, so a type that nests itself keeps page order.
        let field_uses = self.fields(key, origin, fields, fields_at);
        self.definitions[id].field_uses = field_uses;
        Some(id)
    }

    /// Records a use of a named type; uses are resolved once every definition is known.
    fn reference(
        &mut self,
        key: &(String, String),
        origin: Origin<'_>,
        name: &str,
        pos: Pos,
        at: String,
        inline: Option<usize>,
    ) -> usize {
        self.uses.push(Use {
            service: key.0.clone(),
            version: key.1.clone(),
            resource: origin.resource.map(str::to_owned),
            file: origin.file.clone(),
            rel: origin.rel.to_owned(),
            pos,
            at,
            name: name.to_owned(),
            inline,
        });
        self.uses.len() - 1
    }
}

/// Where a definition or use was written.
#[derive(Clone, Copy)]
struct Origin<'a> {
    file: &'a PathBuf,
    /// The file relative to the spec dir.
    rel: &'a str,
    /// The resource of the endpoint file, or None for `_types.yaml`.
    resource: Option<&'a str>,
    /// The endpoint method of the file (or the event's name), or None for `_types.yaml`.
    method: Option<&'a str>,
    side: Side,
}

const MISPLACED_FILE: &str = "a `binary` is a file part of a multipart/form-data body: it may only be a field of the request body of an endpoint whose content_type is multipart/form-data";
const FILE_LIST: &str =
    "a list of files is not supported: give each file part a `binary` field of its own";
const MISPLACED_MAX_BYTES: &str =
    "`max_bytes` is the size limit of a file: only a `binary` field has one";

/// Every misused file type and file rule, with its position, field path and problem: a
/// `binary` (or an array of them) that is not a top-level field of an upload's body, a
/// list of files, and a `max_bytes` on a field that is not a file.
fn file_problems(spec: &super::model::EndpointSpec) -> Vec<(Pos, String, &'static str)> {
    let walk = misused_files;
    let mut out = Vec::new();
    let body = spec.request_body.as_ref().and_then(|b| b.fields.as_deref());
    walk(
        body.unwrap_or_default(),
        "request_body.fields",
        spec.is_upload(),
        &mut out,
    );
    let response = spec
        .response
        .payload
        .as_ref()
        .and_then(|p| p.fields.as_deref());
    walk(
        response.unwrap_or_default(),
        "response.payload.fields",
        false,
        &mut out,
    );
    for (list, params) in [
        ("path_params", &spec.path_params),
        ("query_params", &spec.query_params),
        ("header_params", &spec.header_params),
    ] {
        walk(params, list, false, &mut out);
    }
    for (i, def) in spec.types.iter().enumerate() {
        walk(&def.fields, &format!("types[{i}].fields"), false, &mut out);
    }
    out
}

/// The misused file types and file rules of a field list, however deep; `top_level_ok`
/// when its own fields may be file parts (an upload's body).
fn misused_files(
    fields: &[Field],
    at: &str,
    top_level_ok: bool,
    out: &mut Vec<(Pos, String, &'static str)>,
) {
    for (i, field) in fields.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let is_file = field.ty.trim_end_matches("[]") == "binary";
        if is_file && !top_level_ok {
            out.push((field.ty.pos, format!("{at}.type"), MISPLACED_FILE));
        } else if is_file && *field.ty != "binary" {
            out.push((field.ty.pos, format!("{at}.type"), FILE_LIST));
        }
        if field.rules.max_bytes.is_some() && *field.ty != "binary" {
            out.push((
                field.name.pos,
                format!("{at}.rules.max_bytes"),
                MISPLACED_MAX_BYTES,
            ));
        }
        if let Some(children) = &field.fields {
            misused_files(children, &format!("{at}.fields"), false, out);
        }
    }
}

impl Origin<'_> {
    fn scope(&self) -> TypeScope {
        match self.resource {
            Some(resource) => TypeScope::Resource(resource.to_owned()),
            None => TypeScope::Shared,
        }
    }
}

/// An option list as the generated enum sees it: each value with its variant name.
pub fn option_keys(options: &[EnumOption]) -> Vec<String> {
    options
        .iter()
        .map(|o| {
            format!(
                "{}={}",
                *o.value,
                o.name.as_ref().map_or("", |n| n.value.as_str())
            )
        })
        .collect()
}
