//! The Redis flavours' calls ([`StoreFlavor::Redis`], [`StoreFlavor::Redis24`],
//! [`StoreFlavor::Werkzeug016Redis`]): a Redis keyspace kept in the store's slots, the
//! commands each `RedisCache` sends and the replies it returns (FC-4.5.3).

use std::borrow::Cow;

use super::{dict_items, Expiry, MemoryStore};
use crate::error::{PyError, PyExceptionType};
use crate::store::flavor::StoreFlavor;
use crate::store::nonstr;
use crate::store::op::{StoreError, StoreOp, StoreReply};
use crate::store::redis;
use crate::store::time::Timestamp;
use crate::value::{PythonVersion, Value};

impl MemoryStore {
    /// A Redis call with a non-`str` key where it differs from a `str` key's: the error of
    /// a name Python cannot format (an `int` over the digit limit; a 2.4 `delete_many`
    /// deletes the keys before it first), and, without a key prefix, `get_many` and 2.5's
    /// `delete_many`, which send the keys through redis-py's encoder unformatted: it raises
    /// `DataError` for most types before any command, and sends `bytes` as their bytes, so
    /// that 2.5's `delete_many` then finds the formatted `b'k'` still there and raises
    /// `RuntimeError` (its `ignore_delete_many_errors` is always `False`). `None`: the call
    /// goes on as for `str` keys.
    pub(super) fn redis_nonstr_call(
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

    /// One call on a Redis flavour (FC-4.5.3). Werkzeug's `RedisCache` answers with
    /// redis-py's counts where cachelib's answers with `bool`s or keys.
    pub(super) fn execute_redis(
        &mut self,
        op: &StoreOp,
        now: Timestamp,
    ) -> Result<StoreReply, StoreError> {
        self.clock = now;
        let werkzeug = self.config.flavor == StoreFlavor::Werkzeug016Redis;
        if op.any_key(nonstr::is_nonstr) {
            let outcome = if werkzeug {
                self.werkzeug_nonstr_call(op, now)
            } else {
                self.redis_nonstr_call(op, now)
            };
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
        let count = |n: usize| StoreReply::Value(Value::int(n as i64));
        let reply = match op {
            StoreOp::Get { key } => StoreReply::Value(self.get(key, now)),
            StoreOp::GetMany { keys } => StoreReply::Values(self.get_many(keys, now)),
            StoreOp::Has { key } if werkzeug => count(usize::from(self.has(key, now))),
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
                let set = self.redis_set_many(items, *timeout, now)?;
                if werkzeug {
                    // The pipeline's replies: one `True` per `SET`/`SETEX`.
                    StoreReply::Values(vec![Value::Bool(true); set.len()])
                } else {
                    StoreReply::Keys(set)
                }
            }
            StoreOp::Add {
                key,
                value,
                timeout,
            } => StoreReply::Bool(self.redis_add(key, value.clone(), *timeout, now)?),
            StoreOp::Delete { key } if werkzeug => count(usize::from(self.redis_delete(key, now))),
            StoreOp::Delete { key } => StoreReply::Bool(self.redis_delete(key, now)),
            // Werkzeug returns before sending a `DEL` of no keys.
            StoreOp::DeleteMany { keys } if werkzeug && keys.is_empty() => {
                StoreReply::Value(Value::None)
            }
            StoreOp::DeleteMany { keys } if werkzeug => {
                count(self.redis_delete_many(keys, now).len())
            }
            StoreOp::DeleteMany { keys } => StoreReply::Keys(self.redis_delete_many(keys, now)),
            StoreOp::Clear => match self.redis_clear(now) {
                RedisCleared::Deleted(n) if werkzeug && n > 0 => count(n),
                cleared => StoreReply::Bool(cleared.any()),
            },
        };
        Ok(reply)
    }

    /// `DEL name...` of stored names: how many live keys it removed (a name given twice
    /// counts once).
    pub(super) fn redis_del(&mut self, names: &[String], now: Timestamp) -> usize {
        names
            .iter()
            .filter(|name| self.redis_delete_stored(name, now))
            .count()
    }

    /// A Werkzeug 0.16 `RedisCache` call with a key that is not a `str`: every method builds
    /// the name as `self.key_prefix + key`, which raises `TypeError`, except `get_many` and
    /// `delete_many` without a prefix, which send the keys to redis-py's encoder as they are
    /// (it refuses most types with `DataError`). `None` when every key is a `str`.
    pub(super) fn werkzeug_nonstr_call(
        &mut self,
        op: &StoreOp,
        now: Timestamp,
    ) -> Option<Result<StoreReply, StoreError>> {
        let first = op.keys().find(|k| nonstr::is_nonstr(k))?;
        let py = PythonVersion::Py37;
        let unprefixed = !matches!(&self.config.key_prefix, Some(p) if !p.is_empty());
        let encoded = |keys: &[String]| -> Result<Vec<String>, PyError> {
            keys.iter()
                .map(|k| nonstr::redis_encoded(k, py).map(Cow::into_owned))
                .collect()
        };
        let raised = |e: PyError| Some(Err(StoreError::Raised(e)));
        match op {
            StoreOp::GetMany { keys } if unprefixed => match encoded(keys) {
                Ok(names) => Some(Ok(StoreReply::Values(
                    names.iter().map(|n| self.get_stored(n, now)).collect(),
                ))),
                Err(e) => raised(e),
            },
            StoreOp::DeleteMany { keys } if unprefixed => match encoded(keys) {
                Ok(names) => Some(Ok(StoreReply::Value(Value::int(
                    self.redis_del(&names, now) as i64,
                )))),
                Err(e) => raised(e),
            },
            _ => {
                let key = nonstr::key_value(first);
                let type_name = nonstr::tp_name(&key);
                raised(PyError::new(
                    PyExceptionType::TypeError,
                    format!("can only concatenate str (not \"{type_name}\") to str"),
                ))
            }
        }
    }

    /// `SET key value [EX t]` (FC-4.5.2): `t` is the defaulted timeout; `0` and `-1` send
    /// no `EX`; a refused `EX` changes nothing.
    pub(super) fn redis_set(
        &mut self,
        key: &str,
        value: Value,
        timeout: Option<i64>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let t = timeout.unwrap_or(self.config.default_timeout);
        let expires = if redis::sends_ex(t) {
            self.redis_ex(t, now).map_err(StoreError::Raised)?
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
    pub(super) fn redis_set_many(
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
            match self.redis_ex(t, now) {
                Ok(expires) => expires,
                Err(err) => {
                    let key = self.stored_key(first_key);
                    let error = if self.config.flavor == StoreFlavor::Werkzeug016Redis {
                        redis::setex_pipeline_error(&key, first_value, t, &err.message)
                    } else {
                        redis::set_pipeline_error(&key, first_value, t, &err.message)
                    };
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

    /// The expiry of a `SET … EX t` (cachelib) or `SETEX t` (Werkzeug), or the refusal.
    pub(super) fn redis_ex(&self, t: i64, now: Timestamp) -> Result<i128, PyError> {
        if self.config.flavor == StoreFlavor::Werkzeug016Redis {
            redis::setex(t, now)
        } else {
            redis::set_ex(t, now)
        }
    }

    /// `add`: `SETNX`, then `EXPIRE` when the key was created and the timeout is not `0` or
    /// `-1` (FC-4.5.3); Werkzeug sends the `EXPIRE` whatever the timeout, `0` as `-1`. A
    /// refused `EXPIRE` raises with the key created, without expiry; a negative one deletes
    /// the key, and `add` still returns `True`.
    pub(super) fn redis_add(
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
        let werkzeug = self.config.flavor == StoreFlavor::Werkzeug016Redis;
        if werkzeug || redis::sends_ex(t) {
            let t = if werkzeug && t == 0 { -1 } else { t };
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
    pub(super) fn redis_delete(&mut self, key: &str, now: Timestamp) -> bool {
        let key = self.stored_key(key).into_owned();
        self.redis_delete_stored(&key, now)
    }

    /// `DEL` of the stored name `key`.
    pub(super) fn redis_delete_stored(&mut self, key: &str, now: Timestamp) -> bool {
        let removed = match self.position(key) {
            Some(i) => self
                .remove_slot(i)
                .is_some_and(|slot| self.alive(slot.expires(), now)),
            None => false,
        };
        self.maybe_compact();
        removed
    }

    pub(super) fn redis_delete_many<S: AsRef<str>>(
        &mut self,
        keys: &[S],
        now: Timestamp,
    ) -> Vec<String> {
        if self.config.flavor == StoreFlavor::Werkzeug016Redis {
            // One `DEL` of them all; its reply counts the keys it removed, named here.
            return keys
                .iter()
                .filter(|k| self.redis_delete(k.as_ref(), now))
                .map(|k| k.as_ref().to_owned())
                .collect();
        }
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
    pub(super) fn redis_clear(&mut self, now: Timestamp) -> RedisCleared {
        let prefix = match &self.config.key_prefix {
            Some(prefix) if !prefix.is_empty() => prefix.clone(),
            _ => {
                self.flush();
                return RedisCleared::Flushed;
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
        RedisCleared::Deleted(matches.len())
    }

    /// Drops expired entries once the store has doubled since the last sweep: memory stays
    /// proportional to the live keys, at amortised O(1) per write. Expired keys are absent
    /// for every Redis operation, so nothing observable changes.
    pub(super) fn sweep_sometimes(&mut self, now: Timestamp) {
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
}

/// What a Redis `clear` did: `FLUSHDB` (no key prefix) or `DEL` of the keys `KEYS prefix*`
/// listed, counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RedisCleared {
    Flushed,
    Deleted(usize),
}

impl RedisCleared {
    /// cachelib's reply: `True` for `FLUSHDB`, else whether any key was deleted.
    pub(super) fn any(self) -> bool {
        self != RedisCleared::Deleted(0)
    }
}
