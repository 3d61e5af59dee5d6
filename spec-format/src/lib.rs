//! The Feishu endpoint spec format: the contract between the importer, which writes the
//! YAML files under `spec/`, and the generator, which reads them. Neither depends on the
//! other; both depend on this crate.
//!
//! - [`model`] is what one spec file may contain, and [`json_schema`] and its siblings
//!   give its JSON Schema for editors;
//! - [`load`] and [`load_all_with`] find and parse the files of a spec directory, every
//!   value remembering where it was written ([`Located`]);
//! - [`validate`] checks a loaded spec and resolves its named types ([`TypeRegistry`]);
//! - every problem is a [`Diagnostic`] naming the file, line, column and field path;
//! - [`replace`] writes a tree of files all or nothing, for both writers of trees;
//! - [`read_limited`] reads an input file up to a stated limit, for both readers.

pub mod diagnostic;
mod load;
mod located;
pub mod model;
mod read;
pub mod replace;
mod type_expr;
mod types;
mod validate;

pub use diagnostic::{Diagnostic, Diagnostics};

pub use load::{
    EVENT_SUFFIX, EndpointId, EventId, LoadedEndpoint, LoadedEvent, LoadedShared, Overlay,
    QUARANTINE_FILE, SHARED_TYPES_FILE, Spec, load, load_all, load_all_with, parse_str,
};
pub use located::{Located, Pos};
pub use read::{MAX_PAGE_BYTES, MAX_SPEC_FILE_BYTES, ReadError, read_limited};
pub use type_expr::{MAX_TYPE_DEPTH, Primitive, TypeExpr, is_snake_case};
pub use types::{TypeEntry, TypeKey, TypeRegistry, TypeScope};
pub use validate::{MAX_FIELDS, option_keys, validate, validate_loaded};

/// The JSON Schema of an endpoint spec file, for editors (committed as `spec/schema.json`).
#[cfg(feature = "schema")]
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(model::EndpointSpec);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// The JSON Schema of an event spec file (`<name>.event.yaml`).
#[cfg(feature = "schema")]
pub fn event_json_schema() -> String {
    let schema = schemars::schema_for!(model::EventSpec);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// The JSON Schema of a `_types.yaml` file.
#[cfg(feature = "schema")]
pub fn shared_types_json_schema() -> String {
    let schema = schemars::schema_for!(model::SharedTypes);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}
