//! Values that fit the generated types, made from the doc examples: what fits is kept,
//! what does not (a string where the type says integer, a key the table does not list,
//! a value outside a documented range) is replaced or dropped, and a required field the
//! example leaves out is filled in. So every endpoint can be called with its documented
//! example, and the docs' own mistakes (the doc-example quarantine) stop no wire test.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use feishu_codegen::ir::{EnumDef, EnumRepr, Ir, ModPath, Operation, RustType, StructDef};
use feishu_spec::model::Rules;
use serde_json::{Map, Value, json};

/// Deeper than any documented type nests; past it, optional fields are left out, which
/// ends a type that contains itself.
const MAX_DEPTH: usize = 16;

/// The generated types, by module and name.
pub struct Conformer {
    operations: BTreeMap<String, Operation>,
    structs: BTreeMap<(ModPath, String), StructDef>,
    enums: BTreeMap<(ModPath, String), EnumDef>,
}

/// The conformer for spec/, lowered once per test binary.
pub fn conformer() -> &'static Conformer {
    static CONFORMER: OnceLock<Conformer> = OnceLock::new();
    CONFORMER.get_or_init(|| {
        let ir = feishu_codegen::lower_generated(&crate::spec_dir())
            .unwrap_or_else(|d| panic!("spec/ lowers: {d}"));
        Conformer::new(ir)
    })
}

impl Conformer {
    pub fn new(ir: Ir) -> Self {
        let mut conformer = Conformer {
            operations: BTreeMap::new(),
            structs: BTreeMap::new(),
            enums: BTreeMap::new(),
        };
        for (path, module) in ir.modules {
            for def in module.structs {
                let key = (path.clone(), def.name.as_str().to_owned());
                conformer.structs.insert(key, def);
            }
            for def in module.enums {
                let key = (path.clone(), def.name.as_str().to_owned());
                conformer.enums.insert(key, def);
            }
            for operation in module.operations {
                conformer.operations.insert(operation.id.clone(), operation);
            }
        }
        conformer
    }

    fn operation(&self, id: &str) -> &Operation {
        self.operations
            .get(id)
            .unwrap_or_else(|| panic!("{id} is generated"))
    }

    /// The request (params by wire name, and `body`) made to fit endpoint `id`.
    pub fn request(&self, id: &str, example: &Value) -> Value {
        self.object(&self.operation(id).request, example.as_object(), 0)
    }

    /// The response payload made to fit endpoint `id`.
    pub fn payload(&self, id: &str, example: Option<&Value>) -> Value {
        let response = &self.operation(id).response;
        self.value(response, &Rules::default(), example, 0)
    }

    fn object(&self, def: &StructDef, example: Option<&Map<String, Value>>, depth: usize) -> Value {
        let mut object = Map::new();
        // A file is a part of its own, never a JSON field.
        for field in def
            .fields
            .iter()
            .filter(|f| !matches!(f.ty, RustType::File))
        {
            let given = example
                .and_then(|e| e.get(&field.wire))
                .filter(|v| !v.is_null());
            if given.is_none() && (!field.required || depth > MAX_DEPTH) {
                continue;
            }
            let value = self.value(&field.ty, &field.rules, given, depth + 1);
            object.insert(field.wire.clone(), value);
        }
        Value::Object(object)
    }

    fn value(&self, ty: &RustType, rules: &Rules, example: Option<&Value>, depth: usize) -> Value {
        match ty {
            RustType::String => string(rules, example),
            RustType::I32 => integer(rules, example, i64::from(i32::MIN), i64::from(i32::MAX)),
            RustType::I64 => integer(rules, example, i64::MIN, i64::MAX),
            RustType::F64 => float(rules, example),
            RustType::Bool => example
                .and_then(|v| v.as_bool().or_else(|| v.as_str()?.parse().ok()))
                .map_or(json!(true), Value::Bool),
            RustType::Json => example.cloned().unwrap_or_else(|| json!({})),
            RustType::Empty => json!({}),
            // Neither is JSON: an upload's file, a download's file.
            RustType::File | RustType::Download => Value::Null,
            RustType::Box(inner) => self.value(inner, rules, example, depth),
            RustType::Vec(item) => self.list(item, rules, example, depth),
            RustType::Map(item) => {
                let entries = example.and_then(Value::as_object).into_iter().flatten();
                let no_rules = Rules::default();
                entries
                    .map(|(k, v)| (k.clone(), self.value(item, &no_rules, Some(v), depth + 1)))
                    .collect::<Map<_, _>>()
                    .into()
            }
            RustType::Named(type_ref) => {
                let key = (type_ref.module.clone(), type_ref.name.as_str().to_owned());
                if let Some(def) = self.structs.get(&key) {
                    self.object(def, example.and_then(Value::as_object), depth)
                } else if let Some(def) = self.enums.get(&key) {
                    variant(def, example)
                } else {
                    panic!("{key:?} is a generated type")
                }
            }
        }
    }

