//! Backend keys that are not Python `str`s: `cache.get(42)`, `cache.delete(view_function)`.
//!
//! Flask-Caching hands the key of a direct call to the backend as it is. A `SimpleCache` is a
//! Python dict: any hashable value is a key, compared by Python equality (`1`, `1.0` and
//! `True` are one key; `"1"` is another). cachelib's `RedisCache` formats the key into the
//! Redis key name (`f"{prefix}{key}"`: `42` and `"42"` are one key), except where it sends
//! keys unformatted to redis-py, which refuses most types (FC-4.3, FC-4.5; measured with
//! cachelib 0.17.0, Flask-Caching 2.4.1 and Werkzeug 0.16.1).
//!
//! A [`StoreOp`](super::StoreOp) key is a `String`. A key that is another Python value is
//! carried as its *key text*: [`MARK`] followed by a serialisation of the value, built by
//! [`key_text`] and read back by [`key_value`]. `MARK` is U+FDD0, a Unicode noncharacter
//! (reserved for a program's internal use), so no key a real app computes starts with it;
//! trace readers refuse a `str` key that does. A `str` key's text is the string itself.
//!
//! The serialisation, after `MARK`: `N` None, `T`/`F` bools, `i<decimal>;` ints,
//! `f<16 hex digits>;` floats (the bit pattern), `s<text>` strs, `y<hex>;` bytes,
//! `t<n>:<items>` tuples, `l<n>:<items>` lists, `d<n>:<pairs>` dicts, `D<n>:<pairs>`
//! `OrderedDict`s, `c<text><text>` classes (module, qualname), `o<text><text><text>` and
//! `-` or `+<text>` objects (module, qualname, repr, `__caching_id__`); `<text>` is
//! `<byte length>:<UTF-8>`.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::{PyError, PyExceptionType};
use crate::value::{repr_str_into, ClassRef, PyInt, PyObject, PythonVersion, Value};

/// The first character of every non-`str` key text: U+FDD0, a noncharacter.
pub const MARK: char = '\u{FDD0}';

/// How deeply nested a key text [`key_value`] reads (deeper texts read as plain strings).
const MAX_DEPTH: usize = 512;

/// The key text of a backend key: a `str`'s own text, any other value in the reserved form
/// (`MARK` + its serialisation). [`key_value`] gives the value back, exactly.
pub fn key_text(key: &Value) -> String {
    if let Value::Str(s) = key {
        return s.clone();
    }
    let mut out = String::from(MARK);
    write_value(key, &mut out);
    out
}

/// Whether `text` is the key text of a non-`str` key (it starts with [`MARK`]).
#[inline]
pub fn is_nonstr(text: &str) -> bool {
    text.starts_with(MARK)
}

/// The Python value a key text stands for: the `str` itself for a plain key. A text that
/// starts with [`MARK`] but was not built by [`key_text`] reads as a plain `str`.
pub fn key_value(text: &str) -> Value {
    decode(text).unwrap_or_else(|| Value::Str(text.to_owned()))
}

/// Appends `repr(key)` as Python prints the key (`'k'`, `42`, `<function f at 0x…>`).
pub fn repr_into(text: &str, out: &mut String, py: PythonVersion) {
    match decode(text) {
        Some(value) => value.repr_into(out, py),
        None => repr_str_into(text, out, py),
    }
}

/// `repr(key)` ([`repr_into`]).
pub fn repr(text: &str, py: PythonVersion) -> String {
    let mut out = String::new();
    repr_into(text, &mut out, py);
    out
}

/// The key a Python dict (a `SimpleCache`) files `text` under: one text per equality class,
/// as `hash`/`==` group keys. Numbers that are equal share one (`True`, `1`, `1.0` →
/// the text of `1`; `-0.0` → `0`), tuples item by item, objects by class and repr (their
/// identity, for objects compared by identity); a `str` is its own text. A key holding a
/// list or a dict raises Python's `TypeError: unhashable type: 'list'`.
pub fn dict_key(text: &str) -> Result<Cow<'_, str>, PyError> {
    let Some(value) = decode(text) else {
        return Ok(Cow::Borrowed(text));
    };
    let canonical = hashable(&value)?;
    let key = key_text(&canonical);
    Ok(if key == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(key)
    })
}

