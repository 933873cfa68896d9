//! Timing helpers shared by the root package's benchmarks (`store_memory`, `scaling`).

use std::time::Instant;

/// A fixed pseudo-random permutation of `0..n`, so that consecutive operations touch
/// unrelated entries rather than walking memory in insertion order.
pub fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

/// Operations per timed batch: short enough that most batches run without the scheduler
/// preempting the process on a shared machine.
pub const BATCH: usize = 500;

/// Nanoseconds per operation, `op(i)` over `ops` operations cycling through `order`: the
/// lower quartile of the per-batch means, which discards batches slowed by preemption.
pub fn time_ns(ops: usize, order: &[usize], mut op: impl FnMut(usize)) -> f64 {
    let mut batches = Vec::with_capacity(ops / BATCH + 1);
    let mut next = order.iter().cycle();
    for _ in 0..ops.div_ceil(BATCH) {
        let start = Instant::now();
        for &i in next.by_ref().take(BATCH) {
            op(i);
        }
        batches.push(start.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    batches.sort_by(f64::total_cmp);
    batches.get(batches.len() / 4).copied().unwrap_or(f64::NAN)
}
