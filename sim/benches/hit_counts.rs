//! Allocations per operation of the micro-benchmark catalogue (`flaskcache bench --micro`),
//! counted with a counting global allocator; and a fixed-count runner for instruction
//! counts under valgrind. Counts do not depend on the machine's load, so they compare
//! builds where timings cannot.
//!
//! Run: `cargo bench -p flaskcache-sim --bench hit_counts` (every case, allocations per
//! operation), `-- embedded/` for the cases whose names contain that text. With
//! `--ops N` it runs each selected case N times after 1,000 warm-up operations and prints
//! nothing else: under `valgrind --tool=callgrind`, the difference between two such runs
//! (say N = 120,000 and N = 20,000) divided by 100,000 is the instructions per operation
//! (`docs/performance.md`, "What a hit costs, counted").

use flaskcache_sim::bench::micro::catalogue;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counts every allocation and reallocation, then hands it to the system allocator.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: forwarded as received; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through `alloc`/`realloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: as for `alloc`; `ptr` came from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const WARM_UP: u64 = 1_000;
const COUNTED: u64 = 10_000;

fn main() {
    let mut filter: Option<String> = None;
    let mut ops: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "--ops" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => ops = Some(n),
                None => fail("--ops needs a whole number of operations"),
            },
            other if other.starts_with('-') => fail(&format!("unknown option {other}")),
            other => filter = Some(other.to_owned()),
        }
    }
    let cases: Vec<_> = catalogue()
        .into_iter()
        .filter(|c| filter.as_deref().is_none_or(|f| c.name.contains(f)))
        .collect();
    if cases.is_empty() {
        fail("no case matches the filter");
    }
    if ops.is_none() {
        println!("{:<36} {:>12}", "case", "allocs/op");
    }
    for case in cases {
        let mut op = match (case.setup)() {
            Ok(op) => op,
            Err(why) => fail(&format!("case {}: {why}", case.name)),
        };
        for _ in 0..WARM_UP {
            op();
        }
        let n = ops.unwrap_or(COUNTED);
        let before = ALLOCATIONS.load(Relaxed);
        for _ in 0..n {
            op();
        }
        if ops.is_none() {
            let per_op = (ALLOCATIONS.load(Relaxed) - before) as f64 / n as f64;
            println!("{:<36} {per_op:>12.2}", case.name);
        }
    }
}

fn fail(why: &str) -> ! {
    eprintln!("hit_counts: {why}");
    std::process::exit(2);
}
