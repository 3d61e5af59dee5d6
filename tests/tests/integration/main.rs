//! Every integration test of the workspace, linked into one binary: the whole generated
//! API (all services, with `roundtrip` and `schemars`) is linked once instead of once per
//! test file. Each module is one subject; `cargo test -p feishu-tests -- doc_examples::`
//! runs one of them.

// `feishu::__for_each_endpoint!` and `__for_each_event!` visit every service, two macro
// calls deep each.
#![recursion_limit = "512"]

mod budgets;
mod client;
mod codegen_output;
mod conformance;
mod doc_examples;
mod emulator_control;
mod errors;
mod event_push;
mod files;
mod fuzz;
mod hostile_input;
mod hostile_server;
mod im_state;
mod import;
mod long_connection;
mod observability;
mod obstacle;
mod output_safety;
mod paging;
mod rate_limits;
mod runtime;
mod spec_diagnostics;
mod synth;
mod tidy;
mod type_stability;
mod webhook;
mod wire;
