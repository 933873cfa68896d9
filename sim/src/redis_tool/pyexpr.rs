//! Python literals and calls as an on-call engineer types them: `'hello'`, `b'\x00'`,
//! `[1, 2.5, None, (True, 'x')]`, `{'a': 1}`, `price('tea', qty=2)`.
//!
//! The grammar is Python's for these forms: `str` and `bytes` literals (every prefix of
//! `r`, `b`, `u`, single, double and triple quotes, every escape Python accepts except
//! `\N{...}`, adjacent literals concatenated), `int` of any size (decimal, `0x`, `0o`, `0b`,
//! underscores, a sign), `float` (`1.5`, `-0.0`, `1e10`, `.5`), `True`, `False`, `None`,
//! tuples (`()`, `(x,)`, `(x, y)`), lists, dicts, and calls `name(args, kw=value)` whose
//! name is a dotted path. Names and calls inside a value are kept as [`Expr`] nodes for the
//! caller to resolve ([`Expr::to_value`]): a class name, `instance('repr')`,
//! `float('inf')`. Errors name the column (1-based, in characters).

use flaskcache_engine::{PyInt, Value};
use std::fmt;

/// A syntax or resolution error at a column of the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

/// A parsed expression: a literal, a container of expressions, a name or a call.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A literal scalar (`None`, `True`, an int, a float, a str, bytes).
    Lit(Value, usize),
    /// `(a, b)`.
    Tuple(Vec<Expr>, usize),
    /// `[a, b]`.
    List(Vec<Expr>, usize),
    /// `{k: v}`.
    Dict(Vec<(Expr, Expr)>, usize),
    /// A dotted name, e.g. `Stock` or `app.models.Stock`.
    Name(String, usize),
    /// `name(args, kw=value)`.
    Call(Call),
}

/// A call `name(args, kw=value)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The dotted name called.
    pub name: String,
    /// Where the name starts.
    pub column: usize,
    /// Positional arguments.
    pub args: Vec<Expr>,
    /// Keyword arguments, in order.
    pub kwargs: Vec<(String, Expr)>,
}

impl Expr {
    /// The column the expression starts at.
    pub fn column(&self) -> usize {
        match self {
            Expr::Lit(_, c)
            | Expr::Tuple(_, c)
            | Expr::List(_, c)
            | Expr::Dict(_, c)
            | Expr::Name(_, c) => *c,
            Expr::Call(call) => call.column,
        }
    }

    /// The value, resolving names and calls with `resolve` (which gets the names and calls
    /// only; containers are resolved element by element).
    pub fn to_value(
        &self,
        resolve: &mut dyn FnMut(&Expr) -> Result<Value, ParseError>,
    ) -> Result<Value, ParseError> {
        Ok(match self {
            Expr::Lit(v, _) => v.clone(),
            Expr::Tuple(items, _) => Value::Tuple(values(items, resolve)?),
            Expr::List(items, _) => Value::List(values(items, resolve)?),
            Expr::Dict(items, _) => {
                let mut out = Vec::with_capacity(items.len());
                for (k, v) in items {
                    out.push((k.to_value(resolve)?, v.to_value(resolve)?));
                }
                Value::Dict(dict_items(out))
            }
            Expr::Name(..) | Expr::Call(_) => resolve(self)?,
        })
    }
}

fn values(
    items: &[Expr],
    resolve: &mut dyn FnMut(&Expr) -> Result<Value, ParseError>,
) -> Result<Vec<Value>, ParseError> {
    items.iter().map(|e| e.to_value(resolve)).collect()
}

