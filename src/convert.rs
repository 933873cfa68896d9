//! Conversions between Rust values and the Python values Flask-Caching sees.
//!
//! [`ToPy`] turns an argument into the [`Value`] whose `repr()` Flask-Caching hashes into
//! the key, so that a key built here equals the key Flask builds for the same Python value:
//!
//! | Rust | Python |
//! |---|---|
//! | `i8`..`i128`, `u16`..`u128`, `isize`, `usize` | `int` |
//! | `f64` | `float` |
//! | `bool` | `bool` |
//! | `&str`, `String`, `char` | `str` |
//! | `Option<T>` | `None` or the value |
//! | tuples (up to 8 elements), `()` | `tuple` |
//! | `Vec<T>`, `[T]`, `[T; N]` | `list` |
//! | `Vec<u8>`, `[u8]`, `[u8; N]` | `bytes` |
//! | `BTreeMap<K, V>` | `dict` in key order |
//! | [`Dict`], [`OrderedDict`] | `dict`, `collections.OrderedDict`, in the order given |
//! | a type implementing [`PyRepr`] (through [`crate::impl_to_py!`]) | an object known by its `repr()` / `__caching_id__()` |
//! | [`Value`] | itself |
//!
//! `u8` is not an `int` here: byte sequences are Python `bytes` (write `i64::from(b)` for a
//! single byte as an `int`). `HashMap` and `HashSet` have no conversion: their iteration
//! order is arbitrary, so the `repr` (and the key) would change from run to run; use a
//! `BTreeMap` or a [`Dict`] in the order the Python code builds the dict. `f32` has none
//! either: Python has no single-precision float.
//!
//! [`FromPy`] reads a result back into a Rust type and fails with a [`TypeMismatch`]
//! naming what was expected and what was found.
//!
//! ```
//! use flaskcache::{FromPy, PythonVersion, ToPy, Value};
//!
//! let py = PythonVersion::Py311;
//! assert_eq!((7, "Ann", None::<i64>).to_py(py).repr(py), "(7, 'Ann', None)");
//! assert_eq!(vec![1.5, 2.0].to_py(py).repr(py), "[1.5, 2.0]");
//! assert_eq!(b"hi".to_py(py).repr(py), "b'hi'");
//!
//! let names: Vec<String> = FromPy::from_py(Value::List(vec![Value::str("a")])).unwrap();
//! assert_eq!(names, ["a"]);
//! let err = i64::from_py(Value::str("7")).unwrap_err();
//! assert_eq!(err.to_string(), "expected int, found str");
//! ```

