//! The markdown doc page (front matter, `## 请求`, `## 响应`, their tables and examples) to
//! an endpoint spec.

use feishu_spec::Diagnostic;
use feishu_spec::model::{
    ApiHost, EndpointSpec, Envelope, ErrorCode, Examples, Field, HttpMethod, Payload, Response,
    Scope, TokenKind, is_multipart,
};
use serde_json::Value;

use crate::cell::{self, plain_text, without_repeated_label};
use crate::doc_type;
use crate::example;
use crate::fields::{self, Defined, located, to_fields};
use crate::layout::Layout;
use crate::mirror;
use crate::nesting::{self, FieldRow, Node};
use crate::page::{FrontMatter, Page, Section};
use crate::table::Table;

/// The page's problems: errors stop the import, warnings are reported.
#[derive(Default)]
pub struct Findings {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

/// Other titles pages give a section: (alias, the title it stands for).
const SECTION_ALIASES: &[(&str, &str)] = &[("请求示例", "请求体示例"), ("响应示例", "响应体示例")];

/// Sections kept out of the spec, with why.
const SKIPPED_SECTIONS: &[&str] = &["代码示例"];

pub fn import(
    page: &Page,
    front: FrontMatter,
    sections: &[Section],
    found: &mut Findings,
) -> Option<EndpointSpec> {
    let mut warnings = Vec::new();
    let mut warn = |line: usize, what: &str, message: String| {
        warnings.push(page.diagnostic(line, what, message));
    };
    let layout = Layout::of(&front);
    let sections = &layout.sections(sections.to_vec());
    let find = |title: &str| {
        let aliases = SECTION_ALIASES.iter().filter(|(_, of)| *of == title);
        let mut titles = std::iter::once(title).chain(aliases.map(|(alias, _)| *alias));
        titles.find_map(|t| sections.iter().find(|s| s.title == t))
    };
    let title = front.title.clone().or_else(|| {
        sections
            .iter()
            .find(|s| s.level == 1)
            .map(|s| s.title.clone())
    });
    let Some(doc_url) = layout.doc_url(&front) else {
        found.errors.push(page.diagnostic(
            1,
            "front matter",
            "no `source_url` (or `fullPath`): the page's address is unknown",
        ));
        return None;
    };
    let updated = layout.updated(&front, page);
    let (description, mut notes) = lead_and_notes(sections, &["请求", "响应"], &mut warn);

    // The request table.
    let Some(request) = find("请求") else {
        found
            .errors
            .push(page.diagnostic(0, "请求", "the page has no `## 请求` section"));
        return None;
    };
    let rows = layout.request_rows(request, KNOWN_REQUEST_ROWS);
    let value_of = |key: &str| rows.iter().find(|(_, k, _)| k == key);
    let Some((url_line, _, url)) = value_of("HTTP URL") else {
        found.errors.push(page.diagnostic(
            request.line,
            "请求",
            "the request table has no `HTTP URL` row",
        ));
        return None;
    };
    let Some((method_line, _, method_text)) = value_of("HTTP Method") else {
        found.errors.push(page.diagnostic(
            request.line,
            "请求",
            "the request table has no `HTTP Method` row",
        ));
        return None;
    };
    let method: HttpMethod =
        match serde_json::from_value(Value::String(method_text.trim().to_uppercase())) {
            Ok(m) => m,
            Err(_) => {
                found.errors.push(page.diagnostic(
                    *method_line,
                    "HTTP Method",
                    format!("`{method_text}` is not an HTTP method"),
                ));
                return None;
            }
        };
    let (host, path) = match api_path(url) {
        Ok((host, path, query)) => {
            if let Some(query) = query {
                warn(
                    *url_line,
                    "HTTP URL",
                    format!(
                        "the URL carries an example query string `{query}`; it is dropped (the query parameters are documented below)"
                    ),
                );
            }
            (host, path)
        }
        Err(message) => {
            found
                .errors
                .push(page.diagnostic(*url_line, "HTTP URL", message));
            return None;
        }
    };
    let rate_limit = value_of("接口频率限制").map(|(_, _, v)| plain_text(v));
    let app_types = value_of("支持的应用类型")
        .map(|(_, _, v)| layout.app_types(v))
        .unwrap_or_default();
    let mut scope_list = |key: &str| -> Vec<Scope> {
        let Some((line, _, value)) = value_of(key) else {
            return Vec::new();
        };
        let (scopes, unnamed, callout) = layout.scopes(value);
        notes.extend(callout);
        for text in unnamed {
            warn(
                *line,
                key,
                format!("`{text}` names a permission without its scope code; not kept"),
            );
        }
        scopes
    };
    let scopes = scope_list("权限要求");
    let field_scopes = scope_list("字段权限要求");
    for (line, key, _) in &rows {
        if !KNOWN_REQUEST_ROWS.contains(&key.as_str()) {
            warn(
                *line,
                "请求",
                format!("the request-table row `{key}` is not understood; not kept"),
            );
        }
    }

    // Headers: tokens, content type, the helpdesk header, others.
    let mut tokens = Vec::new();
    let mut content_type = None;
    let mut header_params = Vec::new();
    let mut helpdesk = false;
    if let Some(section) = find("请求头") {
        helpdesk = section
            .body
            .iter()
            .any(|(_, l)| l.contains("X-Lark-Helpdesk-Authorization"));
        for (row_line, name, cells) in simple_rows(section, layout, &mut warn) {
            let doc = cell::parse(cells.last().map(String::as_str).unwrap_or_default());
            match name.as_str() {
                "Authorization" => {
                    for (needle, kind) in [
                        ("tenant_access_token", TokenKind::Tenant),
                        ("user_access_token", TokenKind::User),
                        ("app_access_token", TokenKind::App),
                    ] {
                        if doc.description.contains(needle) && !tokens.contains(&kind) {
                            tokens.push(kind);
                        }
                    }
                    if tokens.is_empty() {
                        warn(row_line, "Authorization", "names no token kind".to_owned());
                    }
                }
                "Content-Type" => {
                    // Some pages give the value only as an example; an upload's boundary
                    // is chosen per request, so it is not part of the type.
                    content_type = doc.fixed.as_deref().or(doc.example.as_deref()).map(|f| {
                        let f = f.trim_matches(['"', '“', '”']);
                        match f.split_once(';') {
                            Some((mime, rest)) if rest.trim().starts_with("boundary=") => {
                                mime.trim().to_owned()
                            }
                            _ => f.to_owned(),
                        }
                    });
                }
                "X-Lark-Helpdesk-Authorization" => helpdesk = true,
                _ => header_params.push(FieldRow {
                    line: row_line,
                    name,
                    depth: None,
                    ty: Some(doc_type::DocType::Scalar("string")),
                    required: cells.get(2).is_some_and(|c| is_required(c)),
                    doc,
                    inferred: false,
                }),
            }
        }
    }

    // The body and response rows are read first: a type either lists with its fields
    // is named, not typed as any JSON, where another table lists it empty.
    let body_rows = find("请求体").map(|s| field_rows(s, layout, &mut warn, found));
    let response_rows = find("响应体").map(|s| field_rows(s, layout, &mut warn, found));
    let listed = body_rows
        .iter()
        .chain(&response_rows)
        .flat_map(|rows| fields::listed_with_fields(rows))
        .collect();
    let mut defined = Defined::expecting(listed);
    let mut too_big = Vec::new();
    let mut fields_of = |rows: Vec<FieldRow>,
                         example: Option<&Value>,
                         warn: &mut dyn FnMut(usize, &str, String),
                         what: &str|
     -> Vec<Field> {
        let mut w = |line: usize, m: String| warn(line, what, m);
        match nesting::rebuild(rows, example, &mut w) {
            Ok(nodes) => to_fields(&nodes, &mut defined, &mut w),
            Err(error) => {
                too_big.push(page.diagnostic(error.line(), what, error.to_string()));
                Vec::new()
            }
        }
    };
    let header_params = fields_of(header_params, None, &mut warn, "请求头");
    let path_params = match find("路径参数") {
        Some(s) => {
            let rows = field_rows(s, layout, &mut warn, found);
            fields_of(rows, None, &mut warn, "路径参数")
        }
        None => Vec::new(),
    };
    let query_params = match find("查询参数") {
        Some(s) => {
            let rows = field_rows(s, layout, &mut warn, found);
            fields_of(rows, None, &mut warn, "查询参数")
        }
        None => Vec::new(),
    };
    for (_, paragraph) in sections
        .iter()
        .filter(|s| {
            matches!(
                s.title.as_str(),
                "请求头" | "路径参数" | "查询参数" | "请求体" | "响应体"
            )
        })
        .flat_map(|s| s.prose())
    {
        // The helpdesk header's note is what `helpdesk: true` stands for.
        if !(helpdesk && paragraph.contains("X-Lark-Helpdesk-Authorization")) {
            notes.push(without_repeated_label(&paragraph));
        }
    }

    // The body and its example.
    let request_example =
        find("请求体示例").and_then(|s| first_example(s, "请求体示例", &mut warn));
    let request_body = match body_rows {
        Some(mut rows) => {
            if content_type.as_deref().is_some_and(is_multipart) {
                file_parts(&mut rows);
            }
            let fields = fields_of(
                rows,
                request_example.as_ref().map(|e| &e.value),
                &mut warn,
                "请求体",
            );
            (!fields.is_empty()).then(|| {
                located(Payload {
                    ty: None,
                    fields: Some(fields),
                })
            })
        }
        None => None,
    };

    // The response.
    let response_example =
        find("响应体示例").and_then(|s| first_example(s, "响应体示例", &mut warn));
    let response = match response_rows {
        Some(rows) => {
            let example = response_example.as_ref().map(|e| &e.value);
            response_of(rows, example, &mut fields_of, &mut warn)
        }
        None => Response::default(),
    };
    let response = Response {
        file: returns_file(sections),
        ..response
    };
    found.errors.append(&mut too_big);

    let errors = find("错误码")
        .map(|s| error_codes(s, layout, &mut warn))
        .unwrap_or_default();
    found.warnings.extend(warnings);
    Some(EndpointSpec {
        title: located(title.unwrap_or_default()),
        doc_url: located(doc_url),
        updated,
        description,
        notes,
        method: located(method),
        host,
        path: located(path),
        rate_limit,
        app_types,
        scopes,
        field_scopes,
        tokens: located(tokens),
        helpdesk,
        content_type,
        path_params,
        query_params,
        header_params,
        request_body,
        response,
        types: Vec::new(),
        errors,
        examples: Examples {
            request: request_example.map(|e| located(e.text)),
            response: response_example.map(|e| located(e.text)),
        },
    })
}

/// The page's lead paragraph, and its other prose as notes (one per paragraph of the
/// title's section, one per remark section), outside the `main` sections and their
/// subsections, which the caller reads.
pub(crate) fn lead_and_notes(
    sections: &[Section],
    main: &[&str],
    warn: &mut dyn FnMut(usize, &str, String),
) -> (String, Vec<String>) {
    let mut description = String::new();
    let mut notes = Vec::new();
    let mut in_main = false;
    for section in sections {
        if section.level <= 2 {
            in_main = main.contains(&section.title.as_str());
        }
        if in_main || section.level == 0 {
            continue;
        }
        if SKIPPED_SECTIONS.contains(&section.title.as_str()) {
            warn(
                section.line,
                "",
                format!("the section `{}` is not kept", section.title),
            );
            continue;
        }
        let prose = section.prose();
        if section.level == 1 {
            let mut paragraphs = prose.into_iter().map(|(_, p)| without_repeated_label(&p));
            description = paragraphs.next().unwrap_or_default();
            notes.extend(paragraphs);
        } else if !prose.is_empty() {
            let text: Vec<String> = prose.into_iter().map(|(_, p)| p).collect();
            let note = format!("**{}**：\n{}", section.title, text.join("\n\n"));
            notes.push(without_repeated_label(&note));
        }
    }
    (description, notes)
}

const KNOWN_REQUEST_ROWS: &[&str] = &[
    "HTTP URL",
    "HTTP Method",
    "接口频率限制",
    "支持的应用类型",
    "权限要求",
    "字段权限要求",
];

/// `https://open.feishu.cn/open-apis/x/v1/ys/:id?a=b` → (`/open-apis/x/v1/ys/:id`, `a=b`),
/// with the host that serves it.
fn api_path(url: &str) -> Result<(ApiHost, String, Option<String>), String> {
    let url = plain_text(url);
    let (host, start) = [ApiHost::Open, ApiHost::Www]
        .into_iter()
        .find_map(|host| url.find(host.path_prefix()).map(|at| (host, at)))
        .ok_or_else(|| {
            format!("`{url}` is neither an /open-apis/ nor an /approval/openapi/ URL")
        })?;
    let rest = &url[start..];
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (rest, None),
    };
    Ok((host, colon_placeholders(path), query))
}