/// A dict display's items as Python keeps them: a repeated key keeps its first position and
/// takes its last value (`{1: 'a', 1.0: 'b'}` is `{1: 'b'}`).
fn dict_items(items: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    let mut out: Vec<(Value, Value)> = Vec::with_capacity(items.len());
    for (k, v) in items {
        match out.iter_mut().find(|(existing, _)| same_key(existing, &k)) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

/// Python's `==` for the hashable values a literal can spell: numbers compare by value
/// (`1 == 1.0 == True`, exactly: `2**53 + 1 != 2.0**53`), tuples element by element.
fn same_key(a: &Value, b: &Value) -> bool {
    /// An `int` (a `bool` is one) or a `float`.
    enum Num<'a> {
        Int(std::borrow::Cow<'a, PyInt>),
        Float(f64),
    }
    fn number(v: &Value) -> Option<Num<'_>> {
        match v {
            Value::Bool(b) => Some(Num::Int(std::borrow::Cow::Owned(PyInt::from(i64::from(
                *b,
            ))))),
            Value::Int(i) => Some(Num::Int(std::borrow::Cow::Borrowed(i))),
            Value::Float(f) => Some(Num::Float(*f)),
            _ => None,
        }
    }
    /// `int == float`: the float is integral and its exact value is the int's.
    fn int_eq_float(i: &PyInt, f: f64) -> bool {
        if !f.is_finite() || f.fract() != 0.0 {
            return false;
        }
        // `{:.0}` of an integral float is its exact decimal value (`-0` for `-0.0`).
        PyInt::parse(&format!("{f:.0}")).is_ok_and(|exact| exact == *i)
    }
    match (a, b) {
        (Value::Tuple(x), Value::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_key(x, y))
        }
        _ => match (number(a), number(b)) {
            (Some(Num::Int(x)), Some(Num::Int(y))) => x == y,
            (Some(Num::Float(x)), Some(Num::Float(y))) => x == y,
            (Some(Num::Int(i)), Some(Num::Float(f))) | (Some(Num::Float(f)), Some(Num::Int(i))) => {
                int_eq_float(&i, f)
            }
            (Some(_), None) | (None, Some(_)) => false,
            (None, None) => a == b,
        },
    }
}

/// Why a name or call in a pure literal is refused.
fn no_names(e: &Expr) -> Result<Value, ParseError> {
    match e {
        Expr::Call(call) if call.name == "float" => float_call(call),
        Expr::Name(name, column) => Err(ParseError {
            column: *column,
            message: format!("{name:?} is not a literal (values are str, bytes, int, float, True, False, None, tuples, lists and dicts; float('inf') and float('nan') spell those floats)"),
        }),
        other => Err(ParseError {
            column: other.column(),
            message: "a call is not a literal (only float('inf'), float('-inf') and float('nan') are accepted)".into(),
        }),
    }
}

/// `float('inf')`, `float('-inf')`, `float('nan')`, `float('1.5')`.
pub fn float_call(call: &Call) -> Result<Value, ParseError> {
    let bad = || ParseError {
        column: call.column,
        message: "float(...) takes one string: 'inf', '-inf', 'nan' or a number".into(),
    };
    match (call.args.as_slice(), call.kwargs.is_empty()) {
        ([Expr::Lit(Value::Str(s), _)], true) => {
            let t = s.trim().to_ascii_lowercase();
            // Underscores only between digits, as in a literal (`float('1_0.5')`).
            if !underscores_between_digits(&t, false) {
                return Err(bad());
            }
            let t = t.replace('_', "");
            let v = match t.as_str() {
                "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
                "-inf" | "-infinity" => f64::NEG_INFINITY,
                "nan" | "+nan" => f64::NAN,
                "-nan" => -f64::NAN,
                other => other.parse::<f64>().map_err(|_| bad())?,
            };
            Ok(Value::Float(v))
        }
        _ => Err(bad()),
    }
}

/// Parses a Python literal (`'hello'`, `[1, 2.5, None, (True, 'x')]`, `{'a': b'\x00'}`).
pub fn parse_literal(text: &str) -> Result<Value, ParseError> {
    let expr = parse_expr(text)?;
    expr.to_value(&mut no_names)
}

/// Parses one expression filling the whole text.
pub fn parse_expr(text: &str) -> Result<Expr, ParseError> {
    let mut p = Parser::new(text);
    p.skip_ws();
    if p.at_end() {
        return Err(p.error("expected a value, found nothing"));
    }
    let e = p.expr()?;
    p.skip_ws();
    if !p.at_end() {
        return Err(p.error("unexpected text after the value"));
    }
    Ok(e)
}

/// Parses `name(args, kw=value)` or a bare dotted `name` (returned as a call with
/// `bare = true` and no arguments).
pub fn parse_call(text: &str) -> Result<(Call, bool), ParseError> {
    let mut p = Parser::new(text);
    p.skip_ws();
    let column = p.column();
    match p.peek() {
        Some(c) if is_ident_start(c) => {}
        _ => {
            return Err(
                p.error("expected a function name, e.g. price('cake') or app.models.price('cake')")
            )
        }
    }
    let e = p.expr()?;
    p.skip_ws();
    if !p.at_end() {
        return Err(p.error("unexpected text after the call"));
    }
    match e {
        Expr::Call(call) => Ok((call, false)),
        Expr::Name(name, column) => Ok((
            Call {
                name,
                column,
                args: Vec::new(),
                kwargs: Vec::new(),
            },
            true,
        )),
        _ => Err(ParseError {
            column,
            message: "expected a function name or a call".into(),
        }),
    }
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// How deeply brackets (and signs) may nest: Python's parser refuses a 201st level of
/// parentheses ("too many nested parentheses"). The bound also keeps the recursive parser
/// within its stack.
const MAX_NESTING: usize = 200;

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Brackets and signs open around the current position.
    depth: usize,
}

