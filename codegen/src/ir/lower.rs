//! Spec → IR: places every type in a module, names everything, and gathers the docs.

use std::collections::{BTreeMap, BTreeSet};

use feishu_spec::model::{
    AppType, EndpointSpec, Envelope, EventSpec, Field, Payload, Rules, Scope as ApiScope, TokenKind,
};
use feishu_spec::{
    Diagnostics, LoadedEndpoint, LoadedEvent, Located, Primitive, Spec, TypeEntry, TypeExpr,
    TypeKey, TypeRegistry, TypeScope,
};
use heck::ToUpperCamelCase;
use rayon::prelude::*;

use super::{
    Accessor, EnumDef, EnumRepr, FieldDef, FilePartDef, Ir, Location, ModPath, Module, ModuleKind,
    Operation, PathSegment, RustType, SerdeNeeds, StructDef, TypeRef, Variant,
};
use crate::naming::{self, RustName, Scope};
use crate::rustdoc::{code, sanitize, table_cell};

/// The name of the fallback variant every enum has.
pub const UNKNOWN_VARIANT: &str = "Unknown";

pub fn lower(spec: &Spec, types: &TypeRegistry) -> Result<Ir, Diagnostics> {
    let boxed = recursive_fields(types);
    // A service's types and names never reach into another service, so the services are
    // lowered each on their own, on all cores, and their modules put side by side.
    let services: BTreeSet<&str> = spec
        .endpoints
        .iter()
        .map(|e| e.id.service.as_str())
        .chain(spec.events.iter().map(|e| e.id.service.as_str()))
        .collect();
    let lowered: Vec<BTreeMap<ModPath, Module>> = services
        .into_par_iter()
        .map(|service| lower_service(spec, types, &boxed, service))
        .collect();
    let mut modules = BTreeMap::new();
    modules.insert(Vec::new(), root_module());
    for service_modules in lowered {
        modules.extend(service_modules);
    }
    let children: Vec<RustName> = modules
        .keys()
        .filter_map(|path| match path.as_slice() {
            [service] => Some(service.clone()),
            _ => None,
        })
        .collect();
    modules.get_mut(&Vec::new()).expect("just made").children = children;
    Ok(Ir { modules })
}

/// The crate root: it holds the service modules and nothing of its own.
fn root_module() -> Module {
    Module {
        path: Vec::new(),
        kind: ModuleKind::Root,
        spec_name: String::new(),
        children: Vec::new(),
        accessor: None,
        structs: Vec::new(),
        enums: Vec::new(),
        operations: Vec::new(),
        sources: Vec::new(),
    }
}

/// The modules of one service, from its endpoints, events and types.
fn lower_service(
    spec: &Spec,
    types: &TypeRegistry,
    boxed: &BTreeSet<(TypeKey, String)>,
    service: &str,
) -> BTreeMap<ModPath, Module> {
    let mut lowering = Lowering {
        types,
        service,
        boxed,
        modules: BTreeMap::new(),
        scopes: BTreeMap::new(),
        type_refs: BTreeMap::new(),
        endpoint_names: BTreeMap::new(),
        event_names: BTreeMap::new(),
        enums: BTreeMap::new(),
    };
    let endpoints: Vec<&LoadedEndpoint> = spec
        .endpoints
        .iter()
        .filter(|e| e.id.service == service)
        .collect();
    let events: Vec<&LoadedEvent> = spec
        .events
        .iter()
        .filter(|e| e.id.service == service)
        .collect();
    lowering.modules(&endpoints, &events);
    lowering.name_types(&endpoints, &events);
    for entry in lowering.service_types() {
        lowering.named_type(entry);
    }
    for endpoint in endpoints {
        lowering.endpoint(endpoint);
    }
    for event in events {
        lowering.event(event);
    }
    let mut ir = Ir {
        modules: lowering.modules,
    };
    mark_validated(&mut ir);
    mark_serde_needs(&mut ir);
    tolerate_absent_fields(&mut ir);
    // After the response fields have settled which are optional.
    super::paging::find_paging(&mut ir);
    super::body_schema::fill(&mut ir);
    for module in ir.modules.values_mut() {
        module.structs.sort_by(|a, b| a.name.cmp(&b.name));
        module.enums.sort_by(|a, b| a.name.cmp(&b.name));
        module.operations.sort_by(|a, b| a.fn_name.cmp(&b.fn_name));
        module.sources.sort();
        module.sources.dedup();
    }
    ir.modules
}

/// Marks the structs that have rules to check, in their own fields or in the structs
/// they hold, however deep; repeated until nothing changes, since types can nest in cycles.
fn mark_validated(ir: &mut Ir) {
    loop {
        let validated: BTreeSet<TypeRef> = ir
            .modules
            .values()
            .flat_map(|m| {
                let ops = m.operations.iter().map(|op| &op.request);
                m.structs
                    .iter()
                    .chain(ops)
                    .filter(|s| s.validated)
                    .map(|s| TypeRef {
                        module: m.path.clone(),
                        name: s.name.clone(),
                    })
            })
            .collect();
        let mut changed = false;
        for module in ir.modules.values_mut() {
            let ops = module.operations.iter_mut().map(|op| &mut op.request);
            for def in module.structs.iter_mut().chain(ops) {
                for field in &mut def.fields {
                    field.nested_rules =
                        field.ty.named_leaf().is_some_and(|t| validated.contains(t));
                }
                let needs = def.fields.iter().any(|f| f.has_checks() || f.nested_rules);
                if needs && !def.validated {
                    def.validated = true;
                    changed = true;
                }
            }
        }
        if !changed {
            return;
        }
    }
}

