//! The Python value model: the values a memoized function can be called with, and their
//! CPython-exact `repr()` (the text Flask-Caching hashes into memoize keys, FC-2.1, FC-8.1).

mod float_repr;
mod int;
mod printable;
mod repr;

pub use int::{IntParseError, PyInt};
pub use repr::{repr_str_into, PythonVersion};

/// A class as Python names it: `repr(cls)` is `<class 'module.Qualname'>`, or
/// `<class 'Qualname'>` for builtins.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClassRef {
    /// `cls.__module__`, e.g. `app.models` or `builtins`.
    pub module: String,
    /// `cls.__qualname__`, e.g. `Calc` or `Outer.Inner`.
    pub qualname: String,
}

impl ClassRef {
    /// A class defined in `module` with the given qualified name.
    pub fn new(module: impl Into<String>, qualname: impl Into<String>) -> Self {
        ClassRef {
            module: module.into(),
            qualname: qualname.into(),
        }
    }
}

/// An object the engine cannot look inside: it is known by its `repr()` text, and
/// optionally by the result of its `__caching_id__()` method (FC-2.2.6).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PyObject {
    /// The object's class (used in CPython's error messages).
    pub class: ClassRef,
    /// `repr(obj)`, verbatim.
    pub repr: String,
    /// `str(obj.__caching_id__())` when the class defines `__caching_id__`.
    pub caching_id: Option<String>,
}

/// A Python value, as far as Flask-Caching's key derivation can observe it.
///
/// Containers keep insertion order, as Python's do. Values are immutable data; equality is
/// structural (floats compare by bit pattern so that `Value` can be `Eq`).
#[derive(Clone, Debug)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` of any size.
    Int(PyInt),
    /// A `float` (IEEE 754 double).
    Float(f64),
    /// A `str`. (Lone surrogates, which Python strings may hold, are not representable.)
    Str(String),
    /// A `bytes` object.
    Bytes(Vec<u8>),
    /// A `tuple`.
    Tuple(Vec<Value>),
    /// A `list`.
    List(Vec<Value>),
    /// A `dict`, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A `collections.OrderedDict`, in insertion order (its repr depends on the Python
    /// version, FC-2.3.1).
    OrderedDict(Vec<(Value, Value)>),
    /// A class object.
    Class(ClassRef),
    /// Any other object, known by its repr.
    Object(Box<PyObject>),
    /// An exception object held as a value: the `HTTPException` that 2.5's `@cached`
    /// stores when the view aborts, and raises again on a hit (FC-1.1.7, FC-1.1.8).
    Exception(Box<crate::error::PyError>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (None, None) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (Str(a), Str(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Tuple(a), Tuple(b)) | (List(a), List(b)) => a == b,
            (Dict(a), Dict(b)) | (OrderedDict(a), OrderedDict(b)) => a == b,
            (Class(a), Class(b)) => a == b,
            (Object(a), Object(b)) => a == b,
            (Exception(a), Exception(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Value {
    /// A `str` value.
    pub fn str(s: impl Into<String>) -> Self {
        Value::Str(s.into())
    }

    /// An `int` value from a machine integer.
    pub fn int(i: i64) -> Self {
        Value::Int(PyInt::from(i))
    }

    /// Python truthiness (`bool(value)`), as the ≤2.4 profile's `elif arg_default:` tests it
    /// (FC-2.4.3). Objects are truthy: the model has no `__bool__`/`__len__`.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => !i.is_zero(),
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::Tuple(v) | Value::List(v) => !v.is_empty(),
            Value::Dict(v) | Value::OrderedDict(v) => !v.is_empty(),
            Value::Class(_) | Value::Object(_) | Value::Exception(_) => true,
        }
    }

    /// `repr(self)` as CPython `version` prints it.
    pub fn repr(&self, version: PythonVersion) -> String {
        let mut out = String::new();
        self.repr_into(&mut out, version);
        out
    }

    /// Whether `repr(self)` succeeds under `version`: it raises the
    /// [`PythonVersion::int_max_str_digits_error`] when an `int` anywhere in the value has
    /// more digits than the limit. Objects and classes are known by their repr text, which
    /// Python already produced.
    pub fn check_repr(&self, version: PythonVersion) -> Result<(), crate::error::PyError> {
        match self {
            Value::Int(i) if i.has_more_digits_than(version.int_max_str_digits()) => {
                Err(version.int_max_str_digits_error())
            }
            Value::Tuple(items) | Value::List(items) => {
                items.iter().try_for_each(|v| v.check_repr(version))
            }
            Value::Dict(items) | Value::OrderedDict(items) => {
                items.iter().try_for_each(|(k, v)| {
                    k.check_repr(version)?;
                    v.check_repr(version)
                })
            }
            _ => Ok(()),
        }
    }

    /// `repr(self)`, or the error Python raises for it ([`Value::check_repr`]).
    pub fn try_repr(&self, version: PythonVersion) -> Result<String, crate::error::PyError> {
        self.check_repr(version)?;
        Ok(self.repr(version))
    }

    /// `str(self)`: the repr, except that a top-level `str` is its own text.
    pub fn to_py_str(&self, version: PythonVersion) -> String {
        match self {
            Value::Str(s) => s.clone(),
            other => other.repr(version),
        }
    }

    /// Appends `repr(self)` to `out` without intermediate allocations.
    pub fn repr_into(&self, out: &mut String, version: PythonVersion) {
        repr::repr_into(self, out, version)
    }

    /// The name of the value's type, as CPython error messages print it (`str`, `int`, ...).
    pub fn type_name(&self) -> &str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::OrderedDict(_) => "OrderedDict",
            Value::Class(_) => "type",
            Value::Object(o) => o.class.qualname.rsplit('.').next().unwrap_or(""),
            Value::Exception(e) => e.kind.as_str(),
        }
    }
}
