//! redis-server killed in the middle of a workload and restarted on the same port, once
//! with Flask-Caching (shop_app.py through `driver.py serve`, a real Flask app on
//! RedisCache) and once with flaskcache over a [`RedisStore`], each against its own server
//! going through the same stops and starts.
//!
//! While the server is down every call is served uncached (the body's fresh value), the
//! failure is logged (a diagnostic on the Rust side, `logger.exception` on Flask's) and
//! nothing panics; deletes sent meanwhile raise (in both) and are lost. When it is back, caching resumes.
//! A value is *stale* when it differs from the database's at the time of the call: every
//! stale value flaskcache serves, Flask-Caching serves at the same step too.
//!
//! Two servers: one that keeps its data over the restart (`--appendonly yes
//! --appendfsync always`: the invalidations lost during the outage leave stale entries
//! behind, for both), and one that does not (`--save '' --appendonly no`: it comes back
//! empty).

#[path = "flask_interop/support.rs"]
mod support;

use flaskcache::{
    request_path, Cache, CacheEvent, CachedOptions, CachedView, DiagnosticsMode, MemoizeOptions,
    Memoized, Profile,
};
use flaskcache_redis::{RedisConfig, RedisStore};
use serde_json::{json, Value as Json};
use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use support::{Fc, OwnServer};

/// One step of the workload.
#[derive(Clone, Copy, Debug)]
enum Step {
    Price(i64),
    View(i64),
    /// The database write: product, new price.
    Write(i64, i64),
    DeletePrice(i64),
    DeleteView(i64),
    Stop,
    Restart,
}

use Step::*;

const WORKLOAD: &[Step] = &[
    Price(1),
    Price(1),
    View(1),
    View(1),
    Price(2),
    Stop,
    Price(1),
    View(1),
    Write(1, 120),
    DeletePrice(1),
    DeleteView(1),
    Price(1),
    Price(2),
    Restart,
    Price(1),
    View(1),
    Price(2),
    Write(1, 130),
    DeletePrice(1),
    DeleteView(1),
    Price(1),
    View(1),
    Price(1),
    View(1),
];

/// What a call step served.
#[derive(Clone, Debug, PartialEq)]
struct Served {
    value: Json,
    hit: bool,
    /// Errors logged during the step.
    errors: u64,
    /// Whether the value differs from the database's at that moment.
    stale: bool,
    /// A delete step: whether it raised (the value is `null`).
    raised: bool,
}

fn db_price(db: &HashMap<i64, i64>, pid: i64) -> i64 {
    db.get(&pid).copied().unwrap_or(75)
}

fn initial_db() -> HashMap<i64, i64> {
    HashMap::from([(1, 100), (2, 250), (3, 75)])
}

fn name_of(pid: i64) -> &'static str {
    match pid {
        1 => "kettle",
        2 => "teapot",
        _ => "mug",
    }
}

fn view_text(pid: i64, price: i64) -> String {
    format!("product {pid}: {} at {price}", name_of(pid))
}

/// What the database says a call should return now.
fn fresh(db: &HashMap<i64, i64>, step: Step) -> Json {
    match step {
        Price(p) => json!(db_price(db, p)),
        View(p) => json!(view_text(p, db_price(db, p))),
        _ => Json::Null,
    }
}

fn server_args(persistent: bool) -> &'static [&'static str] {
    if persistent {
        &["--appendonly", "yes", "--appendfsync", "always"]
    } else {
        &[]
    }
}

/// The workload on Flask-Caching: one result per step (`None` for non-call steps).
fn run_flask(py: &std::path::Path, persistent: bool) -> Vec<Option<Served>> {
    let mut server =
        OwnServer::start(support::free_port(), server_args(persistent)).expect("redis-server");
    let url = server.url();
    let mut flask = support::Served::start(py, &url, "shop-fault:");
    let mut db = initial_db();
    let mut out = Vec::new();
    for &step in WORKLOAD {
        let reply = match step {
            Price(p) => flask.send(json!({"op": "call", "fn": "price", "arg": p})),
            View(p) => flask.send(json!({"op": "view", "arg": p})),
            Write(p, v) => {
                db.insert(p, v);
                flask.send(json!({"op": "write", "arg": p, "value": v}))
            }
            DeletePrice(p) => flask.send(json!({"op": "delete_memoized", "fn": "price", "arg": p})),
            DeleteView(p) => flask.send(json!({"op": "delete_view", "arg": p})),
            Stop => {
                server.stop();
                out.push(None);
                continue;
            }
            Restart => {
                server.restart().expect("restarting redis-server");
                out.push(None);
                continue;
            }
        };
        let errors = reply["errors"].as_u64().expect("errors");
        out.push(match step {
            Price(_) | View(_) => {
                let value = reply["value"].clone();
                Some(Served {
                    stale: value != fresh(&db, step),
                    value,
                    hit: reply["hit"].as_bool().expect("hit"),
                    errors,
                    raised: false,
                })
            }
            DeletePrice(_) | DeleteView(_) => Some(Served {
                value: Json::Null,
                hit: false,
                errors,
                stale: false,
                raised: reply.get("raised").is_some(),
            }),
            _ => None,
        });
    }
    out
}