/// The Redis key name cachelib's `RedisCache` formats `text` into, before its prefix:
/// `f"{key}"`, which is the repr for every non-`str` value the recorder accepts (`42`,
/// `True`, `(1, 'a')`, `<function f at 0x…>`). An `int` of more digits than Python converts
/// raises its `ValueError`.
pub fn redis_name(text: &str, py: PythonVersion) -> Result<Cow<'_, str>, PyError> {
    match decode(text) {
        Some(value) => Ok(Cow::Owned(value.try_repr(py)?)),
        None => Ok(Cow::Borrowed(text)),
    }
}

/// The Redis key redis-py's `Encoder.encode` sends for an unformatted key (cachelib's
/// `get_many`, and 2.5's `delete_many`, without a key prefix): a `str` as it is, `bytes` as
/// their bytes (a non-UTF-8 one keeps its key text, which no Redis key name equals), an
/// `int` or `float` as its repr; anything else, `bool` included, raises
/// `DataError: Invalid input of type: 'bool'. Convert to a bytes, string, int or float first.`
pub fn redis_encoded(text: &str, py: PythonVersion) -> Result<Cow<'_, str>, PyError> {
    match decode(text) {
        None => Ok(Cow::Borrowed(text)),
        Some(Value::Bytes(bytes)) => Ok(match String::from_utf8(bytes) {
            Ok(name) => Cow::Owned(name),
            Err(_) => Cow::Borrowed(text),
        }),
        Some(value @ (Value::Int(_) | Value::Float(_))) => Ok(Cow::Owned(value.try_repr(py)?)),
        Some(other) => Err(PyError::new(
            PyExceptionType::Other("DataError".into()),
            format!(
                "Invalid input of type: '{}'. Convert to a bytes, string, int or float first.",
                other.type_name()
            ),
        )),
    }
}

/// The type's name as CPython's error messages print it (`tp_name`): a builtin's own name,
/// `collections.OrderedDict` (a C type named with its module), and for an object its
/// class's `__name__`, which is what a class defined in Python has (a C type outside
/// `builtins`, such as `datetime.date`, would print its module too; a [`Value`] does not
/// say which kind of class it is).
pub(crate) fn tp_name(value: &Value) -> &str {
    match value {
        Value::OrderedDict(_) => "collections.OrderedDict",
        other => other.type_name(),
    }
}

/// `value` as the dict key it is equal to ([`dict_key`]), or the `TypeError` of `hash()`.
fn hashable(value: &Value) -> Result<Value, PyError> {
    Ok(match value {
        Value::Bool(b) => Value::int(i64::from(*b)),
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 => Value::Int(integral(*f)),
        Value::Tuple(items) => Value::Tuple(items.iter().map(hashable).collect::<Result<_, _>>()?),
        Value::List(_) | Value::Dict(_) | Value::OrderedDict(_) => {
            return Err(PyError::new(
                PyExceptionType::TypeError,
                format!("unhashable type: '{}'", tp_name(value)),
            ));
        }
        // Equality does not look at `__caching_id__`.
        Value::Object(o) if o.caching_id.is_some() => Value::Object(Box::new(PyObject {
            caching_id: None,
            ..(**o).clone()
        })),
        other => other.clone(),
    })
}

