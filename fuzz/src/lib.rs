//! Fuzzing the importer and the generator with mutated real inputs.
//!
//! Two targets, fed by proptest from a seed corpus of real pages and specs:
//! - **page**: a mutated page (any of the three layouts) through the importer, and what it
//!   imports to through codegen;
//! - **spec**: a mutated spec file (beside its version's shared types) through the loader,
//!   the checks and codegen.
//!
//! Every case must end in a result or a diagnostic. A panic is a finding; a case that runs
//! longer than the hang limit stops the run (its input is saved first); a stack overflow
//! aborts the process, and the input it died on is the `current` file of the output
//! directory.

pub mod corpus;
pub mod mutate;
pub mod runtime;
pub mod worst;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

pub use corpus::Corpus;
use mutate::Case;

/// What a run does.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Stop after this many cases…
    pub cases: u64,
    /// …or after this long, whichever comes first.
    pub time: Duration,
    /// The seed of the case generator: the same seed draws the same cases.
    pub seed: u64,
    /// A case running longer than this is a hang.
    pub hang_after: Duration,
    /// Where findings and the input being run are written, if anywhere.
    pub out_dir: Option<PathBuf>,
}

/// A fuzz target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Page,
    Spec,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Page => "page",
            Target::Spec => "spec",
        }
    }
}

/// How cases of one target ended.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    /// Imported (pages) or generated (specs).
    pub accepted: u64,
    /// Refused with a diagnostic.
    pub refused: u64,
    /// Pages that imported and whose spec codegen refused.
    pub refused_by_codegen: u64,
    pub panicked: u64,
}

/// A case that panicked.
#[derive(Clone, Debug)]
pub struct Finding {
    pub target: Target,
    pub message: String,
    /// Where the input was saved, when the run has an output directory.
    pub saved: Option<PathBuf>,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub cases: u64,
    pub elapsed: Duration,
    /// By target, and for pages by the collection of their seed.
    pub counts: BTreeMap<String, Counts>,
    pub findings: Vec<Finding>,
    /// The slowest case: its time and its input's size in bytes.
    pub slowest: (Duration, usize),
    pub largest_input: usize,
}

/// Runs cases against both targets, in turn, until the count or the time is reached.
pub fn run(corpus: &Corpus, settings: &Settings) -> Report {
    let mut report = Report::default();
    if corpus.pages.is_empty() && corpus.specs.is_empty() {
        return report;
    }
    let started = Instant::now();
    let mut rng_seed = [0u8; 32];
    rng_seed[..8].copy_from_slice(&settings.seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &rng_seed);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let page_cases = mutate::cases(corpus.pages.len());
    let spec_cases = mutate::cases(corpus.specs.len());
    let watchdog = Watchdog::start(settings);
    let quiet = QuietPanics::install();
    while report.cases < settings.cases && started.elapsed() < settings.time {
        let target = if report.cases % 2 == 0 && !corpus.pages.is_empty() || corpus.specs.is_empty()
        {
            Target::Page
        } else {
            Target::Spec
        };
        let strategy = match target {
            Target::Page => &page_cases,
            Target::Spec => &spec_cases,
        };
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            break;
        };
        let case = tree.current();
        let input = mutant(corpus, target, &case);
        watchdog.begin(target, &input);
        let case_started = Instant::now();
        let outcome = std::panic::catch_unwind(|| run_case(corpus, target, &case, &input));
        let took = case_started.elapsed();
        watchdog.end();
        report.cases += 1;
        report.largest_input = report.largest_input.max(input.len());
        if took > report.slowest.0 {
            report.slowest = (took, input.len());
        }
        let group = match target {
            Target::Page => format!("page ({})", corpus.page(case.seed).collection),
            Target::Spec => target.name().to_owned(),
        };
        let counts = report.counts.entry(group).or_default();
        match outcome {
            Ok(Outcome::Accepted) => counts.accepted += 1,
            Ok(Outcome::Refused) => counts.refused += 1,
            Ok(Outcome::RefusedByCodegen) => counts.refused_by_codegen += 1,
            Err(_) => {
                counts.panicked += 1;
                let message = quiet.take().unwrap_or_else(|| "a panic".to_owned());
                let saved = settings.out_dir.as_deref().and_then(|dir| {
                    save(
                        dir,
                        &format!("panic-{}", report.findings.len()),
                        target,
                        &input,
                    )
                });
                report.findings.push(Finding {
                    target,
                    message,
                    saved,
                });
            }
        }
    }
    drop(quiet);
    report.elapsed = started.elapsed();
    report
}

/// How one case ended, short of a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Refused,
    /// A page that imported to a spec codegen refused.
    RefusedByCodegen,
}

