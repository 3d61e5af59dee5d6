//! The Feishu bindings generator: spec → IR → Rust.
//!
//! - [`spec`] loads `spec/` and checks it, reporting every problem with its file, line,
//!   column and field path;
//! - [`ir`] lowers the spec to modules, types and operations, with every Rust name decided
//!   in [`naming`];
//! - [`emit`] turns the IR into formatted Rust files;
//! - [`output`] compares those files with what is on disk and writes only what changed,
//!   never touching a file that lacks the generated header.

pub mod diagnostic;
pub mod emit;
pub mod ir;
pub mod naming;
pub mod output;
pub mod rustdoc;
pub mod spec;

pub use diagnostic::{Diagnostic, Diagnostics};

use std::path::Path;

/// Loads, checks, lowers and emits the spec in `spec_dir`, entirely in memory.
pub fn generate(spec_dir: &Path) -> Result<emit::GeneratedFiles, Diagnostics> {
    // Files that do not parse do not stop the others from being checked.
    let (spec, mut diagnostics) = spec::load_all(spec_dir);
    let types = match spec::validate_loaded(&spec, diagnostics.is_empty()) {
        Ok(types) if diagnostics.is_empty() => types,
        Ok(_) => return diagnostics.into_result(emit::GeneratedFiles::default()),
        Err(more) => {
            diagnostics.0.extend(more.0);
            return diagnostics.into_result(emit::GeneratedFiles::default());
        }
    };
    let ir = ir::lower(&spec, &types)?;
    Ok(emit::emit(&ir))
}
