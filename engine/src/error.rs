//! Errors: Python exceptions the real library raises (reproduced with CPython's exact type
//! and message), and typed errors for input that describes something Python would reject.

use crate::value::ClassRef;
use std::fmt;

/// A Python exception type: the ones the engine raises on behalf of Flask-Caching, and any
/// other a caller's function body or backend raised.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PyExceptionType {
    /// `ValueError`
    ValueError,
    /// `TypeError`
    TypeError,
    /// `IndexError`
    IndexError,
    /// `KeyError`
    KeyError,
    /// `RuntimeError`
    RuntimeError,
    /// `AttributeError`
    AttributeError,
    /// `ConnectionError`: how a failing backend surfaces (e.g. redis-py's
    /// `redis.exceptions.ConnectionError` is a subclass of it).
    ConnectionError,
    /// Any other exception class, by name (`ZeroDivisionError`, `NotFound`, ...).
    Other(String),
    /// A `werkzeug.exceptions.HTTPException` (what Flask's `abort(404)` raises), known with
    /// its class, code and repr: 2.5's `@cached` stores it and raises it again on hits
    /// (FC-1.1.7, FC-1.1.8). An exception named only by its type name is [`Self::Other`].
    Http(Box<HttpException>),
}

/// What makes an exception a werkzeug `HTTPException` besides its `str()`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpException {
    /// Its class (`werkzeug.exceptions.NotFound`, or an app's subclass).
    pub class: ClassRef,
    /// `e.code` (the response status).
    pub code: u16,
    /// `repr(e)`, verbatim (werkzeug's is `<NotFound '404: Not Found'>`).
    pub repr: String,
}

impl PyExceptionType {
    /// The exception's class name.
    pub fn as_str(&self) -> &str {
        match self {
            PyExceptionType::ValueError => "ValueError",
            PyExceptionType::TypeError => "TypeError",
            PyExceptionType::IndexError => "IndexError",
            PyExceptionType::KeyError => "KeyError",
            PyExceptionType::RuntimeError => "RuntimeError",
            PyExceptionType::AttributeError => "AttributeError",
            PyExceptionType::ConnectionError => "ConnectionError",
            PyExceptionType::Other(name) => name,
            // `type(e).__name__`: the last part of the qualified name.
            PyExceptionType::Http(h) => h.class.qualname.rsplit('.').next().unwrap_or(""),
        }
    }

    /// Parses a class name: a Python identifier, optionally dotted (`werkzeug.exceptions.NotFound`
    /// is kept as written).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ValueError" => PyExceptionType::ValueError,
            "TypeError" => PyExceptionType::TypeError,
            "IndexError" => PyExceptionType::IndexError,
            "KeyError" => PyExceptionType::KeyError,
            "RuntimeError" => PyExceptionType::RuntimeError,
            "AttributeError" => PyExceptionType::AttributeError,
            "ConnectionError" => PyExceptionType::ConnectionError,
            other if is_class_name(other) => PyExceptionType::Other(other.to_owned()),
            _ => return None,
        })
    }
}

/// Whether `s` can name a Python class: dotted identifiers.
fn is_class_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

/// A Python exception: its type and `str(exc)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PyError {
    /// The exception type.
    pub kind: PyExceptionType,
    /// `str(exception)`, byte-exact.
    pub message: String,
}

impl PyError {
    /// An exception of `kind` with `message`.
    pub fn new(kind: PyExceptionType, message: impl Into<String>) -> Self {
        PyError {
            kind,
            message: message.into(),
        }
    }

    /// A `ValueError`.
    pub fn value_error(message: impl Into<String>) -> Self {
        Self::new(PyExceptionType::ValueError, message)
    }