use flaskcache_engine::{ClassRef, PyInt, PyObject, PythonVersion, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::Hash;

/// A Rust value that stands for a Python value: the argument Flask-Caching would see.
///
/// `py` is the Python version whose `repr` rules apply (only object reprs built with
/// [`constructor_repr`] depend on it). Implement it for your own types through [`PyRepr`]
/// and [`crate::impl_to_py!`], or directly when the type is a plain Python container.
pub trait ToPy {
    /// The Python value.
    fn to_py(&self, py: PythonVersion) -> Value;
}

impl<T: ToPy + ?Sized> ToPy for &T {
    fn to_py(&self, py: PythonVersion) -> Value {
        (**self).to_py(py)
    }
}

impl<T: ToPy + ?Sized> ToPy for Box<T> {
    fn to_py(&self, py: PythonVersion) -> Value {
        (**self).to_py(py)
    }
}

impl ToPy for Value {
    fn to_py(&self, _: PythonVersion) -> Value {
        self.clone()
    }
}

impl ToPy for bool {
    fn to_py(&self, _: PythonVersion) -> Value {
        Value::Bool(*self)
    }
}

macro_rules! small_ints {
    ($($t:ty),*) => {$(
        impl ToPy for $t {
            fn to_py(&self, _: PythonVersion) -> Value {
                Value::Int(PyInt::from(i64::from(*self)))
            }
        }
    )*};
}
small_ints!(i8, i16, i32, i64, u16, u32);

/// An `int` from any integer, big ones through their decimal text.
fn big_int(fits: Option<i64>, decimal: impl FnOnce() -> String) -> Value {
    match fits {
        Some(i) => Value::Int(PyInt::from(i)),
        None => {
            let text = decimal();
            match PyInt::parse(&text) {
                Ok(i) => Value::Int(i),
                // Rust's decimal text of an integer is always a valid int literal.
                Err(_) => unreachable!("{text} is not an integer literal"),
            }
        }
    }
}

macro_rules! wide_ints {
    ($($t:ty),*) => {$(
        impl ToPy for $t {
            fn to_py(&self, _: PythonVersion) -> Value {
                big_int(i64::try_from(*self).ok(), || self.to_string())
            }
        }
    )*};
}
wide_ints!(u64, usize, isize, i128, u128);

impl ToPy for f64 {
    fn to_py(&self, _: PythonVersion) -> Value {
        Value::Float(*self)
    }
}

impl ToPy for str {
    fn to_py(&self, _: PythonVersion) -> Value {
        Value::Str(self.to_owned())
    }
}

impl ToPy for String {
    fn to_py(&self, _: PythonVersion) -> Value {
        Value::Str(self.clone())
    }
}

impl ToPy for char {
    fn to_py(&self, _: PythonVersion) -> Value {
        Value::Str(self.to_string())
    }
}

impl<T: ToPy> ToPy for Option<T> {
    fn to_py(&self, py: PythonVersion) -> Value {
        match self {
            Some(v) => v.to_py(py),
            None => Value::None,
        }
    }
}

impl<T: ToPy> ToPy for [T] {
    fn to_py(&self, py: PythonVersion) -> Value {
        Value::List(self.iter().map(|v| v.to_py(py)).collect())
    }
}

impl<T: ToPy> ToPy for Vec<T> {
    fn to_py(&self, py: PythonVersion) -> Value {
        self.as_slice().to_py(py)
    }
}

impl<T: ToPy, const N: usize> ToPy for [T; N] {
    fn to_py(&self, py: PythonVersion) -> Value {
        self.as_slice().to_py(py)
    }
}

impl ToPy for [u8] {
    fn to_py(&self, _: PythonVersion) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl ToPy for Vec<u8> {
    fn to_py(&self, _: PythonVersion) -> Value {
        Value::Bytes(self.clone())
    }
}

impl<const N: usize> ToPy for [u8; N] {
    fn to_py(&self, _: PythonVersion) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl<K: ToPy, V: ToPy> ToPy for BTreeMap<K, V> {
    fn to_py(&self, py: PythonVersion) -> Value {
        Value::Dict(
            self.iter()
                .map(|(k, v)| (k.to_py(py), v.to_py(py)))
                .collect(),
        )
    }
}

/// A Python `dict` with its items in the order given (Python dicts keep insertion order, and
/// their `repr` shows it).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dict<K, V>(pub Vec<(K, V)>);

/// A `collections.OrderedDict` with its items in the order given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderedDict<K, V>(pub Vec<(K, V)>);

fn items<K: ToPy, V: ToPy>(items: &[(K, V)], py: PythonVersion) -> Vec<(Value, Value)> {
    items
        .iter()
        .map(|(k, v)| (k.to_py(py), v.to_py(py)))
        .collect()
}

impl<K: ToPy, V: ToPy> ToPy for Dict<K, V> {
    fn to_py(&self, py: PythonVersion) -> Value {
        Value::Dict(items(&self.0, py))
    }
}

impl<K: ToPy, V: ToPy> ToPy for OrderedDict<K, V> {
    fn to_py(&self, py: PythonVersion) -> Value {
        Value::OrderedDict(items(&self.0, py))
    }
}

macro_rules! tuples {
    ($(($($n:tt $t:ident),*))*) => {$(
        impl<$($t: ToPy),*> ToPy for ($($t,)*) {
            fn to_py(&self, py: PythonVersion) -> Value {
                let _ = py;
                Value::Tuple(vec![$(self.$n.to_py(py)),*])
            }
        }

        impl<$($t: ToPy),*> IntoArgs for ($($t,)*) {
            fn into_args(self, py: PythonVersion) -> Vec<Value> {
                let _ = py;
                vec![$(self.$n.to_py(py)),*]
            }

            #[inline(always)]
            fn with_args<R>(self, py: PythonVersion, f: impl FnOnce(&[Value]) -> R) -> R {
                let _ = py;
                let args: [Value; 0 $(+ { let _ = stringify!($t); 1 })*] = [$(self.$n.to_py(py)),*];
                f(&args)
            }
        }

    )*};
}

tuples! {
    ()
    (0 A)
    (0 A, 1 B)
    (0 A, 1 B, 2 C)
    (0 A, 1 B, 2 C, 3 D)
    (0 A, 1 B, 2 C, 3 D, 4 E)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H)
}

macro_rules! from_tuples {
    ($(($($n:tt $t:ident),*))*) => {$(
        impl<$($t: FromPy),*> FromPy for ($($t,)*) {
            fn from_py(value: Value) -> Result<Self, TypeMismatch> {
                const LEN: usize = [$(stringify!($t)),*].len();
                let items = match value {
                    Value::Tuple(v) | Value::List(v) if v.len() == LEN => v,
                    other => return Err(TypeMismatch::new(
                        format!("tuple of {LEN}"), &other)),
                };
                let mut items = items.into_iter();
                Ok(($(
                    match items.next() {
                        Some(v) => $t::from_py(v).map_err(|e| e.at(format!("[{}]", $n)))?,
                        None => return Err(TypeMismatch {
                            expected: format!("tuple of {LEN}"),
                            found: "a shorter sequence".into(),
                            path: String::new(),
                        }),
                    },
                )*))
            }
        }
    )*};
}

from_tuples! {
    (0 A)
    (0 A, 1 B)
    (0 A, 1 B, 2 C)
    (0 A, 1 B, 2 C, 3 D)
    (0 A, 1 B, 2 C, 3 D, 4 E)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G)
    (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H)
}

impl FromPy for () {
    fn from_py(value: Value) -> Result<Self, TypeMismatch> {
        match value {
            Value::Tuple(v) | Value::List(v) if v.is_empty() => Ok(()),
            other => Err(TypeMismatch::new("empty tuple", &other)),
        }
    }
}

/// The positional arguments of a call: a tuple of [`ToPy`] values (`()`, `(7,)`,
/// `(7, "Ann")`, up to 8), or already-built values (`Vec<Value>`, `&[Value]`).
pub trait IntoArgs {
    /// The argument values, in order.
    fn into_args(self, py: PythonVersion) -> Vec<Value>;

    /// Runs `f` on the argument values. A tuple builds them on the stack, so a call
    /// allocates nothing for its argument list.
    fn with_args<R>(self, py: PythonVersion, f: impl FnOnce(&[Value]) -> R) -> R
    where
        Self: Sized,
    {
        f(&self.into_args(py))
    }
}

impl IntoArgs for Vec<Value> {
    fn into_args(self, _: PythonVersion) -> Vec<Value> {
        self
    }
}

impl IntoArgs for &[Value] {
    fn into_args(self, _: PythonVersion) -> Vec<Value> {
        self.to_vec()
    }

    fn with_args<R>(self, _: PythonVersion, f: impl FnOnce(&[Value]) -> R) -> R {
        f(self)
    }
}

/// A Rust type standing for a Python object: the class it belongs to and the `repr()` (or
/// `__caching_id__()`) Flask-Caching would see.
///
/// Flask-Caching hashes an object argument's `repr()` into the memoize key, and uses
/// `__caching_id__()` (when the class defines it) or `repr()` to tell instances apart for
/// instance methods (FC-2.2.6). Both must be exactly what the Python object produces, or the
/// key is a different one: build the repr with [`constructor_repr`] (CPython-exact field
/// reprs) rather than by hand where you can. A repr with a memory address
/// (`<app.Student object at 0x7f...>`, Python's default) names one object in one process.
///
/// ```
/// use flaskcache::{constructor_repr, impl_to_py, ClassRef, PyRepr, PythonVersion, ToPy};
///
/// struct Student { id: i64, name: String }
///
/// impl PyRepr for Student {
///     fn py_class(&self) -> ClassRef { ClassRef::new("app.models", "Student") }
///     fn py_repr(&self, py: PythonVersion) -> String {
///         constructor_repr("Student", &[("id", &self.id), ("name", &self.name)], py)
///     }
///     fn caching_id(&self) -> Option<String> { Some(self.id.to_string()) }
/// }
/// impl_to_py!(Student);
///
/// let py = PythonVersion::Py311;
/// let ann = Student { id: 7, name: "Ann".into() };
/// assert_eq!(ann.to_py(py).repr(py), "Student(id=7, name='Ann')");
/// ```
pub trait PyRepr {
    /// `type(obj)`: the class's module and qualified name.
    fn py_class(&self) -> ClassRef;
    /// `repr(obj)`, exactly as the Python object prints it under `py`.
    fn py_repr(&self, py: PythonVersion) -> String;
    /// `str(obj.__caching_id__())` when the Python class defines `__caching_id__`; `None`
    /// (the default) when it does not.
    fn caching_id(&self) -> Option<String> {
        None
    }
    /// The object as the engine models it.
    fn to_py_object(&self, py: PythonVersion) -> PyObject {
        PyObject {
            class: self.py_class(),
            repr: self.py_repr(py),
            caching_id: self.caching_id(),
        }
    }
}

/// Implements [`ToPy`] for types implementing [`PyRepr`]: their Python value is the object
/// with that class, repr and caching id.
///
/// ```
/// # use flaskcache::{impl_to_py, ClassRef, PyRepr, PythonVersion};
/// struct Token;
/// impl PyRepr for Token {
///     fn py_class(&self) -> ClassRef { ClassRef::new("app", "Token") }
///     fn py_repr(&self, _: PythonVersion) -> String { "Token()".into() }
/// }
/// impl_to_py!(Token);
/// ```
#[macro_export]
macro_rules! impl_to_py {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::ToPy for $t {
            fn to_py(&self, py: $crate::PythonVersion) -> $crate::Value {
                $crate::Value::Object(::std::boxed::Box::new($crate::PyRepr::to_py_object(self, py)))
            }
        }
    )+};
}

