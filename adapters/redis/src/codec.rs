//! cachelib's `RedisSerializer` in both directions.
//!
//! Writing is the engine's [`flaskcache_engine::store::redis::serialize`]: an `int` (not a
//! `bool`) as ASCII decimal, anything else `!` + `pickle.dumps(value, 5)`, byte-identical
//! to CPython 3.11 for `None`, `bool`, `int`, `float`, `str`, `bytes`, tuples, lists, dicts
//! and `OrderedDict`s, provided no `str`, `bytes` or container object occurs twice in the
//! value (CPython refers back to an object it has already written, by identity, which a
//! [`Value`] does not record; the bytes then differ, the value Python reads back is equal).
//!
//! Reading is [`loads`], cachelib's `RedisSerializer.loads`, with a pickle reader of its
//! own ([`unpickle`]): it keeps a `dict`'s insertion order (Python's dicts are ordered; a
//! reader that goes through a sorted map would silently reorder them), tells tuples from
//! lists, reads `int`s, and every opcode CPython writes for the supported types at
//! protocols 0 to 5. Any other Python type is a [`DecodeError::Unrepresentable`] naming
//! it (`cannot represent a pickled datetime.datetime`), never a panic and never a wrong
//! value.
//!
//! # Corrupt pickles
//!
//! A malformed pickle fails as CPython 3.11's `pickle.loads` (the C `_pickle` module)
//! fails on it, and [`loads`] then does what cachelib's `loads` does:
//!
//! - where `pickle.loads` raises `pickle.UnpicklingError` (data truncated inside an
//!   opcode, an unknown opcode, a stack underflow, a missing mark or memo entry, an odd
//!   number of dict items, a persistent id), cachelib catches it (`except
//!   pickle.PickleError`) and returns `None`: so does [`loads`] (`Ok(Value::None)`), and
//!   [`unpickle`] reports [`DecodeError::Unpickling`];
//! - where it raises anything else (`EOFError` when the data ends before an opcode,
//!   `ValueError` for bad text numbers or an unsupported protocol, `OverflowError` for a
//!   length of 2^63 or more, `UnicodeDecodeError`, `TypeError` for an unhashable dict key,
//!   `AttributeError` for an APPEND to a non-list, ...), the exception propagates from
//!   cachelib's `get`: [`loads`] reports [`DecodeError::Malformed`] whose text starts with
//!   the exception's name (`EOFError: Ran out of input`).
//!
//! `tests/pickle_errors.py` prints CPython's verdict for a list of malformed inputs and
//! `tests/pickle_errors.rs` checks this classification against it.
//!
//! Known differences: an object of a type the value model lacks (a `set`, a class
//! instance, a Python 2 `str`, ...) stops the reader at once with
//! [`DecodeError::Unrepresentable`], where CPython would go on and might still fail with
//! `UnpicklingError` later in the same (corrupt) pickle; a global that does not exist is
//! also `Unrepresentable` (CPython: `ModuleNotFoundError` / `AttributeError`); a float
//! NaN is never equal to another dict key (CPython compares identity first, so a NaN
//! object a pickle uses twice as a key is one key there).
//!
//! # Bounds
//!
//! The reader is iterative (no recursion on the input's nesting) and its work and memory
//! are linear in the input, except for the copies below, which are budgeted:
//!
//! - nesting deeper than [`MAX_DEPTH`] containers is [`DecodeError::TooLarge`]. CPython's
//!   own pickler cannot write such a value (it raises `RecursionError` near its default
//!   recursion limit of 1000), and [`Value`]'s `Drop`, `PartialEq` and `repr` recurse, so
//!   a deeper value would only move the stack overflow elsewhere;
//! - a [`Value`] has no identity, so an object the pickle shares (memo, `DUP`) is copied
//!   once per reference. The copies are bounded: at most
//!   max([`MIN_OBJECT_BUDGET`], 4 × input length) objects and at most
//!   max([`MIN_BYTE_BUDGET`], 16 × input length) bytes of `str`, `bytes` and `int`
//!   digit content; beyond that, [`DecodeError::TooLarge`] (CPython would share);
//! - a binary `int` (LONG1/LONG4) longer than [`MAX_LONG_BYTES`] bytes, or a text one in
//!   base 2, 8 or 16 of more bits, is [`DecodeError::TooLarge`]: the value model holds
//!   an `int` as decimal text, whose conversion is superlinear. That is an `int` of about
//!   158,000 digits; CPython 3.11 cannot `repr` one above 4300 digits anyway (decimal text
//!   ints above 4300 digits fail as in CPython, with `ValueError`).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};

use flaskcache_engine::{PyInt, Value};
use num_bigint::BigInt;

