//! `flaskcache replay --backend` and `flaskcache redis` against a real redis-server,
//! started by the test on a free loopback port ([`flaskcache_redis::testing`]). Without
//! redis-server the tests are skipped (loudly), unless FLASKCACHE_REQUIRE_REDIS_SERVER=1,
//! which makes them fail.

use flaskcache_redis::testing::RedisServer;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The recorder's trace of `SHOP_PY` (fakeredis, virtual clock): its declarations name the
/// app's functions and view, its events write the keyspace the ops tests inspect.
const SHOP_TRACE: &str = r####"{"flaskcache_trace": 1}
{"config": {"library": "flask-caching", "library_version": "2.5.1", "profile": "2.5", "python": "3.11", "backend": "RedisCache", "key_prefix": "shop:", "default_timeout": 300, "threshold": 500, "ignore_errors": false, "debug": false, "start_time": "1000.000000"}}
{"memoize": {"id": "m1", "function": {"module": "__main__", "qualname": "price", "binding": "function", "params": [{"name": "item", "kind": "positional_or_keyword", "default": null}, {"name": "qty", "kind": "positional_or_keyword", "default": {"t": "int", "v": "1"}}]}, "options": {"timeout": 600, "make_name": null, "hash_method": null, "args_to_ignore": [], "source": null, "cache_none": false, "hooks": []}}}
{"memoize": {"id": "m2", "function": {"module": "__main__", "qualname": "Stock.level", "binding": "classmethod", "params": [{"name": "cls", "kind": "positional_or_keyword", "default": null}, {"name": "sku", "kind": "positional_or_keyword", "default": null}]}, "options": {"timeout": 600, "make_name": null, "hash_method": null, "args_to_ignore": [], "source": null, "cache_none": false, "hooks": []}}}
{"memoize": {"id": "m3", "function": {"module": "__main__", "qualname": "Cart.total", "binding": "instance_method", "params": [{"name": "self", "kind": "positional_or_keyword", "default": null}, {"name": "tax", "kind": "positional_or_keyword", "default": null}]}, "options": {"timeout": 600, "make_name": null, "hash_method": null, "args_to_ignore": [], "source": null, "cache_none": false, "hooks": []}}}
{"cached": {"id": "c1", "name": "product", "options": {"key_prefix": {"template": "view/%s"}, "query_string": false, "hash_method": null, "source": null, "timeout": 120, "cache_none": false, "make_cache_key": false, "hooks": []}}}
{"event": 1, "at": "1000.000000", "command": {"call": "m1", "bound_to": null, "args": [{"t": "str", "v": "cake"}], "kwargs": []}, "versions": ["dinwnt"], "steps": [{"store": {"op": "get_many", "keys": ["__main__.price_memver"]}, "reply": {"values": [{"t": "none"}]}}, {"store": {"op": "set_many", "items": [["__main__.price_memver", {"t": "str", "v": "dinwnt"}]], "timeout": 0}, "reply": {"keys": ["__main__.price_memver"]}}, {"store": {"op": "get", "key": "Agll6xGmPxyntqvudinwnt"}, "reply": {"value": {"t": "none"}}}, {"compute": {"value": {"t": "int", "v": "350"}}}, {"store": {"op": "set", "key": "Agll6xGmPxyntqvudinwnt", "value": {"t": "int", "v": "350"}, "timeout": 600}, "reply": {"bool": true}}, {"store": {"op": "get_many", "keys": ["__main__.price_memver"]}, "reply": {"values": [{"t": "str", "v": "dinwnt"}]}}, {"store": {"op": "set_many", "items": [["__main__.price_memver", {"t": "str", "v": "dinwnt"}]], "timeout": 600}, "reply": {"keys": ["__main__.price_memver"]}}], "result": {"value": {"t": "int", "v": "350"}}}
{"event": 2, "at": "1000.000000", "command": {"call": "m1", "bound_to": null, "args": [{"t": "str", "v": "tea"}], "kwargs": [["qty", {"t": "int", "v": "2"}]]}, "versions": [], "steps": [{"store": {"op": "get_many", "keys": ["__main__.price_memver"]}, "reply": {"values": [{"t": "str", "v": "dinwnt"}]}}, {"store": {"op": "get", "key": "0w8NCX+TofP0+FEVdinwnt"}, "reply": {"value": {"t": "none"}}}, {"compute": {"value": {"t": "int", "v": "240"}}}, {"store": {"op": "set", "key": "0w8NCX+TofP0+FEVdinwnt", "value": {"t": "int", "v": "240"}, "timeout": 600}, "reply": {"bool": true}}, {"store": {"op": "get_many", "keys": ["__main__.price_memver"]}, "reply": {"values": [{"t": "str", "v": "dinwnt"}]}}, {"store": {"op": "set_many", "items": [["__main__.price_memver", {"t": "str", "v": "dinwnt"}]], "timeout": 600}, "reply": {"keys": ["__main__.price_memver"]}}], "result": {"value": {"t": "int", "v": "240"}}}
{"event": 3, "at": "1000.000000", "command": {"call": "m2", "bound_to": {"class": {"t": "class", "module": "__main__", "qualname": "Stock"}}, "args": [{"t": "str", "v": "A1"}], "kwargs": []}, "versions": ["4Or7rw"], "steps": [{"store": {"op": "get_many", "keys": ["__main__.Stock.level_memver"]}, "reply": {"values": [{"t": "none"}]}}, {"store": {"op": "set_many", "items": [["__main__.Stock.level_memver", {"t": "str", "v": "4Or7rw"}]], "timeout": 0}, "reply": {"keys": ["__main__.Stock.level_memver"]}}, {"store": {"op": "get", "key": "DFuSqDzldWbGqxur4Or7rw"}, "reply": {"value": {"t": "none"}}}, {"compute": {"value": {"t": "list", "v": [{"t": "str", "v": "A1"}, {"t": "int", "v": "12"}, {"t": "float", "v": "2.5"}, {"t": "none"}, {"t": "tuple", "v": [{"t": "bool", "v": true}, {"t": "str", "v": "x"}]}]}}}, {"store": {"op": "set", "key": "DFuSqDzldWbGqxur4Or7rw", "value": {"t": "list", "v": [{"t": "str", "v": "A1"}, {"t": "int", "v": "12"}, {"t": "float", "v": "2.5"}, {"t": "none"}, {"t": "tuple", "v": [{"t": "bool", "v": true}, {"t": "str", "v": "x"}]}]}, "timeout": 600}, "reply": {"bool": true}}, {"store": {"op": "get_many", "keys": ["__main__.Stock.level_memver"]}, "reply": {"values": [{"t": "str", "v": "4Or7rw"}]}}, {"store": {"op": "set_many", "items": [["__main__.Stock.level_memver", {"t": "str", "v": "4Or7rw"}]], "timeout": 600}, "reply": {"keys": ["__main__.Stock.level_memver"]}}], "result": {"value": {"t": "list", "v": [{"t": "str", "v": "A1"}, {"t": "int", "v": "12"}, {"t": "float", "v": "2.5"}, {"t": "none"}, {"t": "tuple", "v": [{"t": "bool", "v": true}, {"t": "str", "v": "x"}]}]}}}
{"event": 4, "at": "1000.000000", "command": {"call": "m3", "bound_to": {"instance": {"t": "object", "module": "__main__", "qualname": "Cart", "repr": "<Cart 7>", "caching_id": null}}, "args": [{"t": "int", "v": "3"}], "kwargs": []}, "versions": ["sdFQHV", "s2lp9Y"], "steps": [{"store": {"op": "get_many", "keys": ["__main__.Cart.total_memver", "__main__.Cart.total.Cart7_memver"]}, "reply": {"values": [{"t": "none"}, {"t": "none"}]}}, {"store": {"op": "set_many", "items": [["__main__.Cart.total_memver", {"t": "str", "v": "sdFQHV"}], ["__main__.Cart.total.Cart7_memver", {"t": "str", "v": "s2lp9Y"}]], "timeout": 0}, "reply": {"keys": ["__main__.Cart.total_memver", "__main__.Cart.total.Cart7_memver"]}}, {"store": {"op": "get", "key": "hDASbs2Y/j4p/YTTsdFQHVs2lp9Y"}, "reply": {"value": {"t": "none"}}}, {"compute": {"value": {"t": "int", "v": "73"}}}, {"store": {"op": "set", "key": "hDASbs2Y/j4p/YTTsdFQHVs2lp9Y", "value": {"t": "int", "v": "73"}, "timeout": 600}, "reply": {"bool": true}}, {"store": {"op": "get_many", "keys": ["__main__.Cart.total_memver", "__main__.Cart.total.Cart7_memver"]}, "reply": {"values": [{"t": "str", "v": "sdFQHV"}, {"t": "str", "v": "s2lp9Y"}]}}, {"store": {"op": "set_many", "items": [["__main__.Cart.total_memver", {"t": "str", "v": "sdFQHV"}], ["__main__.Cart.total.Cart7_memver", {"t": "str", "v": "s2lp9Y"}]], "timeout": 600}, "reply": {"keys": ["__main__.Cart.total_memver", "__main__.Cart.total.Cart7_memver"]}}], "result": {"value": {"t": "int", "v": "73"}}}
{"event": 5, "at": "1000.000000", "command": {"request": "c1", "path": "/products/1", "args": [], "prefix_result": null, "custom_key": null}, "versions": [], "steps": [{"store": {"op": "get", "key": "view//products/1"}, "reply": {"value": {"t": "none"}}}, {"compute": {"value": {"t": "str", "v": "product 1"}}}, {"store": {"op": "set", "key": "view//products/1", "value": {"t": "str", "v": "product 1"}, "timeout": 120}, "reply": {"bool": true}}], "result": {"value": {"t": "str", "v": "product 1"}}}
{"event": 6, "at": "1000.000000", "command": {"backend": {"op": "set", "key": "greeting", "value": {"t": "str", "v": "hello"}, "timeout": 0}}, "versions": [], "steps": [{"store": {"op": "set", "key": "greeting", "value": {"t": "str", "v": "hello"}, "timeout": 0}, "reply": {"bool": true}}], "result": {"value": {"t": "bool", "v": true}}}
"####;