/// `Name(field=repr(value), ...)`: the `repr` of a dataclass, a `namedtuple` or any class
/// whose `__repr__` follows that pattern, with each field's repr exactly as CPython `py`
/// prints it.
///
/// ```
/// use flaskcache::{constructor_repr, PythonVersion};
/// let r = constructor_repr("Point", &[("x", &1.5), ("label", &"a'b")], PythonVersion::Py311);
/// assert_eq!(r, r#"Point(x=1.5, label="a'b")"#);
/// ```
pub fn constructor_repr(name: &str, fields: &[(&str, &dyn ToPy)], py: PythonVersion) -> String {
    let mut out = String::with_capacity(name.len() + 2 + 16 * fields.len());
    out.push_str(name);
    out.push('(');
    for (i, (field, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(field);
        out.push('=');
        value.to_py(py).repr_into(&mut out, py);
    }
    out.push(')');
    out
}

/// A result whose Python value does not convert to the requested Rust type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeMismatch {
    /// What the Rust type needs (`int`, `str`, `list`, `tuple of 2`, `int in i32's range`, ...).
    pub expected: String,
    /// The Python type found (`str`, `NoneType`, ...).
    pub found: String,
    /// Where inside the value (`[3]`, `["name"]`), empty at the top level.
    pub path: String,
}

