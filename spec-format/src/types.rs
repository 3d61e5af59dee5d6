//! Named object types: every definition a page writes inline (or in a `types` list, or in
//! `_types.yaml`) is gathered here, the definitions of one doc name in one scope are merged
//! into as few shapes as agree, and every use of a name is resolved to one of them.
//!
//! Scopes keep the generated API stable as pages come and go: a type defined in a
//! resource's pages belongs to that resource alone (its module), and only `_types.yaml`
//! types belong to the version. Adding a page therefore changes nothing outside its own
//! resource.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use super::Pos;
use super::model::{EnumOption, Field};
use super::type_expr::TypeExpr;
use crate::diagnostic::Diagnostics;

/// Where a named type belongs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TypeScope {
    /// The service version's `_types.yaml`: the version's module.
    Shared,
    /// Defined in the pages of one resource: that resource's module.
    Resource(String),
}

/// One generated named type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TypeKey {
    pub service: String,
    pub version: String,
    pub scope: TypeScope,
    /// The doc's own name (`i18n`).
    pub name: String,
    /// When one resource's pages give the name shapes that cannot merge: the method of
    /// the endpoint whose page first defines this shape (`create`).
    pub variant: Option<String>,
}

/// A named type with its definitions merged.
#[derive(Clone, Debug)]
pub struct TypeEntry {
    pub key: TypeKey,
    pub description: String,
    /// The union of the definitions' fields, in first-seen order (files by path, then page
    /// order); `fields` of nested definitions are dropped, they are types of their own.
    pub fields: Vec<Field>,
    /// The named type each field of a named type holds, by the field's wire name.
    pub targets: BTreeMap<String, TypeKey>,
    /// Where the first definition was written.
    pub file: PathBuf,
    pub pos: Pos,
    /// Every spec file (relative to the spec dir) that defines the type.
    pub sources: BTreeSet<String>,
}

/// Every named type, and what each use of a name in the spec resolved to.
#[derive(Clone, Debug, Default)]
pub struct TypeRegistry {
    pub types: BTreeMap<TypeKey, TypeEntry>,
    /// `(file relative to the spec dir, position of the type expression)` → type.
    uses: HashMap<(String, Pos), TypeKey>,
}

impl TypeRegistry {
    /// The type a named-type expression written at `pos` in `rel` stands for.
    pub fn resolve(&self, rel: &str, pos: Pos) -> Option<&TypeKey> {
        self.uses.get(&(rel.to_owned(), pos))
    }
}

/// Which side of the wire a definition was written for: required flags mean something
/// only on the request side (a response table has no 必填 column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
    /// A `types` list or `_types.yaml`: written on purpose, so its flags count.
    Declared,
}

/// One definition of a named type, as written.
#[derive(Clone, Debug)]
pub struct Definition {
    pub service: String,
    pub version: String,
    pub scope: TypeScope,
    pub name: String,
    /// The endpoint method of the file (or the event's name), none for `_types.yaml`.
    pub method: Option<String>,
    pub side: Side,
    pub file: PathBuf,
    pub rel: String,
    pub pos: Pos,
    pub at: String,
    pub description: String,
    pub fields: Vec<Field>,
    /// The uses (indexes into the use list) of the fields that hold a named type.
    pub field_uses: Vec<(String, usize)>,
}

/// One place a named type is used.
#[derive(Clone, Debug)]
pub struct Use {
    pub service: String,
    pub version: String,
    /// The resource of the file; none for `_types.yaml`.
    pub resource: Option<String>,
    pub file: PathBuf,
    pub rel: String,
    pub pos: Pos,
    pub at: String,
    pub name: String,
    /// The definition written right there, when the use has `fields`.
    pub inline: Option<usize>,
}

/// `(service, version, scope, doc name)`: the definitions that may merge.
type Bucket = (String, String, TypeScope, String);

