//! A real Flask app and flaskcache on one real redis-server, both directions, profiles 2.5
//! (Flask-Caching 2.5.1) and 2.4 (2.4.1).
//!
//! The Flask side is `tests/flask_interop/shop_app.py` (`CACHE_TYPE="RedisCache"`, a
//! `CACHE_KEY_PREFIX`, a cached view, a memoized function, instance method and
//! classmethod), driven by `driver.py` in a new process each time. The Rust side registers
//! the same functions under the same names over a [`RedisStore`] with the same prefix.
//!
//! - Flask caches; Rust reads every entry (hits, same keys, equal values), invalidates one
//!   call, one view and one whole function; a new Flask process then misses exactly there
//!   and hits elsewhere.
//! - Rust caches; a new Flask process hits everywhere (its bodies do not run) and reads
//!   values equal to Rust's.
//! - Round trips of a memoize hit (function, method, classmethod) and of a view hit:
//!   Flask-Caching's (redis-py socket writes, and the server's `INFO commandstats`) against
//!   the store's own counter; ours are never more.
//!
//! The server is the one at `FLASKCACHE_REDIS_URL`, or one started here; see
//! `flask_interop/support.rs` for skips.

#[path = "flask_interop/support.rs"]
mod support;

use flaskcache::{
    request_path, Binding, Cache, CacheEvent, CachedOptions, CachedView, ClassRef, Deleted,
    FunctionDescriptor, MemoizeOptions, Memoized, Param, Profile, PyRepr, PythonVersion,
};
use flaskcache_redis::{RedisConfig, RedisStore};
use serde_json::{json, Value as Json};
use std::cell::Cell;
use std::convert::Infallible;
use std::sync::Arc;
use support::{Fc, Server};

/// The adapter over `url` with `prefix`, as Flask-Caching `fc` configures RedisCache.
fn store(url: &str, prefix: &str, fc: Fc) -> Arc<RedisStore> {
    let config = RedisConfig {
        key_prefix: Some(prefix.to_owned()),
        flavor: match fc {
            Fc::V25 => flaskcache::engine::StoreFlavor::Redis,
            Fc::V24 => flaskcache::engine::StoreFlavor::Redis24,
        },
        ..RedisConfig::new(url)
    };
    Arc::new(RedisStore::new(config).expect("connecting the RedisStore"))
}

/// The store's round trips so far.
fn round_trips(store: &RedisStore) -> u64 {
    store.round_trips()
}

fn profile(fc: Fc) -> Profile {
    match fc {
        Fc::V25 => Profile::FlaskCaching25,
        Fc::V24 => Profile::FlaskCaching24,
    }
}

/// `shop_app.Catalog('main')`.
struct Catalog;

impl PyRepr for Catalog {
    fn py_class(&self) -> ClassRef {
        ClassRef::new("shop_app", "Catalog")
    }
    fn py_repr(&self, _: PythonVersion) -> String {
        "Catalog('main')".into()
    }
}

/// The "database" of shop_app.py.
fn price_of(pid: i64) -> i64 {
    match pid {
        1 => 100,
        2 => 250,
        _ => 75,
    }
}
fn stock_of(pid: i64) -> i64 {
    match pid {
        1 => 12,
        2 => 0,
        _ => 40,
    }
}
fn discount_of(pid: i64) -> f64 {
    match pid {
        1 => 0.1,
        2 => 0.25,
        _ => 0.0,
    }
}
fn name_of(pid: i64) -> &'static str {
    match pid {
        1 => "kettle",
        2 => "teapot",
        _ => "mug",
    }
}

/// shop_app's cached functions, registered as Flask-Caching registers them.
struct Shop {
    fc: Fc,
    cache: Cache,
    store: Arc<RedisStore>,
    price: Memoized<i64>,
    stock: Memoized<i64>,
    discount: Memoized<f64>,
    product: CachedView<String>,
}

fn timeout_600() -> MemoizeOptions {
    MemoizeOptions {
        timeout: Some(600),
        ..Default::default()
    }
}

