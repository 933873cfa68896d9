//! Python's `template % path` for a single `str` argument, as `key_prefix % request.path`
//! evaluates it (FC-1.2.1): every `%` directive is interpreted, and anything but exactly one
//! string conversion raises the same error CPython raises.

use crate::error::PyError;
use crate::value::{repr_str_into, PythonVersion};

/// `template % arg` where `arg` is a `str`.
pub fn percent_format(template: &str, arg: &str, py: PythonVersion) -> Result<String, PyError> {
    let mut out = String::with_capacity(template.len() + arg.len());
    let mut used = false;
    let chars: Vec<(usize, char)> = template.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (_, c) = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        if i >= chars.len() {
            return Err(PyError::value_error("incomplete format"));
        }
        if chars[i].1 == '(' {
            return Err(PyError::type_error("format requires a mapping"));
        }
        // Flags.
        let mut left = false;
        while i < chars.len() && matches!(chars[i].1, '-' | '+' | ' ' | '#' | '0') {
            left |= chars[i].1 == '-';
            i += 1;
        }
        // Width.
        let mut width: usize = 0;
        if i < chars.len() && chars[i].1 == '*' {
            if used {
                return Err(PyError::type_error(
                    "not enough arguments for format string",
                ));
            }
            return Err(PyError::type_error("* wants int"));
        }
        while i < chars.len() && chars[i].1.is_ascii_digit() {
            width = width
                .saturating_mul(10)
                .saturating_add(chars[i].1 as usize - '0' as usize);
            i += 1;
        }
        // Precision.
        let mut precision: Option<usize> = None;
        if i < chars.len() && chars[i].1 == '.' {
            i += 1;
            if i < chars.len() && chars[i].1 == '*' {
                if used {
                    return Err(PyError::type_error(
                        "not enough arguments for format string",
                    ));
                }
                return Err(PyError::type_error("* wants int"));
            }
            let mut p = 0usize;
            while i < chars.len() && chars[i].1.is_ascii_digit() {
                p = p
                    .saturating_mul(10)
                    .saturating_add(chars[i].1 as usize - '0' as usize);
                i += 1;
            }
            precision = Some(p);
        }
        // Length modifiers are accepted and ignored.
        while i < chars.len() && matches!(chars[i].1, 'h' | 'l' | 'L') {
            i += 1;
        }
        let Some(&(index, conv)) = chars.get(i) else {
            return Err(PyError::value_error("incomplete format"));
        };
        i += 1;
        if conv == '%' {
            out.push('%');
            continue;
        }
        if used {
            return Err(PyError::type_error(
                "not enough arguments for format string",
            ));
        }
        let text: String = match conv {
            's' => arg.to_owned(),
            'r' => {
                let mut t = String::new();
                repr_str_into(arg, &mut t, py);
                t
            }
            'a' => ascii_repr(arg, py),
            'd' | 'i' | 'u' => {
                // CPython 3.7 said "a number"; 3.8 and later say "a real number".
                let number = match py {
                    PythonVersion::Py37 => "a number",
                    _ => "a real number",
                };
                return Err(PyError::type_error(format!(
                    "%{conv} format: {number} is required, not str"
                )));
            }
            'o' | 'x' | 'X' => {
                return Err(PyError::type_error(format!(
                    "%{conv} format: an integer is required, not str"
                )))
            }
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
                return Err(PyError::type_error("must be real number, not str"))
            }
            'c' => {
                let mut it = arg.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => c.to_string(),
                    _ => return Err(PyError::type_error("%c requires int or char")),
                }
            }
            other => {
                return Err(PyError::value_error(format!(
                    "unsupported format character '{}' (0x{:x}) at index {}",
                    other,
                    other as u32,
                    template[..index].chars().count()
                )))
            }
        };
        used = true;
        let text: String = match precision {
            Some(p) if conv != 'c' => text.chars().take(p).collect(),
            _ => text,
        };
        let len = text.chars().count();
        let pad = width.saturating_sub(len);
        if !left {
            out.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(&text);
        if left {
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
    if !used {
        return Err(PyError::type_error(
            "not all arguments converted during string formatting",
        ));
    }
    Ok(out)
}

/// `ascii(s)`: the repr with every non-ASCII character escaped.
fn ascii_repr(s: &str, py: PythonVersion) -> String {
    let mut repr = String::new();
    repr_str_into(s, &mut repr, py);
    let mut out = String::with_capacity(repr.len());
    for c in repr.chars() {
        let n = c as u32;
        if n < 0x80 {
            out.push(c);
        } else if n < 0x100 {
            out.push_str(&format!("\\x{n:02x}"));
        } else if n < 0x10000 {
            out.push_str(&format!("\\u{n:04x}"));
        } else {
            out.push_str(&format!("\\U{n:08x}"));
        }
    }
    out
}