impl Parser {
    fn new(text: &str) -> Self {
        Parser {
            chars: text.chars().collect(),
            pos: 0,
            depth: 0,
        }
    }

    /// Opens a level of nesting at `at` (a bracket or a sign), refused past
    /// [`MAX_NESTING`]. Each `nest` that succeeds is matched by an [`unnest`](Self::unnest)
    /// once the nested part is parsed (a failed parse is abandoned whole).
    fn nest(&mut self, at: usize, what: &str) -> Result<(), ParseError> {
        if self.depth >= MAX_NESTING {
            return Err(self.error_at(
                at,
                format!("too many nested {what} (at most {MAX_NESTING} levels)"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn unnest(&mut self) {
        self.depth -= 1;
    }

    fn column(&self) -> usize {
        self.pos + 1
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            column: self.column(),
            message: message.into(),
        }
    }

    fn error_at(&self, pos: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            column: pos + 1,
            message: message.into(),
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.pos + k).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: char, what: &str) -> Result<(), ParseError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(format!("expected {what}")))
        }
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.error("expected a value, found the end of the text"));
        };
        match c {
            '(' => {
                self.nest(start, "parentheses")?;
                self.pos += 1;
                let (items, trailing) = self.sequence(')')?;
                self.unnest();
                if items.len() == 1 && !trailing {
                    // `(x)` is x.
                    return Ok(items
                        .into_iter()
                        .next()
                        .unwrap_or(Expr::Tuple(Vec::new(), start + 1)));
                }
                Ok(Expr::Tuple(items, start + 1))
            }
            '[' => {
                self.nest(start, "parentheses")?;
                self.pos += 1;
                let (items, _) = self.sequence(']')?;
                self.unnest();
                Ok(Expr::List(items, start + 1))
            }
            '{' => {
                self.nest(start, "parentheses")?;
                self.pos += 1;
                let dict = self.dict(start)?;
                self.unnest();
                Ok(dict)
            }
            '-' | '+' => {
                self.nest(start, "signs")?;
                self.pos += 1;
                self.skip_ws();
                let inner = self.expr()?;
                self.unnest();
                match (c, inner) {
                    ('+', Expr::Lit(v @ (Value::Int(_) | Value::Float(_)), _)) => {
                        Ok(Expr::Lit(v, start + 1))
                    }
                    ('-', Expr::Lit(Value::Int(i), _)) => {
                        Ok(Expr::Lit(Value::Int(negate(&i)), start + 1))
                    }
                    ('-', Expr::Lit(Value::Float(f), _)) => {
                        Ok(Expr::Lit(Value::Float(-f), start + 1))
                    }
                    ('-', Expr::Lit(Value::Bool(b), _)) => {
                        Ok(Expr::Lit(Value::int(-i64::from(u8::from(b))), start + 1))
                    }
                    (_, Expr::Call(call)) if call.name == "float" => {
                        let v = float_call(&call)?;
                        Ok(Expr::Lit(
                            match (c, v) {
                                ('-', Value::Float(f)) => Value::Float(-f),
                                (_, v) => v,
                            },
                            start + 1,
                        ))
                    }
                    _ => {
                        Err(self
                            .error_at(start, format!("a sign `{c}` must be followed by a number")))
                    }
                }
            }
            c if c.is_ascii_digit()
                || (c == '.' && matches!(self.peek_at(1), Some(d) if d.is_ascii_digit())) =>
            {
                self.number()
            }
            '\'' | '"' => self.strings(),
            c if is_ident_start(c) => {
                // A string prefix (b'', r'', rb'', u'') or a name.
                let mut k = 0;
                while matches!(self.peek_at(k), Some(ch) if ch.is_ascii_alphabetic()) && k < 2 {
                    k += 1;
                }
                if matches!(self.peek_at(k), Some('\'' | '"'))
                    && string_prefix(&self.chars[self.pos..self.pos + k]).is_some()
                {
                    return self.strings();
                }
                self.name_or_call()
            }
            other => Err(self.error(format!("unexpected {other:?}"))),
        }
    }

    /// Items up to `close`; whether there was a trailing comma.
    fn sequence(&mut self, close: char) -> Result<(Vec<Expr>, bool), ParseError> {
        let mut items = Vec::new();
        let mut trailing = false;
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok((items, trailing));
            }
            if self.at_end() {
                return Err(self.error(format!("expected {close:?}, found the end of the text")));
            }
            items.push(self.expr()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    trailing = true;
                }
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok((items, false));
                }
                _ => return Err(self.error(format!("expected ',' or {close:?}"))),
            }
        }
    }

    fn dict(&mut self, start: usize) -> Result<Expr, ParseError> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(Expr::Dict(items, start + 1));
            }
            if self.at_end() {
                return Err(self.error("expected '}', found the end of the text"));
            }
            let key = self.expr()?;
            self.expect(':', "':' after a dict key")?;
            let value = self.expr()?;
            items.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {
                    self.pos += 1;
                    return Ok(Expr::Dict(items, start + 1));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn ident(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek().filter(|&c| is_ident(c)) {
            s.push(c);
            self.pos += 1;
        }
        s
    }

    fn name_or_call(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        let mut name = self.ident();
        while self.peek() == Some('.') && matches!(self.peek_at(1), Some(c) if is_ident_start(c)) {
            self.pos += 1;
            name.push('.');
            name.push_str(&self.ident());
        }
        match name.as_str() {
            "None" => return Ok(Expr::Lit(Value::None, start + 1)),
            "True" => return Ok(Expr::Lit(Value::Bool(true), start + 1)),
            "False" => return Ok(Expr::Lit(Value::Bool(false), start + 1)),
            _ => {}
        }
        let save = self.pos;
        self.skip_ws();
        if self.peek() != Some('(') {
            self.pos = save;
            return Ok(Expr::Name(name, start + 1));
        }
        self.nest(self.pos, "parentheses")?;
        self.pos += 1;
        let mut args = Vec::new();
        let mut kwargs: Vec<(String, Expr)> = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(')') {
                self.pos += 1;
                break;
            }
            if self.at_end() {
                return Err(self.error("expected ')', found the end of the text"));
            }
            // `kw=value`?
            let arg_start = self.pos;
            let mut keyword = None;
            if matches!(self.peek(), Some(c) if is_ident_start(c)) {
                let word = self.ident();
                self.skip_ws();
                if self.peek() == Some('=') && self.peek_at(1) != Some('=') {
                    self.pos += 1;
                    keyword = Some(word);
                } else {
                    self.pos = arg_start;
                }
            }
            let value = self.expr()?;
            match keyword {
                Some(k) => {
                    if kwargs.iter().any(|(n, _)| *n == k) {
                        return Err(
                            self.error_at(arg_start, format!("keyword argument repeated: {k}"))
                        );
                    }
                    kwargs.push((k, value));
                }
                None if !kwargs.is_empty() => {
                    return Err(
                        self.error_at(arg_start, "positional argument follows keyword argument")
                    )
                }
                None => args.push(value),
            }
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("expected ',' or ')'")),
            }
        }
        self.unnest();
        Ok(Expr::Call(Call {
            name,
            column: start + 1,
            args,
            kwargs,
        }))
    }

    fn number(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        let mut text = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        {
            text.push(c);
            self.pos += 1;
            // An exponent's sign.
            if matches!(c, 'e' | 'E')
                && !text.starts_with("0x")
                && !text.starts_with("0X")
                && matches!(self.peek(), Some('+' | '-'))
            {
                if let Some(sign) = self.peek() {
                    text.push(sign);
                    self.pos += 1;
                }
            }
        }
        let bad = |why: &str| self.error_at(start, format!("invalid number {text:?}: {why}"));
        let lower = text.to_ascii_lowercase();
        let radix = match lower.get(..2) {
            Some("0x") => Some(16),
            Some("0o") => Some(8),
            Some("0b") => Some(2),
            _ => None,
        };
        // Python: an underscore only between two digits (`1_000`, `1e1_0`), or between a
        // base prefix and a digit (`0x_ff`).
        let underscores_ok = match radix {
            Some(_) => underscores_between_digits(&format!("0{}", &lower[2..]), true),
            None => underscores_between_digits(&lower, false),
        };
        if !underscores_ok {
            return Err(bad("misplaced underscore"));
        }
        if let Some(radix) = radix {
            let digits: String = lower[2..].chars().filter(|&c| c != '_').collect();
            if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                return Err(bad("not a valid integer in that base"));
            }
            let decimal = to_decimal(&digits, radix);
            let int = PyInt::parse(&decimal).map_err(|_| bad("not an integer"))?;
            return Ok(Expr::Lit(Value::Int(int), start + 1));
        }
        let plain: String = text.chars().filter(|&c| c != '_').collect();
        if plain.chars().all(|c| c.is_ascii_digit()) {
            let trimmed = plain.trim_start_matches('0');
            if trimmed.is_empty() {
                return Ok(Expr::Lit(Value::int(0), start + 1));
            }
            if trimmed.len() != plain.len() {
                return Err(bad(
                    "leading zeros in a decimal integer are not permitted (use 0o for octal)",
                ));
            }
            let int = PyInt::parse(trimmed).map_err(|_| bad("not an integer"))?;
            return Ok(Expr::Lit(Value::Int(int), start + 1));
        }
        let float_syntax = plain
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
        match plain.parse::<f64>() {
            Ok(f) if float_syntax && plain.chars().any(|c| c.is_ascii_digit()) => {
                Ok(Expr::Lit(Value::Float(f), start + 1))
            }
            _ => Err(bad("not a Python int or float literal")),
        }
    }

    /// One string literal, or several adjacent ones (concatenated; str and bytes may not
    /// mix).
    fn strings(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        let (first_bytes, mut acc) = self.string()?;
        loop {
            let save = self.pos;
            self.skip_ws();
            let next_is_string = match self.peek() {
                Some('\'' | '"') => true,
                Some(c) if c.is_ascii_alphabetic() => {
                    let mut k = 0;
                    while matches!(self.peek_at(k), Some(ch) if ch.is_ascii_alphabetic()) && k < 2 {
                        k += 1;
                    }
                    matches!(self.peek_at(k), Some('\'' | '"'))
                        && string_prefix(&self.chars[self.pos..self.pos + k]).is_some()
                }
                _ => false,
            };
            if !next_is_string {
                self.pos = save;
                break;
            }
            let at = self.pos;
            let (bytes, more) = self.string()?;
            if bytes != first_bytes {
                return Err(self.error_at(at, "cannot mix bytes and nonbytes literals"));
            }
            acc.extend(more);
        }
        let value = if first_bytes {
            Value::Bytes(acc.into_iter().map(|c| c as u8).collect())
        } else {
            Value::Str(acc.into_iter().collect())
        };
        Ok(Expr::Lit(value, start + 1))
    }

    /// One literal: (is bytes, its characters; for bytes each char is below 256).
    fn string(&mut self) -> Result<(bool, Vec<char>), ParseError> {
        let start = self.pos;
        let mut k = 0;
        while matches!(self.peek_at(k), Some(c) if c.is_ascii_alphabetic()) {
            k += 1;
        }
        let Some((raw, bytes)) = string_prefix(&self.chars[self.pos..self.pos + k]) else {
            return Err(self.error("invalid string prefix"));
        };
        self.pos += k;
        let Some(quote) = self.peek() else {
            return Err(self.error("expected a quote"));
        };
        let triple = self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error_at(start, "unterminated string literal"));
            };
            if c == quote
                && (!triple || (self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote)))
            {
                self.pos += if triple { 3 } else { 1 };
                return Ok((bytes, out));
            }
            if c == '\n' && !triple {
                return Err(self.error_at(start, "unterminated string literal"));
            }
            if bytes && !c.is_ascii() {
                return Err(self.error("bytes can only contain ASCII literal characters"));
            }
            if c != '\\' {
                out.push(c);
                self.pos += 1;
                continue;
            }
            let esc_at = self.pos;
            self.pos += 1;
            let Some(e) = self.peek() else {
                return Err(self.error_at(start, "unterminated string literal"));
            };
            if bytes && !e.is_ascii() {
                return Err(self.error("bytes can only contain ASCII literal characters"));
            }
            if raw {
                // A raw string keeps the backslash; it still escapes a quote.
                out.push('\\');
                out.push(e);
                self.pos += 1;
                continue;
            }
            self.pos += 1;
            match e {
                '\n' => {}
                '\\' | '\'' | '"' => out.push(e),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\x0b'),
                '0'..='7' => {
                    let mut n = e.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match self.peek().and_then(|d| d.to_digit(8)) {
                            Some(d) => {
                                n = n * 8 + d;
                                self.pos += 1;
                            }
                            None => break,
                        }
                    }
                    if bytes {
                        out.push(char::from((n & 0xff) as u8));
                    } else {
                        out.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                    }
                }
                'x' => out.push(self.hex_escape(2, esc_at, "\\xhh")?),
                'u' if !bytes => out.push(self.hex_escape(4, esc_at, "\\uXXXX")?),
                'U' if !bytes => out.push(self.hex_escape(8, esc_at, "\\UXXXXXXXX")?),
                'N' if !bytes => {
                    return Err(self.error_at(
                        esc_at,
                        "\\N{...} escapes are not supported: write the character or a \\u escape",
                    ))
                }
                other => {
                    // Python keeps unknown escapes as they are.
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }

    fn hex_escape(&mut self, n: usize, at: usize, form: &str) -> Result<char, ParseError> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.peek().and_then(|d| d.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.pos += 1;
                }
                None => return Err(self.error_at(at, format!("truncated {form} escape"))),
            }
        }
        char::from_u32(v).ok_or_else(|| {
            self.error_at(at, format!("{form} escape is not a Unicode scalar value (lone surrogates cannot be stored)"))
        })
    }
}

