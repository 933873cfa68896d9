//! CPython's `repr()` for the value model, written straight into the caller's buffer.

use std::fmt;

use super::float_repr::write_float_repr;
use super::printable::is_printable;
use super::{ClassRef, Value};

/// The CPython version whose `repr()` output is reproduced.
///
/// Versions differ in two observable ways: the Unicode database behind `str.isprintable()`
/// (which non-ASCII characters `repr(str)` escapes) and the `repr` of a non-empty
/// `collections.OrderedDict`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PythonVersion {
    /// CPython 3.7 (Unicode 11.0; `OrderedDict([(k, v), ...])`): the Python of the
    /// Flask-Cache 0.13 profile.
    Py37,
    /// CPython 3.11 (Unicode 14.0; `OrderedDict([(k, v), ...])`).
    #[default]
    Py311,
    /// CPython 3.12 (Unicode 15.0; `OrderedDict({k: v, ...})`).
    Py312,
    /// CPython 3.13 (Unicode 15.1; `OrderedDict({k: v, ...})`).
    Py313,
}

impl PythonVersion {
    /// Every supported version, oldest first.
    pub const ALL: [PythonVersion; 4] = [
        PythonVersion::Py37,
        PythonVersion::Py311,
        PythonVersion::Py312,
        PythonVersion::Py313,
    ];

    /// Parses `"3.7"`, `"3.11"`, `"3.12"` or `"3.13"`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "3.7" => Some(PythonVersion::Py37),
            "3.11" => Some(PythonVersion::Py311),
            "3.12" => Some(PythonVersion::Py312),
            "3.13" => Some(PythonVersion::Py313),
            _ => None,
        }
    }

    /// The version as `major.minor`, e.g. `"3.11"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PythonVersion::Py37 => "3.7",
            PythonVersion::Py311 => "3.11",
            PythonVersion::Py312 => "3.12",
            PythonVersion::Py313 => "3.13",
        }
    }

    /// `sys.get_int_max_str_digits()` by default: converting an `int` with more decimal
    /// digits to text (`repr`, `str`, `%s`, `%d`) raises `ValueError`. Every supported
    /// version has the limit: 3.11 introduced it, and 3.7 got it in 3.7.14 (CVE-2020-10735),
    /// so the 3.7.16 that Flask-Cache 0.13 is measured on has it too.
    pub const fn int_max_str_digits(self) -> usize {
        4300
    }

    /// The `ValueError` CPython raises for an `int` over [`Self::int_max_str_digits`].
    pub fn int_max_str_digits_error(self) -> crate::error::PyError {
        // 3.7's backport words it without "digits".
        let digits = match self {
            PythonVersion::Py37 => "",
            _ => " digits",
        };
        crate::error::PyError::value_error(format!(
            "Exceeds the limit ({}{digits}) for integer string conversion; use \
             sys.set_int_max_str_digits() to increase the limit",
            self.int_max_str_digits()
        ))
    }

    /// Whether a non-empty `OrderedDict` prints as `OrderedDict({k: v})` (3.12 and later)
    /// rather than `OrderedDict([(k, v)])`.
    pub fn ordered_dict_as_dict(self) -> bool {
        matches!(self, PythonVersion::Py312 | PythonVersion::Py313)
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `\x` and two lowercase hex digits.
fn push_hex2(out: &mut String, b: u8) {
    out.push_str("\\x");
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0xf)]));
}

/// Appends the low `digits` hex digits of `v`, lowercase.
fn push_hex(out: &mut String, v: u32, digits: u32) {
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((v >> (4 * i)) & 0xf) as usize]));
    }
}

/// CPython's quote choice for `str` and `bytes` reprs: `'` unless the text contains `'`
/// and no `"`.
fn choose_quote(has_single: bool, has_double: bool) -> u8 {
    if has_single && !has_double {
        b'"'
    } else {
        b'\''
    }
}

/// Appends `repr(s)` as CPython `version` prints it (`unicode_repr`).
///
/// The quote is `'` unless `s` contains `'` and no `"`. Backslash, the chosen quote, tab,
/// newline and carriage return are escaped as `\\`, `\'`/`\"`, `\t`, `\n`, `\r`; other
/// ASCII control characters and U+007F become `\xhh`; a non-ASCII character stays as is
/// when `str.isprintable()` is true for it in that version's Unicode database, and is
/// otherwise written `\xhh`, `\uhhhh` or `\Uhhhhhhhh` (lowercase hex).
pub fn repr_str_into(s: &str, out: &mut String, version: PythonVersion) {
    let bytes = s.as_bytes();
    let quote = choose_quote(bytes.contains(&b'\''), bytes.contains(&b'"'));
    out.reserve(s.len() + 2);
    out.push(char::from(quote));
    // Runs of characters that need no escape are copied as one slice.
    let mut run_start = 0;
    for (i, c) in s.char_indices() {
        let needs_escape = if c.is_ascii() {
            let b = c as u8;
            b == b'\\' || b == quote || !(0x20..0x7f).contains(&b)
        } else {
            !is_printable(c, version)
        };
        if !needs_escape {
            continue;
        }
        out.push_str(&s[run_start..i]);
        run_start = i + c.len_utf8();
        let code = u32::from(c);
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            _ if code < 0x100 => push_hex2(out, code as u8),
            _ if code < 0x1_0000 => {
                out.push_str("\\u");
                push_hex(out, code, 4);
            }
            _ => {
                out.push_str("\\U");
                push_hex(out, code, 8);
            }
        }
    }
    out.push_str(&s[run_start..]);
    out.push(char::from(quote));
}