fn mutant(corpus: &Corpus, target: Target, case: &Case) -> String {
    match target {
        Target::Page => {
            let others = |i: usize| corpus.pages[i % corpus.pages.len()].text.as_str();
            mutate::apply(&corpus.page(case.seed).text, case, &others)
        }
        Target::Spec => {
            let others = |i: usize| corpus.specs[i % corpus.specs.len()].text.as_str();
            mutate::apply(&corpus.specs[case.seed].text, case, &others)
        }
    }
}

/// A spec tree that does not exist: the cases' files are all in memory.
const NO_SPEC_DIR: &str = "/nonexistent/feishu-fuzz/spec";

fn run_case(corpus: &Corpus, target: Target, case: &Case, input: &str) -> Outcome {
    match target {
        Target::Page => check_page(input),
        Target::Spec => check_spec(&corpus.specs[case.seed], input),
    }
}

/// Imports `input` as a page and, if it imports, generates from its spec.
pub fn check_page(input: &str) -> Outcome {
    let spec_dir = Path::new(NO_SPEC_DIR);
    let path = Path::new("fuzz/page.md");
    let Ok(imported) = feishu_import::import_page_text(path, input.to_owned(), spec_dir) else {
        return Outcome::Refused;
    };
    let rel = format!("{}.yaml", imported.placement.rel_path());
    let overlay = BTreeMap::from([(rel, imported.yaml)]);
    match feishu_codegen::generate_with(spec_dir, &overlay) {
        Ok(_) => Outcome::Accepted,
        Err(_) => Outcome::RefusedByCodegen,
    }
}

/// Generates from `input` as the spec file `seed` was, beside `seed`'s shared types.
pub fn check_spec(seed: &corpus::Spec, input: &str) -> Outcome {
    let mut overlay = BTreeMap::from([(seed.rel.clone(), input.to_owned())]);
    if let Some((rel, text)) = &seed.shared {
        overlay.insert(rel.clone(), text.clone());
    }
    match feishu_codegen::generate_with(Path::new(NO_SPEC_DIR), &overlay) {
        Ok(_) => Outcome::Accepted,
        Err(_) => Outcome::Refused,
    }
}

/// Writes `input` to `<dir>/<name>.<md|yaml>`; the path, or None if it cannot.
fn save(dir: &Path, name: &str, target: Target, input: &str) -> Option<PathBuf> {
    let extension = match target {
        Target::Page => "md",
        Target::Spec => "yaml",
    };
    let path = dir.join(format!("{name}.{extension}"));
    std::fs::create_dir_all(dir).ok()?;
    std::fs::write(&path, input).ok()?;
    Some(path)
}

/// Watches the case being run: saves its input first (a stack overflow aborts without a
/// word), and ends the process when it runs past the hang limit, after saving it.
struct Watchdog {
    current: Arc<Mutex<Option<(Instant, Target, String)>>>,
    stop: Arc<AtomicBool>,
    out_dir: Option<PathBuf>,
}

impl Watchdog {
    fn start(settings: &Settings) -> Watchdog {
        let current: Arc<Mutex<Option<(Instant, Target, String)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (watched, stopped) = (Arc::clone(&current), Arc::clone(&stop));
        let (hang_after, out_dir) = (settings.hang_after, settings.out_dir.clone());
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let guard = watched.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((started, target, input)) = guard.as_ref()
                    && started.elapsed() > hang_after
                {
                    let saved = out_dir
                        .as_deref()
                        .and_then(|d| save(d, "hang", *target, input));
                    eprintln!(
                        "fuzz: a {} case ran over {hang_after:?} (a hang); input: {}",
                        target.name(),
                        saved.map_or("not saved".to_owned(), |p| p.display().to_string())
                    );
                    std::process::exit(3);
                }
            }
        });
        Watchdog {
            current,
            stop,
            out_dir: settings.out_dir.clone(),
        }
    }

    fn begin(&self, target: Target, input: &str) {
        if let Some(dir) = &self.out_dir {
            save(dir, "current", target, input);
        }
        let mut guard = self.current.lock().unwrap_or_else(|e| e.into_inner());
        *guard = Some((Instant::now(), target, input.to_owned()));
    }

    fn end(&self) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

/// Keeps panic messages of the cases off stderr while the run lasts, noting the last one.
struct QuietPanics {
    last: Arc<Mutex<Option<String>>>,
    previous: Option<PanicHook>,
}

impl QuietPanics {
    fn install() -> QuietPanics {
        let last: Arc<Mutex<Option<String>>> = Arc::default();
        let noted = Arc::clone(&last);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            *noted.lock().unwrap_or_else(|e| e.into_inner()) = Some(info.to_string());
        }));
        QuietPanics {
            last,
            previous: Some(previous),
        }
    }

    fn take(&self) -> Option<String> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            std::panic::set_hook(previous);
        }
    }
}