/// The `int` equal to an integral, finite float, exactly (`1e300` has 301 digits).
fn integral(f: f64) -> PyInt {
    if f.abs() < 9.2e18 {
        // Exact: an integral float below 2^63 converts without rounding.
        return PyInt::from(f as i64);
    }
    // f = mantissa * 2^exponent with exponent > 0: double a decimal number that many times.
    let bits = f.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32 - 1075;
    let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    // Little-endian base-10^9 limbs.
    let mut limbs: Vec<u64> = vec![mantissa % 1_000_000_000, mantissa / 1_000_000_000];
    for _ in 0..exponent.max(0) {
        let mut carry = 0;
        for limb in &mut limbs {
            let doubled = *limb * 2 + carry;
            *limb = doubled % 1_000_000_000;
            carry = doubled / 1_000_000_000;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    let mut text = String::from(if f < 0.0 { "-" } else { "" });
    let mut first = true;
    for limb in limbs.iter().rev() {
        if first {
            if *limb == 0 {
                continue;
            }
            let _ = write!(text, "{limb}");
            first = false;
        } else {
            let _ = write!(text, "{limb:09}");
        }
    }
    PyInt::parse(&text).unwrap_or_else(|_| PyInt::from(0))
}

fn write_text(s: &str, out: &mut String) {
    let _ = write!(out, "{}:", s.len());
    out.push_str(s);
}

fn write_value(value: &Value, out: &mut String) {
    let items = |tag: char, items: &[Value], out: &mut String| {
        let _ = write!(out, "{tag}{}:", items.len());
        items.iter().for_each(|v| write_value(v, out));
    };
    let pairs = |tag: char, pairs: &[(Value, Value)], out: &mut String| {
        let _ = write!(out, "{tag}{}:", pairs.len());
        for (k, v) in pairs {
            write_value(k, out);
            write_value(v, out);
        }
    };
    match value {
        Value::None => out.push('N'),
        Value::Bool(true) => out.push('T'),
        Value::Bool(false) => out.push('F'),
        Value::Int(i) => {
            out.push('i');
            i.write_decimal(out);
            out.push(';');
        }
        Value::Float(f) => {
            let _ = write!(out, "f{:016x};", f.to_bits());
        }
        Value::Str(s) => {
            out.push('s');
            write_text(s, out);
        }
        Value::Bytes(bytes) => {
            out.push('y');
            bytes.iter().for_each(|b| {
                let _ = write!(out, "{b:02x}");
            });
            out.push(';');
        }
        Value::Tuple(v) => items('t', v, out),
        Value::List(v) => items('l', v, out),
        Value::Dict(v) => pairs('d', v, out),
        Value::OrderedDict(v) => pairs('D', v, out),
        Value::Class(c) => {
            out.push('c');
            write_text(&c.module, out);
            write_text(&c.qualname, out);
        }
        // An exception as a key (never seen in an app) is written as the object it is
        // known by: its class and repr; it reads back as a `Value::Object`.
        Value::Exception(e) => {
            let class = match e.http() {
                Some(h) => h.class.clone(),
                None => crate::value::ClassRef::new("builtins", e.kind.as_str()),
            };
            out.push('o');
            write_text(&class.module, out);
            write_text(&class.qualname, out);
            write_text(&value.repr(crate::value::PythonVersion::default()), out);
            out.push('-');
        }
        Value::Object(o) => {
            out.push('o');
            write_text(&o.class.module, out);
            write_text(&o.class.qualname, out);
            write_text(&o.repr, out);
            match &o.caching_id {
                None => out.push('-'),
                Some(id) => {
                    out.push('+');
                    write_text(id, out);
                }
            }
        }
    }
}

/// The value of a key text built by [`key_text`]; `None` for any other text.
fn decode(text: &str) -> Option<Value> {
    let body = text.strip_prefix(MARK)?;
    let mut reader = Reader { rest: body };
    let value = reader.value(0)?;
    reader.rest.is_empty().then_some(value)
}

/// A cursor over a serialised value; every method returns `None` on malformed input.
struct Reader<'a> {
    rest: &'a str,
}

impl<'a> Reader<'a> {
    fn tag(&mut self) -> Option<char> {
        let c = self.rest.chars().next()?;
        self.rest = &self.rest[c.len_utf8()..];
        Some(c)
    }

    /// The text up to the next `end`, which is consumed.
    fn until(&mut self, end: char) -> Option<&'a str> {
        let (head, tail) = self.rest.split_once(end)?;
        self.rest = tail;
        Some(head)
    }

    fn count(&mut self) -> Option<usize> {
        let digits = self.until(':')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: usize = digits.parse().ok()?;
        // Every item takes at least one byte: a larger count is malformed.
        (n <= self.rest.len()).then_some(n)
    }

    fn text(&mut self) -> Option<String> {
        let len = self.count()?;
        let text = self.rest.get(..len)?;
        self.rest = self.rest.get(len..)?;
        Some(text.to_owned())
    }

    fn items(&mut self, depth: usize) -> Option<Vec<Value>> {
        let n = self.count()?;
        (0..n).map(|_| self.value(depth + 1)).collect()
    }

    fn pairs(&mut self, depth: usize) -> Option<Vec<(Value, Value)>> {
        let n = self.count()?;
        (0..n)
            .map(|_| Some((self.value(depth + 1)?, self.value(depth + 1)?)))
            .collect()
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(match self.tag()? {
            'N' => Value::None,
            'T' => Value::Bool(true),
            'F' => Value::Bool(false),
            'i' => Value::Int(PyInt::parse(self.until(';')?).ok()?),
            'f' => {
                let hex = self.until(';')?;
                if hex.len() != 16 {
                    return None;
                }
                Value::Float(f64::from_bits(u64::from_str_radix(hex, 16).ok()?))
            }
            's' => Value::Str(self.text()?),
            'y' => {
                let hex = self.until(';')?;
                if hex.len() % 2 != 0 || !hex.is_ascii() {
                    return None;
                }
                let bytes = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()?;
                Value::Bytes(bytes)
            }
            't' => Value::Tuple(self.items(depth)?),
            'l' => Value::List(self.items(depth)?),
            'd' => Value::Dict(self.pairs(depth)?),
            'D' => Value::OrderedDict(self.pairs(depth)?),
            'c' => Value::Class(ClassRef::new(self.text()?, self.text()?)),
            'o' => {
                let class = ClassRef::new(self.text()?, self.text()?);
                let repr = self.text()?;
                let caching_id = match self.tag()? {
                    '-' => None,
                    '+' => Some(self.text()?),
                    _ => return None,
                };
                Value::Object(Box::new(PyObject {
                    class,
                    repr,
                    caching_id,
                }))
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY: PythonVersion = PythonVersion::Py311;

    fn function(name: &str) -> Value {
        Value::Object(Box::new(PyObject {
            class: ClassRef::new("builtins", "function"),
            repr: format!("<function {name} at 0x7f3a1c2b4d10>"),
            caching_id: None,
        }))
    }

    fn samples() -> Vec<Value> {
        vec![
            Value::None,
            Value::Bool(true),
            Value::Bool(false),
            Value::int(42),
            Value::int(-7),
            Value::Int(PyInt::parse("123456789012345678901234567890").unwrap()),
            Value::Float(1.5),
            Value::Float(-0.0),
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
            Value::Bytes(vec![0, 0xff, b'k']),
            Value::Tuple(vec![Value::int(1), Value::str("a:b;")]),
            Value::Tuple(vec![]),
            Value::List(vec![Value::int(1)]),
            Value::Dict(vec![(Value::str("é"), Value::None)]),
            Value::OrderedDict(vec![]),
            Value::Class(ClassRef::new("app", "Calc")),
            function("student_all"),
            Value::Object(Box::new(PyObject {
                class: ClassRef::new("app", "User"),
                repr: "User(1)".into(),
                caching_id: Some("u1".into()),
            })),
        ]
    }

    #[test]
    fn every_value_round_trips_exactly() {
        for value in samples() {
            let text = key_text(&value);
            assert!(is_nonstr(&text), "{value:?}");
            assert_eq!(key_value(&text), value, "{text:?}");
            if let Value::Float(f) = value {
                let Value::Float(back) = key_value(&text) else {
                    panic!("{text:?}")
                };
                assert_eq!(back.to_bits(), f.to_bits());
            }
        }
    }

    #[test]
    fn a_str_key_is_its_own_text() {
        assert_eq!(key_text(&Value::str("view//a")), "view//a");
        assert!(!is_nonstr("view//a"));
        assert_eq!(key_value("42"), Value::str("42"));
        assert_eq!(repr("it's", PY), "\"it's\"");
        assert_eq!(dict_key("k").unwrap(), "k");
        assert_eq!(redis_name("k", PY).unwrap(), "k");
        assert_eq!(redis_encoded("k", PY).unwrap(), "k");
    }

    #[test]
    fn keys_render_as_python_values() {
        let r = |v: Value| repr(&key_text(&v), PY);
        assert_eq!(r(Value::int(42)), "42");
        assert_eq!(r(Value::Float(1.0)), "1.0");
        assert_eq!(r(Value::Bool(true)), "True");
        assert_eq!(
            r(Value::Tuple(vec![Value::int(1), Value::str("a")])),
            "(1, 'a')"
        );
        assert_eq!(
            r(function("student_all")),
            "<function student_all at 0x7f3a1c2b4d10>"
        );
    }

    /// Measured (cachelib 0.17.0 SimpleCache): `set(1, …)` then `get(1.0)` and `get(True)`
    /// hit, `get('1')` misses; `set(-0.0, …)` then `get(False)` and `get(0)` hit;
    /// `set(2**64)` then `get(float(2**64))` hits; `(1, 'a')` and `(1.0, 'a')` are one key.
    #[test]
    fn equal_numbers_are_one_dict_key() {
        let dk = |v: Value| dict_key(&key_text(&v)).unwrap().into_owned();
        let one = dk(Value::int(1));
        assert_eq!(dk(Value::Float(1.0)), one);
        assert_eq!(dk(Value::Bool(true)), one);
        assert_ne!(one, "1");
        assert_eq!(dk(Value::Float(-0.0)), dk(Value::Bool(false)));
        assert_eq!(dk(Value::Float(-0.0)), dk(Value::int(0)));
        assert_ne!(dk(Value::Float(1.5)), dk(Value::int(1)));
        let big = Value::Int(PyInt::parse("18446744073709551616").unwrap());
        assert_eq!(dk(Value::Float(18446744073709551616.0)), dk(big));
        let e300 = dk(Value::Float(1e300));
        assert_eq!(
            key_value(&e300),
            Value::Int(PyInt::parse(&format!("{:.0}", 1e300)).unwrap(),)
        );
        assert_eq!(
            dk(Value::Float(-1e19)),
            dk(Value::Int(PyInt::parse("-10000000000000000000").unwrap()))
        );
        assert_eq!(
            dk(Value::Tuple(vec![Value::int(1), Value::str("a")])),
            dk(Value::Tuple(vec![Value::Float(1.0), Value::str("a")]))
        );
        assert_ne!(
            dk(Value::Float(f64::INFINITY)),
            dk(Value::Float(f64::NEG_INFINITY))
        );
        // The canonical text is itself a key text: it never equals a str key.
        assert!(is_nonstr(&one));
        // `__caching_id__` does not take part in equality.
        let user = |id: Option<&str>| {
            Value::Object(Box::new(PyObject {
                class: ClassRef::new("app", "User"),
                repr: "<app.User object at 0x1>".into(),
                caching_id: id.map(str::to_owned),
            }))
        };
        assert_eq!(dk(user(Some("u1"))), dk(user(None)));
    }

    /// Measured: `cache.set([1], …)` raises `TypeError: unhashable type: 'list'` (3.11 and
    /// 3.7), `hash(OrderedDict())` says `'collections.OrderedDict'`, `hash((1, [2]))` says
    /// `'list'`.
    #[test]
    fn lists_and_dicts_are_unhashable() {
        let err = |v: Value| dict_key(&key_text(&v)).unwrap_err().to_string();
        assert_eq!(
            err(Value::List(vec![])),
            "TypeError: unhashable type: 'list'"
        );
        assert_eq!(
            err(Value::Dict(vec![])),
            "TypeError: unhashable type: 'dict'"
        );
        assert_eq!(
            err(Value::OrderedDict(vec![])),
            "TypeError: unhashable type: 'collections.OrderedDict'"
        );
        assert_eq!(
            err(Value::Tuple(vec![Value::int(1), Value::List(vec![])])),
            "TypeError: unhashable type: 'list'"
        );
    }

    /// Measured (cachelib 0.17.0 RedisCache on fakeredis, redis-py 8.1.0): `set(42)` writes
    /// `flask_cache_42`; `set(True)` `True`; `set(b'k')` `b'k'`; a function its repr.
    /// Unformatted, `b'k'` is the key `k`, `1.5` is `1.5`, and a bool, a function, `None`
    /// or a tuple raise redis-py's `DataError`.
    #[test]
    fn redis_names_and_encodings() {
        let name = |v: Value| redis_name(&key_text(&v), PY).unwrap().into_owned();
        assert_eq!(name(Value::int(42)), "42");
        assert_eq!(name(Value::Bool(true)), "True");
        assert_eq!(name(Value::None), "None");
        assert_eq!(name(Value::Bytes(b"k".to_vec())), "b'k'");
        assert_eq!(name(Value::Float(1e16)), "1e+16");
        assert_eq!(name(function("f")), "<function f at 0x7f3a1c2b4d10>");
        let big = Value::Int(PyInt::parse(&"9".repeat(4301)).unwrap());
        assert!(redis_name(&key_text(&big), PY).is_err());

        let enc = |v: Value| redis_encoded(&key_text(&v), PY).map(Cow::into_owned);
        assert_eq!(enc(Value::Bytes(b"k".to_vec())).unwrap(), "k");
        assert_eq!(enc(Value::Float(1.5)).unwrap(), "1.5");
        assert_eq!(enc(Value::int(42)).unwrap(), "42");
        let raw = key_text(&Value::Bytes(vec![0xff]));
        assert_eq!(redis_encoded(&raw, PY).unwrap(), raw);
        assert_eq!(
            enc(Value::Bool(true)).unwrap_err().to_string(),
            "DataError: Invalid input of type: 'bool'. Convert to a bytes, string, int or float first."
        );
        assert_eq!(
            enc(function("f")).unwrap_err().to_string(),
            "DataError: Invalid input of type: 'function'. Convert to a bytes, string, int or float first."
        );
        assert!(enc(Value::None).unwrap_err().message.contains("'NoneType'"));
        assert!(enc(Value::Tuple(vec![]))
            .unwrap_err()
            .message
            .contains("'tuple'"));
    }

    #[test]
    fn malformed_reserved_texts_read_as_strings() {
        for text in [
            "\u{FDD0}",
            "\u{FDD0}x",
            "\u{FDD0}i12",
            "\u{FDD0}i1;extra",
            "\u{FDD0}f12;",
            "\u{FDD0}y1;",
            "\u{FDD0}yé;",
            "\u{FDD0}s9:ab",
            "\u{FDD0}s1:é",
            "\u{FDD0}t99999999999999999999999:",
            "\u{FDD0}t2:N",
            "\u{FDD0}o1:a1:b1:c?",
        ] {
            assert_eq!(key_value(text), Value::str(text), "{text:?}");
            assert_eq!(dict_key(text).unwrap(), text);
        }
        let deep = format!("\u{FDD0}{}N", "t1:".repeat(MAX_DEPTH + 2));
        assert_eq!(key_value(&deep), Value::str(deep.clone()));
    }
}