impl Shop {
    fn new(url: &str, prefix: &str, fc: Fc) -> Shop {
        let store = store(url, prefix, fc);
        let cache = Cache::builder()
            .profile(profile(fc))
            .store(store.clone())
            .build()
            .expect("a cache");
        let price = cache
            .memoize("shop_app.price", ["product_id"], timeout_600())
            .expect("price");
        let stock = FunctionDescriptor::new(
            "shop_app",
            "Catalog.stock",
            vec![Param::required("self"), Param::required("product_id")],
            Binding::InstanceMethod,
        )
        .expect("Catalog.stock");
        let stock = cache.memoize_fn(stock, timeout_600()).expect("stock");
        let discount = FunctionDescriptor::new(
            "shop_app",
            "Catalog.discount",
            vec![Param::required("cls"), Param::required("product_id")],
            Binding::ClassMethod,
        )
        .expect("Catalog.discount");
        let discount = cache.memoize_fn(discount, timeout_600()).expect("discount");
        let product = cache
            .cached_view(CachedOptions {
                timeout: Some(600),
                ..Default::default()
            })
            .expect("product view");
        Shop {
            fc,
            cache,
            store,
            price,
            stock,
            discount,
            product,
        }
    }

    /// Calls `name(arg)` as driver.py does, with the Rust body (counted in `ran`): its
    /// value as JSON, whether it was a hit, and the key read.
    fn call(&self, name: &str, pid: i64, ran: &Cell<u32>) -> (Json, bool, String) {
        let body_ran = || ran.set(ran.get() + 1);
        let (value, event) = match name {
            "price" => {
                let c = self
                    .price
                    .call_traced(&self.cache, (pid,), || {
                        body_ran();
                        Ok::<_, Infallible>(price_of(pid))
                    })
                    .expect("price");
                (json!(c.value), c.event)
            }
            "stock" => {
                let c = self
                    .stock
                    .on_instance(&Catalog)
                    .call_traced(&self.cache, (pid,), || {
                        body_ran();
                        Ok::<_, Infallible>(stock_of(pid))
                    })
                    .expect("stock");
                (json!(c.value), c.event)
            }
            "discount" => {
                let c = self
                    .discount
                    .on_class(ClassRef::new("shop_app", "Catalog"))
                    .call_traced(&self.cache, (pid,), || {
                        body_ran();
                        Ok::<_, Infallible>(discount_of(pid))
                    })
                    .expect("discount");
                (json!(c.value), c.event)
            }
            "view" => {
                let path = format!("/products/{pid}");
                let c = self
                    .product
                    .call_traced(&self.cache, &request_path(&path), || {
                        body_ran();
                        // The view shows the price through the memoized function.
                        let price = self
                            .price
                            .call(&self.cache, (pid,), || Ok::<_, Infallible>(price_of(pid)))?;
                        Ok::<_, flaskcache::CallError<Infallible>>(format!(
                            "product {pid}: {} at {price}",
                            name_of(pid)
                        ))
                    })
                    .expect("view");
                (json!(c.value), c.event)
            }
            other => panic!("unknown function {other}"),
        };
        match event {
            CacheEvent::Hit { key } => (value, true, key),
            CacheEvent::Miss { key, stored: true } => (value, false, key),
            other => panic!("{name}({pid}): unexpected {other:?}"),
        }
    }

    /// `delete_cached(product, path)` on 2.5; `delete("view//products/N")` on 2.4 (which
    /// has no `delete_cached`).
    fn delete_view(&self, pid: i64) -> Deleted {
        let path = format!("/products/{pid}");
        match self.fc {
            Fc::V25 => self.cache.delete_cached(&self.product, &path, None),
            Fc::V24 => self.cache.delete(&format!("view/{path}")),
        }
        .expect("deleting the view")
    }
}

/// driver.py's CALLS, in its order.
const CALLS: [(&str, i64); 9] = [
    ("price", 1),
    ("price", 2),
    ("price", 3),
    ("stock", 1),
    ("stock", 2),
    ("discount", 1),
    ("discount", 2),
    ("view", 1),
    ("view", 2),
];

