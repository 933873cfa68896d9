//! How long `parse_trace` takes on synthetic traces of growing size (`support/synthetic.rs`):
//! reading must stay linear in declarations and events, so the throughput (records, i.e.
//! declarations plus events, per second) should be about the same at every size. Each case
//! is `N+N`: N declarations and N events (nested ones included).
//!
//! ```text
//! cargo bench -p flaskcache-sim --bench trace_parse
//! FLASKCACHE_BENCH_1M=1 cargo bench -p flaskcache-sim --bench trace_parse   # adds 1e6 + 1e6
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use flaskcache_sim::trace::parse_trace;
use std::hint::black_box;
use std::time::Duration;

mod support {
    pub mod synthetic;
}
use support::synthetic::synthetic_trace;

fn trace_parse(c: &mut Criterion) {
    let mut sizes = vec![10_000usize, 100_000];
    if std::env::var_os("FLASKCACHE_BENCH_1M").is_some() {
        sizes.push(1_000_000);
    }
    let mut group = c.benchmark_group("parse_trace");
    group.sample_size(10);
    for n in sizes {
        // n declarations and n events; ten samples take about 12 s per 100,000 of each.
        let text = synthetic_trace(n, n);
        group.measurement_time(Duration::from_secs((n as u64 / 4_000).max(10)));
        group.throughput(Throughput::Elements(2 * n as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{n}+{n}")),
            &text,
            |b, text| {
                b.iter(|| match parse_trace(black_box(text)) {
                    Ok(trace) => trace.records.len(),
                    Err(e) => panic!("the synthetic trace does not read: {e}"),
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, trace_parse);
criterion_main!(benches);
