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
//! lists, reads `int`s of any size and every opcode CPython writes for the supported types
//! at protocols 0 to 5. Any other Python type is a [`DecodeError::Unrepresentable`] naming
//! it (`cannot represent a pickled datetime.datetime`), never a panic and never a wrong
//! value.

use std::collections::HashMap;
use std::fmt;

use flaskcache_engine::{PyInt, Value};
use num_bigint::BigInt;

/// Why stored bytes could not be turned into a [`Value`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The pickle holds a Python object of a type the value model has no form for; the
    /// text names it as `module.qualname` (`collections.deque`, `builtins.set`,
    /// `datetime.datetime`, `__main__.Point`).
    Unrepresentable(String),
    /// The bytes are not a pickle this reader understands (truncated, corrupt, or an
    /// opcode CPython does not write for the supported types); the text says where.
    Malformed(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Unrepresentable(what) => write!(f, "cannot represent a pickled {what}"),
            DecodeError::Malformed(why) => write!(f, "cannot read the pickle: {why}"),
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
/// Where Python's `pickle.loads` raises `UnpicklingError` cachelib returns `None`; this
/// reports the failure instead ([`DecodeError`]), so that a corrupt entry is never mistaken
/// for a stored `None`.
pub fn loads(raw: Option<&[u8]>) -> Result<Value, DecodeError> {
    let Some(raw) = raw else {
        return Ok(Value::None);
    };
    if let Some(pickle) = raw.strip_prefix(b"!") {
        return unpickle(pickle);
    }
    Ok(match py_int(raw) {
        Some(i) => Value::Int(i),
        None => Value::Bytes(raw.to_vec()),
    })
}

/// CPython's `int(b)` for a `bytes` argument in base 10, or `None` where it raises
/// `ValueError`.
fn py_int(raw: &[u8]) -> Option<PyInt> {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = raw.iter().position(|b| !space(b))?;
    let end = raw.iter().rposition(|b| !space(b))? + 1;
    let text = &raw[start..end];
    let (negative, body) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut digits = String::with_capacity(body.len() + 1);
    if negative {
        digits.push('-');
    }
    let mut prev_digit = false;
    for &b in body {
        match b {
            b'0'..=b'9' => {
                digits.push(char::from(b));
                prev_digit = true;
            }
            b'_' if prev_digit => prev_digit = false,
            _ => return None,
        }
    }
    let count = digits.len() - usize::from(negative);
    if !prev_digit || count == 0 || count > 4300 {
        return None;
    }
    PyInt::parse(&digits).ok()
}

/// The deepest nesting [`unpickle`] rebuilds (CPython's own pickler stops near 1000).
const MAX_DEPTH: usize = 3000;
/// The most objects [`unpickle`] rebuilds: shared references are copied (a [`Value`] has
/// no identity), so a pickle whose objects refer to each other many times is refused
/// rather than allowed to grow without bound.
const MAX_OBJECTS: usize = 10_000_000;

/// `pickle.loads(data)` for the types [`Value`] represents: `None`, `bool`, `int` (any
/// size), `float`, `str`, `bytes`, `tuple`, `list`, `dict` (insertion order kept) and
/// `collections.OrderedDict`. Objects the pickle shares are copied; a recursive structure
/// is refused.
pub fn unpickle(data: &[u8]) -> Result<Value, DecodeError> {
    let mut m = Machine {
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        nodes: Vec::new(),
    };
    let top = m.run()?;
    let mut builder = Builder {
        nodes: &m.nodes,
        active: vec![false; m.nodes.len()],
        built: 0,
    };
    builder.build(&top, 0)
}

#[derive(Clone, Debug)]
enum Item {
    Leaf(Value),
    Node(usize),
    Global(String, String),
}

#[derive(Debug)]
enum Node {
    List(Vec<Item>),
    Tuple(Vec<Item>),
    Dict(Vec<(Item, Item)>),
    OrderedDict(Vec<(Item, Item)>),
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Item>,
    marks: Vec<usize>,
    memo: HashMap<u64, Item>,
    nodes: Vec<Node>,
}

fn malformed(why: impl Into<String>) -> DecodeError {
    DecodeError::Malformed(why.into())
}

fn unrepresentable(what: impl Into<String>) -> DecodeError {
    DecodeError::Unrepresentable(what.into())
}

impl Machine<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.data.len())
            .ok_or_else(|| malformed(format!("truncated at byte {}", self.pos)))?;
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

    fn len(&mut self, n: usize) -> Result<usize, DecodeError> {
        let len = self.le(n)?;
        usize::try_from(len).map_err(|_| malformed("length too large"))
    }

    fn line(&mut self) -> Result<&[u8], DecodeError> {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| malformed("unterminated line"))?;
        let line = &rest[..n];
        self.pos += n + 1;
        Ok(line)
    }

    fn line_str(&mut self) -> Result<String, DecodeError> {
        let line = self.line()?;
        std::str::from_utf8(line)
            .map(str::to_owned)
            .map_err(|_| malformed("line is not UTF-8"))
    }

    fn push(&mut self, item: Item) {
        self.stack.push(item);
    }

    fn push_node(&mut self, node: Node) {
        self.nodes.push(node);
        self.stack.push(Item::Node(self.nodes.len() - 1));
    }

    fn pop(&mut self) -> Result<Item, DecodeError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(malformed("stack underflow"));
        }
        self.stack.pop().ok_or_else(|| malformed("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Item>, DecodeError> {
        let mark = self.marks.pop().ok_or_else(|| malformed("no mark"))?;
        if mark > self.stack.len() {
            return Err(malformed("mark beyond the stack"));
        }
        Ok(self.stack.split_off(mark))
    }

    fn top_node(&mut self) -> Result<usize, DecodeError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(malformed("stack underflow"));
        }
        match self.stack.last() {
            Some(Item::Node(i)) => Ok(*i),
            Some(other) => Err(kind_error(other, "a container")),
            None => Err(malformed("stack underflow")),
        }
    }

    fn append(&mut self, items: Vec<Item>) -> Result<(), DecodeError> {
        let i = self.top_node()?;
        match self.nodes.get_mut(i) {
            Some(Node::List(list)) => {
                list.extend(items);
                Ok(())
            }
            _ => Err(malformed("APPEND to something that is not a list")),
        }
    }

    fn set_items(&mut self, items: Vec<Item>) -> Result<(), DecodeError> {
        if !items.len().is_multiple_of(2) {
            return Err(malformed("odd number of items for SETITEMS"));
        }
        let i = self.top_node()?;
        let pairs = pairs(items);
        match self.nodes.get_mut(i) {
            Some(Node::Dict(dict)) | Some(Node::OrderedDict(dict)) => {
                dict.extend(pairs);
                Ok(())
            }
            _ => Err(malformed("SETITEM on something that is not a dict")),
        }
    }

    fn memo_put(&mut self, idx: u64) -> Result<(), DecodeError> {
        let top = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| malformed("memoize with an empty stack"))?;
        self.memo.insert(idx, top);
        Ok(())
    }

    fn memo_get(&mut self, idx: u64) -> Result<(), DecodeError> {
        let item = self
            .memo
            .get(&idx)
            .cloned()
            .ok_or_else(|| malformed(format!("memo {idx} not defined")))?;
        self.push(item);
        Ok(())
    }

    fn text_int(&mut self, long: bool) -> Result<(), DecodeError> {
        let mut line = self.line_str()?;
        if !long && line == "01" {
            self.push(Item::Leaf(Value::Bool(true)));
            return Ok(());
        }
        if !long && line == "00" {
            self.push(Item::Leaf(Value::Bool(false)));
            return Ok(());
        }
        if long && line.ends_with('L') {
            line.pop();
        }
        let i = py_int(line.as_bytes()).ok_or_else(|| malformed("bad integer text"))?;
        self.push(Item::Leaf(Value::Int(i)));
        Ok(())
    }

    fn long(&mut self, n: usize) -> Result<(), DecodeError> {
        let bytes = self.take(n)?;
        let value = if let Ok(arr) = <[u8; 8]>::try_from(bytes) {
            Value::int(i64::from_le_bytes(arr))
        } else if bytes.len() < 8 {
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
            let i = PyInt::parse(&big.to_string()).map_err(|_| malformed("bad long"))?;
            Value::Int(i)
        };
        self.push(Item::Leaf(value));
        Ok(())
    }

    fn unicode(&mut self, n: usize) -> Result<(), DecodeError> {
        let bytes = self.take(n)?;
        let s = std::str::from_utf8(bytes)
            .map_err(|_| unrepresentable("str holding a lone surrogate"))?;
        let s = s.to_owned();
        self.push(Item::Leaf(Value::Str(s)));
        Ok(())
    }

    fn bytes(&mut self, n: usize) -> Result<(), DecodeError> {
        let bytes = self.take(n)?.to_vec();
        self.push(Item::Leaf(Value::Bytes(bytes)));
        Ok(())
    }

    fn reduce(&mut self, callable: Item, args: Item) -> Result<(), DecodeError> {
        let Item::Global(module, name) = callable else {
            return Err(kind_error(&callable, "a callable"));
        };
        let args = match &args {
            Item::Node(i) => match self.nodes.get(*i) {
                Some(Node::Tuple(items)) => items.clone(),
                _ => return Err(malformed("REDUCE arguments are not a tuple")),
            },
            _ => return Err(malformed("REDUCE arguments are not a tuple")),
        };
        match (module.as_str(), name.as_str(), args.as_slice()) {
            ("collections", "OrderedDict", []) => {
                self.push_node(Node::OrderedDict(Vec::new()));
                Ok(())
            }
            // Protocols 0 to 2 write `bytes` as `_codecs.encode(text, "latin1")`.
            ("_codecs", "encode", [Item::Leaf(Value::Str(text)), Item::Leaf(Value::Str(enc))])
                if enc == "latin1" =>
            {
                let bytes = text
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)))
                    .collect::<Result<Vec<u8>, _>>()
                    .map_err(|_| malformed("latin1 text out of range"))?;
                self.push(Item::Leaf(Value::Bytes(bytes)));
                Ok(())
            }
            ("builtins" | "__builtin__", "bytes", []) => {
                self.push(Item::Leaf(Value::Bytes(Vec::new())));
                Ok(())
            }
            ("copyreg" | "copy_reg", "_reconstructor", [Item::Global(m, n), ..]) => {
                Err(unrepresentable(format!("{m}.{n}")))
            }
            _ => Err(unrepresentable(format!("{module}.{name}"))),
        }
    }

    fn run(&mut self) -> Result<Item, DecodeError> {
        loop {
            let at = self.pos;
            let op = self.byte()?;
            match op {
                0x80 => {
                    let proto = self.byte()?;
                    if proto > 5 {
                        return Err(malformed(format!("unsupported pickle protocol {proto}")));
                    }
                }
                0x95 => {
                    self.take(8)?;
                }
                b'.' => {
                    let top = self.pop()?;
                    return match top {
                        Item::Global(m, n) => Err(unrepresentable(format!(
                            "reference to {m}.{n} (a class or function)"
                        ))),
                        other => Ok(other),
                    };
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let top = self.stack.last().cloned().ok_or_else(|| malformed("DUP"))?;
                    self.push(top);
                }
                b'N' => self.push(Item::Leaf(Value::None)),
                0x88 => self.push(Item::Leaf(Value::Bool(true))),
                0x89 => self.push(Item::Leaf(Value::Bool(false))),
                b'I' => self.text_int(false)?,
                b'L' => self.text_int(true)?,
                b'J' => {
                    let v = self.le(4)? as u32 as i32;
                    self.push(Item::Leaf(Value::int(i64::from(v))));
                }
                b'K' => {
                    let v = self.byte()?;
                    self.push(Item::Leaf(Value::int(i64::from(v))));
                }
                b'M' => {
                    let v = self.le(2)?;
                    self.push(Item::Leaf(Value::int(v as i64)));
                }
                0x8a => {
                    let n = self.len(1)?;
                    self.long(n)?;
                }
                0x8b => {
                    let n = self.len(4)?;
                    self.long(n)?;
                }
                b'G' => {
                    let bytes = self.take(8)?;
                    let arr = <[u8; 8]>::try_from(bytes).map_err(|_| malformed("BINFLOAT"))?;
                    self.push(Item::Leaf(Value::Float(f64::from_be_bytes(arr))));
                }
                b'F' => {
                    let line = self.line_str()?;
                    let f =
                        parse_py_float(line.trim()).ok_or_else(|| malformed("bad float text"))?;
                    self.push(Item::Leaf(Value::Float(f)));
                }
                0x8c => {
                    let n = self.len(1)?;
                    self.unicode(n)?;
                }
                b'X' => {
                    let n = self.len(4)?;
                    self.unicode(n)?;
                }
                0x8d => {
                    let n = self.len(8)?;
                    self.unicode(n)?;
                }
                b'C' => {
                    let n = self.len(1)?;
                    self.bytes(n)?;
                }
                b'B' => {
                    let n = self.len(4)?;
                    self.bytes(n)?;
                }
                0x8e => {
                    let n = self.len(8)?;
                    self.bytes(n)?;
                }
                b')' => self.push_node(Node::Tuple(Vec::new())),
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.push_node(Node::Tuple(items));
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push_node(Node::Tuple(items));
                }
                b']' => self.push_node(Node::List(Vec::new())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push_node(Node::List(items));
                }
                b'a' => {
                    let item = self.pop()?;
                    self.append(vec![item])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?;
                }
                b'}' => self.push_node(Node::Dict(Vec::new())),
                b'd' => {
                    let items = self.pop_mark()?;
                    if !items.len().is_multiple_of(2) {
                        return Err(malformed("odd number of items for DICT"));
                    }
                    self.push_node(Node::Dict(pairs(items)));
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.set_items(vec![key, value])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
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
                    let line = self.line_str()?;
                    let idx = line.parse().map_err(|_| malformed("bad PUT index"))?;
                    self.memo_put(idx)?;
                }
                b'h' => {
                    let idx = self.le(1)?;
                    self.memo_get(idx)?;
                }
                b'j' => {
                    let idx = self.le(4)?;
                    self.memo_get(idx)?;
                }
                b'g' => {
                    let line = self.line_str()?;
                    let idx = line.parse().map_err(|_| malformed("bad GET index"))?;
                    self.memo_get(idx)?;
                }
                b'c' => {
                    let module = self.line_str()?;
                    let name = self.line_str()?;
                    self.push(Item::Global(module, name));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Item::Leaf(Value::Str(m)), Item::Leaf(Value::Str(n))) => {
                            self.push(Item::Global(m, n))
                        }
                        _ => return Err(malformed("STACK_GLOBAL needs two str")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.reduce(callable, args)?;
                }
                0x81 | 0x92 => {
                    if op == 0x92 {
                        self.pop()?;
                    }
                    self.pop()?;
                    let cls = self.pop()?;
                    return Err(match cls {
                        Item::Global(m, n) => unrepresentable(format!("{m}.{n}")),
                        other => kind_error(&other, "a class"),
                    });
                }
                b'i' => {
                    let module = self.line_str()?;
                    let name = self.line_str()?;
                    return Err(unrepresentable(format!("{module}.{name}")));
                }
                b'o' => {
                    let items = self.pop_mark()?;
                    return Err(match items.first() {
                        Some(Item::Global(m, n)) => unrepresentable(format!("{m}.{n}")),
                        _ => malformed("OBJ without a class"),
                    });
                }
                b'b' => return Err(unrepresentable("object with state (BUILD)")),
                0x8f | 0x90 => return Err(unrepresentable("builtins.set")),
                0x91 => return Err(unrepresentable("builtins.frozenset")),
                0x96 => return Err(unrepresentable("builtins.bytearray")),
                0x97 | 0x98 => return Err(unrepresentable("pickle.PickleBuffer")),
                b'S' | b'T' | b'U' => {
                    return Err(unrepresentable("Python 2 str (8-bit string)"));
                }
                b'P' | b'Q' => return Err(malformed("persistent IDs are not supported")),
                0x82..=0x84 => return Err(malformed("copyreg extension codes are not supported")),
                _ => {
                    return Err(malformed(format!(
                        "unsupported opcode 0x{op:02x} at byte {at}"
                    )))
                }
            }
        }
    }
}