/// The workload on flaskcache over a RedisStore.
fn run_rust(fc: Fc, persistent: bool) -> Vec<Option<Served>> {
    let mut server =
        OwnServer::start(support::free_port(), server_args(persistent)).expect("redis-server");
    let config = RedisConfig {
        key_prefix: Some("shop-fault:".into()),
        connect_timeout: Duration::from_millis(500),
        io_timeout: Duration::from_millis(500),
        ..RedisConfig::new(server.url())
    };
    let store = Arc::new(RedisStore::new(config).expect("a RedisStore"));
    let cache = Cache::builder()
        .profile(match fc {
            Fc::V25 => Profile::FlaskCaching25,
            Fc::V24 => Profile::FlaskCaching24,
        })
        .store(store)
        .diagnostics(DiagnosticsMode::LogAndBuffer)
        .build()
        .expect("a cache");
    let options = MemoizeOptions {
        timeout: Some(600),
        ..Default::default()
    };
    let price: Memoized<i64> = cache
        .memoize("shop_app.price", ["product_id"], options)
        .expect("price");
    let product: CachedView<String> = cache
        .cached_view(CachedOptions {
            timeout: Some(600),
            ..Default::default()
        })
        .expect("view");
    let db = RefCell::new(initial_db());
    let mut out = Vec::new();
    for &step in WORKLOAD {
        let result = match step {
            Price(p) => {
                let c = price
                    .call_traced(&cache, (p,), || {
                        Ok::<_, Infallible>(db_price(&db.borrow(), p))
                    })
                    .expect("a price call never fails: errors are logged, the body runs");
                Some((json!(c.value), c.event, false))
            }
            View(p) => {
                let c = product
                    .call_traced(&cache, &request_path(&format!("/products/{p}")), || {
                        let v = price.call(&cache, (p,), || {
                            Ok::<_, Infallible>(db_price(&db.borrow(), p))
                        })?;
                        Ok::<_, flaskcache::CallError<Infallible>>(view_text(p, v))
                    })
                    .expect("a view call never fails: errors are logged, the body runs");
                Some((json!(c.value), c.event, false))
            }
            Write(p, v) => {
                db.borrow_mut().insert(p, v);
                None
            }
            // Both raise what the backend raises, as in Flask-Caching.
            DeletePrice(p) => {
                let raised = cache.delete_memoized(&price, (p,)).is_err();
                Some((Json::Null, CacheEvent::Direct, raised))
            }
            DeleteView(p) => {
                let raised = cache.delete(&format!("view//products/{p}")).is_err();
                Some((Json::Null, CacheEvent::Direct, raised))
            }
            Stop => {
                server.stop();
                None
            }
            Restart => {
                server.restart().expect("restarting redis-server");
                None
            }
        };
        let errors = cache.drain_diagnostics().len() as u64;
        out.push(result.map(|(value, event, raised)| Served {
            stale: value != fresh(&db.borrow(), step),
            hit: matches!(event, CacheEvent::Hit { .. }),
            value,
            errors,
            raised,
        }));
    }
    out
}

fn compare(fc: Fc, persistent: bool) {
    let _serial = support::serial();
    let Some(py) = fc.python() else { return };
    if let Err(why) = OwnServer::start(support::free_port(), &[]) {
        support::skip("FLASKCACHE_REQUIRE_REDIS_SERVER", &why);
        return;
    }
    let flask = run_flask(&py, persistent);
    let rust = run_rust(fc, persistent);
    let mut down = false;
    println!(
        "profile {}, {} server:",
        fc.name(),
        if persistent { "persistent" } else { "volatile" }
    );
    for (i, (step, (f, r))) in WORKLOAD.iter().zip(flask.iter().zip(&rust)).enumerate() {
        println!("  {i:2} {step:?}: Flask-Caching {f:?}, flaskcache {r:?}");
        match step {
            Stop => down = true,
            Restart => down = false,
            _ => {}
        }
        let (Some(f), Some(r)) = (f, r) else { continue };
        if matches!(step, DeletePrice(_) | DeleteView(_)) {
            assert_eq!(r.raised, down, "step {i} {step:?}: {r:?}");
            assert_eq!(f.raised, down, "step {i} {step:?}: Flask-Caching {f:?}");
            continue;
        }
        if r.stale {
            assert!(
                f.stale,
                "step {i} {step:?}: flaskcache served a stale {} where Flask-Caching served {}",
                r.value, f.value
            );
        }
        if down {
            assert!(!r.hit && !r.stale, "step {i} {step:?} while down: {r:?}");
            assert!(
                r.errors > 0,
                "step {i} {step:?}: the failure was not logged"
            );
            assert!(
                f.errors > 0 && !f.hit,
                "step {i} {step:?}: Flask-Caching {f:?}"
            );
        } else {
            assert_eq!(r.errors, 0, "step {i} {step:?}: errors with the server up");
        }
    }
    // Caching resumed: the last two calls (after the post-restart invalidation) are hits.
    let n = rust.len();
    for r in &rust[n - 2..] {
        let r = r.as_ref().expect("a call");
        assert!(r.hit && !r.stale, "caching did not resume: {r:?}");
    }
    // The same results as Flask-Caching at every step.
    let strip = |v: &[Option<Served>]| {
        v.iter()
            .map(|s| {
                s.as_ref()
                    .map(|s| (s.value.clone(), s.hit, s.stale, s.raised))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strip(&rust),
        strip(&flask),
        "flaskcache and Flask-Caching diverged"
    );
}

#[test]
fn outage_on_a_persistent_server_serves_no_more_stale_than_flask_caching_25() {
    compare(Fc::V25, true);
}

#[test]
fn outage_on_a_volatile_server_serves_no_more_stale_than_flask_caching_25() {
    compare(Fc::V25, false);
}

#[test]
fn outage_on_a_persistent_server_serves_no_more_stale_than_flask_caching_24() {
    compare(Fc::V24, true);
}

#[test]
fn outage_on_a_volatile_server_serves_no_more_stale_than_flask_caching_24() {
    compare(Fc::V24, false);
}
