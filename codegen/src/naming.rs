//! Every Rust name the generator makes is decided here: case conversion, keyword
//! escaping, and telling apart names that collide after conversion. The wire name is kept
//! beside the Rust name wherever they differ, for `#[serde(rename)]`.

use std::collections::BTreeSet;

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

/// Keywords that can be written as raw identifiers (`r#type`).
const RAW_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers; they get a trailing underscore instead.
const UNRAWABLE_KEYWORDS: &[&str] = &["crate", "self", "super", "Self", "_"];

/// The client's own methods: a service accessor (`client.helpdesk()`) may not take these
/// names. Keep in step with `codegen/templates/facade/lib.rs` and `runtime/src/client.rs`.
pub const CLIENT_METHODS: &[&str] = &[
    "app_token",
    "base_url",
    "builder",
    "fetch_token",
    "marketplace_builder",
];

/// Names of the prelude and of the std types generated code writes unqualified; a
/// generated type may not shadow them.
pub const PRELUDE_TYPES: &[&str] = &[
    "Box", "Err", "None", "Ok", "Option", "Result", "Some", "String", "Vec",
];

/// What the hand-written `lib.rs` of the `feishu` crate defines at its root, beside the
/// re-exported services; a service module may not take these names.
pub const CRATE_ROOT_ITEMS: &[&str] = &["runtime", "services"];

/// The workspace's crates beside the service crates, whose names no service crate may
/// take (the tidy test keeps this list in step with the workspace).
pub const RESERVED_CRATES: &[&str] = &[
    "feishu",
    "feishu-bench",
    "feishu-codegen",
    "feishu-emulator",
    "feishu-emulator-server",
    "feishu-fuzz",
    "feishu-import",
    "feishu-runtime",
    "feishu-spec",
    "feishu-tests",
];

/// The generated crate's own features (and its optional dependency), which no service may
/// be named after, since each service is a feature too.
pub const RESERVED_FEATURES: &[&str] = &[
    "default",
    "full",
    "native-tls",
    "roundtrip",
    "rustls",
    "rustls-aws-lc",
    "schemars",
    "websocket",
];

/// The cargo package of a service: `feishu-<service>`, with `_` written `-` as cargo
/// package names usually are.
pub fn service_crate(service: &str) -> String {
    format!("feishu-{}", service.replace('_', "-"))
}

/// The Rust name of a service's crate (`feishu_im`), as cargo makes it from the package.
pub fn service_crate_ident(service: &str) -> Ident {
    Ident::new(&service_crate(service).replace('-', "_"), Span::call_site())
}

/// The module of a service: its name, unless the crate root already has that name.
pub fn service_module(service: &str) -> RustName {
    let name = snake(service, "service");
    if CRATE_ROOT_ITEMS.contains(&name.bare()) {
        snake(&format!("{service}_service"), "service")
    } else {
        name
    }
}

/// Struct methods generated beside the setters.
pub const CONSTRUCTOR: &str = "new";

/// A Rust identifier as it is written in source, `r#` prefix included.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RustName(String);

impl RustName {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name without a raw prefix, e.g. for building other names from it.
    pub fn bare(&self) -> &str {
        self.0.strip_prefix("r#").unwrap_or(&self.0)
    }

    pub fn ident(&self) -> Ident {
        match self.0.strip_prefix("r#") {
            Some(raw) => Ident::new_raw(raw, Span::call_site()),
            None => Ident::new(&self.0, Span::call_site()),
        }
    }
}

impl std::fmt::Display for RustName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn escape(name: String) -> RustName {
    if RAW_KEYWORDS.contains(&name.as_str()) {
        RustName(format!("r#{name}"))
    } else if UNRAWABLE_KEYWORDS.contains(&name.as_str()) {
        RustName(format!("{name}_"))
    } else {
        RustName(name)
    }
}

/// Whether `name` can be used as an identifier once escaped: ASCII, not starting with a digit.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `snake_case` for fields, functions and modules. `fallback` is used when the wire name
/// makes no identifier (empty, or not ASCII).
pub fn snake(wire: &str, fallback: &str) -> RustName {
    let mut name = wire.to_snake_case();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if !is_identifier(&name) {
        name = fallback.to_owned();
    }
    escape(name)
}

/// `UpperCamelCase` for types and variants; None when the text makes no identifier.
pub fn pascal(text: &str) -> Option<RustName> {
    let mut name = text.to_upper_camel_case();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'N');
    }
    is_identifier(&name).then(|| escape(name))
}

/// The Rust name of a doc object type, `notification_user` → `NotificationUser`.
pub fn type_name(doc_name: &str) -> RustName {
    pascal(doc_name).unwrap_or_else(|| RustName("Object".to_owned()))
}