/// Marks what each struct is for on the wire: what a body holds is sent, what a response
/// holds is received, however deep, so each struct derives only what the client needs.
fn mark_serde_needs(ir: &mut Ir) {
    let mut sent = BTreeSet::new();
    let mut received = BTreeSet::new();
    let mut queue: Vec<(TypeRef, bool)> = Vec::new();
    for op in ir.modules.values().flat_map(|m| &m.operations) {
        queue.extend(
            op.body
                .iter()
                .filter_map(RustType::named_leaf)
                .map(|t| (t.clone(), true)),
        );
        queue.extend(op.response.named_leaf().map(|t| (t.clone(), false)));
    }
    for module in ir.modules.values() {
        let events = module.structs.iter().filter(|s| s.event_type.is_some());
        queue.extend(events.map(|s| {
            let type_ref = TypeRef {
                module: module.path.clone(),
                name: s.name.clone(),
            };
            (type_ref, false)
        }));
    }
    while let Some((type_ref, is_sent)) = queue.pop() {
        let seen = if is_sent { &mut sent } else { &mut received };
        if !seen.insert(type_ref.clone()) {
            continue;
        }
        let Some(def) = ir.modules[&type_ref.module]
            .structs
            .iter()
            .find(|s| s.name == type_ref.name)
        else {
            // An enum: its serde impls are written by hand, both ways.
            continue;
        };
        for field in &def.fields {
            if let Some(inner) = field.ty.named_leaf() {
                queue.push((inner.clone(), is_sent));
            }
        }
    }
    for module in ir.modules.values_mut() {
        let path = module.path.clone();
        for def in &mut module.structs {
            let type_ref = TypeRef {
                module: path.clone(),
                name: def.name.clone(),
            };
            def.serde = SerdeNeeds {
                serialize: sent.contains(&type_ref),
                deserialize: received.contains(&type_ref),
            };
        }
    }
}

/// Feishu leaves out the response fields the app has no field permission for, and a type
/// shared with requests carries required flags responses do not honour: every field of a
/// struct the client receives must deserialize when absent. A struct only received makes
/// every field optional. A struct also sent keeps its required fields as constructor
/// parameters where their type has a default to take when absent; the others become
/// optional, as a deserialized value could not fill them.
fn tolerate_absent_fields(ir: &mut Ir) {
    // Only ever made optional here, so a struct defaultable now stays so.
    let defaultable: BTreeSet<TypeRef> = ir
        .modules
        .values()
        .flat_map(|m| {
            m.structs
                .iter()
                .filter(|s| s.is_defaultable())
                .map(|s| TypeRef {
                    module: m.path.clone(),
                    name: s.name.clone(),
                })
        })
        .collect();
    for def in ir.modules.values_mut().flat_map(|m| &mut m.structs) {
        if !def.serde.deserialize {
            continue;
        }
        for field in def.fields.iter_mut().filter(|f| f.required) {
            if def.serde.serialize && has_default(&field.ty, &defaultable) {
                field.default_when_absent = true;
            } else {
                field.required = false;
            }
        }
    }
}

/// Whether a field of this type can be filled with `Default::default()`.
fn has_default(ty: &RustType, defaultable: &BTreeSet<TypeRef>) -> bool {
    match ty {
        RustType::Box(inner) => has_default(inner, defaultable),
        // Enums have no default: no documented value is the absent one.
        RustType::Named(type_ref) => defaultable.contains(type_ref),
        _ => true,
    }
}

struct Lowering<'a> {
    types: &'a TypeRegistry,
    /// The spec name of the service being lowered.
    service: &'a str,
    modules: BTreeMap<ModPath, Module>,
    /// Fields that hold their own type, directly or through other types, and so must be
    /// boxed: `(type, field)`.
    boxed: &'a BTreeSet<(TypeKey, String)>,
    scopes: BTreeMap<ModPath, Scope>,
    /// Where each named doc type went.
    type_refs: BTreeMap<TypeKey, TypeRef>,
    /// Request, body and response struct names of each endpoint, by its dotted id.
    endpoint_names: BTreeMap<String, EndpointNames>,
    /// The payload struct name of each event, by its spec file.
    event_names: BTreeMap<String, RustName>,
    /// Enums already made in a module, by (candidate name, values), so that one option
    /// list used by several fields becomes one enum.
    enums: BTreeMap<(ModPath, String, String), RustName>,
}

struct EndpointNames {
    request: RustName,
    body: Option<RustName>,
    response: Option<RustName>,
}

/// The module a field's struct is in, and the struct's name, for naming its enums.
struct Owner<'a> {
    module: &'a ModPath,
    name: &'a RustName,
    /// The doc type, for named doc types (the only structs other types can contain).
    doc_type: Option<&'a TypeKey>,
}

