//! Field trees (from `nesting`) to spec fields: types, options, defaults, rules, examples.

use std::collections::{BTreeMap, BTreeSet};

use feishu_spec::model::{EnumOption, Field, Rules};
use feishu_spec::{Located, Pos};
use heck::ToSnakeCase;
use serde_json::Value;

use crate::cell::plain_text;
use crate::doc_type::DocType;
use crate::example::cell_value;
use crate::nesting::{FieldRow, Node, Warn, scalar_type};

/// The object types defined so far in one spec file, by name, with their field names:
/// the first use of a type defines it, later uses name it. Also the types a later table
/// of the page lists with fields, so an earlier use without fields names them too.
#[derive(Default)]
pub struct Defined(BTreeMap<String, Vec<String>>, BTreeSet<String>);

impl Defined {
    /// Starts a page whose tables list these types with fields somewhere.
    pub fn expecting(names: BTreeSet<String>) -> Self {
        Defined(BTreeMap::new(), names)
    }
}

/// The named types that rows with depth markers list with fields: a row of type `T`
/// followed by a deeper row. (Unmarked tables only tell once nested.)
pub fn listed_with_fields(rows: &[FieldRow]) -> BTreeSet<String> {
    rows.windows(2)
        .filter_map(|pair| {
            let (row, next) = (&pair[0], &pair[1]);
            let deeper = matches!((row.depth, next.depth), (Some(a), Some(b)) if b > a);
            match row.ty.as_ref().and_then(DocType::object_leaf) {
                Some(DocType::Named(name)) if deeper => Some(name.clone()),
                _ => None,
            }
        })
        .collect()
}

pub fn located<T>(value: T) -> Located<T> {
    Located::new(value, Pos::default())
}

/// Converts nested rows to spec fields.
pub fn to_fields(nodes: &[Node], defined: &mut Defined, warn: Warn<'_>) -> Vec<Field> {
    let mut seen = std::collections::BTreeSet::new();
    let mut fields = Vec::new();
    for node in nodes {
        // A page that lists a field twice means one field: the first row is kept.
        if !seen.insert(node.row.name.as_str()) {
            warn(
                node.row.line,
                format!(
                    "`{}` is listed twice in one object; the first row is kept",
                    node.row.name
                ),
            );
            continue;
        }
        fields.push(to_field(node, defined, &mut *warn));
    }
    fields
}

