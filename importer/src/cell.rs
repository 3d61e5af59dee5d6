//! A description cell, taken apart: the prose, and the labelled parts Feishu writes into it
//! (`**示例值**：`, `**可选值有**：` with its list, `**默认值**：`, `**数据校验规则**：`, the
//! permission notes, `**固定值**：`).

use feishu_spec::model::Scope;
use pulldown_cmark::{Event, Parser, Tag, TagEnd};

/// What one description cell says.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CellDoc {
    /// The prose (markdown), without the labelled parts.
    pub description: String,
    /// The example as written after `**示例值**：`.
    pub example: Option<String>,
    /// The default as written after `**默认值**：`.
    pub default: Option<String>,
    /// `**固定值**：` (a header's fixed value).
    pub fixed: Option<String>,
    pub options: Vec<OptionItem>,
    /// The items under `**数据校验规则**：`, as written (`长度范围：`1` ～ `20``).
    pub rules: Vec<String>,
    /// Scopes this field needs to be returned.
    pub field_scopes: Vec<Scope>,
    /// Scopes a value needs (`**当值为 `user_id`，字段权限要求**：`), by value.
    pub value_scopes: Vec<(String, Vec<Scope>)>,
}

/// One item of a `**可选值有**：` list.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OptionItem {
    /// The value as written, inline code and markdown removed.
    pub value: String,
    /// What it means (markdown; nested bullets kept).
    pub meaning: String,
}

enum State {
    Prose,
    Example,
    Options,
    Rules,
    FieldScopes,
    ValueScopes,
}

/// Reads a description cell (lines joined by `\n`).
pub fn parse(cell: &str) -> CellDoc {
    let cell = decode_entities(cell);
    let mut doc = CellDoc::default();
    let mut prose: Vec<String> = Vec::new();
    let mut state = State::Prose;
    for raw in cell.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if let Some((label, rest)) = label(trimmed) {
            let known = match label.as_str() {
                "示例值" => {
                    doc.example = (!rest.is_empty()).then(|| rest.clone());
                    state = if rest.is_empty() {
                        State::Example
                    } else {
                        State::Prose
                    };
                    true
                }
                "可选值有" => {
                    state = State::Options;
                    true
                }
                "默认值" => {
                    doc.default = Some(rest.clone());
                    state = State::Prose;
                    true
                }
                "固定值" => {
                    doc.fixed = Some(rest.clone());
                    state = State::Prose;
                    true
                }
                "值格式" => true,
                "数据校验规则" => {
                    state = State::Rules;
                    true
                }
                l if l.starts_with("当值为") && l.contains("权限") => {
                    let value = inline_code(l).unwrap_or_default();
                    doc.value_scopes.push((value, Vec::new()));
                    state = State::ValueScopes;
                    true
                }
                l if l.contains("字段权限要求") || l.contains("仅当开通以下权限") => {
                    state = State::FieldScopes;
                    true
                }
                _ => false,
            };
            if known {
                continue;
            }
        }
        match state {
            State::Example => match &mut doc.example {
                Some(example) => {
                    example.push('\n');
                    example.push_str(line);
                }
                None if !trimmed.is_empty() => doc.example = Some(trimmed.to_owned()),
                None => {}
            },
            State::Options if line.starts_with("- ") || line.starts_with("* ") => {
                let item = &line[2..];
                let (value, meaning) = split_once_colon(item);
                doc.options.push(OptionItem {
                    value: plain_text(value).trim().to_owned(),
                    meaning: meaning.trim().to_owned(),
                });
            }
            State::Options if !doc.options.is_empty() => {
                if let Some(last) = doc.options.last_mut() {
                    last.meaning.push('\n');
                    last.meaning.push_str(line);
                }
            }
            State::Rules if trimmed.starts_with("- ") => doc.rules.push(trimmed[2..].to_owned()),
            State::FieldScopes | State::ValueScopes if scope_of(trimmed).is_some() => {
                let scope = scope_of(trimmed).unwrap_or_else(|| unreachable!());
                match (&state, doc.value_scopes.last_mut()) {
                    (State::ValueScopes, Some((_, scopes))) => scopes.push(scope),
                    _ => doc.field_scopes.push(scope),
                }
            }
            _ => {
                state = State::Prose;
                prose.push(line.to_owned());
            }
        }
    }
    while prose.last().is_some_and(|l| l.trim().is_empty()) {
        prose.pop();
    }
    doc.description = prose.join("\n").trim().to_owned();
    if doc.description == "-" || doc.description == "\\-" {
        doc.description.clear();
    }
    doc
}

/// `**label**：rest` or `**label：**rest` → (label, rest).
fn label(line: &str) -> Option<(String, String)> {
    let inner = line.strip_prefix("**")?;
    let end = inner.find("**")?;
    let label = inner[..end].trim();
    let label = label.trim_end_matches(['：', ':']).trim().to_owned();
    let rest = inner[end + 2..]
        .trim_start_matches(['：', ':'])
        .trim()
        .to_owned();
    Some((label, rest))
}