/// Where the named types of a field list's fields are found.
#[derive(Clone, Copy)]
enum Targets<'a> {
    /// Fields as an endpoint file writes them: by the place of their `type`.
    File(&'a str),
    /// A merged type's fields: by the field's wire name.
    Merged(&'a BTreeMap<String, TypeKey>),
}

impl<'a> Lowering<'a> {
    /// The service's named doc types.
    fn service_types(&self) -> impl Iterator<Item = &'a TypeEntry> + use<'a> {
        let service = self.service;
        self.types
            .types
            .values()
            .filter(move |entry| entry.key.service == service)
    }

    /// Creates the service's module tree and the handle type of each module.
    fn modules(&mut self, endpoints: &[&LoadedEndpoint], events: &[&LoadedEvent]) {
        for endpoint in endpoints {
            let id = &endpoint.id;
            let names = [&id.service, &id.version, &id.resource].map(String::as_str);
            self.resource_modules(names, &endpoint.rel, true);
        }
        // After the endpoints: a service, version or resource that only has events has
        // nothing to call, so no handle, unless an endpoint made one.
        for event in events {
            let id = &event.id;
            let names = [&id.service, &id.version, &id.resource].map(String::as_str);
            self.resource_modules(names, &event.rel, false);
        }
        let paths: Vec<ModPath> = self.modules.keys().cloned().collect();
        for path in paths {
            // The root's children are the services, put together once all are lowered.
            if let Some((last, parent)) = path.split_last().filter(|(_, parent)| !parent.is_empty())
            {
                let children = &mut self
                    .modules
                    .get_mut(parent)
                    .expect("parents come first")
                    .children;
                if !children.contains(last) {
                    children.push(last.clone());
                }
            }
        }
    }

    /// The service, version and resource modules of one spec file (`source`), each with
    /// its handle type when `handles`; modules made before keep theirs.
    fn resource_modules(
        &mut self,
        [service, version, resource]: [&str; 3],
        source: &str,
        handles: bool,
    ) {
        let apis = [
            format!("{service}_api"),
            format!("{service}_{version}_api"),
            format!("{resource}_api"),
        ];
        let kinds = [
            ModuleKind::Service,
            ModuleKind::Version,
            ModuleKind::Resource,
        ];
        let names = [service, version, resource];
        for depth in 0..3 {
            let path = self.module_path(&names[..=depth]);
            let api = handles.then(|| naming::pascal(&apis[depth])).flatten();
            self.module(path, kinds[depth], names[depth], api);
        }
        let resource = self.module_path(&names);
        let module = self.modules.get_mut(&resource).expect("just made");
        module.sources.push(source.to_owned());
    }

    fn module_path(&self, spec_names: &[&str]) -> ModPath {
        spec_names
            .iter()
            .enumerate()
            .map(|(depth, name)| {
                if depth == 0 {
                    naming::service_module(name)
                } else {
                    naming::snake(name, "module")
                }
            })
            .collect()
    }

    fn module(&mut self, path: ModPath, kind: ModuleKind, spec_name: &str, api: Option<RustName>) {
        if self.modules.contains_key(&path) {
            return;
        }
        let mut scope = Scope::with_reserved(naming::PRELUDE_TYPES);
        let accessor = api.map(|api| {
            let name = path.last().cloned().expect("only the root has no name");
            // Services are reached through methods on the client, beside its own.
            let method =
                if kind == ModuleKind::Service && naming::CLIENT_METHODS.contains(&name.bare()) {
                    naming::snake(&format!("{}_api", name.bare()), "service")
                } else {
                    name
                };
            Accessor {
                type_name: scope.claim(api),
                method,
            }
        });
        self.scopes.insert(path.clone(), scope);
        self.modules.insert(
            path.clone(),
            Module {
                path,
                kind,
                spec_name: spec_name.to_owned(),
                children: Vec::new(),
                accessor,
                structs: Vec::new(),
                enums: Vec::new(),
                operations: Vec::new(),
                sources: Vec::new(),
            },
        );
    }

    fn claim(&mut self, module: &ModPath, name: RustName) -> RustName {
        self.scopes
            .get_mut(module)
            .expect("every module has a scope")
            .claim(name)
    }

    /// Names the structs of every endpoint, then every named type, before any field is
    /// lowered, so a field can refer to a type in any module.
    fn name_types(&mut self, endpoints: &[&LoadedEndpoint], events: &[&LoadedEvent]) {
        for endpoint in endpoints {
            let id = &endpoint.id;
            let module = self.module_path(&[&id.service, &id.version, &id.resource]);
            let base = format!("{}_{}", id.method, id.resource);
            let request = self.claim(&module, pascal_or(&format!("{base}_request"), "Request"));
            let inline = |payload: &Option<Located<Payload>>| {
                payload
                    .as_ref()
                    .is_some_and(|p| p.fields.as_ref().is_some_and(|f| !f.is_empty()))
            };
            let body = inline(&endpoint.spec.request_body)
                .then(|| self.claim(&module, pascal_or(&format!("{base}_body"), "Body")));
            let response = inline(&endpoint.spec.response.payload)
                .then(|| self.claim(&module, pascal_or(&format!("{base}_response"), "Response")));
            self.endpoint_names.insert(
                id.dotted(),
                EndpointNames {
                    request,
                    body,
                    response,
                },
            );
        }
        for event in events {
            let id = &event.id;
            let module = self.module_path(&[&id.service, &id.version, &id.resource]);
            let name = self.claim(&module, pascal_or(&event_struct_base(event), "Event"));
            self.event_names.insert(event.rel.clone(), name);
        }
        for entry in self.service_types() {
            let key = &entry.key;
            let module = match &key.scope {
                TypeScope::Shared => self.module_path(&[&key.service, &key.version]),
                TypeScope::Resource(resource) => {
                    self.module_path(&[&key.service, &key.version, resource])
                }
            };
            let name = self.claim(
                &module,
                naming::doc_type_name(&key.name, key.variant.as_deref()),
            );
            let sources = &mut self
                .modules
                .get_mut(&module)
                .expect("module exists")
                .sources;
            sources.extend(entry.sources.iter().cloned());
            self.type_refs.insert(key.clone(), TypeRef { module, name });
        }
    }

    fn named_type(&mut self, entry: &TypeEntry) {
        let key = &entry.key;
        let type_ref = self.type_refs[key].clone();
        let owner = Owner {
            module: &type_ref.module,
            name: &type_ref.name,
            doc_type: Some(key),
        };
        let fields = self.fields(
            &owner,
            &entry.fields,
            Location::Json,
            Targets::Merged(&entry.targets),
        );
        let mut doc = Vec::new();
        if !entry.description.is_empty() {
            doc.push(sanitize(&entry.description));
        }
        doc.push(format!("The doc type `{}`.", key.name));
        self.push_struct(
            &type_ref.module,
            StructDef {
                name: type_ref.name.clone(),
                doc,
                holds_file: false,
                fields,
                validated: false,
                serde: SerdeNeeds::default(),
                event_type: None,
            },
        );
    }

    fn push_struct(&mut self, module: &ModPath, def: StructDef) {
        self.modules
            .get_mut(module)
            .expect("module exists")
            .structs
            .push(def);
    }

    fn fields(
        &mut self,
        owner: &Owner<'_>,
        fields: &[Field],
        location: Location,
        targets: Targets<'_>,
    ) -> Vec<FieldDef> {
        let mut scope = Scope::default();
        fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let name = scope.claim(naming::snake(&field.name, &format!("field_{i}")));
                self.field(owner, field, name, location, targets)
            })
            .collect()
    }

    fn field(
        &mut self,
        owner: &Owner<'_>,
        field: &Field,
        name: RustName,
        location: Location,
        targets: Targets<'_>,
    ) -> FieldDef {
        let expr = TypeExpr::parse(&field.ty).expect("validated");
        let mut ty = if field.options.is_empty() {
            let target = self.target(targets, field);
            rust_type(&expr, target.as_ref())
        } else {
            let enum_ref = self.enum_for(owner, field, &expr);
            wrap_leaf(&expr, RustType::Named(enum_ref))
        };
        if let Some(doc_type) = owner.doc_type
            && self
                .boxed
                .contains(&(doc_type.clone(), field.name.value.clone()))
        {
            ty = RustType::Box(Box::new(ty));
        }
        FieldDef {
            setter: naming::setter_name(&name),
            name,
            wire: field.name.value.clone(),
            ty,
            required: field.required || location == Location::Path,
            location,
            doc: field_doc(field, &expr),
            rules: field.rules.clone(),
            nested_rules: false,
            default_when_absent: false,
        }
    }

    /// The generated type a field's named type resolved to, if it names one.
    fn target(&self, targets: Targets<'_>, field: &Field) -> Option<TypeRef> {
        let key = match targets {
            Targets::File(rel) => self.types.resolve(rel, field.ty.pos),
            Targets::Merged(by_field) => by_field.get(&field.name.value),
        };
        key.map(|key| self.type_refs[key].clone())
    }

    /// The enum for a field's options, made in the field's module. Fields whose options
    /// and enum name agree share one enum; a name already used for something else is
    /// prefixed with the owning struct's name.
    fn enum_for(&mut self, owner: &Owner<'_>, field: &Field, expr: &TypeExpr) -> TypeRef {
        let candidate = field
            .enum_name
            .as_ref()
            .map_or(field.name.value.as_str(), |n| n.value.as_str())
            .to_owned();
        let values = feishu_spec::option_keys(&field.options);
        let key = (owner.module.clone(), candidate.clone(), values.join(","));
        if let Some(name) = self.enums.get(&key) {
            return TypeRef {
                module: owner.module.clone(),
                name: name.clone(),
            };
        }
        let plain = pascal_or(&candidate, "Value");
        let scope = &self.scopes[owner.module];
        let wanted = if scope.is_taken(plain.bare()) {
            pascal_or(
                &format!("{}_{}", owner.name.bare(), candidate.to_upper_camel_case()),
                "Value",
            )
        } else {
            plain
        };
        let name = self.claim(owner.module, wanted);
        self.enums.insert(key, name.clone());

        let mut variants_scope = Scope::with_reserved(&[UNKNOWN_VARIANT]);
        let variants = field
            .options
            .iter()
            .enumerate()
            .map(|(i, option)| Variant {
                name: variants_scope.claim(naming::variant_name(
                    option.name.as_deref().map(String::as_str),
                    &option.value,
                    i,
                )),
                value: option.value.value.clone(),
                doc: variant_doc(option),
            })
            .collect();
        let repr = match expr.leaf() {
            TypeExpr::Primitive(Primitive::String) => EnumRepr::String,
            _ => EnumRepr::Integer,
        };
        let mut doc = Vec::new();
        if !field.description.is_empty() {
            doc.push(sanitize(first_paragraph(&field.description)));
        }
        doc.push(format!(
            "The values of `{}` in [`{}`]. A value this version of the crate does not know \
             deserializes to `{UNKNOWN_VARIANT}`, and serializes back unchanged.",
            field.name.value,
            owner.name.bare()
        ));
        self.modules
            .get_mut(owner.module)
            .expect("module exists")
            .enums
            .push(EnumDef {
                name: name.clone(),
                doc,
                repr,
                variants,
            });
        TypeRef {
            module: owner.module.clone(),
            name,
        }
    }

    fn endpoint(&mut self, endpoint: &LoadedEndpoint) {
        let id = &endpoint.id;
        let spec = &endpoint.spec;
        let module = self.module_path(&[&id.service, &id.version, &id.resource]);
        let names = self.endpoint_names.remove(&id.dotted()).expect("named");

        let body = spec.request_body.as_ref().and_then(|payload| {
            self.payload(
                &module,
                &endpoint.rel,
                payload,
                names.body.as_ref(),
                &format!("The request body of [`{}`].", names.request.bare()),
            )
        });
        let response = spec
            .response
            .payload
            .as_ref()
            .and_then(|payload| {
                self.payload(
                    &module,
                    &endpoint.rel,
                    payload,
                    names.response.as_ref(),
                    &match spec.response.envelope {
                        Envelope::Data => {
                            format!("The `data` returned for [`{}`].", names.request.bare())
                        }
                        Envelope::Flat => format!(
                            "The response to [`{}`]: the fields beside `code` and `msg`.",
                            names.request.bare()
                        ),
                    },
                )
            })
            .unwrap_or(match spec.response.file {
                true => RustType::Download,
                false => RustType::Empty,
            });

        let owner = Owner {
            module: &module,
            name: &names.request,
            doc_type: None,
        };
        let mut scope = Scope::default();
        let mut fields = Vec::new();
        for (params, location) in [
            (&spec.path_params, Location::Path),
            (&spec.query_params, Location::Query),
            (&spec.header_params, Location::Header),
        ] {
            for (i, param) in params.iter().enumerate() {
                let name = scope.claim(naming::snake(&param.name, &format!("param_{i}")));
                fields.push(self.field(
                    &owner,
                    param,
                    name,
                    location,
                    Targets::File(&endpoint.rel),
                ));
            }
        }
        if let Some(body_ty) = &body {
            let name = scope.claim(naming::snake("body", "body"));
            fields.push(FieldDef {
                setter: naming::setter_name(&name),
                name,
                wire: "body".to_owned(),
                ty: body_ty.clone(),
                required: true,
                location: Location::Body,
                doc: vec!["The JSON request body.".to_owned()],
                rules: Rules::default(),
                nested_rules: false,
                default_when_absent: false,
            });
        }
        let files = self.file_parts(body.as_ref(), &fields);
        let segments = spec
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|segment| match segment.strip_prefix(':') {
                Some(param) => PathSegment::Param(
                    fields
                        .iter()
                        .find(|f| f.location == Location::Path && f.wire == param)
                        .expect("validated")
                        .name
                        .clone(),
                ),
                None => PathSegment::Literal(segment.to_owned()),
            })
            .collect();
        let fn_name = naming::snake(&id.method, "call");
        let api = self.modules[&module]
            .accessor
            .as_ref()
            .expect("resource handle")
            .type_name
            .clone();
        let request = StructDef {
            name: names.request,
            doc: vec![format!(
                "The parameters of [`{}::{}`]: {}.\n\nWith the `roundtrip` feature it is also a JSON \
                 object (serde, and schemars with `schemars`): the parameters by their wire \
                 names, and the body as `body`.",
                api.bare(),
                fn_name.bare(),
                sanitize(&spec.title)
            )],
            holds_file: !files.is_empty(),
            fields,
            validated: false,
            serde: SerdeNeeds::default(),
            event_type: None,
        };
        let operation = Operation {
            id: id.dotted(),
            fn_name,
            request,
            method: *spec.method,
            host: spec.host,
            path: spec.path.value.clone(),
            segments,
            body,
            response,
            envelope: spec.response.envelope,
            tokens: spec.tokens.value.clone(),
            helpdesk: spec.helpdesk,
            errors: spec.errors.clone(),
            doc_url: spec.doc_url.value.clone(),
            doc: operation_doc(spec),
            paging: None,
            paged_by: None,
            files,
            file_response: spec.response.file,
            rate_limit: spec
                .rate_limit
                .as_deref()
                .and_then(super::rate_limit::parse)
                .unwrap_or_default(),
            response_example: response_example(spec),
            // Once every type of the service is lowered (`body_schema::fill`).
            body_schema: None,
        };
        self.modules
            .get_mut(&module)
            .expect("module exists")
            .operations
            .push(operation);
    }

    /// An event's payload struct: the fields of the envelope's `event` object.
    fn event(&mut self, event: &LoadedEvent) {
        let id = &event.id;
        let module = self.module_path(&[&id.service, &id.version, &id.resource]);
        let name = self.event_names.remove(&event.rel).expect("named");
        let owner = Owner {
            module: &module,
            name: &name,
            doc_type: None,
        };
        let fields = self.fields(
            &owner,
            event.spec.payload.fields.as_deref().unwrap_or_default(),
            Location::Json,
            Targets::File(&event.rel),
        );
        self.push_struct(
            &module,
            StructDef {
                name,
                doc: event_doc(&event.spec),
                holds_file: false,
                fields,
                validated: false,
                serde: SerdeNeeds::default(),
                event_type: Some(event.spec.event_type.value.clone()),
            },
        );
    }

    /// An upload's file parts: the `binary` fields of its body struct.
    fn file_parts(&self, body: Option<&RustType>, request_fields: &[FieldDef]) -> Vec<FilePartDef> {
        let (Some(RustType::Named(body_ref)), Some(holder)) = (
            body,
            request_fields.iter().find(|f| f.location == Location::Body),
        ) else {
            return Vec::new();
        };
        let def = self.modules[&body_ref.module]
            .structs
            .iter()
            .find(|s| s.name == body_ref.name);
        def.into_iter()
            .flat_map(|def| &def.fields)
            .filter(|field| matches!(field.ty, RustType::File))
            .map(|field| FilePartDef {
                field: field.into(),
                body: holder.name.clone(),
                max_bytes: field.rules.max_bytes,
            })
            .collect()
    }

    /// The Rust type of a body or response payload, making its struct when it is inline.
    fn payload(
        &mut self,
        module: &ModPath,
        rel: &str,
        payload: &Payload,
        inline_name: Option<&RustName>,
        doc: &str,
    ) -> Option<RustType> {
        if let Some(ty) = &payload.ty {
            let named = self
                .types
                .resolve(rel, ty.pos)
                .map(|key| &self.type_refs[key]);
            return Some(rust_type(&TypeExpr::parse(ty).expect("validated"), named));
        }
        // A body or payload without fields is the empty object `{}`.
        let Some(name) = inline_name.cloned() else {
            return Some(RustType::Empty);
        };
        let owner = Owner {
            module,
            name: &name,
            doc_type: None,
        };
        let fields = self.fields(
            &owner,
            payload.fields.as_deref().unwrap_or_default(),
            Location::Json,
            Targets::File(rel),
        );
        self.push_struct(
            module,
            StructDef {
                name: name.clone(),
                doc: vec![doc.to_owned()],
                holds_file: fields.iter().any(|f| matches!(f.ty, RustType::File)),
                fields,
                validated: false,
                serde: SerdeNeeds::default(),
                event_type: None,
            },
        );
        Some(RustType::Named(TypeRef {
            module: module.clone(),
            name,
        }))
    }
}

