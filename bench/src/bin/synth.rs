//! `cargo xtask synth` (which runs this binary): writes a synthetic spec tree of
//! Feishu's size and shapes, for the benchmarks. A binary of the bench crate, so that
//! `cargo xtask codegen`'s build does not compile it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use feishu_bench::synth;

const USAGE: &str = "\
usage: cargo xtask synth --endpoints N [--services S] [--seed X] --out DIR
      Write a synthetic spec tree of N endpoints over S services (default: one per 50
      endpoints) into DIR, for benchmarks. The same arguments write the same bytes.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut config = None::<synth::Config>;
    let (mut services, mut seed, mut out) = (None, None, None);
    let mut iter = args.iter();
    let number = |flag: &str, value: Option<&String>| -> Result<u64, String> {
        value
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("synth: {flag} needs a number"))
    };
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--endpoints" => {
                let n = number(arg, iter.next())?;
                config = Some(synth::Config::new(n as usize));
            }
            "--services" => services = Some(number(arg, iter.next())? as usize),
            "--seed" => seed = Some(number(arg, iter.next())?),
            "--out" => out = Some(PathBuf::from(iter.next().ok_or("--out needs a directory")?)),
            other => return Err(format!("synth: unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    let mut config = config.ok_or(format!("synth: --endpoints is required\n\n{USAGE}"))?;
    let out = out.ok_or(format!("synth: --out is required\n\n{USAGE}"))?;
    if let Some(services) = services {
        config.services = services;
    }
    if let Some(seed) = seed {
        config.seed = seed;
    }
    // Writing into an existing spec would mix two trees.
    if out
        .read_dir()
        .is_ok_and(|mut entries| entries.next().is_some())
    {
        return Err(format!("synth: {} is not empty", out.display()));
    }
    let started = Instant::now();
    let files = synth::generate(config);
    synth::write(&files, &out).map_err(|err| format!("{}: {err}", out.display()))?;
    println!(
        "synth: {} endpoints over {} services ({} files) in {} in {:.0?}",
        config.endpoints,
        config.services,
        files.len(),
        out.display(),
        started.elapsed()
    );
    Ok(())
}
