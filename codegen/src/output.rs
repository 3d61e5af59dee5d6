//! Bringing an output directory in line with the generated files.
//!
//! The rules: a file is rewritten only when its content changed (so its mtime, and
//! cargo's rebuild, follow real changes); only files that start with the generated header
//! ([`HEADER`](crate::emit::HEADER), or [`TOML_HEADER`](crate::emit::TOML_HEADER) for TOML) are ever rewritten or removed; and all new content is staged before anything is replaced, and
//! put back if replacing fails, so a failed run leaves the old output whole.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use feishu_spec::replace::{Removal, Write, replace_all};

use crate::emit::{GENERATED_DIRS, GeneratedFiles, is_generated};

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
    /// Where generated files live; emptied directories are removed up to these.
    generated_dirs: Vec<PathBuf>,
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
    let generated_dirs: Vec<PathBuf> = GENERATED_DIRS.iter().map(|d| out_dir.join(d)).collect();
    let mut plan = Plan {
        generated_dirs: generated_dirs.clone(),
        ..Plan::default()
    };
    for (rel, content) in &generated.files {
        let path = out_dir.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(existing) if &existing == content => plan.unchanged += 1,
            Ok(existing) if !is_generated(&existing) => {
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
    let mut existing = Vec::new();
    for dir in generated_dirs.iter().filter(|d| d.is_dir()) {
        walk(dir, &mut existing)?;
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
        if std::fs::read_to_string(&path).is_ok_and(|text| is_generated(&text)) {
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

    /// Carries the plan out, all or nothing ([`replace_all`]): stages every new file beside
    /// its target, renames them into place and removes the orphans; then removes the
    /// directories the orphans leave empty. If anything fails, the files already replaced
    /// or removed get their old content back.
    pub fn apply(&self) -> Result<(), OutputError> {
        let writes: Vec<Write<'_>> = self
            .contents
            .iter()
            .map(|(path, content, old)| Write {
                path,
                content: content.as_bytes(),
                old: old.as_deref().map(str::as_bytes),
            })
            .collect();
        let orphans = self
            .changes
            .iter()
            .filter_map(|change| match change {
                Change::Remove(path) => Some(path),
                _ => None,
            })
            .map(|path| {
                std::fs::read(path)
                    .map(|old| (path, old))
                    .map_err(io_err(path))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let removals: Vec<Removal<'_>> = orphans
            .iter()
            .map(|(path, old)| Removal { path, old })
            .collect();
        replace_all(&writes, &removals, "codegen-tmp")
            .map_err(|(path, err)| OutputError::Io(path, err))?;
        for (path, _) in &orphans {
            let mut dir = path.parent();
            while let Some(d) = dir.filter(|d| {
                self.generated_dirs
                    .iter()
                    .any(|root| d.starts_with(root) && d != root)
            }) {
                if std::fs::remove_dir(d).is_err() {
                    break;
                }
                dir = d.parent();
            }
        }
        Ok(())
    }
}

/// The generated `feishu` crate's directory in a workspace (the project's, or one that
/// [`scaffold_workspace`] made).
pub const GENERATED_DIR: &str = "generated";

/// The hand-written runtime crate's directory in a workspace; the generated manifests
/// name it as `../runtime` (from the `feishu` crate) and `../../../runtime` (from a
/// service crate).
pub const RUNTIME_DIR: &str = "runtime";

/// Starts a workspace outside the project's, laid out like it, for a generated tree:
/// `dest/Cargo.toml` (a workspace of the runtime, the `feishu` crate in
/// [`GENERATED_DIR`] and its service crates), a copy of the `runtime` crate, and
/// `lock_file` copied beside it, so the tree builds offline with the project's versions.
/// `rustflags` (e.g. `-D warnings`) go into the workspace's `.cargo/config.toml`, so they
/// reach the service crates. Codegen then writes into `dest/generated`.
pub fn scaffold_workspace(
    runtime: &Path,
    lock_file: &Path,
    dest: &Path,
    rustflags: &[&str],
) -> io::Result<()> {
    std::fs::create_dir_all(dest)?;
    std::fs::write(
        dest.join("Cargo.toml"),
        format!(
            "# A workspace for a generated `feishu` crate, laid out like the project's.\n\
             [workspace]\nresolver = \"3\"\n\
             members = [\"{RUNTIME_DIR}\", \"{GENERATED_DIR}\", \"{GENERATED_DIR}/{}/*\"]\n",
            crate::emit::SERVICES_DIR
        ),
    )?;
    copy_tree(runtime, &dest.join(RUNTIME_DIR))?;
    std::fs::copy(lock_file, dest.join("Cargo.lock"))?;
    if !rustflags.is_empty() {
        let flags: Vec<String> = rustflags.iter().map(|f| format!("{f:?}")).collect();
        std::fs::create_dir_all(dest.join(".cargo"))?;
        std::fs::write(
            dest.join(".cargo/config.toml"),
            format!("[build]\nrustflags = [{}]\n", flags.join(", ")),
        )?;
    }
    Ok(())
}

/// Copies the files under `from` to `to`.
fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::create_dir_all(to)?;
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
