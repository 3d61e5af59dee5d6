//! Benchmark support for the Feishu bindings: synthetic spec trees at Feishu's scale
//! ([`synth`]), and measuring a child process's wall time and peak memory ([`measure`]).
//! The benchmarks themselves are in `benches/`; `cargo bench -p feishu-bench` runs them.

pub mod synth;
