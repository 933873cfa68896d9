//! A trace's store operations on a real Redis server, with its virtual clock made to hold
//! there.
//!
//! Every operation runs on the server and its reply is the one compared with the
//! recording. The model of the recorded backend runs alongside, for one purpose: it knows
//! each key's deadline in virtual time. When the virtual clock advances (a `time.sleep`
//! in the recorded app), the server is first checked against the model (the same live
//! keys; a deadline exactly where the model has one, or none where it has none, within
//! the real milliseconds that passed), then every key that is due at the new virtual time
//! is deleted and every other deadline is set to what is left of it in virtual time plus a
//! cushion ([`CUSHION_MS`]) that covers the real time until the next advance. So a key set
//! with `EX 10` is still there after exactly 10 virtual seconds and gone 1 ms later, as on
//! a server that had really slept, however long the replay itself takes.

use super::backend::{RedisBackend, Ttl};
use super::real::{Real, Target};
use crate::trace::TraceConfig;
use flaskcache_engine::store::{
    MemoryStore, StoreError, StoreFlavor, StoreOp, StoreReply, Timestamp,
};
use flaskcache_engine::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Instant;

/// Real milliseconds a re-timed key is given beyond its virtual time left: the replay
/// must reach the next clock advance within this (it takes milliseconds).
pub const CUSHION_MS: i64 = 60_000;

/// The real server of a replay.
pub struct RealSide {
    backend: Box<dyn RedisBackend>,
    prefix: String,
    flavor: StoreFlavor,
    /// The virtual time the server's deadlines currently stand for.
    at: Option<Timestamp>,
    /// When the deadlines were last set.
    synced: Instant,
    /// The deadline (ms left) each key was given at the last advance.
    cushioned: HashMap<String, i64>,
    /// Keys written since the last advance.
    touched: HashSet<String>,
}

impl RealSide {
    /// Connects to `url` as the trace's `RedisCache` and empties its prefix.
    pub fn open(url: &str, c: &TraceConfig, flavor: StoreFlavor) -> Result<Self, String> {
        if !flavor.is_redis() {
            return Err(format!(
                "--backend replays RedisCache traces only; this one was recorded on {}",
                c.backend
            ));
        }
        let target = Target {
            url: url.to_owned(),
            prefix: c.key_prefix.clone(),
            flavor,
            default_timeout: c.default_timeout,
            ignore_delete_many_errors: c.ignore_errors,
        };
        RealSide::connect(&target)
    }

    /// Connects to `target` and empties its prefix (every key of the database when the
    /// prefix is empty).
    pub fn connect(target: &Target) -> Result<Self, String> {
        let mut backend = Real::open(target)?;
        backend.flush_prefix()?;
        Ok(RealSide {
            backend: Box::new(backend),
            prefix: target.prefix.clone().unwrap_or_default(),
            flavor: target.flavor,
            at: None,
            synced: Instant::now(),
            cushioned: HashMap::new(),
            touched: HashSet::new(),
        })
    }

    /// Runs `op` on the server (and on `model`, which only tracks deadlines).
    pub fn execute(
        &mut self,
        op: &StoreOp,
        now: Timestamp,
        model: &mut MemoryStore,
    ) -> Result<StoreReply, StoreError> {
        if self.at.is_none() {
            self.at = Some(now);
        }
        match op {
            StoreOp::Set { key, .. } | StoreOp::Add { key, .. } | StoreOp::Delete { key } => {
                self.touched.insert(key.clone());
            }
            StoreOp::SetMany { items, .. } => {
                self.touched.extend(items.iter().map(|(k, _)| k.clone()));
            }
            StoreOp::DeleteMany { keys } => self.touched.extend(keys.iter().cloned()),
            // A prefix with glob characters may leave keys behind (`KEYS prefix*`).
            StoreOp::Clear => self.touched.extend(self.cushioned.keys().cloned()),
            StoreOp::Get { .. } | StoreOp::GetMany { .. } | StoreOp::Has { .. } => {}
        }
        let before = model.clone();
        let ours = self.backend.execute(op, now);
        if model.execute(op, now).is_ok() && ours.is_err() {
            // What the server refused, the model keeps out of too (a failure outside the
            // modelled backend).
            *model = before;
        }
        ours
    }

    /// The model's live keys at `at` (prefix removed) with their deadlines.
    fn model_keys(&self, model: &MemoryStore, at: Timestamp) -> HashMap<String, i128> {
        model
            .entries()
            .filter(|(_, expires, _)| self.flavor.is_alive(*expires, at))
            .map(|(k, expires, _)| {
                let k = k.strip_prefix(self.prefix.as_str()).unwrap_or(k);
                (k.to_owned(), expires)
            })
            .collect()
    }

