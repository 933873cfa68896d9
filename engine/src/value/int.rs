//! Python `int`: arbitrary size. Machine-sized values stay inline (the common case, and the
//! hit path); larger ones keep their canonical decimal text, which is all `repr` needs.

use std::fmt;

/// A Python integer of any size.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PyInt(Repr);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Repr {
    Small(i64),
    /// Canonical decimal text (optional `-`, no leading zeros) of a value outside `i64`.
    Big(Box<str>),
}

/// The text given to [`PyInt::parse`] is not a canonical decimal integer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntParseError(pub String);

impl fmt::Display for IntParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid integer literal: {:?}", self.0)
    }
}

impl std::error::Error for IntParseError {}

impl From<i64> for PyInt {
    fn from(i: i64) -> Self {
        PyInt(Repr::Small(i))
    }
}

impl PyInt {
    /// Parses decimal text (`-?[0-9]+`, leading zeros allowed and removed, `-0` is `0`).
    pub fn parse(text: &str) -> Result<Self, IntParseError> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IntParseError(text.to_owned()));
        }
        if let Ok(small) = text.parse::<i64>() {
            return Ok(PyInt(Repr::Small(small)));
        }
        let trimmed = digits.trim_start_matches('0');
        let mut canonical = String::with_capacity(trimmed.len() + 1);
        if negative {
            canonical.push('-');
        }
        canonical.push_str(trimmed);
        Ok(PyInt(Repr::Big(canonical.into_boxed_str())))
    }

    /// The value as an `i64`, when it fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self.0 {
            Repr::Small(i) => Some(i),
            Repr::Big(_) => None,
        }
    }

    /// How many decimal digits `str(self)` has, the sign not counted.
    pub fn decimal_digits(&self) -> usize {
        match &self.0 {
            Repr::Small(i) => i
                .unsigned_abs()
                .checked_ilog10()
                .map_or(1, |d| d as usize + 1),
            Repr::Big(text) => text.trim_start_matches('-').len(),
        }
    }

    /// Whether `str(self)` has more than `limit` digits (Python's `int_max_str_digits`).
    /// An `i64` has at most 19, so only a big int is counted.
    #[inline]
    pub fn has_more_digits_than(&self, limit: usize) -> bool {
        match &self.0 {
            Repr::Small(_) if limit >= 19 => false,
            _ => self.decimal_digits() > limit,
        }
    }

    /// `self == 0`.
    pub fn is_zero(&self) -> bool {
        matches!(self.0, Repr::Small(0))
    }

    /// Appends the decimal text (`repr(int)`).
    pub fn write_decimal(&self, out: &mut String) {
        match &self.0 {
            // Digits from the right into a stack buffer: a key's ints are formatted on every
            // call, and `write!` costs several times as much.
            Repr::Small(i) => {
                let mut digits = [0u8; 20];
                let mut at = digits.len();
                let mut n = i.unsigned_abs();
                loop {
                    at -= 1;
                    digits[at] = b'0' + (n % 10) as u8;
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                if *i < 0 {
                    at -= 1;
                    digits[at] = b'-';
                }
                out.extend(digits[at..].iter().map(|&b| char::from(b)));
            }
            Repr::Big(text) => out.push_str(text),
        }
    }
}

impl fmt::Display for PyInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_decimal(&mut s);
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::PyInt;

    #[test]
    fn small_ints_are_written_as_python_writes_them() {
        for i in [0, 1, -1, 9, 10, -10, 4_294_967_296, i64::MAX, i64::MIN] {
            let mut out = String::from("x");
            PyInt::from(i).write_decimal(&mut out);
            assert_eq!(out, format!("x{i}"));
        }
    }
}
