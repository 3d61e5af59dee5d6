//! A bad spec gets errors that name the file, the line and column, and the field path,
//! and one run reports all of them.

use std::path::Path;

use feishu_spec::Diagnostic;

const GOOD: &str = r#"
title: Good
doc_url: https://open.feishu.cn/document/good
method: GET
path: /open-apis/svc/v1/things/:thing_id
tokens: [tenant]
path_params:
  - { name: thing_id, type: string }
"#;

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn diagnostics(dir: &Path) -> Vec<Diagnostic> {
    match feishu_codegen::generate(dir) {
        Ok(_) => panic!("the spec in {} should not generate", dir.display()),
        Err(diagnostics) => diagnostics.0,
    }
}

fn find<'a>(all: &'a [Diagnostic], field: &str) -> &'a Diagnostic {
    all.iter()
        .find(|d| d.field == field)
        .unwrap_or_else(|| panic!("no diagnostic for `{field}` among {all:#?}"))
}

#[test]
fn every_semantic_error_of_a_file_is_reported_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "svc/v1/thing/get.yaml", GOOD);
    write(
        dir.path(),
        "svc/v1/thing/update.yaml",
        r#"title: Update
doc_url: https://open.feishu.cn/document/update
method: PUT
path: /open-apis/svc/v1/things/:thing_id
tokens: [user, user]
path_params:
  - { name: other_id, type: string }
query_params:
  - { name: page, type: widget }
request_body:
  fields:
    - { name: a, type: string }
    - { name: a, type: nope_type }
    - name: level
      type: int
      options:
        - { value: low, meaning: not an integer }
    - { name: list, type: "list of string" }
examples:
  request: "{not json"
"#,
    );
    let all = diagnostics(dir.path());
    let file = dir.path().join("svc/v1/thing/update.yaml");
    assert!(
        all.iter().all(|d| d.file == file),
        "only the bad file is blamed: {all:#?}"
    );

    let path = find(&all, "path");
    assert_eq!(path.pos.map(|p| p.line), Some(4));
    assert!(path.message.contains("other_id"), "{}", path.message);
    assert_eq!(find(&all, "tokens").pos.map(|p| p.line), Some(5));
    assert!(
        find(&all, "query_params[0].type")
            .message
            .contains("cannot be a query_params type")
    );
    let duplicate = find(&all, "request_body.fields[1].name");
    assert_eq!(duplicate.pos.map(|p| (p.line, p.column)), Some((13, 15)));
    let unknown = find(&all, "request_body.fields[1].type");
    assert!(
        unknown.message.contains("unknown type `nope_type`"),
        "{}",
        unknown.message
    );
    assert_eq!(unknown.pos.map(|p| p.line), Some(13));
    assert!(
        find(&all, "request_body.fields[2].options[0].value")
            .message
            .contains("must be an integer")
    );
    assert!(
        find(&all, "request_body.fields[3].type")
            .message
            .contains("is not a type")
    );
    let example = find(&all, "examples.request");
    assert!(example.message.contains("not valid JSON"));
    assert_eq!(example.pos.map(|p| p.line), Some(20));

    let shown = unknown.to_string();
    assert!(
        shown.starts_with(&format!("{}:13:", file.display()))
            && shown.contains(": request_body.fields[1].type: unknown type"),
        "{shown}"
    );
}

