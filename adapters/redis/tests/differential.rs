//! Random store operations on a real redis-server through `RedisStore` and on the engine's
//! `MemoryStore` with the same Redis flavour: replies and final keyspaces are equal.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use flaskcache::Store;
use flaskcache_engine::{
    MemoryStore, PyInt, StoreConfig, StoreFlavor, StoreOp, StoreReply, Timestamp, Value,
};
use flaskcache_redis::{codec, RedisStore};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &["a", "b", "k1", "ключ", "x y", "*", "[x]", "?", "memver", ""];

const TIMEOUTS: &[Option<i64>] = &[
    None,
    Some(0),
    Some(-1),
    Some(-2),
    Some(-5),
    Some(3600),
    Some(1 << 40),
    Some(1 << 62),
    Some(-(1 << 62)),
    Some(i64::MAX),
];

fn big(text: &str) -> Value {
    PyInt::parse(text).map_or(Value::None, Value::Int)
}

fn value(rng: &mut Rng, depth: usize) -> Value {
    let kinds = if depth >= 3 { 10 } else { 15 };
    match rng.below(kinds) {
        0 => Value::None,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::int(rng.next() as i64 >> rng.below(64)),
        3 => big("-1234567890123456789012345678901234567890"),
        4 => big("340282366920938463463374607431768211456"),
        5 => Value::Float(*rng.pick(&[-0.0, f64::NAN, f64::INFINITY, 1.5, 5e-324])),
        6 => Value::str(*rng.pick(&["", "abc", "héllo ✓ 𝄞", "nul\0", "long-long-long"])),
        7 => Value::Bytes(rng.pick(&[&b""[..], b"a\0b", b"\xff\xfe"]).to_vec()),
        8 => Value::Bytes((0..300).map(|i| i as u8).collect()),
        9 => Value::int(rng.below(300) as i64 - 150),
        10 => Value::Tuple((0..rng.below(5)).map(|_| value(rng, depth + 1)).collect()),
        11 => Value::List((0..rng.below(5)).map(|_| value(rng, depth + 1)).collect()),
        12 => Value::Dict(
            (0..rng.below(4))
                .map(|i| (Value::str(format!("k{i}")), value(rng, depth + 1)))
                .collect(),
        ),
        13 => Value::OrderedDict(vec![(Value::int(2), value(rng, depth + 1))]),
        _ => Value::List((0..1200).map(Value::int).collect()),
    }
}

fn key(rng: &mut Rng) -> String {
    (*rng.pick(KEYS)).to_owned()
}

fn keys(rng: &mut Rng) -> Vec<String> {
    (0..rng.below(5)).map(|_| key(rng)).collect()
}

fn op(rng: &mut Rng) -> StoreOp {
    match rng.below(20) {
        0..=2 => StoreOp::Get { key: key(rng) },
        3..=4 => StoreOp::GetMany { keys: keys(rng) },
        5 => StoreOp::Has { key: key(rng) },
        6..=8 => StoreOp::Set {
            key: key(rng),
            value: value(rng, 0),
            timeout: *rng.pick(TIMEOUTS),
        },
        9..=10 => StoreOp::SetMany {
            items: (0..rng.below(4))
                .map(|_| (key(rng), value(rng, 0)))
                .collect(),
            timeout: *rng.pick(TIMEOUTS),
        },
        11..=13 => StoreOp::Add {
            key: key(rng),
            value: value(rng, 0),
            timeout: *rng.pick(TIMEOUTS),
        },
        14..=15 => StoreOp::Delete { key: key(rng) },
        16..=18 => StoreOp::DeleteMany { keys: keys(rng) },
        _ => StoreOp::Clear,
    }
}

fn now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    Timestamp::from_micros(micros)
}

