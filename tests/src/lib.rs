//! Shared support for the tests in `tests/tests/`: where things are, a recording HTTP
//! server on 127.0.0.1, the table of generated endpoints, and crate scaffolding for
//! compiling code generated from other specs.

// `feishu::__for_each_endpoint!` and `__for_each_event!` visit every service, two macro
// calls deep each.
#![recursion_limit = "512"]

pub mod conform;
pub mod emulated;
pub mod endpoints;
pub mod events;
pub mod scaffold;
pub mod server;

use std::path::{Path, PathBuf};

use feishu_spec::{Diagnostics, Overlay};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

pub fn spec_dir() -> PathBuf {
    root().join("spec")
}

pub fn generated_dir() -> PathBuf {
    root().join("generated")
}

/// The check `cargo xtask import` hands the importer: the spec tree as an import would
/// leave it still generates.
pub fn still_generates(spec_dir: &Path, overlay: &Overlay) -> Result<(), Diagnostics> {
    feishu_codegen::generate_with(spec_dir, overlay).map(drop)
}

/// The README's Rust examples are compiled as doctests, so the quickstart stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