fn to_field(node: &Node, defined: &mut Defined, warn: Warn<'_>) -> Field {
    let row = &node.row;
    let concrete: Vec<&Value> = node.examples.iter().filter(|v| !v.is_null()).collect();
    let (doc_type, inferred) = match &row.ty {
        Some(ty) => (ty.clone(), row.inferred),
        None => match concrete.first() {
            Some(value) => (scalar_type(value), true),
            None => {
                warn(
                    row.line,
                    format!(
                        "`{}` has no type and the example does not show it; typed as any JSON value",
                        row.name
                    ),
                );
                (DocType::Scalar("any"), true)
            }
        },
    };
    let mut fields = None;
    let ty = match doc_type.object_leaf() {
        Some(leaf) => {
            let name = match leaf {
                DocType::Named(name) => name.clone(),
                _ => row.name.to_snake_case(),
            };
            let children = if node.children.is_empty() {
                None
            } else {
                Some(to_fields(&node.children, defined, &mut *warn))
            };
            match (children, defined.0.get(&name)) {
                (Some(children), None) => {
                    defined.0.insert(
                        name.clone(),
                        children.iter().map(|f| f.name.to_string()).collect(),
                    );
                    fields = Some(children);
                    doc_type.spec(&name)
                }
                (Some(children), Some(known)) => {
                    // Another listing of a type the page already gave is kept when its fields
                    // differ; the spec's validation merges the two or reports why they
                    // cannot be merged.
                    let names: Vec<String> = children.iter().map(|f| f.name.to_string()).collect();
                    if &names != known {
                        fields = Some(children);
                    }
                    doc_type.spec(&name)
                }
                (None, Some(_)) => doc_type.spec(&name),
                // Listed with its fields further down the page (a request may list an
                // object empty that the response spells out).
                (None, None) if defined.1.contains(&name) && matches!(leaf, DocType::Named(_)) => {
                    doc_type.spec(&name)
                }
                (None, None) => {
                    let objects: Vec<Value> = concrete
                        .iter()
                        .filter(|v| v.is_object())
                        .map(|v| (*v).clone())
                        .collect();
                    if let Some(inferred_fields) = infer_object(&objects, defined, &name) {
                        warn(
                            row.line,
                            format!(
                                "the page lists no fields for `{}`; they are inferred from the example",
                                row.name
                            ),
                        );
                        fields = Some(inferred_fields);
                        doc_type.spec(&name)
                    } else {
                        if matches!(leaf, DocType::Named(_)) || !objects.is_empty() {
                            warn(
                                row.line,
                                format!(
                                    "the page lists no fields for `{}` (type `{name}`); typed as any JSON value",
                                    row.name
                                ),
                            );
                        }
                        doc_type.with_leaf(DocType::Scalar("any")).spec("")
                    }
                }
            }
        }
        None => doc_type.spec(""),
    };
    let leaf = leaf_type(&ty);
    let doc = &row.doc;
    let mut field = Field {
        name: located(row.name.clone()),
        ty: located(ty.clone()),
        required: row.required,
        description: doc.description.clone(),
        example: doc.example.as_deref().map(|e| cell_value(e, &ty)),
        default: doc
            .default
            .as_deref()
            .map(|d| cell_value(&plain_text(d), leaf)),
        options: Vec::new(),
        enum_name: None,
        rules: rules(&doc.rules, row.line, &mut *warn),
        field_scopes: doc.field_scopes.clone(),
        inferred,
        fields,
    };
    if ty == "binary" {
        field.rules.max_bytes = file_size_limit(&field.description);
    }
    field.options = options(node, leaf, &mut *warn);
    if field.options.is_empty() && !doc.options.is_empty() {
        // The meanings stay readable in the docs.
        let list: Vec<String> = doc
            .options
            .iter()
            .map(|o| format!("- `{}`：{}", o.value, o.meaning))
            .collect();
        field.description = format!("{}\n\n{}", field.description, list.join("\n"))
            .trim()
            .to_owned();
    }
    field
}

/// The size limit a file field's description states: `大小不能超过 10 MB`, `最大 300 MB`,
/// `2 MB 以内`, `大小在 3KB-10MB`. The largest size in a clause that speaks of a limit;
/// the smallest such clause, when several do. Units count in 1024s.
fn file_size_limit(description: &str) -> Option<u64> {
    const LIMIT_WORDS: [&str; 6] = ["超过", "以内", "最大", "上限", "不大于", "大小在"];
    description
        .split(['。', '；', ';', '，', ',', '\n'])
        .filter(|clause| LIMIT_WORDS.iter().any(|word| clause.contains(word)))
        .filter_map(|clause| sizes(clause).max())
        .min()
}

/// The sizes written in `text`, in bytes: a number, optional spaces, then KB, MB or GB (or
/// K, M, G), in any case.
fn sizes(text: &str) -> impl Iterator<Item = u64> + '_ {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let start = at;
            while at < bytes.len() && bytes[at].is_ascii_digit() {
                at += 1;
            }
            if at == start {
                at += 1;
                continue;
            }
            let number: u64 = text[start..at].parse().ok()?;
            let rest = text[at..].trim_start();
            let unit = rest.bytes().next().map(|b| b.to_ascii_uppercase());
            let shift = match unit {
                Some(b'K') => 10,
                Some(b'M') => 20,
                Some(b'G') => 30,
                _ => continue,
            };
            // `10 Mbps`, `5 minutes`: only `M` or `MB` ending the word is a size.
            let unit_len = match rest.as_bytes().get(1) {
                Some(b'B' | b'b') => 2,
                _ => 1,
            };
            if rest
                .as_bytes()
                .get(unit_len)
                .is_some_and(u8::is_ascii_alphabetic)
            {
                continue;
            }
            return number.checked_mul(1 << shift);
        }
        None
    })
}

/// The innermost element type of a spec type (`string[]` → `string`).
fn leaf_type(ty: &str) -> &str {
    let mut ty = ty;
    while let Some(inner) = ty.strip_suffix("[]") {
        ty = inner;
    }
    ty
}