/// The Rust name of a doc object type; a shape told apart by the endpoint that defines
/// it is prefixed with the endpoint's method (`create` + `address` → `CreateAddress`).
pub fn doc_type_name(doc_name: &str, variant: Option<&str>) -> RustName {
    match variant {
        Some(method) => type_name(&format!("{method}_{doc_name}")),
        None => type_name(doc_name),
    }
}

/// The variant for an enum option: its given name, else its string value, else `V{n}`
/// for integers (`V0`, `VMinus1`).
pub fn variant_name(given: Option<&str>, value: &serde_json::Value, index: usize) -> RustName {
    if let Some(name) = given.and_then(pascal) {
        return name;
    }
    match value {
        serde_json::Value::String(s) => {
            pascal(s).unwrap_or_else(|| RustName(format!("Value{index}")))
        }
        serde_json::Value::Number(n) => {
            let text = n.to_string().replace('-', "Minus");
            RustName(format!("V{text}"))
        }
        _ => RustName(format!("Value{index}")),
    }
}

/// The builder method for a field: the field's own name, unless that is the constructor's.
pub fn setter_name(field: &RustName) -> RustName {
    if field.bare() == CONSTRUCTOR {
        RustName(format!("with_{CONSTRUCTOR}"))
    } else {
        field.clone()
    }
}

/// Hands out names within one scope (a module's items, a struct's fields, an enum's
/// variants), so that two things never get the same name. The first to ask keeps the
/// plain name; later ones get a numeric suffix. Callers ask in a fixed order, so the
/// outcome is the same on every run.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    taken: BTreeSet<String>,
}

impl Scope {
    /// A scope in which `reserved` are already taken (e.g. the fallback variant `Unknown`).
    pub fn with_reserved(reserved: &[&str]) -> Scope {
        Scope {
            taken: reserved.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    pub fn claim(&mut self, name: RustName) -> RustName {
        if self.taken.insert(name.bare().to_owned()) {
            return name;
        }
        // `self_` becomes `self_2`, not `self__2`.
        let base = name.bare().trim_end_matches('_');
        let separator = if base.starts_with(|c: char| c.is_ascii_uppercase()) {
            ""
        } else {
            "_"
        };
        (2..)
            .map(|n| RustName(format!("{base}{separator}{n}")))
            .find(|candidate| self.taken.insert(candidate.0.clone()))
            .expect("an unused suffix exists")
    }

    pub fn is_taken(&self, name: &str) -> bool {
        self.taken.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_keywords() {
        assert_eq!(snake("type", "f").as_str(), "r#type");
        assert_eq!(snake("self", "f").as_str(), "self_");
        assert_eq!(snake("Self", "f").as_str(), "self_");
        assert_eq!(snake("crate", "f").as_str(), "crate_");
        assert_eq!(pascal("self").unwrap().as_str(), "Self_");
        assert_eq!(snake("type", "f").ident().to_string(), "r#type");
    }

    #[test]
    fn converts_case_and_falls_back() {
        assert_eq!(snake("userID", "f").as_str(), "user_id");
        assert_eq!(snake("i18n_name", "f").as_str(), "i18n_name");
        assert_eq!(snake("2fa", "f").as_str(), "_2fa");
        assert_eq!(snake("名称", "field_0").as_str(), "field_0");
        assert_eq!(
            type_name("customized_field_display_item").as_str(),
            "CustomizedFieldDisplayItem"
        );
        assert_eq!(pascal("中文"), None);
    }

    #[test]
    fn services_keep_clear_of_the_crate_root() {
        assert_eq!(service_module("runtime").as_str(), "runtime_service");
        assert_eq!(service_module("helpdesk").as_str(), "helpdesk");
    }

    #[test]
    fn names_variants() {
        assert_eq!(
            variant_name(None, &json!("url_page"), 0).as_str(),
            "UrlPage"
        );
        assert_eq!(variant_name(None, &json!(-1), 0).as_str(), "VMinus1");
        assert_eq!(
            variant_name(Some("handled"), &json!(1), 0).as_str(),
            "Handled"
        );
        assert_eq!(variant_name(None, &json!("默认"), 3).as_str(), "Value3");
    }

    #[test]
    fn scope_separates_collisions() {
        let mut scope = Scope::with_reserved(&["Unknown"]);
        assert_eq!(scope.claim(pascal("unknown").unwrap()).as_str(), "Unknown2");
        let mut fields = Scope::default();
        assert_eq!(fields.claim(snake("userId", "f")).as_str(), "user_id");
        assert_eq!(fields.claim(snake("user_id", "f")).as_str(), "user_id_2");
        assert_eq!(fields.claim(snake("type", "f")).as_str(), "r#type");
        assert_eq!(fields.claim(snake("type", "f")).as_str(), "type_2");
        assert_eq!(fields.claim(snake("self", "f")).as_str(), "self_");
        assert_eq!(fields.claim(snake("Self", "f")).as_str(), "self_2");
    }
}
