//! The maintainers' commands: `cargo xtask <command>`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use feishu_codegen::output;
use stamp::Stamp;

#[cfg(feature = "import")]
mod import;
mod stamp;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  codegen [--check] [--force] [--timings] [--spec DIR] [--out DIR]
      Regenerate the generated crates from the spec (default spec/) into the generated/
      directory of a workspace (default: this one): the feishu crate and one crate per
      service under generated/services/. An --out directory without a Cargo.toml is first
      made a workspace like this one: its manifest, Cargo.lock and a copy of runtime/.
      A run whose spec tree, generator and output tree are as the last run left them
      does nothing (the record is kept in cargo's target directory); --force runs anyway.
      With --check, write nothing and fail when a file is stale, missing or orphaned;
      it always regenerates in memory.
      With --timings, print the time each phase took.
  import [--spec DIR] [--keep-going] [--quarantine] PAGE|DIR...
      Read Feishu doc pages and write one spec file per endpoint under DIR (default spec/),
      keeping each page beside its spec; a directory stands for every endpoint page under it.
      One bad page imports none, unless --keep-going, which leaves out the pages that fail
      (their own checks or the tree's). With --quarantine, the pages left out are listed,
      with their reasons, in DIR/quarantine.yaml.
  update [--spec DIR]
      Re-import every page kept in the spec tree, then run codegen.
  synth --endpoints N [--services S] [--seed X] --out DIR
      Write a synthetic spec tree of N endpoints over S services (default: one per 50
      endpoints) into DIR, for benchmarks. The same arguments write the same bytes.
      (Runs the bench crate's `synth` binary.)
  fuzz [--seconds N] [--cases N] [--seed S]
      Feed mutated pages and specs to the importer and codegen (runs the fuzz crate's
      binary, whose usage says more).
  fuzz-runtime [--cases N] [--seed S]
      Feed mutated webhook bodies, long-connection messages, Content-Disposition values
      and page answers to the runtime's parsers (the fuzz crate's binary).
  budgets
      Run each worst case against the budgets of 2 s and 256 MB (the fuzz crate's binary).
  schema [--check]
      Write the spec format's JSON Schemas (spec/schema.json, spec/shared-types.schema.json,
      spec/event.schema.json) from its model (spec-format/, the feishu-spec crate); with
      --check, fail when they are out of date.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.split_first() {
        Some((command, rest)) if command == "codegen" => codegen(rest),
        Some((command, rest)) if command == "import" || command == "update" => {
            import_command(command, rest, &args)
        }
        // The harnesses are binaries of their own crates, so that this one (and the
        // README's first command, `cargo xtask codegen`) compiles neither.
        Some((command, rest)) if command == "synth" => harness("feishu-bench", "synth", None, rest),
        Some((command, rest)) if command == "schema" => {
            harness("feishu-spec", "spec-schema", Some("schema"), rest)
        }
        Some((command, _)) if matches!(command.as_str(), "fuzz" | "fuzz-runtime" | "budgets") => {
            harness("feishu-fuzz", "feishu-fuzz", None, &args)
        }
        Some((command, _)) if command == "help" || command == "--help" || command == "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown or missing command\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// `import` or `update`, with the importer compiled in.
#[cfg(feature = "import")]
fn import_command(command: &str, rest: &[String], _args: &[String]) -> Result<(), String> {
    match command {
        "import" => import::import(rest),
        _ => import::update(rest),
    }
}

/// `import` or `update`: this build has no importer, so xtask runs again with it.
#[cfg(not(feature = "import"))]
fn import_command(_command: &str, _rest: &[String], args: &[String]) -> Result<(), String> {
    harness("xtask", "xtask", Some("import"), args)
}

/// Runs a command that a binary of another crate carries out (`synth`: the bench crate's;
/// `fuzz` and `budgets`: the fuzz crate's; `schema`: the spec crate's, with its `schema`
/// feature) through `cargo run`, so that this binary compiles none of them.
fn harness(
    package: &str,
    bin: &str,
    features: Option<&str>,
    args: &[String],
) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = std::process::Command::new(cargo);
    command
        .current_dir(root())
        .args(["run", "--quiet", "--package", package, "--bin", bin]);
    if let Some(features) = features {
        command.args(["--features", features]);
    }
    let status = command
        .arg("--")
        .args(args)
        .status()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo run --package {package} --bin {bin}` failed ({status})"
        ))
    }
}

/// The workspace root: the defaults are relative to it, wherever cargo was run from.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

struct CodegenArgs {
    check: bool,
    force: bool,
    timings: bool,
    spec: PathBuf,
    /// The workspace whose `generated/` codegen writes.
    workspace: PathBuf,
}

fn parse_codegen_args(args: &[String]) -> Result<CodegenArgs, String> {
    let mut parsed = CodegenArgs {
        check: false,
        force: false,
        timings: false,
        spec: root().join("spec"),
        workspace: root(),
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--check" => parsed.check = true,
            "--force" => parsed.force = true,
            "--timings" => parsed.timings = true,
            "--spec" => parsed.spec = iter.next().ok_or("--spec needs a directory")?.into(),
            "--out" => {
                parsed.workspace = iter.next().ok_or("--out needs a directory")?.into();
            }
            other => return Err(format!("codegen: unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(parsed)
}

fn codegen(args: &[String]) -> Result<(), String> {
    let args = parse_codegen_args(args)?;
    let out = args.workspace.join(output::GENERATED_DIR);
    let started = Instant::now();
    let stamp = (!args.check).then(|| Stamp::of(&args.spec, &out)).flatten();
    let mut recording = started.elapsed();
    if let Some(stamp) = stamp
        && !args.force
        && Stamp::recorded(&args.spec, &out) == Some(stamp)
    {
        println!(
            "codegen: nothing to do: the spec, the generator and {} are as the last run left them ({:.0?}; --force runs anyway)",
            out.display(),
            started.elapsed()
        );
        return Ok(());
    }
    let mut timings = feishu_codegen::Timings::default();
    let generated = feishu_codegen::generate_timed(&args.spec, &mut timings)
        .map_err(|diagnostics| diagnostics.to_string())?;
    // A new workspace gets the runtime and a manifest first, so that the tree builds.
    if !args.check && !args.workspace.join("Cargo.toml").exists() {
        output::scaffold_workspace(
            &root().join(output::RUNTIME_DIR),
            &root().join("Cargo.lock"),
            &args.workspace,
            &[],
        )
        .map_err(|err| format!("{}: {err}", args.workspace.display()))?;
        println!(
            "  made {} a workspace (Cargo.toml, Cargo.lock, runtime/)",
            args.workspace.display()
        );
    }
    let planning = Instant::now();
    let plan = output::plan(&out, &generated).map_err(|err| format!("error: {err}"))?;
    let compare = planning.elapsed();
    let elapsed = started.elapsed();
    if args.check {
        if plan.is_up_to_date() {
            println!(
                "codegen --check: {} files up to date ({elapsed:.0?})",
                plan.unchanged
            );
            return Ok(());
        }
        let list: Vec<String> = plan.changes.iter().map(|c| format!("  {c}")).collect();
        return Err(format!(
            "codegen --check: the generated crates do not match the spec:\n{}\nrun `cargo xtask codegen` and commit the result",
            list.join("\n")
        ));
    }
    let applying = Instant::now();
    // A run cut short must not leave a record that vouches for a half-written tree.
    Stamp::forget(&args.spec, &out);
    plan.apply().map_err(|err| format!("error: {err}"))?;
    let write = applying.elapsed();
    let hashing = Instant::now();
    if let Some(stamp) = stamp {
        let recorded = stamp.after_run(&out, &generated.files).and_then(|after| {
            after
                .record(&args.spec, &out)
                .map_err(|err| err.to_string())
        });
        if let Err(err) = recorded {
            eprintln!("warning: the next codegen will not skip work: {err}");
        }
    }
    recording += hashing.elapsed();
    for change in &plan.changes {
        println!(
            "  {}",
            match change {
                output::Change::Create(p) => format!("created {}", p.display()),
                output::Change::Update(p) => format!("updated {}", p.display()),
                output::Change::Remove(p) => format!("removed {}", p.display()),
            }
        );
    }
    println!(
        "codegen: {} files, {} changed, {} unchanged in {:.0?}",
        generated.files.len(),
        plan.changes.len(),
        plan.unchanged,
        started.elapsed()
    );
    if args.timings {
        let t = timings;
        println!(
            "codegen timings: load {:.2?}, validate {:.2?}, lower {:.2?}, tokens {:.2?}, \
             format {:.2?}, compare {compare:.2?}, write {write:.2?}, \
             record {recording:.2?}",
            t.load, t.validate, t.lower, t.tokens, t.format
        );
    }
    Ok(())
}
