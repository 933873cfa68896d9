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
//!
//! This module holds the storage and the `SimpleCache` flavours' calls; `redis_calls` the
//! Redis flavours' (the same slots, other commands and replies).

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
use crate::value::{PythonVersion, Value};

mod redis_calls;

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
#[inline]
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
            StoreFlavor::Redis | StoreFlavor::Redis24 | StoreFlavor::Werkzeug016Redis => {
                if redis::sends_ex(timeout) {
                    self.redis_ex(timeout, now)
                        .unwrap_or_else(|_| i128::from(now.as_micros()))
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

    #[inline]
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
        if op.any_key(nonstr::is_nonstr) {
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
    #[inline]
    pub fn get(&self, key: &str, now: Timestamp) -> Value {
        self.get_stored(&self.stored_key(key), now)
    }

    /// [`MemoryStore::get`] lent rather than copied: the live value under `key`, `None`
    /// when it is missing or expired.
    #[inline]
    pub fn get_ref(&self, key: &str, now: Timestamp) -> Option<&Value> {
        let slot = self.lookup(&self.stored_key(key))?;
        self.alive(slot.expires(), now).then_some(&slot.value)
    }

    #[inline]
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
            StoreFlavor::Redis | StoreFlavor::Redis24 | StoreFlavor::Werkzeug016Redis => {
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
            return self.redis_clear(self.clock).any();
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

    /// The name `key` is stored under: the configured prefix, then the key, or for a
    /// non-`str` key text the dict key it equals (`SimpleCache`) or the name `RedisCache`
    /// formats ([`nonstr`]). A key whose name raises keeps its text here; `execute` raises.
    #[inline]
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
    #[inline]
    fn position(&self, stored_key: &str) -> Option<usize> {
        let slots = &self.slots;
        let found = self.index.find(
            key_hash(stored_key),
            |&p| matches!(slots.get(p as usize), Some(Some(s)) if *s.key == *stored_key),
        )?;
        Some(*found as usize)
    }

    #[inline]
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
            StoreFlavor::Redis | StoreFlavor::Redis24 | StoreFlavor::Werkzeug016Redis => {}
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
mod tests;
