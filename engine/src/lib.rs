//! flaskcache-engine: Flask-Caching's caching semantics as a pure, sans-IO state machine.
//!
//! This crate does no I/O, reads no clock and draws no OS randomness: time and version
//! seeds are inputs. It provides:
//! - [`value`]: the Python value model with CPython-exact `repr` (3.7, 3.11, 3.12, 3.13);
//! - [`function`]: descriptors of decorated functions and how they are reached;
//! - [`keys`]: byte-exact view, memoize and version keys;
//! - [`store`]: `MemoryStore`, SimpleCache's (and RedisCache's) semantics as a sans-IO
//!   component;
//! - [`engine`]: the state machine: a command and the time in, backend operations,
//!   compute requests, hook questions and diagnostics out, until the call's outcome;
//! - [`cache`]: `Cache`, the engine driving a `MemoryStore`, for embedding;
//! - [`profile`]: Flask-Caching 2.5 (default), 2.4 and Flask-Cache 0.13.
//!
//! Clause numbers (FC-x.y) refer to `flask-caching-semantics.md`, mapped to code in
//! `docs/semantics.md`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cache;
pub mod engine;
pub mod error;
pub mod function;
pub mod keys;
pub mod profile;
pub mod store;
pub mod value;

pub use cache::Cache;
pub use error::{DescriptorError, HttpException, KeyError, PyError, PyExceptionType};
pub use function::{Binding, Callee, FunctionDescriptor, Param, ParamKind, Receiver};
pub use profile::Profile;
pub use store::{
    MemoryStore, StoreConfig, StoreError, StoreFlavor, StoreOp, StoreReply, Timestamp,
};
pub use value::{ClassRef, PyInt, PyObject, PythonVersion, Value};
