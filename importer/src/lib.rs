//! The docs importer: Feishu doc pages in, endpoint spec files out.

pub mod batch;
pub mod cell;
pub mod doc_type;
pub mod event;
pub mod example;
pub mod explorer;
pub mod fields;
pub mod layout;
pub mod markdown;
pub mod mirror;
pub mod nesting;
pub mod overrides;
pub mod page;
pub mod placement;
pub mod quarantine;
pub mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use feishu_spec::model::{EndpointSpec, EventSpec};
use feishu_spec::replace::{Removal, Write, replace_all};
use feishu_spec::{Diagnostic, Diagnostics, Overlay};
use serde::Serialize;
use serde::de::DeserializeOwned;

use markdown::Findings;
use page::Page;
use placement::Placement;

/// The suffix of the source pages kept beside their specs, by page format.
pub const SOURCE_MARKDOWN: &str = ".source.md";
pub const SOURCE_EXPLORER: &str = ".source.txt";

/// What a page documents: an endpoint, or an event.
#[derive(Debug)]
pub enum Document {
    Endpoint(Box<EndpointSpec>),
    Event(Box<EventSpec>),
}

impl Document {
    /// The page's last-updated date.
    pub fn updated(&self) -> Option<&str> {
        match self {
            Document::Endpoint(spec) => spec.updated.as_deref(),
            Document::Event(spec) => spec.updated.as_deref(),
        }
    }

    pub fn doc_url(&self) -> &str {
        match self {
            Document::Endpoint(spec) => &spec.doc_url,
            Document::Event(spec) => &spec.doc_url,
        }
    }

    /// The endpoint, when the page documents one.
    pub fn endpoint(&self) -> Option<&EndpointSpec> {
        match self {
            Document::Endpoint(spec) => Some(spec),
            Document::Event(_) => None,
        }
    }

    /// The event, when the page documents one.
    pub fn event(&self) -> Option<&EventSpec> {
        match self {
            Document::Event(spec) => Some(spec),
            Document::Endpoint(_) => None,
        }
    }
}

/// One page, read: where its spec goes, the spec file's text and the page to keep.
#[derive(Debug)]
pub struct Imported {
    pub page: PathBuf,
    pub placement: Placement,
    /// The spec, overrides applied.
    pub spec: Document,
    /// The spec file's text (YAML).
    pub yaml: String,
    /// The source page's file name suffix (`.source.md` or `.source.txt`).
    pub source_suffix: &'static str,
    pub source: String,
    pub warnings: Vec<Diagnostic>,
}

/// Reads one page and builds its spec, applying the overrides kept in `spec_dir`.
pub fn import_page(path: &Path, spec_dir: &Path) -> Result<Imported, Vec<Diagnostic>> {
    let text = read_page(path).map_err(|diagnostic| vec![diagnostic])?;
    import_page_text(path, text, spec_dir)
}

/// [`import_page`] of a page already read: `text` is the page at `path`.
pub fn import_page_text(
    path: &Path,
    text: String,
    spec_dir: &Path,
) -> Result<Imported, Vec<Diagnostic>> {
    let page = Page::new(path, text);
    if let Some(line) = table::first_row_over(&page.text, table::MAX_ROWS) {
        let message = format!(
            "a table has at most {} rows, and this is one more; Feishu's largest has 2483",
            table::MAX_ROWS
        );
        return Err(vec![page.diagnostic(line, "", message)]);
    }
    let mut found = Findings::default();
    let (document, source_suffix) = match page::outline(&page) {
        Ok(Some((front, sections))) if event::is_event_page(&page.text) => (
            event::import(&page, front, &sections, &mut found)
                .map(|spec| Document::Event(Box::new(spec))),
            SOURCE_MARKDOWN,
        ),
        Ok(Some((front, sections))) => (
            markdown::import(&page, front, &sections, &mut found)
                .map(|spec| Document::Endpoint(Box::new(spec))),
            SOURCE_MARKDOWN,
        ),
        Ok(None) => (
            explorer::import(&page, &mut found).map(|spec| Document::Endpoint(Box::new(spec))),
            SOURCE_EXPLORER,
        ),
        Err(diagnostic) => return Err(vec![diagnostic]),
    };
    for error in &mut found.errors {
        if error.file.as_os_str().is_empty() {
            error.file = page.path.clone();
        }
    }
    let document = match document {
        Some(document) if found.errors.is_empty() => document,
        _ => return Err(found.errors),
    };
    let placement = match &document {
        Document::Endpoint(spec) => {
            placement::place(spec.method.as_str(), &spec.path, &spec.doc_url)
                .map_err(|message| vec![page.diagnostic(0, "HTTP URL", message)])?
        }
        Document::Event(spec) => placement::place_event(&spec.event_type)
            .map_err(|message| vec![page.diagnostic(0, event::EVENT_TYPE_ROW, message)])?,
    };
    let overrides_path = spec_dir.join(format!("{}{}", placement.rel_path(), overrides::SUFFIX));
    let (spec, yaml) = match document {
        Document::Endpoint(spec) => {
            let spec = apply_overrides(*spec, &overrides_path)?;
            let yaml = render(&spec, &placement, source_suffix);
            (Document::Endpoint(Box::new(spec)), yaml)
        }
        Document::Event(spec) => {
            let spec = apply_overrides(*spec, &overrides_path)?;
            let yaml = render(&spec, &placement, source_suffix);
            (Document::Event(Box::new(spec)), yaml)
        }
    };
    Ok(Imported {
        page: path.to_path_buf(),
        yaml,
        spec,
        placement,
        source_suffix,
        source: page.text,
        warnings: found.warnings,
    })
}