/// The Rust type of a type expression; `named` is what its named type resolved to.
fn rust_type(expr: &TypeExpr, named: Option<&TypeRef>) -> RustType {
    match expr {
        TypeExpr::Primitive(p) => match p {
            Primitive::String => RustType::String,
            Primitive::Int | Primitive::Int64 => RustType::I64,
            Primitive::Int32 => RustType::I32,
            Primitive::Float => RustType::F64,
            Primitive::Bool => RustType::Bool,
            // Validation keeps files to upload bodies, whose endpoints are not lowered.
            Primitive::Any => RustType::Json,
            Primitive::File => RustType::File,
        },
        TypeExpr::Named(_) => RustType::Named(named.expect("validated: resolved").clone()),
        TypeExpr::Array(inner) => RustType::Vec(Box::new(rust_type(inner, named))),
        TypeExpr::Map(inner) => RustType::Map(Box::new(rust_type(inner, named))),
    }
}

fn pascal_or(text: &str, fallback: &str) -> RustName {
    naming::pascal(text)
        .unwrap_or_else(|| naming::pascal(fallback).expect("fallbacks are identifiers"))
}

fn wrap_leaf(expr: &TypeExpr, leaf: RustType) -> RustType {
    match expr {
        TypeExpr::Array(inner) => RustType::Vec(Box::new(wrap_leaf(inner, leaf))),
        TypeExpr::Map(inner) => RustType::Map(Box::new(wrap_leaf(inner, leaf))),
        _ => leaf,
    }
}

