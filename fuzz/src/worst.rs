//! Worst cases of about a megabyte each, and the costliest of them again at the size limit
//! of an input (2 MiB), for the budgets: any page or spec the readers accept imports or
//! generates in under 2 s and 256 MB, or fails with a diagnostic. Each is a real page or
//! spec with one thing blown up: long rows, deep nesting, many fields, many options, many
//! error codes, huge examples and text, YAML that expands.

use std::path::Path;

use crate::corpus;
use crate::{Outcome, Target, check_page, check_spec};

/// The real page the page cases rewrite, in the spec tree.
const PAGE: &str = "im/v1/message/get.source.md";
/// A response row of that page, nested two objects deep, that cases replace or follow.
const ROW: &str = "| &nbsp;&nbsp;&nbsp;&nbsp;└ `message_id` | `string` | 消息 ID。 |";
/// The header and separator of the page's error table.
const ERRORS: &str = "| HTTP状态码 | 错误码 | 描述 | 排查建议 |\n| --- | --- | --- | --- |\n";

/// About a megabyte.
const MB: usize = 1 << 20;
/// The most a page or a spec file may have; a little is left for the rest of the page.
const AT_LIMIT: usize = feishu_spec::MAX_PAGE_BYTES as usize - 16 * 1024;

/// A worst case: its name, what it feeds, and how it is built.
pub struct WorstCase {
    pub name: &'static str,
    pub target: Target,
    build: fn(&str) -> String,
}

/// Every worst case.
pub fn cases() -> Vec<WorstCase> {
    let page = |name, build| WorstCase {
        name,
        target: Target::Page,
        build,
    };
    let spec = |name, build| WorstCase {
        name,
        target: Target::Spec,
        build,
    };
    vec![
        page("a row of 333,000 cells", |p| {
            row(p, &format!("消息 ID。 {}", "ab|".repeat(333_000)))
        }),
        page("a cell of a million open brackets", |p| {
            row(p, &"[".repeat(MB))
        }),
        page("links nested 200,000 deep", |p| {
            row(
                p,
                &format!("{}x{}", "[".repeat(200_000), "](u)".repeat(200_000)),
            )
        }),
        page("400 nested object rows", |p| {
            let rows: Vec<String> = (0..400)
                .map(|d| {
                    format!(
                        "| {}└ `o{d}` | `object` | x |",
                        "&nbsp;&nbsp;".repeat(d + 3)
                    )
                })
                .collect();
            p.replace(ROW, &format!("{ROW}\n{}", rows.join("\n")))
        }),
        page("17,000 fields in one object", |p| fields(p, 17_000)),
        page("9,000 fields in one object", |p| fields(p, 9_000)),
        page("1,000 fields in one object, about the most allowed", |p| {
            fields(p, 980)
        }),
        page("9,990 error codes, about the most rows allowed", |p| {
            error_codes(p, 9_990)
        }),
        page("45,000 options in one cell", |p| {
            let options: String = (0..45_000).map(|i| format!("<br>- `v{i}`：选项")).collect();
            row(p, &format!("消息 ID。可选值有：{options}"))
        }),
        page("28,000 error codes", |p| error_codes(p, 28_000)),
        page("a response example of 70,000 keys", |p| {
            let keys: String = (0..70_000).map(|i| format!("\"k{i}\": \"v\", ")).collect();
            p.replacen("\"data\": {", &format!("\"data\": {{{keys}"), 1)
        }),
        page("a megabyte paragraph", |p| {
            // The description: right below the title.
            let title = p.find("\n# ").unwrap_or(0) + 1;
            let end = title + p[title..].find('\n').unwrap_or(0);
            let long = "消息内容很长。".repeat(MB / 21);
            format!("{}\n\n{long}{}", &p[..end], &p[end..])
        }),
        page("a row of cells at the size limit", |p| {
            row(p, &"ab|".repeat((AT_LIMIT - p.len()) / 3))
        }),
        page("a response example at the size limit", |p| {
            let mut keys = String::new();
            for i in 0.. {
                if keys.len() + p.len() >= AT_LIMIT {
                    break;
                }
                keys.push_str(&format!("\"k{i}\": \"v\", "));
            }
            p.replacen("\"data\": {", &format!("\"data\": {{{keys}"), 1)
        }),
        spec("28,000 query parameters", |_| query_params(28_000)),
        spec("1,000 query parameters, the most allowed", |_| {
            query_params(1_000)
        }),
        spec("a megabyte description", |_| {
            format!(
                "{}description: \"{}\"\n",
                minimal_spec(),
                "描述".repeat(MB / 6)
            )
        }),
        spec("a description at the size limit", |_| {
            let text = "描述".repeat(AT_LIMIT / 6);
            format!("{}description: \"{text}\"\n", minimal_spec())
        }),
        spec("a million nested flow sequences", |_| {
            format!("{}description: {}\n", minimal_spec(), "[".repeat(MB))
        }),
        spec("an alias bomb", |_| {
            let mut text = format!(
                "{}x-bomb:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
                minimal_spec()
            );
            for level in 1..10 {
                let refs = vec![format!("*a{}", level - 1); 10].join(", ");
                text.push_str(&format!("  a{level}: &a{level} [{refs}]\n"));
            }
            text
        }),
    ]
}