    /// A list keeps the example's items (made to fit) within the documented count; with
    /// no example it is empty, or holds one item where a least count is documented.
    fn list(&self, item: &RustType, rules: &Rules, example: Option<&Value>, depth: usize) -> Value {
        let no_rules = Rules::default();
        let max = rules.max_length.map_or(usize::MAX, |n| n as usize);
        let mut items: Vec<Value> = match example {
            Some(Value::Array(given)) => given
                .iter()
                .filter(|v| !v.is_null())
                .take(max)
                .map(|v| self.value(item, &no_rules, Some(v), depth + 1))
                .collect(),
            // The docs often give one item where the type is a list.
            Some(single) => vec![self.value(item, &no_rules, Some(single), depth + 1)],
            None => Vec::new(),
        };
        items.truncate(max);
        let min = rules.min_length.map_or(0, |n| n as usize);
        while items.len() < min.min(max) {
            items.push(self.value(item, &no_rules, None, depth + 1));
        }
        Value::Array(items)
    }
}

/// The example's text where its length is within the rules (counted both in characters
/// and in bytes, whichever the check uses); else ASCII of the least allowed length.
fn string(rules: &Rules, example: Option<&Value>) -> Value {
    let within = |text: &str| {
        let (chars, bytes) = (text.chars().count() as u64, text.len() as u64);
        rules
            .min_length
            .is_none_or(|min| chars >= min && bytes >= min)
            && rules
                .max_length
                .is_none_or(|max| chars <= max && bytes <= max)
    };
    let text = match example {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    };
    match text {
        Some(text) if within(&text) => Value::String(text),
        _ => {
            let len = rules.min_length.unwrap_or(1).max(1);
            let len = rules.max_length.map_or(len, |max| len.min(max));
            Value::String("x".repeat(len as usize))
        }
    }
}

fn in_range(rules: &Rules, n: f64) -> bool {
    rules.min_value.is_none_or(|min| n >= min) && rules.max_value.is_none_or(|max| n <= max)
}

/// The least value the rules allow, or 1.
fn least(rules: &Rules) -> f64 {
    match (rules.min_value, rules.max_value) {
        (Some(min), _) => min,
        (None, Some(max)) if max < 1.0 => max,
        _ => 1.0,
    }
}

fn integer(rules: &Rules, example: Option<&Value>, lo: i64, hi: i64) -> Value {
    let given = example.and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()));
    match given {
        Some(n) if (lo..=hi).contains(&n) && in_range(rules, n as f64) => json!(n),
        _ => json!((least(rules).ceil() as i64).clamp(lo, hi)),
    }
}

fn float(rules: &Rules, example: Option<&Value>) -> Value {
    let given = example.and_then(|v| v.as_f64().or_else(|| v.as_str()?.trim().parse().ok()));
    match given {
        Some(n) if n.is_finite() && in_range(rules, n) => json!(n),
        _ => json!(least(rules)),
    }
}

/// The example where it is a value of the enum's kind (unknown values deserialize into
/// `Unknown` and serialize back unchanged); else the first documented value.
fn variant(def: &EnumDef, example: Option<&Value>) -> Value {
    let fits = |v: &&Value| match def.repr {
        EnumRepr::String => v.is_string(),
        EnumRepr::Integer => v.is_i64(),
    };
    match example.filter(fits) {
        Some(value) => value.clone(),
        None => def
            .variants
            .first()
            .map_or(json!(""), |variant| variant.value.clone()),
    }
}