/// The variant's wire value (as the page's tables and the server write it), then what it
/// means: `` `"open_id"`: 以 open_id 来识别用户 ``, or `` `1` `` alone.
fn variant_doc(option: &feishu_spec::model::EnumOption) -> String {
    let value = code(&option.value.value);
    let meaning = sanitize(&option.meaning);
    let mut doc = if meaning.is_empty() {
        value
    } else if starts_with_block(&meaning) {
        // A list or a fence cannot follow the value on its line.
        format!("{value}:\n\n{meaning}")
    } else {
        format!("{value}: {meaning}")
    };
    if !option.scopes.is_empty() {
        doc.push_str(&format!(
            "\n\nNeeds the scope {}.",
            scopes_text(&option.scopes, " or ")
        ));
    }
    doc
}

/// Whether markdown starts with a block that cannot follow text on its first line: a
/// fence, a heading, a table or a list.
fn starts_with_block(markdown: &str) -> bool {
    let first = markdown.lines().next().unwrap_or_default();
    first.starts_with("```")
        || first.starts_with(['#', '|'])
        || crate::rustdoc::starts_list_item(first)
}

fn first_paragraph(text: &str) -> &str {
    text.split("\n\n").next().unwrap_or(text)
}

fn field_doc(field: &Field, expr: &TypeExpr) -> Vec<String> {
    let mut doc = Vec::new();
    if !field.description.is_empty() {
        doc.push(sanitize(&field.description));
    }
    if field.inferred {
        doc.push("*Inferred:* the page documents no type for this field; it was read from the page's example.".to_owned());
    }
    let mut facts = Vec::new();
    // A file's example is the page's placeholder (`二进制文件`), not a value.
    let is_file = matches!(expr, TypeExpr::Primitive(Primitive::File));
    if let Some(example) = field.example.as_ref().filter(|_| !is_file) {
        facts.push(format!("Example: {}", code(example)));
    }
    if let Some(default) = &field.default {
        facts.push(format!("Default: {}", code(default)));
    }
    facts.extend(rules_doc(&field.rules, matches!(expr, TypeExpr::Array(_))));
    if !field.options.is_empty() && matches!(expr, TypeExpr::Array(_)) {
        facts.push("Each item is one of the enum's values.".to_owned());
    }
    if !field.field_scopes.is_empty() {
        facts.push(format!(
            "Returned only with the scope {}.",
            scopes_text(&field.field_scopes, " or ")
        ));
    }
    if !facts.is_empty() {
        doc.push(facts.join("\\\n"));
    }
    doc
}

