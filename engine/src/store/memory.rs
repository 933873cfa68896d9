//! An in-memory backend with the semantics of cachelib 0.17.0's `SimpleCache` (FC-4.3), of
//! one of the other `SimpleCache`s Flask-Caching has run on, or of a `RedisCache` on a Redis
//! server (FC-4.5) ([`StoreFlavor`]).
//!
//! Entries live in insertion order, as in the Python dict SimpleCache keeps: a `Vec` of
//! slots (removed entries leave tombstones, compacted once they are more than half of the
//! slots) plus a hash index of slot positions. Each key is stored once, in its slot; the
//! index holds only 32-bit positions and finds a key by comparing against the slot it
//! points to. The index hashes with foldhash under a fixed seed ([`FixedFoldState`]):
//! nothing depends on OS randomness, and nothing observable depends on the hasher at all,
//! since iteration and pruning walk the slots. Every operation except pruning is O(1)
//! amortised; pruning scans the entries once, as cachelib's does.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::hash::BuildHasher;

use hashbrown::{HashMap, HashTable};
use siphasher::sip::SipHasher13;

use super::flavor::{werkzeug_expires, StoreFlavor};
use super::nonstr;
use super::op::{StoreError, StoreOp, StoreReply};
use super::redis;
use super::time::Timestamp;
use crate::error::{PyError, PyExceptionType};
use crate::value::{PythonVersion, Value};

/// The threshold cachelib uses when it is configured as `0` (`threshold or 500`, FC-4.3.4);
/// Werkzeug 0.16 has no such fallback.
const FALLBACK_THRESHOLD: usize = 500;

const SIP_K0: u64 = 0x666c_6173_6b63_6163;
const SIP_K1: u64 = 0x6865_2d73_746f_7265;

/// SipHash-1-3 with fixed keys: a deterministic hasher (no OS randomness) for maps whose
/// behaviour must be reproducible across runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct FixedSipState;

impl BuildHasher for FixedSipState {
    type Hasher = SipHasher13;

    fn build_hasher(&self) -> SipHasher13 {
        SipHasher13::new_with_keys(SIP_K0, SIP_K1)
    }
}

const FOLD_SEED: u64 = 0x666c_6173_6b63_6163;

/// foldhash with a fixed seed: the hasher of the store's key index. Deterministic (no OS
/// randomness) and several times cheaper than SipHash on short keys; the store's iteration
/// and pruning order never depend on it.
#[derive(Clone, Copy, Debug, Default)]
pub struct FixedFoldState;

impl BuildHasher for FixedFoldState {
    type Hasher = foldhash::fast::FoldHasher;

    fn build_hasher(&self) -> foldhash::fast::FoldHasher {
        foldhash::fast::FixedState::with_seed(FOLD_SEED).build_hasher()
    }
}

/// The hash of a stored key in the index.
fn key_hash(key: &str) -> u64 {
    FixedFoldState.hash_one(key)
}

/// The index's hash of the entry at `position`; a tombstone is never indexed, so its `0`
/// is never used.
fn slot_hash(slots: &[Option<Slot>], position: u32) -> u64 {
    match slots.get(position as usize) {
        Some(Some(slot)) => key_hash(&slot.key),
        _ => 0,
    }
}

/// An expiry time (`i128`) split into two words, so that a slot is 8-byte aligned rather
/// than 16 and carries no padding.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Expiry {
    lo: u64,
    hi: i64,
}

impl Expiry {
    fn new(expires: i128) -> Self {
        // Truncating casts: the two halves of the two's-complement value.
        Expiry {
            lo: expires as u64,
            hi: (expires >> 64) as i64,
        }
    }

    fn get(self) -> i128 {
        (i128::from(self.hi) << 64) | i128::from(self.lo)
    }
}

impl std::fmt::Debug for Expiry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// How a [`MemoryStore`] is set up: the backend arguments Flask-Caching passes from its
/// configuration (FC-4.1, FC-4.2, FC-4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// Seconds used when an operation's timeout is `None` (`CACHE_DEFAULT_TIMEOUT`, 300;
    /// FC-4.1). Normalised like any timeout: `0` never expires, negative is already expired
    /// (FC-4.3.1).
    pub default_timeout: i64,
    /// Pruning starts when the store holds more than this many entries
    /// (`CACHE_THRESHOLD`, 500; FC-4.1). For the cachelib flavours `0` means 500, as
    /// cachelib's `threshold or 500` (FC-4.3.4); [`StoreFlavor::Werkzeug016`] uses `0` as it
    /// is.
    pub threshold: usize,
    /// Prepended to every key before it is stored, emulating backends that honour
    /// `CACHE_KEY_PREFIX` (FC-4.2): `RedisCache` does when it is truthy (`None` and `""`
    /// mean no prefix). SimpleCache does not, hence `None` by default.
    pub key_prefix: Option<String>,
    /// `CACHE_IGNORE_ERRORS` (`False`; FC-4.1, FC-4.3.3). [`StoreFlavor::Cachelib`]: when
    /// `false`, `delete_many` raises if a key is still present afterwards.
    /// [`StoreFlavor::FlaskCaching24`]: when `false`, `delete_many` stops at the first key
    /// that was not stored (its `ignore_errors`). No effect on
    /// [`StoreFlavor::Werkzeug016`] and the Redis flavours.
    pub ignore_delete_many_errors: bool,
    /// Which `SimpleCache` the store behaves as; [`StoreFlavor::Cachelib`] by default.
    pub flavor: StoreFlavor,
}

