//! The Feishu bindings generator: spec → IR → Rust.
//!
//! The spec is read and checked by [`feishu_spec`], the format it shares with the
//! importer; this crate adds what the generated crates ask of it ([`check`]), then:
//!
//! - [`ir`] lowers the spec to modules, types and operations, with every Rust name decided
//!   in [`naming`];
//! - [`emit`] turns the IR into formatted Rust files;
//! - [`output`] compares those files with what is on disk and writes only what changed,
//!   never touching a file that lacks the generated header, all or nothing
//!   ([`feishu_spec::replace`]).

pub mod check;
pub mod emit;
pub mod ir;
pub mod naming;
pub mod output;
pub mod rustdoc;

use std::path::Path;
use std::time::{Duration, Instant};

use feishu_spec::{Diagnostics, Overlay};

/// Where a [`generate_timed`] run spent its time.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Reading the spec files and parsing the YAML.
    pub load: Duration,
    /// Checking the spec (the format's checks and the generated crates') and building the
    /// type registry.
    pub validate: Duration,
    /// Lowering to the IR.
    pub lower: Duration,
    /// Building each module's tokens with quote.
    pub tokens: Duration,
    /// Parsing the tokens into a `syn::File` and printing it with prettyplease.
    pub format: Duration,
}

/// Loads, checks, lowers and emits the spec in `spec_dir`, entirely in memory.
pub fn generate(spec_dir: &Path) -> Result<emit::GeneratedFiles, Diagnostics> {
    generate_timed(spec_dir, &mut Timings::default())
}

/// [`generate`] from the tree as it would be with the `overlay`'s spec files written into
/// it; diagnostics name those files at their places in `spec_dir`.
pub fn generate_with(
    spec_dir: &Path,
    overlay: &Overlay,
) -> Result<emit::GeneratedFiles, Diagnostics> {
    generate_from(spec_dir, overlay, &mut Timings::default())
}

/// [`generate`], noting the time each phase took.
pub fn generate_timed(
    spec_dir: &Path,
    timings: &mut Timings,
) -> Result<emit::GeneratedFiles, Diagnostics> {
    generate_from(spec_dir, &Overlay::new(), timings)
}

fn generate_from(
    spec_dir: &Path,
    overlay: &Overlay,
    timings: &mut Timings,
) -> Result<emit::GeneratedFiles, Diagnostics> {
    let started = Instant::now();
    // Files that do not parse do not stop the others from being checked.
    let (mut spec, mut diagnostics) = feishu_spec::load_all_with(spec_dir, overlay);
    timings.load = started.elapsed();
    let started = Instant::now();
    check::check(&mut spec, &mut diagnostics);
    let validated = feishu_spec::validate_loaded(&spec, diagnostics.is_empty());
    timings.validate = started.elapsed();
    let types = match validated {
        Ok(types) if diagnostics.is_empty() => types,
        Ok(_) => return diagnostics.into_result(emit::GeneratedFiles::default()),
        Err(more) => {
            diagnostics.0.extend(more.0);
            return diagnostics.into_result(emit::GeneratedFiles::default());
        }
    };
    let started = Instant::now();
    let ir = ir::lower(&spec, &types)?;
    timings.lower = started.elapsed();
    let generated = emit::emit_timed(&ir, timings);
    drop_aside((spec, types, ir));
    Ok(generated)
}

/// Drops `value` on a thread of its own: freeing the whole API's spec and IR takes tens
/// of milliseconds that the caller need not wait for.
fn drop_aside<T: Send + 'static>(value: T) {
    std::thread::spawn(move || drop(value));
}

/// The IR of what [`generate`] emits, for tools that reason about the generated types
/// (the tests build values that fit them).
pub fn lower_generated(spec_dir: &Path) -> Result<ir::Ir, Diagnostics> {
    let mut spec = feishu_spec::load(spec_dir)?;
    let mut diagnostics = Diagnostics::default();
    check::check(&mut spec, &mut diagnostics);
    diagnostics.into_result(())?;
    let types = feishu_spec::validate_loaded(&spec, true)?;
    ir::lower(&spec, &types)
}
