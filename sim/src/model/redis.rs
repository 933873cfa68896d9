//! The model's Redis server, as Flask-Caching's `RedisCache` drives it (FC-4.5), written
//! the way cachelib 0.17's `BaseRedisCache` (2.5) and Flask-Caching 2.4.1's `RedisCache`
//! read, over the same dict of entries as the `SimpleCache` model: every key is
//! stored as `CACHE_KEY_PREFIX` + key, an expired key is absent for every command, and
//! nothing is ever pruned.
//!
//! Time follows the recorded server (fakeredis on the virtual clock): `EX t` at `now`
//! keeps the key while `time() <= now + t`, as floats. Which timeouts the server refuses
//! is Redis 7's rule (`t <= 0` or beyond 64-bit milliseconds for `SET ... EX`; beyond
//! 64-bit milliseconds for `EXPIRE`, where `t <= 0` deletes the key). The wire format
//! (what a value serialises to) and redis-py's wording of a pipeline's error come from the
//! engine's `store::redis` module: they are renderings, not behaviour.

use super::store::{Entry, Expiry, ModelStore};
use flaskcache_engine::store::redis::{
    response_error, set_pipeline_error, EXPIRE_EXPIRE_ERROR, SET_EXPIRE_ERROR,
};
use flaskcache_engine::store::{StoreError, StoreFlavor, StoreOp, StoreReply, Timestamp};
use flaskcache_engine::Value;
use std::borrow::Cow;

/// The server's millisecond clock.
fn now_ms(now: Timestamp) -> i64 {
    now.as_micros().div_euclid(1000)
}

impl ModelStore {
    /// `_normalize_timeout`: `None` is the default, and `0` becomes `-1` (no expiry).
    fn redis_timeout(&self, timeout: Option<i64>) -> i64 {
        match timeout.unwrap_or(self.default_timeout) {
            0 => -1,
            t => t,
        }
    }

