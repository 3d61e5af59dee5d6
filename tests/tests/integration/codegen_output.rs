//! The generated crate as the spec makes it: the checked-in copy kept fresh (its git diff
//! is what a maintainer reviews), and snapshots of the obstacle course's output.

use feishu_codegen::emit::{HEADER, TOML_HEADER};
use feishu_codegen::output;
use feishu_tests::{generated_dir, root, spec_dir};

/// The obstacle course's output, so a change in naming shows up for review.
#[test]
fn obstacle_course_files_match_their_snapshots() {
    assert_snapshots(
        &root().join("tests/fixtures/obstacle/spec"),
        "../snapshots/obstacle",
    );
}

fn assert_snapshots(spec: &std::path::Path, snapshot_dir: &str) {
    let generated = feishu_codegen::generate(spec).unwrap_or_else(|d| panic!("{d}"));
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshot_dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    // Every file is compared, not just those before the first change: each changed one
    // prints its diff and leaves a `.snap.new`, so `cargo insta review` shows them all.
    let mut changed = Vec::new();
    settings.bind(|| {
        for (path, content) in &generated.files {
            let compared = std::panic::catch_unwind(|| {
                insta::assert_snapshot!(snapshot_name(path), content);
            });
            if compared.is_err() {
                changed.push(path.clone());
            }
        }
    });
    assert!(
        changed.is_empty(),
        "{} generated files differ from their snapshots (each diff is above): {changed:?}",
        changed.len()
    );
}

/// A file's snapshot: its module path for Rust (`im__v2__chat_button`, a service crate's
/// root `im__mod`, the `feishu` crate's `src/services.rs` just `mod`), `im__Cargo.toml`
/// for a service crate's other files, its name for a file beside the service crates, and
/// `feishu__Cargo.toml` and `feishu__lib` for the `feishu` crate's rendered templates.
fn snapshot_name(path: &str) -> String {
    match path {
        feishu_codegen::emit::SERVICES_FILE => return "mod".to_owned(),
        feishu_codegen::emit::MANIFEST => return "feishu__Cargo.toml".to_owned(),
        feishu_codegen::emit::LIB_RS => return "feishu__lib".to_owned(),
        _ => {}
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
        ("spec/schema.json", feishu_spec::json_schema()),
        (
            "spec/shared-types.schema.json",
            feishu_spec::shared_types_json_schema(),
        ),
    ] {
        let on_disk = std::fs::read_to_string(root().join(file)).unwrap_or_default();
        assert!(
            on_disk == schema,
            "{file} is out of date; run `cargo xtask schema`"
        );
    }
}

#[test]
fn every_enum_variant_states_its_wire_value() {
    let ir = feishu_codegen::lower_generated(&spec_dir()).unwrap_or_else(|d| panic!("{d}"));
    let mut silent = Vec::new();
    for def in ir.modules.values().flat_map(|m| &m.enums) {
        for variant in &def.variants {
            let wire = feishu_codegen::rustdoc::code(&variant.value);
            if !variant.doc.starts_with(&wire) {
                silent.push(format!("{}::{}", def.name.bare(), variant.name.bare()));
            }
        }
    }
    assert!(silent.is_empty(), "no wire value in the docs of {silent:?}");
}

/// Each block of consecutive `///` or `//!` lines of `file`, as markdown.
fn doc_blocks(file: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut block: Option<String> = None;
    for line in file.lines() {
        let trimmed = line.trim_start();
        let doc = trimmed
            .strip_prefix("///")
            .or_else(|| trimmed.strip_prefix("//!"));
        match (doc, &mut block) {
            (Some(doc), Some(block)) => {
                block.push('\n');
                block.push_str(doc.strip_prefix(' ').unwrap_or(doc));
            }
            (Some(doc), None) => block = Some(doc.strip_prefix(' ').unwrap_or(doc).to_owned()),
            (None, _) => blocks.extend(block.take()),
        }
    }
    blocks.extend(block);
    blocks
}

/// The text rustdoc shows of a doc block, outside code (which it parses with smart
/// punctuation on).
fn rendered_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let options = Options::ENABLE_SMART_PUNCTUATION | Options::ENABLE_TABLES;
    let mut text = String::new();
    let mut in_code = false;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Text(t) if !in_code => text.push_str(&t),
            // Inline markup runs on in its text; blocks and code spans end a piece of it.
            Event::End(TagEnd::Link | TagEnd::Emphasis | TagEnd::Strong) => {}
            Event::SoftBreak | Event::HardBreak | Event::End(_) | Event::Code(_) => text.push(' '),
            _ => {}
        }
    }
    text
}

/// Where `text` shows a well-formed markdown link as text, `](url)` with a web or a
/// page-relative (`get.md`) URL, if it does. (A page's malformed links, `((url ))` or a
/// URL with spaces, are text on the page too.)
fn shown_link(text: &str) -> Option<usize> {
    text.match_indices("](").map(|(at, _)| at).find(|&at| {
        let rest = &text[at + 2..];
        let url = &rest[..rest.find(')').unwrap_or(rest.len())];
        let page = url.split('#').next().unwrap_or(url);
        !url.contains(char::is_whitespace)
            && (url.starts_with("http://") || url.starts_with("https://") || page.ends_with(".md"))
    })
}

/// The Rust files under `dir`.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The generated docs (the checked-in copy, kept fresh by the test above) show the page's
/// text: no `--` (a flag, a placeholder) turned into an en dash by smart punctuation, and
/// no link shown as its markdown (`[查询](query.md)`).
#[test]
fn generated_docs_render_as_the_pages_wrote_them() {
    let dashes = |s: &str| s.matches('–').count();
    let mut mangled = Vec::new();
    for path in rust_files(&generated_dir().join("services")) {
        let content = std::fs::read_to_string(&path).unwrap();
        for block in doc_blocks(&content) {
            let text = rendered_text(&block);
            let at = match shown_link(&text) {
                Some(at) => at,
                None if dashes(&text) > dashes(&block) => text.find('–').unwrap_or_default(),
                None => continue,
            };
            let around: String = text[at..].chars().take(60).collect();
            mangled.push(format!("{}: …{around}", path.display()));
        }
    }
    assert!(mangled.is_empty(), "{}", mangled.join("\n"));
}
