//! The generated crate as the spec makes it: the checked-in copy kept fresh (its git diff
//! is what a maintainer reviews), and snapshots of the obstacle course's output.

use feishu_codegen::emit::{HEADER, TOML_HEADER};
use feishu_codegen::{output, spec};
use feishu_tests::{generated_dir, root, spec_dir};

/// The obstacle course's output, so a change in naming shows up for review.
#[test]
fn obstacle_course_files_match_their_snapshots() {
    assert_snapshots(
        &root().join("tests/fixtures/obstacle/spec"),
        "snapshots/obstacle",
    );
}

fn assert_snapshots(spec: &std::path::Path, snapshot_dir: &str) {
    let generated = feishu_codegen::generate(spec).unwrap_or_else(|d| panic!("{d}"));
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshot_dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for (path, content) in &generated.files {
            insta::assert_snapshot!(snapshot_name(path), content);
        }
    });
}

/// A file's snapshot: its module path for Rust (`im__v2__chat_button`, a service crate's
/// root `im__mod`, the `feishu` crate's `src/services.rs` just `mod`), `im__Cargo.toml`
/// for a service crate's other files, and its name for a file beside the service crates.
fn snapshot_name(path: &str) -> String {
    if path == feishu_codegen::emit::SERVICES_FILE {
        return "mod".to_owned();
    }
    let path = path
        .strip_prefix("services/")
        .unwrap_or_else(|| panic!("a generated file outside services/: {path}"));
    let Some((service, file)) = path.split_once('/') else {
        return path.to_owned();
    };
    let module = match file.strip_prefix("src/") {
        Some("lib.rs") => "mod",
        Some(rust) => rust.trim_end_matches(".rs"),
        None => file,
    };
    format!("{service}/{module}").replace('/', "__")
}

#[test]
fn checked_in_generated_crate_is_fresh() {
    let generated = feishu_codegen::generate(&spec_dir()).unwrap_or_else(|d| panic!("{d}"));
    let plan = output::plan(&generated_dir(), &generated).unwrap_or_else(|err| panic!("{err}"));
    let changes: Vec<String> = plan.changes.iter().map(|c| c.to_string()).collect();
    assert!(
        changes.is_empty(),
        "generated/ is out of date; run `cargo xtask codegen`:\n{}",
        changes.join("\n")
    );
}

#[test]
/// The output depends on the spec's content only: not on where the spec is, nor on the
/// order the file system lists its files in (here: created in opposite orders).
fn codegen_is_deterministic() {
    let mut files = Vec::new();
    let mut stack = vec![spec_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path)
            } else {
                files.push(path)
            }
        }
    }
    files.sort();
    let copy = |order: &mut dyn Iterator<Item = &std::path::PathBuf>, to: &std::path::Path| {
        for file in order {
            let target = to.join(file.strip_prefix(spec_dir()).unwrap());
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(file, target).unwrap();
        }
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    copy(&mut files.iter(), &a.path().join("one"));
    copy(&mut files.iter().rev(), &b.path().join("elsewhere/two"));
    let first = feishu_codegen::generate(&a.path().join("one")).unwrap_or_else(|d| panic!("{d}"));
    let second =
        feishu_codegen::generate(&b.path().join("elsewhere/two")).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(first, second);
    assert_eq!(first, feishu_codegen::generate(&spec_dir()).unwrap());
}

#[test]
fn every_generated_file_starts_with_the_header() {
    let generated = feishu_codegen::generate(&spec_dir()).unwrap_or_else(|d| panic!("{d}"));
    assert!(!generated.files.is_empty());
    for (path, content) in &generated.files {
        let header = if path.ends_with(".toml") {
            TOML_HEADER
        } else {
            HEADER
        };
        assert!(content.starts_with(header), "{path}");
    }
}

#[test]
fn spec_json_schemas_are_fresh() {
    for (file, schema) in [
        ("spec/schema.json", spec::json_schema()),
        (
            "spec/shared-types.schema.json",
            spec::shared_types_json_schema(),
        ),
    ] {
        let on_disk = std::fs::read_to_string(root().join(file)).unwrap_or_default();
        assert!(
            on_disk == schema,
            "{file} is out of date; run `cargo xtask schema`"
        );
    }
}
