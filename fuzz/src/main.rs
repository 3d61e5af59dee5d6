//! The fuzz harness's commands, `cargo xtask fuzz` and `cargo xtask budgets` (which run
//! this binary): mutated real pages and specs through the importer and codegen, and the
//! worst cases against their time and memory budgets. A binary of its own, so that
//! proptest and the bench crate stay out of `cargo xtask codegen`'s build.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use feishu_fuzz::{Corpus, Report, Settings};

const USAGE: &str = "\
usage: cargo xtask fuzz|budgets [ARGS] (or cargo run -p feishu-fuzz -- fuzz|budgets [ARGS])

  fuzz [--seconds N] [--cases N] [--seed S]
      Feed mutated pages (every layout) and spec files, seeded from spec/ and ../shared,
      to the importer and codegen for N seconds (default 60) or N cases, and report the
      outcomes. Panics, hangs (a case over 10 s) and aborts are findings: their inputs
      are saved in target/fuzz/ (`current.*` is the input a crash died on). The run's
      seed is printed; --seed S draws the same cases again.

  fuzz-runtime [--cases N] [--seed S]
      Feed N (default 4000) mutated inputs to the runtime's parsers, in turn: webhook
      bodies through the dispatcher, long-connection messages through a session,
      Content-Disposition values through the file name reader, and page answers through
      an item walk against a server on 127.0.0.1. A panic, a case over 10 s or an unsafe
      file name is a finding.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((command, rest)) if command == "fuzz" => fuzz(rest, &root()),
        Some((command, rest)) if command == "fuzz-runtime" => fuzz_runtime(rest),
        Some((command, rest)) if command == "budgets" => budgets(rest, &root()),
        _ => Err(format!(
            "unknown or missing command\n\n{USAGE}{BUDGETS_USAGE}"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the spec and `target/fuzz` are found from it.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ sits in the workspace")
        .to_path_buf()
}

fn fuzz(args: &[String], root: &Path) -> Result<(), String> {
    let mut settings = Settings {
        cases: u64::MAX,
        time: Duration::from_secs(60),
        seed: now_seconds(),
        hang_after: Duration::from_secs(10),
        out_dir: Some(root.join("target/fuzz")),
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut number = || number_after(&mut iter, "fuzz", arg);
        match arg.as_str() {
            "--seconds" => settings.time = Duration::from_secs(number()?),
            "--cases" => settings.cases = number()?,
            "--seed" => settings.seed = number()?,
            other => return Err(format!("fuzz: unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    let shared = root.join("../shared");
    let corpus = Corpus::load(&root.join("spec"), Some(&shared))
        .map_err(|err| format!("fuzz: cannot read the seed corpus: {err}"))?;
    println!(
        "fuzz: seed {}, {} pages and {} specs to mutate{}",
        settings.seed,
        corpus.pages.len(),
        corpus.specs.len(),
        if shared.is_dir() {
            ""
        } else {
            " (../shared is absent: spec/ only)"
        }
    );
    let report = feishu_fuzz::run(&corpus, &settings);
    print_report(&report);
    if report.findings.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz: {} cases panicked", report.findings.len()))
    }
}

fn fuzz_runtime(args: &[String]) -> Result<(), String> {
    let (mut cases, mut seed) = (4000, now_seconds());
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut number = || number_after(&mut iter, "fuzz-runtime", arg);
        match arg.as_str() {
            "--cases" => cases = number()?,
            "--seed" => seed = number()?,
            other => {
                return Err(format!(
                    "fuzz-runtime: unknown argument `{other}`\n\n{USAGE}"
                ));
            }
        }
    }
    println!("fuzz-runtime: seed {seed}, {cases} cases");
    let started = std::time::Instant::now();
    let report = feishu_fuzz::runtime::run(cases, seed);
    println!(
        "fuzz-runtime: {} cases in {:.1?}",
        report.cases,
        started.elapsed()
    );
    for (surface, counts) in &report.counts {
        println!(
            "  {surface}: {} handled, {} refused; slowest {:.2?}",
            counts.accepted, counts.refused, counts.slowest
        );
    }
    for finding in &report.findings {
        println!("  finding: {finding}");
    }
    match report.findings.len() {
        0 => Ok(()),
        n => Err(format!("fuzz-runtime: {n} findings")),
    }
}

/// The number that follows the option `option` of `command`.
fn number_after(
    args: &mut std::slice::Iter<'_, String>,
    command: &str,
    option: &str,
) -> Result<u64, String> {
    args.next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("{command}: {option} needs a number"))
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.as_secs())
}

fn print_report(report: &Report) {
    println!(
        "fuzz: {} cases in {:.1?}; slowest {:.2?} ({} bytes); largest input {} bytes",
        report.cases, report.elapsed, report.slowest.0, report.slowest.1, report.largest_input
    );
    for (target, counts) in &report.counts {
        println!(
            "  {target}: {} accepted, {} refused, {} refused by codegen, {} panicked",
            counts.accepted, counts.refused, counts.refused_by_codegen, counts.panicked
        );
    }
    for finding in &report.findings {
        println!(
            "  panic in a {:?} case: {} (input: {})",
            finding.target,
            finding.message,
            finding
                .saved
                .as_ref()
                .map_or("not saved".to_owned(), |p| p.display().to_string())
        );
    }
}

const BUDGETS_USAGE: &str = "\
  budgets
      Run each worst case (a real page or spec blown up to about 1 MB: long rows, deep
      nesting, many fields, options and error codes, huge examples, expanding YAML) in a
      process of its own, and report its wall time and peak memory against the budgets:
      under 2 s and 256 MB. Fails when one is over.
";

/// The budgets every worst case must keep to.
const BUDGET_SECONDS: f64 = 2.0;
const BUDGET_MB: f64 = 256.0;

fn budgets(args: &[String], root: &Path) -> Result<(), String> {
    let spec_dir = root.join("spec");
    let cases = feishu_fuzz::worst::cases();
    if let [flag, index] = args
        && flag == "--case"
    {
        // The child: one case, in-process.
        let case = index
            .parse::<usize>()
            .ok()
            .and_then(|i| cases.get(i))
            .ok_or("budgets: --case needs a case number")?;
        let input = case.input(&spec_dir).map_err(|err| err.to_string())?;
        println!("{:?}", case.run(&input));
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|err| err.to_string())?;
    let mut over = 0;
    println!("| worst case | input | outcome | wall | peak RSS |\n|---|---|---|---|---|");
    for (index, case) in cases.iter().enumerate() {
        let input = case.input(&spec_dir).map_err(|err| err.to_string())?;
        let output = std::env::temp_dir().join(format!("feishu-budget-{}", std::process::id()));
        let file = std::fs::File::create(&output).map_err(|err| err.to_string())?;
        let mut command = std::process::Command::new(&exe);
        command
            .args(["budgets", "--case", &index.to_string()])
            .stdout(file);
        let measured = feishu_bench::measure::run(&mut command)
            .map_err(|err| format!("budgets: `{}`: {err}", case.name))?;
        let outcome = std::fs::read_to_string(&output).unwrap_or_default();
        let _ = std::fs::remove_file(&output);
        let wall = measured.wall.as_secs_f64();
        let within = wall < BUDGET_SECONDS && measured.peak_rss_mb < BUDGET_MB;
        over += usize::from(!within);
        println!(
            "| {} | {} KB | {} | {wall:.2} s | {:.0} MB{} |",
            case.name,
            input.len() / 1024,
            outcome.trim(),
            measured.peak_rss_mb,
            if within { "" } else { " **over**" }
        );
    }
    if over == 0 {
        Ok(())
    } else {
        Err(format!(
            "budgets: {over} cases over {BUDGET_SECONDS} s or {BUDGET_MB} MB"
        ))
    }
}