impl TypeMismatch {
    /// `expected`, found `value`'s type.
    pub fn new(expected: impl Into<String>, value: &Value) -> Self {
        TypeMismatch {
            expected: expected.into(),
            found: value.type_name().to_owned(),
            path: String::new(),
        }
    }

    /// The same mismatch, inside the element at `step`.
    pub fn at(mut self, step: impl Into<String>) -> Self {
        self.path.insert_str(0, &step.into());
        self
    }
}

impl fmt::Display for TypeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, found {}", self.expected, self.found)?;
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        Ok(())
    }
}

impl std::error::Error for TypeMismatch {}

/// A Rust type a Python result converts into.
///
/// Conversions are strict: an `int` is not a `float` and a `bool` is not an `int` (take a
/// [`Value`] to accept anything).
pub trait FromPy: Sized {
    /// Converts, or says what did not match.
    fn from_py(value: Value) -> Result<Self, TypeMismatch>;
}

impl FromPy for Value {
    fn from_py(value: Value) -> Result<Self, TypeMismatch> {
        Ok(value)
    }
}

impl FromPy for bool {
    fn from_py(value: Value) -> Result<Self, TypeMismatch> {
        match value {
            Value::Bool(b) => Ok(b),
            other => Err(TypeMismatch::new("bool", &other)),
        }
    }
}

