//! `cargo xtask import` and `cargo xtask update`: Feishu's doc pages into spec files, with
//! the tree checked by codegen before anything is written. Compiled with the `import`
//! feature only, so that the README's first command, `cargo xtask codegen`, does not build
//! the importer; without it, these commands run xtask again with the feature on.

use std::path::{Path, PathBuf};
use std::time::Instant;

use feishu_spec::{Diagnostics, Overlay};

use crate::{USAGE, root};

pub fn import(args: &[String]) -> Result<(), String> {
    let mut spec_dir = root().join("spec");
    let mut keep_going = false;
    let mut quarantine = false;
    let mut pages = Vec::new();
    let mut roots = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--spec" => spec_dir = iter.next().ok_or("--spec needs a directory")?.into(),
            "--keep-going" => keep_going = true,
            "--quarantine" => quarantine = true,
            flag if flag.starts_with("--") => {
                return Err(format!("import: unknown argument `{flag}`\n\n{USAGE}"));
            }
            dir if Path::new(dir).is_dir() => {
                let found = feishu_import::batch::doc_pages(Path::new(dir))
                    .map_err(|err| format!("{dir}: {err}"))?;
                pages.extend(found);
                roots.push(PathBuf::from(dir));
            }
            page => pages.push(PathBuf::from(page)),
        }
    }
    if pages.is_empty() {
        return Err(format!("import: name at least one page\n\n{USAGE}"));
    }
    let outcome = run_import(&pages, &spec_dir, keep_going)?;
    if quarantine {
        let path = spec_dir.join(feishu_spec::QUARANTINE_FILE);
        let text = feishu_import::quarantine::render(&outcome, &roots, &spec_dir);
        std::fs::write(&path, text).map_err(|err| format!("{}: {err}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The check an import runs before it writes anything: the spec tree as the import would
/// leave it still generates.
fn still_generates(spec_dir: &Path, overlay: &Overlay) -> Result<(), Diagnostics> {
    feishu_codegen::generate_with(spec_dir, overlay).map(drop)
}

fn run_import(
    pages: &[PathBuf],
    spec_dir: &Path,
    keep_going: bool,
) -> Result<feishu_import::Outcome, String> {
    let started = Instant::now();
    let outcome =
        feishu_import::import(pages, spec_dir, keep_going, &still_generates).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|e| format!("error: {e}")).collect();
            format!("{}\nimport: nothing was written", lines.join("\n"))
        })?;
    for warning in &outcome.warnings {
        eprintln!("warning: {warning}");
    }
    for skipped in &outcome.skipped {
        for problem in &skipped.problems {
            eprintln!("skipped: {problem}");
        }
    }
    for superseded in &outcome.superseded {
        eprintln!(
            "superseded: {} documents the same endpoint as {}, which is imported",
            superseded.page.display(),
            superseded.by.display()
        );
    }
    print!("{}", feishu_import::quarantine::summary(&outcome));
    println!(
        "import: {} files written, {} unchanged, {} replaced pages removed in {:.0?}",
        outcome.written.len(),
        outcome.unchanged,
        outcome.removed.len(),
        started.elapsed()
    );
    Ok(outcome)
}

pub fn update(args: &[String]) -> Result<(), String> {
    let spec_dir = match args {
        [] => root().join("spec"),
        [flag, dir] if flag == "--spec" => PathBuf::from(dir),
        _ => return Err(format!("update: unknown arguments {args:?}\n\n{USAGE}")),
    };
    let pages = feishu_import::kept_pages(&spec_dir)
        .map_err(|err| format!("{}: {err}", spec_dir.display()))?;
    run_import(&pages, &spec_dir, false)?;
    let spec_arg = spec_dir.to_string_lossy().into_owned();
    crate::codegen(&["--spec".to_owned(), spec_arg])
}
