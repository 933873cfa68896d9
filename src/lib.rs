//! flaskcache: Flask-Caching's caching semantics for Rust programs, with keys byte-exact
//! with the Python library's.
//!
//! [`Cache`] is the embedding: `@cache.memoize` ([`Cache::memoize`] → [`Memoized`]),
//! `@cache.cached` ([`Cache::cached_view`] → [`CachedView`]), `delete_memoized`,
//! `delete_cached`, `delete` and the backend proxies, over any [`Store`] (the in-memory
//! [`SharedMemoryStore`] here; a Redis adapter implements the same trait) and any
//! [`Clock`] ([`SystemClock`], or [`VirtualClock`] in tests). It is `Clone + Send + Sync`:
//! function bodies run with no lock held, so threads compute different keys in parallel,
//! and a body may call other memoized functions.
//!
//! ```
//! use flaskcache::{Cache, MemoizeOptions};
//!
//! #[derive(Debug)]
//! struct NotFound;
//! impl std::fmt::Display for NotFound {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("no such student") }
//! }
//! impl std::error::Error for NotFound {}
//!
//! let cache = Cache::new()?;
//! let get_student = cache.memoize("app.models.get_student", ["sid"], MemoizeOptions::default())?;
//! let lookup = |sid: i64| if sid == 7 { Ok("Ann".to_owned()) } else { Err(NotFound) };
//!
//! assert_eq!(get_student.call(&cache, (7,), || lookup(7)).unwrap(), "Ann");
//! assert!(get_student.call(&cache, (8,), || lookup(8)).is_err()); // errors are not cached
//! # Ok::<(), flaskcache::Error>(())
//! ```
//!
//! Arguments convert through [`ToPy`] (integers, floats, strings, options, tuples, lists,
//! bytes, ordered maps, and your own types through [`PyRepr`]); results come back through
//! [`FromPy`]. The sans-IO engine underneath is re-exported as [`engine`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cache;
mod clock;
mod convert;
mod error;
mod handles;
mod spare_key;
mod store;

pub use flaskcache_engine as engine;

pub use cache::{Cache, CacheBuilder, Deleted, DiagnosticsMode, IntoParam};
pub use clock::{Clock, SystemClock, VirtualClock};
pub use convert::{
    constructor_repr, Dict, FromPy, IntoArgs, OrderedDict, PyRepr, ToPy, TypeMismatch,
};
pub use error::{CallError, Error, BODY_EXCEPTION};
pub use handles::{
    request, request_path, CachedView, Called, HookFn, KeyFn, MemoCall, Memoized, ViewRaised,
};
pub use store::{SharedMemoryStore, Store};

pub use flaskcache_engine::engine::{
    CacheEvent, CachedOptions, Diagnostic, HookQuery, Hooks, MemoizeOptions, Request,
};
pub use flaskcache_engine::keys::{CachedKeySpec, KeyPrefix, QueryArgs};
pub use flaskcache_engine::{
    Binding, ClassRef, FunctionDescriptor, HttpException, Param, ParamKind, Profile, PyError,
    PyExceptionType, PyObject, PythonVersion, StoreConfig, Timestamp, Value,
};

/// The README's code blocks, compiled and run as doctests so that they stay true as printed.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
