//! Memoize-hit throughput of the thread-safe cache at 1, 2, 4 and 8 threads, and the
//! single-thread hit latency.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use flaskcache::{Cache, MemoizeOptions, Memoized};
use std::convert::Infallible;
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

const KEYS: i64 = 64;
const HITS_PER_THREAD: u64 = 2_000;

fn warm() -> (Cache, Memoized<String>) {
    let cache = Cache::new().expect("cache");
    let get = cache
        .memoize(
            "app.models.get_student",
            ["sid"],
            MemoizeOptions {
                timeout: Some(3600),
                ..Default::default()
            },
        )
        .expect("memoize");
    for sid in 0..KEYS {
        get.call(&cache, (sid,), || {
            Ok::<_, Infallible>(format!("student {sid}"))
        })
        .expect("warm");
    }
    (cache, get)
}

fn hit(cache: &Cache, get: &Memoized<String>, sid: i64) {
    let v = get
        .call(cache, (sid,), || Ok::<_, Infallible>(String::new()))
        .expect("hit");
    black_box(v);
}

fn single_hit(c: &mut Criterion) {
    let (cache, get) = warm();
    let mut sid = 0;
    c.bench_function("memoize_hit/latency", |b| {
        b.iter(|| {
            sid = (sid + 1) % KEYS;
            hit(&cache, &get, sid);
        })
    });
}

fn threaded_hits(c: &mut Criterion) {
    let (cache, get) = warm();
    let mut group = c.benchmark_group("memoize_hit/threads");
    for threads in [1u64, 2, 4, 8] {
        group.throughput(Throughput::Elements(threads * HITS_PER_THREAD));
        group.bench_with_input(BenchmarkId::from_parameter(threads), &threads, |b, &n| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Barrier::new(n as usize + 1);
                    let elapsed = std::thread::scope(|s| {
                        for t in 0..n {
                            let (cache, get, start) = (&cache, &get, &start);
                            s.spawn(move || {
                                start.wait();
                                for i in 0..HITS_PER_THREAD {
                                    hit(cache, get, (t as i64 * 7 + i as i64) % KEYS);
                                }
                            });
                        }
                        start.wait();
                        Instant::now()
                    })
                    .elapsed();
                    total += elapsed;
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, single_hit, threaded_hits);
criterion_main!(benches);
