//! Property test: `MemoryStore` against a slow, obvious model of each flavour's SimpleCache
//! (FC-4.3), written from `simple.py` (cachelib 0.17.0), Flask-Caching 2.4.1's
//! `BaseCache.delete_many` and `werkzeug/contrib/cache.py` (0.16.1) line by line over a
//! plain `Vec` in dict order.

use proptest::prelude::*;

use super::{MemoryStore, StoreConfig, StoreError, StoreFlavor, StoreOp, StoreReply, Timestamp};
use crate::value::Value;

/// A Python number as the backend stores it in `expires`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn is_zero(self) -> bool {
        match self {
            Num::Int(i) => i == 0,
            Num::Float(f) => f == 0.0,
        }
    }

    /// `self > now`, with `now` a float. The model's ints are small, so `as f64` is exact.
    fn gt(self, now: f64) -> bool {
        match self {
            Num::Int(i) => (i as f64) > now,
            Num::Float(f) => f > now,
        }
    }
}

/// The model: `(key, expires, value)` in dict order; the clock is raw microseconds, seen
/// by the backend as the float `now_us / 1e6` (exact division for the model's range).
struct Model {
    flavor: StoreFlavor,
    default_timeout: i64,
    threshold: usize,
    prefix: String,
    ignore_errors: bool,
    dict: Vec<(String, Num, Value)>,
}

fn clock(now_us: i64) -> f64 {
    now_us as f64 / 1e6
}

impl Model {
    fn new(cfg: &StoreConfig) -> Self {
        let werkzeug = cfg.flavor == StoreFlavor::Werkzeug016;
        Model {
            flavor: cfg.flavor,
            default_timeout: cfg.default_timeout,
            // cachelib: `threshold or 500`; werkzeug: as given.
            threshold: if cfg.threshold == 0 && !werkzeug {
                500
            } else {
                cfg.threshold
            },
            prefix: cfg.key_prefix.clone().unwrap_or_default(),
            ignore_errors: cfg.ignore_delete_many_errors,
            dict: Vec::new(),
        }
    }

    fn werkzeug(&self) -> bool {
        self.flavor == StoreFlavor::Werkzeug016
    }

