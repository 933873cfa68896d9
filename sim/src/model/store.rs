//! The model's backend: a `SimpleCache` written the way its Python source reads, with no
//! cleverness. Its `_cache` is a [`Dict`] of `(key, expires, value)` in insertion order (a
//! Python dict); expiry is compared with the virtual clock exactly as Python compares an
//! `int` or a `float` with `time()`.
//!
//! Three `SimpleCache`s are described, one per profile (FC-4.3):
//! - cachelib 0.17 (Flask-Caching 2.5): `expires = int(time()) + timeout`;
//! - Flask-Caching 2.4.1: the same, with its own `delete_many` (stops at a miss);
//! - Werkzeug 0.16 (Flask-Cache 0.13): `expires = time() + timeout` as a float, pruning of
//!   every dead entry and every third one.

use super::dict::Dict;
use flaskcache_engine::store::{
    StoreConfig, StoreError, StoreFlavor, StoreOp, StoreReply, Timestamp,
};
use flaskcache_engine::Value;
use std::borrow::Borrow;
use std::cmp::Ordering;

/// When an entry stops being alive, as Python holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expiry {
    /// An `int`: cachelib's `int(time()) + timeout`, or a timeout `<= 0` kept as it is.
    Int(i128),
    /// A `float`: Werkzeug's `time() + timeout`.
    Float(f64),
    /// A Redis key's `EX` deadline, `time() + timeout` as a float: the key is there while
    /// the clock is not past it.
    Redis(f64),
}

impl std::fmt::Display for Expiry {
    /// As Python holds it: `1000030` (an int), `1000030.5` (a float), `EX until 1000030.5`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expiry::Int(e) => write!(f, "{e}"),
            Expiry::Float(x) => write!(f, "{x}"),
            Expiry::Redis(x) => write!(f, "EX until {x}"),
        }
    }
}

/// `time()` at one instant, as Python holds it (a float), ready to be compared with many
/// expiries: the float is computed once, not once per entry.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// `time()`.
    secs: f64,
    /// `floor(time())`, exact (|time()| < 2^44).
    whole: i128,
    /// Whether `time()` has a fraction.
    fraction: bool,
}

impl Clock {
    /// The clock at `now`.
    pub fn at(now: Timestamp) -> Clock {
        let secs = now.as_py_float();
        let floor = secs.floor();
        Clock {
            secs,
            // `as` saturates; |secs| < 2^44, so the conversion is exact.
            whole: floor as i128,
            fraction: secs > floor,
        }
    }

    /// `time()` compared with the int `e`, by value as Python compares a float with an int.
    fn cmp_int(self, e: i128) -> Ordering {
        match self.whole.cmp(&e) {
            Ordering::Equal if self.fraction => Ordering::Greater,
            ord => ord,
        }
    }
}

impl Expiry {
    /// `expires == 0`: never expires.
    fn is_never(self) -> bool {
        match self {
            Expiry::Int(e) => e == 0,
            Expiry::Float(f) => f == 0.0,
            Expiry::Redis(_) => false,
        }
    }

    /// `expires > time()`, compared exactly as Python compares it.
    fn after(self, clock: Clock) -> bool {
        match self {
            Expiry::Int(e) => clock.cmp_int(e) == Ordering::Less,
            Expiry::Float(f) => f > clock.secs,
            Expiry::Redis(f) => f >= clock.secs,
        }
    }

    /// `expires < time()`.
    fn before(self, clock: Clock) -> bool {
        match self {
            Expiry::Int(e) => clock.cmp_int(e) == Ordering::Greater,
            Expiry::Float(f) | Expiry::Redis(f) => f < clock.secs,
        }
    }

    /// The sort key cachelib's `_remove_older` uses (only ints occur there).
    fn order(self) -> i128 {
        match self {
            Expiry::Int(e) => e,
            Expiry::Float(f) | Expiry::Redis(f) => f as i128,
        }
    }
}

/// One stored entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// When it expires.
    pub expires: Expiry,
    /// The value.
    pub value: Value,
}

/// A `SimpleCache`, plainly.
#[derive(Clone, Debug)]
pub struct ModelStore {
    pub(super) flavor: StoreFlavor,
    pub(super) default_timeout: i64,
    threshold: usize,
    ignore_errors: bool,
    /// `CACHE_KEY_PREFIX` as a `RedisCache` applies it (`""` for none and for SimpleCache).
    pub(super) prefix: String,
    pub(super) entries: Dict,
}

