//! The worst cases of `feishu_fuzz::worst` (real pages and specs blown up to about 1 MB),
//! each run in a process of its own: it must end in a result or a diagnostic, never a
//! panic or an abort, within the memory budget of 256 MB. Their times are a benchmark
//! (`cargo xtask budgets`, in BENCHMARKS.md); here only a hang fails.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use feishu_fuzz::worst;

/// Set in the child process: the number of the case it runs.
const CASE: &str = "FEISHU_WORST_CASE";

const BUDGET_MB: f64 = 256.0;

/// The child's entry point: runs the case named by [`CASE`]; as an ordinary test (no
/// [`CASE`]) it does nothing.
#[test]
fn worst_case_child() {
    let Ok(index) = std::env::var(CASE) else {
        return;
    };
    let spec_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
    let case = &worst::cases()[index.parse::<usize>().unwrap()];
    let input = case.input(&spec_dir).unwrap();
    println!("{:?}", case.run(&input));
}

#[test]
fn every_worst_case_ends_in_a_result_or_a_diagnostic_within_256_mb() {
    let exe = std::env::current_exe().unwrap();
    for (index, case) in worst::cases().iter().enumerate() {
        let mut child = Command::new(&exe);
        child
            .args(["--exact", "budgets::worst_case_child", "--test-threads=1"])
            .env(CASE, index.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // An error here is the child's failure: a panic or an abort.
        let measured = feishu_bench::measure::run(&mut child)
            .unwrap_or_else(|err| panic!("`{}` did not end well: {err}", case.name));
        assert!(
            measured.peak_rss_mb < BUDGET_MB,
            "`{}` took {:.0} MB",
            case.name,
            measured.peak_rss_mb
        );
        assert!(
            measured.wall < Duration::from_secs(60),
            "`{}` hangs: {:?}",
            case.name,
            measured.wall
        );
    }
}
