//! The cache backend layer (FC-4): backend calls as data ([`StoreOp`], [`StoreReply`],
//! [`StoreError`]), virtual time ([`Timestamp`]), and an in-memory backend with cachelib
//! 0.17.0 `SimpleCache` semantics ([`MemoryStore`], FC-4.3), or Flask-Caching 2.4.1's or
//! Werkzeug 0.16.1's, or those of Flask-Caching's `RedisCache` on a Redis server (FC-4.5)
//! ([`StoreFlavor`]). Keys that are not Python `str`s travel as reserved key texts
//! ([`nonstr`]).

mod flavor;
mod memory;
pub mod nonstr;
mod op;
pub mod redis;
mod time;

#[cfg(test)]
mod model_tests;

pub use flavor::StoreFlavor;
pub use memory::{FixedFoldState, FixedSipState, MemoryStore, StoreConfig};
pub use op::{StoreError, StoreOp, StoreReply};
pub use time::Timestamp;