/// The definitions split into groups that merge into one type each.
struct Grouping {
    groups: Vec<Vec<usize>>,
    group_of: Vec<usize>,
    buckets: BTreeMap<Bucket, Vec<usize>>,
    /// The definitions of each `(file, name)`, for resolving uses quickly.
    in_file: HashMap<(String, String), Vec<usize>>,
    /// The resources defining each `(service, version, name)`.
    resources: HashMap<(String, String, String), BTreeSet<String>>,
}

/// Why a use names no single type.
enum Unresolved {
    Unknown,
    Ambiguous(Vec<usize>),
}

/// Merges the definitions, resolves the uses and names the types.
pub fn build(
    defs: &[Definition],
    uses: &[Use],
    complete: bool,
    diagnostics: &mut Diagnostics,
) -> TypeRegistry {
    let grouping = group(defs, uses);
    let keys = name_groups(defs, &grouping, diagnostics);
    let resolved: Vec<Result<usize, Unresolved>> =
        uses.iter().map(|u| resolve(u, &grouping)).collect();
    let mut registry = TypeRegistry::default();
    for (use_, result) in uses.iter().zip(&resolved) {
        match result {
            Ok(group) => {
                registry
                    .uses
                    .insert((use_.rel.clone(), use_.pos), keys[*group].clone());
            }
            Err(unresolved) => report(use_, unresolved, defs, &grouping, complete, diagnostics),
        }
    }
    for (g, members) in grouping.groups.iter().enumerate() {
        let entry = merge(defs, members, keys[g].clone(), &resolved, &keys);
        registry.types.insert(entry.key.clone(), entry);
    }
    registry
}

/// Groups each bucket's definitions by the fields they agree on, then splits groups
/// whose members' fields hold differing types, until no group splits: a merged type can
/// only point one field at one type.
fn group(defs: &[Definition], uses: &[Use]) -> Grouping {
    let mut buckets: BTreeMap<Bucket, Vec<usize>> = BTreeMap::new();
    for (i, def) in defs.iter().enumerate() {
        let bucket = (
            def.service.clone(),
            def.version.clone(),
            def.scope.clone(),
            def.name.clone(),
        );
        buckets.entry(bucket).or_default().push(i);
    }
    let mut grouping = Grouping {
        groups: Vec::new(),
        group_of: vec![0; defs.len()],
        buckets: BTreeMap::new(),
        in_file: HashMap::new(),
        resources: HashMap::new(),
    };
    for (i, def) in defs.iter().enumerate() {
        let file = (def.rel.clone(), def.name.clone());
        grouping.in_file.entry(file).or_default().push(i);
        if let TypeScope::Resource(resource) = &def.scope {
            let name = (def.service.clone(), def.version.clone(), def.name.clone());
            let resources = grouping.resources.entry(name).or_default();
            resources.insert(resource.clone());
        }
    }
    for (bucket, members) in &buckets {
        let classes = partition(members, |a, b| {
            fields_agree(&defs[a].fields, &defs[b].fields)
        });
        for class in classes {
            grouping.add(bucket.clone(), class);
        }
    }
    loop {
        let targets: Vec<Option<usize>> = uses.iter().map(|u| resolve(u, &grouping).ok()).collect();
        let mut split = false;
        for g in 0..grouping.groups.len() {
            let members = grouping.groups[g].clone();
            let classes = partition(&members, |a, b| targets_agree(&defs[a], &defs[b], &targets));
            if classes.len() > 1 {
                split = true;
                grouping.replace(g, classes);
            }
        }
        if !split {
            return grouping;
        }
    }
}

impl Grouping {
    fn add(&mut self, bucket: Bucket, members: Vec<usize>) {
        let g = self.groups.len();
        for &m in &members {
            self.group_of[m] = g;
        }
        self.groups.push(members);
        self.buckets.entry(bucket).or_default().push(g);
    }

