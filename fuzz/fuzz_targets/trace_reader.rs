//! The trace reader (and writer) on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = flaskcache_sim::fuzzing::trace_reader(data) {
        panic!("trace reader: {finding}");
    }
});