fn rules_doc(rules: &Rules, is_array: bool) -> Vec<String> {
    let unit = if is_array { "items" } else { "characters" };
    let mut out = Vec::new();
    match (rules.min_length, rules.max_length) {
        (Some(min), Some(max)) => out.push(format!("Length: {min} to {max} {unit}.")),
        (Some(min), None) => out.push(format!("Length: at least {min} {unit}.")),
        (None, Some(max)) => out.push(format!("Length: at most {max} {unit}.")),
        (None, None) => {}
    }
    match (rules.min_value, rules.max_value) {
        (Some(min), Some(max)) => out.push(format!("Range: {min} to {max}.")),
        (Some(min), None) => out.push(format!("Range: at least {min}.")),
        (None, Some(max)) => out.push(format!("Range: at most {max}.")),
        (None, None) => {}
    }
    if let Some(max) = rules.max_bytes {
        out.push(format!(
            "Size: at most {max} bytes, checked before the file is sent."
        ));
    }
    if let Some(pattern) = &rules.pattern {
        out.push(format!(
            "Pattern: {}",
            code(&serde_json::Value::String(pattern.clone()))
        ));
    }
    out
}

fn scopes_text(scopes: &[ApiScope], joiner: &str) -> String {
    scopes
        .iter()
        .map(|s| {
            if s.name.is_empty() {
                format!("`{}`", s.id)
            } else {
                format!("`{}` ({})", s.id, sanitize(&s.name))
            }
        })
        .collect::<Vec<_>>()
        .join(joiner)
}