fn pairs(items: Vec<Item>) -> Vec<(Item, Item)> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

fn kind_error(item: &Item, wanted: &str) -> DecodeError {
    let got = match item {
        Item::Leaf(_) => "a plain value",
        Item::Node(_) => "a container",
        Item::Global(..) => "a global",
    };
    malformed(format!("expected {wanted}, found {got}"))
}

/// `float(text)` for the text protocol 0 writes (`repr(float)`: digits, `inf`, `nan`).
fn parse_py_float(text: &str) -> Option<f64> {
    match text {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

struct Builder<'a> {
    nodes: &'a [Node],
    active: Vec<bool>,
    built: usize,
}

impl Builder<'_> {
    fn build(&mut self, item: &Item, depth: usize) -> Result<Value, DecodeError> {
        self.built += 1;
        if self.built > MAX_OBJECTS {
            return Err(malformed("too many objects"));
        }
        let i = match item {
            Item::Leaf(v) => return Ok(v.clone()),
            Item::Global(m, n) => {
                return Err(unrepresentable(format!(
                    "reference to {m}.{n} (a class or function)"
                )))
            }
            Item::Node(i) => *i,
        };
        if depth > MAX_DEPTH {
            return Err(malformed("nested too deeply"));
        }
        let nodes = self.nodes;
        let node = nodes.get(i).ok_or_else(|| malformed("bad node"))?;
        if self.active.get(i).copied().unwrap_or(false) {
            return Err(unrepresentable("recursive structure (it contains itself)"));
        }
        if let Some(a) = self.active.get_mut(i) {
            *a = true;
        }
        let value = match node {
            Node::List(items) => Value::List(self.build_all(items, depth)?),
            Node::Tuple(items) => Value::Tuple(self.build_all(items, depth)?),
            Node::Dict(items) => Value::Dict(self.build_pairs(items, depth)?),
            Node::OrderedDict(items) => Value::OrderedDict(self.build_pairs(items, depth)?),
        };
        if let Some(a) = self.active.get_mut(i) {
            *a = false;
        }
        Ok(value)
    }

    fn build_all(&mut self, items: &[Item], depth: usize) -> Result<Vec<Value>, DecodeError> {
        items.iter().map(|it| self.build(it, depth + 1)).collect()
    }

    fn build_pairs(
        &mut self,
        items: &[(Item, Item)],
        depth: usize,
    ) -> Result<Vec<(Value, Value)>, DecodeError> {
        let mut out: Vec<(Value, Value)> = Vec::with_capacity(items.len());
        for (k, v) in items {
            let k = self.build(k, depth + 1)?;
            let v = self.build(v, depth + 1)?;
            // A dict assignment to a key already present keeps its position.
            match out.iter_mut().find(|(ek, _)| py_key_eq(ek, &k)) {
                Some(slot) => slot.1 = v,
                None => out.push((k, v)),
            }
        }
        Ok(out)
    }
}

/// Whether two dict keys are the same key for a Python dict (for the key types pickles of
/// dicts hold; CPython never writes a key twice, so this only guards odd input).
fn py_key_eq(a: &Value, b: &Value) -> bool {
    a == b
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
}
