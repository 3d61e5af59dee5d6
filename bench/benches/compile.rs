//! Compile time of the generated crate for the 2,500-endpoint synthetic spec, with one
//! service, ten services and all of them, by `cargo check` and `cargo build` (dev
//! profile); and a crate generated from that one service alone, as the yardstick for
//! "a user who enables one service compiles only that service". The dependencies are
//! built first, so each figure is the `feishu` crate's own compile: `cargo clean -p
//! feishu`, then the timed command. The all-services build is also measured with the
//! optional derives (`roundtrip`, `schemars`), to show what deriving only what each type
//! needs saves.
//!
//! Set `FEISHU_BENCH_QUICK=1` to skip the all-services builds, which take minutes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use feishu_bench::measure::{self, Measured};
use feishu_bench::synth::{self, Config};
use feishu_bench::{cargo, generate_crate, work_dir, write_fresh};

const ENDPOINTS: usize = 2_500;

fn main() {
    let quick = std::env::var_os("FEISHU_BENCH_QUICK").is_some();
    let spec = work_dir().join("compile-spec");
    let whole = work_dir().join("compile-crate");
    let alone_spec = work_dir().join("compile-spec-one");
    let alone = work_dir().join("compile-crate-one");
    let target = work_dir().join("compile-target");
    let files = synth::generate(Config::new(ENDPOINTS));
    write_fresh(&files, &spec).expect("the spec is written");
    generate_crate(&spec, &whole).expect("codegen");

    // The services in the order synth writes them; the first one stands alone too.
    let mut services: Vec<String> = files
        .keys()
        .map(|k| k.split('/').next().unwrap_or_default().to_owned())
        .collect();
    services.dedup();
    let one = services[0].clone();
    let ten = services[..10].join(",");
    let per_service = |s: &str| {
        files
            .keys()
            .filter(|k| k.starts_with(&format!("{s}/")) && !k.ends_with("_types.yaml"))
            .count()
    };
    let one_endpoints = per_service(&one);
    let ten_endpoints: usize = services[..10].iter().map(|s| per_service(s)).sum();
    let only_one: BTreeMap<String, String> = files
        .into_iter()
        .filter(|(k, _)| k.starts_with(&format!("{one}/")))
        .collect();
    write_fresh(&only_one, &alone_spec).expect("the spec of one service is written");
    generate_crate(&alone_spec, &alone).expect("codegen of one service");

    // Dependencies first, for both crates (they share the target dir).
    for dir in [&whole, &alone] {
        for command in ["check", "build"] {
            compile(dir, &target, command, "").expect("the dependencies build");
        }
    }

    println!(
        "compile: the `feishu` crate of the {ENDPOINTS}-endpoint synthetic spec, dev profile, \
         dependencies prebuilt"
    );
    println!("| crate | features | endpoints | command | wall | peak RSS |");
    println!("|---|---|---|---|---|---|");
    let mut cases: Vec<(&Path, String, usize, &str)> = Vec::new();
    for command in ["check", "build"] {
        cases.push((&alone, one.clone(), one_endpoints, command));
        cases.push((&whole, one.clone(), one_endpoints, command));
        cases.push((&whole, ten.clone(), ten_endpoints, command));
        if !quick || command == "check" {
            cases.push((&whole, "full".to_owned(), ENDPOINTS, command));
            cases.push((&whole, "full,roundtrip".to_owned(), ENDPOINTS, command));
            cases.push((
                &whole,
                "full,roundtrip,schemars".to_owned(),
                ENDPOINTS,
                command,
            ));
        }
    }
    let mut results = Vec::new();
    for (dir, features, endpoints, command) in cases {
        let measured = compile(dir, &target, command, &features).expect("the crate compiles");
        let name = if dir == alone.as_path() {
            "one service alone"
        } else {
            "2,500 endpoints"
        };
        let shown = if features.len() > 40 {
            "ten services".to_owned()
        } else {
            features.clone()
        };
        println!(
            "| {name} | {shown} | {endpoints} | {command} | {:.1} s | {:.0} MB |",
            measured.wall.as_secs_f64(),
            measured.peak_rss_mb
        );
        results.push((name, features, command, endpoints, measured));
    }
    for command in ["check", "build"] {
        let find = |name: &str, features: &str| {
            results
                .iter()
                .find(|r| r.0 == name && r.1 == features && r.2 == command)
                .map(|r| r.4.wall.as_secs_f64())
        };
        if let (Some(alone), Some(within)) = (
            find("one service alone", &one),
            find("2,500 endpoints", &one),
        ) {
            println!(
                "\n{command}: one service of the 2,500-endpoint crate takes {:.2}x the time of a crate of that service alone (target: at most 1.2x).",
                within / alone
            );
        }
        if let Some(full) = find("2,500 endpoints", "full") {
            println!(
                "{command}: all services, {:.1} ms per endpoint.",
                full * 1000.0 / ENDPOINTS as f64
            );
            for extra in ["full,roundtrip", "full,roundtrip,schemars"] {
                if let Some(more) = find("2,500 endpoints", extra) {
                    println!(
                        "{command}: `{extra}` takes {:.2}x the time of `full` alone.",
                        more / full
                    );
                }
            }
        }
    }
}

/// `cargo clean -p feishu` then the timed `cargo <command>` of the crate in `dir`.
fn compile(dir: &Path, target: &Path, command: &str, features: &str) -> Result<Measured, String> {
    let clean = cargo()
        .args(["clean", "--quiet", "--offline", "--package", "feishu"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .status()
        .map_err(|e| e.to_string())?;
    if !clean.success() {
        return Err("cargo clean failed".to_owned());
    }
    let mut cmd = cargo();
    cmd.args([
        command,
        "--quiet",
        "--offline",
        "--lib",
        "--no-default-features",
    ])
    .current_dir(dir)
    .env("CARGO_TARGET_DIR", target)
    .env_remove("RUSTFLAGS")
    .stdout(Stdio::null());
    if !features.is_empty() {
        cmd.args(["--features", features]);
    }
    measure::run(&mut cmd).map_err(|e| e.to_string())
}
