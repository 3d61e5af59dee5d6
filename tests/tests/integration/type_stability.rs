//! A resource's module is its own: adding (or removing) a page in one resource never
//! changes another resource's public API, whatever named types the page defines.

use std::collections::BTreeMap;
use std::path::Path;

use feishu_bench::synth::{self, Config};
use feishu_tests::spec_dir;

/// Pages that share doc type names across resources, as real pages do (`i18n` on many).
const SHARED_NAMES: [(&str, &str); 2] = [
    (
        "svc/v1/chat/create.yaml",
        "[{ name: title, type: i18n, required: true, fields: [{ name: zh_cn, type: string, required: true }, { name: en_us, type: string }] }]",
    ),
    (
        "svc/v1/message/get.yaml",
        "[{ name: title, type: i18n, fields: [{ name: zh_cn, type: string }, { name: ja_jp, type: string }] }]",
    ),
];

/// Pages added in one resource (`svc/v1/probe`, and helpdesk's `notification`), each
/// defining names other resources define: one shape that cannot merge with theirs, one
/// that can.
fn added_pages(synth_type: &str) -> Vec<(String, String)> {
    let differs = format!(
        "[{{ name: title, type: i18n, fields: [{{ name: zh_cn, type: int }}] }}, \
         {{ name: s, type: {synth_type}, fields: [{{ name: notify, type: \"string[]\" }}] }}]"
    );
    let agrees = format!(
        "[{{ name: title, type: i18n, fields: [{{ name: zh_cn, type: string, required: true }}] }}, \
         {{ name: s, type: {synth_type}, fields: [{{ name: notify, type: bool, required: true }}] }}]"
    );
    vec![
        page(
            "svc/v1/probe/create.yaml",
            "/open-apis/svc/v1/probe",
            &differs,
        ),
        page(
            "svc/v1/probe/update.yaml",
            "/open-apis/svc/v1/probe/x",
            &agrees,
        ),
        page(
            "helpdesk/v1/notification/probe.yaml",
            "/open-apis/helpdesk/v1/probe",
            "[{ name: item, type: customized_field_display_item, fields: [{ name: id, type: int }] }, \
              { name: user, type: user_query_faq_info, fields: [{ name: id, type: string, required: true }] }]",
        ),
    ]
}

fn page(rel: &str, path: &str, body: &str) -> (String, String) {
    let text = format!(
        "title: Probe\ndoc_url: https://open.feishu.cn/document/probe\nmethod: POST\npath: {path}\n\
         tokens: [tenant]\nrequest_body:\n  fields: {body}\n"
    );
    (rel.to_owned(), text)
}

/// The public items of each generated module: every `pub` line (items, fields with their
/// types, functions with their signatures), by module file.
fn public_api(spec: &Path) -> BTreeMap<String, Vec<String>> {
    let generated = feishu_codegen::generate(spec).unwrap_or_else(|d| panic!("{d}"));
    generated
        .files
        .iter()
        .map(|(path, text)| {
            let items = text
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("pub "))
                .map(str::to_owned)
                .collect();
            (path.clone(), items)
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn adding_a_page_changes_no_other_resources_api() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    copy_dir(&spec_dir(), dir);
    let synthetic = synth::generate(Config {
        endpoints: 40,
        services: 2,
        seed: 3,
    });
    synth::write(&synthetic, dir).unwrap();
    for (rel, body) in SHARED_NAMES {
        let path = format!("/open-apis/svc/v1/{}", rel.trim_end_matches(".yaml"));
        let (rel, text) = page(rel, &path, body);
        write(dir, &rel, &text);
    }
    // A type the synthetic pages define inline in one resource (`settings` of the first).
    let synth_type = synthetic
        .values()
        .flat_map(|text| text.lines())
        .find_map(|line| {
            let name = line
                .trim()
                .trim_start_matches("- ")
                .strip_prefix("type: ")?;
            name.ends_with("_setting").then(|| name.to_owned())
        })
        .expect("the synthetic pages define a `…_setting` type");
    let before = public_api(dir);

    for (rel, text) in added_pages(&synth_type) {
        write(dir, &rel, &text);
    }
    let after = public_api(dir);

    let touched = [
        "services/svc/src/v1/probe.rs",
        "services/helpdesk/src/v1/notification.rs",
    ];
    let mut compared = 0;
    for (file, items) in &before {
        // Parent modules only gain the new module and its handle.
        let resource_module = file.matches('/').count() == 4 && !file.ends_with("/mod.rs");
        if touched.contains(&file.as_str()) || !resource_module {
            continue;
        }
        assert_eq!(
            Some(items),
            after.get(file),
            "{file}: its public API changed when pages were added elsewhere"
        );
        compared += 1;
    }
    assert!(compared >= 8, "only {compared} resource modules compared");
    // The added pages did get their own types: the probe resource has an `i18n` per
    // endpoint (their shapes differ), and the synthetic type with both shapes.
    let probe = &after["services/svc/src/v1/probe.rs"];
    for expected in ["pub struct CreateI18n {", "pub struct UpdateI18n {"] {
        assert!(probe.iter().any(|l| l == expected), "{probe:#?}");
    }
    let notification = &after["services/helpdesk/src/v1/notification.rs"];
    assert!(
        notification
            .iter()
            .any(|l| l == "pub struct CustomizedFieldDisplayItem {"),
        "{notification:#?}"
    );
}
