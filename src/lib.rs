//! flaskcache: Flask-Caching's caching semantics in Rust.
//!
//! This facade re-exports the workspace crates so that the integration tests in `tests/`
//! can use them through one name.

pub use flaskcache_engine as engine;
pub use flaskcache_sim as sim;
