//! Choosing among the pages of one run: the same endpoint documented on several pages is
//! imported once, two endpoints never share a spec file, and pages that fail the tree-wide
//! checks are set aside (with `--keep-going`) instead of stopping the run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use feishu_spec::Diagnostic;
use feishu_spec::model::HttpMethod;

use crate::{Document, Imported};

/// A page left out because another page documents its endpoint better, or documents the
/// endpoint that replaced it.
#[derive(Debug, Clone)]
pub struct Superseded {
    pub page: PathBuf,
    /// The page imported instead.
    pub by: PathBuf,
}

/// What a page documents, to find the pages that document the same thing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Subject {
    /// An endpoint: its method and path.
    Endpoint(HttpMethod, String),
    /// An event: its type.
    Event(String),
}

fn subject_of(imported: &Imported) -> Subject {
    match &imported.spec {
        Document::Endpoint(spec) => Subject::Endpoint(*spec.method, spec.path.value.clone()),
        Document::Event(spec) => Subject::Event(spec.event_type.value.clone()),
    }
}

/// How current a page is, for picking one page per endpoint: a page outside
/// `historic-version/` beats one inside it, then the newer page, then the richer format
/// (markdown over the API-explorer text), then the path, so the choice never depends on
/// the order pages were given.
fn currency(imported: &Imported) -> (bool, String, bool, std::cmp::Reverse<PathBuf>) {
    let historic = is_historic(imported);
    let updated = imported.spec.updated().unwrap_or_default().to_owned();
    let markdown = imported.source_suffix == crate::SOURCE_MARKDOWN;
    (
        !historic,
        updated,
        markdown,
        std::cmp::Reverse(imported.page.clone()),
    )
}

/// Keeps the most current page of each endpoint (and of each event); the others are
/// returned as superseded.
pub fn one_page_per_endpoint(pages: Vec<Imported>) -> (Vec<Imported>, Vec<Superseded>) {
    let mut by_endpoint: BTreeMap<Subject, Vec<Imported>> = BTreeMap::new();
    for imported in pages {
        by_endpoint
            .entry(subject_of(&imported))
            .or_default()
            .push(imported);
    }
    let mut kept = Vec::new();
    let mut superseded = Vec::new();
    for (_, mut group) in by_endpoint {
        group.sort_by_key(|page| std::cmp::Reverse(currency(page)));
        let mut group = group.into_iter();
        let Some(best) = group.next() else { continue };
        superseded.extend(group.map(|other| Superseded {
            page: other.page,
            by: best.page.clone(),
        }));
        kept.push(best);
    }
    kept.sort_by(|a, b| a.page.cmp(&b.page));
    (kept, superseded)
}

fn is_historic(imported: &Imported) -> bool {
    imported
        .page
        .components()
        .any(|c| c.as_os_str() == "historic-version")
        || imported.spec.doc_url().contains("/historic-version/")
}

/// Two endpoints whose specs would share a file: the more current page keeps the place.
/// A `historic-version/` page displaced by a current one is superseded, since the
/// current docs replace it (Feishu moved the endpoint); any other loser is a collision.
pub fn placement_collisions(pages: &mut Vec<Imported>) -> (Vec<Diagnostic>, Vec<Superseded>) {
    let mut by_place: BTreeMap<String, Vec<Imported>> = BTreeMap::new();
    for imported in pages.drain(..) {
        by_place
            .entry(imported.placement.rel_path())
            .or_default()
            .push(imported);
    }
    let mut collisions = Vec::new();
    let mut superseded = Vec::new();
    for (rel, mut group) in by_place {
        group.sort_by_key(|page| std::cmp::Reverse(currency(page)));
        let mut group = group.into_iter();
        let Some(best) = group.next() else { continue };
        for other in group {
            if is_historic(&other) && !is_historic(&best) {
                superseded.push(Superseded {
                    page: other.page,
                    by: best.page.clone(),
                });
                continue;
            }
            collisions.push(Diagnostic {
                file: other.page,
                pos: None,
                field: String::new(),
                message: format!(
                    "places its spec at {rel}.yaml, as {} does for another endpoint",
                    best.page.display()
                ),
            });
        }
        pages.push(best);
    }
    pages.sort_by(|a, b| a.page.cmp(&b.page));
    (collisions, superseded)
}

/// The pages a tree-wide check's problems point at: each diagnostic names a spec file,
/// which one imported page writes. Problems in files no page of the run writes are
/// returned apart: leaving pages out cannot fix them.
pub fn pages_at_fault(
    diagnostics: Vec<Diagnostic>,
    spec_dir: &Path,
    pages: &[Imported],
) -> (BTreeMap<PathBuf, Vec<Diagnostic>>, Vec<Diagnostic>) {
    let by_file: BTreeMap<PathBuf, &PathBuf> = pages
        .iter()
        .map(|p| {
            let yaml = spec_dir.join(format!("{}.yaml", p.placement.rel_path()));
            (yaml, &p.page)
        })
        .collect();
    let mut faults: BTreeMap<PathBuf, Vec<Diagnostic>> = BTreeMap::new();
    let mut elsewhere = Vec::new();
    for diagnostic in diagnostics {
        // A conflict names both places; the other one is named in the message.
        let named: BTreeSet<&PathBuf> = by_file
            .iter()
            .filter(|(file, _)| {
                diagnostic.file == **file || diagnostic.message.contains(&*file.to_string_lossy())
            })
            .map(|(_, page)| *page)
            .collect();
        if named.is_empty() {
            elsewhere.push(diagnostic);
            continue;
        }
        for page in named {
            faults
                .entry(page.clone())
                .or_default()
                .push(diagnostic.clone());
        }
    }
    (faults, elsewhere)
}

/// Every endpoint page under `dir` (a page with `| HTTP URL |` and `| HTTP Method |` rows,
/// in any layout), sorted; guides and event pages are not endpoint pages.
pub fn endpoint_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    pages_where(dir, is_endpoint_page)
}

/// Every event page under `dir` (a page whose `## 事件` table names an event type), sorted.
pub fn event_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    pages_where(dir, crate::event::is_event_page)
}

/// Every page under `dir` that `cargo xtask import DIR` imports: the endpoint pages and
/// the event pages, sorted.
pub fn doc_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    pages_where(dir, |text| {
        is_endpoint_page(text) || crate::event::is_event_page(text)
    })
}

/// The markdown pages under `dir` whose text passes `wanted`, sorted.
fn pages_where(dir: &Path, wanted: fn(&str) -> bool) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, wanted: fn(&str) -> bool, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, wanted, out)?;
            } else if path.extension().is_some_and(|e| e == "md") {
                // A page that is not UTF-8 is still looked at, and one over the limit
                // taken: its import says where it goes wrong.
                match feishu_spec::read_limited(&path, feishu_spec::MAX_PAGE_BYTES) {
                    Ok(bytes) if !wanted(&String::from_utf8_lossy(&bytes)) => {}
                    Ok(_) | Err(feishu_spec::ReadError::TooLarge { .. }) => out.push(path),
                    Err(feishu_spec::ReadError::Io(err)) => return Err(err),
                }
            }
        }
        Ok(())
    }
    let mut pages = Vec::new();
    walk(dir, wanted, &mut pages)?;
    pages.sort();
    Ok(pages)
}

fn is_endpoint_page(text: &str) -> bool {
    let row = |key: &str| {
        text.lines().any(|l| {
            let l = l.trim_start().trim_start_matches('|').trim_start();
            l.starts_with(key) && l[key.len()..].trim_start().starts_with('|')
        })
    };
    row("HTTP URL") && row("HTTP Method")
}
