//! Replacing a set of files all or nothing: a run that fails part-way leaves the tree as
//! it found it, and no staging file. Both writers of trees use it: the importer for the
//! spec tree, and codegen for its output.

use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

/// A file to put in place: its new content, and its content before (None: it is new).
pub struct Write<'a> {
    pub path: &'a Path,
    pub content: &'a [u8],
    pub old: Option<&'a [u8]>,
}

/// A file to remove, with its content, to put back if the run fails.
pub struct Removal<'a> {
    pub path: &'a Path,
    pub old: &'a [u8],
}

/// Writes every file and removes every removal, all or nothing. Each new content is first
/// staged beside its target as `<name>.<staging_suffix>` (on all cores), then renamed in;
/// when staging, a rename or a removal fails, the staged files are removed and every file
/// already replaced or removed gets its old content back. The error names the file that
/// failed.
pub fn replace_all(
    writes: &[Write<'_>],
    removals: &[Removal<'_>],
    staging_suffix: &str,
) -> Result<(), (PathBuf, io::Error)> {
    let staged = stage(writes, staging_suffix)?;
    for (done, (write, temp)) in writes.iter().zip(&staged).enumerate() {
        if let Err(err) = std::fs::rename(temp, write.path) {
            restore(&writes[..done], &[]);
            for temp in &staged[done..] {
                let _ = std::fs::remove_file(temp);
            }
            return Err((write.path.to_path_buf(), err));
        }
    }
    for (done, removal) in removals.iter().enumerate() {
        if let Err(err) = std::fs::remove_file(removal.path) {
            restore(writes, &removals[..done]);
            return Err((removal.path.to_path_buf(), err));
        }
    }
    Ok(())
}

/// Writes each content beside its target; on failure, removes what it wrote.
fn stage(writes: &[Write<'_>], suffix: &str) -> Result<Vec<PathBuf>, (PathBuf, io::Error)> {
    let results: Vec<Result<PathBuf, (PathBuf, io::Error)>> = writes
        .par_iter()
        .map(|write| {
            let mut temp = write.path.as_os_str().to_owned();
            temp.push(".");
            temp.push(suffix);
            let temp = PathBuf::from(temp);
            let written = write
                .path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&temp, write.content));
            match written {
                Ok(()) => Ok(temp),
                Err(err) => {
                    // A write that fails half-way leaves a file behind.
                    let _ = std::fs::remove_file(&temp);
                    Err((write.path.to_path_buf(), err))
                }
            }
        })
        .collect();
    let (staged, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let staged: Vec<PathBuf> = staged.into_iter().filter_map(Result::ok).collect();
    match failed.into_iter().find_map(Result::err) {
        None => Ok(staged),
        Some(error) => {
            for temp in &staged {
                let _ = std::fs::remove_file(temp);
            }
            Err(error)
        }
    }
}

/// Best effort: the failure that called for it is the error reported.
fn restore(written: &[Write<'_>], removed: &[Removal<'_>]) {
    for write in written {
        let _ = match write.old {
            Some(old) => std::fs::write(write.path, old),
            None => std::fs::remove_file(write.path),
        };
    }
    for removal in removed {
        let _ = std::fs::write(removal.path, removal.old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory holding `a` and `gone`, and the paths of `names` in it.
    fn tree(names: [&str; 4]) -> (tempfile::TempDir, [PathBuf; 4]) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "old a").unwrap();
        std::fs::write(dir.path().join("gone"), "old gone").unwrap();
        let paths = names.map(|name| dir.path().join(name));
        (dir, paths)
    }

    fn write<'a>(path: &'a Path, content: &'a str, old: Option<&'a str>) -> Write<'a> {
        let (content, old) = (content.as_bytes(), old.map(str::as_bytes));
        Write { path, content, old }
    }

    fn removal<'a>(path: &'a Path, old: &'a str) -> Removal<'a> {
        let old = old.as_bytes();
        Removal { path, old }
    }

    /// The files of `dir` and their contents, by name.
    fn files(dir: &Path) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&p).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    fn named(files: &[(&str, &str)]) -> Vec<(String, String)> {
        let owned = |(name, content): &(&str, &str)| (name.to_string(), content.to_string());
        files.iter().map(owned).collect()
    }

    #[test]
    fn every_file_is_replaced_and_removed() {
        let (dir, [a, b, gone, _]) = tree(["a", "b", "gone", "unused"]);
        let writes = [write(&a, "new a", Some("old a")), write(&b, "new b", None)];
        replace_all(&writes, &[removal(&gone, "old gone")], "tmp").unwrap();
        assert_eq!(files(dir.path()), named(&[("a", "new a"), ("b", "new b")]));
    }

    #[test]
    fn a_failed_rename_puts_the_tree_back_and_leaves_no_staging_file() {
        let (dir, [a, b, c, gone]) = tree(["a", "b", "c", "gone"]);
        // A directory with something in it cannot be replaced by a file.
        std::fs::create_dir_all(c.join("inside")).unwrap();
        let writes = [
            write(&a, "new a", Some("old a")),
            write(&b, "new b", None),
            write(&c, "new c", None),
        ];
        let (failed, _) = replace_all(&writes, &[removal(&gone, "old gone")], "tmp").unwrap_err();
        assert_eq!(failed, c);
        let before = named(&[("a", "old a"), ("gone", "old gone")]);
        assert_eq!(files(dir.path()), before);
    }

    #[test]
    fn a_failed_removal_puts_the_tree_back() {
        let (dir, [a, gone, missing, _]) = tree(["a", "gone", "missing", "unused"]);
        let writes = [write(&a, "new a", Some("old a"))];
        let removals = [removal(&gone, "old gone"), removal(&missing, "")];
        let (failed, _) = replace_all(&writes, &removals, "tmp").unwrap_err();
        assert_eq!(failed, missing);
        let before = named(&[("a", "old a"), ("gone", "old gone")]);
        assert_eq!(files(dir.path()), before);
    }
}
