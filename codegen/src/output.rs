//! Bringing an output directory in line with the generated files.
//!
//! The rules: a file is rewritten only when its content changed (so its mtime, and
//! cargo's rebuild, follow real changes); only files that start with [`HEADER`] are ever
//! rewritten or removed; and all new content is staged before anything is replaced, so a
//! failed run leaves the old output whole.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::emit::{API_DIR, GeneratedFiles, HEADER};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Create(PathBuf),
    Update(PathBuf),
    /// A generated file the spec no longer produces.
    Remove(PathBuf),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Create(path) => write!(f, "missing: {}", path.display()),
            Change::Update(path) => write!(f, "stale:   {}", path.display()),
            Change::Remove(path) => write!(f, "orphan:  {}", path.display()),
        }
    }
}

/// What it takes to bring `out_dir` up to date.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// New content for each created or updated file.
    contents: Vec<(PathBuf, String)>,
    pub unchanged: usize,
}

#[derive(Debug)]
pub enum OutputError {
    /// A file codegen would write exists but was not generated.
    HandWritten(PathBuf),
    Io(PathBuf, io::Error),
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputError::HandWritten(path) => write!(
                f,
                "{}: codegen would overwrite this file, but it does not start with the generated \
                 header, so it is hand-written; move it away or rename the module",
                path.display()
            ),
            OutputError::Io(path, err) => write!(f, "{}: {err}", path.display()),
        }
    }
}

impl std::error::Error for OutputError {}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |err| OutputError::Io(path.to_path_buf(), err)
}

pub fn plan(out_dir: &Path, generated: &GeneratedFiles) -> Result<Plan, OutputError> {
    let mut plan = Plan::default();
    for (rel, content) in &generated.files {
        let path = out_dir.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(existing) if &existing == content => plan.unchanged += 1,
            Ok(existing) if !existing.starts_with(HEADER) => {
                return Err(OutputError::HandWritten(path));
            }
            Ok(_) => {
                plan.changes.push(Change::Update(path.clone()));
                plan.contents.push((path, content.clone()));
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                plan.changes.push(Change::Create(path.clone()));
                plan.contents.push((path, content.clone()));
            }
            Err(err) if err.kind() == io::ErrorKind::InvalidData => {
                return Err(OutputError::HandWritten(path));
            }
            Err(err) => return Err(OutputError::Io(path, err)),
        }
    }
    let mut existing = Vec::new();
    let api_dir = out_dir.join(API_DIR);
    if api_dir.is_dir() {
        walk(&api_dir, &mut existing)?;
    }
    existing.sort();
    for path in existing {
        let rel = path.strip_prefix(out_dir).unwrap_or(&path);
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if generated.files.contains_key(&rel) {
            continue;
        }
        // Files without the header are someone's own; they are left alone.
        if std::fs::read_to_string(&path).is_ok_and(|text| text.starts_with(HEADER)) {
            plan.changes.push(Change::Remove(path));
        }
    }
    Ok(plan)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), OutputError> {
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let path = entry.path();
        if entry.file_type().map_err(io_err(&path))?.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

impl Plan {
    pub fn is_up_to_date(&self) -> bool {
        self.changes.is_empty()
    }

    /// Carries the plan out: stages every new file beside its target, then renames them
    /// into place, then removes orphans and the directories they leave empty.
    pub fn apply(&self) -> Result<(), OutputError> {
        let mut staged = Vec::new();
        let result = self.stage(&mut staged);
        if let Err(err) = result {
            for (tmp, _) in &staged {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(err);
        }
        for (tmp, path) in &staged {
            std::fs::rename(tmp, path).map_err(io_err(path))?;
        }
        for change in &self.changes {
            if let Change::Remove(path) = change {
                std::fs::remove_file(path).map_err(io_err(path))?;
                let mut dir = path.parent();
                while let Some(d) = dir {
                    if std::fs::remove_dir(d).is_err() {
                        break;
                    }
                    dir = d.parent();
                }
            }
        }
        Ok(())
    }

    fn stage(&self, staged: &mut Vec<(PathBuf, PathBuf)>) -> Result<(), OutputError> {
        for (path, content) in &self.contents {
            let dir = path.parent().expect("files are below the output dir");
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            let tmp = path.with_extension("rs.codegen-tmp");
            std::fs::write(&tmp, content).map_err(io_err(&tmp))?;
            staged.push((tmp, path.clone()));
        }
        Ok(())
    }
}
