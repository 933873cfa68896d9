//! Criterion benchmarks over the micro-benchmark catalogue of `flaskcache bench --micro`
//! (`flaskcache_sim::bench::micro`), one benchmark per case, followed by each case's
//! ratio to the floor measured in the same run.
//!
//! The ratios use medians taken here: every case is timed through `iter_custom`, which
//! records each sample's ns/iteration, and the median of the measured samples (the last
//! `sample_size` ones; the earlier ones are criterion's warm-up) is set against the floor's.
//!
//! Run: `cargo bench -p flaskcache-sim --bench hit_path` (add `-- floor` to run only
//! matching cases, as with any criterion benchmark).

use criterion::Criterion;
use flaskcache_sim::bench::micro::{catalogue, FLOOR};
use flaskcache_sim::bench::timing::median;
use std::collections::BTreeMap;
use std::time::Instant;

const SAMPLE_SIZE: usize = 100;

fn main() {
    let mut c = Criterion::default()
        .sample_size(SAMPLE_SIZE)
        .configure_from_args();
    let mut samples: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut group = c.benchmark_group("hit_path");
    for case in catalogue() {
        let mut op = match (case.setup)() {
            Ok(op) => op,
            Err(why) => {
                eprintln!("hit_path: case {}: {why}", case.name);
                std::process::exit(1);
            }
        };
        let mine = samples.entry(case.name).or_default();
        group.bench_function(case.name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    op();
                }
                let elapsed = start.elapsed();
                mine.push(elapsed.as_nanos() as f64 / iters.max(1) as f64);
                elapsed
            })
        });
    }
    group.finish();
    c.final_summary();

    let mut medians: Vec<(&str, f64)> = Vec::new();
    for (name, s) in &mut samples {
        let keep = s.len().min(SAMPLE_SIZE);
        let start = s.len() - keep;
        if let Some(m) = median(&mut s[start..]) {
            medians.push((name, m));
        }
    }
    let Some(&(_, floor)) = medians.iter().find(|(n, _)| *n == FLOOR) else {
        // Filtered out on the command line: no ratio to print.
        return;
    };
    println!("\nratio to the floor ({floor:.1} ns/op), medians of this run:");
    let order: Vec<&str> = catalogue().iter().map(|c| c.name).collect();
    for name in order {
        if let Some((_, ns)) = medians.iter().find(|(n, _)| *n == name) {
            println!("  {name:36} {ns:>10.1} ns/op  {:>7.1}x", ns / floor);
        }
    }
}