/// The app `SHOP_TRACE` was recorded from; run by the real Flask-Caching when a Python with
/// it is at .venv-fc25-redis.
const SHOP_PY: &str = r####"import os, sys
from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
app.config.update(
    CACHE_TYPE="RedisCache",
    CACHE_REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    CACHE_KEY_PREFIX="shop:",
    CACHE_DEFAULT_TIMEOUT=300,
)
cache = Cache(app)

@cache.memoize(timeout=600)
def price(item, qty=1):
    return {"cake": 350, "tea": 120}.get(item, 0) * qty

class Stock:
    @classmethod
    @cache.memoize(timeout=600)
    def level(cls, sku):
        return [sku, 12, 2.5, None, (True, "x")]

class Cart:
    def __init__(self, n):
        self.n = n
    def __repr__(self):
        return "<Cart %d>" % self.n
    @cache.memoize(timeout=600)
    def total(self, tax):
        return self.n * 10 + tax

@app.route("/products/<int:pid>")
@cache.cached(timeout=120)
def product(pid):
    return "product %d" % pid

def main():
    client = app.test_client()
    with app.app_context():
        price("cake"); price("tea", qty=2)
        Stock.level("A1")
        Cart(7).total(3)
        client.get("/products/1")
        cache.set("greeting", "hello", timeout=0)

