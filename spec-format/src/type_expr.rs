//! The little language of a field's `type`: `string`, `int64`, `foo_item[]`,
//! `map<string, string>`, `social_plan_condition[][]`, …

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Primitive {
    String,
    /// Feishu's plain `int`: carried as i64, because pages use it for millisecond timestamps.
    Int,
    Int32,
    Int64,
    Float,
    Bool,
    /// Any JSON value, for fields the page leaves untyped.
    Any,
    /// A file part of a multipart upload (`binary`: doc object types are named `file`).
    File,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeExpr {
    Primitive(Primitive),
    /// A named object type, by its snake_case doc name.
    Named(String),
    Array(Box<TypeExpr>),
    /// `map<string, T>`: JSON objects with arbitrary keys.
    Map(Box<TypeExpr>),
}

/// How deeply arrays and maps may nest in one type: Feishu's deepest is `T[][]`. A
/// limit keeps every recursion over a type (parsing, lowering, printing) shallow.
pub const MAX_TYPE_DEPTH: usize = 8;

impl TypeExpr {
    pub fn parse(text: &str) -> Result<TypeExpr, String> {
        TypeExpr::parse_within(text, MAX_TYPE_DEPTH)
    }

    fn parse_within(text: &str, depth: usize) -> Result<TypeExpr, String> {
        let text = text.trim();
        let nested = |inner: &str| match depth {
            0 => Err(format!(
                "the type nests arrays and maps more than {MAX_TYPE_DEPTH} levels deep"
            )),
            _ => TypeExpr::parse_within(inner, depth - 1).map(Box::new),
        };
        if let Some(inner) = text.strip_suffix("[]") {
            return Ok(TypeExpr::Array(nested(inner)?));
        }
        if let Some(args) = text
            .strip_prefix("map<")
            .and_then(|rest| rest.strip_suffix('>'))
        {
            let (key, value) = args
                .split_once(',')
                .ok_or_else(|| format!("`{text}`: a map is written `map<string, T>`"))?;
            if key.trim() != "string" {
                return Err(format!(
                    "`{text}`: map keys are JSON object keys, so they must be `string`"
                ));
            }
            return Ok(TypeExpr::Map(nested(value)?));
        }
        let primitive = match text {
            "string" => Primitive::String,
            "int" => Primitive::Int,
            "int32" => Primitive::Int32,
            "int64" => Primitive::Int64,
            "float" => Primitive::Float,
            "bool" => Primitive::Bool,
            "any" => Primitive::Any,
            "binary" => Primitive::File,
            _ if is_snake_case(text) => return Ok(TypeExpr::Named(text.to_owned())),
            _ => {
                return Err(format!(
                    "`{text}` is not a type: expected string, int, int32, int64, float, bool, any, binary, \
                     a snake_case type name, `T[]` or `map<string, T>`"
                ));
            }
        };
        Ok(TypeExpr::Primitive(primitive))
    }

    /// The named type at the bottom of arrays and maps, if any.
    pub fn named(&self) -> Option<&str> {
        match self {
            TypeExpr::Primitive(_) => None,
            TypeExpr::Named(name) => Some(name),
            TypeExpr::Array(inner) | TypeExpr::Map(inner) => inner.named(),
        }
    }

    /// The type at the bottom of arrays and maps.
    pub fn leaf(&self) -> &TypeExpr {
        match self {
            TypeExpr::Array(inner) | TypeExpr::Map(inner) => inner.leaf(),
            other => other,
        }
    }

    /// Replaces the leaf type, keeping the arrays and maps around it.
    pub fn with_leaf(&self, leaf: TypeExpr) -> TypeExpr {
        match self {
            TypeExpr::Array(inner) => TypeExpr::Array(Box::new(inner.with_leaf(leaf))),
            TypeExpr::Map(inner) => TypeExpr::Map(Box::new(inner.with_leaf(leaf))),
            _ => leaf,
        }
    }
}

impl fmt::Display for TypeExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeExpr::Primitive(p) => f.write_str(match p {
                Primitive::String => "string",
                Primitive::Int => "int",
                Primitive::Int32 => "int32",
                Primitive::Int64 => "int64",
                Primitive::Float => "float",
                Primitive::Bool => "bool",
                Primitive::Any => "any",
                Primitive::File => "binary",
            }),
            TypeExpr::Named(name) => f.write_str(name),
            TypeExpr::Array(inner) => write!(f, "{inner}[]"),
            TypeExpr::Map(inner) => write!(f, "map<string, {inner}>"),
        }
    }
}

/// `lower_snake_case`: what spec file names, type names and enum names must be.
pub fn is_snake_case(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            TypeExpr::parse("string"),
            Ok(TypeExpr::Primitive(Primitive::String))
        );
        assert_eq!(
            TypeExpr::parse("map<string, string>"),
            Ok(TypeExpr::Map(Box::new(TypeExpr::Primitive(
                Primitive::String
            ))))
        );
        let nested = TypeExpr::parse("social_plan_condition[][]").unwrap();
        assert_eq!(nested.named(), Some("social_plan_condition"));
        assert_eq!(nested.to_string(), "social_plan_condition[][]");
        assert_eq!(
            TypeExpr::parse("map<string,int64[]>").unwrap().to_string(),
            "map<string, int64[]>"
        );
    }

    #[test]
    fn a_type_nested_too_deep_is_an_error_not_a_stack_overflow() {
        let deep = |depth| format!("string{}", "[]".repeat(depth));
        assert!(TypeExpr::parse(&deep(MAX_TYPE_DEPTH)).is_ok());
        let error = TypeExpr::parse(&deep(MAX_TYPE_DEPTH + 1)).unwrap_err();
        assert!(error.contains("more than 8 levels"), "{error}");
        assert!(TypeExpr::parse(&deep(100_000)).is_err());
        let maps = format!(
            "{}int{}",
            "map<string, ".repeat(100_000),
            ">".repeat(100_000)
        );
        assert!(TypeExpr::parse(&maps).is_err());
    }

    #[test]
    fn rejects_what_it_cannot_type() {
        assert!(TypeExpr::parse("Foo").is_err());
        assert!(TypeExpr::parse("map<int, string>").is_err());
        assert!(TypeExpr::parse("list of string").is_err());
        assert!(TypeExpr::parse("").is_err());
    }
}