/// `im.message.receive_v1` in `im/v1/message/receive.event.yaml` → `message_receive_event`:
/// the resource and the file's name, as an endpoint's structs are named, so the name is
/// stable and unique in its module.
fn event_struct_base(event: &LoadedEvent) -> String {
    format!("{}_{}_event", event.id.resource, event.id.name)
}

/// What a page says before its facts: its title, description and notes, as paragraphs.
fn page_lead(title: &str, description: &str, notes: &[String]) -> Vec<String> {
    let mut doc = vec![sanitize(title)];
    if !description.is_empty() {
        doc.push(sanitize(description));
    }
    doc.extend(notes.iter().map(|note| sanitize(note)));
    doc
}

/// The payload of the page's response example, as compact JSON: its `data` (an empty
/// object when the example has none), or for a flat answer the body without `code`, `msg`
/// and `error`. `None` for a download, or where the example is missing or not an object.
fn response_example(spec: &EndpointSpec) -> Option<String> {
    if spec.response.file {
        return None;
    }
    let example = spec.examples.response.as_ref()?;
    let serde_json::Value::Object(mut body) = serde_json::from_str(&example.value).ok()? else {
        return None;
    };
    let payload = match spec.response.envelope {
        Envelope::Data => body
            .remove("data")
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::Value::Object(Default::default())),
        Envelope::Flat => {
            for envelope_field in ["code", "msg", "error"] {
                body.remove(envelope_field);
            }
            serde_json::Value::Object(body)
        }
    };
    Some(payload.to_string())
}

fn documentation_fact(doc_url: &str, updated: Option<&str>) -> String {
    let updated = updated
        .map(|d| format!(" (updated {d})"))
        .unwrap_or_default();
    format!("- Documentation: <{doc_url}>{updated}")
}

fn event_doc(spec: &EventSpec) -> Vec<String> {
    let mut doc = page_lead(&spec.title, &spec.description, &spec.notes);
    let mut facts = vec![format!(
        "- Event type: `{}` (the payload of its envelope's `event`)",
        spec.event_type.value
    )];
    facts.push(documentation_fact(&spec.doc_url, spec.updated.as_deref()));
    if let Some(kinds) = app_types_text(&spec.app_types) {
        facts.push(format!("- Available to {kinds}"));
    }
    if !spec.delivery.is_empty() {
        facts.push(format!(
            "- Delivered by: {}",
            sanitize(&spec.delivery.join(", "))
        ));
    }
    if !spec.scopes.is_empty() {
        facts.push(format!(
            "- Scopes (any one lets the app subscribe): {}",
            scopes_text(&spec.scopes, ", ")
        ));
    }
    if !spec.field_scopes.is_empty() {
        facts.push(format!(
            "- Sensitive fields need: {}",
            scopes_text(&spec.field_scopes, ", ")
        ));
    }
    doc.push(facts.join("\n"));
    doc
}