/// A page's text; a page that cannot be read, is not UTF-8 or is empty is an error that
/// says so (with the line and column of the first byte that is not UTF-8).
fn read_page(path: &Path) -> Result<String, Diagnostic> {
    let fail = |pos, message: String| Diagnostic {
        file: path.to_path_buf(),
        pos,
        field: String::new(),
        message,
    };
    let bytes = feishu_spec::read_limited(path, feishu_spec::MAX_PAGE_BYTES)
        .map_err(|err| fail(None, format!("cannot read the page: {err}")))?;
    let text = String::from_utf8(bytes).map_err(|err| {
        let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count()
            + 1;
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let pos = feishu_spec::Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        };
        let byte = err.as_bytes()[valid.len()];
        fail(
            Some(pos),
            format!("the page is not UTF-8 text (byte 0x{byte:02x} here)"),
        )
    })?;
    if text.trim().is_empty() {
        return Err(fail(None, "the page is empty".to_owned()));
    }
    Ok(text)
}

fn apply_overrides<T: Serialize + DeserializeOwned>(
    spec: T,
    path: &Path,
) -> Result<T, Vec<Diagnostic>> {
    let fail = |message: String| {
        vec![Diagnostic {
            file: path.to_path_buf(),
            pos: None,
            field: String::new(),
            message,
        }]
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(spec),
        Err(err) => return Err(fail(format!("cannot read: {err}"))),
    };
    let list = overrides::parse(&text).map_err(fail)?;
    let mut value = serde_json::to_value(&spec).map_err(|e| fail(e.to_string()))?;
    overrides::apply(&mut value, &list).map_err(fail)?;
    serde_json::from_value(value)
        .map_err(|e| fail(format!("the overridden spec is not valid: {e}")))
}

/// The spec file's text.
fn render<T: Serialize>(spec: &T, placement: &Placement, source_suffix: &str) -> String {
    // Long lines stay whole (folding would break links apart); multi-line text is a `|` block.
    let options = serde_saphyr::ser_options! { prefer_block_scalars: true, min_fold_chars: usize::MAX, folded_wrap_chars: usize::MAX };
    let body = serde_saphyr::to_string_with_options(spec, options)
        .unwrap_or_else(|err| unreachable!("a spec always serializes: {err}"));
    let schema = if placement.event {
        "event.schema.json"
    } else {
        "schema.json"
    };
    format!(
        "# yaml-language-server: $schema=../../../{schema}\n\
         # Imported by `cargo xtask import` from {stem}{source_suffix}; do not edit.\n\
         # Corrections go in {stem}{overrides}, which re-imports apply.\n{body}",
        stem = placement.file_stem(),
        overrides = overrides::SUFFIX,
    )
}