impl WorstCase {
    /// The case's input, built from the real page in `spec_dir` (page cases). An error
    /// when the page no longer has the text the case rewrites.
    pub fn input(&self, spec_dir: &Path) -> std::io::Result<String> {
        let base = match self.target {
            Target::Page => std::fs::read_to_string(spec_dir.join(PAGE))?,
            Target::Spec => String::new(),
        };
        let input = (self.build)(&base);
        if self.target == Target::Page && input.len() < base.len() + 1000 {
            return Err(std::io::Error::other(format!(
                "{}: the case `{}` no longer finds what it rewrites",
                spec_dir.join(PAGE).display(),
                self.name
            )));
        }
        Ok(input)
    }

    /// Runs the case: a result or a diagnostic, never a panic.
    pub fn run(&self, input: &str) -> Outcome {
        match self.target {
            Target::Page => check_page(input),
            Target::Spec => check_spec(&spec_seed(), input),
        }
    }
}

fn row(page: &str, description: &str) -> String {
    page.replace(
        ROW,
        &format!("| &nbsp;&nbsp;&nbsp;&nbsp;└ `message_id` | `string` | {description} |"),
    )
}

/// The page with `count` more fields beside `message_id`.
fn fields(page: &str, count: usize) -> String {
    let rows: Vec<String> = (0..count)
        .map(|i| format!("| &nbsp;&nbsp;&nbsp;&nbsp;└ `f{i}` | `string` | 字段 |"))
        .collect();
    page.replace(ROW, &format!("{ROW}\n{}", rows.join("\n")))
}

/// The page with `count` more error codes.
fn error_codes(page: &str, count: usize) -> String {
    let rows: String = (0..count)
        .map(|i| format!("| 400 | {} | Failed. | 排查 |\n", 300_000 + i))
        .collect();
    page.replace(ERRORS, &format!("{ERRORS}{rows}"))
}

/// A spec of `count` query parameters.
fn query_params(count: usize) -> String {
    let params: String = (0..count)
        .map(|i| format!("  - {{ name: p{i}, type: string }}\n"))
        .collect();
    format!("{}query_params:\n{params}", minimal_spec())
}

fn minimal_spec() -> &'static str {
    "title: Big\ndoc_url: https://open.feishu.cn/document/big\nmethod: GET\n\
     path: /open-apis/svc/v1/things\ntokens: [tenant]\n"
}

fn spec_seed() -> corpus::Spec {
    corpus::Spec {
        rel: "svc/v1/thing/get.yaml".to_owned(),
        text: String::new(),
        shared: None,
    }
}
