//! The mirror layout (`../shared/feishu-docs`): what its pages write differently from the
//! seeds' markdown pages, turned into the forms the shared readers take.
//!
//! A mirror page keeps each table row on one line: `<br>` breaks the lines of a cell, and
//! the option and rule lists inside a cell are flattened onto one line
//! (``<br>- `open_id`: … - `union_id`: …``). Scopes are written `` `id` 名称 ``, app types
//! `custom`/`isv`, nesting `&nbsp;&nbsp;└` (one `&nbsp;&nbsp;` per level), notes as
//! `> **Tip**:` callouts, and links point at open.larkoffice.com.

use feishu_spec::model::{AppType, Scope};

/// Where the mirror's `fullPath` lives.
pub const DOC_ROOT: &str = "https://open.feishu.cn/document";

/// The host the mirror links to, and the one Feishu's own pages use.
const MIRROR_HOST: &str = "open.larkoffice.com";
const FEISHU_HOST: &str = "open.feishu.cn";

/// The labels a description cell gives its parts; a flattened cell runs them into its prose.
const LABELS: &[&str] = &[
    "**示例值**",
    "**可选值有**",
    "**默认值**",
    "**数据校验规则**",
    "**字段权限要求**",
    "**当值为",
    "**固定值**",
    "**值格式**",
];

/// The items of a flattened rule list begin with one of these.
const RULE_KINDS: &[&str] = &["长度范围", "取值范围", "正则校验", "最大长度", "最小长度"];

/// The page's address: the documentation root followed by `fullPath`.
pub fn doc_url(full_path: &str) -> String {
    format!("{DOC_ROOT}{}", full_path.trim())
}

/// `updateTime` (milliseconds since the epoch) as the date Feishu shows, in China time.
pub fn updated(millis: &str) -> Option<String> {
    let millis: i64 = millis.trim().parse().ok()?;
    let days = (millis / 1000 + 8 * 3600).div_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A line of the page with its links on Feishu's own host and its callout marker removed:
/// `> **Tip**: 注意` reads as the paragraph `**Tip**: 注意`.
pub fn line(text: &str) -> String {
    let text = text.replace(MIRROR_HOST, FEISHU_HOST);
    let trimmed = text.trim_start();
    match trimmed.strip_prefix('>') {
        Some(rest) => rest.strip_prefix(' ').unwrap_or(rest).to_owned(),
        None => text,
    }
}

/// A table cell in the seeds' form: one part per line, each list item on its own line.
pub fn cell(text: &str) -> String {
    let text = text.replace(MIRROR_HOST, FEISHU_HOST);
    let mut lines = Vec::new();
    for part in split_br(&text) {
        for piece in split_labels(part) {
            match scope_label(&piece) {
                Some((head, scope_lines)) => {
                    lines.push(head.to_owned());
                    lines.extend(scope_lines);
                }
                None => lines.extend(split_items(&piece)),
            }
        }
    }
    lines.join("\n")
}

fn split_br(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<br") {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        parts.push(&rest[..start]);
        rest = &rest[start + len + 1..];
    }
    parts.push(rest);
    parts
}

/// `描述 **可选值有**： * a` → [`描述`, `**可选值有**： * a`].
fn split_labels(line: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (at, _) in line.char_indices() {
        if at > start
            && LABELS.iter().any(|label| line[at..].starts_with(label))
            && !line[start..at].trim().is_empty()
        {
            pieces.push(line[start..at].trim_end().to_owned());
            start = at;
        }
    }
    pieces.push(line[start..].to_owned());
    pieces
}

/// A line holding several list items (`- a: x - b: y`), or a label followed by its first
/// item, one item per line. Nested items, written after two or more spaces, stay where
/// they are: they belong to the meaning of the item before them.
fn split_items(line: &str) -> Vec<String> {
    let (head, list) = match label_end(line) {
        Some(end) => (&line[..end], line[end..].trim_start()),
        None => ("", line),
    };
    let starts_list = list.starts_with("- ") || list.starts_with("* ");
    if !starts_list {
        return vec![line.to_owned()];
    }
    let mut out = Vec::new();
    if !head.is_empty() {
        out.push(head.trim_end().to_owned());
    }
    let separator = if list.starts_with('-') { " - " } else { " * " };
    // In a list of values, a dash inside a meaning (`中国 - 居民身份证`) is not a new
    // item; in a list of sentences every single-spaced marker is.
    let values = starts_item(&list[2..]);
    let mut start = 0;
    let bytes = list.as_bytes();
    for (at, _) in list.match_indices(separator) {
        let boundary = at > 0 && bytes[at - 1] != b' ' && (!values || starts_item(&list[at + 3..]));
        if boundary {
            out.push(normalize_marker(&list[start..at]));
            start = at + 1;
        }
    }
    out.push(normalize_marker(&list[start..]));
    out
}

