//! Bringing an output directory in line with the generated files.
//!
//! The rules: a file is rewritten only when its content changed (so its mtime, and
//! cargo's rebuild, follow real changes); only files that start with [`HEADER`] are ever
//! rewritten or removed; and all new content is staged before anything is replaced, and
//! put back if replacing fails, so a failed run leaves the old output whole.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::emit::{API_DIR, GeneratedFiles, HEADER, REGION_BEGIN, REGION_END};

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
    /// Each created or updated file: its new content, and its old one (None if new), so a
    /// failed apply can put things back.
    contents: Vec<(PathBuf, String, Option<String>)>,
    /// Where generated modules live; emptied directories are removed up to here.
    api_dir: PathBuf,
    pub unchanged: usize,
}

#[derive(Debug)]
pub enum OutputError {
    /// A file codegen would write exists but was not generated.
    HandWritten(PathBuf),
    /// A hand-written file that should hold a generated region lacks its marker lines.
    NoRegion(PathBuf),
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
            OutputError::NoRegion(path) => write!(
                f,
                "{}: codegen writes the service features between the lines `{REGION_BEGIN}` \
                 and `{REGION_END}`, and this file lacks them; add them (in its [features] \
                 table) and run codegen again",
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
    let api_dir = out_dir.join(API_DIR);
    let mut plan = Plan {
        api_dir: api_dir.clone(),
        ..Plan::default()
    };
    for (rel, content) in &generated.files {
        let path = out_dir.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(existing) if &existing == content => plan.unchanged += 1,
            Ok(existing) if !existing.starts_with(HEADER) => {
                return Err(OutputError::HandWritten(path));
            }
            Ok(existing) => {
                plan.changes.push(Change::Update(path.clone()));
                plan.contents.push((path, content.clone(), Some(existing)));
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                plan.changes.push(Change::Create(path.clone()));
                plan.contents.push((path, content.clone(), None));
            }
            Err(err) if err.kind() == io::ErrorKind::InvalidData => {
                return Err(OutputError::HandWritten(path));
            }
            Err(err) => return Err(OutputError::Io(path, err)),
        }
    }
    for (rel, region) in &generated.regions {
        let path = out_dir.join(rel);
        let existing = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        let content =
            with_region(&existing, region).ok_or_else(|| OutputError::NoRegion(path.clone()))?;
        if content == existing {
            plan.unchanged += 1;
        } else {
            plan.changes.push(Change::Update(path.clone()));
            plan.contents.push((path, content, Some(existing)));
        }
    }
    let mut existing = Vec::new();
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

/// `text` with the lines between its region markers replaced by `region`; None when it
/// lacks the markers.
fn with_region(text: &str, region: &str) -> Option<String> {
    let begin = text.find(REGION_BEGIN)?;
    let body = begin + text[begin..].find('\n')? + 1;
    let end = body + text[body..].find(REGION_END)?;
    let at_line_start = |at: usize| at == 0 || text[..at].ends_with('\n');
    if !at_line_start(begin) || !at_line_start(end) {
        return None;
    }
    Some(format!("{}{region}{}", &text[..body], &text[end..]))
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
    /// into place, then removes orphans and the directories they leave empty. If staging
    /// or a rename fails, the files already replaced get their old content back.
    pub fn apply(&self) -> Result<(), OutputError> {
        let mut staged = Vec::new();
        if let Err(err) = self.stage(&mut staged) {
            for tmp in &staged {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(err);
        }
        for (i, ((path, _, _), tmp)) in self.contents.iter().zip(&staged).enumerate() {
            if let Err(err) = std::fs::rename(tmp, path) {
                self.roll_back(&self.contents[..i]);
                for tmp in &staged[i..] {
                    let _ = std::fs::remove_file(tmp);
                }
                return Err(OutputError::Io(path.clone(), err));
            }
        }
        for change in &self.changes {
            if let Change::Remove(path) = change {
                std::fs::remove_file(path).map_err(io_err(path))?;
                let mut dir = path.parent();
                while let Some(d) =
                    dir.filter(|d| d.starts_with(&self.api_dir) && *d != self.api_dir)
                {
                    if std::fs::remove_dir(d).is_err() {
                        break;
                    }
                    dir = d.parent();
                }
            }
        }
        Ok(())
    }

    /// Best effort: the failure that called for it is the error reported.
    fn roll_back(&self, replaced: &[(PathBuf, String, Option<String>)]) {
        for (path, _, old) in replaced {
            let _ = match old {
                Some(old) => std::fs::write(path, old),
                None => std::fs::remove_file(path),
            };
        }
    }

    /// Writes each new content to a temporary file beside its target.
    fn stage(&self, staged: &mut Vec<PathBuf>) -> Result<(), OutputError> {
        for (path, content, _) in &self.contents {
            let dir = path.parent().expect("files are below the output dir");
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            let mut tmp = path.clone().into_os_string();
            tmp.push(".codegen-tmp");
            let tmp = PathBuf::from(tmp);
            std::fs::write(&tmp, content).map_err(io_err(&tmp))?;
            staged.push(tmp);
        }
        Ok(())
    }
}

/// Starts an output crate outside the workspace from the hand-written parts of the crate in
/// `template` (its manifest, `src/lib.rs` and `src/runtime/`): the manifest becomes its own
/// workspace root and `lock_file` is copied beside it, so it builds offline with the
/// workspace's versions. `lib_prelude` goes before lib.rs (e.g. `#![deny(warnings)]`).
pub fn scaffold_crate(
    template: &Path,
    lock_file: &Path,
    dest: &Path,
    lib_prelude: &str,
) -> io::Result<()> {
    std::fs::create_dir_all(dest.join("src/runtime"))?;
    let manifest = std::fs::read_to_string(template.join("Cargo.toml"))?;
    std::fs::write(
        dest.join("Cargo.toml"),
        format!("{manifest}\n[workspace]\n"),
    )?;
    let lib = std::fs::read_to_string(template.join("src/lib.rs"))?;
    std::fs::write(dest.join("src/lib.rs"), format!("{lib_prelude}{lib}"))?;
    for entry in std::fs::read_dir(template.join("src/runtime"))? {
        let entry = entry?;
        std::fs::copy(
            entry.path(),
            dest.join("src/runtime").join(entry.file_name()),
        )?;
    }
    std::fs::copy(lock_file, dest.join("Cargo.lock"))?;
    Ok(())
}
