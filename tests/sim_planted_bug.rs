//! The simulator finds a bug planted in the engine. Only built with the planted bug:
//!
//! ```text
//! RUSTFLAGS='--cfg flaskcache_planted_bug' cargo test --release --test sim_planted_bug -- --nocapture
//! ```
//!
//! Under `cfg(flaskcache_planted_bug)`, `engine/src/engine/flows.rs` skips the version
//! refresh after a memoized value is stored (FC-2.5.4): in 2.5 the `_memver` keys keep
//! the timeout 0 they were created with instead of taking the entry's timeout. (The
//! recorded-flow tests catch it as well.) The simulator must find it within 100 runs of
//! `flaskcache explore --seed 1 --ops 1000 --faults 0.01` and shrink it to at most 10
//! steps.
// Until `Cargo.toml` declares the cfg (`[lints.rust] unexpected_cfgs`), do not warn here.
#![cfg(flaskcache_planted_bug)]

use flaskcache_sim::explore::run::{execute_guarded, ExecOptions};
use flaskcache_sim::explore::shrink::shrink;
use flaskcache_sim::workload::{generate, RunSetup};

#[test]
fn explore_finds_and_shrinks_the_planted_bug() {
    let found = (0..100u64).find_map(|run| {
        let setup = RunSetup::new(1, run, None, 0.01);
        let actions = generate(&setup, 1000);
        let report = execute_guarded(&setup, &actions, &ExecOptions::default());
        report.divergence.map(|d| (run, setup, actions, d))
    });
    let Some((run, setup, actions, divergence)) = found else {
        panic!("100 runs did not find the planted bug");
    };
    println!("run {run}: {divergence}");
    let shrunk = shrink(&setup, &actions, &divergence, 20_000);
    let replayed = execute_guarded(
        &setup,
        &shrunk.actions,
        &ExecOptions {
            record: true,
            expect_digests: None,
        },
    );
    for line in &replayed.timeline {
        println!("  {line}");
    }
    assert!(
        shrunk.actions.len() <= 10,
        "shrunk to {} steps",
        shrunk.actions.len()
    );
    assert!(replayed.divergence.is_some());
}