fn options(node: &Node, leaf: &str, warn: Warn<'_>) -> Vec<EnumOption> {
    let doc = &node.row.doc;
    if doc.options.is_empty() {
        return Vec::new();
    }
    let is_int = matches!(leaf, "int" | "int32" | "int64");
    if !is_int && leaf != "string" {
        warn(
            node.row.line,
            format!("options on a `{leaf}` field are kept in its description, not as an enum"),
        );
        return Vec::new();
    }
    let mut out: Vec<EnumOption> = Vec::new();
    for item in &doc.options {
        let value = if is_int {
            match item.value.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    warn(
                        node.row.line,
                        format!(
                            "the option `{}` of an integer field is not an integer; the options are kept in the description",
                            item.value
                        ),
                    );
                    return Vec::new();
                }
            }
        } else {
            Value::String(item.value.clone())
        };
        if out.iter().any(|o| *o.value == value) {
            warn(
                node.row.line,
                format!("the option `{}` is listed twice; kept once", item.value),
            );
            continue;
        }
        let scopes = doc
            .value_scopes
            .iter()
            .filter(|(v, _)| *v == item.value)
            .flat_map(|(_, s)| s.clone())
            .collect();
        out.push(EnumOption {
            value: located(value),
            meaning: item.meaning.clone(),
            name: None,
            scopes,
        });
    }
    out
}

/// `长度范围：`1` ～ `20``, `最大长度：`700` 字符`, `取值范围：`0` ～ `100``, `最大值：`100``,
/// `正则校验：`^…$``.
fn rules(items: &[String], line: usize, warn: Warn<'_>) -> Rules {
    let mut rules = Rules::default();
    for item in items {
        let (kind, value) = item.split_once(['：', ':']).unwrap_or((item.as_str(), ""));
        let codes: Vec<String> = value
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        let number = |i: usize| codes.get(i).and_then(|c| c.trim().parse::<f64>().ok());
        let count = |i: usize| codes.get(i).and_then(|c| c.trim().parse::<u64>().ok());
        let ok = match kind.trim() {
            "长度范围" => {
                rules.min_length = count(0);
                rules.max_length = count(1);
                rules.max_length.is_some()
            }
            "最大长度" => {
                rules.max_length = count(0);
                rules.max_length.is_some()
            }
            "最小长度" => {
                rules.min_length = count(0);
                rules.min_length.is_some()
            }
            "取值范围" => {
                rules.min_value = number(0);
                rules.max_value = number(1);
                rules.max_value.is_some()
            }
            "最大值" => {
                rules.max_value = number(0);
                rules.max_value.is_some()
            }
            "最小值" => {
                rules.min_value = number(0);
                rules.min_value.is_some()
            }
            "正则校验" => {
                rules.pattern = codes.first().cloned();
                rules.pattern.is_some()
            }
            _ => false,
        };
        if !ok {
            warn(
                line,
                format!("the validation rule `{item}` is not understood; not kept"),
            );
        }
    }
    rules
}

/// How many objects deep fields are inferred from an example; deeper objects are typed
/// as any JSON, which keeps them whole. Bounds the spec a hostile example makes.
const MAX_INFERRED_DEPTH: usize = 8;

/// Fields read from example objects (for pages and tables that give no types).
pub fn infer_object(
    objects: &[Value],
    defined: &mut Defined,
    type_name: &str,
) -> Option<Vec<Field>> {
    infer_object_within(objects, defined, type_name, MAX_INFERRED_DEPTH)
}

fn infer_object_within(
    objects: &[Value],
    defined: &mut Defined,
    type_name: &str,
    depth_left: usize,
) -> Option<Vec<Field>> {
    if depth_left == 0 {
        return None;
    }
    let mut keys: Vec<(String, Vec<Value>)> = Vec::new();
    for object in objects {
        for (key, value) in object.as_object()? {
            match keys.iter_mut().find(|(k, _)| k == key) {
                Some((_, values)) => values.push(value.clone()),
                None => keys.push((key.clone(), vec![value.clone()])),
            }
        }
    }
    if keys.is_empty() {
        return None;
    }
    defined.0.insert(
        type_name.to_owned(),
        keys.iter().map(|(k, _)| k.clone()).collect(),
    );
    Some(
        keys.into_iter()
            .map(|(key, values)| infer_field(&key, &values, defined, depth_left - 1))
            .collect(),
    )
}