/// The live keyspace: stored key, whether it has a deadline, value.
fn memory_keyspace(mem: &MemoryStore, at: Timestamp) -> Vec<(Vec<u8>, bool, Value)> {
    let mut out: Vec<_> = mem
        .entries()
        .filter(|(_, expires, _)| mem.flavor().is_alive(*expires, at))
        .map(|(k, expires, v)| {
            (
                k.as_bytes().to_vec(),
                expires != StoreFlavor::NEVER,
                v.clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn redis_keyspace(store: &RedisStore) -> Vec<(Vec<u8>, bool, Value)> {
    let mut out = Vec::new();
    for key in store.scan_keys().unwrap() {
        let ttl = store.pttl(&key).unwrap();
        let raw = store.raw_get(&key).unwrap();
        let value = codec::loads(raw.as_deref()).unwrap();
        out.push((key, ttl >= 0, value));
    }
    out
}

fn run(prefix: Option<&str>, flavor: StoreFlavor, seed: u64, ops: usize) -> usize {
    let Some(server) = common::Server::start("differential") else {
        return 0;
    };
    let store = server.store(prefix, flavor);
    let mut mem = MemoryStore::new(StoreConfig {
        key_prefix: prefix.map(str::to_owned),
        ..StoreConfig::redis(flavor)
    });
    let mut rng = Rng(seed);
    let mut errors = 0;
    for i in 0..ops {
        let op = op(&mut rng);
        let t = now();
        let want = mem.execute(&op, t);
        let got = store.execute(&op, t);
        assert_eq!(
            got, want,
            "op #{i} {op:?} with prefix {prefix:?}, flavour {flavor:?}"
        );
        errors += usize::from(got.is_err());
    }
    let at = now();
    assert_eq!(
        redis_keyspace(&store),
        memory_keyspace(&mem, at),
        "final keyspace, prefix {prefix:?}, flavour {flavor:?}"
    );
    assert!(errors > 0, "the ops included refused timeouts");
    eprintln!(
        "differential: prefix {prefix:?} {flavor:?}: {ops} ops equal ({errors} errors), {} round trips",
        store.round_trips()
    );
    ops
}

#[test]
fn redis25_default_prefix() {
    run(Some("flask_cache_"), StoreFlavor::Redis, 1, 600);
}

#[test]
fn redis25_no_prefix() {
    run(Some(""), StoreFlavor::Redis, 2, 600);
    run(None, StoreFlavor::Redis, 3, 200);
}

#[test]
fn redis25_glob_prefix() {
    run(Some("fc[x]?_"), StoreFlavor::Redis, 4, 600);
}

#[test]
fn redis24_all_prefixes() {
    run(Some("flask_cache_"), StoreFlavor::Redis24, 5, 600);
    run(Some(""), StoreFlavor::Redis24, 6, 400);
    run(Some("fc[x]?_"), StoreFlavor::Redis24, 7, 400);
}

#[test]
fn glob_prefix_clear_is_cachelibs() {
    let Some(server) = common::Server::start("glob_prefix_clear") else {
        return;
    };
    // `KEYS fc[x]?_*` matches `fcx?_…` and `fcxy_…`, not the literal `fc[x]?_…`.
    let store = server.store(Some("fc[x]?_"), StoreFlavor::Redis);
    let other = server.store(Some("fcxy_"), StoreFlavor::Redis);
    let set = |k: &str| StoreOp::Set {
        key: k.into(),
        value: Value::int(1),
        timeout: Some(0),
    };
    let t = now();
    store.execute(&set("mine"), t).unwrap();
    other.execute(&set("theirs"), t).unwrap();
    assert_eq!(
        store.execute(&StoreOp::Clear, t),
        Ok(StoreReply::Bool(true))
    );
    assert_eq!(store.scan_keys().unwrap(), vec![b"fc[x]?_mine".to_vec()]);
    assert!(other.scan_keys().unwrap().is_empty());
}

#[test]
fn raw_tools_and_age() {
    let Some(server) = common::Server::start("raw_tools") else {
        return;
    };
    let store = server.store(Some("p*_"), StoreFlavor::Redis);
    let outside = server.store(Some("px_"), StoreFlavor::Redis);
    let t = now();
    for (k, timeout) in [("a", Some(100)), ("b", Some(0)), ("c", Some(2))] {
        let op = StoreOp::Set {
            key: k.into(),
            value: Value::str(k),
            timeout,
        };
        store.execute(&op, t).unwrap();
    }
    outside
        .execute(
            &StoreOp::Set {
                key: "z".into(),
                value: Value::int(1),
                timeout: Some(100),
            },
            t,
        )
        .unwrap();
    let keys = store.scan_keys().unwrap();
    assert_eq!(
        keys,
        vec![b"p*_a".to_vec(), b"p*_b".to_vec(), b"p*_c".to_vec()]
    );
    let before = store.pttl(b"p*_a").unwrap();
    assert!((99_000..=100_000).contains(&before), "{before}");
    assert_eq!(store.pttl(b"p*_b").unwrap(), -1);
    // Ten seconds pass: `a` has about 90 s left, `c` is gone, `b` never expires.
    assert_eq!(store.age(10_000).unwrap(), 2);
    let after = store.pttl(b"p*_a").unwrap();
    assert!(
        before - after >= 10_000 && before - after <= 10_050,
        "{before} -> {after}"
    );
    assert_eq!(store.pttl(b"p*_c").unwrap(), -2);
    assert_eq!(store.pttl(b"p*_b").unwrap(), -1);
    let z = outside.pttl(b"px_z").unwrap();
    assert!(
        z > 99_000,
        "keys outside the prefix keep their deadline: {z}"
    );
    store.raw_set(b"p*_raw", b"\x00\xff", Some(50_000)).unwrap();
    assert_eq!(
        store.raw_get(b"p*_raw").unwrap(),
        Some(b"\x00\xff".to_vec())
    );
    assert!(store.raw_delete(b"p*_raw").unwrap());
    assert!(!store.raw_delete(b"p*_raw").unwrap());
    assert_eq!(store.flush_prefix().unwrap(), 2);
    assert!(store.scan_keys().unwrap().is_empty());
    assert_eq!(outside.scan_keys().unwrap(), vec![b"px_z".to_vec()]);
}
