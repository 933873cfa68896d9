//! Bytes per cached entry of `MemoryStore` beyond the bytes its keys and values need,
//! measured with a counting global allocator, and the time of `set` and `get` at the same
//! store sizes.
//!
//! What counts as the entry's own bytes: the stored key's UTF-8 length, plus
//! `size_of::<Value>()` and the heap bytes the value owns (what the allocator is asked for
//! when the value is cloned). Everything else the store allocates is overhead: key headers,
//! expiry, slot layout, tombstone room, spare vector capacity, the hash index.
//!
//! `cargo bench --bench store_memory`; `FLASKCACHE_BENCH_QUICK=1` stops at 10^5 entries.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use flaskcache::engine::keys::{HashMethod, VersionGenerator};
use flaskcache::engine::store::{MemoryStore, StoreConfig, Timestamp};
use flaskcache::engine::Value;

#[path = "support/timing.rs"]
mod timing;
use timing::{shuffled, time_ns};

/// Counts the bytes requested from the system allocator, and what glibc's malloc would
/// hand out for them (its chunk rounding), so that live heap use can be read at any point.
struct Counting;

static REQUESTED: AtomicUsize = AtomicUsize::new(0);
static CHUNKED: AtomicUsize = AtomicUsize::new(0);

/// glibc malloc on 64-bit: an 8-byte header, 16-byte granules, 32 bytes at least. Only an
/// estimate of real use beside the exact requested count.
fn chunk(size: usize) -> usize {
    ((size + 8 + 15) & !15).max(32)
}

