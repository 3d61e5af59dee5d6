//! Rebuilds the field tree that a doc table flattens.
//!
//! Feishu's tables list an object's fields right after the object's row, with nothing that
//! says where they end. Three things tell: the type column (an object or `xxx[]` type opens
//! a field list), the example's shape (which keys sit in which object), and the field order
//! (a name already seen in an object, or not among the fields a type was already given on
//! this page, closes it). Legacy tables mark depth with `∟`; there the marker decides.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::cell::CellDoc;
use crate::doc_type::DocType;

/// One row of a field table.
#[derive(Debug, Clone)]
pub struct FieldRow {
    pub line: usize,
    pub name: String,
    /// Depth from a legacy `∟` marker (0 = top level), when the table marks it.
    pub depth: Option<usize>,
    /// The type column; `None` when the table has none (legacy response tables).
    pub ty: Option<DocType>,
    pub required: bool,
    pub doc: CellDoc,
    /// The type was read from the example (the table has no type column).
    pub inferred: bool,
}

/// A row with the rows nested under it.
#[derive(Debug, Clone)]
pub struct Node {
    pub row: FieldRow,
    pub children: Vec<Node>,
    /// The example values found at this field's place (arrays flattened), for inference.
    pub examples: Vec<Value>,
}

/// How many objects deep a table may nest its fields. Feishu's deepest page nests 8; the
/// limit keeps the tree, the spec's YAML (two levels for each object) and the generator's
/// recursion bounded on a hostile page.
pub const MAX_OBJECT_DEPTH: usize = 16;

/// A table too big to rebuild: a row that would open an object deeper than
/// [`MAX_OBJECT_DEPTH`], or one field more than an object may have
/// ([`MAX_FIELDS`](feishu_spec::MAX_FIELDS)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooBig {
    Deep { line: usize },
    Wide { line: usize },
}

impl TooBig {
    /// The page line of the row.
    pub fn line(self) -> usize {
        match self {
            TooBig::Deep { line } | TooBig::Wide { line } => line,
        }
    }
}

impl std::fmt::Display for TooBig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TooBig::Deep { .. } => write!(
                f,
                "the fields nest more than {MAX_OBJECT_DEPTH} objects deep here; no Feishu \
                 page nests more than 8"
            ),
            TooBig::Wide { .. } => write!(
                f,
                "an object has at most {} fields, and this row is one more; no Feishu \
                 object has a hundred",
                feishu_spec::MAX_FIELDS
            ),
        }
    }
}

/// A warning about a page line.
pub type Warn<'a> = &'a mut dyn FnMut(usize, String);

struct Open {
    node: Option<usize>,
    examples: Vec<Value>,
    /// The fields this object's type was given earlier on the page.
    known: Option<BTreeSet<String>>,
    /// The object's named type, if it has one.
    type_name: Option<String>,
    seen: BTreeSet<String>,
}