    /// A `TypeError`.
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new(PyExceptionType::TypeError, message)
    }

    /// The `HTTPException` of `class` werkzeug builds for `abort(code, description)`, with
    /// werkzeug's `repr` (`<NotFound '404: Not Found'>`) and `str`
    /// (`404 Not Found: <description>`); `name` is the class's reason phrase (`Not Found`).
    ///
    /// ```
    /// use flaskcache_engine::{ClassRef, PyError};
    /// let e = PyError::http_exception(
    ///     ClassRef::new("werkzeug.exceptions", "Forbidden"), 403, "Forbidden", "No.");
    /// assert_eq!(e.to_string(), "Forbidden: 403 Forbidden: No.");
    /// assert_eq!(e.http().map(|h| h.code), Some(403));
    /// ```
    pub fn http_exception(class: ClassRef, code: u16, name: &str, description: &str) -> Self {
        let type_name = class.qualname.rsplit('.').next().unwrap_or("");
        let repr = format!("<{type_name} '{code}: {name}'>");
        PyError {
            message: format!("{code} {name}: {description}"),
            kind: PyExceptionType::Http(Box::new(HttpException { class, code, repr })),
        }
    }

    /// The `HTTPException` details, when this is one.
    pub fn http(&self) -> Option<&HttpException> {
        match &self.kind {
            PyExceptionType::Http(h) => Some(h),
            _ => None,
        }
    }
}

impl fmt::Display for PyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for PyError {}

/// A function descriptor that Python itself would reject (the `def` would not compile).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DescriptorError {
    /// A parameter with an empty name, at this index.
    EmptyName {
        /// Position in the parameter list.
        index: usize,
    },
    /// Two parameters share a name.
    DuplicateParameter(String),
    /// Parameter kinds out of order (e.g. a positional parameter after `*args`), or a
    /// second `*args`/`**kwargs`.
    KindOutOfOrder(String),
    /// A positional parameter without default after one with a default.
    NonDefaultAfterDefault(String),
    /// `*args` or `**kwargs` given a default.
    DefaultOnStar(String),
    /// An instance method or classmethod that takes no positional parameter for its
    /// receiver.
    MethodWithoutReceiver(String),
}

impl fmt::Display for DescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DescriptorError::EmptyName { index } => write!(f, "parameter {index} has no name"),
            DescriptorError::DuplicateParameter(n) => {
                write!(f, "duplicate argument '{n}' in function definition")
            }
            DescriptorError::KindOutOfOrder(n) => {
                write!(f, "parameter '{n}' is out of order for its kind")
            }
            DescriptorError::NonDefaultAfterDefault(n) => write!(
                f,
                "parameter without a default follows parameter with a default ('{n}')"
            ),
            DescriptorError::DefaultOnStar(n) => {
                write!(f, "variadic parameter '{n}' cannot have a default")
            }
            DescriptorError::MethodWithoutReceiver(q) => {
                write!(f, "method {q} has no positional parameter for its receiver")
            }
        }
    }
}

impl std::error::Error for DescriptorError {}

/// Input to key derivation that cannot describe a real Flask-Caching call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// A hash method name Flask-Caching does not support.
    UnknownHashMethod(String),
    /// The same keyword argument passed twice.
    DuplicateKeyword(String),
    /// A callable `key_prefix` was configured but no result was supplied for this request.
    MissingPrefixResult,
    /// The key needs `url_for()`'s output (no `path=` given, outside a request) and the
    /// caller did not supply it.
    MissingUrlFor,
    /// The selected profile has no such API (e.g. `delete_cached` before 2.5).
    UnsupportedByProfile(&'static str),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::UnknownHashMethod(n) => write!(
                f,
                "unknown hash method {n:?} (expected md5, sha1, sha224, sha256, sha384 or sha512)"
            ),
            KeyError::DuplicateKeyword(n) => {
                write!(f, "keyword argument {n:?} given more than once")
            }
            KeyError::MissingPrefixResult => {
                write!(f, "key_prefix is callable but no result was supplied")
            }
            KeyError::MissingUrlFor => write!(
                f,
                "the key needs url_for()'s result (no path= and no request) but none was supplied"
            ),
            KeyError::UnsupportedByProfile(what) => {
                write!(f, "{what} does not exist in the selected profile")
            }
        }
    }
}

impl std::error::Error for KeyError {}
