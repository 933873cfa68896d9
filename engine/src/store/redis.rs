//! What a `RedisCache` backend (FC-4.5) computes besides the keyspace itself: how a timeout
//! becomes `EX`/`EXPIRE` and which timeouts the server refuses, the glob `KEYS` matches, how
//! values are serialised (FC-4.5.1), and the text of the errors redis-py raises.

use super::flavor::redis_expires;
use super::time::Timestamp;
use crate::error::{PyError, PyExceptionType};
use crate::value::{ClassRef, PyInt, Value};

/// What the server replies to a `SET … EX t` whose `t` it refuses.
pub const SET_EXPIRE_ERROR: &str = "invalid expire time in 'set' command";
/// What the server replies to a `SETEX key t value` whose `t` it refuses.
pub const SETEX_EXPIRE_ERROR: &str = "invalid expire time in 'setex' command";
/// What the server replies to an `EXPIRE key t` whose `t` it refuses.
pub const EXPIRE_EXPIRE_ERROR: &str = "invalid expire time in 'expire' command";

/// `redis.exceptions.ResponseError(message)`.
pub fn response_error(message: impl Into<String>) -> PyError {
    PyError::new(PyExceptionType::Other("ResponseError".into()), message)
}

/// How cachelib's `set` / `set_many` send a (defaulted) timeout: `_normalize_timeout` turns
/// `0` into `-1`, and `-1` means no `EX` (FC-4.5.2).
pub(crate) fn sends_ex(timeout: i64) -> bool {
    timeout != 0 && timeout != -1
}

/// `SET key value EX timeout` at `now`: the entry's expiry (the first dead microsecond),
/// or the server's refusal. Redis 7 checks `t <= 0`, `t > LLONG_MAX / 1000` and
/// `t * 1000 + now_ms` overflowing (or not positive) (FC-4.5.2).
pub(crate) fn set_ex(timeout: i64, now: Timestamp) -> Result<i128, PyError> {
    if timeout <= 0 || timeout > i64::MAX / 1000 {
        return Err(response_error(SET_EXPIRE_ERROR));
    }
    let when = timeout
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(now_ms(now)));
    match when {
        Some(when) if when > 0 => Ok(redis_expires(timeout, now)),
        _ => Err(response_error(SET_EXPIRE_ERROR)),
    }
}

/// `SETEX key timeout value` at `now` (Werkzeug's `RedisCache`): the checks of
/// [`set_ex`], refused in `SETEX`'s words.
pub(crate) fn setex(timeout: i64, now: Timestamp) -> Result<i128, PyError> {
    set_ex(timeout, now).map_err(|_| response_error(SETEX_EXPIRE_ERROR))
}

/// What `EXPIRE key timeout` at `now` does to an existing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expire {
    /// The key now expires at this microsecond.
    At(i128),
    /// The deadline is not in the future: the key is deleted.
    Delete,
}

/// `EXPIRE key timeout` at `now`, as Redis 7's `expireGenericCommand` checks it: seconds
/// outside `LLONG_MIN / 1000 ..= LLONG_MAX / 1000`, or a deadline past `LLONG_MAX` ms, are
/// refused; a deadline not after now deletes the key.
pub(crate) fn expire(timeout: i64, now: Timestamp) -> Result<Expire, PyError> {
    if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&timeout) {
        return Err(response_error(EXPIRE_EXPIRE_ERROR));
    }
    let ms = timeout * 1000;
    let base = now_ms(now);
    if ms > i64::MAX - base.max(0) {
        return Err(response_error(EXPIRE_EXPIRE_ERROR));
    }
    if timeout <= 0 {
        return Ok(Expire::Delete);
    }
    Ok(Expire::At(redis_expires(timeout, now)))
}

/// The server's millisecond clock at `now`.
fn now_ms(now: Timestamp) -> i64 {
    now.as_micros().div_euclid(1000)
}

/// Redis 7's `stringmatchlen` (case-sensitive), as `KEYS pattern` applies it to each key:
/// `*`, `?`, `[...]` with `^`, ranges and `\\` escapes, over bytes. Patterns nested more
/// than 1000 `*` deep match nothing (Redis 7.2's guard against deep recursion).
pub(crate) fn glob_match(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    glob_impl(pattern, string, &mut skip_longer, 0)
}

