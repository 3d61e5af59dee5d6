//! Pages and specs written to break the importer and the generator: each one imports and
//! generates, or fails with a diagnostic. None may panic, overflow the stack, or take time
//! or memory out of proportion to its size (they are up to 1 MB; a quadratic reader took
//! 7–27 s on them, a linear one takes well under a second).

use std::path::Path;

use feishu_spec::Diagnostic;
use feishu_tests::still_generates;

/// A page of the project's own copy of the docs, to plant hostile text in.
fn real_page() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/im/v1/message/get.source.md");
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A row of the page's response table: its place in the page, and how it is rewritten.
const ROW: &str = "| &nbsp;&nbsp;&nbsp;&nbsp;└ `message_id` | `string` | 消息 ID。 |";

fn with_row(row: &str) -> String {
    let page = real_page();
    assert!(
        page.contains(ROW),
        "the page still has the row the cases rewrite"
    );
    page.replace(ROW, row)
}

/// What importing `page` and generating from the result gave: the first error, if any.
fn import_and_generate(page: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let (pages, spec) = (dir.path().join("pages"), dir.path().join("spec"));
    std::fs::create_dir_all(&pages).unwrap();
    let path = pages.join("hostile.md");
    std::fs::write(&path, page).unwrap();
    let first = |all: &[Diagnostic]| all.first().map(ToString::to_string).unwrap_or_default();
    feishu_import::import(&[path], &spec, false, &still_generates)
        .map_err(|errors| first(&errors))?;
    let generated = feishu_codegen::generate(&spec).map_err(|d| d.to_string())?;
    Ok(generated.files.into_values().collect::<Vec<_>>().join("\n"))
}

#[test]
fn a_curl_example_cut_inside_a_quoted_value_is_an_error_not_a_panic() {
    let error =
        import_and_generate("PATCH\n/open-apis/\n--data-raw 'a\":\"").expect_err("not a page");
    assert!(error.contains("hostile.md"), "{error}");
}

#[test]
fn a_megabyte_row_of_cells_past_the_header_is_folded_into_its_last_cell() {
    let row = format!(
        "| &nbsp;&nbsp;&nbsp;&nbsp;└ `message_id` | `string` | 消息 ID。 {} |",
        "ab|".repeat(333_000)
    );
    let generated = import_and_generate(&with_row(&row)).expect("the page imports");
    assert!(
        generated.contains("消息 ID。 ab | ab | ab"),
        "the extra cells' text is kept"
    );
}

#[test]
fn open_brackets_and_backticks_by_the_hundred_thousand_are_escaped() {
    for text in [
        "[".repeat(300_000),
        "``````````a".repeat(27_000),
        "`a".repeat(150_000),
        "[a](".repeat(75_000),
    ] {
        let row = format!("| &nbsp;&nbsp;&nbsp;&nbsp;└ `message_id` | `string` | {text} |");
        import_and_generate(&with_row(&row)).expect("the page imports");
    }
}

#[test]
fn links_nested_thousands_deep_are_kept_without_recursion() {
    let depth = 20_000;
    let text = format!("{}x{}", "[".repeat(depth), "](/u)".repeat(depth));
    let row = format!("| &nbsp;&nbsp;&nbsp;&nbsp;└ `message_id` | `string` | {text} |");
    let generated = import_and_generate(&with_row(&row)).expect("the page imports");
    let nested = "[[[x](https://open.feishu.cn/u)](https://open.feishu.cn/u)";
    assert!(generated.contains(nested), "the links are kept");
}

#[test]
fn a_type_cell_of_a_thousand_arrays_is_read_as_any_not_a_stack_overflow() {
    // Like any type cell the importer cannot read: a warning, and the field is `any`.
    let row = format!(
        "| &nbsp;&nbsp;&nbsp;&nbsp;└ `message_id` | `string{}` | 消息 ID。 |",
        "\\[\\]".repeat(1000)
    );
    let generated = import_and_generate(&with_row(&row)).expect("the page imports");
    let field = "pub message_id: Option<::serde_json::Value>";
    assert!(generated.contains(field), "the field is typed `any`");
}

