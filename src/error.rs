//! The errors of the embedding API.

use crate::convert::TypeMismatch;
use flaskcache_engine::engine::EngineError;
use flaskcache_engine::{DescriptorError, PyError, PyExceptionType};
use std::fmt;

/// The exception type a function body's error is raised as inside the flows: the body's
/// `Err(e)` becomes `RuntimeError(str(e))` for Flask-Caching's code (nothing is cached, the
/// exception propagates), and the caller gets `e` itself back as [`CallError::Body`].
pub const BODY_EXCEPTION: PyExceptionType = PyExceptionType::RuntimeError;

/// Why a cache operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The function's signature is one Python would not compile.
    Signature(DescriptorError),
    /// A function name that is not `module.qualname`.
    InvalidName(String),
    /// The engine refused: a decorator argument the profile's release lacks, or a call
    /// without an input it needs (e.g. a callable `key_prefix`'s result).
    Engine(EngineError),
    /// The Python call would raise this exception: building the key failed (a `TypeError`
    /// from an argument, a missing version) and Flask-Caching re-raises it, or the backend
    /// failed where Flask-Caching does not swallow the error (`app.debug`, deletes, direct
    /// backend calls). Backend failures it swallows are diagnostics instead, and the call
    /// runs uncached.
    Raised(PyError),
    /// The result's Python value does not convert to the requested Rust type.
    TypeMismatch(TypeMismatch),
    /// A handle was used with a cache of another profile or Python version than the one it
    /// was registered with.
    ForeignHandle,
    /// The operating system's random source failed while seeding the version generator.
    Randomness(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Signature(e) => write!(f, "invalid signature: {e}"),
            Error::InvalidName(n) => {
                write!(f, "invalid function name {n:?}: expected module.qualname")
            }
            Error::Engine(e) => write!(f, "{e}"),
            Error::Raised(e) => write!(f, "raised {e}"),
            Error::TypeMismatch(e) => write!(f, "result type mismatch: {e}"),
            Error::ForeignHandle => write!(
                f,
                "the handle was registered with a cache of another profile or Python version"
            ),
            Error::Randomness(e) => write!(f, "OS randomness unavailable: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Signature(e) => Some(e),
            Error::Engine(e) => Some(e),
            Error::Raised(e) => Some(e),
            Error::TypeMismatch(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DescriptorError> for Error {
    fn from(e: DescriptorError) -> Self {
        Error::Signature(e)
    }
}

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Self {
        Error::Engine(e)
    }
}

impl From<TypeMismatch> for Error {
    fn from(e: TypeMismatch) -> Self {
        Error::TypeMismatch(e)
    }
}

/// Why a call through a handle failed: the function body's own error, or the cache's.
#[derive(Debug, PartialEq, Eq)]
pub enum CallError<E> {
    /// The body returned this error (nothing was cached).
    Body(E),
    /// The cache failed.
    Cache(Error),
}

impl<E> From<Error> for CallError<E> {
    fn from(e: Error) -> Self {
        CallError::Cache(e)
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Body(e) => write!(f, "{e}"),
            CallError::Cache(e) => write!(f, "cache: {e}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Body(e) => Some(e),
            CallError::Cache(e) => Some(e),
        }
    }
}

impl From<CallError<std::convert::Infallible>> for Error {
    /// A call whose body cannot fail fails only in the cache.
    fn from(e: CallError<std::convert::Infallible>) -> Self {
        match e {
            CallError::Cache(e) => e,
            CallError::Body(never) => match never {},
        }
    }
}