impl ModelStore {
    /// An empty store configured like `config` (the key prefix applies to the Redis
    /// flavours only, as in `MemoryStore`). [`StoreFlavor::Werkzeug016Redis`] is not
    /// modelled: its keyspace follows the Redis rules here, its replies do not (explore
    /// never draws it and `--check-trace` refuses traces of it).
    pub fn new(config: &StoreConfig) -> Self {
        let threshold = match (config.flavor, config.threshold) {
            // cachelib: `threshold or 500`; Werkzeug uses it as given.
            (StoreFlavor::Werkzeug016, t) => t,
            (_, 0) => 500,
            (_, t) => t,
        };
        ModelStore {
            flavor: config.flavor,
            default_timeout: config.default_timeout,
            threshold,
            ignore_errors: config.ignore_delete_many_errors,
            prefix: match config.flavor {
                StoreFlavor::Redis | StoreFlavor::Redis24 | StoreFlavor::Werkzeug016Redis => {
                    config.key_prefix.clone().unwrap_or_default()
                }
                _ => String::new(),
            },
            entries: Dict::default(),
        }
    }

    /// The entries in dict order, dead ones included.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.entries.iter()
    }

    /// The entry stored under `key` exactly as stored (prefix included), dead or alive.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// How many entries are stored, dead ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The threshold in effect.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// Whether this is a Redis flavour (`model::redis`).
    pub(super) fn is_redis(&self) -> bool {
        self.flavor.is_redis()
    }

    /// Whether an entry with `expires` is alive: `expires == 0 or expires > time()`.
    pub fn alive(expires: Expiry, now: Timestamp) -> bool {
        ModelStore::alive_at(expires, Clock::at(now))
    }

    /// [`ModelStore::alive`] against a clock read once ([`Clock`]).
    pub fn alive_at(expires: Expiry, clock: Clock) -> bool {
        expires.is_never() || expires.after(clock)
    }

    /// `_normalize_timeout`: `None` is the default; a positive timeout is counted from now.
    fn expires_for(&self, timeout: Option<i64>, now: Timestamp) -> Expiry {
        let t = timeout.unwrap_or(self.default_timeout);
        if t <= 0 {
            return Expiry::Int(i128::from(t));
        }
        match self.flavor {
            StoreFlavor::Werkzeug016
            | StoreFlavor::Redis
            | StoreFlavor::Redis24
            | StoreFlavor::Werkzeug016Redis => Expiry::Float(now.as_py_float() + t as f64),
            StoreFlavor::Cachelib | StoreFlavor::FlaskCaching24 => {
                Expiry::Int(i128::from(now.trunc_secs()) + i128::from(t))
            }
        }
    }

    /// `_prune()`, run by `set` and `add` before they store.
    fn prune(&mut self, now: Timestamp) {
        if self.entries.len() <= self.threshold {
            return;
        }
        match self.flavor {
            StoreFlavor::Redis | StoreFlavor::Redis24 | StoreFlavor::Werkzeug016Redis => {}
            StoreFlavor::Werkzeug016 => {
                // `(expires != 0 and expires <= now) or idx % 3 == 0`
                let clock = Clock::at(now);
                let mut idx = 0usize;
                self.entries.retain(|e| {
                    let doomed = !ModelStore::alive_at(e.expires, clock) || idx.is_multiple_of(3);
                    idx += 1;
                    !doomed
                });
            }
            StoreFlavor::Cachelib | StoreFlavor::FlaskCaching24 => {
                // `_remove_expired`: every entry with `expires < now`, 0 included.
                let clock = Clock::at(now);
                self.entries.retain(|e| !e.expires.before(clock));
                // `_remove_older`: stable sort by expires, pop until not over (the first
                // entry in dict order among those that expire first).
                while self.entries.len() > self.threshold {
                    if self
                        .entries
                        .remove_first_min_by_key(|e| e.expires.order())
                        .is_none()
                    {
                        break;
                    }
                }
            }
        }
    }

    /// `self._cache[key] = (expires, value)`: in place if present, else at the end.
    fn put(&mut self, key: &str, expires: Expiry, value: Value) {
        self.entries.set(key, expires, value);
    }

    /// `get(key)`.
    pub fn get(&self, key: &str, now: Timestamp) -> Value {
        if self.is_redis() {
            return self.redis_get(key, now);
        }
        match self.entries.get(key) {
            Some(e) if ModelStore::alive(e.expires, now) => e.value.clone(),
            _ => Value::None,
        }
    }

    /// `has(key)`.
    pub fn has(&self, key: &str, now: Timestamp) -> bool {
        if self.is_redis() {
            return self.redis_get_entry(key, now).is_some();
        }
        self.entries
            .get(key)
            .is_some_and(|e| ModelStore::alive(e.expires, now))
    }

    /// `set(key, value, timeout)`.
    pub fn set(&mut self, key: &str, value: Value, timeout: Option<i64>, now: Timestamp) -> bool {
        let expires = self.expires_for(timeout, now);
        self.prune(now);
        self.put(key, expires, value);
        true
    }

    /// `add(key, value, timeout)`.
    pub fn add(&mut self, key: &str, value: Value, timeout: Option<i64>, now: Timestamp) -> bool {
        let expires = self.expires_for(timeout, now);
        self.prune(now);
        let refused = match self.flavor {
            StoreFlavor::Werkzeug016 => self.entries.get(key).is_some(),
            _ => self.has(key, now),
        };
        if refused {
            return false;
        }
        self.put(key, expires, value);
        true
    }

    /// `delete(key)`: whether an entry, dead or alive, was there.
    pub fn delete(&mut self, key: &str) -> bool {
        // The prefix is empty for the SimpleCaches, so this is the key itself there.
        let key = self.full_key(key);
        self.entries.remove(&key).is_some()
    }

    /// `clear()`.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Runs one backend call, replying what the flavour's `SimpleCache` returns.
    pub fn execute(&mut self, op: &StoreOp, now: Timestamp) -> Result<StoreReply, StoreError> {
        if self.is_redis() {
            return self.execute_redis(op, now);
        }
        let werkzeug = self.flavor == StoreFlavor::Werkzeug016;
        Ok(match op {
            StoreOp::Get { key } => StoreReply::Value(self.get(key, now)),
            StoreOp::GetMany { keys } => {
                StoreReply::Values(keys.iter().map(|k| self.get(k, now)).collect())
            }
            StoreOp::Has { key } => StoreReply::Bool(self.has(key, now)),
            StoreOp::Set {
                key,
                value,
                timeout,
            } => StoreReply::Bool(self.set(key, value.clone(), *timeout, now)),
            StoreOp::Add {
                key,
                value,
                timeout,
            } => StoreReply::Bool(self.add(key, value.clone(), *timeout, now)),
            StoreOp::SetMany { items, timeout } => {
                self.set_many_call(items, *timeout, now)?;
                if werkzeug {
                    StoreReply::Bool(true)
                } else {
                    // `set` always stores here: every key of the dict.
                    let keys = dict_items(items).into_iter().map(|(k, _)| k.to_owned());
                    StoreReply::Keys(keys.collect())
                }
            }
            StoreOp::Delete { key } => StoreReply::Bool(self.delete(key)),
            StoreOp::DeleteMany { keys } => self.delete_many(keys, now)?,
            StoreOp::Clear => {
                self.clear();
                if werkzeug {
                    StoreReply::Value(Value::None)
                } else {
                    StoreReply::Bool(true)
                }
            }
        })
    }

    // The calls below answer as `execute` (or `execute_redis`) does for one kind of
    // operation, on either kind of cache, from borrowed arguments: the model's own calls
    // use them, so that no `StoreOp` is built (and dropped) per call.

    /// The `set` call (either kind of cache): whether it stored, or the error it raised.
    pub fn set_call(
        &mut self,
        key: &str,
        value: Value,
        timeout: Option<i64>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        if self.is_redis() {
            self.redis_set(key, value, timeout, now)?;
            return Ok(true);
        }
        Ok(self.set(key, value, timeout, now))
    }

    /// The `set_many` call (either kind of cache), storing every key of the dict `items`
    /// make, or raising before any is stored.
    pub fn set_many_call<K: AsRef<str>, V: Borrow<Value>>(
        &mut self,
        items: &[(K, V)],
        timeout: Option<i64>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if self.is_redis() {
            return self.redis_set_many(items, timeout, now);
        }
        for (k, v) in dict_items(items) {
            self.set(k, v.clone(), timeout, now);
        }
        Ok(())
    }

    /// The `delete` call (either kind of cache): on `SimpleCache` whether an entry, dead or
    /// alive, was there; on `RedisCache` whether a live key was.
    pub fn delete_call(&mut self, key: &str, now: Timestamp) -> bool {
        if self.is_redis() {
            return self.redis_del(key, now);
        }
        self.delete(key)
    }

    fn delete_many(&mut self, keys: &[String], now: Timestamp) -> Result<StoreReply, StoreError> {
        match self.flavor {
            // Werkzeug016Redis is never modelled (see `ModelStore::new`).
            StoreFlavor::Cachelib | StoreFlavor::Redis | StoreFlavor::Werkzeug016Redis => {
                // Deleted, or absent afterwards; raises if one is still there.
                let mut deleted = Vec::new();
                let mut failed = Vec::new();
                for k in keys {
                    if self.delete(k) || !self.has(k, now) {
                        deleted.push(k.clone());
                    } else {
                        failed.push(k.clone());
                    }
                }
                if !self.ignore_errors && !failed.is_empty() {
                    return Err(StoreError::DeleteManyFailed { keys: failed });
                }
                Ok(StoreReply::Keys(deleted))
            }
            StoreFlavor::FlaskCaching24 | StoreFlavor::Redis24 => {
                let mut deleted = Vec::new();
                for k in keys {
                    if self.delete(k) {
                        deleted.push(k.clone());
                    } else if !self.ignore_errors {
                        break;
                    }
                }
                Ok(StoreReply::Keys(deleted))
            }
            StoreFlavor::Werkzeug016 => {
                // `all(self.delete(key) for key in keys)`: stops at the first miss.
                let all = keys.iter().all(|k| self.delete(k));
                Ok(StoreReply::Bool(all))
            }
        }
    }
}

