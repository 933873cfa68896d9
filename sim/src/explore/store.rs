//! The engine's backend in a [`Pair`](super::pair::Pair): the store its calls run on, how
//! it is compared with the model's, and how virtual time reaches it.
//!
//! Two stores implement [`PairStore`]:
//! - a [`MemoryStore`] (any flavour): compared with the model entry by entry, in order,
//!   expiry included ([`super::pair::compare_memory`]); virtual time is an argument of
//!   every call, so advancing the clock needs nothing;
//! - a real Redis server ([`RealStore`]), through `replay --backend`'s mechanism
//!   ([`RealSide`]): the live keys under the prefix, their values and whether each has a
//!   deadline are compared with the model's live entries (not their order, nor the exact
//!   deadline), and every advance of the virtual clock re-times the server's deadlines
//!   from the virtual ones (`docs/redis.md`).

use super::pair::{Liveness, Mismatch};
use crate::model::{Expiry, ModelStore};
use crate::redis_tool::backend::Ttl;
use crate::redis_tool::real::{redact, Target};
use crate::redis_tool::replay_backend::RealSide;
use flaskcache_engine::store::{
    MemoryStore, StoreConfig, StoreError, StoreFlavor, StoreOp, StoreReply, Timestamp,
};
use flaskcache_engine::{PythonVersion, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The engine's backend, as the explorer drives and inspects it.
pub trait PairStore {
    /// One backend call at virtual time `now`.
    fn execute(&mut self, op: &StoreOp, now: Timestamp) -> Result<StoreReply, StoreError>;
    /// The flavour of `RedisCache` or `SimpleCache` the store behaves as.
    fn flavor(&self) -> StoreFlavor;
    /// A broken size bound (`SimpleCache` never holds more than `threshold + 1` entries),
    /// described; `None` when it holds, and always for the Redis flavours.
    fn over_threshold(&self) -> Option<String>;
    /// Compares what the store holds at `now` with the model's store (`memo`: liveness
    /// answers the comparison may reuse, [`Liveness`]).
    fn compare(
        &mut self,
        model: &ModelStore,
        now: Timestamp,
        py: PythonVersion,
        memo: &mut Liveness,
    ) -> Result<(), Mismatch>;
    /// The virtual clock moved to `now`.
    fn advance(&mut self, now: Timestamp) -> Result<(), Mismatch>;
    /// The history ended: a last check of what only the store itself can tell.
    fn finish(&mut self) -> Result<(), Mismatch>;
    /// Deletes `key` (as Flask-Caching names it, without the prefix) behind the cache's
    /// back.
    fn lose(&mut self, key: &str) -> Result<(), Mismatch>;
    /// The store itself, when it is in memory.
    fn memory(&self) -> Option<&MemoryStore>;
    /// The store itself, when it is in memory.
    fn memory_mut(&mut self) -> Option<&mut MemoryStore>;
}

impl PairStore for MemoryStore {
    fn execute(&mut self, op: &StoreOp, now: Timestamp) -> Result<StoreReply, StoreError> {
        MemoryStore::execute(self, op, now)
    }

    fn flavor(&self) -> StoreFlavor {
        MemoryStore::flavor(self)
    }

    fn over_threshold(&self) -> Option<String> {
        if MemoryStore::flavor(self).is_redis() {
            return None;
        }
        let bound = self.threshold().saturating_add(1);
        (self.len() > bound).then(|| {
            format!(
                "the store holds {} entries, more than threshold + 1 = {bound}",
                self.len()
            )
        })
    }

    fn compare(
        &mut self,
        model: &ModelStore,
        now: Timestamp,
        py: PythonVersion,
        memo: &mut Liveness,
    ) -> Result<(), Mismatch> {
        super::pair::compare_memory(self, model, now, py, memo)
    }

    fn advance(&mut self, _now: Timestamp) -> Result<(), Mismatch> {
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Mismatch> {
        Ok(())
    }

    fn lose(&mut self, key: &str) -> Result<(), Mismatch> {
        self.delete(key);
        Ok(())
    }

    fn memory(&self) -> Option<&MemoryStore> {
        Some(self)
    }

    fn memory_mut(&mut self) -> Option<&mut MemoryStore> {
        Some(self)
    }
}

/// A real Redis server as the engine's backend: [`RealSide`] (the server, and the
/// re-timing of its deadlines) with the engine's `MemoryStore` of the same flavour
/// alongside, which serves no reply and only tracks each key's virtual deadline.
pub struct RealStore {
    side: RealSide,
    shadow: MemoryStore,
    prefix: String,
    url: String,
    /// Keys written since the last comparison (their values and deadlines are read).
    dirty: BTreeSet<String>,
    /// Whether every key is to be read at the next comparison.
    all_dirty: bool,
}

fn server_mismatch(detail: String) -> Mismatch {
    Mismatch {
        kind: "server",
        detail,
    }
}

impl RealStore {
    /// Connects to `url` as a `RedisCache` configured like `config` (a Redis flavour) and
    /// empties its prefix.
    pub fn connect(url: &str, config: &StoreConfig) -> Result<RealStore, String> {
        if !config.flavor.is_redis() {
            return Err("a real server is a RedisCache: the store must be a Redis flavour".into());
        }
        let target = Target {
            url: url.to_owned(),
            prefix: config.key_prefix.clone(),
            flavor: config.flavor,
            default_timeout: config.default_timeout,
            ignore_delete_many_errors: config.ignore_delete_many_errors,
        };
        let side = RealSide::connect(&target)?;
        Ok(RealStore {
            side,
            shadow: MemoryStore::new(config.clone()),
            prefix: config.key_prefix.clone().unwrap_or_default(),
            url: redact(url),
            dirty: BTreeSet::new(),
            all_dirty: true,
        })
    }

    fn touch(&mut self, op: &StoreOp) {
        match op {
            StoreOp::Set { key, .. } | StoreOp::Add { key, .. } | StoreOp::Delete { key } => {
                self.dirty.insert(key.clone());
            }
            StoreOp::SetMany { items, .. } => {
                self.dirty.extend(items.iter().map(|(k, _)| k.clone()));
            }
            StoreOp::DeleteMany { keys } => self.dirty.extend(keys.iter().cloned()),
            StoreOp::Clear => self.all_dirty = true,
            StoreOp::Get { .. } | StoreOp::GetMany { .. } | StoreOp::Has { .. } => {}
        }
    }
}

impl Drop for RealStore {
    /// Leaves the prefix empty for whatever runs next on the server.
    fn drop(&mut self) {
        let _ = self.side.flush();
    }
}

/// Whether a model entry has a deadline (a Redis key with a TTL).
fn has_deadline(expires: Expiry) -> bool {
    match expires {
        Expiry::Int(e) => e != 0,
        Expiry::Float(f) => f != 0.0,
        Expiry::Redis(_) => true,
    }
}

fn show_keys<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let keys: Vec<String> = keys.map(|k| crate::workload::py_str(k)).collect();
    format!("[{}]", keys.join(", "))
}

impl PairStore for RealStore {
    fn execute(&mut self, op: &StoreOp, now: Timestamp) -> Result<StoreReply, StoreError> {
        self.touch(op);
        self.side.execute(op, now, &mut self.shadow)
    }

    fn flavor(&self) -> StoreFlavor {
        self.shadow.flavor()
    }

    fn over_threshold(&self) -> Option<String> {
        None
    }

    /// The server's live keys under the prefix are the model's; each key written since
    /// the last comparison (every key after a `clear`) holds the model's value, and has a
    /// deadline exactly when the model's entry has one.
    fn compare(
        &mut self,
        model: &ModelStore,
        now: Timestamp,
        py: PythonVersion,
        _memo: &mut Liveness,
    ) -> Result<(), Mismatch> {
        let prefix = self.prefix.as_str();
        let expected: BTreeMap<String, (&Value, bool)> = model
            .entries()
            .filter(|e| ModelStore::alive(e.expires, now))
            .map(|e| {
                let key = e.key.strip_prefix(prefix).unwrap_or(&e.key);
                (key.to_owned(), (&e.value, has_deadline(e.expires)))
            })
            .collect();
        let server: BTreeSet<String> = self
            .side
            .keys()
            .map_err(|e| server_mismatch(format!("{}: {e}", self.url)))?
            .into_iter()
            .collect();
        if !expected.keys().eq(server.iter()) {
            return Err(Mismatch {
                kind: "store",
                detail: format!(
                    "the server holds {} keys under {}, the model {}\n  server: {}\n  model:  {}",
                    server.len(),
                    crate::workload::py_str(prefix),
                    expected.len(),
                    show_keys(server.iter()),
                    show_keys(expected.keys()),
                ),
            });
        }
        let all = std::mem::take(&mut self.all_dirty);
        let dirty = std::mem::take(&mut self.dirty);
        let to_read: Vec<&String> = if all {
            expected.keys().collect()
        } else {
            dirty.iter().filter(|k| expected.contains_key(*k)).collect()
        };
        for key in to_read {
            let Some((value, deadline)) = expected.get(key) else {
                continue;
            };
            let (stored, ttl) = self
                .side
                .read(key)
                .map_err(|e| server_mismatch(format!("{}: {e}", self.url)))?;
            let same_value = matches!(&stored, Some(Ok(v)) if v == *value);
            let server_deadline = matches!(ttl, Ttl::Millis(_));
            if !same_value || server_deadline != *deadline || ttl == Ttl::Missing {
                let shown = match &stored {
                    Some(Ok(v)) => v.repr(py),
                    Some(Err(e)) => format!("(undecodable: {e})"),
                    None => "(absent)".to_owned(),
                };
                let expiry = |d: bool| if d { "with a TTL" } else { "without expiry" };
                return Err(Mismatch {
                    kind: "store",
                    detail: format!(
                        "server key {} = {shown} ({}, PTTL {ttl:?})\n  model entry  {} = {} ({})",
                        crate::workload::py_str(key),
                        expiry(server_deadline),
                        crate::workload::py_str(key),
                        value.repr(py),
                        expiry(*deadline),
                    ),
                });
            }
        }
        Ok(())
    }

    fn advance(&mut self, now: Timestamp) -> Result<(), Mismatch> {
        self.side
            .advance(now, &self.shadow)
            .map_err(|(expected, found)| Mismatch {
                kind: "store deadlines",
                detail: format!("expected {expected}\n  {found}"),
            })
    }

    fn finish(&mut self) -> Result<(), Mismatch> {
        self.side
            .finish(&self.shadow)
            .map_err(|(expected, found)| Mismatch {
                kind: "store deadlines",
                detail: format!("expected {expected}\n  {found}"),
            })
    }

    fn lose(&mut self, key: &str) -> Result<(), Mismatch> {
        self.side
            .remove(key, &mut self.shadow)
            .map(|_| ())
            .map_err(|e| server_mismatch(format!("{}: {e}", self.url)))
    }

    fn memory(&self) -> Option<&MemoryStore> {
        None
    }

    fn memory_mut(&mut self) -> Option<&mut MemoryStore> {
        None
    }
}
