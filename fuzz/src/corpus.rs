//! The seed corpus: real pages of every layout and real spec files, which the fuzzer
//! mutates.

use std::io;
use std::path::{Path, PathBuf};

/// A real page: where it came from, and its text.
#[derive(Clone, Debug)]
pub struct Page {
    pub origin: PathBuf,
    /// The layouts its collection holds, for the report: `spec/` (the pages kept beside
    /// the specs), `seeds+corpus` (the seeds' markdown and API-explorer layouts) or
    /// `feishu-docs` (the mirror layout).
    pub collection: &'static str,
    pub text: String,
}

/// A real spec file: its place in the spec tree, its text, and its version's shared types
/// file (place and text), which it may refer to.
#[derive(Clone, Debug)]
pub struct Spec {
    pub rel: String,
    pub text: String,
    pub shared: Option<(String, String)>,
}

#[derive(Clone, Debug, Default)]
pub struct Corpus {
    pub pages: Vec<Page>,
    pub specs: Vec<Spec>,
}

impl Corpus {
    /// The page a case's seed number stands for: the collections take turns, so the
    /// 45 pages of the seeds' layouts are mutated as often as the 1,800 of the mirror.
    pub fn page(&self, seed: usize) -> &Page {
        let collections = collections(&self.pages);
        let (start, end) = collections[seed % collections.len()];
        &self.pages[start + (seed / collections.len()) % (end - start)]
    }

    /// The pages and specs kept in `spec_dir` (every layout the project imported), and the
    /// pages of `shared` when it is there: `seeds/`, `corpus/` and `feishu-docs/`.
    pub fn load(spec_dir: &Path, shared: Option<&Path>) -> io::Result<Corpus> {
        let mut corpus = Corpus::default();
        for path in files_under(spec_dir)? {
            let name = path.to_string_lossy();
            if name.ends_with(".source.md") || name.ends_with(".source.txt") {
                corpus.pages.push(read_page(path, "spec/")?);
            } else if is_endpoint_spec(spec_dir, &path) {
                corpus.specs.push(read_spec(spec_dir, &path)?);
            }
        }
        if let Some(shared) = shared {
            for dir in ["seeds", "corpus", "feishu-docs"] {
                let collection = if dir == "feishu-docs" {
                    dir
                } else {
                    "seeds+corpus"
                };
                for path in files_under(&shared.join(dir))? {
                    let extension = path.extension().and_then(|e| e.to_str());
                    if matches!(extension, Some("md" | "txt")) {
                        corpus.pages.push(read_page(path, collection)?);
                    }
                }
            }
        }
        Ok(corpus)
    }
}

/// The runs of pages of one collection, as (start, end) indexes; the pages are read one
/// collection after another.
fn collections(pages: &[Page]) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (index, page) in pages.iter().enumerate() {
        match runs.last_mut() {
            Some((start, end)) if pages[*start].collection == page.collection => *end = index + 1,
            _ => runs.push((index, index + 1)),
        }
    }
    runs
}

fn read_page(origin: PathBuf, collection: &'static str) -> io::Result<Page> {
    let bytes = std::fs::read(&origin)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(Page {
        origin,
        collection,
        text,
    })
}

/// `<service>/<version>/<resource>/<method>.yaml`: not shared types, overrides or the
/// quarantine.
fn is_endpoint_spec(spec_dir: &Path, path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let depth = path
        .strip_prefix(spec_dir)
        .map_or(0, |rel| rel.components().count());
    depth == 4 && name.ends_with(".yaml") && !name.ends_with(".overrides.yaml")
}

fn read_spec(spec_dir: &Path, path: &Path) -> io::Result<Spec> {
    let rel = path
        .strip_prefix(spec_dir)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let text = std::fs::read_to_string(path)?;
    let version_dir = path.parent().and_then(Path::parent);
    let shared = version_dir
        .map(|dir| dir.join("_types.yaml"))
        .filter(|types| types.is_file())
        .map(|types| -> io::Result<(String, String)> {
            let rel = types.strip_prefix(spec_dir).unwrap_or(&types);
            let rel = rel.to_string_lossy().replace('\\', "/");
            Ok((rel, std::fs::read_to_string(&types)?))
        })
        .transpose()?;
    Ok(Spec { rel, text, shared })
}

/// Every file under `dir`, in path order; none when `dir` is absent.
fn files_under(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}