/// The end of a leading `**label**：` (or `**label：**`), if the line starts with one.
pub(crate) fn label_end(line: &str) -> Option<usize> {
    let inner = line.strip_prefix("**")?;
    let close = inner.find("**")? + 4;
    let rest = &line[close..];
    let colon = rest
        .strip_prefix('：')
        .map(|_| '：'.len_utf8())
        .or_else(|| rest.strip_prefix(':').map(|_| 1))
        .unwrap_or(0);
    Some(close + colon)
}

/// Whether text after ` - ` starts a new item: a value (in code, or a plain ASCII word)
/// then a colon, or a rule.
fn starts_item(text: &str) -> bool {
    if RULE_KINDS.iter().any(|kind| text.starts_with(kind)) {
        return true;
    }
    let after_value = match text.strip_prefix('`') {
        Some(code) => code.find('`').map(|end| &code[end + 1..]),
        None => {
            let word = text
                .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
                .unwrap_or(text.len());
            (word > 0).then(|| &text[word..])
        }
    };
    after_value.is_some_and(|rest| {
        let rest = rest.trim_start();
        rest.starts_with(':') || rest.starts_with('：')
    })
}

/// `* a` → `- a`: the cell reader takes both, but one marker keeps the spec uniform.
fn normalize_marker(item: &str) -> String {
    let item = item.trim_end();
    match item.strip_prefix("* ") {
        Some(rest) => format!("- {rest}"),
        None => item.to_owned(),
    }
}

