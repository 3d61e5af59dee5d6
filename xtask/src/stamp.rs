//! The record of the last `cargo xtask codegen` run, so that a run with nothing to do
//! costs a read of the trees instead of a regeneration: what the spec tree and the
//! generator were, and what the output tree held after the run. The record is kept in
//! cargo's target directory, never in the repository; any difference from it, or no
//! record at all, means a full run. `--check` never trusts it.

use std::collections::BTreeMap;
use std::hash::Hasher;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

/// What a codegen run depends on, and what it left behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    inputs: u64,
    outputs: u64,
}

impl Stamp {
    /// The stamp of a run from `spec` into `out` by this very generator binary. `None`
    /// when a tree cannot be read: the run then goes the long way.
    pub fn of(spec: &Path, out: &Path) -> Option<Stamp> {
        let mut inputs = std::hash::DefaultHasher::new();
        generator_identity(&mut inputs).ok()?;
        // Codegen reads only the spec files; the pages kept beside them do not count.
        hash_tree(spec, &mut inputs, is_spec_file).ok()?;
        Some(Stamp {
            inputs: inputs.finish(),
            outputs: output_hash(out).ok()?,
        })
    }

    /// This stamp's inputs with the output tree as a run into `out` has left it. The
    /// files the run has just written are hashed from `written` (their content by path
    /// from `out`, `/`-separated) instead of being read back; the others are read.
    pub fn after_run(
        self,
        out: &Path,
        written: &BTreeMap<String, String>,
    ) -> Result<Stamp, String> {
        let mut hasher = std::hash::DefaultHasher::new();
        hash_tree_with(
            out,
            &mut hasher,
            |_| true,
            |path| {
                let rel: Vec<_> = path.iter().map(|part| part.to_string_lossy()).collect();
                written.get(&rel.join("/")).map(String::as_bytes)
            },
        )
        .map_err(|err| format!("{}: {err}", out.display()))?;
        Ok(Stamp {
            outputs: hasher.finish(),
            ..self
        })
    }

    /// The stamp recorded after the last run from `spec` into `out`, if any.
    pub fn recorded(spec: &Path, out: &Path) -> Option<Stamp> {
        let text = std::fs::read_to_string(record_path(spec, out)?).ok()?;
        let (inputs, outputs) = text.trim().split_once(' ')?;
        Some(Stamp {
            inputs: u64::from_str_radix(inputs, 16).ok()?,
            outputs: u64::from_str_radix(outputs, 16).ok()?,
        })
    }

    /// Records this stamp for the next run. A record that cannot be written only costs
    /// the next run its shortcut, so the failure is reported, not fatal.
    pub fn record(self, spec: &Path, out: &Path) -> io::Result<()> {
        let path = record_path(spec, out).ok_or_else(|| io::Error::other("no target dir"))?;
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
        // Written aside and renamed, so a run cut short never leaves half a record.
        let partial = path.with_extension("partial");
        std::fs::write(
            &partial,
            format!("{:016x} {:016x}\n", self.inputs, self.outputs),
        )?;
        std::fs::rename(partial, path)
    }

    /// Forgets the record, before a run that may change the output tree.
    pub fn forget(spec: &Path, out: &Path) {
        if let Some(path) = record_path(spec, out) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Where the record of runs from `spec` into `out` is kept: beside the xtask binary, in
/// cargo's target directory, one file per pair of trees.
fn record_path(spec: &Path, out: &Path) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let mut key = std::hash::DefaultHasher::new();
    for tree in [spec, out] {
        let tree = tree.canonicalize().unwrap_or_else(|_| tree.to_owned());
        key.write(tree.as_os_str().as_encoded_bytes());
        key.write_u8(0);
    }
    let name = format!("codegen-{:016x}.stamp", key.finish());
    Some(exe.parent()?.join("xtask-stamps").join(name))
}

/// The generator binary as built: cargo relinks it whenever the generator's code or a
/// dependency changes, which changes its length or its modification time.
fn generator_identity(hasher: &mut impl Hasher) -> io::Result<()> {
    let exe = std::env::current_exe()?;
    let metadata = exe.metadata()?;
    hasher.write(exe.as_os_str().as_encoded_bytes());
    hasher.write_u64(metadata.len());
    let modified = metadata.modified()?;
    let since = modified
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(since.as_nanos());
    Ok(())
}

/// The files the spec loader reads (and the `.yml` files it reports).
fn is_spec_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "yaml" || extension == "yml")
}

/// Every file of the output tree, written by codegen or not.
fn output_hash(out: &Path) -> io::Result<u64> {
    let mut hasher = std::hash::DefaultHasher::new();
    hash_tree(out, &mut hasher, |_| true)?;
    Ok(hasher.finish())
}

/// Every file under `dir` that `counts`, in a fixed order: its path from `dir` and its
/// contents. A tree that does not exist hashes as empty. The files are read and hashed
/// on all cores, each on its own, and their hashes combined in order.
fn hash_tree(dir: &Path, hasher: &mut impl Hasher, counts: fn(&Path) -> bool) -> io::Result<()> {
    hash_tree_with(dir, hasher, counts, |_| None)
}