macro_rules! from_ints {
    ($($t:ty),*) => {$(
        impl FromPy for $t {
            fn from_py(value: Value) -> Result<Self, TypeMismatch> {
                let out_of_range = || TypeMismatch {
                    expected: concat!("int in ", stringify!($t), "'s range").into(),
                    found: "int".into(),
                    path: String::new(),
                };
                match value {
                    Value::Int(i) => match i.as_i64() {
                        Some(small) => <$t>::try_from(small).map_err(|_| out_of_range()),
                        None => i.to_string().parse::<$t>().map_err(|_| out_of_range()),
                    },
                    other => Err(TypeMismatch::new("int", &other)),
                }
            }
        }
    )*};
}
from_ints!(i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);

impl FromPy for f64 {
    fn from_py(value: Value) -> Result<Self, TypeMismatch> {
        match value {
            Value::Float(f) => Ok(f),
            other => Err(TypeMismatch::new("float", &other)),
        }
    }
}

impl FromPy for String {
    fn from_py(value: Value) -> Result<Self, TypeMismatch> {
        match value {
            Value::Str(s) => Ok(s),
            other => Err(TypeMismatch::new("str", &other)),
        }
    }
}

impl<T: FromPy> FromPy for Option<T> {
    fn from_py(value: Value) -> Result<Self, TypeMismatch> {
        match value {
            Value::None => Ok(None),
            other => T::from_py(other).map(Some),
        }
    }
}

impl<T: FromPy> FromPy for Vec<T> {
    fn from_py(value: Value) -> Result<Self, TypeMismatch> {
        match value {
            Value::List(items) | Value::Tuple(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| T::from_py(v).map_err(|e| e.at(format!("[{i}]"))))
                .collect(),
            other => Err(TypeMismatch::new("list", &other)),
        }
    }
}

impl FromPy for Vec<u8> {
    fn from_py(value: Value) -> Result<Self, TypeMismatch> {
        match value {
            Value::Bytes(b) => Ok(b),
            other => Err(TypeMismatch::new("bytes", &other)),
        }
    }
}

fn dict_items(value: Value) -> Result<Vec<(Value, Value)>, TypeMismatch> {
    match value {
        Value::Dict(items) | Value::OrderedDict(items) => Ok(items),
        other => Err(TypeMismatch::new("dict", &other)),
    }
}

fn item<K: FromPy, V: FromPy>(k: Value, v: Value) -> Result<(K, V), TypeMismatch> {
    let step = format!("[{}]", k.repr(PythonVersion::default()));
    let key = K::from_py(k).map_err(|e| e.at(format!("{step} (key)")))?;
    let value = V::from_py(v).map_err(|e| e.at(step))?;
    Ok((key, value))
}

