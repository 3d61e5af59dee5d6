//! A bounded fuzz run, the same every time: mutated real pages and specs through the
//! importer and codegen, none of which may panic or hang. `cargo xtask fuzz` runs longer
//! and with new seeds.

use std::path::Path;
use std::time::Duration;

use feishu_fuzz::{Corpus, Settings};

#[test]
fn two_thousand_mutated_pages_and_specs_end_in_a_result_or_a_diagnostic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = root.join("../shared");
    if !shared.is_dir() {
        eprintln!("notice: ../shared is absent; the fuzz corpus is spec/ alone");
    }
    let corpus = Corpus::load(&root.join("spec"), Some(&shared)).unwrap();
    assert!(!corpus.pages.is_empty() && !corpus.specs.is_empty());
    let settings = Settings {
        cases: 2_000,
        time: Duration::MAX,
        seed: 20_261_204,
        // Far beyond any case's time (the slowest take tenths of a second): a hang, not a
        // slow machine, ends the run.
        hang_after: Duration::from_secs(120),
        out_dir: None,
    };
    let report = feishu_fuzz::run(&corpus, &settings);
    assert_eq!(report.cases, 2_000);
    let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(messages.is_empty(), "panics: {messages:#?}");
    for (target, counts) in &report.counts {
        // The mutants reach past the readers' first checks, and some are refused.
        assert!(
            counts.accepted > 0,
            "no {target} case was accepted: {counts:?}"
        );
        assert!(
            counts.refused > 0,
            "no {target} case was refused: {counts:?}"
        );
    }
    let expected = if shared.is_dir() { 4 } else { 2 };
    assert_eq!(
        report.counts.len(),
        expected,
        "both targets, pages of every collection: {:?}",
        report.counts.keys()
    );
}

#[test]
fn a_thousand_mutated_runtime_inputs_end_in_an_answer_within_their_bounds() {
    // Webhook bodies, long-connection messages, Content-Disposition values and page
    // answers, 250 of each: none may panic, run over 10 s, or give an unsafe file name.
    let report = feishu_fuzz::runtime::run(1_000, 20_261_207);
    assert_eq!(report.cases, 1_000);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.counts.len(), 4, "{:?}", report.counts.keys());
    for (surface, counts) in &report.counts {
        assert_eq!(counts.accepted + counts.refused, 250, "{surface}");
        // The mutants reach past the first checks, and some are refused.
        assert!(
            counts.accepted > 0,
            "no {surface} case was handled: {counts:?}"
        );
        if *surface != "frames" {
            assert!(
                counts.refused > 0,
                "no {surface} case was refused: {counts:?}"
            );
        }
    }
}