/// Nests `rows` under one another. `example` is the object the rows describe (the body,
/// or the response's `data`), when the page gives one.
pub fn rebuild(
    rows: Vec<FieldRow>,
    example: Option<&Value>,
    warn: Warn<'_>,
) -> Result<Vec<Node>, TooBig> {
    let mut arena: Vec<(FieldRow, Vec<usize>, Vec<Value>)> = Vec::new();
    let mut roots: Vec<usize> = Vec::new();
    let mut type_fields: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![Open {
        node: None,
        examples: example.into_iter().cloned().collect(),
        known: None,
        type_name: None,
        seen: BTreeSet::new(),
    }];
    let marked = rows.iter().any(|r| r.depth.is_some_and(|d| d > 0));
    for mut row in rows {
        let level = if marked {
            let depth = row.depth.unwrap_or(0).min(stack.len() - 1);
            if stack[depth].seen.contains(&row.name) {
                warn(
                    row.line,
                    format!("`{}` appears twice in the same object", row.name),
                );
            }
            if !stack[depth].examples.is_empty() && !has_key(&stack[depth].examples, &row.name) {
                // A hand-typed marker is off by one level at most; a key further away in
                // the example is another field of that name (the envelope's `code`).
                let elsewhere = [depth + 1, depth.wrapping_sub(1)]
                    .into_iter()
                    .find(|&i| i < stack.len() && has_key(&stack[i].examples, &row.name));
                if let Some(i) = elsewhere {
                    warn(
                        row.line,
                        format!(
                            "the `∟` marker puts `{}` at depth {depth} but the example has it at depth {i}; following the example",
                            row.name
                        ),
                    );
                    i
                } else {
                    depth
                }
            } else {
                depth
            }
        } else {
            choose_level(&stack, &row, &mut *warn)
        };
        stack.truncate(level + 1);
        let here = &stack[level];
        let values = child_values(&here.examples, &row.name);
        let raw: Vec<&Value> = here
            .examples
            .iter()
            .filter_map(|e| e.get(&row.name))
            .collect();
        if row.ty.is_none() {
            // No type column: the example's value (arrays included) gives the type.
            if let Some(first) = raw.iter().find(|v| !v.is_null()) {
                row.ty = Some(scalar_type(first));
                row.inferred = true;
            }
        }
        reconcile_list_with_example(&mut row, &raw, &mut *warn);
        reconcile_with_example(&mut row, &values, &mut *warn);
        let opens = match &row.ty {
            Some(ty) => ty.object_leaf().is_some(),
            None => values.iter().any(Value::is_object),
        };
        if opens && stack.len() > MAX_OBJECT_DEPTH {
            return Err(TooBig::Deep { line: row.line });
        }
        let index = arena.len();
        let name = row.name.clone();
        let type_name = match row.ty.as_ref().and_then(DocType::object_leaf) {
            Some(DocType::Named(type_name)) => Some(type_name.clone()),
            _ => None,
        };
        let known = type_name.as_ref().and_then(|t| type_fields.get(t).cloned());
        arena.push((row, Vec::new(), values.clone()));
        let parent = &mut stack[level];
        parent.seen.insert(name);
        let siblings = match parent.node {
            Some(p) => &mut arena[p].1,
            None => &mut roots,
        };
        if siblings.len() == feishu_spec::MAX_FIELDS {
            return Err(TooBig::Wide {
                line: arena[index].0.line,
            });
        }
        siblings.push(index);
        if let Some(p) = parent.node {
            let parent_type = arena[p]
                .0
                .ty
                .as_ref()
                .and_then(DocType::object_leaf)
                .cloned();
            if let Some(DocType::Named(type_name)) = parent_type {
                let field = arena[index].0.name.clone();
                type_fields.entry(type_name).or_default().insert(field);
            }
        }
        if opens {
            stack.push(Open {
                node: Some(index),
                examples: values.into_iter().filter(Value::is_object).collect(),
                known,
                type_name,
                seen: BTreeSet::new(),
            });
        }
    }
    fn build(arena: &[(FieldRow, Vec<usize>, Vec<Value>)], index: usize) -> Node {
        let (row, children, examples) = &arena[index];
        Node {
            row: row.clone(),
            children: children.iter().map(|&c| build(arena, c)).collect(),
            examples: examples.clone(),
        }
    }
    let tree: Vec<Node> = roots.iter().map(|&r| build(&arena, r)).collect();
    let first_line = tree.first().map_or(0, |n| n.row.line);
    report_unlisted(
        first_line,
        &tree,
        example.into_iter().cloned().collect(),
        warn,
    );
    Ok(tree)
}

/// Warns about keys the example shows in an object whose table rows do not list them:
/// the generated type would drop them.
fn report_unlisted(line: usize, fields: &[Node], examples: Vec<Value>, warn: Warn<'_>) {
    let listed: BTreeSet<&str> = fields.iter().map(|n| n.row.name.as_str()).collect();
    let mut unlisted = BTreeSet::new();
    for example in &examples {
        if let Some(object) = example.as_object() {
            unlisted.extend(
                object
                    .keys()
                    .filter(|k| !listed.contains(k.as_str()))
                    .cloned(),
            );
        }
    }
    if !unlisted.is_empty() && !fields.is_empty() {
        let keys: Vec<String> = unlisted.into_iter().map(|k| format!("`{k}`")).collect();
        warn(
            line,
            format!(
                "the example has {} here, which the table does not list",
                keys.join(", ")
            ),
        );
    }
    for node in fields.iter().filter(|n| !n.children.is_empty()) {
        let objects = node
            .examples
            .iter()
            .filter(|v| v.is_object())
            .cloned()
            .collect();
        report_unlisted(node.row.line, &node.children, objects, warn);
    }
}

