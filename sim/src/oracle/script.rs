//! Random Flask-Caching apps as ordinary Python scripts: a seeded workload of calls,
//! requests, deletes (right and wrong ones), backend proxies, database writes and clock
//! advances, written so that the recorder can run it in the real library.

use crate::workload::rng::SplitMix64;
use flaskcache_engine::Profile;
use std::fmt::Write as _;

/// The simulator's seeded generator, with the two draws the workload uses.
type Rng = SplitMix64;

/// One of `items`.
fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.index(items.len())]
}

/// `true` with probability `percent`/100.
fn percent(rng: &mut Rng, percent: u64) -> bool {
    rng.below(100) < percent
}

/// The fixed part of every generated app: functions and views over a small "database".
const PRELUDE: &str = r#"import time
from flask import Flask, abort, request

try:
    from flask_caching import Cache
    CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 30, "CACHE_THRESHOLD": THRESHOLD}
    OLD = False
except ImportError:
    from flask_cache import Cache
    CONFIG = {"CACHE_TYPE": "simple", "CACHE_DEFAULT_TIMEOUT": 30, "CACHE_THRESHOLD": THRESHOLD}
    OLD = True

app = Flask(__name__)
cache = Cache(app, config=CONFIG) if not OLD else Cache(app, config=CONFIG, with_jinja2_ext=False)
client = app.test_client()
DB = {0: "a", 1: "b", 2: "c"}


@cache.memoize(timeout=20)
def price(item, qty=1):
    return "price:%s:%s:%s" % (item, qty, DB[item % 3])


@cache.memoize(timeout=0)
def total(*items):
    return "total:%s:%s" % (items, [DB[i % 3] for i in items])


@cache.memoize(50, make_name=lambda name: "v2-" + name)
def lookup(key, default=None):
    return "lookup:%s:%s" % (key, DB.get(key, default))


class Store(object):
    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return "Store(%d)" % self.n

    @cache.memoize(timeout=40)
    def stock(self, item):
        return "stock:%d:%s:%s" % (self.n, item, DB[item % 3])

    @classmethod
    @cache.memoize(timeout=40)
    def catalog(cls, page):
        return "catalog:%s:%s" % (page, DB[page % 3])

    @staticmethod
    @cache.memoize(timeout=40)
    def tax(rate):
        return "tax:%s:%s" % (rate, DB[rate % 3])


S1, S2 = Store(1), Store(2)


@app.route("/items/<int:n>")
@cache.cached(timeout=15)
def items(n):
    # An aborting view: 2.5 caches the HTTPException and raises it on hits (FC-1.1.8).
    if n == 3 and DB[0] in ("a", "x", "y"):
        abort(404)
    return "items:%d:%s" % (n, DB[n % 3])


@app.route("/all")
@cache.cached(timeout=25, key_prefix="res_all")
def all_items():
    return "all:%s" % sorted(DB.items())

"#;

/// Views that need Flask-Caching 2.x (`query_string`).
const QUERY_VIEW: &str = r#"
@app.route("/search")
@cache.cached(timeout=10, query_string=True)
def search():
    return "search:%s:%s" % (sorted(request.args.items(multi=True)), DB[0])

"#;

