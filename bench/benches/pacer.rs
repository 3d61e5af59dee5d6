//! The client-side rate-limit pacer (`ClientBuilder::pace_rate_limits`) with many tenants
//! inside their windows: the cost of one call's turn, which every call of a pacing client
//! pays. A multi-tenant marketplace app is the user this is for.

use std::time::Duration;

use feishu::runtime::codegen::Quota;
use feishu::runtime::harness::Pacer;

const ENDPOINT: &str = "im.v1.message.create";
/// A window long enough that no tenant's calls leave it while the benchmark runs.
const QUOTAS: [Quota; 2] = [Quota::new(1000, 60), Quota::new(50, 1)];

fn main() {
    divan::main();
}

/// A pacer that has seen one call from each of `tenants` tenants.
fn pacer_with(tenants: usize) -> Pacer {
    let pacer = Pacer::default();
    for tenant in 0..tenants {
        let wait = pacer.take_turn(ENDPOINT, Some(&tenant.to_string()), &QUOTAS);
        assert_eq!(wait, None::<Duration>);
    }
    pacer
}

/// One turn for a tenant seen before (in turn, so that none reaches its quota), then one
/// for a tenant never seen, with `tenants` tenants live.
#[divan::bench(args = [1_000, 20_000, 50_000], sample_count = 200, sample_size = 100)]
fn one_turn(bencher: divan::Bencher, tenants: usize) {
    let pacer = pacer_with(tenants);
    let mut next = tenants;
    bencher.bench_local(|| {
        next += 1;
        let seen = pacer.take_turn(ENDPOINT, Some(&(next % tenants).to_string()), &QUOTAS);
        let new = pacer.take_turn(ENDPOINT, Some(&next.to_string()), &QUOTAS);
        divan::black_box((seen, new))
    });
}