fn call_name(name: &str, pid: i64) -> String {
    format!("{name}({pid})")
}

/// The driver's calls, checked against CALLS, as (value, hit, key).
fn flask_calls(out: &Json, fc: Fc) -> Vec<(Json, bool, String)> {
    assert_eq!(out["flask_caching"], fc.version(), "{out}");
    assert_eq!(out["errors"], 0, "Flask-Caching logged errors: {out}");
    let calls = out["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), CALLS.len());
    calls
        .iter()
        .zip(CALLS)
        .map(|(c, (name, pid))| {
            assert_eq!(c["call"], call_name(name, pid));
            let key = c["key"].as_str().expect("the key Flask read").to_owned();
            (c["value"].clone(), c["hit"].as_bool().expect("hit"), key)
        })
        .collect()
}

fn setup(fc: Fc, direction: &str) -> Option<(Server, std::path::PathBuf, String)> {
    let py = fc.python()?;
    let server = Server::acquire()?;
    let prefix = format!("shop-{}-{direction}:", fc.name());
    support::clear(&server.url(), &prefix);
    Some((server, py, prefix))
}

fn flask_caches_then_rust_reads_and_invalidates(fc: Fc) {
    let _serial = support::serial();
    let Some((server, py, prefix)) = setup(fc, "flask-first") else {
        return;
    };
    let url = server.url();

    // 1. Flask caches everything (a new process: all misses).
    let first = flask_calls(&support::driver(&py, "calls", &url, &prefix, &[]), fc);
    for ((_, hit, _), (name, pid)) in first.iter().zip(CALLS) {
        assert!(!hit, "{}: a hit on an empty cache", call_name(name, pid));
    }
    let stored = support::keys(&url, &prefix);

    // 2. Rust reads every entry: hits, the keys Flask read, the values Flask computed.
    let shop = Shop::new(&url, &prefix, fc);
    let ran = Cell::new(0);
    for ((value, _, key), (name, pid)) in first.iter().zip(CALLS) {
        let (v, hit, k) = shop.call(name, pid, &ran);
        assert!(
            hit,
            "{}: Rust missed what Flask cached",
            call_name(name, pid)
        );
        assert_eq!(&k, key, "{}: another key", call_name(name, pid));
        assert_eq!(&v, value, "{}: another value", call_name(name, pid));
    }
    assert_eq!(ran.get(), 0, "a Rust body ran on a hit");
    assert_eq!(support::keys(&url, &prefix), stored, "reading wrote keys");

    // 3. Rust invalidates one call, one view and one whole function.
    let removed = shop
        .cache
        .delete_memoized(&shop.price, (2,))
        .expect("delete_memoized");
    assert_eq!(
        removed,
        Deleted::Entry {
            key: first[1].2.clone(),
            existed: Some(true)
        }
    );
    assert_eq!(
        shop.delete_view(1),
        Deleted::Entry {
            key: "view//products/1".into(),
            existed: Some(true)
        }
    );
    let reset = shop
        .cache
        .delete_memoized_all(&shop.stock)
        .expect("delete_memoized_all");
    assert_eq!(
        reset,
        Deleted::AllResults {
            version_key: "shop_app.Catalog.stock_memver".into()
        }
    );

    // 4. A new Flask process misses exactly there and hits elsewhere.
    let second = flask_calls(&support::driver(&py, "calls", &url, &prefix, &[]), fc);
    let invalidated = ["price(2)", "stock(1)", "stock(2)", "view(1)"];
    for (((value, hit, key), (old_value, _, old_key)), (name, pid)) in
        second.iter().zip(&first).zip(CALLS)
    {
        let call = call_name(name, pid);
        let expect_hit = !invalidated.contains(&call.as_str());
        assert_eq!(
            *hit, expect_hit,
            "{call}: Flask hit={hit} after Rust's deletes"
        );
        assert_eq!(value, old_value, "{call}: another value");
        if name == "stock" {
            assert_ne!(key, old_key, "{call}: the function's version was not reset");
        } else {
            assert_eq!(key, old_key, "{call}: another key");
        }
    }

    // 5. And Rust reads what Flask re-cached.
    for ((value, _, key), (name, pid)) in second.iter().zip(CALLS) {
        let (v, hit, k) = shop.call(name, pid, &ran);
        assert!(
            hit && &k == key && &v == value,
            "{}: {v} {hit} {k}",
            call_name(name, pid)
        );
    }
    assert_eq!(ran.get(), 0, "a Rust body ran on a hit");
    support::clear(&url, &prefix);
}

fn rust_caches_then_flask_reads(fc: Fc) {
    let _serial = support::serial();
    let Some((server, py, prefix)) = setup(fc, "rust-first") else {
        return;
    };
    let url = server.url();

    // 1. Rust caches everything with its own bodies.
    let shop = Shop::new(&url, &prefix, fc);
    let ran = Cell::new(0);
    let mut rust = Vec::new();
    for (name, pid) in CALLS {
        let (v, hit, k) = shop.call(name, pid, &ran);
        assert!(!hit, "{}: a hit on an empty cache", call_name(name, pid));
        rust.push((v, k));
    }
    assert_eq!(ran.get(), CALLS.len() as u32);

    // 2. A new Flask process hits everywhere: its bodies do not run, the values are Rust's.
    let flask = flask_calls(&support::driver(&py, "calls", &url, &prefix, &[]), fc);
    for (((value, hit, key), (v, k)), (name, pid)) in flask.iter().zip(&rust).zip(CALLS) {
        let call = call_name(name, pid);
        assert!(hit, "{call}: Flask missed what Rust cached");
        assert_eq!(value, v, "{call}: another value");
        assert_eq!(key, k, "{call}: another key");
    }
    support::clear(&url, &prefix);
}

fn round_trips_never_more_than_flask_caching(fc: Fc) {
    let _serial = support::serial();
    let Some((server, py, prefix)) = setup(fc, "round-trips") else {
        return;
    };
    let url = server.url();
    const REPEAT: u64 = 50;
    let flask = support::driver(
        &py,
        "roundtrips",
        &url,
        &prefix,
        &["--repeat", &REPEAT.to_string()],
    );
    assert_eq!(flask["flask_caching"], fc.version(), "{flask}");

    let shop = Shop::new(&url, &prefix, fc);
    let ran = Cell::new(0);
    let mut info = support::connect(&url);
    let mut rows = Vec::new();
    for (name, pid) in [("price", 1), ("stock", 1), ("discount", 1), ("view", 1)] {
        shop.call(name, pid, &ran);
        shop.call(name, pid, &ran);
        let before = (round_trips(&shop.store), support::commands(&mut info));
        for _ in 0..REPEAT {
            let (_, hit, _) = shop.call(name, pid, &ran);
            assert!(hit, "{name}({pid}) missed");
        }
        let ours = (round_trips(&shop.store) - before.0) as f64 / REPEAT as f64;
        let our_commands = (support::commands(&mut info) - before.1) as f64 / REPEAT as f64;
        let theirs = &flask[name];
        assert_eq!(
            theirs["hits"], REPEAT,
            "{name}: Flask-Caching missed: {flask}"
        );
        let their_rt = theirs["round_trips_per_hit"].as_f64().expect("round trips");
        let their_commands = theirs["commands_per_hit"].as_f64().expect("commands");
        println!(
            "round trips per {name} hit (profile {}): Flask-Caching {their_rt} ({their_commands} commands), flaskcache {ours} ({our_commands} commands)",
            fc.name()
        );
        assert!(
            ours <= their_rt,
            "{name}: {ours} round trips per hit, Flask-Caching needs {their_rt}"
        );
        assert!(
            our_commands <= their_commands,
            "{name}: {our_commands} commands per hit, Flask-Caching sends {their_commands}"
        );
        rows.push((name, their_rt, ours));
    }
    // The measured figures themselves: a memoize hit is MGET (versions) + GET, a view hit
    // one GET, in Flask-Caching; the store must not need more.
    for (name, theirs, _) in &rows {
        let expected = if *name == "view" { 1.0 } else { 2.0 };
        assert_eq!(*theirs, expected, "Flask-Caching's {name} hit changed");
    }
    support::clear(&url, &prefix);
}

#[test]
fn flask_25_caches_rust_reads_and_invalidates() {
    flask_caches_then_rust_reads_and_invalidates(Fc::V25);
}

#[test]
fn flask_24_caches_rust_reads_and_invalidates() {
    flask_caches_then_rust_reads_and_invalidates(Fc::V24);
}

#[test]
fn rust_caches_flask_25_reads() {
    rust_caches_then_flask_reads(Fc::V25);
}

#[test]
fn rust_caches_flask_24_reads() {
    rust_caches_then_flask_reads(Fc::V24);
}

#[test]
fn round_trips_per_hit_never_exceed_flask_caching_25() {
    round_trips_never_more_than_flask_caching(Fc::V25);
}

#[test]
fn round_trips_per_hit_never_exceed_flask_caching_24() {
    round_trips_never_more_than_flask_caching(Fc::V24);
}

/// `examples/invalidate_after_write.rs`, as `cargo test` builds it (next to this test's
/// `deps/` directory).
fn worker_example() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().expect("the test's path");
    let path = exe
        .parent()?
        .parent()?
        .join("examples/invalidate_after_write");
    if path.is_file() {
        Some(path)
    } else {
        support::skip(
            "FLASKCACHE_REQUIRE_REDIS_SERVER",
            &format!(
                "{} is not built (cargo test builds examples; or cargo build --release -p flaskcache-redis --examples)",
                path.display()
            ),
        );
        None
    }
}

