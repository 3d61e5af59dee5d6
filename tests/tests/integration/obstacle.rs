//! The obstacle course: a fixture spec full of names and shapes that are hard to turn into
//! Rust must generate code that compiles with `#![deny(warnings)]` and documents without
//! rustdoc warnings.

use feishu_codegen::output;
use feishu_tests::root;
use feishu_tests::scaffold::{cargo_check, cargo_doc, cargo_test, scaffold_crate};

fn fixture() -> std::path::PathBuf {
    root().join("tests/fixtures/obstacle/spec")
}

#[test]
fn obstacle_course_compiles_without_warnings() {
    let generated = feishu_codegen::generate(&fixture()).unwrap_or_else(|d| panic!("{d}"));
    let work = tempfile::tempdir().expect("temp dir");
    let dir = scaffold_crate(work.path()).expect("scaffold");
    output::plan(&dir, &generated)
        .expect("plan")
        .apply()
        .expect("write");
    if let Err(compiler) = cargo_check(&dir) {
        panic!("the obstacle course does not compile cleanly:\n{compiler}");
    }
    if let Err(rustdoc) = cargo_doc(&dir) {
        panic!("the obstacle course's docs have rustdoc warnings:\n{rustdoc}");
    }
    std::fs::create_dir_all(dir.join("tests")).expect("tests dir");
    std::fs::copy(
        root().join("tests/fixtures/obstacle/absent_fields.rs"),
        dir.join("tests/absent_fields.rs"),
    )
    .expect("copy the test");
    if let Err(output) = cargo_test(&dir, "absent_fields") {
        panic!("the obstacle course's received types refuse absent fields:\n{output}");
    }
}

#[test]
fn obstacle_course_names_are_escaped_and_told_apart() {
    let generated = feishu_codegen::generate(&fixture()).unwrap_or_else(|d| panic!("{d}"));
    let resource = &generated.files["services/obstacle/src/v1/type.rs"];
    for expected in [
        "pub r#type: String,",
        "pub fn r#move(",
        // A request struct needs no serde derive, so its attributes come with the features
        // that derive one.
        "serde(rename = \"self\"))]\n    pub self_: i64,",
        "#[serde(rename = \"Self\")]",
        "pub self_2: Option<String>,",
        "#[serde(rename = \"userId\")]",
        "pub user_id_2: Option<String>,",
        "pub user_id_3: Option<String>,",
        "pub _2fa: Option<bool>,",
        "pub matrix: Option<Vec<Vec<i64>>>,",
        "pub struct CreateTypeRequest2 {",
        "pub enum MoveTypeBodyStatus {",
        "OpenId2 => \"OpenId\"",
        "Unknown2 => \"unknown\"",
        "Unknown(String),",
        "Unknown(i64),",
    ] {
        assert!(
            resource.contains(expected),
            "missing `{expected}` in:\n{resource}"
        );
    }
    let clashes = &generated.files["services/builder/src/v1/new.rs"];
    for expected in [
        "pub fn with_new(mut self, value: impl Into<String>) -> Self",
        "pub parent: Option<Box<Node>>,",
        "pub children: Option<Vec<Node>>,",
        "pub struct Option2 {",
        "pub enum NewNewBodyResult {",
        "pub ping: Option<Box<Ping>>,",
    ] {
        assert!(
            clashes.contains(expected),
            "missing `{expected}` in:\n{clashes}"
        );
    }
    assert!(generated.files["src/services.rs"].contains("pub fn builder_api(&self)"));
    // A type lives in the resource whose page defines it; another resource's bare use
    // reaches it there, so no page elsewhere can move it.
    assert!(
        generated.files["services/obstacle/src/v1/type.rs"].contains("pub struct SharedThing {")
    );
    assert!(
        generated.files["services/obstacle/src/v1/empty.rs"]
            .contains("pub thing: Option<crate::v1::r#type::SharedThing>,")
    );
    let profile = &generated.files["services/obstacle/src/v1/profile.rs"];
    for expected in [
        // Two pages' shapes of `profile` merged, required only where the request requires it.
        "pub struct Profile {",
        "pub nickname: Option<String>,",
        "Robot => \"robot\"",
        "pub fn new(\n        name: impl Into<String>,",
        // Shapes that cannot merge are named after the endpoint defining them.
        "pub struct GetBadge {",
        "pub struct UpdateBadge {",
    ] {
        assert!(
            profile.contains(expected),
            "missing `{expected}` in:\n{profile}"
        );
    }
    // Only rules the client cannot check: no `Validate` impl (it would be empty).
    assert!(!profile.contains("Validate for UpdateBadge"));
    for expected in [
        // An event's payload is named after its resource and name, and knows its type.
        "pub struct ProfileChangedEvent {",
        "impl ::feishu_runtime::codegen::Event for ProfileChangedEvent {",
        "const EVENT_TYPE: &'static str = \"obstacle.profile.changed_v1\";",
        "pub r#type: Option<String>,",
        "pub self_: Option<i64>,",
        "pub change: Option<Change>,",
        // Its `profile` is the endpoints' type; its `badge` another shape, named after it.
        "pub profile: Option<Profile>,",
        "pub struct ChangedBadge {",
    ] {
        assert!(
            profile.contains(expected),
            "missing `{expected}` in:\n{profile}"
        );
    }
    // A service with only events is re-exported, but has nothing to call.
    let services = &generated.files["src/services.rs"];
    assert!(services.contains("pub use feishu_watcher as watcher;"));
    assert!(!services.contains("fn watcher("));
    let door = &generated.files["services/watcher/src/v1/door.rs"];
    assert!(door.contains("pub struct DoorOpenedEvent {"));
    assert!(!door.contains("DoorApi"));
}

/// With no enums at all, neither enum macro of the runtime is used; that must not warn.
#[test]
fn a_spec_without_enums_compiles_without_warnings() {
    let work = tempfile::tempdir().expect("temp dir");
    let spec = work.path().join("spec/obstacle/v1/empty");
    std::fs::create_dir_all(&spec).unwrap();
    std::fs::copy(
        fixture().join("obstacle/v1/empty/get.yaml"),
        spec.join("get.yaml"),
    )
    .unwrap();
    let shared = fixture().join("obstacle/v1/_types.yaml");
    std::fs::copy(shared, work.path().join("spec/obstacle/v1/_types.yaml")).unwrap();
    // Alone, the endpoint defines the type the full fixture defines in type/create.yaml.
    let text = std::fs::read_to_string(spec.join("get.yaml")).unwrap().replace(
        "{ name: thing, type: shared_thing }",
        "{ name: thing, type: shared_thing, fields: [{ name: id, type: string, required: true }] }",
    );
    std::fs::write(spec.join("get.yaml"), text).unwrap();
    let generated =
        feishu_codegen::generate(&work.path().join("spec")).unwrap_or_else(|d| panic!("{d}"));
    assert!(!generated.files.values().any(|f| f.contains("_enum!")));
    let dir = scaffold_crate(&work.path().join("crate")).expect("scaffold");
    output::plan(&dir, &generated)
        .expect("plan")
        .apply()
        .expect("write");
    if let Err(compiler) = cargo_check(&dir) {
        panic!("a spec without enums does not compile cleanly:\n{compiler}");
    }
}

#[test]
fn obstacle_course_validates() {
    let loaded = feishu_spec::load(&fixture()).unwrap_or_else(|d| panic!("{d}"));
    feishu_spec::validate(&loaded).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(loaded.endpoints.len(), 6);
}