/// What an import run did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Pages read.
    pub pages: usize,
    /// Files written (specs and kept pages), relative to the spec directory.
    pub written: Vec<String>,
    /// Kept pages removed because a page of the other format replaced them.
    pub removed: Vec<String>,
    /// Files whose content was already current.
    pub unchanged: usize,
    pub warnings: Vec<Diagnostic>,
    /// Pages that failed and were left out (only with `keep_going`), with their problems.
    pub skipped: Vec<Skipped>,
    /// Pages of an endpoint that another, more current page documents.
    pub superseded: Vec<batch::Superseded>,
}

/// A page left out of the run, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub page: PathBuf,
    pub problems: Vec<Diagnostic>,
}

impl Outcome {
    /// Pages imported.
    pub fn imported(&self) -> usize {
        self.pages - self.skipped.len() - self.superseded.len()
    }
}

/// The check an import runs over the spec tree as it would leave it, before it writes
/// anything: given the spec directory and the spec files the import would write there
/// (their text by path relative to it, standing in for what is on disk), the tree's
/// problems, naming those files at their places in the directory.
///
/// The importer does not know the generator, so the question "would this tree still
/// generate?" is its caller's: `cargo xtask import` hands in codegen's `generate_with`.
/// [`format_check`] asks only what the spec format itself requires.
pub type TreeCheck = dyn Fn(&Path, &Overlay) -> Result<(), Diagnostics>;

/// A [`TreeCheck`] of the spec format's own rules: the tree loads and validates.
pub fn format_check(spec_dir: &Path, overlay: &Overlay) -> Result<(), Diagnostics> {
    let (spec, diagnostics) = feishu_spec::load_all_with(spec_dir, overlay);
    match feishu_spec::validate_loaded(&spec, diagnostics.is_empty()) {
        Ok(_) => diagnostics.into_result(()),
        Err(mut more) => {
            more.0.extend(diagnostics.0);
            more.into_result(())
        }
    }
}

