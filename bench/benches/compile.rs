//! Compile time of the crates generated from the 2,500-endpoint synthetic spec: the
//! `feishu` facade with one service, ten services and all of them, by `cargo check` and
//! `cargo build` (dev profile); and one service's crate (`feishu-<service>`) built alone,
//! as the yardstick for "a user who enables one service compiles only that service". The
//! runtime and the other dependencies are built first, so each figure is the generated
//! code's own compile: `cargo clean` of the facade and every service crate, then the timed
//! command. The all-services build is also measured with the optional derives
//! (`roundtrip`, `schemars`), to show what deriving only what each type needs saves.
//!
//! Peak RSS is that of the largest single process: with one crate per service, the
//! biggest service's rustc, not the sum of the crates rustc compiles side by side.
//!
//! Set `FEISHU_BENCH_QUICK=1` to skip the all-services builds, which take minutes.

use std::path::Path;
use std::process::Stdio;

use feishu_bench::measure::{self, Measured};
use feishu_bench::synth::{self, Config};
use feishu_bench::{cargo, generate_crate, work_dir, write_fresh};

const ENDPOINTS: usize = 2_500;

fn main() {
    let quick = std::env::var_os("FEISHU_BENCH_QUICK").is_some();
    let spec = work_dir().join("compile-spec");
    let workspace = work_dir().join("compile-crate");
    let target = work_dir().join("compile-target");
    let files = synth::generate(Config::new(ENDPOINTS));
    write_fresh(&files, &spec).expect("the spec is written");
    let tree = generate_crate(&spec, &workspace).expect("codegen");

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
    let generated: Vec<String> = std::iter::once("feishu".to_owned())
        .chain(
            services
                .iter()
                .map(|s| feishu_codegen::naming::service_crate(s)),
        )
        .collect();
    let one_crate = feishu_codegen::naming::service_crate(&one);

    // Dependencies first: everything, then the generated crates are cleaned before each run.
    for command in ["check", "build"] {
        compile(&tree, &target, command, &Build::Facade("full"), &generated)
            .expect("the dependencies build");
    }

    println!(
        "compile: the crates generated from the {ENDPOINTS}-endpoint synthetic spec, dev \
         profile, dependencies (the runtime included) prebuilt"
    );
    println!("| crate | features | endpoints | command | wall | peak RSS |");
    println!("|---|---|---|---|---|---|");
    let mut cases: Vec<(Build, usize, &str)> = Vec::new();
    for command in ["check", "build"] {
        cases.push((Build::Alone(&one_crate), one_endpoints, command));
        cases.push((Build::Facade(&one), one_endpoints, command));
        cases.push((Build::Facade(&ten), ten_endpoints, command));
        if !quick || command == "check" {
            cases.push((Build::Facade("full"), ENDPOINTS, command));
            cases.push((Build::Facade("full,roundtrip"), ENDPOINTS, command));
            cases.push((Build::Facade("full,roundtrip,schemars"), ENDPOINTS, command));
        }
    }
    let mut results = Vec::new();
    for (build, endpoints, command) in cases {
        let measured =
            compile(&tree, &target, command, &build, &generated).expect("the crates compile");
        let (name, features) = match build {
            Build::Alone(krate) => (format!("`{krate}` alone"), String::new()),
            Build::Facade(features) => ("`feishu`".to_owned(), features.to_owned()),
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
        results.push((build, command, measured));
    }
    for command in ["check", "build"] {
        let find = |wanted: &Build| {
            results
                .iter()
                .find(|r| r.0 == *wanted && r.1 == command)
                .map(|r| r.2.wall.as_secs_f64())
        };
        if let (Some(alone), Some(within)) =
            (find(&Build::Alone(&one_crate)), find(&Build::Facade(&one)))
        {
            println!(
                "\n{command}: `feishu` with one service takes {:.2}x the time of that service's crate alone (target: at most 1.2x).",
                within / alone
            );
        }
        if let Some(full) = find(&Build::Facade("full")) {
            println!(
                "{command}: all services, {:.1} ms per endpoint.",
                full * 1000.0 / ENDPOINTS as f64
            );
            for extra in ["full,roundtrip", "full,roundtrip,schemars"] {
                if let Some(more) = find(&Build::Facade(extra)) {
                    println!(
                        "{command}: `{extra}` takes {:.2}x the time of `full` alone.",
                        more / full
                    );
                }
            }
        }
    }
}

/// What one run compiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Build<'a> {
    /// The `feishu` crate with these features (comma-separated), default features off.
    Facade(&'a str),
    /// One service crate on its own (`-p feishu-<service>`).
    Alone(&'a str),
}

/// `cargo clean` of the `generated` crates, then the timed `cargo <command>` of `build` in
/// the tree at `dir`.
fn compile(
    dir: &Path,
    target: &Path,
    command: &str,
    build: &Build,
    generated: &[String],
) -> Result<Measured, String> {
    let mut clean = cargo();
    clean
        .args(["clean", "--quiet", "--offline"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target);
    for krate in generated {
        clean.args(["--package", krate]);
    }
    if !clean.status().map_err(|e| e.to_string())?.success() {
        return Err("cargo clean failed".to_owned());
    }
    let mut cmd = cargo();
    cmd.args([command, "--quiet", "--offline", "--lib"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .stdout(Stdio::null());
    match build {
        Build::Facade(features) => {
            cmd.args(["--package", "feishu", "--no-default-features"]);
            if !features.is_empty() {
                cmd.args(["--features", features]);
            }
        }
        Build::Alone(krate) => {
            cmd.args(["--package", krate]);
        }
    }
    measure::run(&mut cmd).map_err(|e| e.to_string())
}