/// Whether every `_` of `text` is between two digits: decimal ones (`1e1_0` passes,
/// `1_e5` and `1e_5` do not), or hexadecimal ones for an integer in another base (its
/// digits are checked against the base elsewhere).
fn underscores_between_digits(text: &str, hex: bool) -> bool {
    let digit = |c: &char| {
        if hex {
            c.is_ascii_hexdigit()
        } else {
            c.is_ascii_digit()
        }
    };
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().all(|(i, &c)| {
        c != '_' || (i > 0 && digit(&chars[i - 1]) && chars.get(i + 1).is_some_and(digit))
    })
}

/// `(raw, bytes)` for a string prefix (case-insensitive), or `None`.
fn string_prefix(prefix: &[char]) -> Option<(bool, bool)> {
    let p: String = prefix.iter().collect::<String>().to_ascii_lowercase();
    match p.as_str() {
        "" | "u" => Some((false, false)),
        "r" => Some((true, false)),
        "b" => Some((false, true)),
        "br" | "rb" => Some((true, true)),
        _ => None,
    }
}

fn negate(i: &PyInt) -> PyInt {
    let mut text = String::new();
    i.write_decimal(&mut text);
    let neg = match text.strip_prefix('-') {
        Some(rest) => rest.to_owned(),
        None if text == "0" => text,
        None => format!("-{text}"),
    };
    PyInt::parse(&neg).unwrap_or_else(|_| i.clone())
}