/// Imports `pages` into `spec_dir`: every page, or (on any error) none, unless
/// `keep_going`, which leaves the failing pages out, including the pages that the
/// tree-wide checks find at fault. The same endpoint on several pages is imported once,
/// from its most current page. The resulting spec tree must pass `check` before anything
/// is written.
pub fn import(
    pages: &[PathBuf],
    spec_dir: &Path,
    keep_going: bool,
    check: &TreeCheck,
) -> Result<Outcome, Vec<Diagnostic>> {
    let mut outcome = Outcome {
        pages: pages.len(),
        ..Outcome::default()
    };
    let mut errors = Vec::new();
    let mut imported = Vec::new();
    for page in pages {
        match import_page(page, spec_dir) {
            Ok(page) => imported.push(page),
            Err(problems) if keep_going => outcome.skipped.push(Skipped {
                page: page.clone(),
                problems,
            }),
            Err(problems) => errors.extend(problems),
        }
    }
    let (mut kept, superseded) = batch::one_page_per_endpoint(imported);
    outcome.superseded = superseded;
    let (collisions, displaced) = batch::placement_collisions(&mut kept);
    outcome.superseded.extend(displaced);
    for collision in collisions {
        if keep_going {
            outcome.skipped.push(Skipped {
                page: collision.file.clone(),
                problems: vec![collision],
            });
        } else {
            errors.push(collision);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let files = loop {
        let files = files_of(&kept);
        let problems = match check_tree(spec_dir, &files, check) {
            Ok(()) => break files,
            Err(problems) if keep_going => problems,
            Err(problems) => return Err(problems),
        };
        let (faults, elsewhere) = batch::pages_at_fault(problems, spec_dir, &kept);
        if faults.is_empty() {
            return Err(elsewhere);
        }
        kept.retain(|page| !faults.contains_key(&page.page));
        outcome.skipped.extend(
            faults
                .into_iter()
                .map(|(page, problems)| Skipped { page, problems }),
        );
    };
    outcome.skipped.sort_by(|a, b| a.page.cmp(&b.page));
    for page in &mut kept {
        outcome.warnings.append(&mut page.warnings);
    }
    for (rel, content) in &files {
        let target = spec_dir.join(rel);
        if std::fs::read(&target).is_ok_and(|old| old == content.as_bytes()) {
            outcome.unchanged += 1;
        } else {
            outcome.written.push(rel.clone());
        }
    }
    outcome.removed = replaced_pages(spec_dir, &kept);
    write_all(spec_dir, &files, &outcome.written, &outcome.removed)?;
    Ok(outcome)
}

/// The files the pages write: each spec and its kept page, relative to the spec directory.
fn files_of(pages: &[Imported]) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for page in pages {
        let rel = page.placement.rel_path();
        files.insert(format!("{rel}.yaml"), page.yaml.clone());
        files.insert(format!("{rel}{}", page.source_suffix), page.source.clone());
    }
    files
}

/// Kept pages of the other format at the places the pages write: a page in the other
/// layout that an import replaces (one endpoint keeps one page).
fn replaced_pages(spec_dir: &Path, pages: &[Imported]) -> Vec<String> {
    let mut replaced = Vec::new();
    for page in pages {
        let rel = page.placement.rel_path();
        for suffix in [SOURCE_MARKDOWN, SOURCE_EXPLORER] {
            let other = format!("{rel}{suffix}");
            if suffix != page.source_suffix && spec_dir.join(&other).is_file() {
                replaced.push(other);
            }
        }
    }
    replaced
}

/// Runs `check` (codegen's loader, checks and generator, from `cargo xtask import`) over
/// the spec tree as it would be after the import, with the new spec files held in memory,
/// so a bad result is reported before anything is written (and nothing is left behind by
/// a run that dies).
fn check_tree(
    spec_dir: &Path,
    files: &BTreeMap<String, String>,
    check: &TreeCheck,
) -> Result<(), Vec<Diagnostic>> {
    let overlay: Overlay = files
        .iter()
        .filter(|(rel, _)| rel.ends_with(".yaml"))
        .map(|(rel, content)| (rel.clone(), content.clone()))
        .collect();
    check(spec_dir, &overlay).map_err(|diagnostics| {
        let mut diagnostics = diagnostics.0;
        for diagnostic in &mut diagnostics {
            // Those files are not on disk: the error is in what the page imports to.
            let rel = diagnostic.file.strip_prefix(spec_dir).ok();
            let rel = rel.map(|rel| rel.to_string_lossy().replace('\\', "/"));
            if rel.is_some_and(|rel| overlay.contains_key(&rel)) {
                diagnostic.message = format!(
                    "in the spec this import would write: {}",
                    diagnostic.message
                );
            }
        }
        diagnostics
    })
}

/// Writes every changed file and removes the replaced pages, all or nothing: a failure
/// part-way puts back what was already replaced and leaves no staging file.
fn write_all(
    spec_dir: &Path,
    files: &BTreeMap<String, String>,
    changed: &[String],
    replaced: &[String],
) -> Result<(), Vec<Diagnostic>> {
    let fail = |file: &Path, err: std::io::Error| {
        vec![Diagnostic {
            file: file.to_path_buf(),
            pos: None,
            field: String::new(),
            message: format!("cannot write: {err}"),
        }]
    };
    // Each file with its content before the run, to put back on failure.
    let read_old = |rel: &String| -> Result<(String, PathBuf, Option<Vec<u8>>), _> {
        let path = spec_dir.join(rel);
        let rel = rel.clone();
        match std::fs::read(&path) {
            Ok(old) => Ok((rel, path, Some(old))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok((rel, path, None)),
            Err(err) => Err(fail(&path, err)),
        }
    };
    let changed = changed
        .iter()
        .map(read_old)
        .collect::<Result<Vec<_>, _>>()?;
    let replaced = replaced
        .iter()
        .map(read_old)
        .collect::<Result<Vec<_>, _>>()?;
    let writes: Vec<Write<'_>> = changed
        .iter()
        .map(|(rel, path, old)| Write {
            path,
            content: files[rel].as_bytes(),
            old: old.as_deref(),
        })
        .collect();
    let removals: Vec<Removal<'_>> = replaced
        .iter()
        .filter_map(|(_, path, old)| old.as_deref().map(|old| Removal { path, old }))
        .collect();
    replace_all(&writes, &removals, "import-tmp").map_err(|(path, err)| fail(&path, err))
}

/// The source pages kept in a spec tree, for `cargo xtask update`.
pub fn kept_pages(spec_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else {
                let name = path.to_string_lossy();
                if name.ends_with(SOURCE_MARKDOWN) || name.ends_with(SOURCE_EXPLORER) {
                    out.push(path);
                }
            }
        }
        Ok(())
    }
    let mut pages = Vec::new();
    walk(spec_dir, &mut pages)?;
    pages.sort();
    Ok(pages)
}
