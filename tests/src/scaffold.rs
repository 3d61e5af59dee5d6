//! A workspace of its own, laid out like the project's (the runtime crate copied, and a
//! `generated/` directory), into which code generated from another spec can be written
//! and compiled.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::root;

/// Makes `dest` a workspace for a generated tree, with warnings denied in every crate of
/// it (the generated service crates included) and the project's lock file, so it builds
/// offline with the versions the project uses. Returns the directory to generate into
/// (`dest/generated`), where the cargo commands below run.
pub fn scaffold_crate(dest: &Path) -> std::io::Result<PathBuf> {
    feishu_codegen::output::scaffold_workspace(
        &root().join(feishu_codegen::output::RUNTIME_DIR),
        &root().join("Cargo.lock"),
        dest,
        &["-D", "warnings"],
    )?;
    Ok(dest.join(feishu_codegen::output::GENERATED_DIR))
}

/// Every service, and every derive: all the generated code.
const ALL_CODE: &str = "full,roundtrip,schemars";

/// `cargo check` of a scaffolded crate, offline, in a target dir kept between runs: with
/// every service and derive, and with the services alone (the derives the client needs).
/// Returns the compiler's output on failure.
pub fn cargo_check(dir: &Path) -> Result<(), String> {
    for features in [ALL_CODE, "full"] {
        cargo_check_features(dir, features)?;
    }
    Ok(())
}

/// `cargo check` of a scaffolded crate with only `features` (comma-separated) on.
pub fn cargo_check_features(dir: &Path, features: &str) -> Result<(), String> {
    cargo(
        dir,
        &[
            "check",
            "--offline",
            "--quiet",
            "--no-default-features",
            "--features",
            features,
            "--lib",
        ],
    )
}

/// `cargo check` of one crate of a scaffolded tree on its own (e.g. a service crate,
/// `feishu-im`), with its default features.
pub fn cargo_check_package(dir: &Path, package: &str) -> Result<(), String> {
    cargo(
        dir,
        &[
            "check",
            "--offline",
            "--quiet",
            "--package",
            package,
            "--lib",
        ],
    )
}

/// `cargo doc` of a scaffolded crate with rustdoc's warnings denied: page text must not
/// break the docs.
pub fn cargo_doc(dir: &Path) -> Result<(), String> {
    cargo(
        dir,
        &[
            "doc",
            "--offline",
            "--quiet",
            "--no-default-features",
            "--features",
            ALL_CODE,
            "--no-deps",
            "--lib",
        ],
    )
}

/// `cargo test` of one integration test of a scaffolded crate.
pub fn cargo_test(dir: &Path, test: &str) -> Result<(), String> {
    cargo(
        dir,
        &[
            "test",
            "--offline",
            "--quiet",
            "--no-default-features",
            "--features",
            ALL_CODE,
            "--test",
            test,
        ],
    )
}

fn cargo(dir: &Path, args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", root().join("target/scaffold"))
        .env("RUSTDOCFLAGS", "-D warnings")
        .env_remove("RUSTFLAGS")
        .output()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