    /// Replaces group `g` by `classes`: the first keeps its number, so the others' uses
    /// keep theirs.
    fn replace(&mut self, g: usize, mut classes: Vec<Vec<usize>>) {
        let rest = classes.split_off(1);
        let first = classes.pop().expect("one class at least");
        let bucket = self
            .buckets
            .iter()
            .find(|(_, groups)| groups.contains(&g))
            .map(|(b, _)| b.clone())
            .expect("every group is in a bucket");
        self.groups[g] = first;
        for class in rest {
            self.add(bucket.clone(), class);
        }
    }
}

/// Splits `members` (in order) into classes whose members all agree pairwise, each member
/// joining the first class it agrees with.
fn partition(members: &[usize], agree: impl Fn(usize, usize) -> bool) -> Vec<Vec<usize>> {
    let mut classes: Vec<Vec<usize>> = Vec::new();
    for &m in members {
        match classes
            .iter_mut()
            .find(|class| class.iter().all(|&other| agree(other, m)))
        {
            Some(class) => class.push(m),
            None => classes.push(vec![m]),
        }
    }
    classes
}

/// Whether two definitions' fields can merge: every field both have has the same type,
/// and no name the generated code takes from them (enum name, variant names) differs.
/// Required flags, missing fields and option values never stop a merge.
pub fn fields_agree(a: &[Field], b: &[Field]) -> bool {
    a.iter().all(|fa| {
        b.iter()
            .find(|fb| fb.name.value == fa.name.value)
            .is_none_or(|fb| field_agrees(fa, fb))
    })
}

fn field_agrees(a: &Field, b: &Field) -> bool {
    let ty = |f: &Field| TypeExpr::parse(&f.ty).ok();
    let enum_names = match (&a.enum_name, &b.enum_name) {
        (Some(x), Some(y)) => x.value == y.value,
        _ => true,
    };
    let variant_names = a.options.iter().all(|oa| {
        b.options
            .iter()
            .find(|ob| ob.value.value == oa.value.value)
            .is_none_or(|ob| match (&oa.name, &ob.name) {
                (Some(x), Some(y)) => x.value == y.value,
                _ => true,
            })
    });
    ty(a) == ty(b) && enum_names && variant_names
}

/// Whether two definitions point each field they share at the same type.
fn targets_agree(a: &Definition, b: &Definition, targets: &[Option<usize>]) -> bool {
    a.field_uses.iter().all(|(field, ua)| {
        b.field_uses
            .iter()
            .find(|(other, _)| other == field)
            .is_none_or(|(_, ub)| targets[*ua] == targets[*ub])
    })
}

/// The group a use names: its own inline definition; else the same file's definition,
/// the same resource's, the version's `_types.yaml`, and last another resource's, when
/// only one resource has it.
fn resolve(use_: &Use, grouping: &Grouping) -> Result<usize, Unresolved> {
    if let Some(def) = use_.inline {
        return Ok(grouping.group_of[def]);
    }
    let bucket = |scope: TypeScope| {
        (
            use_.service.clone(),
            use_.version.clone(),
            scope,
            use_.name.clone(),
        )
    };
    let same_file: BTreeSet<usize> = grouping
        .in_file
        .get(&(use_.rel.clone(), use_.name.clone()))
        .into_iter()
        .flatten()
        .map(|&d| grouping.group_of[d])
        .collect();
    let mut steps: Vec<Vec<usize>> = vec![same_file.into_iter().collect()];
    if let Some(resource) = &use_.resource {
        steps.push(grouping.groups_in(&bucket(TypeScope::Resource(resource.clone()))));
    }
    steps.push(grouping.groups_in(&bucket(TypeScope::Shared)));
    if let Some(own) = &use_.resource {
        let name = (
            use_.service.clone(),
            use_.version.clone(),
            use_.name.clone(),
        );
        let others = grouping
            .resources
            .get(&name)
            .into_iter()
            .flatten()
            .filter(|r| *r != own)
            .flat_map(|r| grouping.groups_in(&bucket(TypeScope::Resource(r.clone()))))
            .collect();
        steps.push(others);
    }
    match steps.into_iter().find(|groups| !groups.is_empty()) {
        Some(groups) if groups.len() == 1 => Ok(groups[0]),
        Some(groups) => Err(Unresolved::Ambiguous(groups)),
        None => Err(Unresolved::Unknown),
    }
}