if __name__ == "__main__":
    main()
"####;

/// A private redis-server, or `None` (after saying why) when there is none to run.
fn server() -> Option<RedisServer> {
    RedisServer::start_or_skip("redis_tool", &[])
}

/// One raw command, answered as text (enough for the checks here).
fn raw(server: &RedisServer, args: &[&str]) -> String {
    server
        .command(args)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn flaskcache(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_flaskcache"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run flaskcache");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn temp_file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("flaskcache-redis-tool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path.to_string_lossy().into_owned()
}

const REDIS_TRACES: [&str; 6] = [
    "docs/examples/redis_shared.2.5.trace.jsonl",
    "docs/examples/redis_shared.2.4.trace.jsonl",
    "tests/traces/redis_partial.2.5.trace.jsonl",
    "tests/traces/redis_partial.2.4.trace.jsonl",
    "tests/traces/redis_noprefix.2.5.trace.jsonl",
    "tests/traces/redis_noprefix.2.4.trace.jsonl",
];

#[test]
fn every_committed_redis_trace_replays_on_a_real_server() {
    let Some(server) = server() else { return };
    let url = server.url_db(1);
    let mut args = vec!["replay", "--backend", url.as_str()];
    args.extend(REDIS_TRACES);
    let (code, out, err) = flaskcache(&args);
    assert_eq!(code, 0, "{out}{err}");
    for trace in REDIS_TRACES {
        assert!(out.contains(&format!("{trace}: ")), "{out}");
    }
    assert!(
        out.ends_with("replayed 6 traces, 540 steps, 0 mismatches\n"),
        "{out}"
    );
}

#[test]
fn replay_on_a_real_server_empties_the_prefix_first() {
    let Some(server) = server() else { return };
    // A key left under the trace's prefix from before is removed before the replay.
    raw(&server, &["SET", "shop:stale", "1"]);
    let url = server.url_db(0);
    let (code, out, err) = flaskcache(&["replay", "--backend", &url, REDIS_TRACES[0]]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(raw(&server, &["EXISTS", "shop:stale"]).contains(":0"));
}

#[test]
fn replay_backend_refuses_remote_servers_and_simplecache_traces() {
    let (code, _, err) = flaskcache(&[
        "replay",
        "--backend",
        "redis://10.0.0.7:6379/0",
        REDIS_TRACES[0],
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("is not on this machine"), "{err}");
    let Some(server) = server() else { return };
    let url = server.url_db(0);
    let (code, _, err) = flaskcache(&[
        "replay",
        "--backend",
        &url,
        "docs/examples/blueprint_api.2.5.trace.jsonl",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("RedisCache traces only"), "{err}");
}

/// A loopback name in a URL's fragment or query is not its host: the guards judge the host
/// the driver connects to.
#[test]
fn loopback_names_outside_the_host_do_not_pass_the_guards() {
    for url in [
        "redis://prod.example.com:6379/0#@127.0.0.1",
        "redis://10.0.0.5:6379/0?x=@localhost",
    ] {
        let (code, _, err) = flaskcache(&["replay", "--backend", url, REDIS_TRACES[0]]);
        assert_eq!(code, 2, "{url}: {err}");
        assert!(err.contains("is not on this machine"), "{url}: {err}");
        let (code, _, err) = flaskcache(&["redis", "set", "k", "1", "--url", url]);
        assert_eq!(code, 2, "{url}: {err}");
        assert!(err.contains("add --allow-remote"), "{url}: {err}");
        let (code, _, err) = flaskcache(&["explore", "--runs", "1", "--backend", url]);
        assert_eq!(code, 2, "{url}: {err}");
        assert!(err.contains("is not on this machine"), "{url}: {err}");
    }
}

/// Writes SHOP_TRACE's keyspace with the engine through the Redis store, on `db`.
fn shop_keyspace(server: &RedisServer, db: u8) -> (String, String) {
    let trace = temp_file("shop.trace.jsonl", SHOP_TRACE);
    let url = server.url_db(db);
    let (code, out, err) = flaskcache(&["replay", "--backend", &url, &trace]);
    assert_eq!(code, 0, "{out}{err}");
    (url, trace)
}

fn redis(verb: &[&str], url: &str, trace: &str) -> (i32, String, String) {
    let mut args = vec!["redis"];
    args.extend(verb);
    args.extend(["--url", url, "--declarations", trace]);
    flaskcache(&args)
}

fn check_ops(url: &str, trace: &str) {
    let (code, out, err) = redis(&["keys"], url, trace);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("server {url}, prefix \"shop:\"")),
        "{err}"
    );
    assert!(out.starts_with("10 keys under prefix 'shop:'"), "{out}");
    for (key, kind) in [
        ("__main__.price_memver", "version key of __main__.price |"),
        (
            "__main__.Cart.total.Cart7_memver",
            "version key of __main__.Cart.total for instance Cart7 |",
        ),
        (
            "view//products/1",
            "view key of path /products/1 (view product) |",
        ),
        ("greeting", "other | ttl no expiry | 'hello'"),
    ] {
        assert!(out.contains(&format!("{key}\n    {kind}")), "{key}: {out}");
    }
    assert!(
        out.contains("memoized entry of __main__.price | ttl "),
        "{out}"
    );
    assert!(
        out.contains("memoized entry of __main__.Cart.total for instance Cart7 | ttl "),
        "{out}"
    );
    assert!(
        out.contains("memoized entry of __main__.Stock.level | ttl ")
            && out.contains("| ['A1', 12, 2.5, None, (True, 'x')]"),
        "{out}"
    );

    let (code, out, _) = redis(&["get", "greeting"], url, trace);
    assert_eq!((code, out.as_str()), (0, "'hello'\n"));
    let (code, out, _) = redis(&["get", "shop:greeting"], url, trace);
    assert_eq!(code, 1);
    assert!(out.contains("starts with the prefix"), "{out}");

    for (call, value) in [
        ("price('cake')", "350"),
        ("price('tea', qty=2)", "240"),
        ("__main__.price(item='tea', qty=2)", "240"),
        (
            "Stock.level(Stock, 'A1')",
            "['A1', 12, 2.5, None, (True, 'x')]",
        ),
        ("Cart.total(instance('<Cart 7>'), 3)", "73"),
    ] {
        let (code, out, err) = redis(&["lookup", call], url, trace);
        assert_eq!(code, 0, "{call}: {out}{err}");
        assert!(
            out.contains("\nhit (ttl ") && out.ends_with(&format!("): {value}\n")),
            "{call}: {out}"
        );
    }
    let (code, out, _) = redis(&["lookup", "price('scone')"], url, trace);
    assert_eq!(code, 1);
    assert!(out.contains("miss: no entry under the key"), "{out}");

    let (code, out, _) = redis(
        &[
            "set",
            "cfg",
            "{'a': b'\\x00', 'b': [1, 2.5, None, (True, 'x')]}",
            "--timeout",
            "60",
        ],
        url,
        trace,
    );
    assert_eq!(code, 0);
    assert!(
        out.starts_with("stored cfg = {'a': b'\\x00', 'b': [1, 2.5, None, (True, 'x')]} (ttl "),
        "{out}"
    );
    let (code, out, _) = redis(&["get", "cfg"], url, trace);
    assert_eq!(
        (code, out.as_str()),
        (0, "{'a': b'\\x00', 'b': [1, 2.5, None, (True, 'x')]}\n")
    );

    let (code, out, _) = redis(&["invalidate", "price('cake')"], url, trace);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("removed "), "{out}");
    let (code, out, _) = redis(&["invalidate", "price('cake')"], url, trace);
    assert_eq!(code, 1);
    assert!(out.starts_with("removed nothing: no entry under "), "{out}");
    let (code, out, _) = redis(&["invalidate", "Stock.level(Stock, 'A1')"], url, trace);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = redis(&["invalidate", "Stock.level"], url, trace);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("raises ValueError: When using `delete_memoized` on a `@classmethod`"),
        "{out}"
    );
    let (code, out, _) = redis(
        &[
            "invalidate",
            "Cart.total",
            "--bound",
            "instance('<Cart 7>')",
        ],
        url,
        trace,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("wrote a fresh version to __main__.Cart.total.Cart7_memver"),
        "{out}"
    );
    let (code, out, _) = redis(
        &["lookup", "Cart.total(instance('<Cart 7>'), 3)"],
        url,
        trace,
    );
    assert_eq!(code, 1, "{out}");
    let (code, out, _) = redis(&["invalidate", "price"], url, trace);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("wrote a fresh version to __main__.price_memver"),
        "{out}"
    );
    let (code, out, _) = redis(&["lookup", "price('tea', qty=2)"], url, trace);
    assert_eq!(code, 1, "{out}");
    let (code, out, _) = redis(&["invalidate", "--view", "/products/1"], url, trace);
    assert_eq!(
        (code, out.as_str()),
        (0, "removed view//products/1 (cache.delete_cached)\n")
    );
    let (code, out, _) = redis(&["invalidate", "--view", "/products/1"], url, trace);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("removed nothing: no entry under view//products/1"),
        "{out}"
    );
}

