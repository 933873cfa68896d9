//! Python's `template % path` for a single `str` argument, as `key_prefix % request.path`
//! evaluates it (FC-1.2.1): every `%` directive is interpreted, and anything but exactly one
//! string conversion raises the same error CPython raises.

use crate::error::{PyError, PyExceptionType};
use crate::value::{repr_str_into, PythonVersion};

/// Largest padding produced. CPython pads to any width that fits `Py_ssize_t` and raises
/// `MemoryError` when the allocation fails; the engine refuses widths beyond 64 Mi
/// characters with that `MemoryError` rather than attempt them.
const MAX_PADDING: usize = 1 << 26;

/// Parses a run of decimal digits as CPython does for a width or precision: a value above
/// `Py_ssize_t`'s maximum raises `ValueError("<what> too big")`.
fn parse_count(chars: &[(usize, char)], i: &mut usize, what: &str) -> Result<usize, PyError> {
    let mut n: u64 = 0;
    while let Some(d) = chars.get(*i).and_then(|&(_, c)| c.to_digit(10)) {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d)))
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or_else(|| PyError::value_error(format!("{what} too big")))?;
        *i += 1;
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// `template % arg` where `arg` is a `str`.
pub fn percent_format(template: &str, arg: &str, py: PythonVersion) -> Result<String, PyError> {
    let mut out = String::new();
    percent_format_into(template, arg, py, &mut out)?;
    Ok(out)
}

/// [`percent_format`], appended to `out` (left as it was when it raises).
pub fn percent_format_into(
    template: &str,
    arg: &str,
    py: PythonVersion,
    out: &mut String,
) -> Result<(), PyError> {
    // The common template (`view/%s`): one `%`, a bare `%s`. For a str argument that is the
    // text around it with the argument in between, exactly what the general parser builds.
    if let Some(at) = template.find('%') {
        let (before, rest) = template.split_at(at);
        let after = rest.strip_prefix("%s").unwrap_or("%");
        if !after.contains('%') {
            out.reserve(template.len() - 2 + arg.len());
            out.push_str(before);
            out.push_str(arg);
            out.push_str(after);
            return Ok(());
        }
    }
    out.push_str(&percent_format_general(template, arg, py)?);
    Ok(())
}

/// `template % arg` for any template: Python's `%` directives, flags, width and precision.
fn percent_format_general(template: &str, arg: &str, py: PythonVersion) -> Result<String, PyError> {
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
        let directive_start = i;
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
        width = width.max(parse_count(&chars, &mut i, "width")?);
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
            precision = Some(parse_count(&chars, &mut i, "precision")?);
        }
        // One length modifier is accepted and ignored.
        if i < chars.len() && matches!(chars[i].1, 'h' | 'l' | 'L') {
            i += 1;
        }
        let Some(&(index, conv)) = chars.get(i) else {
            return Err(PyError::value_error("incomplete format"));
        };
        i += 1;
        // `%%` is a literal only with nothing between the two signs; `%5%` is an
        // unsupported conversion like any other.
        if conv == '%' && i == directive_start + 1 {
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
        if pad > MAX_PADDING {
            return Err(PyError::new(
                PyExceptionType::Other("MemoryError".into()),
                "",
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(template: &str) -> Result<String, String> {
        percent_format(template, "x", PythonVersion::Py311).map_err(|e| e.to_string())
    }

    /// Each expectation was obtained by running `template % 'x'` on CPython 3.7 and 3.11.
    #[test]
    fn the_bare_s_shortcut_builds_what_the_general_parser_builds() {
        let py = PythonVersion::default();
        for template in ["view/%s", "%s", "%s/x", "a%sb", "pré%s€", "", "plain", "x%"] {
            for arg in ["", "/p/1", "é ü", "%s", "%%"] {
                assert_eq!(
                    percent_format(template, arg, py),
                    percent_format_general(template, arg, py),
                    "{template:?} % {arg:?}"
                );
            }
        }
    }

    #[test]
    fn matches_cpython_on_edge_directives() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            (
                "%99999999999999999999s%%s",
                Err("ValueError: width too big"),
            ),
            (
                "%.99999999999999999999s%s",
                Err("ValueError: precision too big"),
            ),
            ("%9223372036854775807s%%s", Err("MemoryError: ")),
            (
                "%hhs",
                Err("ValueError: unsupported format character 'h' (0x68) at index 2"),
            ),
            (
                "%lhs",
                Err("ValueError: unsupported format character 'h' (0x68) at index 2"),
            ),
            (
                "%5%",
                Err("ValueError: unsupported format character '%' (0x25) at index 2"),
            ),
            (
                "%-%%s",
                Err("ValueError: unsupported format character '%' (0x25) at index 2"),
            ),
            (
                "%.%%s",
                Err("ValueError: unsupported format character '%' (0x25) at index 2"),
            ),
            (
                "%l%%s",
                Err("ValueError: unsupported format character '%' (0x25) at index 2"),
            ),
            (
                "%s%5%",
                Err("TypeError: not enough arguments for format string"),
            ),
            ("%%s%s", Ok("%sx")),
            ("%ls", Ok("x")),
            ("%-3s|", Ok("x  |")),
        ];
        for (template, want) in cases {
            let want = want.map(str::to_owned).map_err(str::to_owned);
            assert_eq!(fmt(template), want, "{template}");
        }
    }
}