impl Grouping {
    fn groups_in(&self, bucket: &Bucket) -> Vec<usize> {
        self.buckets.get(bucket).cloned().unwrap_or_default()
    }
}

fn report(
    use_: &Use,
    unresolved: &Unresolved,
    defs: &[Definition],
    grouping: &Grouping,
    complete: bool,
    diagnostics: &mut Diagnostics,
) {
    let message = match unresolved {
        Unresolved::Unknown if !complete => return,
        Unresolved::Unknown => format!(
            "unknown type `{}`: define it with `fields` where it is first used, in this file's \
             `types`, or in {}/{}/_types.yaml",
            use_.name, use_.service, use_.version
        ),
        Unresolved::Ambiguous(groups) => {
            let places: Vec<String> = groups
                .iter()
                .map(|&g| {
                    let first = &defs[grouping.groups[g][0]];
                    format!("{}:{}", first.file.display(), first.pos)
                })
                .collect();
            format!(
                "type `{}` has {} different shapes here to choose from (defined at {}); give \
                 this use its `fields`, or the shapes distinct names",
                use_.name,
                groups.len(),
                places.join(", ")
            )
        }
    };
    diagnostics.push(&use_.file, Some(use_.pos), use_.at.clone(), message);
}

/// The key of each group. A bucket with one group keeps the doc name; a resource's
/// shapes that cannot merge are told apart by the endpoint that first defines each.
fn name_groups(
    defs: &[Definition],
    grouping: &Grouping,
    diagnostics: &mut Diagnostics,
) -> Vec<TypeKey> {
    let mut keys = vec![None; grouping.groups.len()];
    for ((service, version, scope, name), groups) in &grouping.buckets {
        let mut taken: BTreeMap<Option<String>, usize> = BTreeMap::new();
        for &g in groups {
            let first = &defs[grouping.groups[g][0]];
            let variant = (groups.len() > 1).then(|| first.method.clone().unwrap_or_default());
            if let Some(&other) = taken.get(&variant) {
                let other = &defs[grouping.groups[other][0]];
                let place = if *scope == TypeScope::Shared {
                    "in _types.yaml a name has one shape"
                } else {
                    "one page gives it two shapes"
                };
                diagnostics.push(
                    &first.file,
                    Some(first.pos),
                    first.at.clone(),
                    format!(
                        "type `{name}` is already defined with other fields at {}:{}, and {place} \
                         (give one of them another name)",
                        other.file.display(),
                        other.pos
                    ),
                );
            }
            taken.insert(variant.clone(), g);
            keys[g] = Some(TypeKey {
                service: service.clone(),
                version: version.clone(),
                scope: scope.clone(),
                name: name.clone(),
                variant,
            });
        }
    }
    keys.into_iter()
        .map(|k| k.expect("every group is in a bucket"))
        .collect()
}