    fn full(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    fn pos(&self, key: &str) -> Option<usize> {
        let full = self.full(key);
        self.dict.iter().position(|(k, _, _)| *k == full)
    }

    // `expires == 0 or expires > time()`.
    fn alive(expires: Num, now_us: i64) -> bool {
        expires.is_zero() || expires.gt(clock(now_us))
    }

    fn normalize(&self, timeout: Option<i64>, now_us: i64) -> Num {
        let t = timeout.unwrap_or(self.default_timeout);
        if t <= 0 {
            Num::Int(i128::from(t))
        } else if self.werkzeug() {
            // time() + timeout
            Num::Float(clock(now_us) + t as f64)
        } else {
            // int(time()) + timeout
            Num::Int(clock(now_us).trunc() as i128 + i128::from(t))
        }
    }

    fn prune(&mut self, now_us: i64) {
        if self.werkzeug() {
            if self.dict.len() > self.threshold {
                let now = clock(now_us);
                let mut idx = 0;
                self.dict.retain(|(_, e, _)| {
                    let expired = !e.is_zero() && !e.gt(now);
                    let doomed = expired || idx % 3 == 0;
                    idx += 1;
                    !doomed
                });
            }
            return;
        }
        if self.dict.len() > self.threshold {
            // _remove_expired: drop every entry with `expires < now`.
            let now = clock(now_us);
            self.dict.retain(|(_, e, _)| match e {
                Num::Int(i) => (*i as f64) >= now,
                Num::Float(f) => *f >= now,
            });
        }
        if self.dict.len() > self.threshold {
            let mut sorted: Vec<(String, i128)> = self
                .dict
                .iter()
                .map(|(k, e, _)| (k.clone(), Self::secs(*e)))
                .collect();
            sorted.sort_by_key(|(_, e)| *e); // stable, like Python's sorted()
            for (k, _) in sorted {
                self.dict.retain(|(kk, _, _)| *kk != k);
                if self.dict.len() <= self.threshold {
                    break;
                }
            }
        }
    }

    fn secs(e: Num) -> i128 {
        match e {
            Num::Int(i) => i,
            Num::Float(f) => f as i128,
        }
    }

    /// The store's `expires` for a model entry: whole seconds for cachelib; for werkzeug
    /// the first microsecond at which `expires > time()` is false, found by stepping.
    fn reported(&self, e: Num) -> i128 {
        if !self.werkzeug() {
            return Self::secs(e);
        }
        if e.is_zero() {
            return StoreFlavor::NEVER;
        }
        let x = match e {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        };
        let mut t = (x * 1e6).floor() as i64 - 3;
        assert!(e.gt(clock(t)), "model search must start alive");
        while e.gt(clock(t)) {
            t += 1;
        }
        i128::from(t)
    }

    fn entries(&self) -> Vec<(String, i128, Value)> {
        self.dict
            .iter()
            .map(|(k, e, v)| (k.clone(), self.reported(*e), v.clone()))
            .collect()
    }

    fn get(&self, key: &str, now_us: i64) -> Value {
        match self.pos(key) {
            Some(p) if Self::alive(self.dict[p].1, now_us) => self.dict[p].2.clone(),
            _ => Value::None,
        }
    }

    fn has(&self, key: &str, now_us: i64) -> bool {
        self.pos(key)
            .is_some_and(|p| Self::alive(self.dict[p].1, now_us))
    }

    fn store(&mut self, key: &str, expires: Num, value: Value) {
        match self.pos(key) {
            Some(p) => {
                self.dict[p].1 = expires;
                self.dict[p].2 = value;
            }
            None => {
                let full = self.full(key);
                self.dict.push((full, expires, value));
            }
        }
    }

    fn set(&mut self, key: &str, value: Value, timeout: Option<i64>, now_us: i64) -> bool {
        let expires = self.normalize(timeout, now_us);
        self.prune(now_us);
        self.store(key, expires, value);
        true
    }

    fn delete(&mut self, key: &str) -> bool {
        match self.pos(key) {
            Some(p) => {
                self.dict.remove(p);
                true
            }
            None => false,
        }
    }

    fn apply(&mut self, op: &StoreOp, now_us: i64) -> Result<StoreReply, StoreError> {
        Ok(match op {
            StoreOp::Get { key } => StoreReply::Value(self.get(key, now_us)),
            StoreOp::GetMany { keys } => {
                StoreReply::Values(keys.iter().map(|k| self.get(k, now_us)).collect())
            }
            StoreOp::Has { key } => StoreReply::Bool(self.has(key, now_us)),
            StoreOp::Set {
                key,
                value,
                timeout,
            } => StoreReply::Bool(self.set(key, value.clone(), *timeout, now_us)),
            StoreOp::SetMany { items, timeout } => {
                // dict(items): first position, last value.
                let mut mapping: Vec<(String, Value)> = Vec::new();
                for (k, v) in items {
                    match mapping.iter_mut().find(|(kk, _)| kk == k) {
                        Some(slot) => slot.1 = v.clone(),
                        None => mapping.push((k.clone(), v.clone())),
                    }
                }
                let mut out = Vec::new();
                let mut rv = true;
                for (k, v) in mapping {
                    if self.set(&k, v, *timeout, now_us) {
                        out.push(k);
                    } else {
                        rv = false;
                    }
                }
                if self.werkzeug() {
                    StoreReply::Bool(rv)
                } else {
                    StoreReply::Keys(out)
                }
            }
            StoreOp::Add {
                key,
                value,
                timeout,
            } => {
                let expires = self.normalize(*timeout, now_us);
                self.prune(now_us);
                let refused = if self.werkzeug() {
                    self.pos(key).is_some()
                } else {
                    self.has(key, now_us)
                };
                if refused {
                    StoreReply::Bool(false)
                } else {
                    self.store(key, expires, value.clone());
                    StoreReply::Bool(true)
                }
            }
            StoreOp::Delete { key } => StoreReply::Bool(self.delete(key)),
            StoreOp::DeleteMany { keys } => match self.flavor {
                StoreFlavor::Werkzeug016 => {
                    // all(self.delete(key) for key in keys)
                    StoreReply::Bool(keys.iter().all(|k| self.delete(k)))
                }
                StoreFlavor::FlaskCaching24 => {
                    let mut deleted = Vec::new();
                    for k in keys {
                        if self.delete(k) {
                            deleted.push(k.clone());
                        } else if !self.ignore_errors {
                            break;
                        }
                    }
                    StoreReply::Keys(deleted)
                }
                StoreFlavor::Cachelib => {
                    let mut deleted = Vec::new();
                    let mut failed = Vec::new();
                    for k in keys {
                        if self.delete(k) || !self.has(k, now_us) {
                            deleted.push(k.clone());
                        } else {
                            failed.push(k.clone());
                        }
                    }
                    if !self.ignore_errors && !failed.is_empty() {
                        return Err(StoreError::DeleteManyFailed { keys: failed });
                    }
                    StoreReply::Keys(deleted)
                }
                StoreFlavor::Redis | StoreFlavor::Redis24 | StoreFlavor::Werkzeug016Redis => {
                    unreachable!("the model is SimpleCache's; arb_flavor draws no Redis flavour")
                }
            },
            StoreOp::Clear => {
                self.dict.clear();
                if self.werkzeug() {
                    StoreReply::Value(Value::None)
                } else {
                    StoreReply::Bool(true)
                }
            }
        })
    }
}

#[derive(Clone, Debug)]
enum Advance {
    Stay,
    Micros(i64),
    Secs(i64),
    NextWholeSecond,
    Back(i64),
}

fn advance(now_us: i64, a: &Advance) -> i64 {
    match a {
        Advance::Stay => now_us,
        Advance::Micros(m) => now_us + m,
        Advance::Secs(s) => now_us + s * 1_000_000,
        Advance::NextWholeSecond => (now_us / 1_000_000 + 1) * 1_000_000,
        Advance::Back(m) => now_us - m,
    }
}

fn arb_advance() -> impl Strategy<Value = Advance> {
    prop_oneof![
        3 => Just(Advance::Stay),
        3 => (1i64..1_000_000).prop_map(Advance::Micros),
        2 => (1i64..4).prop_map(Advance::Secs),
        2 => Just(Advance::NextWholeSecond),
        1 => (1i64..2_000_000).prop_map(Advance::Back),
    ]
}

fn arb_key() -> impl Strategy<Value = String> {
    (0u8..6).prop_map(|i| format!("k{i}"))
}

fn arb_keys() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(arb_key(), 0..4)
}

