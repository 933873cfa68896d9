//! Unit tests of `MemoryStore`: measured SimpleCache and RedisCache behaviours.

use super::*;
use crate::error::{PyError, PyExceptionType};

fn store(threshold: usize) -> MemoryStore {
    MemoryStore::new(StoreConfig {
        threshold,
        ..StoreConfig::default()
    })
}

fn state(s: &MemoryStore) -> Vec<(String, i128)> {
    s.entries().map(|(k, e, _)| (k.to_owned(), e)).collect()
}

fn expect(pairs: &[(&str, i128)]) -> Vec<(String, i128)> {
    pairs.iter().map(|&(k, e)| (k.to_owned(), e)).collect()
}

fn int(i: i64) -> Value {
    Value::int(i)
}

/// `simple_exp.py` (FC-4.3.1 to FC-4.3.4), threshold 3, clock at 1,000,000.0.
#[test]
fn simple_exp_trace() {
    let mut c = store(3);
    let mut now = Timestamp::from_secs(1_000_000);
    assert!(c.set("a", int(1), None, now));
    assert!(c.set("z", int(2), Some(0), now));
    assert!(c.set("n", int(3), Some(-5), now));
    assert!(c.set("b", int(4), Some(10), now));
    assert_eq!(
        state(&c),
        expect(&[("a", 1000300), ("z", 0), ("n", -5), ("b", 1000010)])
    );
    // A negative timeout stores an expired entry; delete still finds it.
    assert_eq!(c.get("n", now), Value::None);
    assert!(!c.has("n", now));
    assert!(c.delete("n"));
    assert!(!c.delete("n"));
    assert!(c.set("n", int(3), Some(-5), now));
    assert!(c.set("c", int(5), Some(20), now));
    assert_eq!(
        state(&c),
        expect(&[("a", 1000300), ("b", 1000010), ("c", 1000020)])
    );
    assert!(c.set("d", int(6), Some(30), now));
    assert_eq!(
        state(&c),
        expect(&[
            ("a", 1000300),
            ("b", 1000010),
            ("c", 1000020),
            ("d", 1000030)
        ])
    );
    assert!(c.set("e", int(7), Some(5), now));
    assert_eq!(
        state(&c),
        expect(&[
            ("a", 1000300),
            ("c", 1000020),
            ("d", 1000030),
            ("e", 1000005)
        ])
    );
    now = now.saturating_add_secs(6);
    assert_eq!(c.get("e", now), Value::None);
    assert!(!c.has("e", now));
    assert!(c.add("e", int(8), Some(100), now));
    assert_eq!(c.get("e", now), int(8));
    // c is alive, but pruning evicts it (smallest expiry) before add checks has().
    assert!(c.has("c", now));
    assert!(c.add("c", int(0), None, now));
    assert_eq!(
        state(&c),
        expect(&[
            ("a", 1000300),
            ("d", 1000030),
            ("e", 1000106),
            ("c", 1000306)
        ])
    );
    now = Timestamp::from_secs(1_000_010);
    assert_eq!(c.get("b", now), Value::None);
    assert!(!c.has("b", now));
    assert_eq!(
        c.delete_many(&["c", "missing"], now),
        Ok(vec!["c".to_owned(), "missing".to_owned()])
    );
    // inc/dec as BaseCache does them: set(key, (get(key) or 0) + delta), default timeout.
    for delta in [1, 5, -2] {
        let old = c.get("cnt", now);
        let base = match old {
            Value::Int(i) => i.as_i64().unwrap_or(0),
            _ => 0,
        };
        assert!(c.set("cnt", int(base + delta), None, now));
    }
    assert_eq!(c.get("cnt", now), int(4));
    assert_eq!(
        state(&c),
        expect(&[("a", 1000300), ("e", 1000106), ("cnt", 1000310)])
    );
    let lst = Value::List(vec![int(1), int(2)]);
    assert!(c.set("lst", lst.clone(), None, now));
    assert_eq!(c.get("lst", now), lst);
    assert!(c.set("none", Value::None, None, now));
    assert_eq!(c.get("none", now), Value::None);
    assert!(c.has("none", now));
    assert!(c.clear());
    assert!(c.is_empty());
    assert_eq!(c.get_many(&["x", "y"], now), vec![Value::None, Value::None]);
    assert_eq!(
        c.set_many(&[("p".into(), int(1)), ("q".into(), int(2))], None, now),
        vec!["p".to_owned(), "q".to_owned()]
    );
    assert_eq!(
        c.set_many(&[("r".into(), int(1))], Some(0), now),
        vec!["r".to_owned()]
    );
    assert_eq!(
        state(&c),
        expect(&[("p", 1000310), ("q", 1000310), ("r", 0)])
    );
}