/// The README's worker: Flask caches from the JSON database; the worker writes a price and
/// invalidates; a new Flask process misses exactly for that product and shows the new price.
fn worker_invalidates_after_a_write(fc: Fc) {
    let _serial = support::serial();
    let Some(worker) = worker_example() else {
        return;
    };
    let Some((server, py, prefix)) = setup(fc, "worker") else {
        return;
    };
    let url = server.url();
    let db = std::env::temp_dir().join(format!(
        "flaskcache-shop-db-{}-{}.json",
        std::process::id(),
        fc.name()
    ));
    std::fs::write(&db, r#"{"1": 100, "2": 250, "3": 75}"#).expect("writing the database");
    let env = [("SHOP_DB", db.as_path())];

    let first = flask_calls(
        &support::driver_env(&py, "calls", &url, &prefix, &[], &env),
        fc,
    );
    assert!(
        first.iter().all(|(_, hit, _)| !hit),
        "hits on an empty cache"
    );

    let out = std::process::Command::new(&worker)
        .args(["--url", &url, "--prefix", &prefix, "--profile", fc.name()])
        .arg("--db")
        .arg(&db)
        .args(["--set", "1=120"])
        .output()
        .expect("running the worker example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the worker failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("deleted view//products/1"), "{stdout}");
    assert!(
        stdout.contains(&format!("deleted {}", first[0].2)),
        "{stdout}"
    );

    let second = flask_calls(
        &support::driver_env(&py, "calls", &url, &prefix, &[], &env),
        fc,
    );
    for (((value, hit, _), (old, _, _)), (name, pid)) in second.iter().zip(&first).zip(CALLS) {
        let call = call_name(name, pid);
        match call.as_str() {
            "price(1)" => assert_eq!((value, *hit), (&json!(120), false), "{call}"),
            "view(1)" => assert_eq!(
                (value, *hit),
                (&json!("product 1: kettle at 120"), false),
                "{call}"
            ),
            _ => assert_eq!((value, *hit), (old, true), "{call}"),
        }
    }
    let _ = std::fs::remove_file(&db);
    support::clear(&url, &prefix);
}

#[test]
fn worker_example_invalidates_the_flask_25_app_after_a_write() {
    worker_invalidates_after_a_write(Fc::V25);
}

#[test]
fn worker_example_invalidates_the_flask_24_app_after_a_write() {
    worker_invalidates_after_a_write(Fc::V24);
}
