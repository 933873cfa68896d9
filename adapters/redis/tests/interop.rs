//! With real Python: values written by cachelib's RedisCache read equal in Rust, values
//! written by the adapter read equal in Python (Flask-Caching 2.5.1 and 2.4.1), the
//! adapter's bytes compared with Python's own, types Rust cannot represent refused with
//! their name; round trips per memoize hit and view hit, ours and Flask-Caching's; and the
//! server stopped mid-workload and restarted.

mod common;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flaskcache::{
    request_path, Cache, CachedOptions, DiagnosticsMode, MemoizeOptions, Memoized, Store,
};
use flaskcache_engine::{PyInt, StoreError, StoreFlavor, StoreOp, StoreReply, Timestamp, Value};
use serde_json::Value as Json;

fn python(venv: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let py = root.join(format!(".venv-{venv}-redis/bin/python"));
    if py.is_file() {
        Some(py)
    } else {
        eprintln!(
            "\n!!!!!!!! interop: SKIPPED for {venv}: {} not found !!!!!!!!\n",
            py.display()
        );
        None
    }
}

fn script(py: &PathBuf, args: &[&str]) -> Json {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop.py");
    let out = Command::new(py).arg(path).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "interop.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn int(text: &str) -> Value {
    Value::Int(PyInt::parse(text).unwrap())
}

