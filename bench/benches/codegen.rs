//! Codegen speed: `cargo xtask codegen --spec DIR --out OUT` on synthetic specs of 2,500
//! and 25,000 endpoints, into an empty output (every file written) and again into its own
//! output (nothing to write). Reports wall time, peak memory and the phase split that
//! `--timings` prints. xtask is built before anything is timed.

use std::process::{Command, Stdio};

use feishu_bench::measure::{self, Measured};
use feishu_bench::synth;
use feishu_bench::synth::Config;
use feishu_bench::{cargo, root, work_dir, write_fresh};

const RUNS: usize = 3;

fn main() {
    let status = cargo()
        .args(["build", "--quiet", "--package", "xtask"])
        .current_dir(root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "xtask builds");
    let xtask = root().join("target/debug/xtask");
    println!(
        "codegen: `cargo xtask codegen` (dev profile, as maintainers run it), median of {RUNS}"
    );
    println!(
        "| endpoints | files | cold wall | cold peak RSS | warm wall | phases (cold, last run) |"
    );
    println!("|---|---|---|---|---|---|");
    let mut cold_walls = Vec::new();
    for endpoints in [2_500, 25_000] {
        let spec = work_dir().join(format!("codegen-spec-{endpoints}"));
        let out = work_dir().join(format!("codegen-out-{endpoints}"));
        write_fresh(&synth::generate(Config::new(endpoints)), &spec).expect("synth writes");
        let run = |out_exists: bool| -> (Measured, String) {
            if !out_exists && out.exists() {
                std::fs::remove_dir_all(&out).expect("old output removed");
            }
            let log = work_dir().join("codegen.log");
            let file = std::fs::File::create(&log).expect("log file");
            let measured = measure::run(
                Command::new(&xtask)
                    .arg("codegen")
                    .arg("--timings")
                    .arg("--spec")
                    .arg(&spec)
                    .arg("--out")
                    .arg(&out)
                    .stdout(file)
                    .stderr(Stdio::inherit()),
            )
            .expect("codegen succeeds");
            let text = std::fs::read_to_string(&log).expect("log");
            (measured, text)
        };
        let mut cold: Vec<(Measured, String)> = (0..RUNS).map(|_| run(false)).collect();
        let mut warm: Vec<(Measured, String)> = (0..RUNS).map(|_| run(true)).collect();
        cold.sort_by_key(|(m, _)| m.wall);
        warm.sort_by_key(|(m, _)| m.wall);
        let peak = cold.iter().map(|(m, _)| m.peak_rss_mb).fold(0.0, f64::max);
        let (median, log) = &cold[RUNS / 2];
        let phases = log
            .lines()
            .find_map(|l| l.strip_prefix("codegen timings: "))
            .unwrap_or("?");
        let files = log
            .lines()
            .find_map(|l| l.strip_prefix("codegen: "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or("?");
        println!(
            "| {endpoints} | {files} | {:.2} s | {peak:.0} MB | {:.2} s | {phases} |",
            median.wall.as_secs_f64(),
            warm[RUNS / 2].0.wall.as_secs_f64()
        );
        cold_walls.push(median.wall.as_secs_f64());
    }
    println!(
        "\n10x the endpoints took {:.1}x the time (target: at most 11x).",
        cold_walls[1] / cold_walls[0]
    );
}
