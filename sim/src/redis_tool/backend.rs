//! What the tools need of a Redis server: Flask-Caching's backend calls as cachelib's
//! `RedisCache` makes them, and a few raw commands on the keys under the prefix.

use flaskcache_engine::store::{StoreError, StoreOp, StoreReply, Timestamp};
use flaskcache_engine::Value;

/// A key's time to live, as `PTTL` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ttl {
    /// The key does not exist.
    Missing,
    /// The key never expires.
    Persistent,
    /// Milliseconds left.
    Millis(i64),
}

/// A Redis server holding a Flask app's cache under a key prefix. Keys passed in and out
/// are Flask-Caching's (without the prefix); the implementation adds the prefix.
pub trait RedisBackend {
    /// Executes one backend call exactly as cachelib's `RedisCache` would (the engine's
    /// `StoreOp` in, what the Python method returns or raises out).
    fn execute(&mut self, op: &StoreOp, now: Timestamp) -> Result<StoreReply, StoreError>;
    /// Every key under the prefix (prefix removed), in byte order.
    fn keys(&mut self) -> Result<Vec<String>, String>;
    /// `PTTL` of `key`.
    fn pttl(&mut self, key: &str) -> Result<Ttl, String>;
    /// The stored bytes of `key` (`None` when it does not exist).
    fn get_raw(&mut self, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Decodes stored bytes as cachelib's `RedisSerializer.loads` does; `Err` names the
    /// Python type that cannot be represented.
    fn decode(&self, raw: &[u8]) -> Result<Value, String>;
    /// `PEXPIRE key ms` (a key whose new TTL is not positive is deleted).
    fn pexpire(&mut self, key: &str, ms: i64) -> Result<(), String>;
    /// `DEL key`; whether it existed.
    fn delete(&mut self, key: &str) -> Result<bool, String>;
    /// Deletes every key under the prefix, found by `SCAN MATCH` and removed by `DEL` (with
    /// an empty prefix that is every key of the database, deleted the same way: no
    /// `FLUSHDB`); how many.
    fn flush_prefix(&mut self) -> Result<usize, String>;
}