/// `trunc.py` (FC-4.3.2): set at 1000.7 with timeout 10 → expires 1010; alive at
/// 1009.9, gone at exactly 1010.0.
#[test]
fn trunc_py() {
    let mut c = MemoryStore::default();
    assert!(c.set("k", int(1), Some(10), Timestamp::from_micros(1_000_700_000)));
    assert_eq!(c.peek("k").map(|(e, _)| e), Some(1010));
    assert_eq!(c.get("k", Timestamp::from_micros(1_009_900_000)), int(1));
    assert_eq!(c.get("k", Timestamp::from_micros(1_009_999_999)), int(1));
    assert_eq!(c.get("k", Timestamp::from_secs(1010)), Value::None);
    assert!(!c.has("k", Timestamp::from_secs(1010)));
    // Dead but still stored.
    assert_eq!(c.len(), 1);
}

/// `ties.py` (FC-4.3.4): threshold 2, equal expiries; re-setting x evicts x first and
/// re-inserts it at the end.
#[test]
fn ties_py() {
    let mut c = store(2);
    let now = Timestamp::from_secs(1_000_000);
    for k in ["x", "y", "z"] {
        c.set(k, int(1), Some(50), now);
    }
    c.set("x", int(2), Some(50), now);
    assert_eq!(c.keys().collect::<Vec<_>>(), ["y", "z", "x"]);
    c.set("w", int(1), Some(50), now);
    assert_eq!(c.keys().collect::<Vec<_>>(), ["z", "x", "w"]);
}

