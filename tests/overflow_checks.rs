//! The test builds keep integer overflow checks on.
//!
//! The corpus replays and property tests run under `cargo test --release`; without
//! overflow checks an arithmetic overflow there would wrap silently instead of panicking
//! as it does in a fuzz build. The root `Cargo.toml` sets `overflow-checks = true` for the
//! release profile; this test fails in any build where it is off.

use std::hint::black_box;
use std::panic;

/// Adds `b` to `a` with the build's ordinary `+`, so the overflow behaviour is the build's.
fn plain_add(a: u32, b: u32) -> u32 {
    a + b
}

#[test]
fn overflowing_add_panics() {
    let result = panic::catch_unwind(|| plain_add(black_box(u32::MAX), black_box(1)));
    assert!(
        result.is_err(),
        "u32::MAX + 1 wrapped to {:?}: overflow checks are off in this build \
         (set overflow-checks = true for the profile the tests run under)",
        result.ok()
    );
}

#[test]
fn overflowing_sub_and_mul_panic() {
    let sub = panic::catch_unwind(|| black_box(i64::MIN) - black_box(1));
    assert!(
        sub.is_err(),
        "i64::MIN - 1 wrapped: overflow checks are off"
    );
    let mul = panic::catch_unwind(|| black_box(u64::MAX) * black_box(2));
    assert!(
        mul.is_err(),
        "u64::MAX * 2 wrapped: overflow checks are off"
    );
}

#[test]
fn in_range_arithmetic_does_not_panic() {
    assert_eq!(plain_add(black_box(u32::MAX - 1), black_box(1)), u32::MAX);
}