/// Why stored bytes could not be turned into a [`Value`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The pickle holds a Python object of a type the value model has no form for; the
    /// text names it as `module.qualname` (`collections.deque`, `builtins.set`,
    /// `datetime.datetime`, `__main__.Point`).
    Unrepresentable(String),
    /// `pickle.loads` raises `pickle.UnpicklingError` on these bytes (the text is its
    /// message). Only [`unpickle`] reports it: cachelib, and so [`loads`], return `None`.
    Unpickling(String),
    /// `pickle.loads` raises an exception that is not a `pickle.PickleError`, which
    /// propagates from cachelib's `get`; the text is `ExceptionName: message`
    /// (`EOFError: Ran out of input`).
    Malformed(String),
    /// CPython reads the pickle, this reader refuses it: nested deeper than
    /// [`MAX_DEPTH`], more copies of shared objects than its budget, or an `int` longer
    /// than [`MAX_LONG_BYTES`] (see the module documentation).
    TooLarge(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Unrepresentable(what) => write!(f, "cannot represent a pickled {what}"),
            DecodeError::Unpickling(why) => write!(f, "_pickle.UnpicklingError: {why}"),
            DecodeError::Malformed(why) => write!(f, "cannot read the pickle: {why}"),
            DecodeError::TooLarge(why) => write!(f, "cannot read the pickle: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// cachelib's `RedisSerializer.dumps(value)`: the bytes `RedisCache` stores for `value`.
pub fn dumps(value: &Value) -> Vec<u8> {
    flaskcache_engine::store::redis::serialize(value)
}

/// cachelib's `RedisSerializer.loads(raw)`: `None` for a missing key; `!` + pickle is
/// unpickled; anything else is `int(raw)` when Python's `int()` accepts it (surrounding
/// ASCII whitespace, a sign, `_` between digits, at most 4300 digits as CPython 3.11
/// allows), else the raw bytes themselves (cachelib's support for values stored before it
/// serialised anything).
///
/// As in cachelib, a pickle on which `pickle.loads` raises `UnpicklingError` reads as
/// `None` (`except pickle.PickleError: return None`); any other exception
/// `pickle.loads` raises is [`DecodeError::Malformed`] naming it (see the module
/// documentation).
pub fn loads(raw: Option<&[u8]>) -> Result<Value, DecodeError> {
    let Some(raw) = raw else {
        return Ok(Value::None);
    };
    if let Some(pickle) = raw.strip_prefix(b"!") {
        return match unpickle(pickle) {
            Err(DecodeError::Unpickling(_)) => Ok(Value::None),
            other => other,
        };
    }
    Ok(match py_int(raw) {
        Some(i) => Value::Int(i),
        None => Value::Bytes(raw.to_vec()),
    })
}

/// CPython's `int(b)` for a `bytes` argument in base 10, or `None` where it raises
/// `ValueError`.
fn py_int(raw: &[u8]) -> Option<PyInt> {
    py_long(raw, false).ok()
}

/// Python's whitespace for `int()` and `PyLong_FromString` (`Py_ISSPACE`).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

enum LongError {
    /// `ValueError: invalid literal for int() ...`.
    Invalid,
    /// `ValueError: Exceeds the limit (4300 digits) ...`.
    Digits(usize),
    /// Beyond [`MAX_LONG_BYTES`].
    TooLarge(DecodeError),
}

/// CPython's `PyLong_FromString(text, NULL, base)` for base 10, or base 0 when `auto`
/// (`0x`/`0o`/`0b` prefixes, no leading zeros in decimal): surrounding whitespace, a sign,
/// single `_` between digits (and after a prefix), at most 4300 decimal digits.
fn py_long(raw: &[u8], auto: bool) -> Result<PyInt, LongError> {
    let start = raw
        .iter()
        .position(|&b| !is_space(b))
        .ok_or(LongError::Invalid)?;
    let end = raw
        .iter()
        .rposition(|&b| !is_space(b))
        .ok_or(LongError::Invalid)?
        + 1;
    let text = &raw[start..end];
    let (negative, mut body) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut radix = 10u32;
    let mut after_prefix = false;
    let mut zeros_only = false;
    if auto {
        match body {
            [b'0', b'x' | b'X', rest @ ..] => (radix, after_prefix, body) = (16, true, rest),
            [b'0', b'o' | b'O', rest @ ..] => (radix, after_prefix, body) = (8, true, rest),
            [b'0', b'b' | b'B', rest @ ..] => (radix, after_prefix, body) = (2, true, rest),
            [b'0', ..] => zeros_only = true,
            _ => {}
        }
    }
    let mut digits = Vec::with_capacity(body.len() + 1);
    if negative {
        digits.push(b'-');
    }
    let mut prev_digit = after_prefix;
    let mut count = 0usize;
    for &b in body {
        if b == b'_' {
            if !prev_digit {
                return Err(LongError::Invalid);
            }
            prev_digit = false;
        } else if char::from(b).is_digit(radix) {
            if zeros_only && b != b'0' {
                return Err(LongError::Invalid);
            }
            digits.push(b);
            count += 1;
            prev_digit = true;
        } else {
            return Err(LongError::Invalid);
        }
    }
    if count == 0 || !prev_digit {
        return Err(LongError::Invalid);
    }
    if radix == 10 {
        if count > 4300 {
            return Err(LongError::Digits(count));
        }
        // Only ASCII digits and a sign were kept.
        let text = String::from_utf8_lossy(&digits);
        return PyInt::parse(&text).map_err(|_| LongError::Invalid);
    }
    let bits = count.saturating_mul(radix.trailing_zeros() as usize);
    if bits > MAX_LONG_BYTES * 8 {
        return Err(LongError::TooLarge(too_large_int(bits.div_ceil(8))));
    }
    let magnitude = &digits[usize::from(negative)..];
    let big = BigInt::parse_bytes(magnitude, radix).ok_or(LongError::Invalid)?;
    let big = if negative { -big } else { big };
    PyInt::parse(&big.to_string()).map_err(|_| LongError::Invalid)
}

fn too_large_int(bytes: usize) -> DecodeError {
    DecodeError::TooLarge(format!(
        "an int of {bytes} bytes exceeds this reader's limit of {MAX_LONG_BYTES} bytes"
    ))
}

/// glibc's `strtol(text, &end, 0)` when it converts all of `text` without overflow, as
/// CPython's INT opcode first tries it.
fn c_strtol0(s: &[u8]) -> Option<i64> {
    let mut i = s.iter().position(|&b| !is_space(b)).unwrap_or(s.len());
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let radix = if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        i += 2;
        16
    } else if s.get(i) == Some(&b'0') {
        8
    } else {
        10
    };
    let start = i;
    let mut magnitude = 0u64;
    while let Some(d) = s.get(i).and_then(|&b| char::from(b).to_digit(radix)) {
        magnitude = magnitude
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(d))?;
        i += 1;
    }
    if i == start || i != s.len() {
        return None;
    }
    if negative {
        (magnitude <= 1 << 63).then(|| 0u64.wrapping_sub(magnitude) as i64)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// A C string's view of a line: up to its first NUL byte.
fn c_str(line: &[u8]) -> &[u8] {
    line.iter()
        .position(|&b| b == 0)
        .map_or(line, |n| &line[..n])
}

/// The deepest nesting of containers [`unpickle`] rebuilds (see the module documentation).
pub const MAX_DEPTH: usize = 1000;
/// The fewest objects [`unpickle`] may rebuild, whatever the input's length.
pub const MIN_OBJECT_BUDGET: usize = 1 << 20;
/// The fewest bytes of `str`, `bytes` and `int` digits [`unpickle`] may rebuild.
pub const MIN_BYTE_BUDGET: usize = 64 << 20;
/// The longest binary `int` (LONG1, LONG4) [`unpickle`] reads, in bytes.
pub const MAX_LONG_BYTES: usize = 1 << 16;

/// `pickle.loads(data)` for the types [`Value`] represents: `None`, `bool`, `int`,
/// `float`, `str`, `bytes`, `tuple`, `list`, `dict` (insertion order kept) and
/// `collections.OrderedDict`. Objects the pickle shares are copied; a recursive structure
/// is refused. Errors are classified as CPython's (see the module documentation).
pub fn unpickle(data: &[u8]) -> Result<Value, DecodeError> {
    let mut m = Machine {
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        leaves: Vec::new(),
        globals: Vec::new(),
        nodes: Vec::new(),
    };
    let top = m.run()?;
    Builder {
        m: &m,
        objects_left: MIN_OBJECT_BUDGET.max(data.len().saturating_mul(4)),
        bytes_left: MIN_BYTE_BUDGET.max(data.len().saturating_mul(16)),
    }
    .build(top)
}

/// A stack entry: an index into the machine's leaves, nodes or globals. Copying one
/// shares the object, as CPython's stack and memo share references.
#[derive(Clone, Copy, Debug)]
enum Item {
    Leaf(usize),
    Node(usize),
    Global(usize),
}

#[derive(Debug)]
enum Node {
    List(Vec<Item>),
    /// The items, and the type of the first unhashable one (a tuple is hashable when its
    /// items are).
    Tuple(Vec<Item>, Option<&'static str>),
    Dict(Vec<(Item, Item)>),
    OrderedDict(Vec<(Item, Item)>),
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Item>,
    marks: Vec<usize>,
    memo: HashMap<u64, Item>,
    leaves: Vec<Value>,
    globals: Vec<(String, String)>,
    nodes: Vec<Node>,
}

fn unpickling(why: impl Into<String>) -> DecodeError {
    DecodeError::Unpickling(why.into())
}

fn raised(exception: &str, message: impl fmt::Display) -> DecodeError {
    DecodeError::Malformed(format!("{exception}: {message}"))
}

fn truncated() -> DecodeError {
    unpickling("pickle data was truncated")
}

fn unrepresentable(what: impl Into<String>) -> DecodeError {
    DecodeError::Unrepresentable(what.into())
}

const SSIZE_MAX: u64 = i64::MAX as u64;

fn long_error(err: LongError, text: &[u8], base: u32) -> DecodeError {
    match err {
        LongError::Invalid => raised(
            "ValueError",
            format!(
                "invalid literal for int() with base {base}: {:?}",
                String::from_utf8_lossy(text)
            ),
        ),
        LongError::Digits(n) => raised(
            "ValueError",
            format!(
                "Exceeds the limit (4300 digits) for integer string conversion: value has \
                 {n} digits; use sys.set_int_max_str_digits() to increase the limit"
            ),
        ),
        LongError::TooLarge(e) => e,
    }
}

/// Python's `float(text)` as `PyOS_string_to_double` reads a FLOAT line: no surrounding
/// whitespace, no `_`; `inf`, `infinity`, `nan` in any case; an overflow is
/// `OverflowError`.
fn parse_py_float(text: &[u8]) -> Result<f64, DecodeError> {
    let invalid = || {
        raised(
            "ValueError",
            format!(
                "could not convert string to float: {:?}",
                String::from_utf8_lossy(text)
            ),
        )
    };
    let s = std::str::from_utf8(text).map_err(|_| invalid())?;
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    let numeric = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !special && !numeric {
        return Err(invalid());
    }
    let f: f64 = s.parse().map_err(|_| invalid())?;
    if f.is_infinite() && !special {
        return Err(raised(
            "OverflowError",
            format!("value too large to convert to float: {s:?}"),
        ));
    }
    Ok(f)
}

/// `bytes.decode("utf-8", "surrogatepass")`: `Ok(None)` when the text holds an encoded
/// surrogate (valid for Python, not for a Rust `String`).
fn utf8_surrogatepass(bytes: &[u8]) -> Result<Option<String>, DecodeError> {
    let mut rest = bytes;
    let mut surrogate = false;
    loop {
        match std::str::from_utf8(rest) {
            Ok(_) => break,
            Err(e) => {
                let at = e.valid_up_to();
                match rest.get(at..at + 3) {
                    Some([0xed, 0xa0..=0xbf, 0x80..=0xbf]) => {
                        surrogate = true;
                        rest = &rest[at + 3..];
                    }
                    _ => {
                        let pos = bytes.len() - rest.len() + at;
                        return Err(raised(
                            "UnicodeDecodeError",
                            format!(
                                "'utf-8' codec can't decode byte 0x{:02x} in position {pos}",
                                rest[at]
                            ),
                        ));
                    }
                }
            }
        }
    }
    if surrogate {
        return Ok(None);
    }
    Ok(std::str::from_utf8(bytes).ok().map(str::to_owned))
}

/// `bytes.decode("raw-unicode-escape")`, as the UNICODE opcode (protocol 0) reads its line:
/// `Ok(None)` when the text holds a surrogate.
fn raw_unicode_escape(line: &[u8]) -> Result<Option<String>, DecodeError> {
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b != b'\\' {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let run = line[i..].iter().take_while(|&&c| c == b'\\').count();
        let next = line.get(i + run).copied();
        if run % 2 == 0 || !matches!(next, Some(b'u' | b'U')) {
            out.extend(std::iter::repeat_n('\\', run));
            i += run;
            continue;
        }
        out.extend(std::iter::repeat_n('\\', run - 1));
        let width = if next == Some(b'u') { 4 } else { 8 };
        let start = i + run + 1;
        let hex = line
            .get(start..start + width)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .ok_or_else(|| {
                raised(
                    "UnicodeDecodeError",
                    format!(
                        "'rawunicodeescape' codec can't decode bytes: truncated \\{}XXXX escape",
                        char::from(next.unwrap_or(b'u'))
                    ),
                )
            })?;
        let code = hex.iter().fold(0u32, |acc, &h| {
            (acc << 4) | char::from(h).to_digit(16).unwrap_or(0)
        });
        if code > 0x10ffff {
            return Err(raised(
                "UnicodeDecodeError",
                "'rawunicodeescape' codec can't decode bytes: \\Uxxxxxxxx out of range",
            ));
        }
        match char::from_u32(code) {
            Some(c) => out.push(c),
            None => return Ok(None),
        }
        i = start + width;
    }
    Ok(Some(out))
}

impl Machine<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(truncated)?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn le(&mut self, n: usize) -> Result<u64, DecodeError> {
        let bytes = self.take(n)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// An 8-byte length: CPython refuses one above `sys.maxsize` with `OverflowError`.
    fn len8(&mut self, what: &str) -> Result<usize, DecodeError> {
        let n = self.le(8)?;
        if n > SSIZE_MAX {
            return Err(raised(
                "OverflowError",
                format!("{what} exceeds system's maximum size of {SSIZE_MAX} bytes"),
            ));
        }
        // A length beyond the address space cannot be satisfied by the data either.
        usize::try_from(n).map_err(|_| truncated())
    }

    /// A line without its `\n` (a missing `\n` is truncation).
    fn raw_line(&mut self) -> Result<&[u8], DecodeError> {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(truncated)?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    /// A line that must hold something besides its `\n` (CPython's `len < 2` check).
    fn line(&mut self) -> Result<&[u8], DecodeError> {
        let line = self.raw_line()?;
        if line.is_empty() {
            return Err(truncated());
        }
        Ok(line)
    }

    fn utf8_line(&mut self) -> Result<String, DecodeError> {
        let line = self.line()?;
        std::str::from_utf8(line).map(str::to_owned).map_err(|e| {
            raised(
                "UnicodeDecodeError",
                format!(
                    "'utf-8' codec can't decode byte 0x{:02x} in position {}",
                    line[e.valid_up_to()],
                    e.valid_up_to()
                ),
            )
        })
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn underflow(&self) -> DecodeError {
        unpickling(if self.marks.is_empty() {
            "unpickling stack underflow"
        } else {
            "unexpected MARK found"
        })
    }

    fn check_top(&self) -> Result<Item, DecodeError> {
        if self.stack.len() <= self.fence() {
            return Err(self.underflow());
        }
        self.stack.last().copied().ok_or_else(|| self.underflow())
    }

    fn pop(&mut self) -> Result<Item, DecodeError> {
        let top = self.check_top()?;
        self.stack.pop();
        Ok(top)
    }

    fn marker(&mut self) -> Result<usize, DecodeError> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| unpickling("could not find MARK"))?;
        if mark > self.stack.len() {
            return Err(self.underflow());
        }
        Ok(mark)
    }

    fn leaf(&mut self, value: Value) {
        self.leaves.push(value);
        self.stack.push(Item::Leaf(self.leaves.len() - 1));
    }

    fn push_node(&mut self, node: Node) {
        self.nodes.push(node);
        self.stack.push(Item::Node(self.nodes.len() - 1));
    }

    fn tuple(&mut self, items: Vec<Item>) {
        let unhashable = items.iter().find_map(|it| self.unhashable(*it));
        self.push_node(Node::Tuple(items, unhashable));
    }

    /// The type `hash(item)` complains about, if it is unhashable.
    fn unhashable(&self, item: Item) -> Option<&'static str> {
        match item {
            Item::Leaf(_) | Item::Global(_) => None,
            Item::Node(i) => match &self.nodes[i] {
                Node::List(_) => Some("list"),
                Node::Dict(_) => Some("dict"),
                Node::OrderedDict(_) => Some("OrderedDict"),
                Node::Tuple(_, unhashable) => *unhashable,
            },
        }
    }

    /// `type(item).__name__`.
    fn type_name(&self, item: Item) -> &'static str {
        match item {
            Item::Leaf(i) => match &self.leaves[i] {
                Value::None => "NoneType",
                Value::Bool(_) => "bool",
                Value::Int(_) => "int",
                Value::Float(_) => "float",
                Value::Str(_) => "str",
                Value::Bytes(_) => "bytes",
                _ => "object",
            },
            Item::Node(i) => match &self.nodes[i] {
                Node::List(_) => "list",
                Node::Tuple(..) => "tuple",
                Node::Dict(_) => "dict",
                Node::OrderedDict(_) => "OrderedDict",
            },
            Item::Global(_) => "type",
        }
    }

    fn global_name(&self, g: usize) -> String {
        let (m, n) = &self.globals[g];
        format!("{m}.{n}")
    }

    /// CPython's `do_append(x)`: `stack[x-1].extend(stack[x..])`.
    fn do_append(&mut self, x: usize) -> Result<(), DecodeError> {
        if x > self.stack.len() || x <= self.fence() {
            return Err(self.underflow());
        }
        if x == self.stack.len() {
            return Ok(());
        }
        match self.stack[x - 1] {
            Item::Node(i) if matches!(self.nodes[i], Node::List(_)) => {
                let items = self.stack.split_off(x);
                if let Node::List(list) = &mut self.nodes[i] {
                    list.extend(items);
                }
                Ok(())
            }
            Item::Global(g) => Err(unrepresentable(self.global_name(g))),
            other => Err(raised(
                "AttributeError",
                format!(
                    "'{}' object has no attribute 'append'",
                    self.type_name(other)
                ),
            )),
        }
    }

    /// CPython's `do_setitems(x)`: `stack[x-1][k] = v` for the pairs in `stack[x..]`.
    fn do_setitems(&mut self, x: usize) -> Result<(), DecodeError> {
        if x > self.stack.len() || x <= self.fence() {
            return Err(self.underflow());
        }
        if x == self.stack.len() {
            return Ok(());
        }
        if !(self.stack.len() - x).is_multiple_of(2) {
            return Err(unpickling("odd number of items for SETITEMS"));
        }
        let target = self.stack[x - 1];
        let items = self.stack.split_off(x);
        for pair in items.chunks_exact(2) {
            self.set_item(target, pair[0], pair[1])?;
        }
        Ok(())
    }

    fn set_item(&mut self, target: Item, key: Item, value: Item) -> Result<(), DecodeError> {
        let i = match target {
            Item::Node(i) => i,
            Item::Global(g) => return Err(unrepresentable(self.global_name(g))),
            Item::Leaf(_) => {
                return Err(raised(
                    "TypeError",
                    format!(
                        "'{}' object does not support item assignment",
                        self.type_name(target)
                    ),
                ))
            }
        };
        match &self.nodes[i] {
            Node::Dict(_) | Node::OrderedDict(_) => {
                if let Some(name) = self.unhashable(key) {
                    return Err(raised("TypeError", format!("unhashable type: '{name}'")));
                }
                if let Node::Dict(pairs) | Node::OrderedDict(pairs) = &mut self.nodes[i] {
                    pairs.push((key, value));
                }
                Ok(())
            }
            Node::List(list) => {
                let index = match key {
                    Item::Leaf(k) => match &self.leaves[k] {
                        Value::Bool(b) => Some(i64::from(*b)),
                        Value::Int(n) => Some(n.as_i64().unwrap_or(i64::MAX)),
                        _ => None,
                    },
                    _ => None,
                };
                let Some(index) = index else {
                    return Err(raised(
                        "TypeError",
                        format!(
                            "list indices must be integers or slices, not {}",
                            self.type_name(key)
                        ),
                    ));
                };
                let len = list.len() as i64;
                let at = if index < 0 { index + len } else { index };
                if at < 0 || at >= len {
                    return Err(raised("IndexError", "list assignment index out of range"));
                }
                if let Node::List(list) = &mut self.nodes[i] {
                    list[at as usize] = value;
                }
                Ok(())
            }
            Node::Tuple(..) => Err(raised(
                "TypeError",
                "'tuple' object does not support item assignment",
            )),
        }
    }

    fn memo_put(&mut self, idx: u64) -> Result<(), DecodeError> {
        let top = self.check_top()?;
        self.memo.insert(idx, top);
        Ok(())
    }

    fn memo_get(&mut self, idx: i128) -> Result<(), DecodeError> {
        let item = u64::try_from(idx)
            .ok()
            .and_then(|i| self.memo.get(&i).copied())
            .ok_or_else(|| unpickling(format!("Memo value not found at index {idx}")))?;
        self.stack.push(item);
        Ok(())
    }

    /// A PUT or GET line: `int(line)` in base 10, as a C `ssize_t`.
    fn memo_index(&mut self) -> Result<i64, DecodeError> {
        let line = c_str(self.line()?);
        let n = py_long(line, false).map_err(|e| long_error(e, line, 10))?;
        n.as_i64().ok_or_else(|| {
            raised(
                "OverflowError",
                "Python int too large to convert to C ssize_t",
            )
        })
    }

    /// INT: `strtol(line, 0)`, `01`/`00` being `True`/`False`, else `int(line, 0)`.
    fn load_int(&mut self) -> Result<(), DecodeError> {
        let line = self.line()?;
        let len = line.len();
        let text = c_str(line);
        let value = match c_strtol0(text) {
            Some(x @ (0 | 1)) if len == 2 => Value::Bool(x == 1),
            Some(x) => Value::int(x),
            None => match py_long(text, true) {
                Ok(i) => Value::Int(i),
                Err(LongError::TooLarge(e)) => return Err(e),
                Err(_) => return Err(raised("ValueError", "could not convert string to int")),
            },
        };
        self.leaf(value);
        Ok(())
    }

    /// LONG: `int(line, 0)` without a trailing `L`.
    fn load_text_long(&mut self) -> Result<(), DecodeError> {
        let line = self.line()?;
        let line = match line.split_last() {
            Some((b'L', rest)) => rest,
            _ => line,
        };
        let text = c_str(line);
        let i = py_long(text, true).map_err(|e| long_error(e, text, 0))?;
        self.leaf(Value::Int(i));
        Ok(())
    }

    fn long(&mut self, n: usize) -> Result<(), DecodeError> {
        if n > MAX_LONG_BYTES {
            return Err(too_large_int(n));
        }
        let bytes = self.take(n)?;
        let value = if bytes.len() <= 8 {
            // Sign-extend a short two's complement number.
            let fill = if bytes.last().is_some_and(|&b| b & 0x80 != 0) {
                0xff
            } else {
                0
            };
            let mut arr = [fill; 8];
            arr[..bytes.len()].copy_from_slice(bytes);
            Value::int(i64::from_le_bytes(arr))
        } else {
            let big = BigInt::from_signed_bytes_le(bytes);
            let i = PyInt::parse(&big.to_string()).map_err(|_| truncated())?;
            Value::Int(i)
        };
        self.leaf(value);
        Ok(())
    }

    fn unicode(&mut self, n: usize) -> Result<(), DecodeError> {
        let bytes = self.take(n)?;
        match utf8_surrogatepass(bytes)? {
            Some(s) => {
                self.leaf(Value::Str(s));
                Ok(())
            }
            None => Err(unrepresentable("str holding a lone surrogate")),
        }
    }

    fn bytes(&mut self, n: usize) -> Result<(), DecodeError> {
        let bytes = self.take(n)?.to_vec();
        self.leaf(Value::Bytes(bytes));
        Ok(())
    }

    fn reduce(&mut self, callable: Item, args: Item) -> Result<(), DecodeError> {
        let args = match args {
            Item::Node(i) => match &self.nodes[i] {
                Node::Tuple(items, _) => items.clone(),
                _ => return Err(raised("TypeError", "argument list must be a tuple")),
            },
            _ => return Err(raised("TypeError", "argument list must be a tuple")),
        };
        let Item::Global(g) = callable else {
            return Err(raised(
                "TypeError",
                format!("'{}' object is not callable", self.type_name(callable)),
            ));
        };
        let (module, name) = &self.globals[g];
        let leaf = |it: &Item| match it {
            Item::Leaf(i) => Some(&self.leaves[*i]),
            _ => None,
        };
        match (module.as_str(), name.as_str(), args.as_slice()) {
            ("collections", "OrderedDict", []) => {
                self.push_node(Node::OrderedDict(Vec::new()));
                Ok(())
            }
            // Protocols 0 to 2 write `bytes` as `_codecs.encode(text, "latin1")`.
            ("_codecs", "encode", [text, enc])
                if matches!(leaf(enc), Some(Value::Str(e)) if e == "latin1")
                    && matches!(leaf(text), Some(Value::Str(_))) =>
            {
                let Some(Value::Str(text)) = leaf(text) else {
                    return Err(unrepresentable("_codecs.encode"));
                };
                let bytes = text
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)))
                    .collect::<Result<Vec<u8>, _>>()
                    .map_err(|_| {
                        raised(
                            "UnicodeEncodeError",
                            "'latin-1' codec can't encode character: ordinal not in range(256)",
                        )
                    })?;
                self.leaf(Value::Bytes(bytes));
                Ok(())
            }
            ("builtins" | "__builtin__", "bytes", []) => {
                self.leaf(Value::Bytes(Vec::new()));
                Ok(())
            }
            ("copyreg" | "copy_reg", "_reconstructor", [Item::Global(c), ..]) => {
                Err(unrepresentable(self.global_name(*c)))
            }
            _ => Err(unrepresentable(self.global_name(g))),
        }
    }

    fn run(&mut self) -> Result<Item, DecodeError> {
        loop {
            let Some(&op) = self.data.get(self.pos) else {
                return Err(raised("EOFError", "Ran out of input"));
            };
            self.pos += 1;
            match op {
                0x80 => {
                    let proto = self.byte()?;
                    if proto > 5 {
                        return Err(raised(
                            "ValueError",
                            format!("unsupported pickle protocol: {proto}"),
                        ));
                    }
                }
                0x95 => {
                    let n = self.le(8)?;
                    if n > SSIZE_MAX {
                        return Err(raised(
                            "OverflowError",
                            format!("FRAME length exceeds system's maximum of {SSIZE_MAX} bytes"),
                        ));
                    }
                    // The frame must be there; its opcodes are then read as usual.
                    let remaining = (self.data.len() - self.pos) as u64;
                    if n > remaining {
                        return Err(truncated());
                    }
                }
                b'.' => {
                    return match self.pop()? {
                        Item::Global(g) => Err(unrepresentable(format!(
                            "reference to {} (a class or function)",
                            self.global_name(g)
                        ))),
                        other => Ok(other),
                    };
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    if self.marks.last() == Some(&self.stack.len()) {
                        self.marks.pop();
                    } else {
                        self.pop()?;
                    }
                }
                b'1' => {
                    let mark = self.marker()?;
                    self.stack.truncate(mark);
                }
                b'2' => {
                    let top = self.check_top()?;
                    self.stack.push(top);
                }
                b'N' => self.leaf(Value::None),
                0x88 => self.leaf(Value::Bool(true)),
                0x89 => self.leaf(Value::Bool(false)),
                b'I' => self.load_int()?,
                b'L' => self.load_text_long()?,
                b'J' => {
                    let v = self.le(4)? as u32 as i32;
                    self.leaf(Value::int(i64::from(v)));
                }
                b'K' => {
                    let v = self.byte()?;
                    self.leaf(Value::int(i64::from(v)));
                }
                b'M' => {
                    let v = self.le(2)?;
                    self.leaf(Value::int(v as i64));
                }
                0x8a => {
                    let n = self.le(1)? as usize;
                    self.long(n)?;
                }
                0x8b => {
                    let n = self.le(4)? as u32 as i32;
                    let n = usize::try_from(n)
                        .map_err(|_| unpickling("LONG pickle has negative byte count"))?;
                    self.long(n)?;
                }
                b'G' => {
                    let bytes = self.take(8)?;
                    let mut arr = [0u8; 8];
                    arr.copy_from_slice(bytes);
                    self.leaf(Value::Float(f64::from_be_bytes(arr)));
                }
                b'F' => {
                    let line = self.line()?;
                    let f = parse_py_float(c_str(line))?;
                    self.leaf(Value::Float(f));
                }
                b'V' => {
                    let line = self.raw_line()?;
                    match raw_unicode_escape(line)? {
                        Some(s) => self.leaf(Value::Str(s)),
                        None => return Err(unrepresentable("str holding a lone surrogate")),
                    }
                }
                0x8c => {
                    let n = self.le(1)? as usize;
                    self.unicode(n)?;
                }
                b'X' => {
                    let n = self.le(4)? as usize;
                    self.unicode(n)?;
                }
                0x8d => {
                    let n = self.len8("BINUNICODE")?;
                    self.unicode(n)?;
                }
                b'C' => {
                    let n = self.le(1)? as usize;
                    self.bytes(n)?;
                }
                b'B' => {
                    let n = self.le(4)? as usize;
                    self.bytes(n)?;
                }
                0x8e => {
                    let n = self.len8("BINBYTES")?;
                    self.bytes(n)?;
                }
                b')' => self.tuple(Vec::new()),
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n + self.fence() {
                        return Err(self.underflow());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.tuple(items);
                }
                b't' => {
                    let mark = self.marker()?;
                    let items = self.stack.split_off(mark);
                    self.tuple(items);
                }
                b']' => self.push_node(Node::List(Vec::new())),
                b'l' => {
                    let mark = self.marker()?;
                    let items = self.stack.split_off(mark);
                    self.push_node(Node::List(items));
                }
                b'a' => {
                    let x = self
                        .stack
                        .len()
                        .checked_sub(1)
                        .ok_or_else(|| self.underflow())?;
                    if x <= self.fence() {
                        return Err(self.underflow());
                    }
                    self.do_append(x)?;
                }
                b'e' => {
                    let x = self.marker()?;
                    self.do_append(x)?;
                }
                b'}' => self.push_node(Node::Dict(Vec::new())),
                b'd' => {
                    let mark = self.marker()?;
                    if !(self.stack.len() - mark).is_multiple_of(2) {
                        return Err(unpickling("odd number of items for DICT"));
                    }
                    self.push_node(Node::Dict(Vec::new()));
                    let Some(&dict) = self.stack.last() else {
                        return Err(self.underflow());
                    };
                    let items: Vec<Item> = self.stack.drain(mark..self.stack.len() - 1).collect();
                    for pair in items.chunks_exact(2) {
                        self.set_item(dict, pair[0], pair[1])?;
                    }
                }
                b's' => {
                    let x = self
                        .stack
                        .len()
                        .checked_sub(2)
                        .ok_or_else(|| self.underflow())?;
                    self.do_setitems(x)?;
                }
                b'u' => {
                    let x = self.marker()?;
                    self.do_setitems(x)?;
                }
                0x94 => {
                    let idx = self.memo.len() as u64;
                    self.memo_put(idx)?;
                }
                b'q' => {
                    let idx = self.le(1)?;
                    self.memo_put(idx)?;
                }
                b'r' => {
                    let idx = self.le(4)?;
                    self.memo_put(idx)?;
                }
                b'p' => {
                    let line = self.line()?.to_vec();
                    self.check_top()?;
                    let text = c_str(&line);
                    let n = py_long(text, false).map_err(|e| long_error(e, text, 10))?;
                    let idx = n.as_i64().ok_or_else(|| {
                        raised(
                            "OverflowError",
                            "Python int too large to convert to C ssize_t",
                        )
                    })?;
                    let idx = u64::try_from(idx)
                        .map_err(|_| raised("ValueError", "negative PUT argument"))?;
                    self.memo_put(idx)?;
                }
                b'h' => {
                    let idx = self.le(1)?;
                    self.memo_get(i128::from(idx))?;
                }
                b'j' => {
                    let idx = self.le(4)?;
                    self.memo_get(i128::from(idx))?;
                }
                b'g' => {
                    let idx = self.memo_index()?;
                    self.memo_get(i128::from(idx))?;
                }
                b'c' => {
                    let module = self.utf8_line()?;
                    let name = self.utf8_line()?;
                    self.globals.push((module, name));
                    self.stack.push(Item::Global(self.globals.len() - 1));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let text = |it: Item| match it {
                        Item::Leaf(i) => match &self.leaves[i] {
                            Value::Str(s) => Some(s.clone()),
                            _ => None,
                        },
                        _ => None,
                    };
                    match (text(module), text(name)) {
                        (Some(m), Some(n)) => {
                            self.globals.push((m, n));
                            self.stack.push(Item::Global(self.globals.len() - 1));
                        }
                        _ => return Err(unpickling("STACK_GLOBAL requires str")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.reduce(callable, args)?;
                }
                0x81 | 0x92 => {
                    let kwargs = if op == 0x92 { Some(self.pop()?) } else { None };
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let what = if op == 0x92 { "NEWOBJ_EX" } else { "NEWOBJ" };
                    let Item::Global(g) = cls else {
                        return Err(unpickling(format!(
                            "{what} class argument must be a type, not {}",
                            self.type_name(cls)
                        )));
                    };
                    if !matches!(args, Item::Node(i) if matches!(self.nodes[i], Node::Tuple(..))) {
                        return Err(unpickling(format!(
                            "{what} args argument must be a tuple, not {}",
                            self.type_name(args)
                        )));
                    }
                    if let Some(kw) = kwargs {
                        if !matches!(kw, Item::Node(i) if matches!(self.nodes[i], Node::Dict(_))) {
                            return Err(unpickling(format!(
                                "{what} kwargs argument must be a dict, not {}",
                                self.type_name(kw)
                            )));
                        }
                    }
                    return Err(unrepresentable(self.global_name(g)));
                }
                b'i' => {
                    self.marker()?;
                    let module = self.utf8_line()?;
                    let name = self.utf8_line()?;
                    return Err(unrepresentable(format!("{module}.{name}")));
                }
                b'o' => {
                    let mark = self.marker()?;
                    if self.stack.len() <= mark {
                        return Err(self.underflow());
                    }
                    let cls = self.stack[mark];
                    return Err(match cls {
                        Item::Global(g) => unrepresentable(self.global_name(g)),
                        other => raised(
                            "TypeError",
                            format!("'{}' object is not callable", self.type_name(other)),
                        ),
                    });
                }
                b'b' => {
                    self.pop()?;
                    self.check_top()?;
                    return Err(unrepresentable("object with state (BUILD)"));
                }
                0x8f => return Err(unrepresentable("builtins.set")),
                0x90 => {
                    let x = self.marker()?;
                    if x > self.stack.len() || x <= self.fence() {
                        return Err(self.underflow());
                    }
                    if x < self.stack.len() {
                        let target = self.stack[x - 1];
                        return Err(match target {
                            Item::Global(g) => unrepresentable(self.global_name(g)),
                            other => raised(
                                "AttributeError",
                                format!(
                                    "'{}' object has no attribute 'add'",
                                    self.type_name(other)
                                ),
                            ),
                        });
                    }
                }
                0x91 => {
                    self.marker()?;
                    return Err(unrepresentable("builtins.frozenset"));
                }
                0x96 => {
                    let n = self.len8("BYTEARRAY8")?;
                    self.take(n)?;
                    return Err(unrepresentable("builtins.bytearray"));
                }
                0x97 => {
                    return Err(unpickling(
                        "pickle stream refers to out-of-band data but no *buffers* argument \
                         was given",
                    ))
                }
                0x98 => {
                    let top = self.check_top()?;
                    return Err(match top {
                        Item::Leaf(i) if matches!(self.leaves[i], Value::Bytes(_)) => {
                            unrepresentable("builtins.memoryview")
                        }
                        Item::Global(g) => unrepresentable(self.global_name(g)),
                        other => raised(
                            "TypeError",
                            format!(
                                "memoryview: a bytes-like object is required, not '{}'",
                                self.type_name(other)
                            ),
                        ),
                    });
                }
                b'S' => {
                    self.line()?;
                    return Err(unrepresentable("Python 2 str (8-bit string)"));
                }
                b'T' => {
                    let n = self.le(4)? as u32 as i32;
                    let n = usize::try_from(n)
                        .map_err(|_| unpickling("BINSTRING pickle has negative byte count"))?;
                    self.take(n)?;
                    return Err(unrepresentable("Python 2 str (8-bit string)"));
                }
                b'U' => {
                    let n = self.le(1)? as usize;
                    self.take(n)?;
                    return Err(unrepresentable("Python 2 str (8-bit string)"));
                }
                b'P' | b'Q' => {
                    return Err(unpickling(
                        "A load persistent id instruction was encountered,\nbut no \
                         persistent_load function was specified.",
                    ))
                }
                0x82..=0x84 => {
                    let code = match op {
                        0x82 => i64::from(self.byte()?),
                        0x83 => self.le(2)? as i64,
                        _ => i64::from(self.le(4)? as u32 as i32),
                    };
                    if code <= 0 {
                        return Err(unpickling("EXT specifies code <= 0"));
                    }
                    return Err(raised(
                        "ValueError",
                        format!("unregistered extension code {code}"),
                    ));
                }
                _ => {
                    return Err(unpickling(format!(
                        "invalid load key, '{}'.",
                        py_char_repr(op)
                    )))
                }
            }
        }
    }
}

/// How CPython's "invalid load key" message shows the byte (`%c`, `\x..` when not printable).
fn py_char_repr(op: u8) -> String {
    if op.is_ascii_graphic() || op == b' ' {
        char::from(op).to_string()
    } else {
        format!("\\x{op:02x}")
    }
}

enum Task {
    Enter(Item, usize),
    Exit(usize),
}

/// Turns the machine's object graph into a [`Value`], iteratively, within the budgets.
struct Builder<'a, 'b> {
    m: &'a Machine<'b>,
    objects_left: usize,
    bytes_left: usize,
}

impl Builder<'_, '_> {
    fn charge(&mut self, value: &Value) -> Result<(), DecodeError> {
        let bytes = match value {
            Value::Str(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::Int(i) if i.as_i64().is_none() => i.decimal_digits(),
            _ => 0,
        };
        self.bytes_left = self.bytes_left.checked_sub(bytes).ok_or_else(|| {
            DecodeError::TooLarge(
                "the value holds more str, bytes and int content than this reader's budget \
                 (shared objects are copied)"
                    .into(),
            )
        })?;
        Ok(())
    }

    fn build(mut self, top: Item) -> Result<Value, DecodeError> {
        let nodes = &self.m.nodes;
        let mut active = vec![false; nodes.len()];
        let mut tasks = vec![Task::Enter(top, 0)];
        let mut out: Vec<Value> = Vec::new();
        while let Some(task) = tasks.pop() {
            match task {
                Task::Enter(item, depth) => {
                    self.objects_left = self.objects_left.checked_sub(1).ok_or_else(|| {
                        DecodeError::TooLarge(
                            "the value holds more objects than this reader's budget (shared \
                             objects are copied)"
                                .into(),
                        )
                    })?;
                    let i = match item {
                        Item::Leaf(i) => {
                            let value = &self.m.leaves[i];
                            self.charge(value)?;
                            out.push(value.clone());
                            continue;
                        }
                        Item::Global(g) => {
                            return Err(unrepresentable(format!(
                                "reference to {} (a class or function)",
                                self.m.global_name(g)
                            )))
                        }
                        Item::Node(i) => i,
                    };
                    if depth >= MAX_DEPTH {
                        return Err(DecodeError::TooLarge(format!(
                            "containers nested deeper than {MAX_DEPTH}"
                        )));
                    }
                    if active[i] {
                        return Err(unrepresentable("recursive structure (it contains itself)"));
                    }
                    active[i] = true;
                    tasks.push(Task::Exit(i));
                    match &nodes[i] {
                        Node::List(items) | Node::Tuple(items, _) => {
                            tasks.extend(items.iter().rev().map(|&it| Task::Enter(it, depth + 1)));
                        }
                        Node::Dict(pairs) | Node::OrderedDict(pairs) => {
                            for &(k, v) in pairs.iter().rev() {
                                tasks.push(Task::Enter(v, depth + 1));
                                tasks.push(Task::Enter(k, depth + 1));
                            }
                        }
                    }
                }
                Task::Exit(i) => {
                    active[i] = false;
                    let value = match &nodes[i] {
                        Node::List(items) => Value::List(out.split_off(out.len() - items.len())),
                        Node::Tuple(items, _) => {
                            Value::Tuple(out.split_off(out.len() - items.len()))
                        }
                        Node::Dict(pairs) => {
                            Value::Dict(dict_pairs(out.split_off(out.len() - 2 * pairs.len())))
                        }
                        Node::OrderedDict(pairs) => Value::OrderedDict(dict_pairs(
                            out.split_off(out.len() - 2 * pairs.len()),
                        )),
                    };
                    out.push(value);
                }
            }
        }
        out.pop().ok_or_else(truncated)
    }
}

/// The dict that assigning `k: v` in order builds: a key equal (in Python's sense) to one
/// already present keeps its first position and takes the later value. Linear: keys
/// are hashed on a canonical form.
fn dict_pairs(flat: Vec<Value>) -> Vec<(Value, Value)> {
    let mut out: Vec<(Value, Value)> = Vec::with_capacity(flat.len() / 2);
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        let mut hasher = DefaultHasher::new();
        py_hash(&k, &mut hasher);
        let slots = seen.entry(hasher.finish()).or_default();
        match slots.iter().find(|&&at| py_key_eq(&out[at].0, &k)) {
            Some(&at) => out[at].1 = v,
            None => {
                slots.push(out.len());
                out.push((k, v));
            }
        }
    }
    out
}

/// A number as a dict key: `True == 1 == 1.0`, `-0.0 == 0`, an integral float equal to
/// the int of its value.
#[derive(Hash, PartialEq)]
enum NumKey {
    Small(i64),
    Big(String),
    Float(u64),
    Nan,
}

fn num_key(v: &Value) -> Option<NumKey> {
    Some(match v {
        Value::Bool(b) => NumKey::Small(i64::from(*b)),
        Value::Int(i) => match i.as_i64() {
            Some(n) => NumKey::Small(n),
            None => NumKey::Big(i.to_string()),
        },
        Value::Float(f) if f.is_nan() => NumKey::Nan,
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 => {
            const TWO_63: f64 = 9_223_372_036_854_775_808.0;
            if (-TWO_63..TWO_63).contains(f) {
                NumKey::Small(*f as i64)
            } else {
                // |f| >= 2^63: mantissa * 2^shift with shift >= 11.
                let bits = f.to_bits();
                let exp = ((bits >> 52) & 0x7ff) as usize;
                let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
                let mut big = BigInt::from(mantissa) << (exp - 1075);
                if *f < 0.0 {
                    big = -big;
                }
                NumKey::Big(big.to_string())
            }
        }
        Value::Float(f) => NumKey::Float(f.to_bits()),
        _ => return None,
    })
}

/// Feeds the canonical form of a dict key (`None`, a number, `str`, `bytes`, a tuple of
/// those) to `h`, so that keys Python finds equal hash alike.
fn py_hash(v: &Value, h: &mut DefaultHasher) {
    if let Some(n) = num_key(v) {
        0u8.hash(h);
        n.hash(h);
        return;
    }
    match v {
        Value::None => 1u8.hash(h),
        Value::Str(s) => {
            2u8.hash(h);
            s.hash(h);
        }
        Value::Bytes(b) => {
            3u8.hash(h);
            b.hash(h);
        }
        Value::Tuple(items) => {
            4u8.hash(h);
            items.len().hash(h);
            for item in items {
                py_hash(item, h);
            }
        }
        // Not hashable in Python (refused when the pickle is read) or not a key type.
        _ => 5u8.hash(h),
    }
}

/// Whether two dict keys are the same key for a Python dict.
fn py_key_eq(a: &Value, b: &Value) -> bool {
    match (num_key(a), num_key(b)) {
        (Some(NumKey::Nan), _) | (_, Some(NumKey::Nan)) => false,
        (Some(x), Some(y)) => x == y,
        (Some(_), None) | (None, Some(_)) => false,
        (None, None) => match (a, b) {
            (Value::Tuple(x), Value::Tuple(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_key_eq(p, q))
            }
            _ => a == b,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_plain() {
        assert_eq!(loads(None), Ok(Value::None));
        assert_eq!(loads(Some(b"42")), Ok(Value::int(42)));
        assert_eq!(loads(Some(b" -1_000\n")), Ok(Value::int(-1000)));
        assert_eq!(loads(Some(b"1__0")), Ok(Value::Bytes(b"1__0".to_vec())));
        assert_eq!(loads(Some(b"abc")), Ok(Value::Bytes(b"abc".to_vec())));
        assert_eq!(loads(Some(b"")), Ok(Value::Bytes(Vec::new())));
        assert!(matches!(loads(Some(b"!")), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn round_trip_engine_pickles() {
        let values = vec![
            Value::None,
            Value::Bool(false),
            Value::Float(-0.0),
            Value::str("héllo"),
            Value::Bytes(b"a\0b".to_vec()),
            Value::Tuple(vec![]),
            Value::Tuple(vec![Value::int(1), Value::List(vec![Value::int(2)])]),
            Value::Dict(vec![
                (Value::str("b"), Value::int(1)),
                (Value::str("a"), Value::int(-300)),
            ]),
            Value::OrderedDict(vec![(Value::int(1), Value::None)]),
            PyInt::parse("-123456789012345678901234567890").map_or(Value::None, Value::Int),
            Value::List((0..2500).map(Value::int).collect()),
        ];
        for v in values {
            assert_eq!(loads(Some(&dumps(&v))), Ok(v.clone()), "{v:?}");
        }
    }

    #[test]
    fn shared_and_recursive() {
        // x = [1]; pickle.dumps([x, x], 5)
        let shared = b"\x80\x05\x95\x0c\x00\x00\x00\x00\x00\x00\x00]\x94(]\x94K\x01ah\x01e.";
        let one = Value::List(vec![Value::int(1)]);
        assert_eq!(unpickle(shared), Ok(Value::List(vec![one.clone(), one])));
        // x = []; x.append(x)
        let rec = b"\x80\x05\x95\x06\x00\x00\x00\x00\x00\x00\x00]\x94h\x00a.";
        assert!(matches!(
            unpickle(rec),
            Err(DecodeError::Unrepresentable(_))
        ));
    }

    #[test]
    fn garbage_never_panics() {
        let base = dumps(&Value::List(vec![
            Value::str("x"),
            Value::Dict(vec![(Value::int(1), Value::Bytes(vec![0]))]),
        ]));
        for cut in 0..base.len() {
            let _ = loads(Some(&base[..cut]));
            let mut flipped = base.clone();
            flipped[cut] ^= 0xff;
            let _ = loads(Some(&flipped));
        }
    }

    fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    fn nested(depth: usize) -> Vec<u8> {
        let mut data = b"!".to_vec();
        data.extend(std::iter::repeat_n(b']', depth));
        data.extend(std::iter::repeat_n(b'a', depth - 1));
        data.push(b'.');
        data
    }

    #[test]
    fn deep_nesting_is_bounded_on_a_small_stack() {
        // Once aborted the process: recursion over the input's nesting.
        let got = on_small_stack(|| loads(Some(&nested(2500))));
        assert!(matches!(got, Err(DecodeError::TooLarge(_))), "{got:?}");
        let got = on_small_stack(|| loads(Some(&nested(1_000_000))));
        assert!(matches!(got, Err(DecodeError::TooLarge(_))), "{got:?}");
        let got = on_small_stack(|| loads(Some(&nested(MAX_DEPTH + 1))));
        assert!(matches!(got, Err(DecodeError::TooLarge(_))), "{got:?}");
        // At the limit the value is read, and what the engine does with it recursively
        // (compare, repr, pickle, drop) still fits a 2 MiB stack.
        on_small_stack(|| {
            let value = loads(Some(&nested(MAX_DEPTH))).unwrap();
            let again = loads(Some(&dumps(&value))).unwrap();
            assert_eq!(value, again);
            let repr = value.repr(flaskcache_engine::PythonVersion::Py311);
            assert_eq!(repr.len(), 2 * MAX_DEPTH);
            drop(again);
            drop(value);
        });
    }

    #[test]
    fn shared_objects_are_not_deep_copied_beyond_a_budget() {
        // A 1 MiB bytes object, memoized, referenced 3000 times: CPython shares it, a
        // `Value` would hold 3 GB of copies.
        let mut data = b"!\x80\x05\x8e".to_vec();
        data.extend_from_slice(&(1u64 << 20).to_le_bytes());
        data.extend(std::iter::repeat_n(b'x', 1 << 20));
        data.extend_from_slice(b"q\x00](");
        for _ in 0..3000 {
            data.extend_from_slice(b"h\x00");
        }
        data.extend_from_slice(b"e.");
        let started = std::time::Instant::now();
        let got = loads(Some(&data));
        assert!(matches!(got, Err(DecodeError::TooLarge(_))), "{got:?}");
        assert!(started.elapsed().as_secs() < 2);
        // A few copies within the budget are fine.
        let mut data = b"!\x80\x05\x8e".to_vec();
        data.extend_from_slice(&1000u64.to_le_bytes());
        data.extend(std::iter::repeat_n(b'y', 1000));
        data.extend_from_slice(b"\x94](h\x00h\x00\x32e.");
        let blob = Value::Bytes(vec![b'y'; 1000]);
        assert_eq!(
            loads(Some(&data)),
            Ok(Value::List(vec![blob.clone(), blob.clone(), blob]))
        );
        // Many references to small shared objects: the object budget.
        let mut data = b"!](N\x94".to_vec();
        data.extend(std::iter::repeat_n(b'2', 2_000_000));
        data.extend_from_slice(b"e.");
        let got = loads(Some(&data));
        assert!(
            matches!(got, Ok(Value::List(ref l)) if l.len() == 2_000_001),
            "budget"
        );
        let mut data = b"!]](".to_vec();
        data.extend(std::iter::repeat_n(b'N', 1000));
        data.extend_from_slice(b"e\x940(");
        for _ in 0..3000 {
            data.extend_from_slice(b"h\x00");
        }
        data.extend_from_slice(b"e.");
        let got = loads(Some(&data));
        assert!(matches!(got, Err(DecodeError::TooLarge(_))), "objects");
    }

    #[test]
    fn big_dicts_are_linear() {
        let dict = Value::Dict((0..100_000).map(|i| (Value::int(i), Value::None)).collect());
        let data = dumps(&dict);
        let started = std::time::Instant::now();
        assert_eq!(loads(Some(&data)), Ok(dict));
        assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
        // Equal keys (Python's equality) collapse into the first one's position.
        let keys = [
            Value::int(1),
            Value::Float(1.0),
            Value::Bool(true),
            Value::Float(2f64.powi(70)),
            Value::Int(PyInt::parse("1180591620717411303424").unwrap()),
            Value::Float(-0.0),
            Value::int(0),
            Value::Float(f64::NAN),
            Value::Float(f64::NAN),
            Value::Tuple(vec![Value::int(1), Value::str("a")]),
            Value::Tuple(vec![Value::Bool(true), Value::str("a")]),
            Value::str("1"),
            Value::Bytes(b"1".to_vec()),
        ];
        let flat: Vec<Value> = keys
            .iter()
            .enumerate()
            .flat_map(|(i, k)| [k.clone(), Value::int(i as i64)])
            .collect();
        let got = dict_pairs(flat);
        let want: Vec<(Value, Value)> = [
            (0, 2),
            (3, 4),
            (5, 6),
            (7, 7),
            (8, 8),
            (9, 10),
            (11, 11),
            (12, 12),
        ]
        .iter()
        .map(|&(k, v)| (keys[k].clone(), Value::int(v)))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn long_ints_are_capped() {
        // LONG4 of 1 MB: refused at once rather than converted to decimal.
        let mut data = b"!\x8b".to_vec();
        data.extend_from_slice(&(1u32 << 20).to_le_bytes());
        data.extend(std::iter::repeat_n(0x5a, 1 << 20));
        data.push(b'.');
        let started = std::time::Instant::now();
        assert!(matches!(loads(Some(&data)), Err(DecodeError::TooLarge(_))));
        let mut data = b"!\x8b".to_vec();
        data.extend_from_slice(&(MAX_LONG_BYTES as u32).to_le_bytes());
        data.extend(std::iter::repeat_n(0x5a, MAX_LONG_BYTES));
        data.push(b'.');
        assert!(matches!(loads(Some(&data)), Ok(Value::Int(_))));
        let mut data = b"!L0x".to_vec();
        data.extend(std::iter::repeat_n(b'f', MAX_LONG_BYTES * 2 + 1));
        data.extend_from_slice(b"\n.");
        assert!(matches!(loads(Some(&data)), Err(DecodeError::TooLarge(_))));
        assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
        // 2**64 and -(2**64) from LONG1.
        let two64 = PyInt::parse("18446744073709551616").unwrap();
        assert_eq!(
            loads(Some(b"!\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.")),
            Ok(Value::Int(two64))
        );
        assert_eq!(
            loads(Some(b"!\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xff.")),
            Ok(Value::Int(PyInt::parse("-18446744073709551616").unwrap()))
        );
    }

    #[test]
    fn corrupt_pickles_read_as_cachelib_reads_them() {
        // UnpicklingError: cachelib returns None.
        for data in [
            &b"!\x80"[..],
            b"!N\x00",
            b"!0",
            b"!h\x05.",
            b"!\x80\x05\x8c\x05ab",
        ] {
            assert_eq!(loads(Some(data)), Ok(Value::None), "{data:?}");
            assert!(matches!(
                unpickle(&data[1..]),
                Err(DecodeError::Unpickling(_))
            ));
        }
        // Other exceptions propagate, named.
        let err = loads(Some(b"!")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read the pickle: EOFError: Ran out of input"
        );
        // FRAME length of 2**64 - 1: CPython's OverflowError (it used to read as None).
        let frame = b"!\x80\x05\x95\xff\xff\xff\xff\xff\xff\xff\xffN.";
        assert!(
            matches!(loads(Some(frame)), Err(DecodeError::Malformed(t)) if t.starts_with("OverflowError"))
        );
        // Text INT is strtol / int(x, 0).
        assert_eq!(loads(Some(b"!I0x10\n.")), Ok(Value::int(16)));
        assert_eq!(loads(Some(b"!I010\n.")), Ok(Value::int(8)));
        assert_eq!(loads(Some(b"!I01\n.")), Ok(Value::Bool(true)));
        assert!(
            matches!(loads(Some(b"!Iabc\n.")), Err(DecodeError::Malformed(t)) if t.starts_with("ValueError"))
        );
    }

    #[test]
    fn reads_cpython_protocols_0_to_2() {
        // ["é\\€", b"x\xff", {1: 2.5, "k": -(2**70)}, (True, None, False),
        //  OrderedDict([(1, 2)]), 0.1, -7] pickled by CPython 3.11.
        let want = Value::List(vec![
            Value::str("é\\\u{20ac}"),
            Value::Bytes(b"x\xff".to_vec()),
            Value::Dict(vec![
                (Value::int(1), Value::Float(2.5)),
                (
                    Value::str("k"),
                    Value::Int(PyInt::parse("-1180591620717411303424").unwrap()),
                ),
            ]),
            Value::Tuple(vec![Value::Bool(true), Value::None, Value::Bool(false)]),
            Value::OrderedDict(vec![(Value::int(1), Value::int(2))]),
            Value::Float(0.1),
            Value::int(-7),
        ]);
        let p0: &[u8] = b"(lp0\nV\xe9\\u005c\\u20ac\np1\nac_codecs\nencode\np2\n(Vx\xff\np3\nVlatin1\np4\ntp5\nRp6\na(dp7\nI1\nF2.5\nsVk\np8\nL-1180591620717411303424L\nsa(I01\nNI00\ntp9\naccollections\nOrderedDict\np10\n(tRp11\nI1\nI2\nsaF0.1\naI-7\na.";
        let p1: &[u8] = b"]q\x00(X\x06\x00\x00\x00\xc3\xa9\\\xe2\x82\xacq\x01c_codecs\nencode\nq\x02(X\x03\x00\x00\x00x\xc3\xbfq\x03X\x06\x00\x00\x00latin1q\x04tq\x05Rq\x06}q\x07(K\x01G@\x04\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00kq\x08L-1180591620717411303424L\nu(I01\nNI00\ntq\tccollections\nOrderedDict\nq\n)Rq\x0bK\x01K\x02sG?\xb9\x99\x99\x99\x99\x99\x9aJ\xf9\xff\xff\xffe.";
        let p2: &[u8] = b"\x80\x02]q\x00(X\x06\x00\x00\x00\xc3\xa9\\\xe2\x82\xacq\x01c_codecs\nencode\nq\x02X\x03\x00\x00\x00x\xc3\xbfq\x03X\x06\x00\x00\x00latin1q\x04\x86q\x05Rq\x06}q\x07(K\x01G@\x04\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00kq\x08\x8a\t\x00\x00\x00\x00\x00\x00\x00\x00\xc0u\x88N\x89\x87q\tccollections\nOrderedDict\nq\n)Rq\x0bK\x01K\x02sG?\xb9\x99\x99\x99\x99\x99\x9aJ\xf9\xff\xff\xffe.";
        for p in [p0, p1, p2] {
            assert_eq!(unpickle(p), Ok(want.clone()));
        }
    }
}