/// One type from a group's definitions: the union of their fields and options. A field
/// is required only where every request-side definition requires it (or, for a type no
/// request defines, every definition).
fn merge(
    defs: &[Definition],
    members: &[usize],
    key: TypeKey,
    resolved: &[Result<usize, Unresolved>],
    keys: &[TypeKey],
) -> TypeEntry {
    let members: Vec<&Definition> = members.iter().map(|&m| &defs[m]).collect();
    let mut fields: Vec<Field> = Vec::new();
    let mut targets = BTreeMap::new();
    for def in &members {
        for field in &def.fields {
            match fields.iter_mut().find(|f| f.name.value == field.name.value) {
                Some(merged) => merge_field(merged, field),
                None => fields.push(Field {
                    fields: None,
                    ..field.clone()
                }),
            }
        }
        for (field, use_) in &def.field_uses {
            if let Ok(group) = resolved[*use_] {
                targets
                    .entry(field.clone())
                    .or_insert_with(|| keys[group].clone());
            }
        }
    }
    let request_side: Vec<&&Definition> = members
        .iter()
        .filter(|d| d.side != Side::Response)
        .collect();
    let deciding = if request_side.is_empty() {
        members.iter().collect()
    } else {
        request_side
    };
    for field in &mut fields {
        field.required = deciding.iter().all(|d| {
            d.fields
                .iter()
                .any(|f| f.name.value == field.name.value && f.required)
        });
    }
    let first = members[0];
    TypeEntry {
        key,
        description: members
            .iter()
            .map(|d| d.description.as_str())
            .find(|d| !d.is_empty())
            .unwrap_or_default()
            .to_owned(),
        fields,
        targets,
        file: first.file.clone(),
        pos: first.pos,
        sources: members.iter().map(|d| d.rel.clone()).collect(),
    }
}

/// Adds what a later definition says of a field that an earlier one left out: options
/// and their names, the enum name, and the docs.
fn merge_field(merged: &mut Field, other: &Field) {
    for option in &other.options {
        match merged
            .options
            .iter_mut()
            .find(|o| o.value.value == option.value.value)
        {
            Some(known) => fill_option(known, option),
            None => merged.options.push(option.clone()),
        }
    }
    if merged.enum_name.is_none() {
        merged.enum_name.clone_from(&other.enum_name);
    }
    if merged.description.is_empty() {
        merged.description.clone_from(&other.description);
    }
    if merged.rules.is_empty() {
        merged.rules = other.rules.clone();
    }
    if merged.example.is_none() {
        merged.example.clone_from(&other.example);
    }
    if merged.default.is_none() {
        merged.default.clone_from(&other.default);
    }
    if merged.field_scopes.is_empty() {
        merged.field_scopes.clone_from(&other.field_scopes);
    }
    // A documented type beats one read from an example.
    merged.inferred &= other.inferred;
}