#[test]
fn a_spec_type_of_four_hundred_arrays_is_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("svc/v1/thing/get.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let spec = format!(
        "title: Deep\ndoc_url: https://open.feishu.cn/document/deep\nmethod: GET\n\
         path: /open-apis/svc/v1/things\ntokens: [tenant]\nquery_params:\n  - {{ name: q, type: \"string{}\" }}\n",
        "[]".repeat(400)
    );
    std::fs::write(&file, spec).unwrap();
    let error = feishu_codegen::generate(dir.path())
        .map(|_| ())
        .expect_err("too deep")
        .to_string();
    assert!(error.contains("get.yaml:7"), "the file and line: {error}");
    assert!(error.contains("more than 8 levels"), "{error}");
}

#[test]
fn hundreds_of_nested_object_rows_are_an_error_at_the_page_line_not_a_yaml_budget() {
    // Three hundred: a thousand, indented by `&nbsp;`, would make a page over the size
    // limit, which is refused before it is read.
    let rows: Vec<String> = (0..300)
        .map(|d| {
            let indent = "&nbsp;&nbsp;".repeat(d + 3);
            format!("| {indent}└ `o{d}` | `object` | x |")
        })
        .collect();
    let page = with_row(&format!("{ROW}\n{}", rows.join("\n")));
    let error = import_and_generate(&page).expect_err("too deep");
    // The row that opens the 17th object: the 16th row below `message_id`, which sits two
    // objects deep (`data`, `items`).
    let line = page
        .lines()
        .position(|l| l.contains("└ `o14`"))
        .map(|i| i + 1)
        .unwrap();
    assert!(
        error.contains(&format!("hostile.md:{line}")),
        "names the page and the row's line: {error}"
    );
    assert!(error.contains("more than 16 objects deep"), "{error}");
    assert!(
        !error.contains(".yaml"),
        "no spec file was written: {error}"
    );
}

#[test]
fn an_import_that_cannot_write_its_second_page_writes_nothing() {
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/im/v1/message");
    let dir = tempfile::tempdir().unwrap();
    let (pages, spec) = (dir.path().join("pages"), dir.path().join("spec"));
    std::fs::create_dir_all(&pages).unwrap();
    let mut paths = Vec::new();
    for method in ["create", "get"] {
        let path = pages.join(format!("{method}.md"));
        std::fs::copy(kept.join(format!("{method}.source.md")), &path).unwrap();
        paths.push(path);
    }
    // A directory with something in it where the second page's spec goes: renaming the
    // staged spec onto it fails after the first page's files are in place.
    let blocker = spec.join("im/v1/message/get.yaml");
    std::fs::create_dir_all(blocker.join("inside")).unwrap();
    let errors =
        feishu_import::import(&paths, &spec, false, &still_generates).expect_err("cannot write");
    assert!(errors[0].to_string().contains("get.yaml"), "{}", errors[0]);
    let mut left = Vec::new();
    let mut pending = vec![spec.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                left.push(path);
            }
        }
    }
    assert!(left.is_empty(), "no file written or staged: {left:?}");
}

#[test]
fn a_page_that_is_not_utf8_or_is_empty_says_so_with_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let (bad, empty) = (dir.path().join("bad.md"), dir.path().join("empty.md"));
    std::fs::write(&bad, b"---\ntitle: x\n---\n# \xe4\xb8\xad\xff b\n").unwrap();
    std::fs::write(&empty, " \n\n").unwrap();
    let spec = dir.path().join("spec");
    let error =
        feishu_import::import(&[bad], &spec, false, &still_generates).unwrap_err()[0].to_string();
    assert!(
        error.contains("bad.md:4:4: the page is not UTF-8"),
        "{error}"
    );
    let error =
        feishu_import::import(&[empty], &spec, false, &still_generates).unwrap_err()[0].to_string();
    assert!(error.ends_with("empty.md: the page is empty"), "{error}");
}