fn infer_field(key: &str, values: &[Value], defined: &mut Defined, depth_left: usize) -> Field {
    fn flatten(v: &Value, out: &mut Vec<Value>) -> usize {
        match v {
            Value::Array(items) => {
                let mut depth = 0;
                for item in items {
                    depth = depth.max(flatten(item, out));
                }
                depth + 1
            }
            other => {
                out.push(other.clone());
                0
            }
        }
    }
    let mut leaves = Vec::new();
    let depth = values
        .iter()
        .map(|v| flatten(v, &mut leaves))
        .max()
        .unwrap_or(0);
    let concrete: Vec<Value> = leaves.into_iter().filter(|v| !v.is_null()).collect();
    let mut fields = None;
    // Arrays nested deeper than a spec type may be are any JSON as a whole.
    let ty = if depth > feishu_spec::MAX_TYPE_DEPTH {
        "any".to_owned()
    } else {
        let leaf = infer_leaf(key, &concrete, defined, depth_left, &mut fields);
        format!("{leaf}{}", "[]".repeat(depth))
    };
    let example = values
        .first()
        .filter(|v| !v.is_object() && !v.is_array())
        .cloned();
    Field {
        name: located(key.to_owned()),
        ty: located(ty),
        required: false,
        description: String::new(),
        example,
        default: None,
        options: Vec::new(),
        enum_name: None,
        rules: Rules::default(),
        field_scopes: Vec::new(),
        inferred: true,
        fields,
    }
}

/// The type of a field whose example values, arrays flattened, are `concrete`: a scalar,
/// `any`, or an object type, whose inferred fields go into `fields`.
fn infer_leaf(
    key: &str,
    concrete: &[Value],
    defined: &mut Defined,
    depth_left: usize,
    fields: &mut Option<Vec<Field>>,
) -> String {
    match concrete.first() {
        Some(Value::Object(_)) => {
            let name = key.to_snake_case();
            if defined.0.contains_key(&name) {
                return name;
            }
            match infer_object_within(concrete, defined, &name, depth_left) {
                Some(inner) => {
                    *fields = Some(inner);
                    name
                }
                None => "any".to_owned(),
            }
        }
        Some(value) => scalar_type(value).spec(""),
        None => "any".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::file_size_limit;

    #[test]
    fn file_size_limits_are_read_from_the_description() {
        const MB: u64 = 1 << 20;
        let limit = file_size_limit;
        assert_eq!(
            limit("上传的图片大小不能超过 10 MB，也不能上传大小为 0 的图片。"),
            Some(10 * MB)
        );
        assert_eq!(limit("文件二进制内容，最大 300 MB"), Some(300 * MB));
        assert_eq!(
            limit("JPEG/PNG 格式，2 MB 以内，大于 240*240"),
            Some(2 * MB)
        );
        assert_eq!(
            limit("在 320-4096 像素之间，大小在 3KB-10MB 的图片"),
            Some(10 * MB)
        );
        assert_eq!(
            limit("320 x 320 像素，大小不超过 1024 KB"),
            Some(1024 << 10)
        );
        assert_eq!(limit("分辨率不能超过 2000 x 2000"), None);
        assert_eq!(
            limit("文件内容，大小 5 MB"),
            None,
            "a size that is not a limit"
        );
        assert_eq!(limit("速率不超过 10 Mbps"), None);
    }

    #[test]
    fn examples_nested_a_hundred_deep_are_inferred_eight_deep() {
        use super::{Defined, Field, infer_object};
        let mut deep = serde_json::json!(1);
        for d in (0..100).rev() {
            deep = serde_json::json!({ format!("k{d}"): deep });
        }
        let fields = infer_object(&[deep], &mut Defined::default(), "body").unwrap();
        let mut depth = 0;
        let mut level: &[Field] = &fields;
        while let Some(field) = level.first() {
            depth += 1;
            match &field.fields {
                Some(inner) => level = inner,
                None => {
                    assert_eq!(field.ty.as_str(), "any", "the rest is any JSON");
                    break;
                }
            }
        }
        assert_eq!(depth, 8);

        let mut arrays = serde_json::json!("x");
        for _ in 0..100 {
            arrays = serde_json::json!([arrays]);
        }
        let fields = infer_object(
            &[serde_json::json!({ "a": arrays })],
            &mut Defined::default(),
            "body",
        );
        assert_eq!(fields.unwrap()[0].ty.as_str(), "any");
    }
}