/// `custom,isv` → the app types.
pub fn app_types(value: &str) -> Vec<AppType> {
    let mut kinds = Vec::new();
    for word in value.split([',', '，', ' ']).map(str::trim) {
        let kind = match word {
            "custom" => AppType::Custom,
            "isv" => AppType::Store,
            _ => continue,
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
}

/// `` `im:tag:read` 查询标签信息 `im:tag:write` 编辑标签 `` → the scopes, each with the name
/// written after its code.
pub fn scopes(value: &str) -> Vec<Scope> {
    let mut scopes: Vec<Scope> = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('`') {
        let Some(len) = rest[open + 1..].find('`') else {
            break;
        };
        let id = rest[open + 1..open + 1 + len].trim();
        rest = &rest[open + len + 2..];
        let name_end = rest.find('`').unwrap_or(rest.len());
        if is_scope_id(id) {
            scopes.push(Scope {
                id: id.to_owned(),
                name: rest[..name_end].trim().to_owned(),
            });
        }
    }
    scopes
}

/// A permission cell cut where a callout the page wrote after its scopes begins
/// (`` … `im:message:send` 发送消息V2 &gt; **Tip**: 1. … &gt; 2. … ``): the scopes' part,
/// and the callout as the lines of a note, one per `&gt;` line, read as [`line()`] reads a
/// block callout's. A callout before the scopes (the field-permission cell's
/// boilerplate) stays where it is.
pub fn split_callout(value: &str) -> (&str, Option<String>) {
    let after_scope = value.find('`').unwrap_or(value.len());
    let Some(at) = value[after_scope..].find("&gt;").map(|at| after_scope + at) else {
        return (value, None);
    };
    // Each line as a block callout's would read without its `> ` (nesting kept).
    let lines: Vec<&str> = value[at..]
        .split("&gt;")
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .filter(|line| !line.trim().is_empty())
        .collect();
    (&value[..at], (!lines.is_empty()).then(|| lines.join("\n")))
}

fn is_scope_id(id: &str) -> bool {
    id.contains(':')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:.-".contains(c))
}

/// A permission label followed by its scopes on the same line, split into the label and
/// one `名称(id)` line per scope, the form the cell reader takes.
fn scope_label(piece: &str) -> Option<(&str, Vec<String>)> {
    let is_permission = piece.starts_with("**当值为") || piece.starts_with("**字段权限要求**");
    let end = label_end(piece).filter(|_| is_permission)?;
    let scopes = scopes(&piece[end..]);
    (!scopes.is_empty()).then(|| {
        let lines = scopes.into_iter().map(|s| format!("{}({})", s.name, s.id));
        (&piece[..end], lines.collect())
    })
}

/// `&nbsp;&nbsp;&nbsp;&nbsp;└ `id`` → (Some(2), the name cell without the marker).
pub fn depth(name_cell: &str) -> Option<(usize, &str)> {
    let (pad, name) = name_cell.split_once('└')?;
    let depth = (pad.matches("&nbsp;").count() / 2).max(1);
    Some((depth, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_options_are_split_but_nested_bullets_and_dashes_stay() {
        let text = cell(
            "类型<br>**示例值**：\"mp4\"<br>**可选值有**：<br>- `opus`: OPUS 音频 - `mp4`: 中国 - 视频   - 子项：说明 - `pdf`：PDF",
        );
        assert_eq!(
            text,
            "类型\n**示例值**：\"mp4\"\n**可选值有**：\n- `opus`: OPUS 音频\n- `mp4`: 中国 - 视频   - 子项：说明\n- `pdf`：PDF"
        );
    }

    #[test]
    fn a_flattened_list_of_sentences_is_split_at_every_marker() {
        assert_eq!(
            cell("例如：<br>- 新增一个按钮 - 更新该按钮 - 删除该按钮"),
            "例如：\n- 新增一个按钮\n- 更新该按钮\n- 删除该按钮"
        );
    }

    #[test]
    fn inline_labels_and_star_lists_get_their_own_lines() {
        let text = cell(
            "是否长期有效 **可选值有**： * `true`：长期有效 * `false`：指定到期日期<br>**示例值**：true",
        );
        assert_eq!(
            text,
            "是否长期有效\n**可选值有**：\n- `true`：长期有效\n- `false`：指定到期日期\n**示例值**：true"
        );
        let text = cell("**可选值有**：<br>- all_members：所有成员 - only_owner：仅群主");
        assert_eq!(
            text,
            "**可选值有**：\n- all_members：所有成员\n- only_owner：仅群主"
        );
    }

    #[test]
    fn scopes_dates_depths_and_app_types() {
        let scopes = scopes("`im:tag:read` 查询标签信息 `im:tag:write` 编辑标签信息");
        assert_eq!(scopes.len(), 2);
        assert_eq!(
            (scopes[1].id.as_str(), scopes[1].name.as_str()),
            ("im:tag:write", "编辑标签信息")
        );
        assert_eq!(updated("1709724839000").as_deref(), Some("2024-03-06"));
        assert_eq!(updated("0").as_deref(), Some("1970-01-01"));
        assert_eq!(depth("&nbsp;&nbsp;&nbsp;&nbsp;└ `id`"), Some((2, " `id`")));
        assert_eq!(depth("`id`"), None);
        assert_eq!(app_types("custom,isv"), [AppType::Custom, AppType::Store]);
        assert_eq!(
            line("> **Tip**: see https://open.larkoffice.com/x"),
            "**Tip**: see https://open.feishu.cn/x"
        );
    }

    #[test]
    fn a_callout_after_the_scopes_is_not_a_scope_name() {
        let cell = "`vc:room:readonly` 会议室 `vc:rooms:read` 会议明细 &gt; **Tip**: 上方为历史权限。 &gt; 新权限只支持 `user_access_token`";
        let (rest, callout) = split_callout(cell);
        let names: Vec<String> = scopes(rest).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["会议室", "会议明细"]);
        assert_eq!(
            callout.as_deref(),
            Some("**Tip**: 上方为历史权限。\n新权限只支持 `user_access_token`")
        );
        let boilerplate = "&gt; **Tip**: 仅当开启对应的权限后才会返回 `contact:x:readonly` 获取 ID";
        assert_eq!(split_callout(boilerplate), (boilerplate, None));
    }
}