#[test]
fn ops_commands_on_a_keyspace_written_by_the_engine() {
    let Some(server) = server() else { return };
    let (url, trace) = shop_keyspace(&server, 2);
    check_ops(&url, &trace);
}

#[test]
fn ops_commands_on_a_keyspace_written_by_flask_caching() {
    let python = root().join(".venv-fc25-redis/bin/python");
    if !python.is_file() {
        eprintln!("SKIPPED: no Flask-Caching at {}", python.display());
        return;
    }
    let Some(server) = server() else { return };
    let script = temp_file("shop.py", SHOP_PY);
    let url = server.url_db(4);
    let status = Command::new(&python)
        .arg(&script)
        .env("REDIS_URL", &url)
        .status()
        .expect("run the app");
    assert!(status.success());
    // Flask-Caching reads what `set` stored.
    let trace = temp_file("shop-fc.trace.jsonl", SHOP_TRACE);
    check_ops(&url, &trace);
    let read = Command::new(&python)
        .arg("-c")
        .arg(format!(
            "import sys; sys.path.insert(0, {dir:?}); import shop\nwith shop.app.app_context(): print(repr(shop.cache.get('cfg')))",
            dir = Path::new(&script).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
        ))
        .env("REDIS_URL", &url)
        .output()
        .expect("read back");
    assert_eq!(
        String::from_utf8_lossy(&read.stdout),
        "{'a': b'\\x00', 'b': [1, 2.5, None, (True, 'x')]}\n"
    );
}