#[test]
fn errors_in_several_files_are_all_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "svc/v1/thing/get.yaml", GOOD);
    // A field the format does not have.
    write(
        dir.path(),
        "svc/v1/thing/a.yaml",
        &format!("{GOOD}colour: blue\n"),
    );
    // A value of the wrong type, inside a list.
    write(
        dir.path(),
        "svc/v1/thing/b.yaml",
        &GOOD.replace("type: string }", "type: [1] }"),
    );
    // YAML that does not parse.
    write(dir.path(), "svc/v1/thing/c.yaml", "title: [unclosed\n");
    // A file in the wrong place.
    write(dir.path(), "svc/stray.yaml", GOOD);
    let all = diagnostics(dir.path());
    let for_file = |rel: &str| {
        all.iter()
            .find(|d| d.file == dir.path().join(rel))
            .unwrap_or_else(|| panic!("nothing about {rel}: {all:#?}"))
    };

    let unknown = for_file("svc/v1/thing/a.yaml");
    assert!(
        unknown.message.contains("unknown field `colour`"),
        "{unknown}"
    );
    assert_eq!(unknown.pos.map(|p| p.line), Some(9));
    let wrong = for_file("svc/v1/thing/b.yaml");
    assert_eq!(wrong.field, "path_params[0].type", "{wrong}");
    assert_eq!(wrong.pos.map(|p| p.line), Some(8));
    assert!(for_file("svc/v1/thing/c.yaml").pos.is_some());
    assert!(for_file("svc/stray.yaml").message.contains("belongs at"));
    assert_eq!(all.len(), 4, "{all:#?}");
}

#[test]
fn a_bare_use_of_a_type_two_other_resources_define_is_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = |resource: &str, item: &str| {
        format!(
            "title: T\ndoc_url: https://open.feishu.cn/document/t\nmethod: POST\npath: /open-apis/svc/v1/{resource}\ntokens: [tenant]\n\
             request_body:\n  fields:\n    - name: item\n      type: shared_item\n{item}"
        )
    };
    let fields = |ty: &str| format!("      fields:\n        - {{ name: id, type: {ty} }}\n");
    write(
        dir.path(),
        "svc/v1/thing/create.yaml",
        &endpoint("thing", &fields("string")),
    );
    write(
        dir.path(),
        "svc/v1/other/create.yaml",
        &endpoint("other", &fields("int")),
    );
    // Each resource has its own `shared_item`, whatever its shape.
    let generated = feishu_codegen::generate(dir.path()).unwrap_or_else(|d| panic!("{d}"));
    assert!(generated.files["services/svc/src/v1/thing.rs"].contains("pub id: Option<String>,"));
    assert!(generated.files["services/svc/src/v1/other.rs"].contains("pub id: Option<i64>,"));

    write(
        dir.path(),
        "svc/v1/third/create.yaml",
        &endpoint("third", ""),
    );
    let all = diagnostics(dir.path());
    assert_eq!(all.len(), 1, "{all:#?}");
    let error = &all[0];
    assert!(error.file.ends_with("third/create.yaml"), "{error}");
    assert_eq!(error.field, "request_body.fields[0].type");
    assert_eq!(error.pos.map(|p| p.line), Some(9));
    assert!(
        error
            .message
            .contains("type `shared_item` has 2 different shapes")
            && error.message.contains("other/create.yaml:9")
            && error.message.contains("thing/create.yaml:9"),
        "{error}"
    );
}

#[test]
fn a_file_that_does_not_parse_does_not_hide_errors_in_the_others() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "svc/v1/thing/get.yaml", GOOD);
    write(dir.path(), "svc/v1/thing/broken.yaml", "title: [unclosed\n");
    write(
        dir.path(),
        "svc/v1/thing/update.yaml",
        &GOOD.replace("things/:thing_id", "things/:other_id"),
    );
    // The same route twice, and an enum name without options.
    write(
        dir.path(),
        "svc/v1/thing/again.yaml",
        &format!(
            "{}request_body:\n  fields:\n    - {{ name: x, type: nowhere_defined }}\n",
            GOOD.replace("type: string }", "type: string, enum_name: kind }")
        ),
    );
    let all = diagnostics(dir.path());
    let files: Vec<String> = all
        .iter()
        .map(|d| d.file.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(files.contains(&"broken.yaml".to_owned()), "{all:#?}");
    assert!(
        files.contains(&"update.yaml".to_owned()),
        "semantic errors of other files are reported too: {all:#?}"
    );
    let again: Vec<&Diagnostic> = all
        .iter()
        .filter(|d| d.file.ends_with("again.yaml"))
        .collect();
    let route = all
        .iter()
        .find(|d| d.field == "path" && d.message.contains("is also the endpoint of"))
        .expect("the repeated route");
    assert!(
        route.file.ends_with("get.yaml") && route.message.contains("again.yaml"),
        "{route}"
    );
    assert!(
        again.iter().any(|d| d.field == "path_params[0].enum_name"),
        "{again:#?}"
    );
    // With a file unread, a type may be defined there: unknown types are not reported.
    assert!(
        !all.iter().any(|d| d.message.contains("unknown type")),
        "{all:#?}"
    );
    assert!(
        all.iter().all(|d| d.pos.is_some()),
        "every diagnostic has a position: {all:#?}"
    );
}

