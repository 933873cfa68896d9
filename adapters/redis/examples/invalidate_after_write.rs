//! A Rust worker that keeps a Flask app's Redis cache right after a database write.
//!
//! The Flask app (`adapters/redis/tests/flask_interop/shop_app.py`) runs on
//! `CACHE_TYPE="RedisCache"` with `CACHE_KEY_PREFIX="shop:"`; it memoizes
//! `price(product_id)` and caches the view `GET /products/<pid>`, which shows the price.
//! Both read the "database", a JSON file of prices (`{"1": 100, "2": 250}`). This worker
//! writes a new price into that file, then deletes exactly the cached entries the write
//! made stale, with Flask-Caching's own keys:
//!
//! - `cache.delete_memoized(price, pid)`: the memoized result of that one call;
//! - `cache.delete_cached(product, path="/products/<pid>")` (Flask-Caching 2.5; on 2.4,
//!   `cache.delete("view//products/<pid>")`): the cached page.
//!
//! ```sh
//! echo '{"1": 100, "2": 250, "3": 75}' > /tmp/shop-db.json
//! # the Flask app caches (SHOP_DB=/tmp/shop-db.json SHOP_REDIS_URL=... flask run), then:
//! cargo run --release -p flaskcache-redis --example invalidate_after_write -- \
//!     --url redis://127.0.0.1:6379/0 --prefix shop: --db /tmp/shop-db.json --set 1=120
//! ```
//!
//! Options: `--url URL` (default `$FLASKCACHE_REDIS_URL`, else
//! `redis://127.0.0.1:6379/0`), `--prefix PREFIX` (`CACHE_KEY_PREFIX`, default `shop:`),
//! `--db FILE` (required), `--set PID=PRICE` (repeatable), `--profile 2.5|2.4` (the Flask
//! app's Flask-Caching release, default 2.5), `--module NAME` (the `__name__` of the
//! module defining `price`, default `shop_app`). Exit status 1 when a write or an
//! invalidation failed (then the cached entries stay until their timeout, as they would
//! in Flask).

use flaskcache::engine::StoreFlavor;
use flaskcache::{Cache, CachedOptions, CachedView, Deleted, MemoizeOptions, Memoized, Profile};
use flaskcache_redis::{RedisConfig, RedisStore};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The command line.
struct Args {
    url: String,
    prefix: String,
    db: PathBuf,
    writes: Vec<(i64, i64)>,
    profile: Profile,
    module: String,
}

fn parse_args() -> Result<Args, String> {
    let mut url = std::env::var("FLASKCACHE_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379/0".to_owned());
    let mut prefix = "shop:".to_owned();
    let mut db = None;
    let mut writes = Vec::new();
    let mut profile = Profile::FlaskCaching25;
    let mut module = "shop_app".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = value()?,
            "--prefix" => prefix = value()?,
            "--db" => db = Some(PathBuf::from(value()?)),
            "--module" => module = value()?,
            "--profile" => {
                profile = match value()?.as_str() {
                    "2.5" => Profile::FlaskCaching25,
                    "2.4" => Profile::FlaskCaching24,
                    other => return Err(format!("--profile {other}: expected 2.5 or 2.4")),
                }
            }
            "--set" => {
                let v = value()?;
                let parsed = v
                    .split_once('=')
                    .and_then(|(p, x)| Some((p.trim().parse().ok()?, x.trim().parse().ok()?)));
                writes.push(parsed.ok_or_else(|| format!("--set {v}: expected PID=PRICE"))?);
            }
            "-h" | "--help" => {
                return Err(
                    "usage: invalidate_after_write --db FILE --set PID=PRICE... \
                     [--url URL] [--prefix PREFIX] [--profile 2.5|2.4] [--module NAME]"
                        .into(),
                )
            }
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    let db = db.ok_or("--db FILE is required (see --help)")?;
    if writes.is_empty() {
        return Err("nothing to write: give --set PID=PRICE (see --help)".into());
    }
    Ok(Args {
        url,
        prefix,
        db,
        writes,
        profile,
        module,
    })
}

