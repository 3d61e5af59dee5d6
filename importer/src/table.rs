//! Pipe tables as Feishu's pages write them.
//!
//! A row starts on a line with the table's column separators; the lines after it without
//! them continue its last cell (a description with its example, options and rules). Both
//! `a | b` and `| a | b |` layouts occur, and the legacy pages pad their cells.

/// One table: its header cells, its rows, and the line of its header.
#[derive(Debug, Clone)]
pub struct Table {
    pub line: usize,
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone)]
pub struct Row {
    /// The 1-based page line the row starts on.
    pub line: usize,
    /// The cells, trimmed; a multi-line cell keeps its further lines as written (indentation
    /// included, trailing spaces not), joined by `\n`.
    pub cells: Vec<String>,
    /// Cells beyond the header's count that were not empty (a malformed row).
    pub extra_cells: usize,
}

impl Table {
    /// The index of the first column whose header is one of `names`.
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.header.iter().position(|h| {
            let h = h.trim_matches('*').trim();
            names.contains(&h)
        })
    }
}

/// The most rows a page's table may have: Feishu's largest has 2,483. Beyond it a
/// hostile page would make a spec too big to load.
pub const MAX_ROWS: usize = 10_000;

/// The line (1-based) of the first table row past `max` rows in a row, if any.
pub fn first_row_over(text: &str, max: usize) -> Option<usize> {
    let mut run = 0;
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('|') {
            run += 1;
            if run > max {
                return Some(index + 1);
            }
        } else {
            run = 0;
        }
    }
    None
}

/// Whether a line is a table's header separator (`---|---`, `| --- | --- |`, `-- | --`).
pub fn is_separator(line: &str) -> bool {
    let trimmed = line.trim();
    if !trimmed.contains('-') {
        return false;
    }
    let cells = split_cells(trimmed);
    !cells.is_empty()
        && (cells.len() > 1 || trimmed.contains('|'))
        && cells.iter().all(|c| {
            let c = c.trim();
            let inner = c.trim_start_matches(':').trim_end_matches(':');
            !inner.is_empty() && inner.chars().all(|ch| ch == '-')
        })
}

/// Reads every table in `body` (a section's numbered lines).
pub fn tables(body: &[(usize, String)]) -> Vec<Table> {
    let mut tables = Vec::new();
    let mut i = 0;
    while i + 1 < body.len() {
        let (line, header) = &body[i];
        if !header.contains('|') || !is_separator(&body[i + 1].1) {
            i += 1;
            continue;
        }
        let header: Vec<String> = split_cells(header.trim())
            .into_iter()
            .map(|c| c.trim().to_owned())
            .collect();
        let columns = header.len().max(split_cells(body[i + 1].1.trim()).len());
        let mut table = Table {
            line: *line,
            header,
            rows: Vec::new(),
        };
        i += 2;
        while i < body.len() {
            let (number, text) = &body[i];
            let trimmed = text.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("```") {
                break;
            }
            let cells = split_cells(trimmed);
            let starts_row = separators(trimmed) + 1 >= columns.max(2)
                || (trimmed.starts_with('|') && trimmed.ends_with('|'));
            match table.rows.last_mut() {
                Some(row) if !starts_row => {
                    // Indentation is kept: it nests the bullets of an option's meaning.
                    if let Some(last) = row.cells.last_mut() {
                        last.push('\n');
                        last.push_str(text.trim_end());
                    }
                }
                _ => {
                    let mut cells: Vec<String> =
                        cells.into_iter().map(|c| c.trim().to_owned()).collect();
                    let extra_cells = merge_extra_cells(&mut cells, columns);
                    table.rows.push(Row {
                        line: *number,
                        cells,
                        extra_cells,
                    });
                }
            }
            i += 1;
        }
        tables.push(table);
    }
    tables
}

/// Folds the cells past `columns` into the last kept cell, joined by ` | `: their text
/// belongs to it (a pipe the page did not escape). Empty cells at the row's end are
/// dropped. Returns how many cells were folded. Linear in the row's length, however many
/// cells it has.
fn merge_extra_cells(cells: &mut Vec<String>, columns: usize) -> usize {
    let extras = cells.split_off(columns.min(cells.len()));
    let Some(last_text) = extras.iter().rposition(|cell| !cell.is_empty()) else {
        return 0;
    };
    if let Some(prev) = cells.last_mut() {
        for extra in &extras[..=last_text] {
            prev.push_str(" | ");
            prev.push_str(extra);
        }
    }
    last_text + 1
}

/// The number of cell separators: pipes outside inline code, not escaped, and not the
/// row's leading or trailing pipe.
fn separators(line: &str) -> usize {
    split_cells(line).len().saturating_sub(1)
}

/// Splits a row into cells at unescaped pipes outside inline code, dropping the leading and
/// trailing pipe of the `| a | b |` layout. `\|` stays in the cell as `|`.
pub fn split_cells(line: &str) -> Vec<String> {
    let inner = line.strip_prefix('|').unwrap_or(line);
    let inner = match inner.strip_suffix('|') {
        Some(rest) if !rest.ends_with('\\') => rest,
        _ => inner,
    };
    let mut cells = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                current.push('|');
                chars.next();
            }
            '`' => {
                in_code = !in_code;
                current.push(c);
            }
            '|' if !in_code => cells.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    cells.push(current);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(text: &str) -> Vec<(usize, String)> {
        text.lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.to_owned()))
            .collect()
    }

    #[test]
    fn continuation_lines_join_the_last_cell() {
        let body = numbered(
            "名称 | 类型 | 描述\n--- | --- | ---\nid | string | 一个 ID  \n**示例值**：\"1\"\n- a：甲\nname | string | 名字\n\nafter",
        );
        let tables = tables(&body);
        assert_eq!(tables.len(), 1);
        let rows = &tables[0].rows;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].cells[2], "一个 ID\n**示例值**：\"1\"\n- a：甲");
        assert_eq!(rows[0].line, 3);
        assert_eq!(rows[1].cells, ["name", "string", "名字"]);
    }

    #[test]
    fn padded_layout_and_a_trailing_extra_pipe() {
        let body = numbered(
            "| 参数 | 数据类型 | 说明 |\n| --- | --- | --- |\n|code|int|错误码|\n|∟ticket|string|票据||",
        );
        let rows = &tables(&body)[0].rows;
        assert_eq!(rows[0].cells, ["code", "int", "错误码"]);
        assert_eq!(rows[1].cells, ["∟ticket", "string", "票据"]);
        assert_eq!(rows[1].extra_cells, 0);
    }

    #[test]
    fn cells_past_the_header_fold_into_the_last_cell_in_order() {
        let mut cells: Vec<String> = ["a", "b", "c", "", "d", "", ""].map(String::from).into();
        assert_eq!(merge_extra_cells(&mut cells, 2), 3);
        assert_eq!(cells, ["a", "b | c |  | d"]);
        let mut cells: Vec<String> = ["a", "b", "", ""].map(String::from).into();
        assert_eq!(merge_extra_cells(&mut cells, 2), 0);
        assert_eq!(cells, ["a", "b"]);
    }

    #[test]
    fn pipes_in_code_and_escaped_pipes_stay_in_the_cell() {
        assert_eq!(split_cells(r"a | `x|y` | b\|c"), ["a ", " `x|y` ", r" b|c"]);
        assert!(is_separator("-- | -- | --"));
        assert!(is_separator("| ------------ | :---: |"));
        assert!(!is_separator("名称 | 值"));
    }
}