fn fill_option(known: &mut EnumOption, other: &EnumOption) {
    if known.name.is_none() {
        known.name.clone_from(&other.name);
    }
    if known.meaning.is_empty() {
        known.meaning.clone_from(&other.meaning);
    }
    if known.scopes.is_empty() {
        known.scopes.clone_from(&other.scopes);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::{EndpointId, LoadedEndpoint, Spec, parse_str, validate};

    /// A spec of endpoint files given as `(resource/method, request fields, response
    /// fields)` under `svc/v1`, each a YAML flow list.
    fn spec(files: &[(&str, &str, &str)]) -> Spec {
        let endpoints = files
            .iter()
            .enumerate()
            .map(|(i, (at, request, response))| {
                let (resource, method) = at.split_once('/').expect("resource/method");
                let mut text = format!(
                    "title: T\ndoc_url: https://open.feishu.cn/t\nmethod: POST\n\
                     path: /open-apis/svc/v1/e{i}\ntokens: [tenant]\n"
                );
                if !request.is_empty() {
                    text.push_str(&format!("request_body:\n  fields: {request}\n"));
                }
                if !response.is_empty() {
                    text.push_str(&format!("response:\n  payload:\n    fields: {response}\n"));
                }
                let rel = format!("svc/v1/{at}.yaml");
                LoadedEndpoint {
                    id: EndpointId {
                        service: "svc".into(),
                        version: "v1".into(),
                        resource: resource.into(),
                        method: method.into(),
                    },
                    file: PathBuf::from(&rel),
                    rel,
                    spec: parse_str(&text).unwrap_or_else(|e| panic!("{text}\n{e:?}")),
                }
            })
            .collect();
        Spec {
            endpoints,
            ..Spec::default()
        }
    }

    fn types(files: &[(&str, &str, &str)]) -> TypeRegistry {
        validate(&spec(files)).unwrap_or_else(|d| panic!("{d}"))
    }

    fn entry<'a>(registry: &'a TypeRegistry, name: &str, variant: Option<&str>) -> &'a TypeEntry {
        registry
            .types
            .values()
            .find(|e| e.key.name == name && e.key.variant.as_deref() == variant)
            .unwrap_or_else(|| panic!("no `{name}` {variant:?} in {:#?}", registry.types.keys()))
    }

    /// `name:required` for each field, in order.
    fn shape(entry: &TypeEntry) -> Vec<String> {
        entry
            .fields
            .iter()
            .map(|f| format!("{}:{}", *f.name, f.required))
            .collect()
    }

    #[test]
    fn required_only_where_every_request_requires_it() {
        let registry = types(&[
            (
                "thing/create",
                "[{ name: a, type: item, fields: [{ name: id, type: string, required: true }, \
                 { name: n, type: int, required: true }, { name: x, type: string }] }]",
                "",
            ),
            // The response table has no 必填 column, and lists a field of its own.
            (
                "thing/get",
                "",
                "[{ name: a, type: item, fields: [{ name: id, type: string }, { name: extra, type: bool }] }]",
            ),
            // A second request that leaves `n` optional.
            (
                "thing/update",
                "[{ name: a, type: item, fields: [{ name: id, type: string, required: true }, \
                 { name: n, type: int }] }]",
                "",
            ),
        ]);
        assert_eq!(registry.types.len(), 1);
        // First-seen order: create.yaml, then get.yaml's new field.
        assert_eq!(
            shape(entry(&registry, "item", None)),
            ["id:true", "n:false", "x:false", "extra:false"]
        );
    }

    #[test]
    fn a_type_only_responses_define_is_required_where_all_of_them_say_so() {
        let registry = types(&[
            (
                "thing/get",
                "",
                "[{ name: a, type: item, fields: [{ name: id, type: string, required: true }] }]",
            ),
            (
                "thing/list",
                "",
                "[{ name: a, type: item, fields: [{ name: id, type: string, required: true }, \
                 { name: more, type: string, required: true }] }]",
            ),
        ]);
        assert_eq!(
            shape(entry(&registry, "item", None)),
            ["id:true", "more:false"]
        );
    }

    #[test]
    fn option_lists_merge_into_their_union() {
        let registry = types(&[
            (
                "thing/a",
                "[{ name: a, type: item, fields: [{ name: s, type: string, \
                 options: [{ value: p, meaning: P }, { value: q, meaning: '' }] }] }]",
                "",
            ),
            (
                "thing/b",
                "[{ name: a, type: item, fields: [{ name: s, type: string, enum_name: item_state, \
                 options: [{ value: r, meaning: R }, { value: q, meaning: Q, name: queue }] }] }]",
                "",
            ),
        ]);
        let field = &entry(&registry, "item", None).fields[0];
        let values: Vec<String> = field
            .options
            .iter()
            .map(|o| format!("{}={}/{:?}", *o.value, o.meaning, o.name.as_deref()))
            .collect();
        assert_eq!(
            values,
            ["\"p\"=P/None", "\"q\"=Q/Some(\"queue\")", "\"r\"=R/None"]
        );
        assert_eq!(
            field.enum_name.as_deref().map(String::as_str),
            Some("item_state")
        );
    }

    #[test]
    fn shapes_that_really_differ_are_named_after_their_endpoint() {
        let files = [
            (
                "thing/create",
                "[{ name: a, type: item, fields: [{ name: id, type: string }] }]",
                "",
            ),
            (
                "thing/get",
                "",
                "[{ name: a, type: item, fields: [{ name: id, type: item_id, fields: [{ name: v, type: int }] }] }]",
            ),
            // Another resource's `item` is its own, whatever its shape.
            (
                "other/get",
                "[{ name: a, type: item, fields: [{ name: id, type: int }] }]",
                "",
            ),
        ];
        let registry = types(&files);
        let names: Vec<String> = registry
            .types
            .keys()
            .map(|k| {
                let scope = match &k.scope {
                    TypeScope::Resource(r) => r.as_str(),
                    TypeScope::Shared => "_types",
                };
                match &k.variant {
                    Some(variant) => format!("{scope}::{}@{variant}", k.name),
                    None => format!("{scope}::{}", k.name),
                }
            })
            .collect();
        assert_eq!(
            names,
            [
                "other::item",
                "thing::item@create",
                "thing::item@get",
                "thing::item_id"
            ]
        );
        // The same result whatever order the definitions come in.
        let mut reversed = spec(&files);
        reversed.endpoints.reverse();
        let again = validate(&reversed).unwrap();
        assert_eq!(
            again.types.keys().collect::<Vec<_>>(),
            registry.types.keys().collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_type_whose_nested_types_differ_does_not_merge() {
        let registry = types(&[
            (
                "thing/a",
                "[{ name: o, type: outer, fields: [{ name: in, type: inner, fields: [{ name: v, type: string }] }] }]",
                "",
            ),
            (
                "thing/b",
                "[{ name: o, type: outer, fields: [{ name: in, type: inner, fields: [{ name: v, type: int }] }] }]",
                "",
            ),
            (
                "thing/c",
                "[{ name: o, type: outer, fields: [{ name: in, type: inner, fields: [{ name: w, type: int }] }] }]",
                "",
            ),
        ]);
        let outer_a = entry(&registry, "outer", Some("a"));
        let outer_b = entry(&registry, "outer", Some("b"));
        assert_eq!(outer_a.targets["in"].variant.as_deref(), Some("a"));
        assert_eq!(outer_b.targets["in"].variant.as_deref(), Some("b"));
        // c's `inner` agrees with a's (it merges into the first shape it fits), and so
        // does c's `outer`.
        assert_eq!(
            shape(entry(&registry, "inner", Some("a"))),
            ["v:false", "w:false"]
        );
        assert!(outer_a.sources.contains("svc/v1/thing/c.yaml"));
        assert_eq!(registry.types.len(), 4);
    }

    /// The scopes of the types the uses in one file resolved to.
    fn used_in(registry: &TypeRegistry, rel: &str) -> Vec<TypeScope> {
        registry
            .uses
            .iter()
            .filter(|((file, _), _)| file == rel)
            .map(|(_, key)| key.scope.clone())
            .collect()
    }

    #[test]
    fn a_bare_use_resolves_nearby_first_and_elsewhere_only_when_unambiguous() {
        let item =
            |ty: &str| format!("[{{ name: a, type: item, fields: [{{ name: id, type: {ty} }}] }}]");
        let bare = "[{ name: b, type: item }]";
        // Only the other resource defines it: found there.
        let registry = types(&[("one/get", &item("string"), ""), ("two/get", bare, "")]);
        assert_eq!(
            used_in(&registry, "svc/v1/two/get.yaml"),
            [TypeScope::Resource("one".into())]
        );
        // Two other resources define it: an error at the use, naming both definitions.
        let errors = validate(&spec(&[
            ("one/get", &item("string"), ""),
            ("three/get", &item("int"), ""),
            ("two/get", bare, ""),
        ]))
        .unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        let error = &errors.0[0];
        assert_eq!(error.file, PathBuf::from("svc/v1/two/get.yaml"));
        assert_eq!(error.field, "request_body.fields[0].type");
        assert!(error.pos.is_some());
        assert!(
            error.message.contains("svc/v1/one/get.yaml:7")
                && error.message.contains("svc/v1/three/get.yaml:7"),
            "{error}"
        );
        // Its own resource's definition wins over the others.
        let registry = types(&[
            ("one/get", &item("string"), ""),
            ("three/get", &item("int"), ""),
            ("two/get", bare, ""),
            ("two/list", &item("bool"), ""),
        ]);
        assert_eq!(
            used_in(&registry, "svc/v1/two/get.yaml"),
            [TypeScope::Resource("two".into())]
        );
    }
}