/// The database: product id → price, as a JSON object.
fn read_db(path: &Path) -> Result<BTreeMap<String, i64>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a JSON object of prices: {e}", path.display()))
}

/// Writes the database atomically (a new file renamed over the old one).
fn write_db(path: &Path, db: &BTreeMap<String, i64>) -> Result<(), String> {
    let text = serde_json::to_string(db).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

fn describe(deleted: &Deleted) -> String {
    match deleted {
        Deleted::Entry {
            key,
            existed: Some(true),
        } => format!("deleted {key}"),
        Deleted::Entry {
            key,
            existed: Some(false),
        } => format!("{key} was not cached"),
        other => format!("{other:?}"),
    }
}

/// The Flask app's cached functions, registered as Flask-Caching registers them.
struct Shop {
    cache: Cache,
    price: Memoized<i64>,
    product: CachedView<String>,
    profile: Profile,
}

impl Shop {
    fn new(args: &Args) -> Result<Shop, String> {
        let config = RedisConfig {
            key_prefix: Some(args.prefix.clone()),
            flavor: match args.profile {
                Profile::FlaskCaching24 => StoreFlavor::Redis24,
                _ => StoreFlavor::Redis,
            },
            ..RedisConfig::new(args.url.clone())
        };
        let store = RedisStore::new(config).map_err(|e| e.to_string())?;
        let cache = Cache::builder()
            .profile(args.profile)
            .store(Arc::new(store))
            .build()
            .map_err(|e| e.to_string())?;
        // @cache.memoize(timeout=600) def price(product_id), in module `args.module`.
        let options = MemoizeOptions {
            timeout: Some(600),
            ..Default::default()
        };
        let price = cache
            .memoize(&format!("{}.price", args.module), ["product_id"], options)
            .map_err(|e| e.to_string())?;
        // @app.route("/products/<int:pid>") @cache.cached(timeout=600)
        let product = cache
            .cached_view(CachedOptions {
                timeout: Some(600),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?;
        Ok(Shop {
            cache,
            price,
            product,
            profile: args.profile,
        })
    }

    /// Deletes what a new price of `pid` made stale; one line per entry.
    fn invalidate(&self, pid: i64) -> Result<Vec<String>, String> {
        let call = self
            .cache
            .delete_memoized(&self.price, (pid,))
            .map_err(|e| format!("delete_memoized(price, {pid}): {e}"))?;
        let path = format!("/products/{pid}");
        let page = match self.profile {
            Profile::FlaskCaching25 => self.cache.delete_cached(&self.product, &path, None),
            // Flask-Caching 2.4 has no delete_cached: the default key is "view/" + path.
            _ => self.cache.delete(&format!("view/{path}")),
        }
        .map_err(|e| format!("deleting the page {path}: {e}"))?;
        Ok(vec![
            format!("price({pid}): {}", describe(&call)),
            format!("GET {path}: {}", describe(&page)),
        ])
    }
}

fn run(args: &Args) -> Result<(), String> {
    let shop = Shop::new(args)?;
    let mut failed = Vec::new();
    for &(pid, new_price) in &args.writes {
        let mut db = read_db(&args.db)?;
        let old = db.insert(pid.to_string(), new_price);
        write_db(&args.db, &db)?;
        match old {
            Some(old) => println!("product {pid}: price {old} -> {new_price}"),
            None => println!("product {pid}: price {new_price} (new)"),
        }
        match shop.invalidate(pid) {
            Ok(lines) => lines.iter().for_each(|l| println!("  {l}")),
            Err(e) => {
                eprintln!("  invalidation failed: {e} (cached entries stay until they expire)");
                failed.push(pid);
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the cache of products {failed:?} was not invalidated"
        ))
    }
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|args| run(&args));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("invalidate_after_write: {e}");
            ExitCode::FAILURE
        }
    }
}