fn arb_timeout() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(0)),
        1 => (-6i64..0).prop_map(Some),
        3 => (1i64..20).prop_map(Some),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::None),
        (-3i64..100).prop_map(Value::int),
        "[ab]{0,2}".prop_map(Value::Str),
    ]
}

fn arb_op() -> impl Strategy<Value = StoreOp> {
    prop_oneof![
        3 => arb_key().prop_map(|key| StoreOp::Get { key }),
        1 => arb_keys().prop_map(|keys| StoreOp::GetMany { keys }),
        2 => arb_key().prop_map(|key| StoreOp::Has { key }),
        6 => (arb_key(), arb_value(), arb_timeout())
            .prop_map(|(key, value, timeout)| StoreOp::Set { key, value, timeout }),
        2 => (proptest::collection::vec((arb_key(), arb_value()), 0..4), arb_timeout())
            .prop_map(|(items, timeout)| StoreOp::SetMany { items, timeout }),
        3 => (arb_key(), arb_value(), arb_timeout())
            .prop_map(|(key, value, timeout)| StoreOp::Add { key, value, timeout }),
        2 => arb_key().prop_map(|key| StoreOp::Delete { key }),
        1 => arb_keys().prop_map(|keys| StoreOp::DeleteMany { keys }),
        1 => Just(StoreOp::Clear),
    ]
}