    /// The key as the server stores it: prefix + key (the prefix is `""` for SimpleCache).
    pub(super) fn full_key<'k>(&self, key: &'k str) -> Cow<'k, str> {
        if self.prefix.is_empty() {
            Cow::Borrowed(key)
        } else {
            Cow::Owned(format!("{}{key}", self.prefix))
        }
    }

    /// The live entry stored under `full`.
    fn live(&self, full: &str, now: Timestamp) -> Option<&Entry> {
        self.entries
            .get(full)
            .filter(|e| ModelStore::alive(e.expires, now))
    }

    /// The live entry for `key` (prefix applied).
    pub(super) fn redis_get_entry(&self, key: &str, now: Timestamp) -> Option<&Entry> {
        let full = self.full_key(key);
        self.live(&full, now)
    }

    /// `GET key`, deserialised: the value, or `None` when there is no live key.
    pub(super) fn redis_get(&self, key: &str, now: Timestamp) -> Value {
        self.redis_get_entry(key, now)
            .map_or(Value::None, |e| e.value.clone())
    }

    /// Drops an expired entry stored under `full` (Redis has no such key any more).
    fn forget_dead(&mut self, full: &str, now: Timestamp) {
        let dead = self
            .entries
            .get(full)
            .is_some_and(|e| !ModelStore::alive(e.expires, now));
        if dead {
            self.entries.remove(full);
        }
    }

    /// `SET full value`, with the expiry given.
    fn redis_put(&mut self, full: String, expires: Expiry, value: Value, now: Timestamp) {
        self.forget_dead(&full, now);
        match self.entries.get_mut(&full) {
            Some(e) => {
                e.expires = expires;
                e.value = value;
            }
            None => self.entries.insert(Entry {
                key: full,
                expires,
                value,
            }),
        }
    }

    /// Whether Redis 7 accepts `SET ... EX t` at `now`.
    fn set_ex_accepted(t: i64, now: Timestamp) -> bool {
        if t <= 0 || t > i64::MAX / 1000 {
            return false;
        }
        matches!((t * 1000).checked_add(now_ms(now)), Some(when) if when > 0)
    }

    fn ex_expiry(t: i64, now: Timestamp) -> Expiry {
        Expiry::Redis(now.as_py_float() + t as f64)
    }

    /// `SET key value [EX t]`; `t == -1` sends no `EX`.
    pub(super) fn redis_set(
        &mut self,
        key: &str,
        value: Value,
        timeout: Option<i64>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let t = self.redis_timeout(timeout);
        let expires = if t == -1 {
            Expiry::Int(0)
        } else if ModelStore::set_ex_accepted(t, now) {
            ModelStore::ex_expiry(t, now)
        } else {
            return Err(StoreError::Raised(response_error(SET_EXPIRE_ERROR)));
        };
        let full = self.full_key(key).into_owned();
        self.redis_put(full, expires, value, now);
        Ok(())
    }

    /// `SETNX key value`, then `EXPIRE key t` if it created the key and `t != -1`.
    fn redis_add(
        &mut self,
        key: &str,
        value: &Value,
        timeout: Option<i64>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let t = self.redis_timeout(timeout);
        let full = self.full_key(key).into_owned();
        if self.live(&full, now).is_some() {
            return Ok(false);
        }
        self.redis_put(full.clone(), Expiry::Int(0), value.clone(), now);
        if t == -1 {
            return Ok(true);
        }
        // EXPIRE: seconds beyond 64-bit milliseconds are refused, the key stays as SETNX
        // left it; a deadline not in the future deletes the key.
        let refused = !(i64::MIN / 1000..=i64::MAX / 1000).contains(&t)
            || t * 1000 > i64::MAX - now_ms(now).max(0);
        if refused {
            return Err(StoreError::Raised(response_error(EXPIRE_EXPIRE_ERROR)));
        }
        if t <= 0 {
            self.entries.remove(&full);
        } else if let Some(e) = self.entries.get_mut(&full) {
            e.expires = ModelStore::ex_expiry(t, now);
        }
        Ok(true)
    }

    /// `set_many`: one pipeline with a `SET` per key of the dict; the server refuses all of
    /// them or none, and redis-py raises the first command's error.
    pub(super) fn redis_set_many<K: AsRef<str>, V: std::borrow::Borrow<Value>>(
        &mut self,
        items: &[(K, V)],
        timeout: Option<i64>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mapping = super::store::dict_items(items);
        let t = self.redis_timeout(timeout);
        if let Some(&(key, value)) = mapping.first() {
            if t != -1 && !ModelStore::set_ex_accepted(t, now) {
                let error = set_pipeline_error(&self.full_key(key), value, t, SET_EXPIRE_ERROR);
                return Err(StoreError::Raised(error));
            }
        }
        for (key, value) in mapping {
            self.redis_set(key, value.clone(), timeout, now)?;
        }
        Ok(())
    }

    /// `DEL key`: whether a live key was removed.
    pub(super) fn redis_del(&mut self, key: &str, now: Timestamp) -> bool {
        let full = self.full_key(key);
        let was_live = self.live(&full, now).is_some();
        self.entries.remove(&full);
        was_live
    }

    /// `delete_many`: cachelib deletes every key, then returns those no longer there
    /// (all of them); Flask-Caching 2.4.1's own stops at the first `delete` that is false.
    fn redis_delete_many(&mut self, keys: &[String], now: Timestamp) -> StoreReply {
        let mut deleted = Vec::new();
        if self.flavor == StoreFlavor::Redis24 {
            for k in keys {
                if !self.redis_del(k, now) {
                    break;
                }
                deleted.push(k.clone());
            }
        } else {
            for k in keys {
                self.redis_del(k, now);
            }
            for k in keys {
                if self.live(&self.full_key(k), now).is_none() {
                    deleted.push(k.clone());
                }
            }
        }
        StoreReply::Keys(deleted)
    }

    /// `clear`: `KEYS prefix*` then `DEL` of the matches (whether any), or `FLUSHDB`
    /// (`True`) without a prefix.
    fn redis_clear(&mut self, now: Timestamp) -> bool {
        if self.prefix.is_empty() {
            self.entries.clear();
            return true;
        }
        let pattern = format!("{}*", self.prefix);
        let before = self.entries.len();
        self.entries.retain(|e| {
            !(ModelStore::alive(e.expires, now) && glob(pattern.as_bytes(), e.key.as_bytes()))
        });
        self.entries.len() != before
    }

    /// One `RedisCache` call.
    pub(super) fn execute_redis(
        &mut self,
        op: &StoreOp,
        now: Timestamp,
    ) -> Result<StoreReply, StoreError> {
        Ok(match op {
            StoreOp::Get { key } => StoreReply::Value(self.redis_get(key, now)),
            StoreOp::GetMany { keys } => {
                StoreReply::Values(keys.iter().map(|k| self.redis_get(k, now)).collect())
            }
            StoreOp::Has { key } => StoreReply::Bool(self.redis_get_entry(key, now).is_some()),
            StoreOp::Set {
                key,
                value,
                timeout,
            } => {
                self.redis_set(key, value.clone(), *timeout, now)?;
                StoreReply::Bool(true)
            }
            StoreOp::Add {
                key,
                value,
                timeout,
            } => StoreReply::Bool(self.redis_add(key, value, *timeout, now)?),
            StoreOp::SetMany { items, timeout } => {
                self.redis_set_many(items, *timeout, now)?;
                let keys = super::store::dict_items(items).into_iter();
                StoreReply::Keys(keys.map(|(k, _)| k.to_owned()).collect())
            }
            StoreOp::Delete { key } => StoreReply::Bool(self.redis_del(key, now)),
            StoreOp::DeleteMany { keys } => self.redis_delete_many(keys, now),
            StoreOp::Clear => StoreReply::Bool(self.redis_clear(now)),
        })
    }
}

