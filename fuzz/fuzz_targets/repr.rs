//! `Value::repr` on arbitrary values under every Python version.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = flaskcache_sim::fuzzing::repr(data) {
        panic!("repr: {finding}");
    }
});