fn pow2(n: u32) -> String {
    // Decimal text of 2**n for small n via u128, else by doubling a decimal string.
    let mut digits = vec![1u8];
    for _ in 0..n {
        let mut carry = 0;
        for d in digits.iter_mut() {
            let v = *d * 2 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        if carry > 0 {
            digits.push(carry);
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

fn s(v: &str) -> Value {
    Value::str(v)
}

fn deep(n: usize) -> Value {
    let mut v = Value::List(vec![]);
    for _ in 0..n {
        v = Value::List(vec![v]);
    }
    v
}

/// interop.py's `values()`, name for name.
fn values() -> BTreeMap<&'static str, Value> {
    let i = Value::int;
    let shared = Value::List(vec![i(1), i(2)]);
    let ints = vec![
        int(&pow2(64)),
        int(&format!("-{}", pow2(64))),
        i(i64::MAX),
        i(i64::MIN),
        i(255),
        i(256),
        i(65535),
        i(65536),
        i(-1),
        i(-128),
        i(-129),
        i(1 << 31),
        i(-(1 << 31) - 1),
        i(0),
        int(&format!("1{}", "0".repeat(40))),
    ];
    let mut m = BTreeMap::new();
    m.insert("none", Value::None);
    m.insert("true", Value::Bool(true));
    m.insert("false", Value::Bool(false));
    m.insert("int_small", i(7));
    m.insert("int_neg", i(-300));
    m.insert("int_big", int(&pow2(100)));
    m.insert(
        "int_negbig",
        int(&format!("-{}", {
            let p = pow2(100);
            // 2**100 + 1: the last digit of 2**100 is 6.
            format!("{}7", &p[..p.len() - 1])
        })),
    );
    m.insert("int_huge", int(&format!("1{}", "0".repeat(400))));
    m.insert("ints_pickled", Value::List(ints));
    m.insert("float", Value::Float(1.5));
    m.insert("float_negzero", Value::Float(-0.0));
    m.insert("float_inf", Value::Float(f64::INFINITY));
    m.insert("float_neginf", Value::Float(f64::NEG_INFINITY));
    m.insert("float_nan", Value::Float(f64::NAN));
    m.insert(
        "floats",
        Value::List(vec![
            Value::Float(1e308),
            Value::Float(5e-324),
            Value::Float(0.1),
            Value::Float(-2.5),
        ]),
    );
    m.insert("str_empty", s(""));
    m.insert(
        "str_unicode",
        s("h\u{e9}llo w\u{f6}rld \u{2713} \u{1d11e} \u{4e2d}\u{6587}"),
    );
    m.insert("str_long", s(&"\u{e9}".repeat(300)));
    m.insert("str_nul", s("nul\0in str"));
    m.insert("bytes_empty", Value::Bytes(vec![]));
    m.insert("bytes_nul", Value::Bytes(b"a\0b\0".to_vec()));
    m.insert("bytes_all", Value::Bytes((0..=255).collect()));
    m.insert("bytes_large", Value::Bytes(vec![b'x'; 70000]));
    m.insert("tuple_empty", Value::Tuple(vec![]));
    m.insert(
        "tuples",
        Value::List(vec![
            Value::Tuple(vec![i(1)]),
            Value::Tuple(vec![i(1), i(2)]),
            Value::Tuple(vec![i(1), i(2), i(3)]),
            Value::Tuple(vec![i(1), i(2), i(3), i(4)]),
        ]),
    );
    m.insert(
        "tuple_nested",
        Value::Tuple(vec![Value::Tuple(vec![
            i(1),
            Value::Tuple(vec![i(2), Value::List(vec![i(3)])]),
        ])]),
    );
    m.insert("list_empty", Value::List(vec![]));
    m.insert(
        "list_nested",
        Value::List(vec![
            i(1),
            Value::List(vec![i(2), Value::List(vec![i(3), Value::List(vec![])])]),
        ]),
    );
    m.insert("list_long", Value::List((0..1500).map(i).collect()));
    m.insert("dict_empty", Value::Dict(vec![]));
    m.insert(
        "dict_order",
        Value::Dict(vec![(s("b"), i(1)), (s("a"), i(2))]),
    );
    m.insert(
        "dict_mixed",
        Value::Dict(vec![
            (i(1), s("x")),
            (s("k"), Value::List(vec![i(1), i(2)])),
            (
                Value::Tuple(vec![i(1), i(2)]),
                Value::Dict(vec![(s("n"), Value::None)]),
            ),
            // `True: 1.5` lands on the key `1`, as in Python.
            (Value::Bytes(b"b".to_vec()), Value::Bool(false)),
        ]),
    );
    m.insert(
        "dict_long",
        Value::Dict((0..1500).map(|n| (s(&format!("k{n}")), i(n))).collect()),
    );
    m.insert(
        "ordered",
        Value::OrderedDict(vec![(s("z"), i(1)), (s("a"), i(2))]),
    );
    m.insert("deep", deep(50));
    m.insert("shared", Value::List(vec![shared.clone(), shared]));
    if let Some(Value::Dict(items)) = m.get_mut("dict_mixed") {
        items[0].1 = Value::Float(1.5);
    }
    m
}

/// What Rust should say about interop.py's `unrepresentable()`.
const UNREPRESENTABLE: &[(&str, &str)] = &[
    ("set", "cannot represent a pickled builtins.set"),
    ("frozenset", "cannot represent a pickled builtins.frozenset"),
    ("datetime", "cannot represent a pickled datetime.datetime"),
    ("decimal", "cannot represent a pickled decimal.Decimal"),
    ("point", "cannot represent a pickled __main__.Point"),
    ("bytearray", "cannot represent a pickled builtins.bytearray"),
    ("complex", "cannot represent a pickled builtins.complex"),
    (
        "class",
        "cannot represent a pickled reference to builtins.int (a class or function)",
    ),
];

fn now() -> Timestamp {
    Timestamp::EPOCH
}

#[test]
fn values_round_trip_both_ways() {
    let Some(server) = common::Server::start("values_round_trip") else {
        return;
    };
    let port = server.port.to_string();
    for venv in ["fc25", "fc24"] {
        let Some(py) = python(venv) else { continue };
        let prefix = format!("{venv}_");
        let store = server.store(Some(&prefix), StoreFlavor::Redis);
        let written = script(&py, &["write", &port, &prefix]);
        let expected = values();
        assert_eq!(written["written"].as_u64(), Some(expected.len() as u64));
        // Python writes, Rust reads equal.
        for (name, want) in &expected {
            let got = store.execute(
                &StoreOp::Get {
                    key: format!("py_{name}"),
                },
                now(),
            );
            assert_eq!(
                got,
                Ok(StoreReply::Value(want.clone())),
                "{venv}: reading {name}"
            );
        }
        // Bytes: ours against cachelib's, for every value.
        let mut differ = Vec::new();
        for (name, value) in &expected {
            let theirs = store
                .raw_get(&store.stored_key(&format!("py_{name}")))
                .unwrap();
            if theirs.as_deref() != Some(&flaskcache_redis::codec::dumps(value)[..]) {
                differ.push(*name);
            }
        }
        eprintln!("{venv}: values whose bytes differ from Python's: {differ:?}");
        assert_eq!(
            differ,
            vec!["shared"],
            "only a shared object pickles differently"
        );
        // Types Rust cannot represent: a backend failure naming the type.
        for (name, message) in UNREPRESENTABLE {
            let got = store.execute(
                &StoreOp::Get {
                    key: format!("py_{name}"),
                },
                now(),
            );
            match got {
                Err(StoreError::Failed(text)) => {
                    assert!(text.starts_with(message), "{name}: {text}")
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        // Rust writes, Python reads equal.
        for (name, value) in &expected {
            let op = StoreOp::Set {
                key: format!("rs_{name}"),
                value: value.clone(),
                timeout: Some(0),
            };
            assert_eq!(store.execute(&op, now()), Ok(StoreReply::Bool(true)));
        }
        let read = script(&py, &["read", &port, &prefix]);
        assert_eq!(read["read"].as_u64(), Some(expected.len() as u64));
        assert_eq!(read["mismatches"], Json::Array(vec![]), "{venv}: {read}");
        eprintln!("{venv}: {} values round-trip both ways", expected.len());
    }
}

fn memo_opts() -> MemoizeOptions {
    MemoizeOptions {
        timeout: Some(600),
        ..Default::default()
    }
}

#[test]
fn round_trips_per_hit_equal_flask_cachings() {
    let Some(server) = common::Server::start("round_trips") else {
        return;
    };
    for (venv, flavor) in [("fc25", StoreFlavor::Redis), ("fc24", StoreFlavor::Redis24)] {
        let store = Arc::new(server.store(Some("rt_"), flavor));
        let cache = Cache::builder().store(store.clone()).build().unwrap();
        let student: Memoized<i64> = cache
            .memoize("app.models.student", ["n"], memo_opts())
            .unwrap();
        student
            .call(&cache, (7,), || Ok::<_, Infallible>(14))
            .unwrap();
        let before = store.round_trips();
        let hit = student
            .call_traced(&cache, (7,), || Ok::<_, Infallible>(0))
            .unwrap();
        assert!(hit.is_hit());
        let memo = store.round_trips() - before;
        let view = cache
            .cached_view::<String>(CachedOptions {
                timeout: Some(600),
                ..Default::default()
            })
            .unwrap();
        let req = request_path("/page");
        view.call(&cache, &req, || Ok::<_, Infallible>("page".to_owned()))
            .unwrap();
        let before = store.round_trips();
        let hit = view
            .call_traced(&cache, &req, || Ok::<_, Infallible>(String::new()))
            .unwrap();
        assert!(hit.is_hit());
        let view_trips = store.round_trips() - before;
        eprintln!("{venv}: ours: memoize hit {memo} round trips, view hit {view_trips}");
        assert_eq!((memo, view_trips), (2, 1));
        if let Some(py) = python(venv) {
            let port = server.port.to_string();
            let measured = script(&py, &["measure", &port]);
            let total = |v: &Json| {
                v.as_object()
                    .map_or(0, |o| o.values().filter_map(Json::as_u64).sum::<u64>())
            };
            eprintln!("{venv}: Flask-Caching: {measured}");
            assert_eq!(
                measured["memoize_hit"],
                serde_json::json!({"mget": 1, "get": 1})
            );
            assert_eq!(measured["view_hit"], serde_json::json!({"get": 1}));
            assert_eq!(
                (
                    total(&measured["memoize_hit"]),
                    total(&measured["view_hit"])
                ),
                (memo, view_trips)
            );
        }
    }
}

#[test]
fn server_stopped_and_restarted() {
    let Some(mut server) = common::Server::start("faults") else {
        return;
    };
    let store = Arc::new(server.store(Some("fault_"), StoreFlavor::Redis));
    let cache = Cache::builder()
        .store(store.clone())
        .diagnostics(DiagnosticsMode::Buffer)
        .build()
        .unwrap();
    let runs = AtomicUsize::new(0);
    let f: Memoized<i64> = cache.memoize("app.work", ["n"], memo_opts()).unwrap();
    let call = |n: i64| {
        let started = Instant::now();
        let r = f
            .call_traced(&cache, (n,), || {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok::<_, Infallible>(n * 10)
            })
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a call took {:?}",
            started.elapsed()
        );
        assert_eq!(r.value, n * 10);
        r.is_hit()
    };
    assert!(!call(1));
    assert!(call(1));
    assert!(cache.drain_diagnostics().is_empty());
    server.stop();
    let before = runs.load(Ordering::SeqCst);
    for n in [1, 1, 2] {
        assert!(!call(n), "served uncached while the server is down");
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        before + 3,
        "the body ran each time"
    );
    let diags = cache.drain_diagnostics();
    assert!(!diags.is_empty(), "the failures were logged");
    eprintln!(
        "while down: {} diagnostics, first: {:?}",
        diags.len(),
        diags[0]
    );
    server.restart();
    assert!(!call(1), "the restarted server is empty: a miss");
    assert!(call(1), "caching resumed: a hit after the miss");
    assert!(cache.drain_diagnostics().is_empty());
}
