//! The two markdown layouts, told apart by their front matter: the seeds' pages
//! (`source_url`, `last_remote_update`) and the mirror's (`fullPath`, `updateTime`). The
//! markdown reader asks the layout for what they write differently; everything else it
//! reads the same way.

use feishu_spec::model::{AppType, Scope};
use serde_json::Value;

use crate::cell::{plain_text, scope_of};
use crate::mirror;
use crate::page::{FrontMatter, Page, Section};
use crate::table::{self, Table};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The seeds' and the corpus's pages.
    Seed,
    /// `../shared/feishu-docs`.
    Mirror,
}

/// Request-table rows, as (line, key, value).
pub type RequestRow = (usize, String, String);

impl Layout {
    pub fn of(front: &FrontMatter) -> Layout {
        if front.source_url.is_none() && front.full_path.is_some() {
            Layout::Mirror
        } else {
            Layout::Seed
        }
    }

    pub fn doc_url(self, front: &FrontMatter) -> Option<String> {
        match self {
            Layout::Seed => front.source_url.clone(),
            Layout::Mirror => front.full_path.as_deref().map(mirror::doc_url),
        }
    }

    /// The page's last-updated date, `YYYY-MM-DD`.
    pub fn updated(self, front: &FrontMatter, page: &Page) -> Option<String> {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match self {
            Layout::Seed => match &front.last_remote_update {
                Some(value) => Some(text(value)),
                None => page
                    .lines
                    .iter()
                    .find_map(|l| l.strip_prefix("最后更新于"))
                    .map(|d| d.trim().to_owned()),
            },
            Layout::Mirror => front
                .update_time
                .as_ref()
                .and_then(|v| mirror::updated(&text(v))),
        }
    }

    /// The sections as the shared reader takes them: mirror lines get Feishu's own links
    /// and lose their callout markers (outside code blocks).
    pub fn sections(self, sections: Vec<Section>) -> Vec<Section> {
        if self == Layout::Seed {
            return sections;
        }
        sections
            .into_iter()
            .map(|mut section| {
                let mut in_code = false;
                for (_, text) in &mut section.body {
                    if text.trim_start().starts_with("```") {
                        in_code = !in_code;
                    } else if !in_code {
                        *text = mirror::line(text);
                    }
                }
                section
            })
            .collect()
    }

    /// The section's tables, with every cell in the seeds' form (a part per line).
    pub fn tables(self, section: &Section) -> Vec<Table> {
        let mut tables = table::tables(&section.body);
        if self == Layout::Mirror {
            for row in tables.iter_mut().flat_map(|t| t.rows.iter_mut()) {
                for cell in &mut row.cells {
                    *cell = mirror::cell(cell);
                }
            }
        }
        tables
    }

    /// The `## 请求` table's rows. Known keys are cut to their name: the mirror writes the
    /// permission row's explanation into its key.
    pub fn request_rows(self, section: &Section, known: &[&str]) -> Vec<RequestRow> {
        match self {
            Layout::Seed => seed_request_rows(section, known),
            Layout::Mirror => table::tables(&section.body)
                .into_iter()
                .next()
                .map(|table| {
                    let rows = table.rows.into_iter().filter(|r| r.cells.len() >= 2);
                    rows.map(|row| {
                        let key = plain_text(&row.cells[0]);
                        let key = known
                            .iter()
                            .find(|k| key.starts_with(**k))
                            .map_or(key.clone(), |k| (*k).to_owned());
                        (row.line, key, row.cells[1].clone())
                    })
                    .collect()
                })
                .unwrap_or_default(),
        }
    }

    pub fn app_types(self, value: &str) -> Vec<AppType> {
        match self {
            Layout::Seed => {
                let mut kinds = Vec::new();
                if value.contains("自建应用") {
                    kinds.push(AppType::Custom);
                }
                if value.contains("商店应用") {
                    kinds.push(AppType::Store);
                }
                kinds
            }
            Layout::Mirror => mirror::app_types(value),
        }
    }

    /// The scopes of a permission row, the lines that name a permission without a scope
    /// code, and the callout the mirror writes after the scopes (a note of the page's).
    pub fn scopes(self, value: &str) -> (Vec<Scope>, Vec<String>, Option<String>) {
        match self {
            Layout::Mirror => {
                let (scopes, callout) = mirror::split_callout(value);
                (mirror::scopes(scopes), Vec::new(), callout)
            }
            Layout::Seed => {
                let mut scopes = Vec::new();
                let mut unnamed = Vec::new();
                for text in value.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    match scope_of(text) {
                        Some(scope) => scopes.push(scope),
                        None if text == "无"
                            || text.starts_with("**")
                            || text.contains("开启任一权限") => {}
                        None => unnamed.push(text.to_owned()),
                    }
                }
                (scopes, unnamed, None)
            }
        }
    }
}

/// The seeds' `名称 | 值` (or `基本 |`) request table. A key may run over several lines
/// before its `|` (`权限要求` and its explanation), a value after it.
fn seed_request_rows(section: &Section, known: &[&str]) -> Vec<RequestRow> {
    let mut rows: Vec<(usize, String, String, bool)> = Vec::new();
    let mut started = false;
    for (line, text) in &section.body {
        let trimmed = text.trim();
        if !started {
            started = table::is_separator(trimmed);
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            break;
        }
        let starts_row = known.iter().any(|k| trimmed.starts_with(k))
            || (rows.last().is_some_and(|r| r.3)
                && trimmed.contains('|')
                && !trimmed.starts_with('|'));
        if starts_row || rows.is_empty() {
            rows.push((*line, String::new(), String::new(), false));
        }
        let Some(row) = rows.last_mut() else { continue };
        let (mut key_part, mut value_part) = (None, None);
        if row.3 {
            value_part = Some(trimmed);
        } else if let Some((k, v)) = trimmed.split_once('|') {
            key_part = Some(k);
            value_part = Some(v);
            row.3 = true;
        } else {
            key_part = Some(trimmed);
        }
        if let Some(k) = key_part
            && row.1.is_empty()
        {
            row.1 = k.trim().to_owned();
        }
        if let Some(v) = value_part {
            if !row.2.is_empty() {
                row.2.push('\n');
            }
            row.2.push_str(v.trim());
        }
    }
    rows.into_iter().map(|(l, k, v, _)| (l, k, v)).collect()
}