fn glob_impl(pattern: &[u8], string: &[u8], skip_longer: &mut bool, nesting: usize) -> bool {
    // C reads the terminating NUL past the end; so does `at`. Chars are signed in C.
    let at = |s: &[u8], i: usize| -> i32 { s.get(i).map_or(0, |&b| i32::from(b as i8)) };
    if nesting > 1000 {
        return false;
    }
    let (mut p, mut s) = (0usize, 0usize);
    while p < pattern.len() && s < string.len() {
        match pattern[p] {
            b'*' => {
                while p + 1 < pattern.len() && pattern[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pattern.len() {
                    return true;
                }
                while s < string.len() {
                    if glob_impl(&pattern[p + 1..], &string[s..], skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s += 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => s += 1,
            b'[' => {
                p += 1;
                let not = at(pattern, p) == i32::from(b'^');
                if not {
                    p += 1;
                }
                let c = at(string, s);
                let mut matched = false;
                loop {
                    let left = pattern.len().saturating_sub(p);
                    if at(pattern, p) == i32::from(b'\\') && left >= 2 {
                        p += 1;
                        if at(pattern, p) == c {
                            matched = true;
                        }
                    } else if at(pattern, p) == i32::from(b']') {
                        break;
                    } else if left == 0 {
                        p -= 1;
                        break;
                    } else if left >= 3 && at(pattern, p + 1) == i32::from(b'-') {
                        let (mut start, mut end) = (at(pattern, p), at(pattern, p + 2));
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        p += 2;
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if at(pattern, p) == c {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s += 1;
            }
            b => {
                let mut lit = i32::from(b as i8);
                if b == b'\\' && pattern.len() - p >= 2 {
                    p += 1;
                    lit = at(pattern, p);
                }
                if lit != at(string, s) {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
        if s == string.len() {
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pattern.len() && s == string.len()
}

/// The bytes cachelib's `RedisSerializer.dumps` sends for `value` (FC-4.5.1): an `int`
/// (not a `bool`) as ASCII decimal, anything else `b"!"` + `pickle.dumps(value, 5)`.
///
/// The pickle is CPython's for `None`, `bool`, `int`, `float`, `str`, `bytes`, tuples,
/// lists, dicts, `OrderedDict`s and classes below 64 KiB, provided no `str`, `bytes` or
/// container object occurs twice in the value (pickle refers back to an object it has
/// already written, by identity, which a [`Value`] does not record; for classes the module
/// name is taken to be one object per module, as CPython's is, and two classes of
/// different modules with the same name are written with two names where CPython may
/// refer back to one interned name). An opaque object (and
/// an exception, such as the `HTTPException` 2.5's `@cached` stores) is written as if it
/// were its repr string: its real pickle depends on its class.
pub fn serialize(value: &Value) -> Vec<u8> {
    if let Value::Int(i) = value {
        return i.to_string().into_bytes();
    }
    let mut out = b"!".to_vec();
    out.extend_from_slice(&pickle(value));
    out
}

/// How Werkzeug 0.16's `RedisCache.dump_object` serialises a value on Python 3.7: an `int`
/// (not a `bool`) as its decimal text, anything else as `b"!"` + `pickle.dumps(value)`,
/// whose default protocol there is 3. The limits of [`serialize`] apply.
pub fn serialize_werkzeug(value: &Value) -> Vec<u8> {
    if let Value::Int(i) = value {
        return i.to_string().into_bytes();
    }
    let mut out = b"!".to_vec();
    out.extend_from_slice(&pickle_with(value, 3));
    out
}

const FRAME_SIZE_TARGET: usize = 64 * 1024;

/// `pickle.dumps(value, protocol=5)`, within the limits [`serialize`] states.
pub(crate) fn pickle(value: &Value) -> Vec<u8> {
    pickle_with(value, 5)
}

/// `pickle.dumps(value, protocol=proto)` for protocol 3 (Python 3.7's default: no frames,
/// `BINUNICODE`, `BINPUT`, `GLOBAL`) or 5 (frames, `SHORT_BINUNICODE`, `MEMOIZE`,
/// `STACK_GLOBAL`).
fn pickle_with(value: &Value, proto: u8) -> Vec<u8> {
    let mut p = Pickler {
        proto,
        ..Pickler::default()
    };
    p.save(value);
    p.frame.push(b'.');
    p.commit_frame();
    let mut out = vec![0x80, proto];
    out.extend_from_slice(&p.out);
    out
}

#[derive(Default)]
struct Pickler {
    proto: u8,
    out: Vec<u8>,
    frame: Vec<u8>,
    memo: u32,
    classes: Vec<(ClassRef, u32)>,
    /// Module names saved (protocol 4+), with their memo index: `pickle` memoizes by
    /// identity, and `cls.__module__` is one string object for every class of a module
    /// (measured on CPython 3.11 for classes defined in Python, C types such as
    /// `collections.OrderedDict` and `datetime.date`, and builtins), so a second class of
    /// a module gets a `BINGET`.
    modules: Vec<(String, u32)>,
}

impl Pickler {
    fn commit_frame(&mut self) {
        if self.frame.is_empty() {
            return;
        }
        // Frames are protocol 4's.
        if self.proto >= 4 && self.frame.len() >= 4 {
            self.out.push(0x95);
            self.out
                .extend_from_slice(&(self.frame.len() as u64).to_le_bytes());
        }
        self.out.append(&mut self.frame);
    }

    fn memoize(&mut self) {
        if self.proto >= 4 {
            self.frame.push(0x94);
        } else if let Ok(i) = u8::try_from(self.memo) {
            // BINPUT
            self.frame.extend_from_slice(&[b'q', i]);
        } else {
            // LONG_BINPUT
            self.frame.push(b'r');
            self.frame.extend_from_slice(&self.memo.to_le_bytes());
        }
        self.memo += 1;
    }

    fn large(&mut self, header: &[u8], payload: &[u8]) {
        if payload.len() >= FRAME_SIZE_TARGET {
            self.commit_frame();
            self.out.extend_from_slice(header);
            self.out.extend_from_slice(payload);
        } else {
            self.frame.extend_from_slice(header);
            self.frame.extend_from_slice(payload);
        }
    }

    fn save_str(&mut self, s: &str) {
        let n = s.len();
        if n <= 0xff && self.proto >= 4 {
            self.frame.extend_from_slice(&[0x8c, n as u8]);
            self.frame.extend_from_slice(s.as_bytes());
        } else if let Ok(n) = u32::try_from(n) {
            let mut header = vec![b'X'];
            header.extend_from_slice(&n.to_le_bytes());
            self.large(&header, s.as_bytes());
        } else {
            let mut header = vec![0x8d];
            header.extend_from_slice(&(n as u64).to_le_bytes());
            self.large(&header, s.as_bytes());
        }
        self.memoize();
    }

    fn save_class(&mut self, class: &ClassRef) {
        if let Some(&(_, idx)) = self.classes.iter().find(|(c, _)| c == class) {
            self.get(idx);
            return;
        }
        if self.proto >= 4 {
            match self.modules.iter().find(|(m, _)| *m == class.module) {
                Some(&(_, idx)) => self.get(idx),
                None => {
                    let idx = self.memo;
                    self.save_str(&class.module);
                    self.modules.push((class.module.clone(), idx));
                }
            }
            self.save_str(&class.qualname);
            self.frame.push(0x93);
        } else if let Some((parent, name)) = class.qualname.rsplit_once('.') {
            // Protocol 3 cannot name a nested class: `save_reduce(getattr, (parent, name))`.
            self.save_class(&ClassRef::new("builtins", "getattr"));
            self.save_class(&ClassRef::new(&class.module, parent));
            self.save_str(name);
            self.frame.push(0x86);
            self.memoize();
            self.frame.push(b'R');
        } else {
            // GLOBAL
            self.frame.push(b'c');
            self.frame.extend_from_slice(class.module.as_bytes());
            self.frame.push(b'\n');
            self.frame.extend_from_slice(class.qualname.as_bytes());
            self.frame.push(b'\n');
        }
        self.classes.push((class.clone(), self.memo));
        self.memoize();
    }

    fn get(&mut self, idx: u32) {
        if let Ok(i) = u8::try_from(idx) {
            self.frame.extend_from_slice(&[b'h', i]);
        } else {
            self.frame.push(b'j');
            self.frame.extend_from_slice(&idx.to_le_bytes());
        }
    }

    fn save_items<'a>(&mut self, items: impl ExactSizeIterator<Item = (&'a Value, &'a Value)>) {
        let items: Vec<_> = items.collect();
        for batch in items.chunks(1000) {
            if batch.len() > 1 {
                self.frame.push(b'(');
            }
            for (k, v) in batch {
                self.save(k);
                self.save(v);
            }
            self.frame.push(if batch.len() > 1 { b'u' } else { b's' });
        }
    }

    fn save(&mut self, value: &Value) {
        if self.frame.len() >= FRAME_SIZE_TARGET {
            self.commit_frame();
        }
        match value {
            Value::None => self.frame.push(b'N'),
            Value::Bool(b) => self.frame.push(if *b { 0x88 } else { 0x89 }),
            Value::Int(i) => save_int(&mut self.frame, i),
            Value::Float(f) => {
                self.frame.push(b'G');
                self.frame.extend_from_slice(&f.to_be_bytes());
            }
            Value::Str(s) => self.save_str(s),
            Value::Bytes(b) => {
                let n = b.len();
                if n <= 0xff {
                    self.frame.extend_from_slice(&[b'C', n as u8]);
                    self.frame.extend_from_slice(b);
                } else if let Ok(n) = u32::try_from(n) {
                    let mut header = vec![b'B'];
                    header.extend_from_slice(&n.to_le_bytes());
                    self.large(&header, b);
                } else {
                    let mut header = vec![0x8e];
                    header.extend_from_slice(&(n as u64).to_le_bytes());
                    self.large(&header, b);
                }
                self.memoize();
            }
            Value::Tuple(items) => {
                if items.is_empty() {
                    self.frame.push(b')');
                    return;
                }
                let short = items.len() <= 3;
                if !short {
                    self.frame.push(b'(');
                }
                for item in items {
                    self.save(item);
                }
                self.frame.push(match items.len() {
                    1 => 0x85,
                    2 => 0x86,
                    3 => 0x87,
                    _ => b't',
                });
                self.memoize();
            }
            Value::List(items) => {
                self.frame.push(b']');
                self.memoize();
                for batch in items.chunks(1000) {
                    if batch.len() > 1 {
                        self.frame.push(b'(');
                    }
                    for item in batch {
                        self.save(item);
                    }
                    self.frame.push(if batch.len() > 1 { b'e' } else { b'a' });
                }
            }
            Value::Dict(items) => {
                self.frame.push(b'}');
                self.memoize();
                self.save_items(items.iter().map(|(k, v)| (k, v)));
            }
            Value::OrderedDict(items) => {
                self.save_class(&ClassRef::new("collections", "OrderedDict"));
                self.frame.extend_from_slice(b")R");
                self.memoize();
                self.save_items(items.iter().map(|(k, v)| (k, v)));
            }
            Value::Class(class) => self.save_class(class),
            Value::Object(obj) => self.save_str(&obj.repr),
            // Within the same limit as objects: an exception is pickled as its repr text.
            Value::Exception(_) => {
                self.save_str(&value.repr(crate::value::PythonVersion::default()))
            }
        }
    }
}

/// `save_long` (protocol 2+): `BININT1`, `BININT2`, `BININT`, else `LONG1`/`LONG4` with the
/// minimal little-endian two's complement bytes.
fn save_int(out: &mut Vec<u8>, i: &PyInt) {
    if let Some(v) = i.as_i64() {
        if (0..=0xff).contains(&v) {
            out.extend_from_slice(&[b'K', v as u8]);
            return;
        }
        if (0..=0xffff).contains(&v) {
            out.push(b'M');
            out.extend_from_slice(&(v as u16).to_le_bytes());
            return;
        }
        if let Ok(v) = i32::try_from(v) {
            out.push(b'J');
            out.extend_from_slice(&v.to_le_bytes());
            return;
        }
    }
    let bytes = twos_complement_le(&i.to_string());
    if let Ok(n) = u8::try_from(bytes.len()) {
        out.extend_from_slice(&[0x8a, n]);
    } else {
        out.push(0x8b);
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(&bytes);
}

/// pickle's `encode_long`: `x.to_bytes((x.bit_length() >> 3) + 1, 'little', signed=True)`,
/// minus a redundant `0xff` for negative numbers. `decimal` is Python's `str(int)`.
fn twos_complement_le(decimal: &str) -> Vec<u8> {
    let (negative, digits) = match decimal.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, decimal),
    };
    // Magnitude, little-endian base 256.
    let mut mag: Vec<u8> = Vec::new();
    for d in digits.bytes().filter(u8::is_ascii_digit) {
        let mut carry = u32::from(d - b'0');
        for byte in mag.iter_mut() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            mag.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    while mag.last() == Some(&0) {
        mag.pop();
    }
    if mag.is_empty() {
        return Vec::new();
    }
    let top = mag.last().copied().unwrap_or(0);
    let bit_length = (mag.len() - 1) * 8 + (8 - top.leading_zeros() as usize);
    let nbytes = (bit_length >> 3) + 1;
    let mut out = mag;
    out.resize(nbytes, 0);
    if negative {
        // Two's complement: invert and add one.
        let mut carry = 1u16;
        for byte in out.iter_mut() {
            let v = u16::from(!*byte) + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        let n = out.len();
        if n > 1 && out[n - 1] == 0xff && out[n - 2] & 0x80 != 0 {
            out.pop();
        }
    }
    out
}

/// The message redis-py gives a pipeline's error: `Command # N (CMD) of pipeline caused
/// error: ERR`, where `CMD` is the command's arguments joined by spaces (bytes decoded as
/// UTF-8 with replacement) and shortened by `textwrap.shorten(cmd, 100, placeholder="...")`.
pub fn pipeline_error(number: usize, args: &[Vec<u8>], error: &str) -> String {
    let cmd = shorten(&joined_command(args), 100, "...");
    format!("Command # {number} ({cmd}) of pipeline caused error: {error}")
}

/// A command's arguments joined by spaces, bytes decoded as UTF-8 with replacement
/// (redis-py's `" ".join(map(safe_str, command))`).
fn joined_command(args: &[Vec<u8>]) -> String {
    let mut cmd = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            cmd.push(' ');
        }
        cmd.push_str(&String::from_utf8_lossy(arg));
    }
    cmd
}

/// What redis-py raises when the server refuses the first command of a `set_many`
/// pipeline, `SET stored_key value EX timeout`: a `ResponseError` with the pipeline's
/// annotation around `error`.
pub fn set_pipeline_error(stored_key: &str, value: &Value, timeout: i64, error: &str) -> PyError {
    let args = [
        b"SET".to_vec(),
        stored_key.as_bytes().to_vec(),
        serialize(value),
        b"EX".to_vec(),
        timeout.to_string().into_bytes(),
    ];
    response_error(pipeline_error(1, &args, error))
}

/// What redis-py 5.0 raises when the server refuses the first command of a Werkzeug 0.16
/// `set_many` pipeline, `SETEX stored_key timeout value` (the value as
/// [`serialize_werkzeug`] writes it).
pub fn setex_pipeline_error(stored_key: &str, value: &Value, timeout: i64, error: &str) -> PyError {
    let args = [
        b"SETEX".to_vec(),
        stored_key.as_bytes().to_vec(),
        timeout.to_string().into_bytes(),
        serialize_werkzeug(value),
    ];
    // redis-py 5.0 (the last for Python 3.7) does not shorten the command.
    let cmd = joined_command(&args);
    response_error(format!(
        "Command # 1 ({cmd}) of pipeline caused error: {error}"
    ))
}

/// Python's `str.split()` whitespace.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// `\w` of Python's `re` on `str`: alphanumeric or `_` (exact for ASCII).
fn word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `[^\d\W]`: a word character that is not a decimal digit (exact for ASCII).
fn letter(c: char) -> bool {
    word(c) && !(c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric()))
}

/// `[\w!"'&.,?]`.
fn word_punct(c: char) -> bool {
    word(c) || matches!(c, '!' | '"' | '\'' | '&' | '.' | ',' | '?')
}

/// `textwrap.shorten(text, width, placeholder=placeholder)`: whitespace collapsed to single
/// spaces, then as much of it as fits with the placeholder, cut at `TextWrapper`'s chunk
/// boundaries (whitespace and hyphens; exact for ASCII text).
pub(crate) fn shorten(text: &str, width: usize, placeholder: &str) -> String {
    let joined = text
        .split(py_space)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>();
    let text = joined.join(" ");
    let chars: Vec<char> = text.chars().collect();
    let mut chunks: Vec<Vec<char>> = split_chunks(&chars);
    chunks.reverse();
    let is_space = |c: &[char]| c.iter().all(|&c| c == ' ');
    let mut cur: Vec<Vec<char>> = Vec::new();
    let mut cur_len = 0usize;
    while let Some(chunk) = chunks.last() {
        if cur_len + chunk.len() <= width {
            cur_len += chunk.len();
            cur.extend(chunks.pop());
        } else {
            break;
        }
    }
    if let Some(chunk) = chunks.last_mut() {
        if chunk.len() > width {
            // `_handle_long_word` with `break_long_words` and `break_on_hyphens`.
            let space_left = width.saturating_sub(cur_len).max(1);
            let mut end = space_left;
            if chunk.len() > space_left {
                if let Some(h) = chunk[..space_left].iter().rposition(|&c| c == '-') {
                    if h > 0 && chunk[..h].iter().any(|&c| c != '-') {
                        end = h + 1;
                    }
                }
            }
            let rest = chunk.split_off(end.min(chunk.len()));
            cur.push(std::mem::replace(chunk, rest));
            cur_len = cur.iter().map(Vec::len).sum();
        }
    }
    if cur.last().is_some_and(|c| is_space(c)) {
        cur_len -= cur.last().map_or(0, Vec::len);
        cur.pop();
    }
    let rest_empty = chunks.is_empty() || (chunks.len() == 1 && is_space(&chunks[0]));
    let collect = |cur: &[Vec<char>]| cur.iter().flatten().collect::<String>();
    if cur.is_empty() {
        return String::new();
    }
    if rest_empty && cur_len <= width {
        return collect(&cur);
    }
    let placeholder_len = placeholder.chars().count();
    while let Some(last) = cur.last() {
        if !is_space(last) && cur_len + placeholder_len <= width {
            let mut line = collect(&cur);
            line.push_str(placeholder);
            return line;
        }
        cur_len -= last.len();
        cur.pop();
    }
    placeholder.trim_start().to_owned()
}

/// `TextWrapper.wordsep_re.split(text)`, empty pieces dropped, for text whose only
/// whitespace is single spaces.
fn split_chunks(t: &[char]) -> Vec<Vec<char>> {
    let get = |i: usize| t.get(i).copied();
    let is = |i: usize, f: fn(char) -> bool| get(i).is_some_and(f);
    let ws = |i: usize| get(i) == Some(' ');
    // `(?<=wp) -{2,} (?=\w)` at `i`: returns the end of the hyphen run.
    let em_dash = |i: usize| -> Option<usize> {
        if i == 0 || !is(i - 1, word_punct) {
            return None;
        }
        let mut j = i;
        while get(j) == Some('-') {
            j += 1;
        }
        (j - i >= 2 && is(j, word)).then_some(j)
    };
    let mut chunks = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let start = i;
        if ws(i) {
            while ws(i) {
                i += 1;
            }
        } else if let Some(end) = em_dash(i) {
            i = end;
        } else {
            // `nws+?` then: hyphenated word | end of word | before an em-dash.
            let mut j = i + 1;
            loop {
                if j >= t.len() || ws(j) {
                    i = j;
                    break;
                }
                if get(j) == Some('-') {
                    let before = (j >= 2 && is(j - 2, letter) && is(j - 1, letter))
                        || (j >= 3
                            && is(j - 3, letter)
                            && get(j - 2) == Some('-')
                            && is(j - 1, letter));
                    let after = is(j + 1, letter)
                        && (is(j + 2, letter) || (get(j + 2) == Some('-') && is(j + 3, letter)));
                    if before && after {
                        i = j + 1;
                        break;
                    }
                    if is(j - 1, word_punct) && em_dash(j).is_some() {
                        i = j;
                        break;
                    }
                }
                j += 1;
            }
        }
        chunks.push(t[start..i].to_vec());
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    /// FC-4.5.1's measured dumps.
    #[test]
    fn serialize_measured() {
        assert_eq!(serialize(&Value::int(42)), b"42");
        assert_eq!(serialize(&Value::int(-5)), b"-5");
        assert_eq!(serialize(&Value::None), b"!\x80\x05N.");
        assert_eq!(serialize(&Value::Bool(true)), b"!\x80\x05\x88.");
        assert_eq!(
            serialize(&Value::str("abc")),
            b"!\x80\x05\x95\x07\x00\x00\x00\x00\x00\x00\x00\x8c\x03abc\x94."
        );
        assert_eq!(
            serialize(&Value::Float(1.5)),
            b"!\x80\x05\x95\n\x00\x00\x00\x00\x00\x00\x00G?\xf8\x00\x00\x00\x00\x00\x00."
        );
        assert_eq!(
            serialize(&Value::List(vec![Value::int(1), Value::int(2)])),
            b"!\x80\x05\x95\t\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02e."
        );
        assert_eq!(
            serialize(&Value::Dict(vec![(Value::str("a"), Value::int(1))])),
            b"!\x80\x05\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."
        );
    }

    /// `pickle.dumps(..., 5)` of CPython 3.11, measured.
    #[test]
    fn pickle_measured() {
        assert_eq!(
            pickle(&Value::OrderedDict(vec![(Value::str("a"), Value::int(1))])),
            b"\x80\x05\x95)\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94\x8c\x01a\x94K\x01s."
        );
        assert_eq!(
            pickle(&Value::Class(ClassRef::new("builtins", "int"))),
            b"\x80\x05\x95\x14\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x03int\x94\x93\x94."
        );
        assert_eq!(
            pickle(&Value::Bytes(vec![])),
            b"\x80\x05\x95\x04\x00\x00\x00\x00\x00\x00\x00C\x00\x94."
        );
        assert_eq!(pickle(&Value::Tuple(vec![])), b"\x80\x05).");
        let big = PyInt::parse("18446744073709551616").map(Value::Int);
        let neg = PyInt::parse("-18446744073709551616").map(Value::Int);
        let list = Value::List(vec![
            Value::int(-1),
            Value::int(255),
            Value::int(256),
            Value::int(65536),
            Value::int(-(1 << 31)),
            Value::int(1 << 31),
            Value::int(-(1 << 31) - 1),
            big.unwrap_or(Value::None),
            neg.unwrap_or(Value::None),
            Value::Bool(true),
            Value::Float(1.5),
            Value::None,
            Value::Bytes(b"x".to_vec()),
            Value::Tuple(vec![Value::int(1)]),
            Value::Tuple((1..=4).map(Value::int).collect()),
        ]);
        let want: &[u8] = b"\x80\x05\x95[\x00\x00\x00\x00\x00\x00\x00]\x94(J\xff\xff\xff\xffK\xffM\x00\x01J\x00\x00\x01\x00J\x00\x00\x00\x80\x8a\x05\x00\x00\x00\x80\x00\x8a\x05\xff\xff\xff\x7f\xff\x8a\t\x00\x00\x00\x00\x00\x00\x00\x00\x01\x8a\t\x00\x00\x00\x00\x00\x00\x00\x00\xff\x88G?\xf8\x00\x00\x00\x00\x00\x00NC\x01x\x94K\x01\x85\x94(K\x01K\x02K\x03K\x04t\x94e.";
        assert_eq!(pickle(&list), want);
        assert_eq!(twos_complement_le("-128"), vec![0x80]);
        assert_eq!(twos_complement_le("-129"), vec![0x7f, 0xff]);
        assert_eq!(twos_complement_le("128"), vec![0x80, 0x00]);
        assert_eq!(twos_complement_le("0"), Vec::<u8>::new());
    }

    /// Measured with Redis 7.0.15 (FC-4.5.2): refused SET and EXPIRE timeouts.
    #[test]
    fn expire_limits() {
        let now = Timestamp::from_micros(1_764_000_000_123_456);
        assert_eq!(set_ex(-2, now), Err(response_error(SET_EXPIRE_ERROR)));
        assert_eq!(set_ex(0, now), Err(response_error(SET_EXPIRE_ERROR)));
        assert!(set_ex(i64::MAX / 1000, now).is_err());
        assert!(set_ex(i64::MAX / 1000 - 1_800_000_000, now).is_ok());
        assert!(set_ex(i64::MAX, now).is_err());
        assert_eq!(
            set_ex(10, now),
            Ok(1_764_000_010_123_457),
            "alive at exactly now + 10"
        );
        assert_eq!(
            expire(i64::MAX, now),
            Err(response_error(EXPIRE_EXPIRE_ERROR))
        );
        assert_eq!(
            expire(i64::MIN, now),
            Err(response_error(EXPIRE_EXPIRE_ERROR))
        );
        assert_eq!(expire(-5, now), Ok(Expire::Delete));
        assert_eq!(expire(0, now), Ok(Expire::Delete));
        assert_eq!(expire(3, now), Ok(Expire::At(1_764_000_003_123_457)));
        assert!(sends_ex(-2) && sends_ex(5) && !sends_ex(0) && !sends_ex(-1));
    }

    #[test]
    fn glob() {
        assert!(glob_match(b"flask_cache_*", b"flask_cache_x"));
        assert!(glob_match(b"flask_cache_*", b"flask_cache_"));
        assert!(!glob_match(b"flask_cache_*", b"flask_cachex"));
        assert!(!glob_match(b"fc[x]?_*", b"fc[x]?_k1"));
        assert!(glob_match(b"fc[x]?_*", b"fcx?_k1"));
        assert!(glob_match(b"fc[x]?_*", b"fcxy_k1"));
        assert!(glob_match(b"a\\*b*", b"a*bc"));
        assert!(!glob_match(b"a\\*b*", b"axbc"));
        assert!(glob_match(b"[^a-c]*", b"d"));
        assert!(!glob_match(b"[^a-c]*", b"b"));
        assert!(glob_match(b"[c-a]x", b"bx"));
        assert!(glob_match(b"[ab", b"a"));
        assert!(!glob_match(b"[ab", b"c"));
        assert!(glob_match(b"a\\", b"a\\"));
        assert!(
            !glob_match(b"**", b""),
            "stringmatchlen matches no empty string"
        );
        assert!(!glob_match(b"?*", b""));
        let deep = [b'*', b'a'].repeat(2000);
        assert!(!glob_match(&deep, &[b'a'; 1999]));
    }

    /// `textwrap.shorten(s, 100, placeholder="...")` of CPython 3.11, measured.
    #[test]
    fn shorten_measured() {
        assert_eq!(shorten("  a \t b\x1c c ", 100, "..."), "a b c");
        let long = format!("SET flask_cache_{} 1 EX -2", "k".repeat(120));
        assert_eq!(shorten(&long, 100, "..."), "SET...");
        let words = "alpha beta ".repeat(12);
        assert_eq!(
            shorten(&words, 100, "..."),
            "alpha beta alpha beta alpha beta alpha beta alpha beta alpha beta alpha beta alpha beta alpha..."
        );
        let hyph = format!("SET view//{}-long-page 1 EX -2", "ab".repeat(43));
        assert_eq!(
            shorten(&hyph, 100, "..."),
            format!("SET view//{}-...", "ab".repeat(43))
        );
    }

    #[test]
    fn pipeline_message() {
        let msg = pipeline_error(
            1,
            &[b("SET"), b("flask_cache_x"), b("1"), b("EX"), b("-2")],
            SET_EXPIRE_ERROR,
        );
        assert_eq!(
            msg,
            "Command # 1 (SET flask_cache_x 1 EX -2) of pipeline caused error: invalid expire time in 'set' command"
        );
    }
}