/// `set_many`'s items as the Python dict it receives: each key at its first position,
/// with its last value.
pub(super) fn dict_items<K: AsRef<str>, V: Borrow<Value>>(items: &[(K, V)]) -> Vec<(&str, &Value)> {
    let mut mapping: Vec<(&str, &Value)> = Vec::with_capacity(items.len());
    for (k, v) in items {
        let (k, v) = (k.as_ref(), v.borrow());
        match mapping.iter_mut().find(|(mk, _)| *mk == k) {
            Some(slot) => slot.1 = v,
            None => mapping.push((k, v)),
        }
    }
    mapping
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(threshold: usize, flavor: StoreFlavor) -> ModelStore {
        ModelStore::new(&StoreConfig {
            threshold,
            flavor,
            ..StoreConfig::default()
        })
    }

    fn keys(s: &ModelStore) -> Vec<&str> {
        s.entries().map(|e| e.key.as_str()).collect()
    }

    /// `ties.py` (FC-4.3.4): re-setting x under pressure evicts x and re-inserts it last.
    #[test]
    fn ties() {
        let mut c = store(2, StoreFlavor::Cachelib);
        let now = Timestamp::from_secs(1_000_000);
        for k in ["x", "y", "z"] {
            c.set(k, Value::int(1), Some(50), now);
        }
        c.set("x", Value::int(2), Some(50), now);
        assert_eq!(keys(&c), ["y", "z", "x"]);
    }

    /// FC-4.3.2: set at 1000.7 with timeout 10 is gone at exactly 1010.0.
    #[test]
    fn truncated_clock() {
        let mut c = store(500, StoreFlavor::Cachelib);
        c.set(
            "k",
            Value::int(1),
            Some(10),
            Timestamp::from_micros(1_000_700_000),
        );
        assert_eq!(
            c.get("k", Timestamp::from_micros(1_009_999_999)),
            Value::int(1)
        );
        assert_eq!(c.get("k", Timestamp::from_secs(1010)), Value::None);
        assert_eq!(c.len(), 1);
    }

    /// Werkzeug prunes dead entries and every third one.
    #[test]
    fn werkzeug_prune() {
        let mut c = store(3, StoreFlavor::Werkzeug016);
        let now = Timestamp::from_secs(1000);
        for k in ["a", "b", "c", "d"] {
            c.set(k, Value::int(1), None, now);
        }
        c.set("e", Value::int(1), None, now);
        assert_eq!(keys(&c), ["b", "c", "e"]);
    }
}
