//! Habits that are easy to lose, checked over the whole tree (as rust-analyzer's tidy
//! test does): every hand-written Rust file opens with a `//!` saying what it is for,
//! every file under `generated/` is codegen's, and the tables kept by hand match what
//! they describe.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use feishu_codegen::emit::is_generated;
use feishu_tests::{generated_dir, root, spec_dir};

/// The directories of hand-written code (tests' fixtures included: they are Rust too).
const HAND_WRITTEN: &[&str] = &[
    "bench",
    "codegen",
    "emulator",
    "fuzz",
    "importer",
    "runtime",
    "spec-format",
    "tests",
    "xtask",
];

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    files.retain(|f| f.extension().is_some_and(|e| e == extension));
    files.sort();
    files
}

#[test]
fn every_hand_written_rust_file_opens_with_a_module_doc() {
    let mut missing = Vec::new();
    for dir in HAND_WRITTEN {
        for file in files_with_extension(&root().join(dir), "rs") {
            let text = std::fs::read_to_string(&file).unwrap();
            let first = text.lines().find(|line| !line.trim().is_empty());
            if !first.is_some_and(|line| line.starts_with("//!")) {
                missing.push(file.strip_prefix(root()).unwrap().display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "these files do not open with a `//!` saying what they are for:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_file_under_generated_is_codegens() {
    let mut files = Vec::new();
    files_under(&generated_dir(), &mut files);
    assert!(files.len() > 100, "{} files", files.len());
    let hand_written: Vec<_> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).is_ok_and(|text| is_generated(&text)))
        .collect();
    assert!(
        hand_written.is_empty(),
        "generated/ holds only codegen's output; these lack its header: {hand_written:?}"
    );
}

/// The `[package]` name of a manifest.
fn package_name(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let package = text.split("[package]").nth(1)?;
    let line = package.lines().find(|l| l.starts_with("name = "))?;
    Some(
        line.trim_start_matches("name = ")
            .trim_matches('"')
            .to_owned(),
    )
}

#[test]
fn reserved_crate_names_are_the_crates_beside_the_services() {
    let mut crates = BTreeSet::new();
    for entry in std::fs::read_dir(root()).unwrap() {
        let dir = entry.unwrap().path();
        crates.extend(package_name(&dir.join("Cargo.toml")));
        // Crates one level down (`emulator/server`), beside the generated ones.
        if dir.ends_with("generated") || dir.ends_with("target") || !dir.is_dir() {
            continue;
        }
        for inner in std::fs::read_dir(&dir).unwrap() {
            crates.extend(package_name(&inner.unwrap().path().join("Cargo.toml")));
        }
    }
    crates.retain(|name| name.starts_with("feishu"));
    let reserved: BTreeSet<String> = feishu_codegen::naming::RESERVED_CRATES
        .iter()
        .map(|name| name.to_string())
        .collect();
    assert_eq!(
        reserved, crates,
        "a service must not be generated as a crate the workspace already has"
    );
}

#[test]
fn reserved_features_are_the_facades_own_features() {
    let template =
        std::fs::read_to_string(root().join("codegen/templates/facade/manifest.toml")).unwrap();
    let features = template.split("\n[features]\n").nth(1).unwrap();
    let features = features.split("\n[").next().unwrap();
    let own: BTreeSet<&str> = features
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("{{"))
        .filter_map(|line| line.split_once(" = ").map(|(name, _)| name))
        .collect();
    // The features the generated lines add besides one per service.
    let generated = BTreeSet::from(["full", "roundtrip", "schemars"]);
    let reserved: BTreeSet<&str> = feishu_codegen::naming::RESERVED_FEATURES
        .iter()
        .copied()
        .collect();
    assert_eq!(
        reserved,
        own.union(&generated).copied().collect(),
        "no service may be named as one of the facade's own features"
    );
}

#[test]
fn legacy_event_services_are_the_single_word_event_types_of_the_spec() {
    let mut single_word = BTreeSet::new();
    for file in files_with_extension(&spec_dir(), "yaml") {
        if !file.to_string_lossy().ends_with(".event.yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let event_type = text
            .lines()
            .find_map(|line| line.strip_prefix("event_type: "))
            .unwrap_or_else(|| panic!("{}: no event_type", file.display()));
        if !event_type.contains('.') {
            let rel = file.strip_prefix(spec_dir()).unwrap();
            single_word.insert((event_type.to_owned(), rel.to_string_lossy().into_owned()));
        }
    }
    let table: BTreeSet<(String, String)> = feishu_import::placement::LEGACY_EVENT_SERVICES
        .iter()
        .map(|(name, service, version)| {
            (
                name.to_string(),
                format!("{service}/{version}/{name}/{name}.event.yaml"),
            )
        })
        .collect();
    assert_eq!(
        table, single_word,
        "each older event type placed by hand is one the docs have, where the table puts it"
    );
}
