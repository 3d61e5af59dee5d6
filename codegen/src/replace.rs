//! Replacing a set of files all or nothing, for codegen's output and the importer's spec
//! tree: a run that fails part-way leaves the tree as it found it, and no staging file.

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

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "old a").unwrap();
        std::fs::write(dir.path().join("gone"), "old gone").unwrap();
        dir
    }

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

    #[test]
    fn every_file_is_replaced_and_removed() {
        let dir = tree();
        let (a, b, gone) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("gone"),
        );
        let writes = [
            Write {
                path: &a,
                content: b"new a",
                old: Some(b"old a"),
            },
            Write {
                path: &b,
                content: b"new b",
                old: None,
            },
        ];
        replace_all(
            &writes,
            &[Removal {
                path: &gone,
                old: b"old gone",
            }],
            "tmp",
        )
        .unwrap();
        let expected = [("a", "new a"), ("b", "new b")].map(|(n, c)| (n.to_owned(), c.to_owned()));
        assert_eq!(files(dir.path()), expected);
    }

    #[test]
    fn a_failed_rename_puts_the_tree_back_and_leaves_no_staging_file() {
        let dir = tree();
        let (a, b, c, gone) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
            dir.path().join("gone"),
        );
        // A directory with something in it cannot be replaced by a file.
        std::fs::create_dir_all(c.join("inside")).unwrap();
        let writes = [
            Write {
                path: &a,
                content: b"new a",
                old: Some(b"old a"),
            },
            Write {
                path: &b,
                content: b"new b",
                old: None,
            },
            Write {
                path: &c,
                content: b"new c",
                old: None,
            },
        ];
        let (failed, _) = replace_all(
            &writes,
            &[Removal {
                path: &gone,
                old: b"old gone",
            }],
            "tmp",
        )
        .unwrap_err();
        assert_eq!(failed, c);
        let expected =
            [("a", "old a"), ("gone", "old gone")].map(|(n, c)| (n.to_owned(), c.to_owned()));
        assert_eq!(files(dir.path()), expected);
    }

    #[test]
    fn a_failed_removal_puts_the_tree_back() {
        let dir = tree();
        let (a, gone, missing) = (
            dir.path().join("a"),
            dir.path().join("gone"),
            dir.path().join("missing"),
        );
        let writes = [Write {
            path: &a,
            content: b"new a",
            old: Some(b"old a"),
        }];
        let removals = [
            Removal {
                path: &gone,
                old: b"old gone",
            },
            Removal {
                path: &missing,
                old: b"",
            },
        ];
        let (failed, _) = replace_all(&writes, &removals, "tmp").unwrap_err();
        assert_eq!(failed, missing);
        let expected =
            [("a", "old a"), ("gone", "old gone")].map(|(n, c)| (n.to_owned(), c.to_owned()));
        assert_eq!(files(dir.path()), expected);
    }
}