/// A re-set that pruning does not touch keeps the key's slot; delete + set moves it to
/// the end (FC-4.3.4).
#[test]
fn reset_keeps_slot_delete_moves_it() {
    let mut c = MemoryStore::default();
    let now = Timestamp::from_secs(100);
    for k in ["a", "b", "c"] {
        c.set(k, int(0), None, now);
    }
    c.set("a", int(1), Some(5), now);
    assert_eq!(c.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert!(c.delete("a"));
    c.set("a", int(2), None, now);
    assert_eq!(c.keys().collect::<Vec<_>>(), ["b", "c", "a"]);
}

/// `add` over a dead entry stores and returns true, keeping the dead entry's slot when
/// no pruning happens; over a live entry it returns false and changes nothing
/// (FC-4.3.3).
#[test]
fn add_over_dead_and_live() {
    let mut c = MemoryStore::default();
    let now = Timestamp::from_secs(1000);
    c.set("dead", int(1), Some(-1), now);
    c.set("live", int(2), None, now);
    assert!(c.add("dead", int(3), Some(10), now));
    assert_eq!(c.get("dead", now), int(3));
    assert_eq!(c.keys().collect::<Vec<_>>(), ["dead", "live"]);
    assert!(!c.add("live", int(4), Some(10), now));
    assert_eq!(c.get("live", now), int(2));
    assert_eq!(c.peek("live").map(|(e, _)| e), Some(1300));
    // Expired by time rather than by a negative timeout.
    let later = now.saturating_add_secs(10);
    assert!(!c.has("dead", later));
    assert!(c.add("dead", int(5), Some(0), later));
    assert_eq!(c.peek("dead").map(|(e, _)| e), Some(0));
}

/// `delete_many` returns deleted and absent keys, repeats included; `delete` of a
/// dead entry is true (FC-4.3.3).
#[test]
fn delete_many_returns() {
    let mut c = MemoryStore::default();
    let now = Timestamp::from_secs(1000);
    c.set("a", int(1), None, now);
    c.set("dead", int(1), Some(-3), now);
    assert_eq!(
        c.delete_many(&["a", "missing", "a", "dead"], now),
        Ok(vec![
            "a".to_owned(),
            "missing".to_owned(),
            "a".to_owned(),
            "dead".to_owned()
        ])
    );
    assert!(c.is_empty());
    assert_eq!(c.delete_many::<&str>(&[], now), Ok(vec![]));
}

/// A stored `None`: `get` gives `None`, `has` gives true (FC-4.3.2).
#[test]
fn stored_none() {
    let mut c = MemoryStore::default();
    let now = Timestamp::from_secs(5);
    c.set("k", Value::None, None, now);
    assert_eq!(c.get("k", now), Value::None);
    assert!(c.has("k", now));
    assert_eq!(
        c.execute(&StoreOp::Has { key: "k".into() }, now),
        Ok(StoreReply::Bool(true))
    );
}

/// Pruning step (1) removes never-expiring (`0`) and negative entries as "expired"
/// (FC-4.3.4); below the threshold nothing is pruned.
#[test]
fn prune_removes_never_expiring_entries() {
    let mut c = store(2);
    let now = Timestamp::from_secs(1000);
    c.set("forever", int(1), Some(0), now);
    c.set("neg", int(1), Some(-1), now);
    c.set("t", int(1), Some(5), now);
    assert_eq!(c.len(), 3);
    c.set("u", int(1), Some(5), now);
    assert_eq!(c.keys().collect::<Vec<_>>(), ["t", "u"]);
}

/// An entry with `expires == now` exactly is removed by neither `expires < now` in
/// pruning nor treated as alive (FC-4.3.2, FC-4.3.4).
#[test]
fn boundary_entry_is_dead_but_not_pruned_as_expired() {
    let mut c = store(1);
    let t0 = Timestamp::from_secs(1000);
    c.set("a", int(1), Some(5), t0);
    c.set("b", int(1), Some(9), t0);
    let t = Timestamp::from_secs(1005);
    assert!(!c.has("a", t));
    // Over threshold: a (1005) is not < 1005, so step (1) keeps it; step (2) evicts a
    // (smallest expiry), then c goes in.
    c.set("c", int(1), Some(1), t);
    assert_eq!(state(&c), expect(&[("b", 1009), ("c", 1006)]));
}

/// The store never holds more than `threshold + 1` entries; `threshold 0` means 500
/// (FC-4.3.4).
#[test]
fn threshold_bounds() {
    let mut c = store(0);
    assert_eq!(c.threshold(), 500);
    let now = Timestamp::from_secs(1);
    for i in 0..2000 {
        c.set(&format!("k{i}"), int(i), Some(i % 7), now);
        assert!(c.len() <= 501);
    }
    assert_eq!(c.len(), 501);
}

/// The key prefix is applied to stored keys; replies use the caller's keys (FC-4.2).
#[test]
fn key_prefix() {
    let mut c = MemoryStore::new(StoreConfig {
        key_prefix: Some("flask_cache_".into()),
        ..StoreConfig::default()
    });
    let now = Timestamp::from_secs(1);
    assert_eq!(
        c.execute(
            &StoreOp::SetMany {
                items: vec![("a".into(), int(1)), ("b".into(), int(2))],
                timeout: None
            },
            now
        ),
        Ok(StoreReply::Keys(vec!["a".into(), "b".into()]))
    );
    assert_eq!(
        c.keys().collect::<Vec<_>>(),
        ["flask_cache_a", "flask_cache_b"]
    );
    assert_eq!(c.get("a", now), int(1));
    assert_eq!(c.get("flask_cache_a", now), Value::None);
    assert!(c.delete("b"));
    assert_eq!(c.peek("a").map(|(e, _)| e), Some(301));
}

/// `set_many` reads its items as a dict: first position, last value (FC-4.3.3).
#[test]
fn set_many_is_a_dict() {
    let mut c = MemoryStore::default();
    let now = Timestamp::from_secs(1);
    let keys = c.set_many(
        &[
            ("a".into(), int(1)),
            ("b".into(), int(2)),
            ("a".into(), int(3)),
        ],
        Some(0),
        now,
    );
    assert_eq!(keys, ["a", "b"]);
    assert_eq!(c.get("a", now), int(3));
    assert_eq!(c.keys().collect::<Vec<_>>(), ["a", "b"]);
}

/// Order survives tombstone compaction (FC-4.3.4 depends on it).
#[test]
fn compaction_preserves_order() {
    let mut c = MemoryStore::default();
    let now = Timestamp::from_secs(1);
    for i in 0..100 {
        c.set(&format!("k{i}"), int(i), None, now);
    }
    for i in (0..100).filter(|i| i % 3 != 0) {
        assert!(c.delete(&format!("k{i}")));
    }
    for i in 0..100 {
        c.set(&format!("k{i}"), int(-i), None, now);
    }
    let keys: Vec<String> = c.keys().map(str::to_owned).collect();
    let mut want: Vec<String> = (0..100)
        .filter(|i| i % 3 == 0)
        .map(|i| format!("k{i}"))
        .collect();
    want.extend((0..100).filter(|i| i % 3 != 0).map(|i| format!("k{i}")));
    assert_eq!(keys, want);
    for i in 0..100 {
        assert_eq!(c.get(&format!("k{i}"), now), int(-i));
    }
    assert!(c.slots.len() <= 2 * c.len());
}

fn flavored(flavor: StoreFlavor, threshold: usize, ignore: bool) -> MemoryStore {
    MemoryStore::new(StoreConfig {
        threshold,
        ignore_delete_many_errors: ignore,
        flavor,
        ..StoreConfig::default()
    })
}

fn keys_of(ks: &[&str]) -> Vec<String> {
    ks.iter().map(|&k| k.to_owned()).collect()
}

/// Flask-Caching 2.4.1: `delete_many` returns the keys it deleted and stops at the first
/// key that was not stored, unless errors are ignored; it never raises (FC-4.3.3).
#[test]
fn fc24_delete_many_stops_at_a_miss() {
    let now = Timestamp::from_secs(1000);
    let mut c = flavored(StoreFlavor::FlaskCaching24, 500, false);
    for k in ["x", "y", "dead"] {
        c.set(k, int(1), None, now);
    }
    c.set("dead", int(1), Some(-1), now);
    let op = StoreOp::DeleteMany {
        keys: keys_of(&["x", "missing", "y"]),
    };
    assert_eq!(c.execute(&op, now), Ok(StoreReply::Keys(keys_of(&["x"]))));
    assert_eq!(c.keys().collect::<Vec<_>>(), ["y", "dead"]);
    // A dead entry is still stored: `delete` returns True for it.
    assert_eq!(
        c.delete_many(&["dead", "y"], now),
        Ok(keys_of(&["dead", "y"]))
    );
    let mut c = flavored(StoreFlavor::FlaskCaching24, 500, true);
    c.set("x", int(1), None, now);
    c.set("y", int(1), None, now);
    assert_eq!(
        c.delete_many(&["x", "missing", "y", "x"], now),
        Ok(keys_of(&["x", "y"]))
    );
    assert_eq!(c.delete_many::<&str>(&[], now), Ok(vec![]));
    // Everything else is cachelib's: threshold 0 means 500, `add` over dead succeeds.
    let mut c = flavored(StoreFlavor::FlaskCaching24, 0, false);
    assert_eq!(c.threshold(), 500);
    c.set("d", int(1), Some(-1), now);
    assert!(c.add("d", int(2), None, now));
    assert_eq!(c.peek("d").map(|(e, _)| e), Some(1300));
}

/// Werkzeug 0.16, measured: threshold 4 at 1000.7 with timeouts 10, 0, -1, 5, 3, then
/// at 1003.7 `add('c', 2, 10)` prunes positions 0 and 3 and the dead `c` and `e`
/// (`1003.7 <= now`), leaving `[b, c]`; `delete_many('a', 'zz', 'b')` is False and
/// deletes nothing (a is gone); `set_many` is True; `clear()` is None.
#[test]
fn werkzeug_trace() {
    let mut c = flavored(StoreFlavor::Werkzeug016, 4, false);
    let t0 = Timestamp::from_micros(1_000_700_000);
    for (k, t) in [("a", 10), ("b", 0), ("c", -1), ("d", 5), ("e", 3)] {
        assert!(c.set(k, int(1), Some(t), t0));
    }
    assert_eq!(
        state(&c),
        expect(&[
            ("a", 1_010_700_000),
            ("b", StoreFlavor::NEVER),
            ("c", -1_000_000),
            ("d", 1_005_700_000),
            ("e", 1_003_700_000)
        ])
    );
    assert!(c.has("d", Timestamp::from_micros(1_005_699_999)));
    assert!(!c.has("d", Timestamp::from_micros(1_005_700_000)));
    let t1 = Timestamp::from_micros(1_003_700_000);
    assert!(c.add("c", int(2), Some(10), t1));
    assert_eq!(
        state(&c),
        expect(&[("b", StoreFlavor::NEVER), ("c", 1_013_700_000)])
    );
    assert!(c.set("f", int(1), Some(1), t1));
    let dm = StoreOp::DeleteMany {
        keys: keys_of(&["a", "zz", "b"]),
    };
    assert_eq!(c.execute(&dm, t1), Ok(StoreReply::Bool(false)));
    assert_eq!(c.keys().collect::<Vec<_>>(), ["b", "c", "f"]);
    let dm = StoreOp::DeleteMany {
        keys: keys_of(&["b", "f"]),
    };
    assert_eq!(c.execute(&dm, t1), Ok(StoreReply::Bool(true)));
    assert_eq!(
        c.execute(&StoreOp::DeleteMany { keys: vec![] }, t1),
        Ok(StoreReply::Bool(true))
    );
    let sm = StoreOp::SetMany {
        items: vec![("x".into(), int(1)), ("y".into(), int(2))],
        timeout: None,
    };
    assert_eq!(c.execute(&sm, t1), Ok(StoreReply::Bool(true)));
    assert_eq!(
        c.execute(&StoreOp::Clear, t1),
        Ok(StoreReply::Value(Value::None))
    );
    assert!(c.is_empty());
}

/// Werkzeug 0.16: `add` refuses a key that is stored even when it is dead; the float
/// expiry is not truncated; threshold 0 prunes on every write (FC-4.3.3, FC-4.3.4).
#[test]
fn werkzeug_add_float_expiry_and_threshold_zero() {
    let mut c = flavored(StoreFlavor::Werkzeug016, 500, false);
    let t0 = Timestamp::from_micros(1_000_700_000);
    c.set("dead", int(1), Some(-1), t0);
    assert!(!c.has("dead", t0));
    assert!(!c.add("dead", int(2), None, t0));
    assert_eq!(c.get("dead", t0), Value::None);
    c.set("k", int(1), Some(10), t0);
    assert_eq!(c.get("k", Timestamp::from_micros(1_010_699_999)), int(1));
    assert_eq!(
        c.get("k", Timestamp::from_micros(1_010_700_000)),
        Value::None
    );
    assert!(!c.add("k", int(2), None, Timestamp::from_secs(2000)));
    assert_eq!(c.expires_for(Some(0), t0), StoreFlavor::NEVER);
    assert_eq!(c.expires_for(None, t0), 1_300_700_000);

    let mut c = flavored(StoreFlavor::Werkzeug016, 0, false);
    assert_eq!(c.threshold(), 0);
    assert!(c.set("p", int(1), None, t0));
    assert!(c.set("q", int(1), None, t0));
    assert_eq!(c.keys().collect::<Vec<_>>(), ["q"]);
    assert!(c.add("p", int(1), None, t0));
    assert_eq!(c.keys().collect::<Vec<_>>(), ["p"]);
}

/// Werkzeug 0.16 pruning: dead entries and positions 0, 3, 6, ... go, whatever their
/// expiry; a re-set key that survives keeps its position (FC-4.3.4).
#[test]
fn werkzeug_prunes_every_third_entry() {
    let mut c = flavored(StoreFlavor::Werkzeug016, 6, false);
    let now = Timestamp::from_secs(1000);
    for i in 0..7 {
        c.set(&format!("k{i}"), int(i), Some(0), now);
    }
    c.set("k1", int(10), Some(5), now);
    assert_eq!(
        c.keys().collect::<Vec<_>>(),
        ["k1", "k2", "k4", "k5"],
        "k0, k3 and k6 pruned; k1 set in place"
    );
    assert_eq!(c.get("k1", now), int(10));
}

/// Extreme timeouts and clocks neither panic nor wrap (FC-4.3.1: Python ints do not
/// overflow).
#[test]
fn extremes() {
    let mut c = store(1);
    let hi = Timestamp::from_micros(i64::MAX);
    let lo = Timestamp::from_micros(i64::MIN);
    c.set("a", int(1), Some(i64::MAX), hi);
    c.set("b", int(1), Some(i64::MIN), lo);
    c.set("c", int(1), Some(i64::MAX), lo);
    assert_eq!(
        c.peek("c").map(|(e, _)| e),
        Some(i128::from(i64::MIN / 1_000_000) + i128::from(i64::MAX))
    );
    assert!(c.has("c", lo));
    assert!(c.len() <= 2);
    assert_eq!(
        MemoryStore::default().expires_for(Some(i64::MAX), hi),
        i128::from(i64::MAX / 1_000_000) + i128::from(i64::MAX)
    );
    assert!(MemoryStore::is_alive(i128::MAX, hi));
    assert!(!MemoryStore::is_alive(i128::MIN, lo));
}

fn redis(flavor: StoreFlavor, prefix: Option<&str>) -> MemoryStore {
    MemoryStore::new(StoreConfig {
        key_prefix: prefix.map(str::to_owned),
        ..StoreConfig::redis(flavor)
    })
}

fn response_error(message: &str) -> StoreError {
    StoreError::Raised(crate::error::PyError::new(
        crate::error::PyExceptionType::Other("ResponseError".into()),
        message,
    ))
}

/// `redis_exp.py` / `redis_extra.py` (FC-4.5.2, FC-4.5.3), and the refusals measured
/// with Redis 7.0.15: replies, prefixed keys, timeouts `0`/`-1` without expiry, `<= -2`
/// refused.
#[test]
fn redis_measured() {
    let mut c = redis(StoreFlavor::Redis, Some("flask_cache_"));
    let now = Timestamp::from_secs(1000);
    assert_eq!(c.execute(&StoreOp::Clear, now), Ok(StoreReply::Bool(false)));
    let set = |key: &str, value: Value, timeout| StoreOp::Set {
        key: key.into(),
        value,
        timeout,
    };
    assert_eq!(
        c.execute(&set("i", int(42), None), now),
        Ok(StoreReply::Bool(true))
    );
    assert_eq!(c.peek("i").map(|(e, _)| e), Some(1_300_000_001));
    assert!(c.set("b", Value::Bool(true), Some(0), now));
    assert!(c.set("t1", int(1), Some(-1), now));
    assert_eq!(c.peek("t1").map(|(e, _)| e), Some(StoreFlavor::NEVER));
    let refused = response_error("invalid expire time in 'set' command");
    assert_eq!(
        c.execute(&set("neg", int(1), Some(-2)), now),
        Err(refused.clone())
    );
    assert_eq!(c.execute(&set("neg", int(1), Some(-5)), now), Err(refused));
    assert!(c.peek("neg").is_none());
    let add = |key: &str, timeout| StoreOp::Add {
        key: key.into(),
        value: int(5),
        timeout,
    };
    assert_eq!(c.execute(&add("i", None), now), Ok(StoreReply::Bool(false)));
    assert_eq!(
        c.execute(&add("n", Some(7)), now),
        Ok(StoreReply::Bool(true))
    );
    assert_eq!(
        c.execute(&add("a1", Some(-1)), now),
        Ok(StoreReply::Bool(true))
    );
    assert_eq!(c.peek("a1").map(|(e, _)| e), Some(StoreFlavor::NEVER));
    // SETNX creates the key, EXPIRE -5 deletes it.
    assert_eq!(
        c.execute(&add("gone", Some(-5)), now),
        Ok(StoreReply::Bool(true))
    );
    assert!(!c.has("gone", now));
    // EXPIRE out of range: raised after SETNX created the key.
    assert_eq!(
        c.execute(&add("h2", Some(i64::MAX)), now),
        Err(response_error("invalid expire time in 'expire' command"))
    );
    assert_eq!(c.peek("h2").map(|(e, _)| e), Some(StoreFlavor::NEVER));
    assert!(c.delete("i") && !c.delete("i"));
    let sm = StoreOp::SetMany {
        items: vec![("x".into(), int(1)), ("y".into(), Value::str("z"))],
        timeout: Some(0),
    };
    assert_eq!(
        c.execute(&sm, now),
        Ok(StoreReply::Keys(keys_of(&["x", "y"])))
    );
    let gm = StoreOp::GetMany {
        keys: keys_of(&["x", "y", "q"]),
    };
    assert_eq!(
        c.execute(&gm, now),
        Ok(StoreReply::Values(vec![
            int(1),
            Value::str("z"),
            Value::None
        ]))
    );
    let dm = StoreOp::DeleteMany {
        keys: keys_of(&["x", "y", "q"]),
    };
    assert_eq!(
        c.execute(&dm, now),
        Ok(StoreReply::Keys(keys_of(&["x", "y", "q"])))
    );
    let sm = StoreOp::SetMany {
        items: vec![("x".into(), int(1)), ("y".into(), Value::str("zz"))],
        timeout: Some(-2),
    };
    assert_eq!(
        c.execute(&sm, now),
        Err(response_error(
            "Command # 1 (SET flask_cache_x 1 EX -2) of pipeline caused error: invalid \
             expire time in 'set' command"
        ))
    );
    let empty = StoreOp::SetMany {
        items: vec![],
        timeout: Some(-2),
    };
    assert_eq!(c.execute(&empty, now), Ok(StoreReply::Keys(vec![])));
    assert!(c.keys().all(|k| k.starts_with("flask_cache_")));
    assert_eq!(c.execute(&StoreOp::Clear, now), Ok(StoreReply::Bool(true)));
    assert_eq!(c.execute(&StoreOp::Clear, now), Ok(StoreReply::Bool(false)));
    assert!(c.is_empty());
}

/// `EX t`: alive at exactly `now + t`, gone a microsecond later; an expired key is
/// absent for `add`, `delete` and `clear` (FC-4.5.2).
#[test]
fn redis_expiry() {
    let mut c = redis(StoreFlavor::Redis, None);
    let t0 = Timestamp::from_micros(1_000_700_000);
    assert!(c.set("k", int(1), Some(10), t0));
    assert_eq!(c.get("k", Timestamp::from_micros(1_010_700_000)), int(1));
    assert_eq!(
        c.get("k", Timestamp::from_micros(1_010_700_001)),
        Value::None
    );
    let later = Timestamp::from_secs(2000);
    assert!(!c.has("k", later));
    assert_eq!(
        c.execute(&StoreOp::Delete { key: "k".into() }, later),
        Ok(StoreReply::Bool(false))
    );
    assert!(c.set("e", int(1), Some(1), later));
    let after = later.saturating_add_secs(2);
    assert!(c.add("e", int(2), Some(0), after));
    assert_eq!(c.get("e", after), int(2));
    // A prefix with glob characters: `KEYS fc[x]?_*` does not match `fc[x]?_e`.
    let mut g = redis(StoreFlavor::Redis, Some("fc[x]?_"));
    assert!(g.set("e", int(1), None, later));
    assert_eq!(
        g.execute(&StoreOp::Clear, later),
        Ok(StoreReply::Bool(false))
    );
    assert_eq!(g.len(), 1);
    // No prefix: FLUSHDB, True even when empty.
    let mut f = redis(StoreFlavor::Redis, Some(""));
    assert_eq!(
        f.execute(&StoreOp::Clear, later),
        Ok(StoreReply::Bool(true))
    );
    assert!(f.set("k", int(1), None, later));
    assert_eq!(f.keys().collect::<Vec<_>>(), ["k"]);
    // Expired entries are dropped as the store grows; live ones stay.
    let mut m = redis(StoreFlavor::Redis, None);
    for i in 0..1000 {
        let now = Timestamp::from_secs(i);
        m.set(&format!("k{i}"), int(i), Some(1), now);
        assert!(m.len() <= 200);
    }
    assert_eq!(m.get("k999", Timestamp::from_secs(999)), int(999));
}

/// Flask-Caching 2.4.1's `delete_many` on Redis: stops at the first key `DEL` did not
/// find, whatever `CACHE_IGNORE_ERRORS` says (measured).
#[test]
fn redis24_delete_many() {
    for ignore in [false, true] {
        let mut c = MemoryStore::new(StoreConfig {
            ignore_delete_many_errors: ignore,
            ..StoreConfig::redis(StoreFlavor::Redis24)
        });
        let now = Timestamp::from_secs(1000);
        c.set("x", int(1), None, now);
        c.set("y", int(2), None, now);
        assert_eq!(c.delete_many(&["x", "q", "y"], now), Ok(keys_of(&["x"])));
        assert_eq!(c.delete_many(&["y"], now), Ok(keys_of(&["y"])));
        assert_eq!(c.delete_many::<&str>(&[], now), Ok(vec![]));
        assert_eq!(c.delete_many(&["x", "x"], now), Ok(vec![]));
        let mut c25 = redis(StoreFlavor::Redis, None);
        c25.set("x", int(1), None, now);
        assert_eq!(c25.delete_many(&["x", "x"], now), Ok(keys_of(&["x", "x"])));
    }
}

fn nonstr_key(v: Value) -> String {
    nonstr::key_text(&v)
}

fn run(c: &mut MemoryStore, op: StoreOp) -> Result<StoreReply, StoreError> {
    c.execute(&op, Timestamp::from_secs(1000))
}

fn raised(kind: PyExceptionType, message: &str) -> Result<StoreReply, StoreError> {
    Err(StoreError::Raised(PyError::new(kind, message)))
}

/// Measured with cachelib 0.17.0, Flask-Caching 2.4.1 and Werkzeug 0.16.1
/// (`tests/traces/nonstr_keys.py`): `1`, `1.0` and `True` are one entry, filed under the
/// key first stored, and `"1"` is another; replies spell keys as the caller did.
#[test]
fn simple_cache_keys_compare_as_python_dict_keys() {
    for flavor in [
        StoreFlavor::Cachelib,
        StoreFlavor::FlaskCaching24,
        StoreFlavor::Werkzeug016,
    ] {
        let mut c = MemoryStore::new(StoreConfig {
            flavor,
            ..StoreConfig::default()
        });
        let (one, one_f, yes) = (
            nonstr_key(int(1)),
            nonstr_key(Value::Float(1.0)),
            nonstr_key(Value::Bool(true)),
        );
        let set = |key: &str, v: &str| StoreOp::Set {
            key: key.into(),
            value: Value::str(v),
            timeout: None,
        };
        assert_eq!(run(&mut c, set(&one, "one")), Ok(StoreReply::Bool(true)));
        assert_eq!(run(&mut c, set(&yes, "true")), Ok(StoreReply::Bool(true)));
        assert_eq!(c.len(), 1);
        assert_eq!(c.keys().collect::<Vec<_>>(), [one.as_str()]);
        assert_eq!(
            c.get(&one_f, Timestamp::from_secs(1000)),
            Value::str("true")
        );
        assert_eq!(c.get("1", Timestamp::from_secs(1000)), Value::None);
        let set_many = StoreOp::SetMany {
            items: vec![
                (nonstr_key(int(3)), Value::str("a")),
                (nonstr_key(Value::Float(3.0)), Value::str("b")),
            ],
            timeout: None,
        };
        let reply = run(&mut c, set_many);
        if flavor != StoreFlavor::Werkzeug016 {
            // `{3: 'a', 3.0: 'b'}` is the dict `{3: 'b'}`.
            assert_eq!(reply, Ok(StoreReply::Keys(vec![nonstr_key(int(3))])));
        }
        assert_eq!(
            c.get(&nonstr_key(int(3)), Timestamp::from_secs(1000)),
            Value::str("b")
        );
        let delete_many = StoreOp::DeleteMany {
            keys: vec![one_f.clone(), nonstr_key(Value::Float(3.0))],
        };
        let expected = match flavor {
            StoreFlavor::Werkzeug016 => StoreReply::Bool(true),
            _ => StoreReply::Keys(vec![one_f.clone(), nonstr_key(Value::Float(3.0))]),
        };
        assert_eq!(run(&mut c, delete_many), Ok(expected));
        assert!(c.is_empty());
    }
}

/// Measured (`tests/traces/nonstr_keys.py`): a list key raises `TypeError` from the dict;
/// `set` prunes first, `delete_many` deletes the keys before it (2.4 and 0.13 stop at a
/// missing key first, and then do not raise).
#[test]
fn unhashable_keys_raise_after_what_came_before() {
    let list = nonstr_key(Value::List(vec![int(2)]));
    let error = raised(PyExceptionType::TypeError, "unhashable type: 'list'");
    for flavor in [
        StoreFlavor::Cachelib,
        StoreFlavor::FlaskCaching24,
        StoreFlavor::Werkzeug016,
    ] {
        let mut c = MemoryStore::new(StoreConfig {
            threshold: 1,
            flavor,
            ..StoreConfig::default()
        });
        let now = Timestamp::from_secs(1000);
        c.set("a", int(1), Some(-1), now);
        c.set("b", int(2), None, now);
        assert_eq!(c.len(), 2);
        let set = StoreOp::Set {
            key: list.clone(),
            value: int(3),
            timeout: None,
        };
        assert_eq!(run(&mut c, set), error.clone());
        assert!(c.len() < 2, "{flavor:?}: set prunes before it raises");
        c.set("x", int(1), None, now);
        let keys = vec!["x".to_owned(), list.clone()];
        assert_eq!(run(&mut c, StoreOp::DeleteMany { keys }), error.clone());
        assert!(!c.has("x", now));
        let keys = vec!["absent".to_owned(), list.clone()];
        let stopped = match flavor {
            StoreFlavor::Cachelib => error.clone(),
            StoreFlavor::FlaskCaching24 => Ok(StoreReply::Keys(vec![])),
            _ => Ok(StoreReply::Bool(false)),
        };
        assert_eq!(run(&mut c, StoreOp::DeleteMany { keys }), stopped);
        assert_eq!(
            run(&mut c, StoreOp::Get { key: list.clone() }),
            error.clone()
        );
    }
}

/// Measured (cachelib 0.17.0 RedisCache through Flask-Caching 2.5.1 and 2.4.1, on
/// fakeredis; `tests/traces/nonstr_keys_redis.py`): keys are formatted into names, so
/// `42` is `"42"` and nothing raises; without a prefix, `get_many` (and 2.5's
/// `delete_many`) raise `DataError` for a bool or a function before any command, and
/// send `b'k'` as `k`.
#[test]
fn redis_keys_are_formatted_names() {
    let data_error = |t: &str| {
        raised(
            PyExceptionType::Other("DataError".into()),
            &format!(
                "Invalid input of type: '{t}'. Convert to a bytes, string, int or float first."
            ),
        )
    };
    let function = nonstr_key(Value::Object(Box::new(crate::value::PyObject {
        class: crate::value::ClassRef::new("builtins", "function"),
        repr: "<function helper at 0x7f00>".into(),
        caching_id: None,
    })));
    for flavor in [StoreFlavor::Redis, StoreFlavor::Redis24] {
        let mut c = redis(flavor, Some("flask_cache_"));
        let now = Timestamp::from_secs(1000);
        assert!(c.set(&nonstr_key(int(42)), Value::str("int"), None, now));
        assert_eq!(c.get("flask_cache_42", now), Value::None);
        assert_eq!(c.get("42", now), Value::str("int"));
        assert_eq!(c.keys().collect::<Vec<_>>(), ["flask_cache_42"]);
        assert_eq!(c.get(&nonstr_key(Value::Float(42.0)), now), Value::None);
        assert!(c.set(&function, Value::str("f"), None, now));
        assert!(c.has("<function helper at 0x7f00>", now));
        // With the prefix, every call formats: no errors.
        let get_many = StoreOp::GetMany {
            keys: vec![function.clone(), nonstr_key(Value::Bool(true))],
        };
        assert_eq!(
            run(&mut c, get_many.clone()),
            Ok(StoreReply::Values(vec![Value::str("f"), Value::None]))
        );

        let mut c = redis(flavor, Some(""));
        assert!(c.set(&nonstr_key(int(42)), Value::str("int"), None, now));
        assert!(c.set(&function, Value::str("f"), None, now));
        let bytes = nonstr_key(Value::Bytes(b"k".to_vec()));
        assert!(c.set(&bytes, Value::str("bytes"), None, now));
        assert_eq!(
            c.keys().collect::<Vec<_>>(),
            ["42", "<function helper at 0x7f00>", "b'k'"]
        );
        assert_eq!(run(&mut c, get_many), data_error("function"));
        let get_many = StoreOp::GetMany {
            keys: vec![
                nonstr_key(int(42)),
                bytes.clone(),
                nonstr_key(Value::Float(1.5)),
            ],
        };
        assert_eq!(
            run(&mut c, get_many),
            Ok(StoreReply::Values(vec![
                Value::str("int"),
                Value::None,
                Value::None
            ]))
        );
        let delete_many = StoreOp::DeleteMany {
            keys: vec![nonstr_key(int(42)), function.clone()],
        };
        let bytes_delete = StoreOp::DeleteMany {
            keys: vec![bytes.clone()],
        };
        if flavor == StoreFlavor::Redis {
            assert_eq!(run(&mut c, delete_many), data_error("function"));
            assert_eq!(c.len(), 3);
            assert_eq!(
                run(&mut c, bytes_delete),
                raised(
                    PyExceptionType::RuntimeError,
                    "Failed to delete keys: [b'k']"
                )
            );
            assert_eq!(c.len(), 3);
        } else {
            assert_eq!(
                run(&mut c, delete_many),
                Ok(StoreReply::Keys(vec![
                    nonstr_key(int(42)),
                    function.clone()
                ]))
            );
            assert_eq!(run(&mut c, bytes_delete), Ok(StoreReply::Keys(vec![bytes])));
            assert!(c.is_empty());
        }
    }
}
