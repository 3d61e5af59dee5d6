//! Benchmark support for the Feishu bindings: synthetic spec trees at Feishu's scale
//! ([`synth`]), and measuring a child process's wall time and peak memory ([`measure`]).
//! The benchmarks themselves are in `benches/`; `cargo bench -p feishu-bench` runs them.

pub mod measure;
pub mod synth;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ sits in the workspace")
        .to_path_buf()
}

/// Where the benchmarks keep their spec trees, crates and target dirs.
pub fn work_dir() -> PathBuf {
    root().join("target/bench")
}

/// `cargo`, as the one running the benchmark.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

/// Writes a spec tree (as [`synth::generate`] makes it) into `dir`, replacing what was there.
pub fn write_fresh(
    files: &std::collections::BTreeMap<String, String>,
    dir: &Path,
) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    synth::write(files, dir)
}

/// Generates the crates for `spec_dir` into `crate_dir` (a fresh copy of the hand-written
/// parts, the `feishu` crate and the runtime, plus the generated service crates), building
/// offline with the workspace's lock file.
pub fn generate_crate(spec_dir: &Path, crate_dir: &Path) -> Result<(), String> {
    if crate_dir.exists() {
        std::fs::remove_dir_all(crate_dir).map_err(|e| e.to_string())?;
    }
    let generated = feishu_codegen::generate(spec_dir).map_err(|d| d.to_string())?;
    feishu_codegen::output::scaffold_crate(
        &root().join("generated"),
        &root().join("Cargo.lock"),
        crate_dir,
        &[],
    )
    .map_err(|e| e.to_string())?;
    feishu_codegen::output::plan(crate_dir, &generated)
        .and_then(|plan| plan.apply())
        .map_err(|e| e.to_string())
}
