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

/// Generates the crates for `spec_dir` into a fresh workspace at `workspace` (laid out
/// like the project's: a copy of the runtime, and the generated `feishu` crate with its
/// service crates), building offline with the project's lock file. Returns the `feishu`
/// crate's directory.
pub fn generate_crate(spec_dir: &Path, workspace: &Path) -> Result<PathBuf, String> {
    use feishu_codegen::output;
    if workspace.exists() {
        std::fs::remove_dir_all(workspace).map_err(|e| e.to_string())?;
    }
    let generated = feishu_codegen::generate(spec_dir).map_err(|d| d.to_string())?;
    output::scaffold_workspace(
        &root().join(output::RUNTIME_DIR),
        &root().join("Cargo.lock"),
        workspace,
        &[],
    )
    .map_err(|e| e.to_string())?;
    let crate_dir = workspace.join(output::GENERATED_DIR);
    output::plan(&crate_dir, &generated)
        .and_then(|plan| plan.apply())
        .map_err(|e| e.to_string())?;
    Ok(crate_dir)
}