impl<K: FromPy + Ord, V: FromPy> FromPy for BTreeMap<K, V> {
    fn from_py(value: Value) -> Result<Self, TypeMismatch> {
        dict_items(value)?
            .into_iter()
            .map(|(k, v)| item(k, v))
            .collect()
    }
}

impl<K: FromPy + Eq + Hash, V: FromPy> FromPy for HashMap<K, V> {
    fn from_py(value: Value) -> Result<Self, TypeMismatch> {
        dict_items(value)?
            .into_iter()
            .map(|(k, v)| item(k, v))
            .collect()
    }
}

impl<K: FromPy, V: FromPy> FromPy for Dict<K, V> {
    fn from_py(value: Value) -> Result<Self, TypeMismatch> {
        dict_items(value)?
            .into_iter()
            .map(|(k, v)| item(k, v))
            .collect::<Result<_, _>>()
            .map(Dict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY: PythonVersion = PythonVersion::Py311;

    #[test]
    fn reprs_match_python() {
        assert_eq!((-3i8).to_py(PY).repr(PY), "-3");
        assert_eq!(u64::MAX.to_py(PY).repr(PY), "18446744073709551615");
        assert_eq!(i128::MIN.to_py(PY).repr(PY), i128::MIN.to_string());
        assert_eq!(0.1f64.to_py(PY).repr(PY), "0.1");
        assert_eq!(true.to_py(PY).repr(PY), "True");
        assert_eq!('x'.to_py(PY).repr(PY), "'x'");
        assert_eq!(().to_py(PY).repr(PY), "()");
        assert_eq!((1,).to_py(PY).repr(PY), "(1,)");
        assert_eq!([1, 2].to_py(PY).repr(PY), "[1, 2]");
        assert_eq!(vec![b'a', 0].to_py(PY).repr(PY), "b'a\\x00'");
        assert_eq!(Some("a").to_py(PY).repr(PY), "'a'");
        let mut m = BTreeMap::new();
        m.insert("b", 2);
        m.insert("a", 1);
        assert_eq!(m.to_py(PY).repr(PY), "{'a': 1, 'b': 2}");
        assert_eq!(
            Dict(vec![("b", 2), ("a", 1)]).to_py(PY).repr(PY),
            "{'b': 2, 'a': 1}"
        );
        assert_eq!(
            OrderedDict(vec![("a", 1)]).to_py(PY).repr(PY),
            "OrderedDict([('a', 1)])"
        );
    }

    #[test]
    fn results_convert_back_or_say_why_not() {
        let v = (1, "a".to_owned(), vec![2.5]).to_py(PY);
        let back: (i64, String, Vec<f64>) = FromPy::from_py(v).unwrap();
        assert_eq!(back, (1, "a".to_owned(), vec![2.5]));
        let e = Vec::<i64>::from_py(vec![Value::int(1), Value::str("x")].to_py(PY)).unwrap_err();
        assert_eq!(e.to_string(), "expected int, found str at [1]");
        let e = i8::from_py(Value::int(300)).unwrap_err();
        assert_eq!(e.to_string(), "expected int in i8's range, found int");
        let big = u64::MAX.to_py(PY);
        assert_eq!(u64::from_py(big.clone()), Ok(u64::MAX));
        assert!(i64::from_py(big).is_err());
        assert_eq!(Option::<i64>::from_py(Value::None), Ok(None));
        let e = <(i64, i64)>::from_py(Value::Tuple(vec![Value::int(1)])).unwrap_err();
        assert_eq!(e.expected, "tuple of 2");
        let d: HashMap<String, i64> = FromPy::from_py(Dict(vec![("a", 1)]).to_py(PY)).unwrap();
        assert_eq!(d.get("a"), Some(&1));
        let e = BTreeMap::<String, i64>::from_py(Dict(vec![("a", "x")]).to_py(PY)).unwrap_err();
        assert_eq!(e.to_string(), "expected int, found str at ['a']");
    }
}
