//! The documented rules a request is checked against before it is sent: lengths of
//! strings and lists, ranges of numbers. Generated types with rules, or holding types
//! with rules, implement [`Validate`].

use std::collections::BTreeMap;

use crate::error::FieldViolation;

/// A value with documented rules to check.
pub trait Validate {
    /// Appends the rules `self` breaks; `at` is the path of `self` in the request body
    /// (empty at the top).
    fn validate(&self, at: &str, out: &mut Vec<FieldViolation>);
}

impl<T: Validate> Validate for Option<T> {
    fn validate(&self, at: &str, out: &mut Vec<FieldViolation>) {
        if let Some(value) = self {
            value.validate(at, out);
        }
    }
}

impl<T: Validate> Validate for Box<T> {
    fn validate(&self, at: &str, out: &mut Vec<FieldViolation>) {
        (**self).validate(at, out);
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate(&self, at: &str, out: &mut Vec<FieldViolation>) {
        for (index, item) in self.iter().enumerate() {
            item.validate(&format!("{at}[{index}]"), out);
        }
    }
}

impl<T: Validate> Validate for BTreeMap<String, T> {
    fn validate(&self, at: &str, out: &mut Vec<FieldViolation>) {
        for (key, value) in self {
            value.validate(&field_path(at, key), out);
        }
    }
}

/// The path of field `wire` inside the value at `at`; an empty `wire` is the value itself.
pub fn field_path(at: &str, wire: &str) -> String {
    match (at, wire) {
        ("", wire) => wire.to_owned(),
        (at, "") => at.to_owned(),
        (at, wire) => format!("{at}.{wire}"),
    }
}

/// What a length rule counts: characters of a string, items of a list.
pub trait Measure {
    /// The length as the rule counts it.
    fn measure(&self) -> usize;
}

impl Measure for String {
    fn measure(&self) -> usize {
        self.chars().count()
    }
}

impl<T> Measure for Vec<T> {
    fn measure(&self) -> usize {
        self.len()
    }
}

/// Checks a length rule of field `wire` of the value at `at`.
pub fn check_length(
    out: &mut Vec<FieldViolation>,
    at: &str,
    wire: &str,
    value: &impl Measure,
    min: Option<u64>,
    max: Option<u64>,
) {
    let length = value.measure() as u64;
    let description = match (min, max) {
        (Some(min), _) if length < min => format!("length {length} is below the minimum {min}"),
        (_, Some(max)) if length > max => format!("length {length} is above the maximum {max}"),
        _ => return,
    };
    out.push(FieldViolation::new(field_path(at, wire), description));
}

/// Checks a range rule of field `wire` of the value at `at`.
pub fn check_range(
    out: &mut Vec<FieldViolation>,
    at: &str,
    wire: &str,
    value: f64,
    min: Option<f64>,
    max: Option<f64>,
) {
    let description = match (min, max) {
        (Some(min), _) if value < min => format!("{value} is below the minimum {min}"),
        (_, Some(max)) if value > max => format!("{value} is above the maximum {max}"),
        _ => return,
    };
    out.push(FieldViolation::new(field_path(at, wire), description));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters_and_items() {
        let mut out = Vec::new();
        check_length(&mut out, "", "a", &"工单".to_owned(), Some(1), Some(2));
        check_length(&mut out, "", "b", &vec![1, 2, 3], None, Some(2));
        check_length(&mut out, "x[0]", "c", &String::new(), Some(1), None);
        check_range(&mut out, "", "d", 5.0, Some(1.0), Some(4.0));
        check_range(&mut out, "", "e", 2.0, Some(1.0), Some(4.0));
        check_length(&mut out, "body", "", &String::new(), Some(1), None);
        let fields: Vec<_> = out.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["b", "x[0].c", "d", "body"]);
        assert_eq!(out[0].description, "length 3 is above the maximum 2");
    }

    #[test]
    fn paths_name_list_items_and_nested_fields() {
        struct Leaf;
        impl Validate for Leaf {
            fn validate(&self, at: &str, out: &mut Vec<FieldViolation>) {
                out.push(FieldViolation::new(field_path(at, "x"), "bad"));
            }
        }
        let mut out = Vec::new();
        Some(vec![Leaf, Leaf]).validate("items", &mut out);
        Box::new(Leaf).validate("", &mut out);
        let fields: Vec<_> = out.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["items[0].x", "items[1].x", "x"]);
    }
}