    /// The virtual clock is now `at`: checks the server against `model` and re-times its
    /// deadlines (see the module's documentation). `Err((expected, ours))` describes a
    /// difference.
    pub fn advance(&mut self, at: Timestamp, model: &MemoryStore) -> Result<(), (String, String)> {
        let Some(before) = self.at else {
            self.at = Some(at);
            return Ok(());
        };
        if at <= before {
            return Ok(());
        }
        self.check(before, model)?;
        let server = |e: String| {
            (
                "(the server answering)".to_owned(),
                format!("server failure: {e}"),
            )
        };
        let expected = self.model_keys(model, before);
        // The deadlines set below count from before the first of them is set.
        let started = Instant::now();
        self.cushioned.clear();
        for (key, expires) in expected {
            if expires == StoreFlavor::NEVER {
                continue;
            }
            if self.flavor.is_alive(expires, at) {
                let left_us = expires - i128::from(at.as_micros());
                let left_ms = i64::try_from((left_us + 999) / 1000).unwrap_or(i64::MAX / 2);
                let ms = left_ms.saturating_add(CUSHION_MS);
                self.backend.pexpire(&key, ms).map_err(server)?;
                self.cushioned.insert(key, ms);
            } else {
                self.backend.delete(&key).map_err(server)?;
            }
        }
        self.touched.clear();
        self.synced = started;
        self.at = Some(at);
        Ok(())
    }

    /// The server holds what `model` holds at `at`: the same live keys, each with a
    /// deadline where the model has one.
    pub fn check(&mut self, at: Timestamp, model: &MemoryStore) -> Result<(), (String, String)> {
        let server = |e: String| {
            (
                "(the server answering)".to_owned(),
                format!("server failure: {e}"),
            )
        };
        let expected = self.model_keys(model, at);
        let keys: BTreeSet<String> = self.backend.keys().map_err(server)?.into_iter().collect();
        let wanted: BTreeSet<&String> = expected.keys().collect();
        let have: BTreeSet<&String> = keys.iter().collect();
        if wanted != have {
            let show = |s: &BTreeSet<&String>| {
                s.iter()
                    .map(|k| format!("{k:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err((
                format!("live keys before the clock moves: [{}]", show(&wanted)),
                format!("the server holds: [{}]", show(&have)),
            ));
        }
        // At the end of representable time the clock cannot move again: a deadline is never
        // reached, and its distance (through the float clock) means nothing.
        let frozen = at.as_micros() == i64::MAX;
        for (key, expires) in &expected {
            let ttl = self.backend.pttl(key).map_err(server)?;
            // Real milliseconds from when the deadlines were set to this reply, rounded up
            // (with the 2 ms below: the virtual time left is rounded up, and the server's
            // millisecond clock truncates).
            let elapsed = i64::try_from(self.synced.elapsed().as_micros().div_ceil(1000))
                .unwrap_or(i64::MAX / 2);
            let fits = match (ttl, *expires == StoreFlavor::NEVER) {
                (Ttl::Persistent, true) => true,
                (Ttl::Millis(_), false) if frozen => true,
                (Ttl::Millis(p), false) => {
                    let left_us = expires - i128::from(at.as_micros());
                    let virtual_ms = i64::try_from((left_us + 999) / 1000).unwrap_or(i64::MAX / 2);
                    let mut candidates = vec![virtual_ms];
                    if let (Some(ms), false) = (self.cushioned.get(key), self.touched.contains(key))
                    {
                        candidates = vec![*ms];
                    } else if let Some(ms) = self.cushioned.get(key) {
                        // Written since, but perhaps without a new deadline (a refused add).
                        candidates.push(*ms);
                    }
                    candidates
                        .iter()
                        .any(|&want| p <= want && p >= want - elapsed - 2)
                }
                _ => false,
            };
            if !fits {
                let want = if *expires == StoreFlavor::NEVER {
                    "no expiry".to_owned()
                } else {
                    let left_us = expires - i128::from(at.as_micros());
                    format!("{} ms left", (left_us + 999) / 1000)
                };
                return Err((
                    format!("key {key:?} with {want}"),
                    format!("the server's PTTL: {ttl:?}"),
                ));
            }
        }
        Ok(())
    }

    /// Every key under the prefix (prefix removed), in byte order.
    pub fn keys(&mut self) -> Result<Vec<String>, String> {
        self.backend.keys()
    }

    /// What the server holds under `key`: its value decoded as cachelib's
    /// `RedisSerializer.loads` does (`None` when the key does not exist; `Some(Err)` names
    /// what cannot be decoded), and its `PTTL`.
    pub fn read(&mut self, key: &str) -> Result<(Option<Result<Value, String>>, Ttl), String> {
        let raw = self.backend.get_raw(key)?;
        let value = raw.map(|bytes| self.backend.decode(&bytes));
        let ttl = self.backend.pttl(key)?;
        Ok((value, ttl))
    }

    /// Deletes `key` behind the cache's back (on the server and in `model`); whether the
    /// server had it.
    pub fn remove(&mut self, key: &str, model: &mut MemoryStore) -> Result<bool, String> {
        model.delete(key);
        self.cushioned.remove(key);
        self.touched.insert(key.to_owned());
        self.backend.delete(key)
    }

    /// Empties the prefix (every key of the database when it is empty); how many keys.
    pub fn flush(&mut self) -> Result<usize, String> {
        self.cushioned.clear();
        self.backend.flush_prefix()
    }

    /// The final check, at the end of the trace.
    pub fn finish(&mut self, model: &MemoryStore) -> Result<(), (String, String)> {
        match self.at {
            Some(at) => self.check(at, model),
            None => Ok(()),
        }
    }
}