/// In an upload's body, a top-level `file` (or `file[]`) is a file part (spec type
/// `binary`), not a doc object named `file` (docx blocks have one of those).
fn file_parts(rows: &mut [FieldRow]) {
    let top_level = |row: &FieldRow| row.depth.unwrap_or(0) == 0;
    for row in rows.iter_mut().filter(|row| top_level(row)) {
        if let Some(ty) = &row.ty
            && ty.object_leaf() == Some(&doc_type::DocType::Named("file".to_owned()))
        {
            row.ty = Some(ty.with_leaf(doc_type::DocType::Scalar("binary")));
        }
    }
}

/// Whether the page says the success answer is the file itself (返回文件二进制流).
fn returns_file(sections: &[Section]) -> bool {
    let mut in_response = false;
    sections.iter().any(|section| {
        if section.level <= 2 {
            in_response = section.title == "响应";
        }
        in_response
            && section
                .body
                .iter()
                .any(|(_, l)| l.contains("返回文件二进制流"))
    })
}

/// `/tickets/{ticket_id}` → `/tickets/:ticket_id`, the spec's placeholder style.
pub fn colon_placeholders(path: &str) -> String {
    path.split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => format!(":{name}"),
                None => s.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn is_required(cell: &str) -> bool {
    matches!(
        plain_text(cell).as_str(),
        "是" | "必填" | "必须" | "true" | "yes" | "Y"
    )
}

/// The rows of a section's first table as (line, name, cells).
fn simple_rows(
    section: &Section,
    layout: Layout,
    warn: &mut dyn FnMut(usize, &str, String),
) -> Vec<(usize, String, Vec<String>)> {
    let Some(table) = layout.tables(section).into_iter().next() else {
        return Vec::new();
    };
    table
        .rows
        .iter()
        .map(|row| {
            if row.extra_cells > 0 {
                warn(row.line, &section.title, "the row has more cells than the table's header; the extra text is kept in the last cell".to_owned());
            }
            (row.line, plain_text(&row.cells[0]), row.cells.clone())
        })
        .collect()
}

/// A field table's rows. Tables may lack the type or required column; names may carry
/// legacy `∟` depth markers.
pub(crate) fn field_rows(
    section: &Section,
    layout: Layout,
    warn: &mut dyn FnMut(usize, &str, String),
    found: &mut Findings,
) -> Vec<FieldRow> {
    let what = section.title.as_str();
    let tables = layout.tables(section);
    let Some(table) = tables.first() else {
        if let Some((line, _)) = section.body.iter().find(|(_, l)| l.contains('|')) {
            // The page is named by the caller, which knows it.
            found.errors.push(Diagnostic {
                file: Default::default(),
                pos: Some(feishu_spec::Pos { line: u32::try_from(*line).unwrap_or(u32::MAX), column: 1 }),
                field: what.to_owned(),
                message: "the table has no header separator row (`--- | ---`), so its rows cannot be read".to_owned(),
            });
        }
        return Vec::new();
    };
    if tables.len() > 1 {
        warn(
            tables[1].line,
            what,
            "a second table in the section is not read".to_owned(),
        );
    }
    let columns = Columns::of(table);
    let Some(name_col) = columns.name else {
        warn(
            table.line,
            what,
            format!(
                "the table has no name column (header: {}); not read",
                table.header.join(" | ")
            ),
        );
        return Vec::new();
    };
    let mut rows = Vec::new();
    for row in &table.rows {
        if row.extra_cells > 0 {
            warn(row.line, what, "the row has more cells than the table's header; the extra text is kept in the last cell".to_owned());
        }
        let cell = |i: Option<usize>| {
            i.and_then(|i| row.cells.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let (depth, name) = split_depth(&cell(Some(name_col)));
        if name.is_empty() {
            warn(row.line, what, "a row without a name is skipped".to_owned());
            continue;
        }
        let ty = match columns.ty {
            Some(i) => match doc_type::parse(&cell(Some(i))) {
                Ok(ty) => Some(ty),
                Err(message) => {
                    warn(
                        row.line,
                        what,
                        format!("{message}; typed as any JSON value"),
                    );
                    Some(doc_type::DocType::Scalar("any"))
                }
            },
            None => None,
        };
        rows.push(FieldRow {
            line: row.line,
            name,
            depth,
            ty,
            required: columns
                .required
                .is_some_and(|i| is_required(&cell(Some(i)))),
            doc: cell::parse(&cell(columns.description)),
            inferred: false,
        });
    }
    rows
}

struct Columns {
    name: Option<usize>,
    ty: Option<usize>,
    required: Option<usize>,
    description: Option<usize>,
}

impl Columns {
    fn of(table: &Table) -> Columns {
        Columns {
            name: table.column(&["名称", "参数", "参数名", "字段", "名字"]),
            ty: table.column(&["类型", "参数类型", "数据类型"]),
            required: table.column(&["必填", "必须", "是否必填", "必选"]),
            description: table.column(&["描述", "说明", "参数说明"]),
        }
    }
}

/// `&emsp;&emsp;∟&nbsp;id` → (Some(2), `id`); `id` → (None, `id`).
fn split_depth(cell: &str) -> (Option<usize>, String) {
    if let Some((depth, name)) = mirror::depth(cell) {
        return (Some(depth), plain_text(&cell::decode_entities(name)));
    }
    let decoded = cell::decode_entities(cell);
    let text = plain_text(&decoded.replace('∟', " ∟ "));
    if !decoded.contains('∟') {
        return (None, text.trim_matches('*').trim().to_owned());
    }
    // Depth is the marker's place: how much padding precedes it.
    let before = decoded.split('∟').next().unwrap_or_default();
    let pad = cell.split('∟').next().unwrap_or_default();
    let units = pad
        .matches("&emsp;")
        .count()
        .max(usize::from(!before.trim().is_empty()));
    let nbsp = pad.matches("&nbsp;").count();
    let depth = 1 + units.saturating_sub(1) + nbsp / 3;
    let name = text
        .replace('∟', "")
        .trim()
        .trim_matches('*')
        .trim()
        .to_owned();
    (Some(depth), name)
}

pub(crate) fn first_example(
    section: &Section,
    what: &str,
    warn: &mut dyn FnMut(usize, &str, String),
) -> Option<example::Example> {
    let blocks = section.code_blocks();
    let (line, text) = blocks.first()?;
    if blocks.len() > 1 {
        warn(
            blocks[1].0,
            what,
            format!(
                "{} more example blocks (e.g. a failure response) are not kept",
                blocks.len() - 1
            ),
        );
    }
    match example::parse(text) {
        Ok(parsed) => {
            for repair in &parsed.repairs {
                warn(
                    *line,
                    what,
                    format!("the example is not valid JSON; {repair}"),
                );
            }
            Some(parsed)
        }
        Err(message) => {
            // A broken example is the page's mistake, not the endpoint's: the spec is
            // still right without it.
            warn(
                *line,
                what,
                format!("the example is not valid JSON ({message}); it is dropped"),
            );
            None
        }
    }
}

type FieldsOf<'a> = dyn FnMut(Vec<FieldRow>, Option<&Value>, &mut dyn FnMut(usize, &str, String), &str) -> Vec<Field>
    + 'a;

fn response_of(
    rows: Vec<FieldRow>,
    example: Option<&Value>,
    fields_of: &mut FieldsOf<'_>,
    warn: &mut dyn FnMut(usize, &str, String),
) -> Response {
    let is_envelope = |name: &str| matches!(name, "code" | "msg");
    // Nest once over the whole table to find `data` and where its rows end.
    let mut scratch = |_: usize, _: String| {};
    // A table too big is reported when its fields are read below.
    let tree: Vec<Node> = nesting::rebuild(rows.clone(), example, &mut scratch).unwrap_or_default();
    let data_row = tree.iter().find(|n| n.row.name == "data");
    let data_example = example.and_then(|e| e.get("data"));
    // A flat payload's example is the body without the envelope's own keys.
    let flat_example = example.cloned().map(|mut e| {
        if let Some(object) = e.as_object_mut() {
            object.remove("code");
            object.remove("msg");
        }
        e
    });
    let (envelope, payload_rows, payload_example) = match data_row {
        Some(data) => (Envelope::Data, descendants(data), data_example),
        None => {
            let top: Vec<FieldRow> = rows
                .iter()
                .filter(|r| !is_envelope(&r.name))
                .cloned()
                .collect();
            let under_data = data_example.and_then(Value::as_object).is_some_and(|d| {
                top.iter()
                    .filter(|r| r.depth.unwrap_or(0) == 0)
                    .all(|r| d.contains_key(&r.name))
            });
            if under_data && !top.is_empty() {
                warn(top[0].line, "响应体", "the table has no `data` row, but the example holds these fields under `data`; read as data's fields".to_owned());
                (Envelope::Data, top, data_example)
            } else if top.is_empty() {
                (Envelope::Data, top, data_example)
            } else {
                (Envelope::Flat, top, flat_example.as_ref())
            }
        }
    };
    // Rows keep their depth markers relative to `data`.
    let payload_rows: Vec<FieldRow> = payload_rows
        .into_iter()
        .map(|mut r| {
            if envelope == Envelope::Data && data_row.is_some() {
                r.depth = r.depth.map(|d| d.saturating_sub(1));
            }
            r
        })
        .collect();
    let fields = fields_of(payload_rows, payload_example, warn, "响应体");
    let fields: Vec<Field> = fields
        .into_iter()
        .filter(|f| envelope == Envelope::Data || !is_envelope(&f.name))
        .collect();
    Response {
        envelope,
        payload: (!fields.is_empty()).then(|| {
            located(Payload {
                ty: None,
                fields: Some(fields),
            })
        }),
        file: false,
    }
}

/// The rows nested under a node, in page order, with their depth markers as written.
pub(crate) fn descendants(node: &Node) -> Vec<FieldRow> {
    fn collect(nodes: &[Node], out: &mut Vec<FieldRow>) {
        for node in nodes {
            out.push(node.row.clone());
            collect(&node.children, out);
        }
    }
    let mut rows = Vec::new();
    collect(&node.children, &mut rows);
    rows
}

pub fn error_codes(
    section: &Section,
    layout: Layout,
    warn: &mut dyn FnMut(usize, &str, String),
) -> Vec<ErrorCode> {
    let Some(table) = layout.tables(section).into_iter().next() else {
        return Vec::new();
    };
    let status = table.column(&["HTTP状态码", "HTTP 状态码"]);
    let code = table.column(&["错误码"]);
    let message = table.column(&["描述", "说明", "错误信息"]);
    let hint = table.column(&["排查建议", "解决方案"]);
    let Some(code) = code else {
        warn(
            table.line,
            "错误码",
            "the error table has no 错误码 column; not read".to_owned(),
        );
        return Vec::new();
    };
    let mut errors = Vec::new();
    for row in &table.rows {
        let cell = |i: Option<usize>| {
            i.and_then(|i| row.cells.get(i))
                .map(|c| c.trim().to_owned())
                .unwrap_or_default()
        };
        let Ok(value) = plain_text(&cell(Some(code))).parse::<i64>() else {
            warn(
                row.line,
                "错误码",
                format!(
                    "`{}` is not an error code; the row is skipped",
                    cell(Some(code))
                ),
            );
            continue;
        };
        if errors.iter().any(|e: &ErrorCode| *e.code == value) {
            warn(
                row.line,
                "错误码",
                format!("the code {value} is listed twice; the first row is kept"),
            );
            continue;
        }
        errors.push(ErrorCode {
            http_status: plain_text(&cell(status)).parse().ok(),
            code: located(value),
            message: cell(message),
            hint: one_line_hint(&cell(hint), &mut |m| warn(row.line, "排查建议", m)),
        });
    }
    errors
}

/// The most characters an error hint keeps. Feishu's longest real hint has about 1,500; a
/// longer one is a table that ran on into the page after it.
const MAX_HINT_CHARS: usize = 2_000;

/// An error's hint as one line: the runtime writes it into the error's message and the
/// docs into one table cell, so its line breaks and runs of spaces become one space. A
/// hint over [`MAX_HINT_CHARS`] is cut, with a warning.
fn one_line_hint(cell: &str, warn: &mut dyn FnMut(String)) -> String {
    let hint = cell.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = hint.chars().count();
    if chars <= MAX_HINT_CHARS {
        return hint;
    }
    warn(format!(
        "the hint has {chars} characters; cut to {MAX_HINT_CHARS}"
    ));
    let mut cut: String = hint.chars().take(MAX_HINT_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_hint_is_one_line_and_bounded() {
        let mut warnings = Vec::new();
        let hint = one_line_hint(
            "- 检查权限。\n- 首先进入  应用设置",
            &mut |m| warnings.push(m),
        );
        assert_eq!(hint, "- 检查权限。 - 首先进入 应用设置");
        assert!(warnings.is_empty());
        let long = "很".repeat(MAX_HINT_CHARS + 1);
        let cut = one_line_hint(&long, &mut |m| warnings.push(m));
        assert_eq!(cut.chars().count(), MAX_HINT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(warnings.len(), 1, "a cut hint is never silent");
    }
}