/// `custom apps (自建应用) and store apps (商店应用)`, or None when the page names none.
fn app_types_text(app_types: &[AppType]) -> Option<String> {
    let kinds: Vec<&str> = app_types
        .iter()
        .map(|t| match t {
            AppType::Custom => "custom apps (自建应用)",
            AppType::Store => "store apps (商店应用)",
        })
        .collect();
    (!kinds.is_empty()).then(|| kinds.join(" and "))
}

fn operation_doc(spec: &EndpointSpec) -> Vec<String> {
    let mut doc = page_lead(&spec.title, &spec.description, &spec.notes);
    let mut facts = vec![format!("- `{} {}`", spec.method.as_str(), spec.path.value)];
    facts.push(documentation_fact(&spec.doc_url, spec.updated.as_deref()));
    if let Some(limit) = &spec.rate_limit {
        facts.push(format!("- Rate limit: {}", sanitize(limit)));
    }
    if let Some(kinds) = app_types_text(&spec.app_types) {
        facts.push(format!("- Available to {kinds}"));
    }
    let tokens: Vec<&str> = spec
        .tokens
        .iter()
        .map(|t| match t {
            TokenKind::Tenant => "`tenant_access_token`",
            TokenKind::User => "`user_access_token`",
            TokenKind::App => "`app_access_token`",
        })
        .collect();
    facts.push(if tokens.is_empty() {
        "- Sends no access token".to_owned()
    } else {
        format!("- Access token: {}", tokens.join(" or "))
    });
    if spec.helpdesk {
        facts
            .push("- Sends the helpdesk credentials in `X-Lark-Helpdesk-Authorization`".to_owned());
    }
    if !spec.scopes.is_empty() {
        facts.push(format!(
            "- Scopes (any one): {}",
            scopes_text(&spec.scopes, ", ")
        ));
    }
    if !spec.field_scopes.is_empty() {
        facts.push(format!(
            "- Sensitive fields need: {}",
            scopes_text(&spec.field_scopes, ", ")
        ));
    }
    doc.push(facts.join("\n"));
    if !spec.errors.is_empty() {
        let mut table = vec![
            "# Errors".to_owned(),
            String::new(),
            "| HTTP | Code | Message | Hint |".to_owned(),
            "|---|---|---|---|".to_owned(),
        ];
        for error in &spec.errors {
            table.push(format!(
                "| {} | {} | {} | {} |",
                error.http_status.map(|s| s.to_string()).unwrap_or_default(),
                error.code,
                table_cell(&error.message),
                table_cell(&error.hint)
            ));
        }
        doc.push(table.join("\n"));
    }
    doc
}

/// The fields that would make a type contain itself: a field whose type is a named type
/// (not in an array or map, which are already on the heap) from which the field's own
/// type can be reached the same way.
fn recursive_fields(types: &TypeRegistry) -> BTreeSet<(TypeKey, String)> {
    let direct = |entry: &TypeEntry| -> Vec<(String, TypeKey)> {
        entry
            .fields
            .iter()
            .filter(|f| matches!(TypeExpr::parse(&f.ty), Ok(TypeExpr::Named(_))))
            .filter_map(|f| {
                let target = entry.targets.get(&f.name.value)?;
                Some((f.name.value.clone(), target.clone()))
            })
            .collect()
    };
    let edges: BTreeMap<&TypeKey, Vec<(String, TypeKey)>> = types
        .types
        .iter()
        .map(|(key, entry)| (key, direct(entry)))
        .collect();
    let reaches = |from: &TypeKey, to: &TypeKey| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(at) = stack.pop() {
            if &at == to {
                return true;
            }
            if seen.insert(at.clone()) {
                stack.extend(
                    edges
                        .get(&at)
                        .into_iter()
                        .flatten()
                        .map(|(_, next)| next.clone()),
                );
            }
        }
        false
    };
    let mut boxed = BTreeSet::new();
    for (owner, fields) in &edges {
        for (field, target) in fields {
            if reaches(target, owner) {
                boxed.insert(((*owner).clone(), field.clone()));
            }
        }
    }
    boxed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn option(value: serde_json::Value, meaning: &str) -> feishu_spec::model::EnumOption {
        serde_json::from_value(json!({ "value": value, "meaning": meaning })).unwrap()
    }

    #[test]
    fn a_variant_doc_starts_with_its_wire_value() {
        let doc = |value, meaning| variant_doc(&option(value, meaning));
        assert_eq!(
            doc(json!("open_id"), "以 open_id 识别"),
            "`\"open_id\"`: 以 open_id 识别"
        );
        assert_eq!(doc(json!(1), ""), "`1`");
        assert_eq!(doc(json!(2), "- 甲\n- 乙"), "`2`:\n\n- 甲\n- 乙");
    }
}