/// Appends `repr(b)` (CPython's `bytes` repr: `b'...'`, same quote rule as `str`).
fn repr_bytes_into(b: &[u8], out: &mut String) {
    let quote = choose_quote(b.contains(&b'\''), b.contains(&b'"'));
    out.reserve(b.len() + 3);
    out.push('b');
    out.push(char::from(quote));
    for &byte in b {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if byte == quote => {
                out.push('\\');
                out.push(char::from(byte));
            }
            0x20..=0x7e => out.push(char::from(byte)),
            _ => push_hex2(out, byte),
        }
    }
    out.push(char::from(quote));
}

/// Appends `repr(cls)`: `<class 'module.qualname'>`, or `<class 'qualname'>` for
/// `builtins`. CPython formats the names with `%U`/`%s` between literal `'`s: nothing in
/// them is escaped.
fn repr_class_into(class: &ClassRef, out: &mut String) {
    out.push_str("<class '");
    if class.module != "builtins" {
        out.push_str(&class.module);
        out.push('.');
    }
    out.push_str(&class.qualname);
    out.push_str("'>");
}

/// Appends `item, item, ...` (the inside of a list or tuple).
fn repr_items_into(items: &[Value], out: &mut String, version: PythonVersion) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        repr_into(item, out, version);
    }
}

/// Appends `{k: v, ...}`.
fn repr_dict_into(pairs: &[(Value, Value)], out: &mut String, version: PythonVersion) {
    out.push('{');
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        repr_into(key, out, version);
        out.push_str(": ");
        repr_into(value, out, version);
    }
    out.push('}');
}

