//! Each operation's request body as a JSON Schema (2020-12), kept as data beside the
//! endpoint: what an emulator checks a body against without deserializing it into the
//! generated types (which would need the crate's `roundtrip` feature, and so a second
//! build of every service an app uses for its tests).
//!
//! The schema says what the page documents of the body, as the typed body has it: each
//! field by its wire name and type, the required ones (as the page marks them, also
//! where the typed body tolerates a response leaving one out), `null` for an optional
//! one (as `Option` reads it), and the lengths and ranges the client checks before
//! sending. Enums stay open (a value the page does
//! not list still deserializes, as the `Unknown` variant), so they are typed by their
//! representation only. Every named struct is a `$defs` entry, so a type used in many
//! places is written once and a type that holds itself is a reference, not an endless tree.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{EnumDef, EnumRepr, FieldDef, Ir, ModPath, RustType, StructDef, TypeRef};

/// Sets `body_schema` on every operation of `ir` that takes a body.
pub(super) fn fill(ir: &mut Ir) {
    let schemas: Vec<(ModPath, usize, String)> = {
        let index = Index::of(ir);
        ir.modules
            .iter()
            .flat_map(|(path, module)| {
                let index = &index;
                module
                    .operations
                    .iter()
                    .enumerate()
                    .filter_map(move |(n, op)| {
                        let body = op.body.as_ref()?;
                        Some((path.clone(), n, body_schema(index, body).to_string()))
                    })
            })
            .collect()
    };
    for (path, n, schema) in schemas {
        let module = ir.modules.get_mut(&path).expect("collected from this IR");
        module.operations[n].body_schema = Some(schema);
    }
}

/// The named types of an IR, by reference.
struct Index<'ir> {
    structs: BTreeMap<(&'ir ModPath, &'ir str), &'ir StructDef>,
    enums: BTreeMap<(&'ir ModPath, &'ir str), &'ir EnumDef>,
}

impl<'ir> Index<'ir> {
    fn of(ir: &'ir Ir) -> Self {
        let mut index = Index {
            structs: BTreeMap::new(),
            enums: BTreeMap::new(),
        };
        for (path, module) in &ir.modules {
            for def in &module.structs {
                index.structs.insert((path, def.name.as_str()), def);
            }
            for def in &module.enums {
                index.enums.insert((path, def.name.as_str()), def);
            }
        }
        index
    }

    fn struct_def(&self, type_ref: &TypeRef) -> Option<&'ir StructDef> {
        self.structs
            .get(&(&type_ref.module, type_ref.name.as_str()))
            .copied()
    }

    fn enum_def(&self, type_ref: &TypeRef) -> Option<&'ir EnumDef> {
        self.enums
            .get(&(&type_ref.module, type_ref.name.as_str()))
            .copied()
    }
}

/// The schema of one body: the body struct's object schema at the root, with the structs
/// it holds in `$defs`.
fn body_schema(index: &Index, body: &RustType) -> Value {
    let root = match body {
        RustType::Named(type_ref) => index.struct_def(type_ref).map(|def| (type_ref, def)),
        _ => None,
    };
    let mut schema = Schema {
        index,
        root: root.map(|(type_ref, _)| type_ref.clone()),
        keys: BTreeMap::new(),
        defs: Map::new(),
    };
    let mut root = match root {
        Some((_, def)) => schema.object(def),
        None => schema.of(body),
    };
    let object = root
        .as_object_mut()
        .expect("every schema here is an object");
    if !schema.defs.is_empty() {
        object.insert("$defs".to_owned(), Value::Object(schema.defs));
    }
    root
}

struct Schema<'a, 'ir> {
    index: &'a Index<'ir>,
    /// The body struct, which a reference to `#` (the root) names.
    root: Option<TypeRef>,
    /// The `$defs` key of each struct met, so a name two modules share is told apart.
    keys: BTreeMap<TypeRef, String>,
    defs: Map<String, Value>,
}

impl Schema<'_, '_> {
    fn of(&mut self, ty: &RustType) -> Value {
        match ty {
            RustType::String => json!({"type": "string"}),
            RustType::I32 => json!({"type": "integer", "format": "int32"}),
            RustType::I64 => json!({"type": "integer", "format": "int64"}),
            RustType::F64 => json!({"type": "number"}),
            RustType::Bool => json!({"type": "boolean"}),
            // Any JSON value; a file never reaches the JSON (the parts are apart).
            RustType::Json | RustType::File | RustType::Download => json!({}),
            RustType::Empty => json!({"type": "object"}),
            RustType::Vec(item) => json!({"type": "array", "items": self.of(item)}),
            RustType::Box(inner) => self.of(inner),
            RustType::Map(value) => {
                json!({"type": "object", "additionalProperties": self.of(value)})
            }
            RustType::Named(type_ref) => self.named(type_ref),
        }
    }

