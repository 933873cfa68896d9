//! The timing loop of `flaskcache bench --micro`: a warm-up, then batches of calls, each
//! batch giving one ns/op figure; the result is their median, which one slow batch (a
//! context switch, another process on a shared core) does not move.

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
    let warm_up = budget.per_case / 10;
    let start = Instant::now();
    let mut calls: u64 = 0;
    // Warm caches, branch predictors and allocator pools, and estimate one call's cost.
    loop {
        op();
        calls += 1;
        if start.elapsed() >= warm_up {
            break;
        }
    }
    let estimate = start.elapsed().as_nanos() as f64 / calls as f64;
    let batches = budget.batches.max(1);
    let per_batch = (budget.per_case - warm_up).as_nanos() as f64 / batches as f64;
    let iters = ((per_batch / estimate.max(1.0)) as u64).max(1);
    let mut samples: Vec<f64> = (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                op();
            }
            t.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    median(&mut samples).unwrap_or(estimate)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
