//! A doc page as lines, and the markdown page's outline: front matter, headings, code blocks.
//!
//! Feishu's pages are not CommonMark: a table cell runs on over the following lines, which a
//! markdown parser would read as paragraphs and lists breaking the table. So the page is cut
//! into sections and tables line by line here, and only the text inside a cell goes through
//! the markdown parser (`cell.rs`).

use std::path::{Path, PathBuf};

use feishu_spec::Diagnostic;
use feishu_spec::Pos;

/// One doc page read into memory.
#[derive(Debug)]
pub struct Page {
    pub path: PathBuf,
    pub text: String,
    /// The page's lines, without line ends. `lines[i]` is line `i + 1`.
    pub lines: Vec<String>,
}

impl Page {
    pub fn new(path: &Path, text: String) -> Page {
        let text = text.replace("\r\n", "\n");
        let lines = text.lines().map(str::to_owned).collect();
        Page {
            path: path.to_path_buf(),
            text,
            lines,
        }
    }

    /// A problem at a 1-based line of this page (0 for the whole page).
    pub fn diagnostic(&self, line: usize, what: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.path.clone(),
            pos: (line > 0).then(|| Pos {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: 1,
            }),
            field: what.to_owned(),
            message: message.into(),
        }
    }
}

/// A heading and the lines under it, up to the next heading of any level.
#[derive(Debug, Clone)]
pub struct Section {
    pub level: usize,
    pub title: String,
    /// The heading's line (1-based).
    pub line: usize,
    /// The body: (1-based line number, text) pairs.
    pub body: Vec<(usize, String)>,
}

impl Section {
    /// The fenced code blocks of the section, each with the line of its first content line.
    pub fn code_blocks(&self) -> Vec<(usize, String)> {
        let mut blocks = Vec::new();
        let mut current: Option<(usize, Vec<&str>)> = None;
        for (line, text) in &self.body {
            let fence = text.trim_start().starts_with("```");
            match (&mut current, fence) {
                (None, true) => current = Some((line + 1, Vec::new())),
                (Some(_), true) => {
                    let (start, lines) = current.take().unwrap_or_default();
                    blocks.push((start, lines.join("\n")));
                }
                (Some((_, lines)), false) => lines.push(text),
                (None, false) => {}
            }
        }
        if let Some((start, lines)) = current {
            blocks.push((start, lines.join("\n")));
        }
        blocks
    }

    /// The body's text outside tables and code blocks, as markdown paragraphs.
    pub fn prose(&self) -> Vec<(usize, String)> {
        let mut paragraphs: Vec<(usize, String)> = Vec::new();
        let mut current: Option<(usize, String)> = None;
        let mut in_code = false;
        let mut in_table = false;
        for (i, (line, text)) in self.body.iter().enumerate() {
            let trimmed = text.trim();
            if trimmed.starts_with("```") {
                in_code = !in_code;
                paragraphs.extend(current.take());
                continue;
            }
            let next_is_separator = self
                .body
                .get(i + 1)
                .is_some_and(|(_, next)| crate::table::is_separator(next));
            if in_code || next_is_separator {
                in_table |= next_is_separator;
                paragraphs.extend(current.take());
                continue;
            }
            if trimmed.is_empty() {
                in_table = false;
                paragraphs.extend(current.take());
                continue;
            }
            if in_table || trimmed == "<br>" {
                continue;
            }
            match &mut current {
                Some((_, paragraph)) => {
                    paragraph.push('\n');
                    paragraph.push_str(trimmed);
                }
                None => current = Some((*line, trimmed.to_owned())),
            }
        }
        paragraphs.extend(current);
        paragraphs
    }
}

/// The markdown page's front matter.
#[derive(Debug, Default, serde::Deserialize)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub source_url: Option<String>,
    pub last_remote_update: Option<serde_json::Value>,
    /// The mirror layout's page path below `https://open.feishu.cn/document`.
    #[serde(rename = "fullPath")]
    pub full_path: Option<String>,
    /// The mirror layout's last update, in milliseconds.
    #[serde(rename = "updateTime")]
    pub update_time: Option<serde_json::Value>,
}

/// Splits a markdown page into front matter, the lines before the first heading and the
/// sections. Returns `None` when the page has no front matter (it is not a markdown page).
pub fn outline(page: &Page) -> Result<Option<(FrontMatter, Vec<Section>)>, Diagnostic> {
    let mut lines = page.lines.iter().enumerate().map(|(i, l)| (i + 1, l));
    match lines.next() {
        Some((_, first)) if first.trim() == "---" => {}
        _ => return Ok(None),
    }
    let mut yaml = String::new();
    let mut closed = false;
    for (_, line) in lines.by_ref() {
        if line.trim() == "---" {
            closed = true;
            break;
        }
        yaml.push_str(line);
        yaml.push('\n');
    }
    if !closed {
        return Err(page.diagnostic(1, "front matter", "the front matter has no closing `---`"));
    }
    let front: FrontMatter = serde_saphyr::from_str(&yaml).map_err(|err| {
        page.diagnostic(
            1,
            "front matter",
            format!("the front matter is not YAML: {err}"),
        )
    })?;
    let mut sections = vec![Section {
        level: 0,
        title: String::new(),
        line: 1,
        body: Vec::new(),
    }];
    let mut in_code = false;
    for (number, line) in lines {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        let level = line.chars().take_while(|&c| c == '#').count();
        let is_heading = !in_code && (1..=6).contains(&level) && line[level..].starts_with(' ');
        if is_heading {
            sections.push(Section {
                level,
                title: line[level..].trim().to_owned(),
                line: number,
                body: Vec::new(),
            });
        } else if let Some(section) = sections.last_mut() {
            section.body.push((number, line.clone()));
        }
    }
    Ok(Some((front, sections)))
}
