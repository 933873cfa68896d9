//! A soak run of flaskcache over a real Redis server: a mix of memoize hits and misses,
//! view hits and deletes at full speed, with throughput, round trips and this process's
//! memory reported at the end of the warm-up and at the end.
//!
//! ```sh
//! redis-server --port 16379 --bind 127.0.0.1 --save '' --appendonly no &
//! cargo run --release -p flaskcache-redis --example soak -- --url redis://127.0.0.1:16379 --seconds 60
//! ```
//!
//! Options: `--url URL` (default `$FLASKCACHE_REDIS_URL`, else `redis://127.0.0.1:6379/0`),
//! `--seconds N` (60), `--warmup N` (5), `--threads N` (1), `--prefix P` (`soak:`; every
//! key under it is deleted before and after the run), `--profile 2.5|2.4`.
//!
//! The workload, per operation (a fixed-seed generator per thread): 60% `price(pid)`
//! (memoized) and 25% `GET /products/<pid>` (cached view) over 1,000 products, 10%
//! `delete_memoized(price, pid)` and 5% deletes of a page, so that some calls miss. At the
//! end it measures the round trips of one memoize hit and one view hit (Flask-Caching
//! 2.5.1 and 2.4.1 make 2 and 1). Memory is `VmRSS` from `/proc/self/status`.

use flaskcache::engine::StoreFlavor;
use flaskcache::{
    request_path, Cache, CachedOptions, CachedView, MemoizeOptions, Memoized, Profile,
};
use flaskcache_redis::{RedisConfig, RedisStore};
use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PRODUCTS: u64 = 1_000;

/// The command line.
struct Args {
    url: String,
    seconds: u64,
    warmup: u64,
    threads: usize,
    prefix: String,
    profile: Profile,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: std::env::var("FLASKCACHE_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "redis://127.0.0.1:6379/0".to_owned()),
        seconds: 60,
        warmup: 5,
        threads: 1,
        prefix: "soak:".to_owned(),
        profile: Profile::FlaskCaching25,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--url" => a.url = value()?,
            "--prefix" => a.prefix = value()?,
            "--seconds" => a.seconds = number(value()?)?,
            "--warmup" => a.warmup = number(value()?)?,
            "--threads" => a.threads = number(value()?)?.max(1) as usize,
            "--profile" => {
                a.profile = match value()?.as_str() {
                    "2.5" => Profile::FlaskCaching25,
                    "2.4" => Profile::FlaskCaching24,
                    other => return Err(format!("--profile {other}: expected 2.5 or 2.4")),
                }
            }
            "-h" | "--help" => {
                return Err(
                    "usage: soak [--url URL] [--seconds N] [--warmup N] [--threads N] \
                            [--prefix P] [--profile 2.5|2.4]"
                        .into(),
                )
            }
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    if a.prefix.is_empty() {
        return Err("--prefix must not be empty (the run deletes every key under it)".into());
    }
    if a.warmup >= a.seconds {
        return Err("--warmup must be shorter than --seconds".into());
    }
    Ok(a)
}

/// This process's resident memory in KiB (`VmRSS`), or 0 where /proc is missing.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The app's cached functions.
#[derive(Clone)]
struct Shop {
    cache: Cache,
    price: Memoized<i64>,
    product: CachedView<String>,
    profile: Profile,
}

fn price_of(pid: u64) -> i64 {
    100 + (pid % 97) as i64
}

impl Shop {
    fn call_price(&self, pid: u64) -> Result<bool, String> {
        self.price
            .call_traced(&self.cache, (pid,), || Ok::<_, Infallible>(price_of(pid)))
            .map(|c| c.is_hit())
            .map_err(|e| e.to_string())
    }

