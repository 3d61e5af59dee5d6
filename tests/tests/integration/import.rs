//! The importer over real pages: every seed and corpus page imports, generates, compiles
//! and round-trips its examples; re-imports change nothing; the committed seed specs are
//! what the importer makes of their kept pages; bad pages fail with the page and line.

use std::path::{Path, PathBuf};

use feishu_codegen::output;
use feishu_tests::endpoints::documented_payload;
use feishu_tests::scaffold::{cargo_test, scaffold_crate};
use feishu_tests::{root, spec_dir, still_generates};
use serde_json::{Value, json};

/// ../shared beside the project; tests that read it skip with a notice when it is absent.
fn shared() -> Option<PathBuf> {
    let dir = root().parent()?.join("shared");
    if dir.join("corpus").is_dir() {
        Some(dir)
    } else {
        println!(
            "notice: {} is absent; skipping the corpus import",
            dir.display()
        );
        None
    }
}

fn pages_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(suffix) && name.starts_with(|c: char| c.is_ascii_digit())
        })
        .collect();
    pages.sort();
    pages
}

/// Copies the recorded overrides (the project's and the corpus fixtures') into `dest`.
fn copy_overrides(from: &Path, dest: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = dest.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_overrides(&path, &target);
        } else if path.to_string_lossy().ends_with(".overrides.yaml") {
            std::fs::create_dir_all(dest).unwrap();
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Each endpoint's examples as the generated types see them: the request body, and the
/// response payload (`data`, or the flat body without `code` and `msg`).
fn examples_of(spec_dir: &Path) -> Value {
    let spec = feishu_spec::load(spec_dir).unwrap_or_else(|d| panic!("{d}"));
    let mut out = Vec::new();
    for endpoint in &spec.endpoints {
        let mut entry = json!({ "id": endpoint.id.dotted() });
        if let Some(request) = &endpoint.spec.examples.request {
            entry["request"] = serde_json::from_str(request).unwrap();
        }
        if let Some(payload) = documented_payload(endpoint) {
            entry["response"] = payload;
        }
        out.push(entry);
    }
    Value::Array(out)
}

#[test]
fn every_seed_and_corpus_page_imports_generates_compiles_and_round_trips() {
    let Some(shared) = shared() else { return };
    let mut pages = pages_in(&shared.join("seeds"), ".txt");
    pages.extend(pages_in(&shared.join("corpus"), ".md"));
    assert_eq!(pages.len(), 45, "5 seeds and 40 corpus pages");

    let work = tempfile::tempdir().unwrap();
    let spec = work.path().join("spec");
    copy_overrides(&spec_dir(), &spec);
    copy_overrides(&root().join("tests/fixtures/import-overrides"), &spec);

    let first =
        feishu_import::import(&pages, &spec, false, &still_generates).unwrap_or_else(|errors| {
            panic!(
                "{}",
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
    assert_eq!(first.written.len(), 90, "a spec and a kept page per page");
    for warning in &first.warnings {
        // Every warning names its page; none is silent.
        assert!(warning.file.starts_with(&shared), "{warning}");
    }
    let again = feishu_import::import(&pages, &spec, false, &still_generates).unwrap();
    assert!(
        again.written.is_empty(),
        "re-import changed {:?}",
        again.written
    );
    let kept = feishu_import::kept_pages(&spec).unwrap();
    let from_kept = feishu_import::import(&kept, &spec, false, &still_generates).unwrap();
    assert!(
        from_kept.written.is_empty(),
        "re-import from the kept pages changed {:?}",
        from_kept.written
    );

    let generated = feishu_codegen::generate(&spec).unwrap_or_else(|d| panic!("{d}"));
    let krate = scaffold_crate(&work.path().join("crate")).unwrap();
    output::plan(&krate, &generated).unwrap().apply().unwrap();
    std::fs::create_dir_all(krate.join("tests")).unwrap();
    std::fs::copy(
        root().join("tests/fixtures/import-roundtrip.rs"),
        krate.join("tests/examples.rs"),
    )
    .unwrap();
    let examples = examples_of(&spec);
    assert_eq!(examples.as_array().unwrap().len(), 45);
    std::fs::write(
        krate.join("examples.json"),
        serde_json::to_string_pretty(&examples).unwrap(),
    )
    .unwrap();
    if let Err(output) = cargo_test(&krate, "examples") {
        panic!("the crate generated from the imported pages fails:\n{output}");
    }
}

#[test]
fn committed_specs_are_what_the_importer_makes_of_their_kept_pages() {
    let pages = feishu_import::kept_pages(&spec_dir()).unwrap();
    assert!(!pages.is_empty(), "spec/ keeps the page of each endpoint");
    let mut stale = Vec::new();
    for page in pages {
        let imported =
            feishu_import::import_page(&page, &spec_dir()).unwrap_or_else(|e| panic!("{e:?}"));
        let committed = spec_dir().join(format!("{}.yaml", imported.placement.rel_path()));
        if std::fs::read_to_string(&committed).ok().as_ref() != Some(&imported.yaml) {
            stale.push(committed.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "these differ from what `cargo xtask import` writes from their kept pages; run `cargo xtask update`:\n{}",
        stale.join("\n")
    );
}

/// spec/quarantine.yaml, read.
fn committed_quarantine() -> Vec<feishu_import::quarantine::Entry> {
    let path = spec_dir().join(feishu_spec::QUARANTINE_FILE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    feishu_import::quarantine::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_endpoint_page_of_the_docs_is_in_spec_or_in_the_quarantine() {
    let Some(docs) = feishu_docs() else { return };
    let kept: std::collections::HashSet<Vec<u8>> = feishu_import::kept_pages(&spec_dir())
        .unwrap()
        .iter()
        .map(|page| std::fs::read(page).unwrap())
        .collect();
    let quarantine = committed_quarantine();
    let listed: std::collections::BTreeSet<&str> =
        quarantine.iter().map(|e| e.page.as_str()).collect();
    let mut missing = Vec::new();
    for page in feishu_import::batch::doc_pages(&docs).unwrap() {
        let rel = page
            .strip_prefix(&docs)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !kept.contains(&std::fs::read(&page).unwrap()) && !listed.contains(rel.as_str()) {
            missing.push(rel);
        }
    }
    assert!(
        missing.is_empty(),
        "endpoint and event pages neither kept in spec/ (as they are now) nor quarantined; run `cargo xtask import --keep-going --quarantine {}`:\n{}",
        docs.display(),
        missing.join("\n")
    );
    for entry in &quarantine {
        assert!(
            docs.join(&entry.page).is_file(),
            "{} is quarantined but gone",
            entry.page
        );
        if let Some(by) = &entry.superseded_by {
            let current = std::fs::read(docs.join(by)).unwrap();
            assert!(
                kept.contains(&current),
                "{} is superseded by {by}, which is not kept in spec/",
                entry.page
            );
        }
    }
}

/// The whole docs imported again, into a copy of spec/ (a page may fail only beside the
/// pages already there), leave out exactly the committed quarantine, for the same reasons:
/// so a quarantined page that starts to import fails here, and the list only shrinks.
#[test]
fn a_whole_import_leaves_out_exactly_the_quarantined_pages() {
    let Some(docs) = feishu_docs() else { return };
    let pages = feishu_import::batch::doc_pages(&docs).unwrap();
    let spec = tempfile::tempdir().unwrap();
    copy_tree(&spec_dir(), spec.path());
    let outcome = feishu_import::import(&pages, spec.path(), true, &still_generates)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let rendered = feishu_import::quarantine::render(&outcome, &[docs], spec.path());
    let committed = std::fs::read_to_string(spec_dir().join(feishu_spec::QUARANTINE_FILE)).unwrap();
    assert!(
        rendered == committed,
        "spec/quarantine.yaml is not what an import of the whole docs leaves out; run \
         `cargo xtask import --keep-going --quarantine ../shared/feishu-docs`. First difference:\n{}",
        first_line_difference(&committed, &rendered)
    );
}

fn first_line_difference(committed: &str, rendered: &str) -> String {
    let mut committed_lines = committed.lines();
    let mut rendered_lines = rendered.lines();
    for number in 1.. {
        match (committed_lines.next(), rendered_lines.next()) {
            (None, None) => break,
            (a, b) if a == b => {}
            (a, b) => {
                return format!(
                    "line {number}: committed {:?}, now {:?}",
                    a.unwrap_or("<end>"),
                    b.unwrap_or("<end>")
                );
            }
        }
    }
    "none".to_owned()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A kept page (in the mirror layout) with one change, written to a temp dir.
fn broken_page(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let seed = spec_dir().join("application/v6/application_feedback/patch.source.md");
    let text = std::fs::read_to_string(seed).unwrap();
    assert!(text.contains(from), "the kept page contains `{from}`");
    let path = dir.join(name);
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

fn import_error(page: &Path) -> String {
    let spec = tempfile::tempdir().unwrap();
    let errors = feishu_import::import(&[page.to_path_buf()], spec.path(), false, &still_generates)
        .unwrap_err();
    assert_eq!(
        std::fs::read_dir(spec.path()).unwrap().count(),
        0,
        "nothing is written"
    );
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_page_without_a_method_or_a_path_names_the_page_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let no_method = broken_page(dir.path(), "no-method.md", "| HTTP Method | PATCH |\n", "");
    let error = import_error(&no_method);
    assert!(
        error.contains("no-method.md:12:1: 请求: the request table has no `HTTP Method` row"),
        "{error}"
    );

    let no_path = broken_page(
        dir.path(),
        "no-path.md",
        "| HTTP URL | https://open.feishu.cn/open-apis/",
        "| HTTP URL | https://open.feishu.cn/apis/",
    );
    let error = import_error(&no_path);
    assert!(
        error.contains("no-path.md:16:1: HTTP URL:")
            && error.contains("is neither an /open-apis/ nor an /approval/openapi/ URL"),
        "{error}"
    );
}

#[test]
fn a_broken_table_names_the_page_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let page = broken_page(
        dir.path(),
        "table.md",
        "| 名称 | 类型 | 描述 |\n| --- | --- | --- |\n| `app_id`",
        "| 名称 | 类型 | 描述 |\n| `app_id`",
    );
    let error = import_error(&page);
    assert!(
        error.contains("table.md:32:1: 路径参数: the table has no header separator row"),
        "{error}"
    );
}

#[test]
fn an_example_that_is_not_json_is_dropped_with_a_warning_naming_the_page_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let page = broken_page(dir.path(), "json.md", "\"data\": {}", "\"data\": {");
    let imported = feishu_import::import_page(&page, dir.path()).expect("the page imports");
    let warnings: Vec<String> = imported.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(|w| w
            .contains("json.md:62:1: 响应体示例: the example is not valid JSON (line 5 column")
            && w.ends_with("it is dropped")),
        "{warnings:#?}"
    );
    assert!(
        !imported.yaml.contains("\n  response: "),
        "{}",
        imported.yaml
    );
}

#[test]
fn one_bad_page_imports_none_unless_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let bad = broken_page(dir.path(), "bad.md", "| HTTP Method | PATCH |\n", "");
    let good = spec_dir().join("helpdesk/v1/ticket/answer_user_query.source.md");
    let spec = tempfile::tempdir().unwrap();
    let pages = [good.clone(), bad.clone()];
    assert!(feishu_import::import(&pages, spec.path(), false, &still_generates).is_err());
    assert_eq!(
        std::fs::read_dir(spec.path()).unwrap().count(),
        0,
        "nothing is written"
    );

    let outcome = feishu_import::import(&pages, spec.path(), true, &still_generates).unwrap();
    assert_eq!(outcome.skipped.len(), 1);
    assert!(outcome.skipped[0].page.ends_with("bad.md"));
    assert!(outcome.skipped[0].problems[0].file.ends_with("bad.md"));
    assert!(
        spec.path()
            .join("helpdesk/v1/ticket/answer_user_query.yaml")
            .is_file()
    );
    assert!(
        spec.path()
            .join("helpdesk/v1/ticket/answer_user_query.source.md")
            .is_file()
    );
}

#[test]
fn an_override_the_page_no_longer_needs_fails_loudly() {
    let spec = tempfile::tempdir().unwrap();
    let dir = spec.path().join("helpdesk/v1/ticket");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("answer_user_query.overrides.yaml"),
        "- at: endpoint\n  reason: the page already says so\n  set: { method: POST }\n",
    )
    .unwrap();
    let page = spec_dir().join("helpdesk/v1/ticket/answer_user_query.source.md");
    let errors = feishu_import::import(&[page], spec.path(), false, &still_generates).unwrap_err();
    let text = errors[0].to_string();
    assert!(
        text.contains("answer_user_query.overrides.yaml")
            && text.contains("the page now says this itself"),
        "{text}"
    );
}

/// ../shared/feishu-docs, or a notice that it is absent.
fn feishu_docs() -> Option<PathBuf> {
    let dir = shared()?.join("feishu-docs");
    if !dir.is_dir() {
        println!("notice: {} is absent; skipping", dir.display());
        return None;
    }
    Some(dir)
}

#[test]
fn the_same_endpoint_on_two_pages_is_imported_once_from_the_current_page() {
    let Some(docs) = feishu_docs() else { return };
    let current = docs.join("corehr-v1/pre_hire/transit_task.md");
    let historic = docs.join("historic-version/feishu-people/pre-hire/transit_task.md");
    let spec = tempfile::tempdir().unwrap();
    // The order the pages are given in does not matter.
    for pages in [[&historic, &current], [&current, &historic]] {
        let pages: Vec<PathBuf> = pages.into_iter().cloned().collect();
        let outcome = feishu_import::import(&pages, spec.path(), false, &still_generates).unwrap();
        assert_eq!(outcome.imported(), 1);
        assert_eq!(outcome.superseded.len(), 1);
        assert_eq!(outcome.superseded[0].page, historic);
        assert_eq!(outcome.superseded[0].by, current);
    }
    let kept = feishu_import::kept_pages(spec.path()).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read(&kept[0]).unwrap(),
        std::fs::read(&current).unwrap()
    );
}

#[test]
fn keep_going_leaves_out_the_pages_the_tree_checks_refuse_and_writes_the_rest() {
    let Some(docs) = feishu_docs() else { return };
    // Each imports on its own, but codegen refuses its spec: an `any` query parameter.
    let refused = docs.join("human_authentication-v1/query-recognition-result.md");
    let good = docs.join("helpdesk-v1/ticket-management/ticket/update.md");
    assert!(refused.is_file() && good.is_file());
    let pages = vec![refused.clone(), good.clone()];
    let spec = tempfile::tempdir().unwrap();
    let errors = feishu_import::import(&pages, spec.path(), false, &still_generates).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("cannot be a query_params type"))
    );
    assert!(
        feishu_import::kept_pages(spec.path()).unwrap().is_empty(),
        "nothing is written"
    );

    let outcome = feishu_import::import(&pages, spec.path(), true, &still_generates).unwrap();
    assert_eq!(outcome.imported(), 1);
    assert_eq!(outcome.skipped.len(), 1);
    assert_eq!(outcome.skipped[0].page, refused);
    let quarantine =
        feishu_import::quarantine::render(&outcome, std::slice::from_ref(&docs), spec.path());
    let entries = feishu_import::quarantine::parse(&quarantine).unwrap();
    assert_eq!(
        entries[0].page,
        "human_authentication-v1/query-recognition-result.md"
    );
    assert!(
        entries[0]
            .reason
            .starts_with("human_authentication-v1/query-recognition-result.md: query_params"),
        "{}",
        entries[0].reason
    );
    let kept = feishu_import::kept_pages(spec.path()).unwrap();
    assert_eq!(kept.len(), 1);
    let summary = feishu_import::quarantine::summary(&outcome);
    assert!(
        summary.starts_with("import: 2 pages read, 1 imported, 0 superseded (their endpoint or event is imported from another page), 1 left out"),
        "{summary}"
    );
}

/// A spec file as data, without what differs between two pages of one endpoint by
/// design: the page's address and the wording of its notes.
fn endpoint_facts(yaml: &str) -> Value {
    let mut value: Value = serde_saphyr::from_str(yaml).unwrap();
    let object = value.as_object_mut().unwrap();
    object.remove("doc_url");
    object.remove("notes");
    value
}

#[test]
fn a_mirror_page_gives_the_same_spec_as_the_seed_page_of_its_endpoint() {
    let Some(docs) = feishu_docs() else { return };
    let pairs = [
        (
            "helpdesk/v1/ticket/update",
            "helpdesk-v1/ticket-management/ticket/update.md",
        ),
        (
            "helpdesk/v1/ticket/answer_user_query",
            "helpdesk-v1/ticket-management/ticket/answer_user_query.md",
        ),
        ("im/v2/chat_button/update", "im-v2/groups-bots/update.md"),
        (
            "application/v6/application_feedback/patch",
            "application-v6/application-feedback/patch.md",
        ),
    ];
    for (rel, mirror_page) in pairs {
        // No overrides on either side: the pages alone.
        let (seed_dir, mirror_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let seed_page = spec_dir().join(format!("{rel}.source.md"));
        let seed = feishu_import::import_page(&seed_page, seed_dir.path()).unwrap();
        let mirror = feishu_import::import_page(&docs.join(mirror_page), mirror_dir.path())
            .unwrap_or_else(|e| panic!("{mirror_page}: {e:?}"));
        assert_eq!(mirror.placement.rel_path(), rel);
        assert_eq!(
            endpoint_facts(&mirror.yaml),
            endpoint_facts(&seed.yaml),
            "{mirror_page} and the seed page of {rel} disagree"
        );
    }
}

/// What of `spec` the docs show wrongly: an error hint that is not one line of at most
/// 2,000 characters (the runtime writes it into the error's message), a note or
/// description that says its label twice (`**注意事项**：注意事项：`), a scope whose name
/// holds a callout (`发送消息V2 > **Tip**: …`).
fn doc_text_problems(spec_dir: &Path) -> Vec<String> {
    let spec = feishu_spec::load(spec_dir).unwrap_or_else(|d| panic!("{d}"));
    let mut problems = Vec::new();
    for endpoint in &spec.endpoints {
        let (rel, spec) = (&endpoint.rel, &endpoint.spec);
        for error in &spec.errors {
            let hint = &error.hint;
            let one_line = hint.split_whitespace().collect::<Vec<_>>().join(" ") == *hint;
            if !one_line || hint.chars().count() > 2_001 {
                problems.push(format!("{rel}: the hint of {} is {hint:?}", *error.code));
            }
        }
        let texts = std::iter::once(&spec.description).chain(&spec.notes);
        for text in texts.filter(|t| says_its_label_twice(t)) {
            problems.push(format!("{rel}: {text:?} says its label twice"));
        }
        for scope in spec.scopes.iter().chain(&spec.field_scopes) {
            if scope.name.contains('>') || scope.name.contains("&gt;") {
                problems.push(format!(
                    "{rel}: the scope name {:?} holds a callout",
                    scope.name
                ));
            }
        }
    }
    problems
}

/// `**L**：L：…` or `**L：**L：…`.
fn says_its_label_twice(text: &str) -> bool {
    let Some((label, rest)) = text.strip_prefix("**").and_then(|t| t.split_once("**")) else {
        return false;
    };
    let label = label.trim_end_matches(['：', ':']);
    let rest = rest.trim_start_matches(['：', ':']).trim_start();
    let repeated = rest.strip_prefix(label);
    !label.is_empty() && repeated.is_some_and(|r| r.starts_with(['：', ':']))
}

#[test]
fn committed_specs_read_as_the_docs_show_them() {
    let problems = doc_text_problems(&spec_dir());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn seed_and_corpus_pages_read_as_the_docs_show_them() {
    let Some(shared) = shared() else { return };
    let mut pages = pages_in(&shared.join("seeds"), ".txt");
    pages.extend(pages_in(&shared.join("corpus"), ".md"));
    let work = tempfile::tempdir().unwrap();
    let spec = work.path().join("spec");
    copy_overrides(&spec_dir(), &spec);
    copy_overrides(&root().join("tests/fixtures/import-overrides"), &spec);
    feishu_import::import(&pages, &spec, false, &still_generates)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let problems = doc_text_problems(&spec);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
