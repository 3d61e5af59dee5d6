//! The API-explorer text page: title, method and path lines, the app types, the error
//! table, a curl example whose `--data-raw` JSON is the body, the response example, and a
//! parameter listing (`Path 参数`, `Query 参数`, `Header 参数`: name, type, 必需/可选, value).
//! It has no field table, so body types come from the example and are marked `inferred`.

use feishu_spec::model::{
    AppType, EndpointSpec, Examples, Field, HttpMethod, Payload, Response, Rules, TokenKind,
};
use serde_json::Value;

use crate::example;
use crate::fields::{Defined, infer_object, located};
use crate::markdown::Findings;
use crate::page::{Page, Section};

pub fn import(page: &Page, found: &mut Findings) -> Option<EndpointSpec> {
    let lines = &page.lines;
    let line_of = |pred: &dyn Fn(&str) -> bool| lines.iter().position(|l| pred(l.trim()));
    let title = lines
        .first()
        .map(|l| l.trim().to_owned())
        .unwrap_or_default();
    let Some(method_at) = line_of(&|l| HTTP_METHODS.contains(&l)) else {
        found
            .errors
            .push(page.diagnostic(0, "method", "no HTTP method line (GET, POST, …)"));
        return None;
    };
    let method: HttpMethod =
        serde_json::from_value(Value::String(lines[method_at].trim().to_owned())).ok()?;
    let Some(path_line) = lines
        .get(method_at + 1)
        .filter(|l| l.trim().starts_with("/open-apis/"))
    else {
        found.errors.push(page.diagnostic(
            method_at + 2,
            "path",
            "the line after the method is not an /open-apis/ path",
        ));
        return None;
    };
    let path = crate::markdown::colon_placeholders(path_line.trim());
    let mut app_types = Vec::new();
    for l in lines.iter().skip(method_at + 2).take(3) {
        if l.contains("自建应用") {
            app_types.push(AppType::Custom);
        }
        if l.contains("商店应用") {
            app_types.push(AppType::Store);
        }
    }

    // The error table, read with the markdown page's table reader.
    let errors_section = Section {
        level: 3,
        title: "错误码".into(),
        line: 0,
        body: error_table(lines),
    };
    let mut warnings = Vec::new();
    let errors = crate::markdown::error_codes(
        &errors_section,
        crate::layout::Layout::Seed,
        &mut |line, what, m| warnings.push(page.diagnostic(line, what, m)),
    );

    // The body: the curl example's --data-raw JSON.
    let request = match line_of(&|l| l.starts_with("--data-raw '")) {
        Some(start) => {
            let mut text = lines[start]
                .trim()
                .trim_start_matches("--data-raw '")
                .to_owned();
            let mut end = start;
            while !text.trim_end().ends_with('\'') && end + 1 < lines.len() {
                end += 1;
                text.push('\n');
                text.push_str(&lines[end]);
            }
            let text = text.trim_end().trim_end_matches('\'').to_owned();
            match example::parse(&text) {
                Ok(parsed) => Some(parsed),
                Err(message) => {
                    found.errors.push(page.diagnostic(
                        start + 1,
                        "--data-raw",
                        format!("the curl body is not valid JSON ({message})"),
                    ));
                    return None;
                }
            }
        }
        None => None,
    };
    let response = match line_of(&|l| l.starts_with("响应示例")) {
        Some(start) => {
            let end = line_of(&|l| l == "请求参数").unwrap_or(lines.len());
            let text = lines[start + 1..end.max(start + 1)].join("\n");
            match example::parse(&text) {
                Ok(parsed) => Some(parsed),
                Err(message) => {
                    found.errors.push(page.diagnostic(
                        start + 2,
                        "响应示例",
                        format!("the response example is not valid JSON ({message})"),
                    ));
                    return None;
                }
            }
        }
        None => None,
    };

    // The parameter listing.
    let mut path_params = Vec::new();
    let mut query_params = Vec::new();
    let mut group = "";
    let mut i = line_of(&|l| l == "请求参数").unwrap_or(lines.len());
    let mut authorized = false;
    while i < lines.len() {
        let l = lines[i].trim();
        if let Some(g) = ["Path 参数", "Query 参数", "Header 参数"]
            .iter()
            .find(|g| l == **g)
        {
            group = g;
            i += 1;
            continue;
        }
        if l.starts_with("Body 参数") || l == "返回响应" {
            group = "";
        }
        let is_param = !group.is_empty()
            && lines
                .get(i + 2)
                .is_some_and(|r| matches!(r.trim(), "必需" | "可选"));
        if !is_param {
            i += 1;
            continue;
        }
        let name = l.to_owned();
        let ty = lines[i + 1].trim().to_owned();
        let required = lines[i + 2].trim() == "必需";
        let value = match lines.get(i + 3).map(|s| s.trim()) {
            Some("示例值:") | Some("默认值:") => {
                lines.get(i + 4).map(|s| s.trim().to_owned())
            }
            _ => None,
        };
        i += 3;
        let field = Field {
            name: located(name.clone()),
            ty: located(
                crate::doc_type::parse(&ty)
                    .map(|t| t.spec("any"))
                    .unwrap_or_else(|_| "string".into()),
            ),
            required,
            description: String::new(),
            example: value.clone().map(|v| crate::example::cell_value(&v, &ty)),
            default: None,
            options: Vec::new(),
            enum_name: None,
            rules: Rules::default(),
            field_scopes: Vec::new(),
            inferred: false,
            fields: None,
        };
        match group {
            "Path 参数" => path_params.push(field),
            "Query 参数" => query_params.push(field),
            _ if name == "Authorization" => authorized = true,
            _ => {}
        }
    }
    let tokens = if authorized {
        warnings.push(page.diagnostic(0, "Header 参数", "the page does not say which access token `Authorization` takes; assuming tenant_access_token"));
        vec![TokenKind::Tenant]
    } else {
        Vec::new()
    };
    warnings.push(page.diagnostic(
        0,
        "doc_url",
        "the page gives no URL of its own; doc_url is left empty",
    ));
    let mut defined = Defined::default();
    let request_body = request.as_ref().and_then(|r| infer_object(std::slice::from_ref(&r.value), &mut defined, "body")).map(|fields| {
        warnings.push(page.diagnostic(0, "--data-raw", "the body's fields and types are inferred from the curl example (marked `inferred`)"));
        located(Payload { ty: None, fields: Some(fields) })
    });
    let response_fields = response
        .as_ref()
        .and_then(|r| r.value.get("data").cloned())
        .and_then(|data| infer_object(&[data], &mut defined, "data"));
    let updated = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("修改于 "))
        .and_then(|d| d.split_whitespace().next())
        .map(str::to_owned);
    found.warnings.extend(warnings);
    Some(EndpointSpec {
        title: located(title),
        doc_url: located(String::new()),
        updated,
        description: String::new(),
        notes: Vec::new(),
        method: located(method),
        host: Default::default(),
        path: located(path),
        rate_limit: None,
        app_types,
        scopes: Vec::new(),
        field_scopes: Vec::new(),
        tokens: located(tokens),
        helpdesk: page.text.contains("X-Lark-Helpdesk-Authorization"),
        content_type: None,
        path_params,
        query_params,
        header_params: Vec::new(),
        request_body,
        response: Response {
            payload: response_fields.map(|f| {
                located(Payload {
                    ty: None,
                    fields: Some(f),
                })
            }),
            ..Response::default()
        },
        types: Vec::new(),
        errors,
        examples: Examples {
            request: request.map(|r| located(r.text)),
            response: response.map(|r| located(r.text)),
        },
    })
}