    fn named(&mut self, type_ref: &TypeRef) -> Value {
        if let Some(def) = self.index.enum_def(type_ref) {
            return match def.repr {
                EnumRepr::String => json!({"type": "string"}),
                EnumRepr::Integer => json!({"type": "integer", "format": "int64"}),
            };
        }
        let Some(def) = self.index.struct_def(type_ref) else {
            // Lowering names only types it made; anything else is taken as any JSON.
            return json!({});
        };
        if self.root.as_ref() == Some(type_ref) {
            return json!({"$ref": "#"});
        }
        if let Some(key) = self.keys.get(type_ref) {
            return json!({"$ref": format!("#/$defs/{key}")});
        }
        let key = self.key_for(type_ref);
        self.keys.insert(type_ref.clone(), key.clone());
        // Taken before the fields are walked, so a struct that holds itself refers to it.
        self.defs.insert(key.clone(), Value::Null);
        let object = self.object(def);
        self.defs.insert(key.clone(), object);
        json!({"$ref": format!("#/$defs/{key}")})
    }

    /// The struct's Rust name, or with its module when another struct met has that name.
    fn key_for(&self, type_ref: &TypeRef) -> String {
        let name = type_ref.name.bare().to_owned();
        match self.defs.contains_key(&name) {
            false => name,
            true => {
                let module: Vec<&str> = type_ref.module.iter().map(|m| m.bare()).collect();
                format!("{}.{name}", module.join("."))
            }
        }
    }

    fn object(&mut self, def: &StructDef) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in &def.fields {
            if matches!(field.ty, RustType::File) {
                continue;
            }
            let schema = self.field(field);
            properties.insert(field.wire.clone(), schema);
            if field.required {
                required.push(Value::String(field.wire.clone()));
            }
        }
        let mut object = json!({"type": "object", "properties": properties});
        if !required.is_empty() {
            object["required"] = Value::Array(required);
        }
        object
    }

    /// A field's schema: its type's, with the rules the client checks, and `null` allowed
    /// where the field is optional.
    fn field(&mut self, field: &FieldDef) -> Value {
        let mut schema = self.of(&field.ty);
        let (min_length, max_length) = match field.ty {
            RustType::Vec(_) => ("minItems", "maxItems"),
            _ => ("minLength", "maxLength"),
        };
        if field.checks_length() {
            put(
                &mut schema,
                min_length,
                field.rules.min_length.map(Value::from),
            );
            put(
                &mut schema,
                max_length,
                field.rules.max_length.map(Value::from),
            );
        }
        if field.checks_range() {
            put(
                &mut schema,
                "minimum",
                field.rules.min_value.map(Value::from),
            );
            put(
                &mut schema,
                "maximum",
                field.rules.max_value.map(Value::from),
            );
        }
        match field.required {
            true => schema,
            false => nullable(schema),
        }
    }
}

fn put(schema: &mut Value, keyword: &str, value: Option<Value>) {
    if let (Some(object), Some(value)) = (schema.as_object_mut(), value) {
        object.insert(keyword.to_owned(), value);
    }
}

/// `schema`, or `null`: a type gains `"null"` among its types; a reference becomes one
/// of two choices; a schema that takes anything already takes `null`.
fn nullable(mut schema: Value) -> Value {
    let Some(object) = schema.as_object_mut() else {
        return schema;
    };
    match object.get("type").cloned() {
        Some(Value::String(ty)) => {
            object.insert("type".to_owned(), json!([ty, "null"]));
            schema
        }
        _ if object.contains_key("$ref") => json!({"anyOf": [schema, {"type": "null"}]}),
        _ => schema,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_reference_or_type_also_takes_null() {
        assert_eq!(
            nullable(json!({"type": "string", "maxLength": 3})),
            json!({"type": ["string", "null"], "maxLength": 3})
        );
        assert_eq!(
            nullable(json!({"$ref": "#/$defs/A"})),
            json!({"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]})
        );
        assert_eq!(nullable(json!({})), json!({}));
    }
}