/// Flask-Caching's defaults for SimpleCache: timeout 300, threshold 500, no key prefix,
/// `delete_many` errors not ignored, cachelib's `SimpleCache` (FC-4.1, FC-4.2).
impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            default_timeout: 300,
            threshold: 500,
            key_prefix: None,
            ignore_delete_many_errors: false,
            flavor: StoreFlavor::Cachelib,
        }
    }
}

impl StoreConfig {
    /// Flask-Caching's defaults for `CACHE_TYPE="RedisCache"` with the given Redis flavour:
    /// timeout 300, key prefix `flask_cache_` (FC-4.1, FC-4.2). The threshold is not used.
    pub fn redis(flavor: StoreFlavor) -> Self {
        StoreConfig {
            key_prefix: Some("flask_cache_".into()),
            flavor,
            ..StoreConfig::default()
        }
    }
}

/// One entry: 80 bytes inline (key pointer and length, expiry, value). `Option<Slot>` is as
/// large, the key's pointer serving as the tombstone niche.
#[derive(Clone, Debug)]
struct Slot {
    key: Box<str>,
    expiry: Expiry,
    value: Value,
}

impl Slot {
    fn expires(&self) -> i128 {
        self.expiry.get()
    }
}

/// An in-memory cache backend that behaves exactly like cachelib 0.17.0's `SimpleCache`
/// (FC-4.3): truncated-clock expiry, strict liveness, lazy removal of dead entries, and
/// threshold pruning in insertion order. [`StoreConfig::flavor`] selects Flask-Caching
/// 2.4.1's or Werkzeug 0.16.1's variant instead ([`StoreFlavor`]).
///
/// Time is an argument of every operation that reads the clock. For the cachelib flavours
/// expiry times are whole seconds since the epoch as `i128`, exact for any `i64` timeout
/// (Python ints do not overflow); `0` means never, negative means already expired
/// (FC-4.3.1). For [`StoreFlavor::Werkzeug016`] they are the first microsecond at which the
/// entry is dead, [`StoreFlavor::NEVER`] for never ([`StoreFlavor::is_alive`]).
///
/// The Redis flavours ([`StoreFlavor::Redis`], [`StoreFlavor::Redis24`]) hold a Redis
/// keyspace: expiry in microseconds as for Werkzeug, an expired key is absent for every
/// operation, and expired entries are dropped from memory from time to time (so
/// [`MemoryStore::entries`] may or may not list them). [`MemoryStore::execute`] gives
/// their full replies, errors included; the direct methods report a call that raises as
/// `false` (`set`, `add`) or as no keys (`set_many`), and `delete` and `clear`, which take
/// no time, use the time of the latest call that did. Their clock must not go backwards:
/// whether a key that had expired is visible again is then unspecified.
///
/// A key that is not a Python `str` comes as a [`nonstr`] key text. The `SimpleCache`
/// flavours file it under the dict key it equals ([`nonstr::dict_key`]: `1`, `1.0` and
/// `True` are one entry), and [`MemoryStore::execute`] raises the `TypeError` of an
/// unhashable one (a list) where Python does, after what the call did before it. The Redis
/// flavours store it under the name cachelib formats ([`nonstr::redis_name`]: `42` is the
/// entry of `"42"`), and send the keys of `get_many` (and 2.5's `delete_many`) through
/// redis-py's encoder when there is no key prefix ([`nonstr::redis_encoded`]), as cachelib
/// does. Names are formatted as Python 3.11 prints them (an `OrderedDict` inside a key
/// prints otherwise on 3.12).
///
/// A store holds at most 2^32 − 1 slots (some 400 GB of entries); past that, a write of a
/// new key is not stored.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    config: StoreConfig,
    /// Positions in `slots` of the stored entries, hashed by their keys ([`key_hash`]).
    index: HashTable<u32>,
    slots: Vec<Option<Slot>>,
    live: usize,
    /// The time of the latest call that read the clock (Redis flavours).
    clock: Timestamp,
    /// The number of entries after the latest sweep of expired ones (Redis flavours).
    swept: usize,
}

impl Default for MemoryStore {
    /// An empty store with [`StoreConfig::default`] (FC-4.1).
    fn default() -> Self {
        MemoryStore::new(StoreConfig::default())
    }
}

impl MemoryStore {
    /// An empty store (FC-4.3).
    pub fn new(config: StoreConfig) -> Self {
        MemoryStore {
            config,
            index: HashTable::new(),
            slots: Vec::new(),
            live: 0,
            clock: Timestamp::EPOCH,
            swept: 0,
        }
    }

    /// The configuration the store was created with (FC-4.1).
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The threshold in effect: the configured one, or 500 when it is `0` for the cachelib
    /// flavours (FC-4.3.4). The Redis flavours never prune.
    pub fn threshold(&self) -> usize {
        match (self.config.flavor, self.config.threshold) {
            (StoreFlavor::Cachelib | StoreFlavor::FlaskCaching24, 0) => FALLBACK_THRESHOLD,
            (_, t) => t,
        }
    }

    /// The flavour the store was configured with.
    pub fn flavor(&self) -> StoreFlavor {
        self.config.flavor
    }