#[test]
fn tables_and_objects_too_big_for_any_feishu_page_are_errors_at_the_row() {
    let errors = |count: usize| -> String {
        (0..count)
            .map(|i| format!("| 400 | {} | Failed. | 排查 |\n", 300_000 + i))
            .collect()
    };
    let header = "| HTTP状态码 | 错误码 | 描述 | 排查建议 |\n| --- | --- | --- | --- |\n";
    let page = real_page().replace(header, &format!("{header}{}", errors(10_001)));
    let error = import_and_generate(&page).expect_err("too many rows");
    // The header and the separator count: the 10,001st line of the table.
    let header_line = page
        .lines()
        .position(|l| l.starts_with("| HTTP状态码 |"))
        .unwrap()
        + 1;
    let line = header_line + 10_000;
    assert!(
        error.contains(&format!(
            "hostile.md:{line}:1: a table has at most 10000 rows"
        )),
        "{error}"
    );

    let fields: Vec<String> = (0..1_000)
        .map(|i| format!("| &nbsp;&nbsp;&nbsp;&nbsp;└ `f{i}` | `string` | 字段 |"))
        .collect();
    let page = with_row(&format!("{ROW}\n{}", fields.join("\n")));
    let error = import_and_generate(&page).expect_err("too many fields");
    assert!(
        error.contains("an object has at most 1000 fields"),
        "{error}"
    );
    assert!(
        !error.contains(".yaml"),
        "the page's line, not a spec file: {error}"
    );
}

#[test]
fn a_spec_of_more_than_a_thousand_parameters_is_an_error_at_the_first_one_over() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("svc/v1/thing/get.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let params: String = (0..1_001)
        .map(|i| format!("  - {{ name: p{i}, type: string }}\n"))
        .collect();
    let spec = format!(
        "title: Wide\ndoc_url: https://open.feishu.cn/document/wide\nmethod: GET\n\
         path: /open-apis/svc/v1/things\ntokens: [tenant]\nquery_params:\n{params}"
    );
    std::fs::write(&file, spec).unwrap();
    let error = feishu_codegen::generate(dir.path())
        .map(|_| ())
        .expect_err("too many")
        .to_string();
    // Line 7 holds the first parameter, so the 1,001st is on line 1,007.
    assert!(
        error.contains("get.yaml:1007"),
        "the file and line: {error}"
    );
    assert!(error.contains("query_params[1000]"), "{error}");
}

#[test]
fn a_page_or_a_spec_file_over_the_size_limit_is_refused_naming_it_and_the_limit() {
    let limit = feishu_spec::MAX_PAGE_BYTES as usize;
    // A real page with one description grown past the limit.
    let row = format!(
        "| &nbsp;&nbsp;&nbsp;&nbsp;└ `message_id` | `string` | {} |",
        "x".repeat(limit)
    );
    let error = import_and_generate(&with_row(&row)).expect_err("too big");
    assert!(error.contains("hostile.md"), "{error}");
    assert!(error.contains(&format!("over {limit} bytes")), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("svc/v1/thing/get.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let limit = feishu_spec::MAX_SPEC_FILE_BYTES as usize;
    let spec = format!(
        "title: Big\ndescription: {}\ndoc_url: https://open.feishu.cn/document/big\n\
         method: GET\npath: /open-apis/svc/v1/things\ntokens: [tenant]\n",
        "x".repeat(limit)
    );
    std::fs::write(&file, spec).unwrap();
    let error = feishu_codegen::generate(dir.path())
        .map(|_| ())
        .expect_err("too big")
        .to_string();
    assert!(error.contains("get.yaml"), "{error}");
    assert!(error.contains(&format!("over {limit} bytes")), "{error}");
}