const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The error table's numbered lines: from its header (the line naming `错误码` between
/// column separators) to the last row. The table ends where the page's next block begins,
/// at the first line without a separator: the page has no blank lines, so the table reader
/// alone would fold the rest of the page (the curl example, the parameter listing) into
/// the last row's hint.
fn error_table(lines: &[String]) -> Vec<(usize, String)> {
    let Some(header) = lines
        .iter()
        .position(|l| l.contains('|') && l.contains("错误码"))
    else {
        return Vec::new();
    };
    lines
        .iter()
        .enumerate()
        .skip(header)
        .take_while(|(_, l)| l.contains('|'))
        .map(|(i, l)| (i + 1, l.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_table_ends_where_the_curl_example_begins() {
        let text = "更新推送\nPATCH\n/open-apis/helpdesk/v1/notifications/{id}\n自建应用\n错误码\n\
                    HTTP状态码 | 错误码 | 描述 | 排查建议 |\n---|---|---|---|\n\
                    400 | 154000 | Bad request | 请求不合法 |\n500 | 155000 | Internal error | 内部错误 |\n\
                    请求示例请求示例\nShell\ncurl --location --request PATCH 'https://x' \\\n\
                    --data-raw '{\"id\": \"1\"}'\n响应示例响应示例\n{\"code\": 0}\n请求参数\n";
        let page = Page::new(std::path::Path::new("p.txt"), text.to_owned());
        let mut found = Findings::default();
        let spec = import(&page, &mut found).expect("imports");
        let hints: Vec<&str> = spec.errors.iter().map(|e| e.hint.as_str()).collect();
        assert_eq!(hints, ["请求不合法", "内部错误"]);
    }
}