/// One element of a `KEYS` pattern.
enum Token {
    Byte(u8),
    Any,
    Star,
    /// `[...]`: the bytes it names (ranges expanded), and whether it is `[^...]`.
    Class(Vec<u8>, bool),
}

/// A `KEYS` pattern as Redis reads it: `*`, `?`, `[...]` with `^`, ranges and `\`
/// escapes; `\` escapes any byte; a `\` or `[` that the pattern ends in is literal or
/// ends the class there.
fn tokens(p: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = p.get(i) {
        i += 1;
        out.push(match b {
            b'*' => Token::Star,
            b'?' => Token::Any,
            b'\\' if i < p.len() => {
                i += 1;
                Token::Byte(p[i - 1])
            }
            b'[' => {
                let negate = p.get(i) == Some(&b'^');
                if negate {
                    i += 1;
                }
                let mut set = Vec::new();
                while let Some(&c) = p.get(i) {
                    if c == b']' {
                        i += 1;
                        break;
                    }
                    if c == b'\\' && i + 1 < p.len() {
                        set.push(p[i + 1]);
                        i += 2;
                    } else if p.get(i + 1) == Some(&b'-') && i + 2 < p.len() {
                        let (lo, hi) = (c.min(p[i + 2]), c.max(p[i + 2]));
                        set.extend(lo..=hi);
                        i += 3;
                    } else {
                        set.push(c);
                        i += 1;
                    }
                }
                Token::Class(set, negate)
            }
            other => Token::Byte(other),
        });
    }
    out
}

/// Whether `KEYS pattern` lists `key`: the glob matched by dynamic programming over
/// (pattern position, key position), linear in their product whatever the pattern.
fn glob(pattern: &[u8], key: &[u8]) -> bool {
    let tokens = tokens(pattern);
    // `row[j]`: the tokens so far match `key[..j]`.
    let mut row = vec![false; key.len() + 1];
    row[0] = true;
    for token in &tokens {
        let mut next = vec![false; key.len() + 1];
        for j in 0..=key.len() {
            next[j] = match token {
                Token::Star => row[j] || (j > 0 && next[j - 1]),
                _ if j == 0 => false,
                Token::Any => row[j - 1],
                Token::Byte(b) => row[j - 1] && key[j - 1] == *b,
                Token::Class(set, negate) => row[j - 1] && set.contains(&key[j - 1]) != *negate,
            };
        }
        row = next;
    }
    row[key.len()]
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches_like_redis() {
        assert!(glob(b"flask_cache_*", b"flask_cache_x"));
        assert!(!glob(b"fc[x]?_*", b"fc[x]?_k"));
        assert!(glob(b"fc[x]?_*", b"fcx?_k"));
        assert!(glob(b"a[^b]c", b"axc"));
        assert!(!glob(b"a[^b]c", b"abc"));
        assert!(glob(b"a[b-d]*", b"ac"));
        assert!(glob(b"a\\*", b"a*"));
        assert!(!glob(b"a\\*", b"ab"));
    }
}