#[test]
fn bad_input_exits_2_with_the_column() {
    let Some(server) = server() else { return };
    let trace = temp_file("shop-bad.trace.jsonl", SHOP_TRACE);
    let url = server.url_db(5);
    let (code, _, err) = redis(&["lookup", "price('a', [1,)"], &url, &trace);
    assert_eq!(code, 2);
    assert!(
        err.contains("flaskcache redis: CALL \"price('a', [1,)\": column 15: unexpected ')'"),
        "{err}"
    );
    let (code, _, err) = redis(&["lookup", "nope(1)"], &url, &trace);
    assert_eq!(code, 2);
    assert!(err.contains("no memoized function \"nope\""), "{err}");
    let (code, _, err) = redis(&["set", "k", "'unterminated"], &url, &trace);
    assert_eq!(code, 2);
    assert!(
        err.contains("column 1: unterminated string literal"),
        "{err}"
    );
    // Deep nesting is refused with a column, not a stack overflow of the main thread.
    let deep = "[".repeat(10_000);
    let (code, _, err) = redis(&["set", "k", &deep], &url, &trace);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("column 201: too many nested parentheses (at most 200 levels)"),
        "{err}"
    );
    let signs = format!("{}1", "-".repeat(10_000));
    let (code, _, err) = flaskcache(&[
        "redis",
        "set",
        "--url",
        &url,
        "--declarations",
        &trace,
        "--",
        "k",
        &signs,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("column 201: too many nested signs (at most 200 levels)"),
        "{err}"
    );
    let (code, _, err) = redis(&["set", "k", r"b'\€'"], &url, &trace);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("column 4: bytes can only contain ASCII literal characters"),
        "{err}"
    );
    assert!(raw(&server, &["EXISTS", "shop:k"]).contains(":0"));
    let (code, _, err) = flaskcache(&[
        "redis",
        "invalidate",
        "price",
        "--url",
        "redis://10.0.0.7:6379/0",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("add --allow-remote"), "{err}");
}