/// One generated operation: a line of Python (run inside `try`).
fn operation(rng: &mut Rng, profile: Profile) -> String {
    let item = rng.below(4);
    let qty = rng.below(3);
    let store = if percent(rng, 50) { "S1" } else { "S2" };
    let modern = profile != Profile::FlaskCache013;
    match rng.below(100) {
        0..=11 => match rng.below(3) {
            0 => format!("price({item})"),
            1 => format!("price({item}, {qty})"),
            _ => format!("price(item={item}, qty={qty})"),
        },
        12..=17 => format!(
            "total({})",
            (0..rng.below(3))
                .map(|_| rng.below(4).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        18..=22 => match rng.below(2) {
            0 => format!("lookup({item})"),
            _ => format!("lookup({item}, {qty})"),
        },
        23..=32 => format!("{store}.stock({item})"),
        33..=38 => format!("Store.catalog({item})"),
        39..=42 => format!("{store}.tax({item})"),
        43..=50 => format!("client.get('/items/{item}').get_data(as_text=True)"),
        51..=54 => "client.get('/all').get_data(as_text=True)".to_owned(),
        55..=58 if modern => {
            let q = (0..rng.below(3))
                .map(|_| format!("{}={}", pick(rng, &["q", "page", "q"]), rng.below(3)))
                .collect::<Vec<_>>()
                .join("&");
            format!("client.get('/search?{q}').get_data(as_text=True)")
        }
        59..=64 => format!(
            "DB.__setitem__({}, '{}')",
            rng.below(3),
            pick(rng, &["x", "y", "z", "w"])
        ),
        65..=67 => format!("time.sleep({})", pick(rng, &[1, 3, 7, 16, 31, 45])),
        68..=83 => {
            let forms: &[String] = &[
                format!("cache.delete_memoized(price, {item})"),
                format!("cache.delete_memoized(price, {item}, {qty})"),
                "cache.delete_memoized(price)".to_owned(),
                format!("cache.delete_memoized(total, {item})"),
                format!("cache.delete_memoized(lookup, {item})"),
                format!("cache.delete_memoized({store}.stock, {item})"),
                format!("cache.delete_memoized(Store.stock, {store}, {item})"),
                format!("cache.delete_memoized(Store.stock, {item})"),
                format!("cache.delete_memoized({store}.stock)"),
                "cache.delete_memoized(Store.stock)".to_owned(),
                format!("cache.delete_memoized(Store.catalog, {item})"),
                format!("cache.delete_memoized(Store.catalog, Store, {item})"),
                "cache.delete_memoized(Store.catalog)".to_owned(),
                format!("cache.delete_memoized(Store.tax, {item})"),
                "cache.delete_memoized_verhash(price)".to_owned(),
                format!("cache.delete_memoized_verhash({store}.stock)"),
            ];
            pick(rng, forms).clone()
        }
        84..=91 => {
            let keys = [
                format!("/items/{item}"),
                format!("view//items/{item}"),
                format!("view/items/{item}"),
                "res_all".to_owned(),
                "/all".to_owned(),
            ];
            format!("cache.delete('{}')", pick(rng, &keys))
        }
        92..=93 if modern => format!("cache.delete_cached(items, '/items/{item}')"),
        _ => {
            let ops: &[String] = &[
                format!("cache.set('k{item}', {qty})"),
                format!(
                    "cache.set('k{item}', 'v{qty}', timeout={})",
                    pick(rng, &[0, 5, 60])
                ),
                format!("cache.get('k{item}')"),
                format!("cache.add('k{item}', {qty})"),
                format!("cache.get_many('k{item}', 'k{qty}')"),
                format!("cache.set_many({{'k{item}': {qty}, 'm{qty}': 'x'}})"),
                format!("cache.delete_many('k{item}', 'm{qty}')"),
                if modern {
                    format!("cache.has('k{item}')")
                } else {
                    format!("cache.get('m{qty}')")
                },
                "cache.clear()".to_owned(),
            ];
            pick(rng, ops).clone()
        }
    }
}

/// A random app and `ops` operations on it, as a Python script.
pub fn generate(seed: u64, ops: usize, profile: Profile) -> String {
    let mut rng = Rng::new(seed);
    let threshold = *pick(&mut rng, &[8u64, 20, 500]);
    let mut script = format!(
        "# flaskcache oracle workload: seed {seed}, {ops} operations, profile {}\n",
        profile.as_str()
    );
    script.push_str(&PRELUDE.replace("THRESHOLD", &threshold.to_string()));
    if profile != Profile::FlaskCache013 {
        script.push_str(QUERY_VIEW);
    }
    script.push_str("with app.app_context():\n");
    for _ in 0..ops {
        let op = operation(&mut rng, profile);
        let _ = writeln!(
            script,
            "    try:\n        {op}\n    except Exception:\n        pass"
        );
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_script() {
        let a = generate(7, 200, Profile::FlaskCaching25);
        assert_eq!(a, generate(7, 200, Profile::FlaskCaching25));
        assert_ne!(a, generate(8, 200, Profile::FlaskCaching25));
        assert!(!generate(7, 200, Profile::FlaskCache013).contains("query_string"));
    }
}
