//! `cargo xtask schema [--check]` (which runs this binary): writes the spec format's JSON
//! Schemas into `spec/` from the model, or with `--check` fails when they are out of date.
//! A binary of the spec crate's `schema` feature, so that schemars stays out of
//! `cargo xtask codegen`'s build.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace's `spec/`.
fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("spec-format/ sits in the workspace")
        .join("spec")
}

fn run(args: &[String]) -> Result<(), String> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => {
            return Err(format!(
                "usage: cargo xtask schema [--check] (got {args:?})"
            ));
        }
    };
    let spec = spec_dir();
    let files = [
        (spec.join("schema.json"), feishu_spec::json_schema()),
        (
            spec.join("shared-types.schema.json"),
            feishu_spec::shared_types_json_schema(),
        ),
        (
            spec.join("event.schema.json"),
            feishu_spec::event_json_schema(),
        ),
    ];
    for (path, content) in files {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == content {
            continue;
        }
        if check {
            return Err(format!(
                "{} is out of date: run `cargo xtask schema`",
                path.display()
            ));
        }
        std::fs::write(&path, content).map_err(|err| format!("{}: {err}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
