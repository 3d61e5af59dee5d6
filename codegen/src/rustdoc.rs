//! Turning doc-page markdown into rustdoc that renders as the page meant and raises no
//! rustdoc lint: `cargo doc` on the generated crate must stay free of warnings, and no
//! text from a page may become a doctest.

/// Where relative links on Feishu pages point.
const DOC_HOST: &str = "https://open.feishu.cn";

/// Makes page markdown safe for rustdoc:
/// - leading indentation is dropped, so no line becomes an indented (Rust) code block;
/// - fenced blocks without a language are marked `text`, so they are not doctests;
/// - bare URLs become autolinks, site-relative links (`/document/…`) become absolute, and
///   page-relative ones (`query.md`) their text: where they point is only known on the page;
/// - `[`, `]`, `<` and `>` that are not markdown syntax are escaped, so they are neither
///   intra-doc links nor HTML tags; `<br>` stays the line break the page wrote;
/// - a run of hyphens is escaped, so rustdoc's smart punctuation does not make `--flag`
///   or a `--` placeholder an en dash (tables' `---` rows and thematic breaks stay);
/// - a link whose text the page broke over two lines is joined onto one, so it stays a link;
/// - a line that continues a list item is indented to the item's text, so it stays in the
///   item instead of being a lazy continuation (which rustdoc renders, but clippy refuses);
/// - tabs become four spaces (clippy refuses tabs in docs).
pub fn sanitize(text: &str) -> String {
    let text = join_broken_links(&text.replace('\t', "    "));
    let mut out = String::with_capacity(text.len());
    let mut in_fence = false;
    // The text column of the list item the current line may continue.
    let mut list_item: Option<usize> = None;
    for (i, raw_line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = raw_line.trim();
        if !in_fence {
            list_item = match (list_item_text_column(line), list_item) {
                (Some(column), _) => Some(column),
                _ if line.is_empty() || line.starts_with(['#', '`']) => None,
                (None, Some(column)) => {
                    out.extend(std::iter::repeat_n(' ', column));
                    Some(column)
                }
                (None, None) => None,
            };
        }
        if line.starts_with("```") {
            if in_fence {
                out.push_str("```");
            } else {
                let lang = line.trim_start_matches('`').trim();
                out.push_str("```");
                out.push_str(if lang.is_empty() || is_rust_lang(lang) {
                    "text"
                } else {
                    lang
                });
            }
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            out.push_str(raw_line);
        } else {
            sanitize_line(&without_code_indent(line), &mut out);
        }
    }
    if in_fence {
        out.push_str("\n```");
    }
    out
}

/// Joins each line that leaves a link's text open (`…[下载用户人`) with the next line when
/// that one closes it (`](https://…)`): lines are sanitized one by one, and each half
/// alone would be escaped as text.
fn join_broken_links(text: &str) -> String {
    if !text.contains("](") {
        return text.to_owned();
    }
    let mut lines: Vec<String> = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        let fence = line.trim_start().starts_with("```");
        let joins = !in_fence && !fence && lines.last().is_some_and(|prev| opens_link(prev));
        in_fence ^= fence;
        match lines.last_mut() {
            Some(prev) if joins && closes_link(line) => {
                prev.push(' ');
                prev.push_str(line.trim());
            }
            _ => lines.push(line.to_owned()),
        }
    }
    lines.join("\n")
}

/// Whether the line's last `[` is not closed on it.
fn opens_link(line: &str) -> bool {
    line.rfind('[') > line.rfind(']')
}

/// Whether the line closes a link's text opened before it: `](` before any `[`.
fn closes_link(line: &str) -> bool {
    line.find("](")
        .is_some_and(|close| !line[..close].contains('['))
}

/// A list item whose text starts five or more spaces after its marker (`-\ttext`, a tab
/// being four) holds an indented code block in markdown; the page meant prose, so the
/// text is moved up to one space after the marker.
fn without_code_indent(line: &str) -> std::borrow::Cow<'_, str> {
    let Some(column) = list_item_text_column(line) else {
        return line.into();
    };
    let marker_end = line[..column].trim_end().len();
    let text = line[marker_end..].trim_start();
    if line.len() - text.len() - marker_end > 4 {
        format!("{} {text}", &line[..marker_end]).into()
    } else {
        line.into()
    }
}

/// Whether `line` starts a list item.
pub(crate) fn starts_list_item(line: &str) -> bool {
    list_item_text_column(line).is_some()
}