    /// `delete_cached(product, path)` (2.5); `delete("view/" + path)` on 2.4, which has no
    /// `delete_cached`.
    fn delete_page(&self, pid: u64) -> Result<(), String> {
        let path = format!("/products/{pid}");
        match self.profile {
            Profile::FlaskCaching25 => self.cache.delete_cached(&self.product, &path, None),
            _ => self.cache.delete(&format!("view/{path}")),
        }
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    fn call_view(&self, pid: u64) -> Result<bool, String> {
        let path = format!("/products/{pid}");
        self.product
            .call_traced(&self.cache, &request_path(&path), || {
                Ok::<_, Infallible>(format!("product {pid} at {}", price_of(pid)))
            })
            .map(|c| c.is_hit())
            .map_err(|e| e.to_string())
    }
}

/// Counters shared by the worker threads.
#[derive(Default)]
struct Counts {
    ops: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    deletes: AtomicU64,
    errors: AtomicU64,
}

fn worker(shop: Shop, seed: u64, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    // xorshift64*: a fixed sequence per thread.
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut last_error = None;
    while !stop.load(Ordering::Relaxed) {
        let r = next();
        let pid = (r >> 8) % PRODUCTS;
        let result = match r % 100 {
            0..=59 => shop.call_price(pid).map(Some),
            60..=84 => shop.call_view(pid).map(Some),
            85..=94 => shop
                .cache
                .delete_memoized(&shop.price, (pid,))
                .map(|_| None)
                .map_err(|e| e.to_string()),
            _ => shop.delete_page(pid).map(|_| None),
        };
        let counter = match result {
            Ok(Some(true)) => &counts.hits,
            Ok(Some(false)) => &counts.misses,
            Ok(None) => &counts.deletes,
            Err(e) => {
                if last_error.as_ref() != Some(&e) {
                    eprintln!("soak: {e}");
                    last_error = Some(e);
                }
                &counts.errors
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        counts.ops.fetch_add(1, Ordering::Relaxed);
    }
}

/// Round trips of one call of `f` (the second of two: a hit).
fn trips_of_hit(store: &RedisStore, f: impl Fn() -> Result<bool, String>) -> Result<u64, String> {
    f()?;
    let before = store.round_trips();
    let hit = f()?;
    let trips = store.round_trips() - before;
    if hit {
        Ok(trips)
    } else {
        Err("the measured call missed".into())
    }
}

fn run(args: &Args) -> Result<(), String> {
    let config = RedisConfig {
        key_prefix: Some(args.prefix.clone()),
        flavor: match args.profile {
            Profile::FlaskCaching24 => StoreFlavor::Redis24,
            _ => StoreFlavor::Redis,
        },
        max_idle: args.threads.max(8),
        ..RedisConfig::new(args.url.clone())
    };
    let store = Arc::new(RedisStore::new(config).map_err(|e| e.to_string())?);
    store.ping().map_err(|e| format!("{}: {e}", args.url))?;
    store.flush_prefix().map_err(|e| e.to_string())?;
    let cache = Cache::builder()
        .profile(args.profile)
        .store(store.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let options = MemoizeOptions {
        timeout: Some(300),
        ..Default::default()
    };
    let shop = Shop {
        price: cache
            .memoize("shop_app.price", ["product_id"], options)
            .map_err(|e| e.to_string())?,
        product: cache
            .cached_view(CachedOptions {
                timeout: Some(300),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?,
        cache,
        profile: args.profile,
    };

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let rt_start = store.round_trips();
    let threads: Vec<_> = (0..args.threads)
        .map(|i| {
            let (shop, stop, counts) = (shop.clone(), stop.clone(), counts.clone());
            std::thread::spawn(move || worker(shop, 0x9e37_79b9 + i as u64, stop, counts))
        })
        .collect();
    println!(
        "soak: {} s on {} ({} thread(s), profile {:?}), rss at start {} KiB",
        args.seconds,
        args.url,
        args.threads,
        args.profile,
        rss_kib()
    );

    let mut warm = None;
    let mut last = (Instant::now(), 0u64);
    let end = start + Duration::from_secs(args.seconds);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(250).min(end - Instant::now().min(end)));
        let elapsed = start.elapsed();
        if warm.is_none() && elapsed >= Duration::from_secs(args.warmup) {
            let ops = counts.ops.load(Ordering::Relaxed);
            let rss = rss_kib();
            println!(
                "warm-up done at {:.1} s: {ops} ops, rss {rss} KiB",
                elapsed.as_secs_f64()
            );
            warm = Some((Instant::now(), ops, store.round_trips(), rss));
        }
        if last.0.elapsed() >= Duration::from_secs(10) {
            let ops = counts.ops.load(Ordering::Relaxed);
            println!(
                "  {:>4.0} s: {:.0} ops/s, rss {} KiB",
                elapsed.as_secs_f64(),
                (ops - last.1) as f64 / last.0.elapsed().as_secs_f64(),
                rss_kib()
            );
            last = (Instant::now(), ops);
        }
    }
    let rss_end = rss_kib();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        if t.join().is_err() {
            return Err("a worker thread panicked".into());
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let ops = counts.ops.load(Ordering::Relaxed);
    let trips = store.round_trips() - rt_start;
    let (warm_at, warm_ops, warm_trips, rss_warm) = warm.ok_or("the run ended before warm-up")?;
    let steady = warm_at.elapsed().as_secs_f64();
    println!(
        "ops {ops} in {elapsed:.1} s: {:.0} ops/s overall, {:.0} ops/s after warm-up",
        ops as f64 / elapsed,
        (ops - warm_ops) as f64 / steady
    );
    println!(
        "hits {}, misses {}, deletes {}, errors {}",
        counts.hits.load(Ordering::Relaxed),
        counts.misses.load(Ordering::Relaxed),
        counts.deletes.load(Ordering::Relaxed),
        counts.errors.load(Ordering::Relaxed)
    );
    println!(
        "round trips: {trips} ({:.2}/op; {:.2}/op after warm-up)",
        trips as f64 / ops.max(1) as f64,
        (store.round_trips() - warm_trips) as f64 / (ops - warm_ops).max(1) as f64
    );
    println!(
        "rss: {rss_warm} KiB at warm-up, {rss_end} KiB at the end ({:+} KiB)",
        rss_end as i64 - rss_warm as i64
    );
    let memo = trips_of_hit(&store, || shop.call_price(PRODUCTS + 1))?;
    let view = trips_of_hit(&store, || shop.call_view(PRODUCTS + 1))?;
    println!("round trips per memoize hit: {memo}, per view hit: {view}");
    store.flush_prefix().map_err(|e| e.to_string())?;
    Ok(())
}

fn main() -> ExitCode {
    match parse_args().and_then(|args| run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}