/// `digits` (valid in `radix`) as canonical decimal text.
fn to_decimal(digits: &str, radix: u32) -> String {
    // Little-endian limbs of 10^9.
    let mut limbs: Vec<u64> = vec![0];
    for d in digits.chars().filter_map(|c| c.to_digit(radix)) {
        let mut carry = u64::from(d);
        for limb in &mut limbs {
            let v = *limb * u64::from(radix) + carry;
            *limb = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push(carry % 1_000_000_000);
            carry /= 1_000_000_000;
        }
    }
    let mut out = String::new();
    for (i, limb) in limbs.iter().rev().enumerate() {
        if i == 0 {
            out.push_str(&limb.to_string());
        } else {
            out.push_str(&format!("{limb:09}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flaskcache_engine::PythonVersion;

    fn repr(text: &str) -> String {
        match parse_literal(text) {
            Ok(v) => v.repr(PythonVersion::Py311),
            Err(e) => format!("error {e}"),
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(repr("'hello'"), "'hello'");
        assert_eq!(repr("\"it's\""), "\"it's\"");
        assert_eq!(repr(r"'a\nb\x00\u00e9\U0001F600'"), r"'a\nb\x00é😀'");
        assert_eq!(repr(r"b'\x00ab\xff'"), r"b'\x00ab\xff'");
        assert_eq!(repr(r"rb'\x00'"), r"b'\\x00'");
        assert_eq!(repr("'a' 'b'"), "'ab'");
        assert_eq!(repr("1_000_000"), "1000000");
        assert_eq!(repr("-12"), "-12");
        assert_eq!(
            repr("123456789012345678901234567890"),
            "123456789012345678901234567890"
        );
        assert_eq!(repr("0xff"), "255");
        assert_eq!(repr("0x1_0000_0000_0000_0000"), "18446744073709551616");
        assert_eq!(repr("1.5"), "1.5");
        assert_eq!(repr("-0.0"), "-0.0");
        assert_eq!(repr("1e10"), "10000000000.0");
        assert_eq!(repr(".5"), "0.5");
        assert_eq!(repr("float('inf')"), "inf");
        assert_eq!(repr("-float('inf')"), "-inf");
        assert_eq!(repr("float('nan')"), "nan");
        assert_eq!(repr("True"), "True");
        assert_eq!(repr("None"), "None");
    }

    #[test]
    fn containers() {
        assert_eq!(
            repr("[1, 2.5, None, (True, 'x')]"),
            "[1, 2.5, None, (True, 'x')]"
        );
        assert_eq!(repr("{'a': b'\\x00'}"), "{'a': b'\\x00'}");
        assert_eq!(repr("(1,)"), "(1,)");
        assert_eq!(repr("(1)"), "1");
        assert_eq!(repr("()"), "()");
        assert_eq!(repr("[]"), "[]");
        assert_eq!(repr("{}"), "{}");
        assert_eq!(repr("{1: 'a', 1.0: 'b', True: 'c'}"), "{1: 'c'}");
        assert_eq!(repr("[[], {'k': [(1, 2)]}, ]"), "[[], {'k': [(1, 2)]}]");
    }

    #[test]
    fn errors_name_the_column() {
        assert_eq!(repr("'abc"), "error column 1: unterminated string literal");
        assert_eq!(repr("[1, 2"), "error column 6: expected ',' or ']'");
        assert_eq!(repr("[1, x]"), "error column 5: \"x\" is not a literal (values are str, bytes, int, float, True, False, None, tuples, lists and dicts; float('inf') and float('nan') spell those floats)");
        assert_eq!(repr("007"), "error column 1: invalid number \"007\": leading zeros in a decimal integer are not permitted (use 0o for octal)");
        assert_eq!(
            repr("1 2"),
            "error column 3: unexpected text after the value"
        );
        assert_eq!(repr(""), "error column 1: expected a value, found nothing");
        assert_eq!(
            repr("b'é'"),
            "error column 3: bytes can only contain ASCII literal characters"
        );
        assert_eq!(
            repr("'a' b'b'"),
            "error column 5: cannot mix bytes and nonbytes literals"
        );
        assert_eq!(repr(r"'\x4'"), r"error column 2: truncated \xhh escape");
    }

    /// Python refuses a 201st level of parentheses; signs nest the same way. Deeper input
    /// is an error, not a stack overflow.
    #[test]
    fn nesting_is_bounded() {
        for (open, close) in [("[", "]"), ("(", ",)"), ("{1: ", "}"), ("float(", ")")] {
            let deep = |n: usize| format!("{}1{}", open.repeat(n), close.repeat(n));
            if open != "float(" {
                assert!(parse_literal(&deep(200)).is_ok(), "{open}");
            }
            let err = parse_expr(&deep(201)).unwrap_err();
            assert_eq!(
                err.message, "too many nested parentheses (at most 200 levels)",
                "{open}"
            );
            assert_eq!(
                err.column,
                // The bracket of the 201st level.
                200 * open.len() + open.find(['(', '[', '{']).map_or(0, |i| i + 1),
                "{open}"
            );
            let err = parse_expr(&deep(10_000)).unwrap_err();
            assert!(err.message.starts_with("too many nested"), "{open}");
        }
        assert_eq!(repr(&format!("{}1", "-".repeat(200))), "1");
        assert_eq!(repr(&format!("{}1", "-".repeat(199))), "-1");
        assert_eq!(
            repr(&format!("{}1", "-".repeat(10_000))),
            "error column 201: too many nested signs (at most 200 levels)"
        );
        assert_eq!(
            repr(&format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000))),
            "error column 201: too many nested parentheses (at most 200 levels)"
        );
        // Siblings do not add up.
        let wide = vec!["[[1]]"; 1000].join(", ");
        assert!(parse_literal(&format!("[{wide}]")).is_ok());
        assert!(parse_call(&format!("f({})", "(".repeat(300))).is_err());
    }

    /// Python: SyntaxError: bytes can only contain ASCII literal characters, escaped or not,
    /// raw or not.
    #[test]
    fn bytes_are_ascii_even_after_a_backslash() {
        for text in [r"b'\€'", r"rb'\€'", r"b'a\é'", r"br'\\é'", r"B'\\\€'"] {
            assert!(
                repr(text).ends_with("bytes can only contain ASCII literal characters"),
                "{text}: {}",
                repr(text)
            );
        }
        assert_eq!(
            repr(r"b'\€'"),
            "error column 4: bytes can only contain ASCII literal characters"
        );
        // A str keeps an unknown escape as it is.
        assert_eq!(repr(r"'\€'"), r"'\\€'");
        assert_eq!(repr(r"b'\q'"), r"b'\\q'");
    }

    /// Underscores as Python places them: only between digits (or after a base prefix).
    #[test]
    fn underscores_between_digits_only() {
        for bad in [
            "1_e5", "1e_5", "1_.5", "1._5", "1__0", "1_", "0x1__0", "0x1_", "1e+_5", "1.5_",
        ] {
            assert!(
                repr(bad).ends_with("misplaced underscore"),
                "{bad}: {}",
                repr(bad)
            );
        }
        assert_eq!(repr("1e1_0"), "10000000000.0");
        assert_eq!(repr("1.5_0"), "1.5");
        assert_eq!(repr("1_0.5"), "10.5");
        assert_eq!(repr("0x_1"), "1");
        assert_eq!(repr("0b_1_0"), "2");
        assert_eq!(repr("0_0"), "0");
        assert_eq!(repr("0x1_f"), "31");
        for bad in [
            "float('1__0')",
            "float('_1')",
            "float('1_')",
            "float('1_e5')",
            "float('in_f')",
            "float('n_an')",
            "float('-_1')",
            "float('1._5')",
        ] {
            assert!(
                repr(bad).contains("float(...) takes one string"),
                "{bad}: {}",
                repr(bad)
            );
        }
        assert_eq!(repr("float('1_0')"), "10.0");
        assert_eq!(repr("float(' 1_0.5 ')"), "10.5");
        assert_eq!(repr("float('1.5_0')"), "1.5");
        assert_eq!(repr("float('+1e1_0')"), "10000000000.0");
        assert_eq!(repr("float('1_000.000_1e-1_0')"), "1.0000001e-07");
    }

    /// Dict keys compare as Python's `==`: exactly between int and float, element by
    /// element in tuples.
    #[test]
    fn dict_keys_compare_exactly() {
        assert_eq!(
            repr("{9007199254740993: 1, 9007199254740992.0: 2}"),
            "{9007199254740993: 1, 9007199254740992.0: 2}"
        );
        assert_eq!(
            repr("{9007199254740992: 1, 9007199254740992.0: 2}"),
            "{9007199254740992: 2}"
        );
        assert_eq!(repr("{(1,): 'a', (1.0,): 'b'}"), "{(1,): 'b'}");
        assert_eq!(
            repr("{(1, (True,)): 'a', (1.0, (1,)): 'b'}"),
            "{(1, (True,)): 'b'}"
        );
        assert_eq!(repr("{(1, 2): 'a', (1,): 'b'}"), "{(1, 2): 'a', (1,): 'b'}");
        assert_eq!(repr("{0: 1, -0.0: 2, False: 3}"), "{0: 3}");
        assert_eq!(repr("{0.5: 1, 0: 2}"), "{0.5: 1, 0: 2}");
        assert_eq!(repr("{'1': 1, 1: 2}"), "{'1': 1, 1: 2}");
        // 1e308 is exactly 10**308 + 1097906...: not 10**308, but its own exact value.
        let exact = "100000000000000001097906362944045541740492309677311846336810682903157585404911491537163328978494688899061249669721172515611590283743140088328307009198146046031271664502933027185697489699588559043338384466165001178426897626212945177628091195786707458122783970171784415105291802893207873272974885715430223118336";
        assert_eq!(
            repr(&format!("{{1e308: 1, 1{}: 2}}", "0".repeat(308))),
            format!("{{1e+308: 1, 1{}: 2}}", "0".repeat(308))
        );
        assert_eq!(
            repr(&format!("{{{exact}: 1, 1e308: 2}}")),
            format!("{{{exact}: 2}}")
        );
        assert_eq!(
            repr("{float('nan'): 1, float('inf'): 2, 1: 3}"),
            "{nan: 1, inf: 2, 1: 3}"
        );
    }

    #[test]
    fn calls() {
        let (call, bare) = parse_call("price('tea', qty=2)").unwrap();
        assert!(!bare);
        assert_eq!(call.name, "price");
        assert_eq!(call.args.len(), 1);
        assert_eq!(call.kwargs[0].0, "qty");
        let (call, _) = parse_call("Stock.level(Stock, 'A1')").unwrap();
        assert_eq!(call.name, "Stock.level");
        assert_eq!(call.args[0], Expr::Name("Stock".into(), 13));
        let (call, bare) = parse_call("app.models.price").unwrap();
        assert!(bare);
        assert_eq!(call.name, "app.models.price");
        assert_eq!(
            parse_call("price(x=1, 2)").unwrap_err().message,
            "positional argument follows keyword argument"
        );
        assert_eq!(parse_call("'x'").unwrap_err().column, 1);
    }
}