/// The deepest open object the row can belong to, with the example breaking ties.
fn choose_level(stack: &[Open], row: &FieldRow, warn: Warn<'_>) -> usize {
    let row_type = match row.ty.as_ref().and_then(DocType::object_leaf) {
        Some(DocType::Named(name)) => Some(name),
        _ => None,
    };
    let allowed = |open: &Open| {
        !open.seen.contains(&row.name)
            // An object of type T does not hold another T directly (`backColor` and
            // `textColor` are siblings); the example can still say otherwise.
            && (row_type.is_none() || open.type_name.as_ref() != row_type)
            && open.known.as_ref().is_none_or(|known| {
                known.contains(&row.name) && known.iter().any(|k| !open.seen.contains(k))
            })
    };
    let by_order = (0..stack.len())
        .rev()
        .find(|&i| allowed(&stack[i]))
        .unwrap_or(0);
    let by_example = (0..stack.len())
        .rev()
        .find(|&i| allowed(&stack[i]) && has_key(&stack[i].examples, &row.name));
    match by_example {
        Some(level) => level,
        None => {
            // The example does not place the key. If it shows the deepest candidate object
            // without the key and a shallower candidate without examples, the shallower one
            // is the better guess; otherwise the order decides.
            let with_examples_lacking = |i: usize| !stack[i].examples.is_empty();
            if with_examples_lacking(by_order) {
                if let Some(level) = (0..by_order)
                    .rev()
                    .find(|&i| allowed(&stack[i]) && stack[i].examples.is_empty())
                {
                    return level;
                }
                if stack.iter().any(|open| !open.examples.is_empty()) && by_order > 0 {
                    warn(
                        row.line,
                        format!(
                            "the example does not show `{}`; it is placed by the field order",
                            row.name
                        ),
                    );
                }
            }
            by_order
        }
    }
}

fn has_key(examples: &[Value], key: &str) -> bool {
    examples
        .iter()
        .any(|v| v.as_object().is_some_and(|o| o.contains_key(key)))
}

/// The values under `key` in the example objects, arrays flattened.
fn child_values(examples: &[Value], key: &str) -> Vec<Value> {
    fn flatten(value: &Value, out: &mut Vec<Value>) {
        match value {
            Value::Array(items) => items.iter().for_each(|item| flatten(item, out)),
            other => out.push(other.clone()),
        }
    }
    let mut out = Vec::new();
    for example in examples {
        if let Some(value) = example.as_object().and_then(|o| o.get(key)) {
            flatten(value, &mut out);
        }
    }
    out
}

/// Where the type column and the example disagree about a field being an object, the
/// example's shape wins and the line gets a warning.
fn reconcile_with_example(row: &mut FieldRow, values: &[Value], warn: Warn<'_>) {
    let Some(ty) = &row.ty else { return };
    let concrete: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
    if concrete.is_empty() {
        return;
    }
    let example_is_object = concrete.iter().all(|v| v.is_object());
    let example_is_scalar = concrete.iter().all(|v| !v.is_object());
    let type_is_object = ty.object_leaf().is_some();
    let type_is_any = matches!(ty, DocType::Scalar("any"));
    if type_is_object && example_is_scalar {
        let inferred = scalar_type(concrete[0]);
        warn(
            row.line,
            format!(
                "`{}` is typed as an object but the example gives {}; following the example",
                row.name, concrete[0]
            ),
        );
        row.ty = Some(ty.with_leaf(inferred));
    } else if !type_is_object && !type_is_any && example_is_object && !matches!(ty, DocType::Map(_))
    {
        warn(
            row.line,
            format!(
                "`{}` is typed as {} but the example gives an object; following the example",
                row.name,
                ty.spec("object")
            ),
        );
        row.ty = Some(ty.with_leaf(DocType::Object));
    }
}

/// An object the type column gives as one value but every example gives as a list (the
/// table's `-` type column, where the docs mean a list of objects): the example's shape
/// wins and the line gets a warning.
fn reconcile_list_with_example(row: &mut FieldRow, raw: &[&Value], warn: Warn<'_>) {
    let Some(ty) = &row.ty else { return };
    let concrete: Vec<&&Value> = raw.iter().filter(|v| !v.is_null()).collect();
    let is_list = !concrete.is_empty() && concrete.iter().all(|v| v.is_array());
    if is_list && matches!(ty, DocType::Named(_) | DocType::Object) {
        warn(
            row.line,
            format!(
                "`{}` is typed as one object but the example gives a list; following the example",
                row.name
            ),
        );
        row.ty = Some(DocType::Array(Box::new(ty.clone())));
    }
}