/// Appends `repr(value)` exactly as CPython `version` prints it.
pub(crate) fn repr_into(value: &Value, out: &mut String, version: PythonVersion) {
    match value {
        Value::None => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(i) => i.write_decimal(out),
        Value::Float(x) => write_float_repr(*x, out),
        Value::Str(s) => repr_str_into(s, out, version),
        Value::Bytes(b) => repr_bytes_into(b, out),
        Value::Tuple(items) => {
            out.push('(');
            repr_items_into(items, out, version);
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Value::List(items) => {
            out.push('[');
            repr_items_into(items, out, version);
            out.push(']');
        }
        Value::Dict(pairs) => repr_dict_into(pairs, out, version),
        Value::OrderedDict(pairs) => {
            out.push_str("OrderedDict(");
            if pairs.is_empty() {
                // `OrderedDict()` in every version.
            } else if version.ordered_dict_as_dict() {
                repr_dict_into(pairs, out, version);
            } else {
                out.push('[');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push('(');
                    repr_into(key, out, version);
                    out.push_str(", ");
                    repr_into(value, out, version);
                    out.push(')');
                }
                out.push(']');
            }
            out.push(')');
        }
        Value::Class(class) => repr_class_into(class, out),
        Value::Object(object) => out.push_str(&object.repr),
        Value::Exception(e) => match e.http() {
            Some(h) => out.push_str(&h.repr),
            // `BaseException.__repr__` of a one-argument exception: `ValueError('msg')`.
            None => {
                out.push_str(e.kind.as_str());
                out.push('(');
                repr_str_into(&e.message, out, version);
                out.push(')');
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{PyInt, PyObject};

    fn r(v: &Value) -> String {
        v.repr(PythonVersion::Py311)
    }

    fn rs(s: &str, version: PythonVersion) -> String {
        let mut out = String::new();
        repr_str_into(s, &mut out, version);
        out
    }

    #[test]
    fn version_parse_and_names() {
        for v in PythonVersion::ALL {
            assert_eq!(PythonVersion::parse(v.as_str()), Some(v));
            assert_eq!(v.to_string(), v.as_str());
        }
        assert_eq!(PythonVersion::parse("3.10"), None);
        assert_eq!(PythonVersion::parse("3.12.1"), None);
        assert_eq!(PythonVersion::default(), PythonVersion::Py311);
    }

    #[test]
    fn scalars() {
        assert_eq!(r(&Value::None), "None");
        assert_eq!(r(&Value::Bool(true)), "True");
        assert_eq!(r(&Value::Bool(false)), "False");
        assert_eq!(r(&Value::int(-42)), "-42");
        let big = PyInt::parse("-000123456789012345678901234567890").unwrap();
        assert_eq!(r(&Value::Int(big)), "-123456789012345678901234567890");
        assert_eq!(r(&Value::Float(1.5)), "1.5");
        assert_eq!(r(&Value::Float(1e16)), "1e+16");
    }

    #[test]
    fn strings() {
        let v = PythonVersion::Py311;
        assert_eq!(rs("", v), "''");
        assert_eq!(rs("abc", v), "'abc'");
        assert_eq!(rs("a'b", v), "\"a'b\"");
        assert_eq!(rs("a\"b", v), "'a\"b'");
        assert_eq!(rs("a'\"b", v), "'a\\'\"b'");
        assert_eq!(
            rs("\\\t\n\r\x00\x1f\x7f", v),
            "'\\\\\\t\\n\\r\\x00\\x1f\\x7f'"
        );
        assert_eq!(rs("é\u{80}\u{a0}\u{ad}", v), "'é\\x80\\xa0\\xad'");
        assert_eq!(rs("\u{200b}\u{2028}\u{3000}", v), "'\\u200b\\u2028\\u3000'");
        assert_eq!(rs("\u{e0001}\u{10ffff}😀", v), "'\\U000e0001\\U0010ffff😀'");
        assert_eq!(rs("\u{301}ﬀ日本", v), "'\u{301}ﬀ日本'");
    }

    #[test]
    fn strings_follow_the_unicode_version() {
        // U+1FAE8 SHAKING FACE: new in Unicode 15.0.
        assert_eq!(rs("\u{1fae8}", PythonVersion::Py311), "'\\U0001fae8'");
        assert_eq!(rs("\u{1fae8}", PythonVersion::Py312), "'\u{1fae8}'");
        // U+2EBF0: CJK Extension I, new in Unicode 15.1.
        assert_eq!(rs("\u{2ebf0}", PythonVersion::Py312), "'\\U0002ebf0'");
        assert_eq!(rs("\u{2ebf0}", PythonVersion::Py313), "'\u{2ebf0}'");
    }

    #[test]
    fn bytes() {
        assert_eq!(r(&Value::Bytes(vec![])), "b''");
        assert_eq!(r(&Value::Bytes(b"a'b".to_vec())), "b\"a'b\"");
        assert_eq!(r(&Value::Bytes(b"a\"b".to_vec())), "b'a\"b'");
        assert_eq!(r(&Value::Bytes(b"a'\"b".to_vec())), "b'a\\'\"b'");
        assert_eq!(
            r(&Value::Bytes(vec![
                b'\\', 9, 10, 13, 0, 0x1f, 0x7f, 0x80, 0xff
            ])),
            "b'\\\\\\t\\n\\r\\x00\\x1f\\x7f\\x80\\xff'"
        );
    }

    #[test]
    fn containers() {
        assert_eq!(r(&Value::Tuple(vec![])), "()");
        assert_eq!(r(&Value::Tuple(vec![Value::int(1)])), "(1,)");
        assert_eq!(
            r(&Value::Tuple(vec![Value::int(1), Value::str("a")])),
            "(1, 'a')"
        );
        assert_eq!(r(&Value::List(vec![])), "[]");
        assert_eq!(
            r(&Value::List(vec![Value::None, Value::Tuple(vec![])])),
            "[None, ()]"
        );
        assert_eq!(r(&Value::Dict(vec![])), "{}");
        assert_eq!(
            r(&Value::Dict(vec![
                (Value::str("a"), Value::int(1)),
                (Value::int(2), Value::List(vec![]))
            ])),
            "{'a': 1, 2: []}"
        );
    }

    #[test]
    fn ordered_dict_depends_on_version() {
        let empty = Value::OrderedDict(vec![]);
        let od = Value::OrderedDict(vec![
            (Value::int(1), Value::str("a")),
            (Value::str("b"), Value::Tuple(vec![Value::int(2)])),
        ]);
        for v in PythonVersion::ALL {
            assert_eq!(empty.repr(v), "OrderedDict()");
        }
        assert_eq!(
            od.repr(PythonVersion::Py311),
            "OrderedDict([(1, 'a'), ('b', (2,))])"
        );
        assert_eq!(
            od.repr(PythonVersion::Py312),
            "OrderedDict({1: 'a', 'b': (2,)})"
        );
        assert_eq!(
            od.repr(PythonVersion::Py313),
            "OrderedDict({1: 'a', 'b': (2,)})"
        );
    }

    #[test]
    fn classes_and_objects() {
        assert_eq!(
            r(&Value::Class(ClassRef::new("builtins", "int"))),
            "<class 'int'>"
        );
        assert_eq!(
            r(&Value::Class(ClassRef::new("app.models", "Outer.Inner"))),
            "<class 'app.models.Outer.Inner'>"
        );
        let object = PyObject {
            class: ClassRef::new("app", "Thing"),
            repr: "<Thing 'x'\n>".to_owned(),
            caching_id: None,
        };
        assert_eq!(
            r(&Value::List(vec![Value::Object(Box::new(object))])),
            "[<Thing 'x'\n>]"
        );
    }

    #[test]
    fn appends_to_existing_text() {
        let mut out = String::from("f(");
        Value::str("x").repr_into(&mut out, PythonVersion::Py312);
        out.push(')');
        assert_eq!(out, "f('x')");
    }
}