/// [`hash_tree`], taking the content of the files `known` knows (by path from `dir`)
/// from it rather than from the disk; the tree's hash is the same either way.
fn hash_tree_with<'a>(
    dir: &Path,
    hasher: &mut impl Hasher,
    counts: fn(&Path) -> bool,
    known: impl Fn(&Path) -> Option<&'a [u8]> + Sync,
) -> io::Result<()> {
    let files = list_tree(dir, counts)?;
    let hashes: Vec<io::Result<u64>> = files
        .par_iter()
        .map(|path| {
            let mut file_hasher = std::hash::DefaultHasher::new();
            file_hasher.write(path.as_os_str().as_encoded_bytes());
            file_hasher.write_u8(0);
            let read;
            let contents = match known(path) {
                Some(contents) => contents,
                None => {
                    read = std::fs::read(dir.join(path))?;
                    &read
                }
            };
            file_hasher.write_usize(contents.len());
            file_hasher.write(contents);
            Ok(file_hasher.finish())
        })
        .collect();
    hasher.write_usize(files.len());
    for hash in hashes {
        hasher.write_u64(hash?);
    }
    Ok(())
}

/// The files under `dir` that `counts`, by path from `dir`, in the same order on every
/// run: each directory's files sorted by name, then its subdirectories, deepest first.
fn list_tree(dir: &Path, counts: fn(&Path) -> bool) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let entries = match std::fs::read_dir(dir.join(&relative)) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        let mut names: Vec<_> = entries
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort();
        for name in names {
            let path = relative.join(&name);
            let kind = std::fs::symlink_metadata(dir.join(&path))?.file_type();
            if kind.is_dir() {
                pending.push(path);
            } else if counts(&path) {
                files.push(path);
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(dir: &Path) -> u64 {
        output_hash(dir).unwrap()
    }

    #[test]
    fn a_tree_hash_changes_with_any_file_name_or_byte() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/x.yaml"), "x: 1\n").unwrap();
        std::fs::write(dir.path().join("y.yaml"), "y: 1\n").unwrap();
        let before = hash(dir.path());
        assert_eq!(before, hash(dir.path()), "the same tree, the same hash");

        std::fs::write(dir.path().join("a/b/x.yaml"), "x: 2\n").unwrap();
        let edited = hash(dir.path());
        assert_ne!(before, edited);

        std::fs::write(dir.path().join("a/b/z.yaml"), "").unwrap();
        let added = hash(dir.path());
        assert_ne!(edited, added, "an empty new file counts");

        std::fs::rename(dir.path().join("a/b/z.yaml"), dir.path().join("a/z.yaml")).unwrap();
        assert_ne!(added, hash(dir.path()), "a moved file counts");
    }

    #[test]
    fn only_spec_files_count_among_the_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let spec_hash = || {
            let mut hasher = std::hash::DefaultHasher::new();
            hash_tree(dir.path(), &mut hasher, is_spec_file).unwrap();
            hasher.finish()
        };
        std::fs::write(dir.path().join("get.yaml"), "x: 1\n").unwrap();
        let before = spec_hash();
        std::fs::write(dir.path().join("get.source.md"), "# a page").unwrap();
        assert_eq!(before, spec_hash(), "a page beside the spec does not count");
        std::fs::write(dir.path().join("get.yaml"), "x: 2\n").unwrap();
        assert_ne!(before, spec_hash());
    }

    #[test]
    fn files_just_written_hash_as_if_read_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src/v1")).unwrap();
        std::fs::write(dir.path().join("src/v1/a.rs"), "// a\n").unwrap();
        std::fs::write(dir.path().join("lib.rs"), "// hand-written\n").unwrap();
        let (spec, out) = (dir.path().join("spec"), dir.path());
        let stamp = Stamp::of(&spec, out).unwrap();
        let written = BTreeMap::from([("src/v1/a.rs".to_owned(), "// a\n".to_owned())]);
        let after = stamp.after_run(out, &written).unwrap();
        assert_eq!(after.outputs, hash(out));

        let stale = BTreeMap::from([("src/v1/a.rs".to_owned(), "// b\n".to_owned())]);
        let wrong = stamp.after_run(out, &stale).unwrap();
        assert_ne!(
            wrong.outputs,
            hash(out),
            "the content given is what is hashed"
        );
    }

    #[test]
    fn a_missing_tree_hashes_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(hash(&dir.path().join("missing")), hash(dir.path()));
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let (spec, out) = (dir.path().join("spec"), dir.path().join("out"));
        let stamp = Stamp::of(&spec, &out).unwrap();
        stamp.record(&spec, &out).unwrap();
        assert_eq!(Stamp::recorded(&spec, &out), Some(stamp));
        Stamp::forget(&spec, &out);
        assert_eq!(Stamp::recorded(&spec, &out), None);
    }
}
