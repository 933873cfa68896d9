//! The engine against the reference model on arbitrary histories of the simulated app.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = flaskcache_sim::fuzzing::engine_vs_model(data) {
        panic!("engine and model diverge: {finding}");
    }
});