/// The scalar type of an example value.
pub fn scalar_type(value: &Value) -> DocType {
    match value {
        Value::String(_) => DocType::Scalar("string"),
        Value::Number(n) if n.is_i64() || n.is_u64() => DocType::Scalar("int"),
        Value::Number(_) => DocType::Scalar("float"),
        Value::Bool(_) => DocType::Scalar("bool"),
        Value::Object(_) => DocType::Object,
        Value::Array(items) => DocType::Array(Box::new(
            items
                .first()
                .map(scalar_type)
                .unwrap_or(DocType::Scalar("any")),
        )),
        Value::Null => DocType::Scalar("any"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(line: usize, name: &str, ty: &str) -> FieldRow {
        FieldRow {
            line,
            name: name.into(),
            depth: None,
            ty: Some(crate::doc_type::parse(ty).unwrap()),
            required: false,
            doc: CellDoc::default(),
            inferred: false,
        }
    }

    fn shape(nodes: &[Node]) -> String {
        nodes
            .iter()
            .map(|n| {
                if n.children.is_empty() {
                    n.row.name.clone()
                } else {
                    format!("{}{{{}}}", n.row.name, shape(&n.children))
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn the_example_closes_objects_the_order_leaves_open() {
        let rows = vec![
            row(1, "style", "text_style"),
            row(2, "bold", "boolean"),
            row(3, "color", "color"),
            row(4, "red", "int"),
            row(5, "link", "link"),
            row(6, "url", "string"),
        ];
        let example = json!({"style": {"bold": true, "color": {"red": 1}, "link": {"url": "x"}}});
        let mut warnings = Vec::new();
        let tree = rebuild(rows, Some(&example), &mut |l, w| warnings.push((l, w))).unwrap();
        assert_eq!(shape(&tree), "style{bold,color{red},link{url}}");
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn without_an_example_a_repeated_name_and_a_known_type_close_objects() {
        let rows = vec![
            row(1, "back", "color"),
            row(2, "red", "int"),
            row(3, "blue", "int"),
            row(4, "front", "color"),
            row(5, "red", "int"),
            row(6, "blue", "int"),
            row(7, "size", "int"),
            row(8, "items", r"item\[\]"),
            row(9, "id", "string"),
            row(10, "id", "string"),
        ];
        let mut warnings = Vec::new();
        let tree = rebuild(rows, None, &mut |l, w| warnings.push((l, w))).unwrap();
        // `front` is a second `color`: its fields are known, so `size` is not one of them;
        // the second `id` cannot join the object that already has one.
        assert_eq!(
            shape(&tree),
            "back{red,blue},front{red,blue},size,items{id},id"
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn same_name_child_of_same_name_parent() {
        let rows = vec![
            row(1, "buttons", "buttons"),
            row(2, "buttons", r"button\[\]"),
            row(3, "text", "string"),
            row(4, "chat_id", "string"),
        ];
        let example = json!({"buttons": {"buttons": [{"text": "a"}]}, "chat_id": "c"});
        let tree = rebuild(rows, Some(&example), &mut |_, _| {}).unwrap();
        assert_eq!(shape(&tree), "buttons{buttons{text}},chat_id");
    }

    #[test]
    fn legacy_markers_set_depth_and_the_example_disagreement_is_reported() {
        let mut rows = vec![
            row(1, "data", "object"),
            row(2, "id", "string"),
            row(3, "name", "string"),
        ];
        rows[1].depth = Some(1);
        rows[2].depth = Some(1);
        let tree = rebuild(
            rows,
            Some(&json!({"data": {"id": "1", "name": "n"}})),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(shape(&tree), "data{id,name}");

        let rows = vec![row(1, "count", "object"), row(2, "x", "string")];
        let mut warnings = Vec::new();
        let tree = rebuild(rows, Some(&json!({"count": 3, "x": "y"})), &mut |l, w| {
            warnings.push((l, w))
        })
        .unwrap();
        assert_eq!(shape(&tree), "count,x");
        assert_eq!(tree[0].row.ty, Some(DocType::Scalar("int")));
        assert_eq!(warnings[0].0, 1);
    }

    #[test]
    fn example_keys_the_table_does_not_list_are_reported() {
        let rows = vec![row(3, "person", "person"), row(4, "openId", "string")];
        let example = json!({"person": {"openId": "ou", "userId": "7"}});
        let mut warnings = Vec::new();
        rebuild(rows, Some(&example), &mut |l, w| warnings.push((l, w))).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].0, 3);
        assert!(warnings[0].1.contains("`userId`"), "{warnings:?}");
    }

    #[test]
    fn objects_nest_at_most_the_limit_deep() {
        let chain = |objects: usize| -> Vec<FieldRow> {
            (0..objects)
                .map(|d| {
                    let mut row = row(d + 1, &format!("o{d}"), "object");
                    row.depth = Some(d);
                    row
                })
                .collect()
        };
        let tree = rebuild(chain(MAX_OBJECT_DEPTH), None, &mut |_, _| {}).unwrap();
        let mut depth = 0;
        let mut level = &tree;
        while let Some(node) = level.first() {
            depth += 1;
            level = &node.children;
        }
        assert_eq!(depth, MAX_OBJECT_DEPTH);
        let error = rebuild(chain(1_000), None, &mut |_, _| {}).unwrap_err();
        assert_eq!(
            error,
            TooBig::Deep {
                line: MAX_OBJECT_DEPTH + 1
            },
            "the first row too deep"
        );
    }
}
