//! The timing loop of `flaskcache bench --micro`: a warm-up, then batches of calls, each
//! batch giving one ns/op figure; the result is their median, which one slow batch (a
//! context switch, another process on a shared core) does not move. A case's ratio to the
//! floor comes from batches of the two in turn ([`measure_paired`]).

use std::time::{Duration, Instant};

/// How long to spend on one case.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Wall time for the case: a tenth warms up, the rest is split into the batches.
    pub per_case: Duration,
    /// Number of timed batches (at least 1).
    pub batches: usize,
}

/// The median of `samples` (the mean of the two middle ones for an even count); `None`
/// when there are none.
pub fn median(samples: &mut [f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    Some(if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        (samples[mid - 1] + samples[mid]) / 2.0
    })
}

/// Median ns per call of `op` over the batches of `budget`.
pub fn measure(op: &mut dyn FnMut(), budget: Budget) -> f64 {
    // Warm caches, branch predictors and allocator pools, and estimate one call's cost.
    let warm_up = budget.per_case / 10;
    let batches = budget.batches.max(1);
    let per_batch = (budget.per_case - warm_up).as_nanos() as f64 / batches as f64;
    let iters = calibrate(op, warm_up, per_batch);
    let mut samples: Vec<f64> = (0..batches).map(|_| batch(op, iters)).collect();
    median(&mut samples).unwrap_or(f64::NAN)
}

/// A case timed in batches that alternate with the floor's ([`measure_paired`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paired {
    /// Median ns per call of the case.
    pub ns: f64,
    /// Median ns per call of the floor, over the batches between the case's.
    pub floor_ns: f64,
    /// Median of each case batch's ns/op divided by the floor batch's just before it.
    pub ratio: f64,
}

/// Calls per batch of `op` so that a batch takes about `per_batch` ns, after warming it up
/// for `warm_up`.
fn calibrate(op: &mut dyn FnMut(), warm_up: Duration, per_batch: f64) -> u64 {
    let start = Instant::now();
    let mut calls: u64 = 0;
    loop {
        op();
        calls += 1;
        if start.elapsed() >= warm_up {
            break;
        }
    }
    let estimate = start.elapsed().as_nanos() as f64 / calls as f64;
    ((per_batch / estimate.max(1.0)) as u64).max(1)
}

fn batch(op: &mut dyn FnMut(), iters: u64) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        op();
    }
    t.elapsed().as_nanos() as f64 / iters as f64
}

/// `op` timed as [`measure`] does, each of its batches right after a batch of `floor` of
/// about the same length: the ratio of each pair is taken under the same conditions, so a
/// change in the machine's speed during the run (another job on a shared core) moves both
/// sides of a pair alike instead of the ratio.
pub fn measure_paired(op: &mut dyn FnMut(), floor: &mut dyn FnMut(), budget: Budget) -> Paired {
    let warm_up = budget.per_case / 10;
    let batches = budget.batches.max(1);
    let per_batch = (budget.per_case - warm_up).as_nanos() as f64 / batches as f64;
    let floor_iters = calibrate(floor, warm_up / 2, per_batch);
    let iters = calibrate(op, warm_up / 2, per_batch);
    let mut floors = Vec::with_capacity(batches);
    let mut ops = Vec::with_capacity(batches);
    let mut ratios = Vec::with_capacity(batches);
    for _ in 0..batches {
        let f = batch(floor, floor_iters);
        let o = batch(op, iters);
        floors.push(f);
        ops.push(o);
        ratios.push(o / f.max(f64::MIN_POSITIVE));
    }
    Paired {
        ns: median(&mut ops).unwrap_or(f64::NAN),
        floor_ns: median(&mut floors).unwrap_or(f64::NAN),
        ratio: median(&mut ratios).unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::{measure_paired, median, Budget};
    use std::time::Duration;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn paired_batches_alternate_and_ratio_the_two() {
        let order = std::cell::RefCell::new(Vec::new());
        let budget = Budget {
            per_case: Duration::from_millis(20),
            batches: 5,
        };
        let spin = |n: u32| (0..n).fold(0u64, |a, i| std::hint::black_box(a + u64::from(i)));
        let mut floor = || {
            order.borrow_mut().push('f');
            spin(100);
        };
        let mut op = || {
            order.borrow_mut().push('o');
            spin(300);
        };
        let paired = measure_paired(&mut op, &mut floor, budget);
        assert!(paired.ns > 0.0 && paired.floor_ns > 0.0, "{paired:?}");
        assert!(paired.ratio.is_finite() && paired.ratio > 0.0, "{paired:?}");
        // After the warm-ups (floor, then the case), the batches come in pairs: a run of
        // floor calls, then a run of the case's.
        let order = order.into_inner();
        let runs = order.chunk_by(|a, b| a == b).count();
        assert_eq!(runs, 2 + 2 * 5, "warm-ups then five pairs: {runs} runs");
    }
}
