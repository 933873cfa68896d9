//! The cache backend layer (FC-4): backend calls as data ([`StoreOp`], [`StoreReply`],
//! [`StoreError`]), virtual time ([`Timestamp`]), and an in-memory backend with cachelib
//! 0.17.0 `SimpleCache` semantics ([`MemoryStore`], FC-4.3).

mod memory;
mod op;
mod time;

#[cfg(test)]
mod model_tests;

pub use memory::{MemoryStore, StoreConfig};
pub use op::{StoreError, StoreOp, StoreReply};
pub use time::Timestamp;