fn arb_flavor() -> impl Strategy<Value = StoreFlavor> {
    prop_oneof![
        Just(StoreFlavor::Cachelib),
        Just(StoreFlavor::FlaskCaching24),
        Just(StoreFlavor::Werkzeug016),
    ]
}

fn arb_config() -> impl Strategy<Value = StoreConfig> {
    (
        prop_oneof![Just(-2i64), Just(0), Just(3), Just(300)],
        0usize..6,
        prop_oneof![
            Just(None),
            Just(Some("p:".to_owned())),
            Just(Some(String::new()))
        ],
        any::<bool>(),
        arb_flavor(),
    )
        .prop_map(
            |(default_timeout, threshold, key_prefix, ignore, flavor)| StoreConfig {
                default_timeout,
                threshold,
                key_prefix,
                ignore_delete_many_errors: ignore,
                flavor,
            },
        )
}

/// Around 1,000,000 s, or around the epoch, where the float clock crosses 0 and small
/// powers of two.
fn arb_start() -> impl Strategy<Value = i64> {
    prop_oneof![
        1_000_000_000_000i64..1_000_010_000_000,
        -3_000_000i64..3_000_000,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Every reply, the stored entries in order, and the size bound agree with the model
    /// after every step, for every flavour (FC-4.3.1 to FC-4.3.4).
    #[test]
    fn memory_store_matches_model(
        cfg in arb_config(),
        start in arb_start(),
        steps in proptest::collection::vec((arb_advance(), arb_op()), 0..200),
    ) {
        let mut store = MemoryStore::new(cfg.clone());
        let mut model = Model::new(&cfg);
        let bound = model.threshold + 1;
        let mut now_us = start;
        for (i, (adv, op)) in steps.iter().enumerate() {
            now_us = advance(now_us, adv);
            let now = Timestamp::from_micros(now_us);
            let got = store.execute(op, now);
            let want = model.apply(op, now_us);
            prop_assert_eq!(&got, &want, "step {} op {:?} at {}", i, op, now);
            prop_assert!(store.len() <= bound, "len {} > {}", store.len(), bound);
            prop_assert_eq!(store.len(), model.dict.len());
            let ours: Vec<(String, i128, Value)> = store
                .entries()
                .map(|(k, e, v)| (k.to_owned(), e, v.clone()))
                .collect();
            prop_assert_eq!(&ours, &model.entries(), "entries after step {}", i);
        }
    }

    /// Any keys, timeouts and clocks: no panic, and the size bound holds (FC-4.3.4).
    #[test]
    fn memory_store_never_panics(
        flavor in arb_flavor(),
        ignore in any::<bool>(),
        threshold in 0usize..4,
        default_timeout in any::<i64>(),
        steps in proptest::collection::vec(
            (any::<i64>(), ".{0,3}", proptest::option::of(any::<i64>()), 0u8..9),
            0..100,
        ),
    ) {
        let mut store = MemoryStore::new(StoreConfig {
            default_timeout,
            threshold,
            key_prefix: None,
            ignore_delete_many_errors: ignore,
            flavor,
        });
        for (t, key, timeout, which) in steps {
            let now = Timestamp::from_micros(t);
            let op = match which {
                0 => StoreOp::Get { key },
                1 => StoreOp::GetMany { keys: vec![key.clone(), key] },
                2 => StoreOp::Has { key },
                3 => StoreOp::Set { key, value: Value::int(t), timeout },
                4 => StoreOp::SetMany { items: vec![(key, Value::None)], timeout },
                5 => StoreOp::Add { key, value: Value::None, timeout },
                6 => StoreOp::Delete { key },
                7 => StoreOp::DeleteMany { keys: vec![key] },
                _ => StoreOp::Clear,
            };
            let _ = store.execute(&op, now);
            let _ = now.to_string();
            prop_assert!(store.len() <= store.threshold() + 1);
        }
    }
}
