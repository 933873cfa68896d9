//! Memoize-hit throughput of the thread-safe cache at 1, 2, 4 and 8 threads, the
//! single-thread hit latency, and the floor it is compared with: the work no memoize hit can
//! avoid (one sha256 of the key text, its base64 head, and two lookups in an index hashed as
//! the store's is).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use flaskcache::engine::keys::HashMethod;
use flaskcache::engine::store::FixedFoldState;
use flaskcache::{Cache, MemoizeOptions, Memoized};
use std::collections::HashMap;
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

/// The floor of a hit: `B64_16(sha256(text))` of the same key text as the hit's, the version
/// appended, then the two lookups a hit makes (the version key, then the key) in a hashbrown
/// index with the store's hasher (std's `HashMap` is hashbrown).
fn floor(c: &mut Criterion) {
    const NAME: &str = "app.models.get_student";
    let (cache, _get) = warm();
    let version_key = format!("{NAME}_memver");
    let version: String = cache.get(&version_key).expect("version");
    let texts: Vec<String> = (0..KEYS)
        .map(|sid| format!("{NAME}({sid},)OrderedDict()"))
        .collect();
    let mut index: HashMap<String, usize, FixedFoldState> = HashMap::with_hasher(FixedFoldState);
    index.insert(version_key.clone(), 0);
    for (i, text) in texts.iter().enumerate() {
        let mut key = String::new();
        let mut h = HashMethod::Sha256.hasher();
        h.update(text.as_bytes());
        h.finish().write_b64_16(&mut key);
        key.push_str(&version);
        // The key is the one the cache wrote.
        let cached: Option<String> = cache.get(&key).expect("get");
        assert_eq!(cached, Some(format!("student {i}")));
        index.insert(key, i + 1);
    }
    let mut key = String::with_capacity(32);
    let mut sid = 0;
    c.bench_function("floor", |b| {
        b.iter(|| {
            sid = (sid + 1) % KEYS as usize;
            let found = black_box(index.get(black_box(version_key.as_str())).copied());
            key.clear();
            let mut h = HashMethod::Sha256.hasher();
            h.update(black_box(texts[sid].as_bytes()));
            h.finish().write_b64_16(&mut key);
            key.push_str(&version);
            black_box((found, index.get(key.as_str()).copied()));
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

criterion_group!(benches, single_hit, floor, threaded_hits);
criterion_main!(benches);
