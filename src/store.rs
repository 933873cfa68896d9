//! The backend a [`crate::Cache`] talks to.
//!
//! [`Store`] is one operation at a time, `&self`, thread-safe: an in-process store locks
//! for the duration of one operation, a network store (Redis) sends it over one of its
//! connections. The engine decides which operations to run and in which order; the store
//! only executes them with the semantics of its flavour.

use flaskcache_engine::store::nonstr;
use flaskcache_engine::{
    MemoryStore, StoreConfig, StoreError, StoreOp, StoreReply, Timestamp, Value,
};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A cache backend shared by every thread of a [`crate::Cache`] (and possibly by several
/// caches, as several processes share one Redis).
///
/// `execute` runs one operation at time `now` and answers what the Python backend's method
/// returns, or the error it raises. A Redis adapter implements it by encoding the operation
/// as cachelib's `RedisCache` does (the engine's [`StoreConfig::redis`] flavours describe
/// that behaviour) and by reporting connection failures as [`StoreError::Failed`], which the
/// flows log and survive as Flask-Caching does.
pub trait Store: Send + Sync {
    /// Executes `op` at `now`.
    fn execute(&self, op: &StoreOp, now: Timestamp) -> Result<StoreReply, StoreError>;

    /// `get(key)` at `now`: what `execute` answers for [`StoreOp::Get`], which the default
    /// runs; a store that can read with the key borrowed overrides it, so that a cache hit
    /// builds no operation.
    fn get(&self, key: &str, now: Timestamp) -> Result<StoreReply, StoreError> {
        let op = StoreOp::Get {
            key: key.to_owned(),
        };
        self.execute(&op, now)
    }

    /// `get_many(*keys)` at `now` for a reader that only wants stored `str`s (the version
    /// strings of a memoize key): `Ok(None)` when every key holds a `str`, each appended to
    /// `joined` in order; otherwise the reply `execute` gives for [`StoreOp::GetMany`], with
    /// `joined` unchanged. The default runs that operation; a store that can lend its
    /// values overrides it to read them in place, without copies.
    fn get_many_joined(
        &self,
        keys: &[&str],
        now: Timestamp,
        joined: &mut String,
    ) -> Result<Option<StoreReply>, StoreError> {
        joined_through_execute(self, keys, now, joined)
    }
}

/// [`Store::get_many_joined`] by way of [`Store::execute`]: a `get_many`, its values joined.
fn joined_through_execute<S: Store + ?Sized>(
    store: &S,
    keys: &[&str],
    now: Timestamp,
    joined: &mut String,
) -> Result<Option<StoreReply>, StoreError> {
    let op = StoreOp::get_many_of(keys);
    Ok(store.execute(&op, now)?.join_strs(keys.len(), joined))
}

/// The engine's [`MemoryStore`] (cachelib's `SimpleCache`) behind a lock held for one
/// operation at a time: reads (`get`, `get_many`, `has`) share it, so cache hits on several
/// threads proceed in parallel; writes take it alone.
///
/// ```
/// use flaskcache::{SharedMemoryStore, Store};
/// use flaskcache::engine::{StoreOp, StoreReply, Timestamp, Value};
///
/// let store = SharedMemoryStore::default();
/// let now = Timestamp::from_secs(1_000);
/// let set = StoreOp::Set { key: "k".into(), value: Value::int(1), timeout: None };
/// assert_eq!(store.execute(&set, now), Ok(StoreReply::Bool(true)));
/// assert_eq!(store.len(), 1);
/// ```
#[derive(Debug)]
pub struct SharedMemoryStore {
    inner: RwLock<MemoryStore>,
    /// The store's flavour is a Redis one (fixed at construction).
    redis: bool,
}

impl SharedMemoryStore {
    /// An empty store with `config` (timeout, threshold, flavour).
    pub fn new(config: StoreConfig) -> Self {
        let redis = config.flavor.is_redis();
        SharedMemoryStore {
            inner: RwLock::new(MemoryStore::new(config)),
            redis,
        }
    }

    // A panic while the lock was held cannot leave a half-done operation behind that
    // matters more than losing the cache: keep serving.
    fn read(&self) -> RwLockReadGuard<'_, MemoryStore> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, MemoryStore> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the store (inspection in tests: entries, keys, expiry times).
    pub fn with<R>(&self, f: impl FnOnce(&MemoryStore) -> R) -> R {
        f(&self.read())
    }

    /// How many entries the store holds (expired ones included, as SimpleCache keeps them
    /// until pruned).
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the store holds no entry.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}

impl Default for SharedMemoryStore {
    /// SimpleCache's defaults (300 s, threshold 500).
    fn default() -> Self {
        SharedMemoryStore::new(StoreConfig::default())
    }
}

impl Store for SharedMemoryStore {
    fn execute(&self, op: &StoreOp, now: Timestamp) -> Result<StoreReply, StoreError> {
        // SimpleCache's reads change nothing: answer them under the shared lock, exactly
        // as `MemoryStore::execute` does (the Redis flavours, and keys that are not `str`,
        // which may raise, go through `execute`).
        if !self.redis && !op.any_key(nonstr::is_nonstr) {
            match op {
                StoreOp::Get { key } => return Ok(StoreReply::Value(self.read().get(key, now))),
                StoreOp::GetMany { keys } => {
                    return Ok(StoreReply::Values(self.read().get_many(keys, now)))
                }
                StoreOp::Has { key } => return Ok(StoreReply::Bool(self.read().has(key, now))),
                _ => {}
            }
        }
        self.write().execute(op, now)
    }

    fn get(&self, key: &str, now: Timestamp) -> Result<StoreReply, StoreError> {
        if self.redis || nonstr::is_nonstr(key) {
            let op = StoreOp::Get {
                key: key.to_owned(),
            };
            return self.execute(&op, now);
        }
        Ok(StoreReply::Value(self.read().get(key, now)))
    }

    fn get_many_joined(
        &self,
        keys: &[&str],
        now: Timestamp,
        joined: &mut String,
    ) -> Result<Option<StoreReply>, StoreError> {
        if self.redis || keys.iter().any(|k| nonstr::is_nonstr(k)) {
            return joined_through_execute(self, keys, now, joined);
        }
        // Read in place under the shared lock; only a miss or a non-`str` needs the values.
        let store = self.read();
        let start = joined.len();
        for key in keys {
            match store.get_ref(key, now) {
                Some(Value::Str(s)) => joined.push_str(s),
                _ => {
                    joined.truncate(start);
                    return Ok(Some(StoreReply::Values(store.get_many(keys, now))));
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared lock's read path answers what `MemoryStore::execute` answers, for keys
    /// that are not `str` too (an unhashable one raises `TypeError`, as in Python).
    #[test]
    fn reads_of_keys_that_are_not_str_go_through_execute() {
        let now = Timestamp::from_secs(1_000);
        let unhashable = nonstr::key_text(&Value::List(vec![Value::int(1)]));
        let number = nonstr::key_text(&Value::int(7));
        let shared = SharedMemoryStore::new(StoreConfig::default());
        let mut plain = MemoryStore::new(StoreConfig::default());
        let set = StoreOp::Set {
            key: number.clone(),
            value: Value::str("seven"),
            timeout: None,
        };
        assert_eq!(shared.execute(&set, now), plain.execute(&set, now));
        let plain_set = StoreOp::Set {
            key: "plain".into(),
            value: Value::int(1),
            timeout: None,
        };
        assert_eq!(
            shared.execute(&plain_set, now),
            plain.execute(&plain_set, now)
        );
        for key in [&unhashable, &number] {
            for op in [
                StoreOp::Get { key: key.clone() },
                StoreOp::Has { key: key.clone() },
                StoreOp::get_many_of(&[key.as_str()]),
            ] {
                assert_eq!(shared.execute(&op, now), plain.execute(&op, now), "{op:?}");
            }
        }
        // The lent `get` answers as `execute` does, for `str` keys too.
        for key in [
            &unhashable,
            &number,
            &"plain".to_owned(),
            &"missing".to_owned(),
        ] {
            let op = StoreOp::Get { key: key.clone() };
            assert_eq!(shared.get(key, now), plain.execute(&op, now), "{key}");
        }
        let raised = shared.execute(
            &StoreOp::Get {
                key: unhashable.clone(),
            },
            now,
        );
        assert!(matches!(raised, Err(StoreError::Raised(_))), "{raised:?}");
        let mut joined = String::new();
        let through = shared.get_many_joined(&[unhashable.as_str()], now, &mut joined);
        assert_eq!(
            through,
            plain
                .execute(&StoreOp::get_many_of(&[unhashable.as_str()]), now)
                .map(Some)
        );
    }
}
