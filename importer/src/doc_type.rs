//! The type column: what Feishu writes (`string`, `int`, `number(float)`, `boolean`,
//! `string[]`, `map<string, string>`, `i18n[]`, `object`, `\-`) and the spec type it means.

use heck::ToSnakeCase;

/// A type as the doc page gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocType {
    /// `string`, `int`, `int32`, `int64`, `float`, `bool` or `any`, as the spec spells them.
    Scalar(&'static str),
    /// A named object type (`progress_record`), in snake_case.
    Named(String),
    /// An object without a type name (`object`, `\-`, `json`).
    Object,
    Array(Box<DocType>),
    /// `map<string, T>`.
    Map(Box<DocType>),
}

impl DocType {
    /// The object at the bottom of arrays, if any: the rows after this one may be its fields.
    pub fn object_leaf(&self) -> Option<&DocType> {
        match self {
            DocType::Array(inner) => inner.object_leaf(),
            DocType::Named(_) | DocType::Object => Some(self),
            _ => None,
        }
    }

    /// The same array nesting around another leaf.
    pub fn with_leaf(&self, leaf: DocType) -> DocType {
        match self {
            DocType::Array(inner) => DocType::Array(Box::new(inner.with_leaf(leaf))),
            _ => leaf,
        }
    }

    /// The spec's spelling; objects need a name, given by `object_name`.
    pub fn spec(&self, object_name: &str) -> String {
        match self {
            DocType::Scalar(s) => (*s).to_owned(),
            DocType::Named(_) | DocType::Object => object_name.to_owned(),
            DocType::Array(inner) => format!("{}[]", inner.spec(object_name)),
            DocType::Map(inner) => format!("map<string, {}>", inner.spec(object_name)),
        }
    }
}

/// Reads a type cell. `Err` carries what could not be read. Arrays and maps may nest at
/// most as deep as the spec allows.
pub fn parse(cell: &str) -> Result<DocType, String> {
    parse_within(cell, feishu_spec::MAX_TYPE_DEPTH)
}

fn parse_within(cell: &str, depth: usize) -> Result<DocType, String> {
    let parse = |inner: &str| match depth {
        0 => Err(format!(
            "the type nests arrays and maps more than {} levels deep",
            feishu_spec::MAX_TYPE_DEPTH
        )),
        _ => parse_within(inner, depth - 1),
    };
    let text = crate::cell::decode_entities(cell)
        .replace("\\[", "[")
        .replace("\\]", "]")
        .replace("\\-", "-")
        .replace("\\_", "_")
        .replace('`', "");
    let text = text.trim();
    if let Some(inner) = text.strip_suffix("[]") {
        return Ok(DocType::Array(Box::new(parse(inner)?)));
    }
    let lower = text.to_ascii_lowercase();
    // `array<string>`, `list<int>`: the generic spelling of `T[]`.
    if let Some(inner) = ["array<", "list<"]
        .iter()
        .find_map(|open| lower.strip_prefix(open))
        .and_then(|rest| rest.strip_suffix('>'))
    {
        return Ok(DocType::Array(Box::new(parse(inner)?)));
    }
    if let Some(inner) = lower
        .strip_prefix("map<")
        .and_then(|rest| rest.strip_suffix('>'))
    {
        let (key, value) = inner
            .split_once(',')
            .ok_or_else(|| format!("`{text}`: a map type names its key and value types"))?;
        if key.trim() != "string" {
            return Err(format!(
                "`{text}`: map keys other than string are not supported"
            ));
        }
        return Ok(DocType::Map(Box::new(parse(value)?)));
    }
    Ok(match lower.as_str() {
        "string" | "str" => DocType::Scalar("string"),
        "int" | "integer" => DocType::Scalar("int"),
        "int32" => DocType::Scalar("int32"),
        "int64" | "long" => DocType::Scalar("int64"),
        "float" | "double" | "number" | "number(float)" | "number(double)" | "float64" => {
            DocType::Scalar("float")
        }
        "boolean" | "bool" => DocType::Scalar("bool"),
        "object" | "json" | "map" | "-" | "/" | "" | "struct" => DocType::Object,
        // `union`: a value of one of several types, e.g. a bitable cell.
        "any" | "interface{}" | "interface" | "union" => DocType::Scalar("any"),
        "array" | "list" => DocType::Array(Box::new(DocType::Scalar("any"))),
        // Dotted names (`app.table.record`) are the SDKs' type paths.
        _ if text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') =>
        {
            DocType::Named(text.replace('.', "_").to_snake_case())
        }
        _ => return Err(format!("`{text}` is not a type the importer knows")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_cell_nested_too_deep_is_an_error_not_a_stack_overflow() {
        assert!(parse(&format!("string{}", "\\[\\]".repeat(8))).is_ok());
        let error = parse(&format!("string{}", "\\[\\]".repeat(1000))).unwrap_err();
        assert!(error.contains("more than 8 levels"), "{error}");
    }

    #[test]
    fn maps_every_documented_spelling() {
        let cases = [
            ("string", "string"),
            ("int", "int"),
            ("int64", "int64"),
            ("float", "float"),
            ("number(float)", "float"),
            ("boolean", "bool"),
            (r"string\[\]", "string[]"),
            ("int[]", "int[]"),
            ("map&lt;string, string&gt;", "map<string, string>"),
            ("map<string, int>", "map<string, int>"),
            ("progress_record", "OBJ"),
            (r"content_block_element\[\]", "OBJ[]"),
            ("social_plan_condition[][]", "OBJ[][]"),
            (r"\-", "OBJ"),
            ("object", "OBJ"),
            ("array<string>", "string[]"),
            ("list<int>", "int[]"),
        ];
        for (cell, spec) in cases {
            assert_eq!(parse(cell).unwrap().spec("OBJ"), spec, "{cell}");
        }
        assert_eq!(
            parse("offerSchemaName").unwrap(),
            DocType::Named("offer_schema_name".into())
        );
        assert_eq!(
            parse("i18n[]").unwrap().object_leaf(),
            Some(&DocType::Named("i18n".into()))
        );
        assert_eq!(
            parse("app.table.record").unwrap(),
            DocType::Named("app_table_record".into())
        );
        assert!(parse("map<int, string>").is_err());
        assert!(parse("string or int").is_err());
    }
}