/// `**注意事项**：注意事项：…` → `**注意事项**：…`: a page that puts a label before a
/// callout starting with the same label says it twice, and the docs would too.
pub fn without_repeated_label(paragraph: &str) -> String {
    let (Some((label, _)), Some(end)) = (label(paragraph), crate::mirror::label_end(paragraph))
    else {
        return paragraph.to_owned();
    };
    let (head, rest) = paragraph.split_at(end);
    let text = rest.trim_start_matches([' ', '\t']);
    let gap = &rest[..rest.len() - text.len()];
    let repeated = text
        .strip_prefix(label.as_str())
        .and_then(|after| after.strip_prefix(['：', ':']));
    match repeated {
        Some(after) if !label.is_empty() => {
            format!("{head}{gap}{}", after.trim_start_matches(' '))
        }
        _ => paragraph.to_owned(),
    }
}

/// Splits `value：meaning` at the first full-width or ASCII colon outside inline code.
fn split_once_colon(item: &str) -> (&str, &str) {
    let mut in_code = false;
    for (i, c) in item.char_indices() {
        match c {
            '`' => in_code = !in_code,
            '：' | ':' if !in_code => return (&item[..i], &item[i + c.len_utf8()..]),
            _ => {}
        }
    }
    (item, "")
}

/// The first inline code span of `text`.
fn inline_code(text: &str) -> Option<String> {
    let start = text.find('`')? + 1;
    let len = text[start..].find('`')?;
    Some(text[start..start + len].to_owned())
}

/// A permission line, `获取用户 user ID(contact:user.employee_id:readonly)`.
pub fn scope_of(line: &str) -> Option<Scope> {
    let line = line.trim().trim_start_matches("- ").trim();
    let line = line.strip_suffix(')').or_else(|| line.strip_suffix('）'))?;
    let open = line.rfind(['(', '（'])?;
    let id = line[open..].trim_start_matches(['(', '（']).trim();
    let is_scope = id.contains(':')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:.-".contains(c));
    is_scope.then(|| Scope {
        id: id.to_owned(),
        name: line[..open].trim().to_owned(),
    })
}

/// The text of a markdown fragment without its markup: `` `open_id` `` → `open_id`,
/// `[a](b)` → `a`, `\[\]` → `[]`.
pub fn plain_text(markdown: &str) -> String {
    let mut text = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(TagEnd::Paragraph) => text.push('\n'),
            Event::Start(Tag::Item) if !text.is_empty() => text.push('\n'),
            _ => {}
        }
    }
    text.trim().to_owned()
}

/// HTML entities the pages use in cells.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&emsp;", " ")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_example_options_default_and_value_scopes() {
        let doc = parse(
            "用户 ID 类型\n**示例值**：open_id\n**可选值有**：\n- open_id：标识一个用户\n- `user_id`：租户内身份\n    - 子项\n**默认值**：`open_id`\n**当值为 `user_id`，字段权限要求**：\n获取用户 user ID(contact:user.employee_id:readonly)",
        );
        assert_eq!(doc.description, "用户 ID 类型");
        assert_eq!(doc.example.as_deref(), Some("open_id"));
        assert_eq!(doc.default.as_deref(), Some("`open_id`"));
        assert_eq!(doc.options.len(), 2);
        assert_eq!(doc.options[1].value, "user_id");
        assert_eq!(doc.options[1].meaning, "租户内身份\n    - 子项");
        assert_eq!(doc.value_scopes[0].0, "user_id");
        assert_eq!(
            doc.value_scopes[0].1[0].id,
            "contact:user.employee_id:readonly"
        );
    }

    #[test]
    fn reads_rules_field_scopes_and_the_colon_inside_label_variant() {
        let doc = parse(
            "按钮\n**示例值：**\"x\"\n**数据校验规则**：\n- 长度范围：`0` ～ `2`\n**字段权限要求**：\n获取用户 user ID(contact:user.employee_id:readonly)\n**注意事项**：别用",
        );
        assert_eq!(doc.example.as_deref(), Some("\"x\""));
        assert_eq!(doc.rules, ["长度范围：`0` ～ `2`"]);
        assert_eq!(doc.field_scopes[0].name, "获取用户 user ID");
        assert_eq!(doc.description, "按钮\n**注意事项**：别用");
    }

    #[test]
    fn plain_text_drops_markup() {
        assert_eq!(plain_text("`open_id`"), "open_id");
        assert_eq!(plain_text(r"string\[\]"), "string[]");
        assert_eq!(
            decode_entities("map&lt;string, string&gt;"),
            "map<string, string>"
        );
        assert!(scope_of("无").is_none());
    }

    #[test]
    fn a_label_repeated_by_its_callout_is_said_once() {
        let said_twice = "**注意事项**：注意事项：\nuser_access_token 访问";
        assert_eq!(
            without_repeated_label(said_twice),
            "**注意事项**：\nuser_access_token 访问"
        );
        assert_eq!(without_repeated_label("**说明：** 说明：x"), "**说明：** x");
        for kept in [
            "**注意事项**：注意 x",
            "**Tip**: 注意事项：",
            "注意事项：注意事项：",
        ] {
            assert_eq!(without_repeated_label(kept), kept);
        }
    }
}
