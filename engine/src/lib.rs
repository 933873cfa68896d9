//! flaskcache-engine: Flask-Caching's caching semantics as a pure, sans-IO state machine.
//!
//! This crate does no I/O, reads no clock and draws no OS randomness: time and version
//! seeds are inputs. It currently provides the Python value model with CPython-exact
//! `repr` ([`value`]), function descriptors ([`function`]), and byte-exact key derivation
//! ([`keys`]) for the profiles in [`profile`]. Clause numbers (FC-x.y) refer to
//! `flask-caching-semantics.md`, mapped to code in `docs/semantics.md`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cache;
pub mod engine;
pub mod error;
pub mod function;
pub mod keys;
pub mod profile;
pub mod store;
pub mod value;

pub use cache::Cache;
pub use error::{DescriptorError, KeyError, PyError, PyExceptionType};
pub use function::{Binding, Callee, FunctionDescriptor, Param, ParamKind, Receiver};
pub use profile::Profile;
pub use store::{
    MemoryStore, StoreConfig, StoreError, StoreFlavor, StoreOp, StoreReply, Timestamp,
};
pub use value::{ClassRef, PyInt, PyObject, PythonVersion, Value};