/// Where the text of a list item starts, if `line` starts one (`- a`, `* a`, `1. a`, `2) a`).
fn list_item_text_column(line: &str) -> Option<usize> {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let marker = match line.as_bytes().get(digits)? {
        b'-' | b'*' | b'+' if digits == 0 => 1,
        b'.' | b')' if (1..=9).contains(&digits) => digits + 1,
        _ => return None,
    };
    let spaces = line[marker..].chars().take_while(|&c| c == ' ').count();
    let has_text = line.len() > marker + spaces;
    // Five or more spaces after the marker start an indented block: the text is one space in.
    (spaces >= 1 && has_text).then_some(marker + if spaces > 4 { 1 } else { spaces })
}

fn is_rust_lang(lang: &str) -> bool {
    lang.split(',').any(|tag| {
        matches!(
            tag.trim(),
            "rust" | "should_panic" | "no_run" | "ignore" | "compile_fail"
        )
    })
}

/// Sanitizes one line outside a code block. A link's text is sanitized like the rest of
/// the line, and nothing in it may reach past it: a code span, an autolink or a nested
/// link inside ends where the text ends. Linear in the line's length, however its
/// brackets and backticks are nested or left open.
fn sanitize_line(line: &str, out: &mut String) {
    let chars: Vec<char> = line.chars().collect();
    let marks = Marks::of(&chars);
    let mut spans = CodeSpans::new(&chars);
    // Table separator rows and thematic breaks are markdown made of hyphens.
    let structural = line.chars().all(|c| matches!(c, '-' | '|' | ':' | ' '))
        && (line.contains('|') || line.matches('-').count() >= 3);
    // The links whose text is being written.
    let mut open_links: Vec<Link> = Vec::new();
    let mut i = 0;
    loop {
        let limit = open_links.last().map_or(chars.len(), |link| link.text_end);
        if i >= limit {
            let Some(link) = open_links.pop() else {
                break;
            };
            if link.keep_url {
                out.push_str("](");
                let url: String = chars[link.text_end + 2..link.url_end].iter().collect();
                out.push_str(&absolute(url.trim()));
                out.push(')');
            }
            i = link.url_end + 1;
            continue;
        }
        let c = chars[i];
        match c {
            '`' => {
                // A code span runs to the next run of as many backticks; copy it untouched.
                let ticks = chars[i..limit].iter().take_while(|&&c| c == '`').count();
                match spans.closing(i + ticks, ticks, limit) {
                    Some(end) => {
                        out.extend(&chars[i..end + ticks]);
                        i = end + ticks;
                    }
                    None => {
                        for _ in 0..ticks {
                            out.push_str("\\`");
                        }
                        i += ticks;
                    }
                }
            }
            '[' => match marks.link(&chars, i, limit) {
                Some(link) => {
                    if link.keep_url {
                        out.push('[');
                    }
                    open_links.push(link);
                    i += 1;
                }
                None => {
                    out.push_str("\\[");
                    i += 1;
                }
            },
            ']' => {
                out.push_str("\\]");
                i += 1;
            }
            '<' => match break_tag_len(&chars[i..limit]) {
                Some(len) => {
                    out.push_str("<br>");
                    i += len;
                }
                None => {
                    out.push_str("&lt;");
                    i += 1;
                }
            },
            '>' => {
                out.push_str("&gt;");
                i += 1;
            }
            '-' if !structural && i + 1 < limit && chars[i + 1] == '-' => {
                while i < limit && chars[i] == '-' {
                    out.push_str("\\-");
                    i += 1;
                }
            }
            '\\' if i + 1 < limit && chars[i + 1].is_ascii_punctuation() => {
                // Already a markdown escape: keep it as it is.
                out.push(c);
                out.push(chars[i + 1]);
                i += 2;
            }
            'h' if starts_url(&chars[i..limit]) => {
                let len = chars[i..limit]
                    .iter()
                    .take_while(|&&c| is_url_char(c))
                    .count();
                let mut url: String = chars[i..i + len].iter().collect();
                // Sentence punctuation after a URL is not part of it.
                while url.ends_with(['.', ',', ';', ':', ')']) {
                    url.pop();
                }
                let taken = url.chars().count();
                out.push('<');
                out.push_str(&url);
                out.push('>');
                i += taken;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
}

/// `<br>`, `<br/>` or `<br />` at the start of `chars`: its length.
fn break_tag_len(chars: &[char]) -> Option<usize> {
    let head: String = chars
        .iter()
        .take(6)
        .collect::<String>()
        .to_ascii_lowercase();
    ["<br>", "<br/>", "<br />"]
        .into_iter()
        .find(|tag| head.starts_with(tag))
        .map(str::len)
}

/// A markdown link being written: where its text ends (its `]`), its URL's `)`, and
/// whether the URL is kept (a page-relative one is not: it only resolves on the page).
struct Link {
    text_end: usize,
    url_end: usize,
    keep_url: bool,
}

/// What a line's markdown links are made of, found in one pass each, so that telling
/// whether a `[` starts a link costs the same however long the line is.
struct Marks {
    /// For each `[`, its matching `]`: the first after it where as many `]` as `[` follow it.
    closing_bracket: Vec<Option<usize>>,
    /// For each position, the first `)` at or after it.
    next_paren: Vec<Option<usize>>,
    /// For each position, the first whitespace at or after it.
    next_space: Vec<usize>,
}

impl Marks {
    fn of(chars: &[char]) -> Marks {
        let mut closing_bracket = vec![None; chars.len()];
        let mut opened = Vec::new();
        for (at, &c) in chars.iter().enumerate() {
            match c {
                '[' => opened.push(at),
                ']' => {
                    if let Some(open) = opened.pop() {
                        closing_bracket[open] = Some(at);
                    }
                }
                _ => {}
            }
        }
        let mut next_paren = vec![None; chars.len() + 1];
        let mut next_space = vec![chars.len(); chars.len() + 1];
        for at in (0..chars.len()).rev() {
            next_paren[at] = match chars[at] {
                ')' => Some(at),
                _ => next_paren[at + 1],
            };
            next_space[at] = match chars[at].is_whitespace() {
                true => at,
                false => next_space[at + 1],
            };
        }
        Marks {
            closing_bracket,
            next_paren,
            next_space,
        }
    }

    /// If a markdown link `[text](url)` starts at `start` and ends before `limit`: where,
    /// and whether its URL is kept (a web page or a path on the site; not `query.md`, nor a
    /// scheme rustdoc's readers could not follow).
    fn link(&self, chars: &[char], start: usize, limit: usize) -> Option<Link> {
        let text_end = self.closing_bracket[start].filter(|&end| end + 1 < limit)?;
        if chars[text_end + 1] != '(' {
            return None;
        }
        let url_end = self.next_paren[text_end + 2].filter(|&end| end < limit)?;
        // The URL without its surrounding whitespace, which must hold none itself.
        let from = (text_end + 2..url_end).find(|&at| !chars[at].is_whitespace())?;
        let to = (from..url_end)
            .rev()
            .find(|&at| !chars[at].is_whitespace())?;
        if self.next_space[from] <= to {
            return None;
        }
        let url = &chars[from..=to];
        let starts = |prefix: &str| {
            url.len() >= prefix.len() && prefix.chars().zip(url).all(|(a, &b)| a == b)
        };
        let keep_url = starts("http://") || starts("https://") || starts("/") || starts("#");
        let relative = !url.contains(&':');
        (keep_url || relative).then_some(Link {
            text_end,
            url_end,
            keep_url,
        })
    }
}

/// Finds where code spans close: the next run of at least as many backticks. The search
/// for each fence length only moves forward through the line, so a line of many
/// unclosed fences stays linear.
struct CodeSpans {
    /// For each position, how many backticks start there.
    run: Vec<usize>,
    /// Per fence length: the position searched from, and the first fence found there.
    found: Vec<Option<(usize, Option<usize>)>>,
}

/// Longer runs of backticks are never code fences on a Feishu page; they are escaped as
/// text, which keeps the search's memory per fence length bounded.
const MAX_FENCE: usize = 16;

impl CodeSpans {
    fn new(chars: &[char]) -> CodeSpans {
        let mut run = vec![0; chars.len() + 1];
        for at in (0..chars.len()).rev() {
            if chars[at] == '`' {
                run[at] = run[at + 1] + 1;
            }
        }
        CodeSpans {
            run,
            found: vec![None; MAX_FENCE + 1],
        }
    }

    /// The first position at or after `from` where `ticks` backticks close a span that
    /// ends by `limit`.
    fn closing(&mut self, from: usize, ticks: usize, limit: usize) -> Option<usize> {
        if ticks > MAX_FENCE {
            return None;
        }
        let found = match self.found[ticks] {
            Some((searched, found)) if searched <= from && found.is_none_or(|at| at >= from) => {
                found
            }
            _ => {
                let found = (from..self.run.len()).find(|&at| self.run[at] >= ticks);
                self.found[ticks] = Some((from, found));
                found
            }
        };
        found.filter(|&at| at + ticks <= limit)
    }
}

fn absolute(url: &str) -> String {
    if url.starts_with('/') {
        format!("{DOC_HOST}{url}")
    } else {
        url.to_owned()
    }
}

fn starts_url(chars: &[char]) -> bool {
    let head: String = chars.iter().take(8).collect();
    head.starts_with("http://") || head.starts_with("https://")
}

fn is_url_char(c: char) -> bool {
    c.is_ascii_graphic()
        && !matches!(
            c,
            '<' | '>' | '"' | '`' | '[' | ']' | '{' | '}' | '|' | '\\'
        )
}

/// Escapes text for one cell of a markdown table.
pub fn table_cell(text: &str) -> String {
    sanitize(text).replace('|', "\\|").replace('\n', " ")
}

/// A JSON value as inline code, e.g. for an example.
pub fn code(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let ticks = if text.contains('`') { "``" } else { "`" };
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_links_and_code_and_escapes_the_rest() {
        assert_eq!(
            sanitize("见 [文档](/document/abc) 与 https://x.cn/a.png。"),
            "见 [文档](https://open.feishu.cn/document/abc) 与 <https://x.cn/a.png>。"
        );
        assert_eq!(
            sanitize("type `map<string, string>` or map<string, string>"),
            "type `map<string, string>` or map&lt;string, string&gt;"
        );
        assert_eq!(
            sanitize("values [1, 2] and string\\[\\]"),
            "values \\[1, 2\\] and string\\[\\]"
        );
        assert_eq!(
            sanitize("a [link](https://a.b/c) here"),
            "a [link](https://a.b/c) here"
        );
    }

    #[test]
    fn never_makes_a_doctest() {
        assert_eq!(sanitize("note:\n\tindented text"), "note:\nindented text");
        assert_eq!(sanitize("```\nlet x = 1;\n```"), "```text\nlet x = 1;\n```");
        assert_eq!(sanitize("```json\n{}\n```"), "```json\n{}\n```");
        assert_eq!(sanitize("```rust\nfn\n"), "```text\nfn\n```");
    }

    #[test]
    fn keeps_continuation_lines_inside_their_list_item() {
        assert_eq!(sanitize("- 说明\n继续\n\n段落"), "- 说明\n  继续\n\n段落");
        assert_eq!(sanitize("12. a\n  b\n- c\nd"), "12. a\n    b\n- c\n  d");
        assert_eq!(sanitize("-1 is\nnot a list"), "-1 is\nnot a list");
        assert_eq!(sanitize("- a\n```\nx\n```"), "- a\n```text\nx\n```");
    }

    #[test]
    fn a_list_item_indented_like_code_stays_prose() {
        assert_eq!(sanitize("- \t任一任务，推送"), "- 任一任务，推送");
        assert_eq!(sanitize("1.      a\nb"), "1. a\n   b");
        assert_eq!(sanitize("-    four spaces"), "-    four spaces");
    }

    /// The text rustdoc shows for `markdown`: it parses with smart punctuation on.
    fn rendered(markdown: &str) -> String {
        use pulldown_cmark::{Event, Options, Parser};
        let options = Options::ENABLE_SMART_PUNCTUATION | Options::ENABLE_TABLES;
        let mut text = String::new();
        for event in Parser::new_ext(markdown, options) {
            match event {
                Event::Text(t) | Event::Code(t) => text.push_str(&t),
                Event::Html(t) | Event::InlineHtml(t) => text.push_str(&t),
                Event::SoftBreak => text.push(' '),
                _ => {}
            }
        }
        text
    }

    #[test]
    fn double_hyphens_are_not_en_dashes() {
        let line = "curl --location --request PATCH 与 「--」，`--data-raw`";
        assert_eq!(
            rendered(&sanitize(line)),
            "curl --location --request PATCH 与 「--」，--data-raw"
        );
        assert_eq!(
            rendered(line),
            "curl –location –request PATCH 与 「–」，--data-raw"
        );
        for structural in ["|---|:---:|", "---", "- a - b"] {
            assert_eq!(sanitize(structural), structural);
        }
    }

    #[test]
    fn a_page_relative_link_is_its_text_and_a_break_stays_a_break() {
        assert_eq!(
            sanitize("可以通过[查询人工任务](query.md)获取, [上传](../a/upload.md#x)"),
            "可以通过查询人工任务获取, 上传"
        );
        assert_eq!(sanitize("[x](mailto:a@b.c)"), "\\[x\\](mailto:a@b.c)");
        assert_eq!(
            sanitize("一行<br>二行<BR/>三<br />"),
            "一行<br>二行<br>三<br>"
        );
        assert_eq!(sanitize("<b>"), "&lt;b&gt;");
        assert_eq!(
            sanitize("信息[下载用户人\n](https://a.b/c)。\n[x]\n](y)"),
            "信息[下载用户人 ](https://a.b/c)。\n\\[x\\]\n\\](y)"
        );
    }

    #[test]
    fn handles_unbalanced_backticks() {
        assert_eq!(sanitize("a ` b"), "a \\` b");
        assert_eq!(sanitize("a\tb"), "a    b");
    }
}