// SAFETY: every call forwards to `System` with the same arguments; the counters are plain
// statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            REQUESTED.fetch_add(layout.size(), Ordering::Relaxed);
            CHUNKED.fetch_add(chunk(layout.size()), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        REQUESTED.fetch_sub(layout.size(), Ordering::Relaxed);
        CHUNKED.fetch_sub(chunk(layout.size()), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            REQUESTED.fetch_sub(layout.size(), Ordering::Relaxed);
            REQUESTED.fetch_add(new_size, Ordering::Relaxed);
            CHUNKED.fetch_sub(chunk(layout.size()), Ordering::Relaxed);
            CHUNKED.fetch_add(chunk(new_size), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> (usize, usize) {
    (
        REQUESTED.load(Ordering::Relaxed),
        CHUNKED.load(Ordering::Relaxed),
    )
}

const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

/// `n` realistic entries: half plain memoize keys (16 base64 characters of a sha256 and a
/// 6-character version) with int values, a quarter instance-method keys (a second,
/// per-instance version) with short strings, a quarter view keys `view//path` with short
/// HTML strings.
fn entries(n: usize) -> Vec<(String, Value)> {
    let mut versions = VersionGenerator::new(7);
    let function = versions.next_version();
    let method = versions.next_version();
    (0..n)
        .map(|i| {
            let memoize_key = |text: String, versions: &[&str]| {
                let mut h = HashMethod::Sha256.hasher();
                h.update(text.as_bytes());
                let mut key = String::new();
                h.finish().write_b64_16(&mut key);
                for v in versions {
                    key.push_str(v);
                }
                key
            };
            match i % 4 {
                0 | 1 => (
                    memoize_key(
                        format!("app.models.get_student({i},)OrderedDict()"),
                        &[function.as_str()],
                    ),
                    Value::int(i as i64 * 37),
                ),
                2 => {
                    let instance = versions.next_version();
                    (
                        memoize_key(
                            format!("app.models.Student.grade(Student({i}), 'math')OrderedDict()"),
                            &[method.as_str(), instance.as_str()],
                        ),
                        Value::str(["A", "B+", "C-"][i % 3]),
                    )
                }
                _ => (
                    format!("view//students/{i}"),
                    Value::str(format!("<p>student {i}</p>")),
                ),
            }
        })
        .collect()
}

fn store() -> MemoryStore {
    MemoryStore::new(StoreConfig {
        // Never prune: every entry stays.
        threshold: usize::MAX,
        ..StoreConfig::default()
    })
}

/// One row of the memory table.
struct Memory {
    n: usize,
    key_bytes: usize,
    value_bytes: usize,
    heap: usize,
    chunked: usize,
}

impl Memory {
    fn overhead(&self) -> f64 {
        (self.heap as f64 - (self.key_bytes + self.value_bytes) as f64) / self.n as f64
    }

    fn overhead_chunked(&self) -> f64 {
        (self.chunked as f64 - (self.key_bytes + self.value_bytes) as f64) / self.n as f64
    }
}

fn measure_memory(items: &[(String, Value)]) -> (Memory, MemoryStore) {
    let (heap0, chunked0) = live();
    let mut s = store();
    let mut key_bytes = 0;
    let mut value_bytes = 0;
    for (key, value) in items {
        let before = live().0;
        let value = value.clone();
        value_bytes += std::mem::size_of::<Value>() + (live().0 - before);
        key_bytes += key.len();
        s.set(key, value, Some(300), NOW);
    }
    let (heap1, chunked1) = live();
    let m = Memory {
        n: items.len(),
        key_bytes,
        value_bytes,
        heap: heap1 - heap0,
        chunked: chunked1 - chunked0,
    };
    (m, s)
}

/// Nanoseconds per operation: `set` of new keys (a store filled from empty, in batches, so
/// growth is included), `get` of stored keys and `set` over stored keys, both in shuffled
/// order; 400,000 operations each.
fn measure_time(items: &[(String, Value)]) -> (f64, f64, f64) {
    const OPS: usize = 400_000;
    let n = items.len();
    let order = shuffled(n);
    let mut s = store();
    let mut filled = 0usize;
    // Full stores are dropped after the timing, not inside a batch.
    let mut full = Vec::new();
    let set_new = time_ns(OPS, &order, |_| {
        if filled == n {
            // Start over: every key is new again.
            full.push(std::mem::replace(&mut s, store()));
            filled = 0;
        }
        if let Some((key, value)) = items.get(filled) {
            s.set(key, value.clone(), Some(300), NOW);
        }
        filled += 1;
    });
    drop(full);
    let mut s = store();
    for (key, value) in items {
        s.set(key, value.clone(), Some(300), NOW);
    }
    let get = time_ns(OPS, &order, |i| {
        black_box(s.get(black_box(&items[i].0), NOW));
    });
    let set_existing = time_ns(OPS, &order, |i| {
        let (key, value) = &items[i];
        s.set(black_box(key), value.clone(), Some(300), NOW);
    });
    (set_new, get, set_existing)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let quick = std::env::var_os("FLASKCACHE_BENCH_QUICK").is_some_and(|v| v != "0");
    let sizes: &[usize] = if quick {
        &[1_000, 10_000, 100_000]
    } else {
        &[1_000, 10_000, 100_000, 1_000_000]
    };
    println!(
        "MemoryStore memory per entry (size_of::<Value>() = {} bytes)\n",
        std::mem::size_of::<Value>()
    );
    println!(
        "| entries | key bytes/entry | value bytes/entry | store heap bytes/entry | \
         overhead bytes/entry | overhead with glibc chunks (est.) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut times = Vec::new();
    for &n in sizes {
        let items = entries(n);
        let (m, s) = measure_memory(&items);
        drop(s);
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            n,
            m.key_bytes as f64 / n as f64,
            m.value_bytes as f64 / n as f64,
            m.heap as f64 / n as f64,
            m.overhead(),
            m.overhead_chunked(),
        );
        times.push((n, measure_time(&items)));
    }
    println!("\nMemoryStore time per operation (ns, lower quartile of 500-operation batches)\n");
    println!("| entries | set (new key) | get (hit) | set (existing key) |");
    println!("|---:|---:|---:|---:|");
    for (n, (set_new, get, set_existing)) in times {
        println!("| {n} | {set_new:.1} | {get:.1} | {set_existing:.1} |");
    }
}