    /// Number of stored entries, dead ones included; at most `threshold() + 1` (FC-4.3.4).
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether nothing is stored, dead or alive (FC-4.3.2).
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Stored keys and values in insertion order, dead entries included; keys carry the
    /// configured prefix (FC-4.3.1, FC-4.3.4).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> + '_ {
        self.slots_in_order().map(|s| (&*s.key, &s.value))
    }

    /// Stored keys in insertion order, dead entries included, with the configured prefix
    /// (FC-4.3.1, FC-4.3.4).
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.slots_in_order().map(|s| &*s.key)
    }

    /// Stored `(key, expires, value)` triples in insertion order, dead entries included;
    /// `expires` is whole seconds since the epoch, `0` for never, negative for a negative
    /// timeout (FC-4.3.1); for [`StoreFlavor::Werkzeug016`], microseconds as
    /// [`StoreFlavor::is_alive`] describes.
    pub fn entries(&self) -> impl Iterator<Item = (&str, i128, &Value)> + '_ {
        self.slots_in_order()
            .map(|s| (&*s.key, s.expires(), &s.value))
    }

    /// The raw entry for `key` (prefix applied), alive or dead: its expiry and value
    /// (FC-4.3.1). Reads no clock and changes nothing.
    pub fn peek(&self, key: &str) -> Option<(i128, &Value)> {
        let key = self.stored_key(key);
        self.lookup(&key).map(|s| (s.expires(), &s.value))
    }

    /// The `expires` value a `set`/`add` at `now` with `timeout` stores: `None` takes the
    /// default timeout; `t > 0` gives `int(now) + t`; `0` and negative values are stored
    /// as they are (FC-4.3.1). For [`StoreFlavor::Werkzeug016`], the microsecond at which
    /// `time() + t` (or the non-positive `t` itself) stops being in the future, and
    /// [`StoreFlavor::NEVER`] for `0`. For the Redis flavours, the first microsecond at
    /// which the key no longer exists, [`StoreFlavor::NEVER`] for `0` and `-1`, and `now`
    /// for a timeout the server refuses (nothing is stored then; FC-4.5.2).
    pub fn expires_for(&self, timeout: Option<i64>, now: Timestamp) -> i128 {
        let timeout = timeout.unwrap_or(self.config.default_timeout);
        match self.config.flavor {
            StoreFlavor::Werkzeug016 => werkzeug_expires(timeout, now),
            StoreFlavor::Redis | StoreFlavor::Redis24 => {
                if redis::sends_ex(timeout) {
                    redis::set_ex(timeout, now).unwrap_or_else(|_| i128::from(now.as_micros()))
                } else {
                    StoreFlavor::NEVER
                }
            }
            StoreFlavor::Cachelib | StoreFlavor::FlaskCaching24 => {
                if timeout > 0 {
                    i128::from(now.trunc_secs()) + i128::from(timeout)
                } else {
                    i128::from(timeout)
                }
            }
        }
    }

    /// Whether an entry with this `expires` (whole seconds) is alive at `now` under the
    /// cachelib flavours: `expires == 0 or expires > time()`, strictly (FC-4.3.2).
    /// [`StoreFlavor::is_alive`] answers for any flavour.
    pub fn is_alive(expires: i128, now: Timestamp) -> bool {
        StoreFlavor::Cachelib.is_alive(expires, now)
    }

    fn alive(&self, expires: i128, now: Timestamp) -> bool {
        self.config.flavor.is_alive(expires, now)
    }

    /// Performs one backend call at `now` and returns what the flavour's backend returns
    /// (FC-4.3.3, FC-4.5.3). [`StoreFlavor::Werkzeug016`] replies `Bool` to `set_many` and
    /// `delete_many`, and `Value(Value::None)` to `clear`. The Redis flavours fail with
    /// [`StoreError::Raised`] (a `ResponseError`) where the server refuses a timeout.
    pub fn execute(&mut self, op: &StoreOp, now: Timestamp) -> Result<StoreReply, StoreError> {
        if self.config.flavor.is_redis() {
            return self.execute_redis(op, now);
        }
        if op.keys().any(nonstr::is_nonstr) {
            if let Some(raised) = self.dict_nonstr_call(op, now) {
                return raised;
            }
        }
        let werkzeug = self.config.flavor == StoreFlavor::Werkzeug016;
        Ok(match op {
            StoreOp::Get { key } => StoreReply::Value(self.get(key, now)),
            StoreOp::GetMany { keys } => StoreReply::Values(self.get_many(keys, now)),
            StoreOp::Has { key } => StoreReply::Bool(self.has(key, now)),
            StoreOp::Set {
                key,
                value,
                timeout,
            } => StoreReply::Bool(self.set(key, value.clone(), *timeout, now)),
            StoreOp::SetMany { items, timeout } => {
                let set_keys = self.set_many(items, *timeout, now);
                if werkzeug {
                    // `rv` stays True: every `set` returns True.
                    StoreReply::Bool(true)
                } else {
                    StoreReply::Keys(set_keys)
                }
            }
            StoreOp::Add {
                key,
                value,
                timeout,
            } => StoreReply::Bool(self.add(key, value.clone(), *timeout, now)),
            StoreOp::Delete { key } => StoreReply::Bool(self.delete(key)),
            StoreOp::DeleteMany { keys } => {
                let deleted = self.delete_many(keys, now)?;
                if werkzeug {
                    // `all(...)` is True iff it reached the end without a miss.
                    StoreReply::Bool(deleted.len() == keys.len())
                } else {
                    StoreReply::Keys(deleted)
                }
            }
            StoreOp::Clear => {
                let cleared = self.clear();
                if werkzeug {
                    // `clear` is the dict's own `clear`, which returns None.
                    StoreReply::Value(Value::None)
                } else {
                    StoreReply::Bool(cleared)
                }
            }
        })
    }

    /// `get(key)`: a copy of the value if the entry is alive, else Python `None`. Dead
    /// entries stay (FC-4.3.2).
    pub fn get(&self, key: &str, now: Timestamp) -> Value {
        self.get_stored(&self.stored_key(key), now)
    }

    /// [`MemoryStore::get`] lent rather than copied: the live value under `key`, `None`
    /// when it is missing or expired.
    pub fn get_ref(&self, key: &str, now: Timestamp) -> Option<&Value> {
        let slot = self.lookup(&self.stored_key(key))?;
        self.alive(slot.expires(), now).then_some(&slot.value)
    }

    fn get_stored(&self, stored_key: &str, now: Timestamp) -> Value {
        match self.lookup(stored_key) {
            Some(slot) if self.alive(slot.expires(), now) => slot.value.clone(),
            _ => Value::None,
        }
    }

    /// `get_many(*keys)`: `get` of each key, in order (FC-4.3.3).
    pub fn get_many<S: AsRef<str>>(&self, keys: &[S], now: Timestamp) -> Vec<Value> {
        keys.iter().map(|k| self.get(k.as_ref(), now)).collect()
    }

    /// `has(key)`: whether the entry is alive; a stored `None` counts (FC-4.3.2).
    pub fn has(&self, key: &str, now: Timestamp) -> bool {
        let key = self.stored_key(key);
        self.lookup(&key)
            .is_some_and(|slot| self.alive(slot.expires(), now))
    }

    /// `set(key, value, timeout)`: prunes, then stores; always `true` (FC-4.3.3). An
    /// existing entry keeps its position unless pruning evicted it, in which case the key
    /// moves to the end (FC-4.3.4).
    pub fn set(&mut self, key: &str, value: Value, timeout: Option<i64>, now: Timestamp) -> bool {
        if self.config.flavor.is_redis() {
            self.clock = now;
            return self.redis_set(key, value, timeout, now).is_ok();
        }
        let expires = self.expires_for(timeout, now);
        self.prune(now);
        let key = self.stored_key(key).into_owned();
        self.insert(key, expires, value);
        true
    }

    /// `set_many(mapping, timeout)`: `set` for each item of the mapping, returning the keys
    /// whose `set` returned true (FC-4.3.3). `items` is read as a Python `dict`: a repeated
    /// key keeps its first position and takes its last value.
    pub fn set_many(
        &mut self,
        items: &[(String, Value)],
        timeout: Option<i64>,
        now: Timestamp,
    ) -> Vec<String> {
        if self.config.flavor.is_redis() {
            self.clock = now;
            return self.redis_set_many(items, timeout, now).unwrap_or_default();
        }
        let mapping = dict_items(items);
        let mut set_keys = Vec::with_capacity(mapping.len());
        for (key, value) in mapping {
            if self.set(key, value.clone(), timeout, now) {
                set_keys.push(key.to_owned());
            }
        }
        set_keys
    }

    /// `add(key, value, timeout)`: prunes, then `false` if the key is alive, else stores
    /// and returns `true`. Adding over a dead entry succeeds and keeps its position; pruning
    /// may evict a live entry first, so `add` can succeed on a key that was alive
    /// (FC-4.3.3, FC-4.3.4). [`StoreFlavor::Werkzeug016`] refuses any key still stored after
    /// pruning, dead or alive (`if key in self._cache`).
    pub fn add(&mut self, key: &str, value: Value, timeout: Option<i64>, now: Timestamp) -> bool {
        if self.config.flavor.is_redis() {
            self.clock = now;
            return self.redis_add(key, value, timeout, now).unwrap_or(false);
        }
        let expires = self.expires_for(timeout, now);
        self.prune(now);
        let key = self.stored_key(key).into_owned();
        let refused = match self.config.flavor {
            StoreFlavor::Werkzeug016 => self.lookup(&key).is_some(),
            _ => self
                .lookup(&key)
                .is_some_and(|slot| self.alive(slot.expires(), now)),
        };
        if refused {
            return false;
        }
        self.insert(key, expires, value);
        true
    }

    /// `delete(key)`: removes the entry; `true` iff one was present, even a dead one
    /// (FC-4.3.3). Redis flavours: `true` iff the key existed at the store's latest time
    /// (`DEL` does not count an expired key, FC-4.5.3).
    pub fn delete(&mut self, key: &str) -> bool {
        if self.config.flavor.is_redis() {
            return self.redis_delete(key, self.clock);
        }
        let key = self.stored_key(key);
        let removed = match self.position(&key) {
            Some(i) => self.remove_slot(i).is_some(),
            None => false,
        };
        self.maybe_compact();
        removed
    }

    /// `delete_many(*keys)`: deletes each key; returns the keys that were deleted or are
    /// absent afterwards, in call order. With `ignore_delete_many_errors` false, a key that
    /// is still alive afterwards makes the call fail with
    /// [`StoreError::DeleteManyFailed`] (FC-4.3.3).
    ///
    /// [`StoreFlavor::FlaskCaching24`]: returns the keys whose `delete` returned true, and
    /// stops at the first key that was not stored unless `ignore_delete_many_errors`; never
    /// fails. [`StoreFlavor::Werkzeug016`]: the same, always stopping at the first miss; the
    /// Python call returns whether every key was deleted, which is whether the returned list
    /// is as long as `keys`. [`StoreFlavor::Redis`]: deletes every key and returns them all
    /// (none can survive); [`StoreFlavor::Redis24`]: the keys whose `DEL` removed a live key,
    /// stopping at the first that did not (FC-4.5.3).
    pub fn delete_many<S: AsRef<str>>(
        &mut self,
        keys: &[S],
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let stop_at_miss = match self.config.flavor {
            StoreFlavor::Cachelib => None,
            StoreFlavor::FlaskCaching24 => Some(!self.config.ignore_delete_many_errors),
            StoreFlavor::Werkzeug016 => Some(true),
            StoreFlavor::Redis | StoreFlavor::Redis24 => {
                self.clock = now;
                return Ok(self.redis_delete_many(keys, now));
            }
        };
        if let Some(stop_at_miss) = stop_at_miss {
            let mut deleted = Vec::with_capacity(keys.len());
            for key in keys {
                let key = key.as_ref();
                if self.delete(key) {
                    deleted.push(key.to_owned());
                } else if stop_at_miss {
                    break;
                }
            }
            return Ok(deleted);
        }
        let mut deleted = Vec::with_capacity(keys.len());
        let mut failed = Vec::new();
        for key in keys {
            let key = key.as_ref();
            if self.delete(key) || !self.has(key, now) {
                deleted.push(key.to_owned());
            } else {
                failed.push(key.to_owned());
            }
        }
        if !self.config.ignore_delete_many_errors && !failed.is_empty() {
            return Err(StoreError::DeleteManyFailed { keys: failed });
        }
        Ok(deleted)
    }

    /// `clear()`: removes every entry; always `true` (FC-4.3.3). Werkzeug 0.16's returns
    /// `None`, which [`MemoryStore::execute`] replies. Redis flavours: with a key prefix,
    /// removes the live keys `KEYS prefix*` matches (at the store's latest time) and returns
    /// whether there were any; without one, `FLUSHDB`: removes everything, `true`
    /// (FC-4.5.3).
    pub fn clear(&mut self) -> bool {
        if self.config.flavor.is_redis() {
            return self.redis_clear(self.clock);
        }
        self.flush();
        true
    }

    fn flush(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.live = 0;
        self.swept = 0;
    }

    /// A `SimpleCache` call with a non-`str` key that Python's dict refuses (unhashable):
    /// the `TypeError`, raised after what the backend did before it (`set` and `add` prune
    /// first; `delete_many` deletes the keys before it, unless it stopped at a miss first).
    /// `None`: every key is hashable. A `set_many` mapping is a dict already, which cannot
    /// hold such a key: it raises before anything.
    fn dict_nonstr_call(
        &mut self,
        op: &StoreOp,
        now: Timestamp,
    ) -> Option<Result<StoreReply, StoreError>> {
        let unhashable = |key: &str| nonstr::dict_key(key).err();
        let error = match op {
            StoreOp::DeleteMany { keys } => {
                let (i, error) = keys
                    .iter()
                    .enumerate()
                    .find_map(|(i, k)| Some((i, unhashable(k)?)))?;
                let (before, _) = keys.split_at(i);
                let deleted = match self.delete_many(before, now) {
                    Ok(deleted) => deleted,
                    Err(e) => return Some(Err(e)),
                };
                let stops_at_miss = match self.config.flavor {
                    StoreFlavor::FlaskCaching24 => !self.config.ignore_delete_many_errors,
                    StoreFlavor::Werkzeug016 => true,
                    _ => false,
                };
                if stops_at_miss && deleted.len() < before.len() {
                    return Some(Ok(if self.config.flavor == StoreFlavor::Werkzeug016 {
                        StoreReply::Bool(false)
                    } else {
                        StoreReply::Keys(deleted)
                    }));
                }
                error
            }
            StoreOp::Set { key, .. } | StoreOp::Add { key, .. } => {
                let error = unhashable(key)?;
                self.prune(now);
                error
            }
            op => op.keys().find_map(unhashable)?,
        };
        Some(Err(StoreError::Raised(error)))
    }

    /// A Redis call with a non-`str` key where it differs from a `str` key's: the error of
    /// a name Python cannot format (an `int` over the digit limit; a 2.4 `delete_many`
    /// deletes the keys before it first), and, without a key prefix, `get_many` and 2.5's
    /// `delete_many`, which send the keys through redis-py's encoder unformatted: it raises
    /// `DataError` for most types before any command, and sends `bytes` as their bytes, so
    /// that 2.5's `delete_many` then finds the formatted `b'k'` still there and raises
    /// `RuntimeError` (its `ignore_delete_many_errors` is always `False`). `None`: the call
    /// goes on as for `str` keys.
    fn redis_nonstr_call(
        &mut self,
        op: &StoreOp,
        now: Timestamp,
    ) -> Option<Result<StoreReply, StoreError>> {
        let py = PythonVersion::default();
        let unprefixed = !matches!(&self.config.key_prefix, Some(p) if !p.is_empty());
        let raised = |e: PyError| Some(Err(StoreError::Raised(e)));
        let encoded = |keys: &[String]| -> Result<Vec<String>, PyError> {
            keys.iter()
                .map(|k| nonstr::redis_encoded(k, py).map(Cow::into_owned))
                .collect()
        };
        match op {
            StoreOp::GetMany { keys } if unprefixed => match encoded(keys) {
                Ok(names) => Some(Ok(StoreReply::Values(
                    names.iter().map(|n| self.get_stored(n, now)).collect(),
                ))),
                Err(e) => raised(e),
            },
            StoreOp::DeleteMany { keys }
                if unprefixed && self.config.flavor == StoreFlavor::Redis =>
            {
                let names = match encoded(keys) {
                    Ok(names) => names,
                    Err(e) => return raised(e),
                };
                for name in &names {
                    self.redis_delete_stored(name, now);
                }
                let failed: Vec<&String> = keys.iter().filter(|k| self.has(k, now)).collect();
                if failed.is_empty() {
                    return Some(Ok(StoreReply::Keys(keys.clone())));
                }
                let mut message = String::from("Failed to delete keys: [");
                for (i, key) in failed.iter().enumerate() {
                    if i > 0 {
                        message.push_str(", ");
                    }
                    nonstr::repr_into(key, &mut message, py);
                }
                message.push(']');
                raised(PyError::new(PyExceptionType::RuntimeError, message))
            }
            StoreOp::DeleteMany { keys } if self.config.flavor == StoreFlavor::Redis24 => {
                let (i, error) = keys
                    .iter()
                    .enumerate()
                    .find_map(|(i, k)| Some((i, nonstr::redis_name(k, py).err()?)))?;
                let (before, _) = keys.split_at(i);
                let deleted = self.redis_delete_many(before, now);
                if deleted.len() < before.len() {
                    return Some(Ok(StoreReply::Keys(deleted)));
                }
                raised(error)
            }
            op => raised(op.keys().find_map(|k| nonstr::redis_name(k, py).err())?),
        }
    }

    /// One call on a Redis flavour (FC-4.5.3).
    fn execute_redis(&mut self, op: &StoreOp, now: Timestamp) -> Result<StoreReply, StoreError> {
        self.clock = now;
        if op.keys().any(nonstr::is_nonstr) {
            if let Some(outcome) = self.redis_nonstr_call(op, now) {
                return outcome;
            }
        }
        let reply = match op {
            StoreOp::Get { key } => StoreReply::Value(self.get(key, now)),
            StoreOp::GetMany { keys } => StoreReply::Values(self.get_many(keys, now)),
            StoreOp::Has { key } => StoreReply::Bool(self.has(key, now)),
            StoreOp::Set {
                key,
                value,
                timeout,
            } => {
                self.redis_set(key, value.clone(), *timeout, now)?;
                StoreReply::Bool(true)
            }
            StoreOp::SetMany { items, timeout } => {
                StoreReply::Keys(self.redis_set_many(items, *timeout, now)?)
            }
            StoreOp::Add {
                key,
                value,
                timeout,
            } => StoreReply::Bool(self.redis_add(key, value.clone(), *timeout, now)?),
            StoreOp::Delete { key } => StoreReply::Bool(self.redis_delete(key, now)),
            StoreOp::DeleteMany { keys } => StoreReply::Keys(self.redis_delete_many(keys, now)),
            StoreOp::Clear => StoreReply::Bool(self.redis_clear(now)),
        };
        Ok(reply)
    }

    /// `SET key value [EX t]` (FC-4.5.2): `t` is the defaulted timeout; `0` and `-1` send
    /// no `EX`; a refused `EX` changes nothing.
    fn redis_set(
        &mut self,
        key: &str,
        value: Value,
        timeout: Option<i64>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let t = timeout.unwrap_or(self.config.default_timeout);
        let expires = if redis::sends_ex(t) {
            redis::set_ex(t, now).map_err(StoreError::Raised)?
        } else {
            StoreFlavor::NEVER
        };
        let key = self.stored_key(key).into_owned();
        self.insert(key, expires, value);
        self.sweep_sometimes(now);
        Ok(())
    }

    /// `set_many`: one pipeline of `SET`s, one per item of the dict; every `SET` succeeds or
    /// every one is refused, and redis-py then raises the first command's error, annotated.
    fn redis_set_many(
        &mut self,
        items: &[(String, Value)],
        timeout: Option<i64>,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let mapping = dict_items(items);
        let Some(&(first_key, first_value)) = mapping.first() else {
            return Ok(Vec::new());
        };
        let t = timeout.unwrap_or(self.config.default_timeout);
        let expires = if redis::sends_ex(t) {
            match redis::set_ex(t, now) {
                Ok(expires) => expires,
                Err(err) => {
                    let key = self.stored_key(first_key);
                    let error = redis::set_pipeline_error(&key, first_value, t, &err.message);
                    return Err(StoreError::Raised(error));
                }
            }
        } else {
            StoreFlavor::NEVER
        };
        let mut set_keys = Vec::with_capacity(mapping.len());
        for (key, value) in mapping {
            let stored = self.stored_key(key).into_owned();
            self.insert(stored, expires, value.clone());
            set_keys.push(key.to_owned());
        }
        self.sweep_sometimes(now);
        Ok(set_keys)
    }

    /// `add`: `SETNX`, then `EXPIRE` when the key was created and the timeout is not `0` or
    /// `-1` (FC-4.5.3). A refused `EXPIRE` raises with the key created, without expiry; a
    /// negative one deletes the key, and `add` still returns `True`.
    fn redis_add(
        &mut self,
        key: &str,
        value: Value,
        timeout: Option<i64>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        if self.has(key, now) {
            return Ok(false);
        }
        let t = timeout.unwrap_or(self.config.default_timeout);
        let stored = self.stored_key(key).into_owned();
        self.insert(stored.clone(), StoreFlavor::NEVER, value);
        self.sweep_sometimes(now);
        if redis::sends_ex(t) {
            match redis::expire(t, now).map_err(StoreError::Raised)? {
                redis::Expire::At(expires) => {
                    if let Some(i) = self.position(&stored) {
                        if let Some(Some(slot)) = self.slots.get_mut(i) {
                            slot.expiry = Expiry::new(expires);
                        }
                    }
                }
                redis::Expire::Delete => {
                    if let Some(i) = self.position(&stored) {
                        self.remove_slot(i);
                        self.maybe_compact();
                    }
                }
            }
        }
        Ok(true)
    }

    /// `DEL key` > 0: whether a live key was removed (an expired one is dropped too).
    fn redis_delete(&mut self, key: &str, now: Timestamp) -> bool {
        let key = self.stored_key(key).into_owned();
        self.redis_delete_stored(&key, now)
    }

    /// `DEL` of the stored name `key`.
    fn redis_delete_stored(&mut self, key: &str, now: Timestamp) -> bool {
        let removed = match self.position(key) {
            Some(i) => self
                .remove_slot(i)
                .is_some_and(|slot| self.alive(slot.expires(), now)),
            None => false,
        };
        self.maybe_compact();
        removed
    }

    fn redis_delete_many<S: AsRef<str>>(&mut self, keys: &[S], now: Timestamp) -> Vec<String> {
        if self.config.flavor == StoreFlavor::Redis24 {
            let mut deleted = Vec::with_capacity(keys.len());
            for key in keys {
                if !self.redis_delete(key.as_ref(), now) {
                    break;
                }
                deleted.push(key.as_ref().to_owned());
            }
            return deleted;
        }
        // cachelib: `DEL` of them all, then the keys `EXISTS` no longer finds: every one.
        for key in keys {
            self.redis_delete(key.as_ref(), now);
        }
        keys.iter().map(|k| k.as_ref().to_owned()).collect()
    }

    /// `KEYS prefix*` then `DEL` of the matches, or `FLUSHDB` without a prefix.
    fn redis_clear(&mut self, now: Timestamp) -> bool {
        let prefix = match &self.config.key_prefix {
            Some(prefix) if !prefix.is_empty() => prefix.clone(),
            _ => {
                self.flush();
                return true;
            }
        };
        let mut pattern = prefix.into_bytes();
        pattern.push(b'*');
        let matches: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
            .filter(|(_, s)| {
                self.alive(s.expires(), now) && redis::glob_match(&pattern, s.key.as_bytes())
            })
            .map(|(i, _)| i)
            .collect();
        for &i in &matches {
            self.remove_slot(i);
        }
        self.maybe_compact();
        !matches.is_empty()
    }

    /// Drops expired entries once the store has doubled since the last sweep: memory stays
    /// proportional to the live keys, at amortised O(1) per write. Expired keys are absent
    /// for every Redis operation, so nothing observable changes.
    fn sweep_sometimes(&mut self, now: Timestamp) {
        self.swept = self.swept.min(self.live);
        if self.live < 2 * self.swept + 64 {
            return;
        }
        for i in 0..self.slots.len() {
            let dead = self
                .slots
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(|s| !self.alive(s.expires(), now));
            if dead {
                self.remove_slot(i);
            }
        }
        self.maybe_compact();
        self.swept = self.live;
    }

    /// The name `key` is stored under: the configured prefix, then the key, or for a
    /// non-`str` key text the dict key it equals (`SimpleCache`) or the name `RedisCache`
    /// formats ([`nonstr`]). A key whose name raises keeps its text here; `execute` raises.
    fn stored_key<'a>(&self, key: &'a str) -> Cow<'a, str> {
        let key = if nonstr::is_nonstr(key) {
            let name = if self.config.flavor.is_redis() {
                nonstr::redis_name(key, PythonVersion::default())
            } else {
                nonstr::dict_key(key)
            };
            name.unwrap_or(Cow::Borrowed(key))
        } else {
            Cow::Borrowed(key)
        };
        match &self.config.key_prefix {
            Some(prefix) if !prefix.is_empty() => {
                let mut full = String::with_capacity(prefix.len() + key.len());
                full.push_str(prefix);
                full.push_str(&key);
                Cow::Owned(full)
            }
            _ => key,
        }
    }

    fn slots_in_order(&self) -> impl Iterator<Item = &Slot> + '_ {
        self.slots.iter().flatten()
    }

    /// The slot position of `stored_key`, if it is stored.
    fn position(&self, stored_key: &str) -> Option<usize> {
        let slots = &self.slots;
        let found = self.index.find(
            key_hash(stored_key),
            |&p| matches!(slots.get(p as usize), Some(Some(s)) if *s.key == *stored_key),
        )?;
        Some(*found as usize)
    }

    fn lookup(&self, stored_key: &str) -> Option<&Slot> {
        self.slots.get(self.position(stored_key)?)?.as_ref()
    }

    /// Stores under `stored_key`: in place if present (a dict assignment keeps the key's
    /// position), else at the end.
    fn insert(&mut self, stored_key: String, expires: i128, value: Value) {
        let hash = key_hash(&stored_key);
        let slots = &mut self.slots;
        let found = self.index.find(
            hash,
            |&p| matches!(slots.get(p as usize), Some(Some(s)) if *s.key == *stored_key),
        );
        if let Some(&p) = found {
            if let Some(Some(slot)) = slots.get_mut(p as usize) {
                slot.expiry = Expiry::new(expires);
                slot.value = value;
                return;
            }
        }
        if u32::try_from(self.slots.len()).is_err() {
            self.compact();
        }
        let Ok(position) = u32::try_from(self.slots.len()) else {
            // 2^32 slots, every one live: the documented capacity limit.
            return;
        };
        if self.slots.len() == self.slots.capacity() {
            // Grow by an eighth rather than doubling: spare capacity is at most an eighth of
            // the slots, at amortised O(1) per insertion still.
            let extra = (self.slots.len() / 8).max(16);
            self.slots.reserve_exact(extra);
        }
        self.slots.push(Some(Slot {
            key: stored_key.into_boxed_str(),
            expiry: Expiry::new(expires),
            value,
        }));
        let slots = &self.slots;
        self.index
            .insert_unique(hash, position, |&p| slot_hash(slots, p));
        self.live += 1;
    }

    fn remove_slot(&mut self, i: usize) -> Option<Slot> {
        let slot = self.slots.get_mut(i)?.take()?;
        if let Ok(entry) = self
            .index
            .find_entry(key_hash(&slot.key), |&p| p as usize == i)
        {
            entry.remove();
        }
        self.live = self.live.saturating_sub(1);
        Some(slot)
    }

    /// `_prune`, only when over the threshold (FC-4.3.4); never for Redis.
    fn prune(&mut self, now: Timestamp) {
        if !self.config.flavor.prunes() || self.live <= self.threshold() {
            return;
        }
        match self.config.flavor {
            StoreFlavor::Cachelib | StoreFlavor::FlaskCaching24 => self.prune_cachelib(now),
            StoreFlavor::Werkzeug016 => self.prune_werkzeug(now),
            StoreFlavor::Redis | StoreFlavor::Redis24 => {}
        }
        self.maybe_compact();
    }

    /// Werkzeug 0.16: remove every entry that is dead (`expires != 0 and expires <= now`)
    /// or whose position in dict order is a multiple of 3.
    fn prune_werkzeug(&mut self, now: Timestamp) {
        let mut position = 0usize;
        for i in 0..self.slots.len() {
            let doomed = match self.slots.get(i).and_then(Option::as_ref) {
                Some(s) => {
                    let doomed = position.is_multiple_of(3) || !self.alive(s.expires(), now);
                    position += 1;
                    doomed
                }
                None => false,
            };
            if doomed {
                self.remove_slot(i);
            }
        }
    }

    /// cachelib: (1) remove every entry with `expires < now` (never-expiring `0` and
    /// negative ones included), then (2) while still over, remove entries in ascending
    /// `expires` order, ties in insertion order.
    fn prune_cachelib(&mut self, now: Timestamp) {
        let threshold = self.threshold();
        for i in 0..self.slots.len() {
            let expired = self
                .slots
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(|s| now.cmp_secs(s.expires()) == Ordering::Greater);
            if expired {
                self.remove_slot(i);
            }
        }
        if self.live > threshold {
            // Python sorts stably by `expires` and pops until at most `threshold` remain:
            // that removes exactly the `excess` smallest (expires, position) pairs.
            let excess = self.live - threshold;
            let mut order: Vec<(i128, usize)> = self
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.as_ref().map(|s| (s.expires(), i)))
                .collect();
            if excess < order.len() {
                order.select_nth_unstable(excess);
                order.truncate(excess);
            }
            for (_, i) in order {
                self.remove_slot(i);
            }
        }
    }

    fn maybe_compact(&mut self) {
        let tombstones = self.slots.len().saturating_sub(self.live);
        if tombstones == 0 || tombstones * 2 <= self.slots.len() {
            return;
        }
        self.compact();
    }

    /// Drops the tombstones, keeping order, and re-indexes the positions that moved. Spare
    /// room left by a large removal is returned to the allocator.
    fn compact(&mut self) {
        self.slots.retain(Option::is_some);
        let len = self.slots.len();
        if self.slots.capacity() > 2 * len + 16 {
            self.slots.shrink_to(len + len / 8);
        }
        let slots = &self.slots;
        self.index.clear();
        self.index.shrink_to(len, |&p| slot_hash(slots, p));
        for (i, slot) in slots.iter().enumerate() {
            if let (Some(slot), Ok(p)) = (slot, u32::try_from(i)) {
                self.index
                    .insert_unique(key_hash(&slot.key), p, |&q| slot_hash(slots, q));
            }
        }
    }
}

/// A `set_many` mapping read as a Python `dict`: a repeated key keeps its first position and
/// takes its last value. Keys are compared as the dict compares them (`1` and `True` are
/// one key, spelled as first given; [`nonstr::dict_key`]).
fn dict_items(items: &[(String, Value)]) -> Vec<(&str, &Value)> {
    let mut mapping: Vec<(&str, &Value)> = Vec::with_capacity(items.len());
    let mut position: HashMap<Cow<'_, str>, usize, FixedFoldState> =
        HashMap::with_capacity_and_hasher(items.len(), FixedFoldState);
    for (key, value) in items {
        let dict_key = nonstr::dict_key(key).unwrap_or(Cow::Borrowed(key.as_str()));
        match position.get(&dict_key) {
            Some(&i) => {
                if let Some(item) = mapping.get_mut(i) {
                    item.1 = value;
                }
            }
            None => {
                position.insert(dict_key, mapping.len());
                mapping.push((key.as_str(), value));
            }
        }
    }
    mapping
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