#[test]
fn a_service_named_like_one_of_the_crates_own_features_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "svc/v1/thing/get.yaml", GOOD);
    write(dir.path(), "full/v1/thing/get.yaml", GOOD);
    let all = diagnostics(dir.path());
    assert_eq!(all.len(), 1, "{all:#?}");
    assert!(
        all[0].file.ends_with("full/v1/thing/get.yaml"),
        "{}",
        all[0]
    );
    assert!(
        all[0]
            .message
            .contains("the service `full` would be a cargo feature"),
        "{}",
        all[0]
    );
}

#[test]
fn a_service_whose_crate_would_be_the_runtime_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "svc/v1/thing/get.yaml", GOOD);
    write(dir.path(), "runtime/v1/thing/get.yaml", GOOD);
    let all = diagnostics(dir.path());
    assert_eq!(all.len(), 1, "{all:#?}");
    assert!(
        all[0].file.ends_with("runtime/v1/thing/get.yaml"),
        "{}",
        all[0]
    );
    assert!(
        all[0]
            .message
            .contains("the service `runtime` would be the crate `feishu-runtime`"),
        "{}",
        all[0]
    );
}

#[test]
fn an_event_spec_gets_errors_at_its_place_and_no_event_type_is_given_twice() {
    let dir = tempfile::tempdir().unwrap();
    let event = |event_type: &str, payload: &str| {
        format!(
            "title: Opened\ndoc_url: https://open.feishu.cn/document/opened\n\
             event_type: {event_type}\npayload:\n{payload}example: '{{not json'\n"
        )
    };
    write(
        dir.path(),
        "svc/v1/door/opened.event.yaml",
        &event(
            "svc.door.opened_v1",
            "  fields:\n    - { name: file, type: binary }\n    - { name: n, type: \"nope[\" }\n",
        ),
    );
    write(
        dir.path(),
        "svc/v1/door/again.event.yaml",
        &event("svc.door.opened_v1", "  type: door\n"),
    );
    write(
        dir.path(),
        "svc/v1/door/bad.event.yaml",
        &event("Svc Door", "  fields: []\n"),
    );
    let all = diagnostics(dir.path());
    let opened = |field: &str| {
        let found = all
            .iter()
            .find(|d| d.field == field && d.file.ends_with("opened.event.yaml"));
        found.unwrap_or_else(|| panic!("no diagnostic for `{field}` among {all:#?}"))
    };
    assert!(
        opened("payload.fields[0].type")
            .message
            .contains("file part")
    );
    assert_eq!(opened("payload.fields[0].type").pos.unwrap().line, 6);
    assert!(opened("payload.fields[1].type").pos.is_some());
    assert!(opened("example").message.contains("not valid JSON"));
    // Files are read in path order: again.event.yaml has the type first.
    assert!(
        opened("event_type")
            .message
            .contains("is also the event type of"),
        "{all:#?}"
    );
    assert!(
        find(&all, "payload.type")
            .message
            .contains("lists its `fields`"),
        "{all:#?}"
    );
    assert!(
        all.iter().any(|d| d.file.ends_with("bad.event.yaml")
            && d.field == "event_type"
            && d.message.contains("is not an event type")),
        "{all:#?}"
    );
}
