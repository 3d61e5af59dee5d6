//! The docs importer: Feishu doc pages in, endpoint spec files out.

pub mod batch;
pub mod cell;
pub mod doc_type;
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

use feishu_codegen::diagnostic::Diagnostic;
use feishu_codegen::spec::model::EndpointSpec;

use markdown::Findings;
use page::Page;
use placement::Placement;

/// The suffix of the source pages kept beside their specs, by page format.
pub const SOURCE_MARKDOWN: &str = ".source.md";
pub const SOURCE_EXPLORER: &str = ".source.txt";

/// One page, read: where its spec goes, the spec file's text and the page to keep.
#[derive(Debug)]
pub struct Imported {
    pub page: PathBuf,
    pub placement: Placement,
    /// The spec, overrides applied.
    pub spec: EndpointSpec,
    /// The spec file's text (YAML).
    pub yaml: String,
    /// The source page's file name suffix (`.source.md` or `.source.txt`).
    pub source_suffix: &'static str,
    pub source: String,
    pub warnings: Vec<Diagnostic>,
}

/// Reads one page and builds its spec, applying the overrides kept in `spec_dir`.
pub fn import_page(path: &Path, spec_dir: &Path) -> Result<Imported, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        vec![Diagnostic {
            file: path.to_path_buf(),
            pos: None,
            field: String::new(),
            message: format!("cannot read the page: {err}"),
        }]
    })?;
    let page = Page::new(path, text);
    let mut found = Findings::default();
    let (spec, source_suffix) = match page::outline(&page) {
        Ok(Some((front, sections))) => (
            markdown::import(&page, front, &sections, &mut found),
            SOURCE_MARKDOWN,
        ),
        Ok(None) => (explorer::import(&page, &mut found), SOURCE_EXPLORER),
        Err(diagnostic) => return Err(vec![diagnostic]),
    };
    for error in &mut found.errors {
        if error.file.as_os_str().is_empty() {
            error.file = page.path.clone();
        }
    }
    let spec = match spec {
        Some(spec) if found.errors.is_empty() => spec,
        _ => return Err(found.errors),
    };
    let placement = placement::place(spec.method.as_str(), &spec.path, &spec.doc_url)
        .map_err(|message| vec![page.diagnostic(0, "HTTP URL", message)])?;
    let overrides_path = spec_dir.join(format!("{}{}", placement.rel_path(), overrides::SUFFIX));
    let spec = apply_overrides(spec, &overrides_path)?;
    Ok(Imported {
        page: path.to_path_buf(),
        yaml: render(&spec, &placement, source_suffix),
        spec,
        placement,
        source_suffix,
        source: page.text,
        warnings: found.warnings,
    })
}

fn apply_overrides(spec: EndpointSpec, path: &Path) -> Result<EndpointSpec, Vec<Diagnostic>> {
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
fn render(spec: &EndpointSpec, placement: &Placement, source_suffix: &str) -> String {
    // Long lines stay whole (folding would break links apart); multi-line text is a `|` block.
    let options = serde_saphyr::ser_options! { prefer_block_scalars: true, min_fold_chars: usize::MAX, folded_wrap_chars: usize::MAX };
    let body = serde_saphyr::to_string_with_options(spec, options)
        .unwrap_or_else(|err| unreachable!("a spec always serializes: {err}"));
    format!(
        "# yaml-language-server: $schema=../../../schema.json\n\
         # Imported by `cargo xtask import` from {method}{source_suffix}; do not edit.\n\
         # Corrections go in {method}{overrides}, which re-imports apply.\n{body}",
        method = placement.method,
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

/// Imports `pages` into `spec_dir`: every page, or (on any error) none, unless
/// `keep_going`, which leaves the failing pages out, including the pages that the
/// tree-wide checks find at fault. The same endpoint on several pages is imported once,
/// from its most current page. The resulting spec tree must pass codegen's checks before
/// anything is written.
pub fn import(
    pages: &[PathBuf],
    spec_dir: &Path,
    keep_going: bool,
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
        let problems = match check_tree(spec_dir, &files) {
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

/// Runs codegen's loader, checks and generator over the spec tree as it would be after the
/// import, in a scratch copy, so a bad result is reported before anything is written.
fn check_tree(spec_dir: &Path, files: &BTreeMap<String, String>) -> Result<(), Vec<Diagnostic>> {
    // One scratch tree per check: imports may run on several threads of one process.
    static CHECKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let check = CHECKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let scratch =
        std::env::temp_dir().join(format!("feishu-import-{}-{check}", std::process::id()));
    let io = |err: std::io::Error| {
        vec![Diagnostic {
            file: scratch.clone(),
            pos: None,
            field: String::new(),
            message: format!("cannot prepare the check: {err}"),
        }]
    };
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(io)?;
    if spec_dir.is_dir() {
        copy_yaml(spec_dir, &scratch).map_err(io)?;
    }
    for (rel, content) in files.iter().filter(|(rel, _)| rel.ends_with(".yaml")) {
        let target = scratch.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&target, content).map_err(io)?;
    }
    let result = feishu_codegen::generate(&scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result.map(drop).map_err(|diagnostics| {
        diagnostics
            .0
            .into_iter()
            .map(|mut d| {
                if let Ok(rel) = d.file.strip_prefix(&scratch) {
                    d.file = spec_dir.join(rel);
                }
                // Messages that point at another file name the real tree, not the scratch copy.
                let scratch_text = format!("{}/", scratch.display());
                d.message = d
                    .message
                    .replace(&scratch_text, &format!("{}/", spec_dir.display()));
                d
            })
            .collect()
    })
}

fn copy_yaml(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_yaml(&path, &target)?;
        } else if path.extension().is_some_and(|e| e == "yaml")
            && !path.to_string_lossy().ends_with(overrides::SUFFIX)
        {
            std::fs::copy(&path, &target)?;
        }
    }
    Ok(())
}

/// Writes every changed file beside its target first, then renames them all into place,
/// then removes the replaced files.
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
    let mut staged = Vec::new();
    for rel in changed {
        let target = spec_dir.join(rel);
        let temp = target.with_extension("import-tmp");
        let content = &files[rel];
        let result = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&temp, content));
        if let Err(err) = result {
            for (temp, _) in &staged {
                let _ = std::fs::remove_file(temp);
            }
            return Err(fail(&target, err));
        }
        staged.push((temp, target));
    }
    for (temp, target) in &staged {
        std::fs::rename(temp, target).map_err(|err| fail(target, err))?;
    }
    for rel in replaced {
        let target = spec_dir.join(rel);
        std::fs::remove_file(&target).map_err(|err| fail(&target, err))?;
    }
    Ok(())
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
