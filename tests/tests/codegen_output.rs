//! The generated crate as the spec makes it: snapshots of every file (the diff a
//! maintainer reviews), and the checked-in copy kept fresh.

use feishu_codegen::{emit::HEADER, output, spec};
use feishu_tests::{generated_dir, root, spec_dir};

#[test]
fn generated_files_match_their_snapshots() {
    let generated = feishu_codegen::generate(&spec_dir()).unwrap_or_else(|d| panic!("{d}"));
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/generated");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for (path, content) in &generated.files {
            let name = path
                .trim_start_matches("src/api/")
                .trim_end_matches(".rs")
                .replace('/', "__");
            insta::assert_snapshot!(name, content);
        }
    });
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
fn codegen_is_deterministic() {
    let first = feishu_codegen::generate(&spec_dir()).unwrap_or_else(|d| panic!("{d}"));
    let second = feishu_codegen::generate(&spec_dir()).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(first, second);
}

#[test]
fn every_generated_file_starts_with_the_header() {
    let generated = feishu_codegen::generate(&spec_dir()).unwrap_or_else(|d| panic!("{d}"));
    assert!(!generated.files.is_empty());
    for (path, content) in &generated.files {
        assert!(content.starts_with(HEADER), "{path}");
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
