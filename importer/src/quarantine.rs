//! The quarantine: the pages a `--keep-going` run left out, with why, kept in
//! `spec/quarantine.yaml` so the list of pages that do not import is reviewed like code
//! (a test fails when a listed page starts importing), and the run's summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Outcome;

/// One quarantined page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The page, relative to the directory the run imported.
    pub page: String,
    /// Its first problem; empty for a superseded page.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The page imported instead, when another page documents the same endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
}

const HEADER: &str = "\
# Written by `cargo xtask import --keep-going --quarantine DIR`: the endpoint and event
# pages of DIR that are not imported. A page with a `reason` does not import (its first
# problem); a test imports each one again and fails once it imports, so this list only
# shrinks. A page with `superseded_by` documents an endpoint (or event) that a more
# current page documents or replaces.
";

/// The quarantine file's text for the pages a run left out or superseded. Pages are named
/// relative to the directory given on the command line that holds them, and spec files
/// relative to `spec_dir`, so the file is the same in every clone.
pub fn render(outcome: &Outcome, roots: &[PathBuf], spec_dir: &Path) -> String {
    let relative = |path: &Path| {
        roots
            .iter()
            .find_map(|root| path.strip_prefix(root).ok())
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let spec_prefix = format!("{}/", spec_dir.display());
    let left_out = outcome.skipped.iter().map(|s| {
        let reason = s.problems.first().map_or_else(String::new, |problem| {
            let mut problem = problem.clone();
            // A problem the tree's checks found names the spec file the page would
            // have written, which was not written: name the page instead.
            if problem.file != s.page {
                problem.pos = None;
            }
            problem.file = PathBuf::from(relative(&s.page));
            let mut reason = problem.to_string().replace(&spec_prefix, "");
            for root in roots {
                reason = reason.replace(&format!("{}/", root.display()), "");
            }
            reason
        });
        Entry {
            page: relative(&s.page),
            reason,
            superseded_by: None,
        }
    });
    let superseded = outcome.superseded.iter().map(|s| Entry {
        page: relative(&s.page),
        reason: String::new(),
        superseded_by: Some(relative(&s.by)),
    });
    let mut entries: Vec<Entry> = left_out.chain(superseded).collect();
    entries.sort_by(|a, b| a.page.cmp(&b.page));
    let body = if entries.is_empty() {
        "[]\n".to_owned()
    } else {
        serde_saphyr::to_string(&entries)
            .unwrap_or_else(|err| unreachable!("entries serialize: {err}"))
    };
    format!("{HEADER}{body}")
}

/// Reads a quarantine file.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    serde_saphyr::from_str(text).map_err(|err| err.to_string())
}

/// What a run did, in a few lines: pages read, imported, superseded and left out (by
/// reason), warnings by kind.
pub fn summary(outcome: &Outcome) -> String {
    let mut text = format!(
        "import: {} pages read, {} imported, {} superseded (their endpoint or event is imported from another page), {} left out, {} warnings\n",
        outcome.pages,
        outcome.imported(),
        outcome.superseded.len(),
        outcome.skipped.len(),
        outcome.warnings.len(),
    );
    let reasons = outcome
        .skipped
        .iter()
        .filter_map(|s| s.problems.first())
        .map(|d| kind(&d.message));
    text.push_str(&counted("left out, by reason", reasons));
    let warnings = outcome.warnings.iter().map(|d| kind(&d.message));
    text.push_str(&counted("warnings, by kind", warnings));
    text
}

/// A message without its particulars (what it quotes in backticks or brackets, and
/// numbers), so messages of one kind count together.
fn kind(message: &str) -> String {
    let mut stem = String::new();
    let mut closing = None;
    for c in message.chars() {
        match (closing, c) {
            (Some(close), c) if c == close => closing = None,
            (Some(_), _) => {}
            (None, '`') => (closing, stem) = (Some('`'), stem + "…"),
            (None, '(') => (closing, stem) = (Some(')'), stem + "(…)"),
            (None, c) if c.is_ascii_digit() => {
                if !stem.ends_with('N') {
                    stem.push('N');
                }
            }
            (None, c) => stem.push(c),
        }
    }
    // A problem that points at another file names it after ` at `.
    match stem.split_once(" at /") {
        Some((head, _)) => head.to_owned(),
        None => stem,
    }
}

fn counted(title: &str, kinds: impl Iterator<Item = String>) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for kind in kinds {
        *counts.entry(kind).or_default() += 1;
    }
    if counts.is_empty() {
        return String::new();
    }
    let mut rows: Vec<(String, usize)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut text = format!("  {title}:\n");
    for (kind, count) in rows {
        text.push_str(&format!("    {count:>5}  {kind}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Skipped;
    use feishu_spec::Diagnostic;

    #[test]
    fn renders_relative_pages_and_reads_them_back() {
        let skipped = vec![Skipped {
            page: PathBuf::from("/docs/a/b.md"),
            problems: vec![Diagnostic {
                file: PathBuf::from("/docs/a/b.md"),
                pos: None,
                field: "HTTP URL".into(),
                message: "`x` is not a URL".into(),
            }],
        }];
        let outcome = Outcome {
            skipped,
            superseded: vec![crate::batch::Superseded {
                page: PathBuf::from("/docs/old/b.md"),
                by: PathBuf::from("/docs/a/c.md"),
            }],
            ..Outcome::default()
        };
        let text = render(&outcome, &[PathBuf::from("/docs")], Path::new("/spec"));
        let entries = parse(&text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].page, "a/b.md");
        assert_eq!(entries[0].reason, "a/b.md: HTTP URL: `x` is not a URL");
        assert_eq!(entries[1].page, "old/b.md");
        assert_eq!(entries[1].superseded_by.as_deref(), Some("a/c.md"));
        let empty = Outcome::default();
        assert_eq!(parse(&render(&empty, &[], Path::new("/spec"))).unwrap(), []);
    }

    #[test]
    fn kinds_drop_particulars() {
        assert_eq!(
            kind("the type `enum` is listed here (line 12)"),
            "the type … is listed here (…)"
        );
        assert_eq!(kind("line 12 column 3"), "line N column N");
        assert_eq!(kind("defined at /a/b.yaml:3:4; one"), "defined");
    }
}
