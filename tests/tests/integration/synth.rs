//! The synthetic spec behind the benchmarks: it is deterministic, passes the same checks
//! as spec/, and the crates generated from it compile with every service, with none of
//! the optional derives, with one service, and as one service crate alone. This is CI's smoke run of the
//! benchmark pipeline (synth → codegen → cargo check); the benchmarks themselves run with
//! `cargo bench -p feishu-bench`.

use feishu_bench::synth::{self, Config};
use feishu_codegen::output;
use feishu_tests::scaffold::{
    cargo_check, cargo_check_features, cargo_check_package, scaffold_crate,
};

const SMOKE: Config = Config {
    endpoints: 50,
    services: 3,
    seed: 7,
};

#[test]
fn the_same_configuration_writes_the_same_tree() {
    assert_eq!(synth::generate(SMOKE), synth::generate(SMOKE));
    let reseeded = synth::generate(Config { seed: 8, ..SMOKE });
    assert_ne!(synth::generate(SMOKE), reseeded, "the seed matters");
}

#[test]
fn the_tree_has_the_asked_size_and_the_shapes_of_real_pages() {
    let files = synth::generate(SMOKE);
    let endpoints: Vec<&String> = files
        .keys()
        .filter(|k| !k.ends_with("_types.yaml"))
        .collect();
    assert_eq!(endpoints.len(), 50);
    let services: std::collections::BTreeSet<&str> =
        files.keys().map(|k| k.split('/').next().unwrap()).collect();
    assert_eq!(services.len(), 3);
    let all = files.values().cloned().collect::<String>();
    for shape in [
        "name: page_token",
        "type: map<string, string>",
        "options:",
        "max_length:",
        "type: user_ref",
        "_condition[]",
        "method: PATCH",
        "method: DELETE",
    ] {
        assert!(all.contains(shape), "no `{shape}` in the synthetic spec");
    }
}

#[test]
fn the_synthetic_crate_validates_and_compiles_per_feature() {
    let work = tempfile::tempdir().unwrap();
    let spec_dir = work.path().join("spec");
    synth::write(&synth::generate(SMOKE), &spec_dir).unwrap();
    let loaded = feishu_spec::load(&spec_dir).unwrap_or_else(|d| panic!("{d}"));
    feishu_spec::validate(&loaded).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(loaded.endpoints.len(), 50);

    let generated = feishu_codegen::generate(&spec_dir).unwrap_or_else(|d| panic!("{d}"));
    let krate = scaffold_crate(&work.path().join("crate")).unwrap();
    output::plan(&krate, &generated).unwrap().apply().unwrap();
    if let Err(compiler) = cargo_check(&krate) {
        panic!("the synthetic crate does not compile:\n{compiler}");
    }
    let one = &loaded.endpoints[0].id.service;
    if let Err(compiler) = cargo_check_features(&krate, one) {
        panic!("the `{one}` service alone does not compile:\n{compiler}");
    }
    let krate = feishu_codegen::naming::service_crate(one);
    if let Err(compiler) = cargo_check_package(&work.path().join("crate"), &krate) {
        panic!("the `{krate}` crate alone does not compile:\n{compiler}");
    }
}
