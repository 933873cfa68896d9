//! CPython's `repr(float)`.
//!
//! CPython (`float_repr_style == 'short'`) formats with `PyOS_double_to_string(x, 'r', 0,
//! Py_DTSF_ADD_DOT_0)`: the shortest digit string that reads back as `x`, laid out in
//! scientific notation when the decimal exponent is below -4 or at least 16, positionally
//! (with at least one digit after the point) otherwise.
//!
//! Rust's `{:e}` gives the shortest round-trip digits too, closest to the exact value,
//! except in one case: when the exact value lies exactly halfway between two shortest
//! candidates (e.g. `999999999999965.25`, between `...965.2` and `...965.3`), Rust
//! rounds up while CPython's `dtoa` (mode 0) picks the candidate with the even last
//! digit. [`break_tie_to_even`] detects that case and applies CPython's choice.

use std::fmt::Write as _;

/// The longest `{:e}` output of a finite positive `f64` is 23 bytes
/// (`2.2250738585072014e-308`).
const BUF_LEN: usize = 32;

/// A fixed-size `fmt::Write` sink, so that formatting needs no heap allocation.
struct StackBuf {
    bytes: [u8; BUF_LEN],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        StackBuf {
            bytes: [0; BUF_LEN],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so the prefix is valid UTF-8.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > BUF_LEN {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Appends `repr(x)` as CPython prints it: `1.0`, `0.0001`, `1e-05`, `1e+16`,
/// `1.2345678901234568e+17`, `-0.0`, `inf`, `-inf`, `nan` (never `-nan`).
pub(crate) fn write_float_repr(x: f64, out: &mut String) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    if x.is_infinite() {
        out.push_str("inf");
        return;
    }
    if x == 0.0 {
        out.push_str("0.0");
        return;
    }

    let mut buf = StackBuf::new();
    // `{:e}` of a finite non-zero f64: `d[.ddd]e[-]n` with the shortest round-trip digits.
    if write!(buf, "{:e}", x.abs()).is_err() {
        unreachable!("f64 `{{:e}}` output exceeds {BUF_LEN} bytes");
    }
    let text = &buf.bytes[..buf.len];
    let e_at = text
        .iter()
        .position(|&b| b == b'e')
        .expect("`{:e}` output has an exponent");
    let (mantissa, exponent) = (&text[..e_at], &text[e_at + 1..]);
    let mut exp: i32 = 0;
    for &b in exponent.iter().filter(|b| b.is_ascii_digit()) {
        exp = exp * 10 + i32::from(b - b'0');
    }
    if exponent.first() == Some(&b'-') {
        exp = -exp;
    }
    // At most 17 significant digits.
    let mut digits = [0u8; 20];
    let mut n = 0;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        digits[n] = b;
        n += 1;
    }
    break_tie_to_even(x.abs(), &mut digits, &mut n, &mut exp);
    let digits = &digits[..n];
    // Byte-for-byte ASCII digits, so pushing them as chars is exact.
    let push_digits = |out: &mut String, d: &[u8]| {
        for &b in d {
            out.push(char::from(b));
        }
    };

    if !(-4..16).contains(&exp) {
        // d[.ddd]e±XX, at least two exponent digits, no `.0` added.
        push_digits(out, &digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            push_digits(out, &digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push('0');
        }
        // Writing into a String cannot fail.
        let _ = write!(out, "{abs}");
    } else if exp < 0 {
        // 0.000ddd
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        push_digits(out, digits);
    } else {
        // ddd[000].0 or dd.ddd
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            push_digits(out, digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            push_digits(out, &digits[..int_len]);
            out.push('.');
            push_digits(out, &digits[int_len..]);
        }
    }
}

/// The exact value of a finite positive `x` as `(m, e)` with `x == m * 2^e` and `m` odd.
fn odd_mantissa(x: f64) -> (u64, i32) {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (m, e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let shift = m.trailing_zeros();
    (m >> shift, e + shift as i32)
}

/// Rewrites the shortest digits `digits[..*n]` (leading digit at decimal exponent `*exp`)
/// of the finite positive `x` into CPython's choice when two shortest candidates are
/// exactly equally close to `x`: the one whose last digit is even.
///
/// A tie needs `x` to be exactly `(D + 1/2) * 10^k` where `D` has `n` digits, i.e. the
/// exact decimal expansion of `x` has exactly `n + 1` significant digits (ending in 5).
/// With `x = m * 2^e` (`m` odd, `e < 0`) that expansion is `m * 5^-e` times `10^e`.
fn break_tie_to_even(x: f64, digits: &mut [u8; 20], n: &mut usize, exp: &mut i32) {
    let (m, e) = odd_mantissa(x);
    // `n <= 17`, so a tie needs at most 18 exact digits: m * 5^-e < 10^18, so -e <= 25.
    if !(-25..0).contains(&e) {
        return;
    }
    let exact = u128::from(m) * 5u128.pow(e.unsigned_abs());
    let mut exact_len = 0;
    let mut rest = exact;
    while rest > 0 {
        rest /= 10;
        exact_len += 1;
    }
    if exact_len != *n + 1 {
        return;
    }
    let ours = digits[..*n]
        .iter()
        .fold(0u128, |acc, &d| acc * 10 + u128::from(d - b'0'));
    let lower = exact / 10;
    let upper = lower + 1;
    if ours != lower && ours != upper {
        return;
    }
    let even = if lower % 2 == 0 { lower } else { upper };
    if even == ours {
        return;
    }
    // The even candidate is as close as ours; take it only if it reads back as `x`.
    let mut buf = StackBuf::new();
    if write!(buf, "{even}e{}", e + 1).is_err() || buf.as_str().parse::<f64>() != Ok(x) {
        return;
    }
    // `even` has n digits, or n + 1 when it is the power of ten 10^n.
    let mut text = StackBuf::new();
    if write!(text, "{even}").is_err() {
        return;
    }
    let text = &text.bytes[..text.len];
    *exp = exact_len as i32 - 1 + e + (text.len() as i32 - *n as i32);
    let kept = text.len() - text.iter().rev().take_while(|&&b| b == b'0').count();
    digits[..kept].copy_from_slice(&text[..kept]);
    *n = kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr(x: f64) -> String {
        let mut out = String::new();
        write_float_repr(x, &mut out);
        out
    }

    #[test]
    fn specials() {
        assert_eq!(repr(0.0), "0.0");
        assert_eq!(repr(-0.0), "-0.0");
        assert_eq!(repr(f64::INFINITY), "inf");
        assert_eq!(repr(f64::NEG_INFINITY), "-inf");
        assert_eq!(repr(f64::NAN), "nan");
        assert_eq!(repr(-f64::NAN), "nan");
        assert_eq!(repr(f64::from_bits(0xfff0_0000_0000_0001)), "nan");
    }

    #[test]
    fn layout_matches_cpython() {
        // Each expectation was printed by CPython 3.11/3.12/3.13.
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (-1.0, "-1.0"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (1.5, "1.5"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (1e15, "1000000000000000.0"),
            (123456789012345.0, "123456789012345.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e16, "1e+16"),
            (1e22, "1e+22"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1.2345e100, "1.2345e+100"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (-2.5e-7, "-2.5e-07"),
            (1e-100, "1e-100"),
            (0.3, "0.3"),
            (2.0 / 3.0, "0.6666666666666666"),
            (2251799813685248.5, "2251799813685248.5"),
        ];
        for &(x, want) in cases {
            assert_eq!(repr(x), want, "{x:e}");
        }
    }

    #[test]
    fn exact_ties_go_to_the_even_digit() {
        // x.25 and x.75 are exact here (ulp 1/8), so two one-decimal candidates tie.
        let cases: &[(f64, &str)] = &[
            (999_999_999_999_965.0 + 0.25, "999999999999965.2"),
            (999_999_999_999_965.0 + 0.75, "999999999999965.8"),
            (-(1_000_000_000_000_061.0 + 0.25), "-1000000000000061.2"),
            (1_125_899_906_842_625.0 + 0.25, "1125899906842625.2"),
            (1_000_000_000_000_098.0 + 0.25, "1000000000000098.2"),
        ];
        for &(x, want) in cases {
            assert_eq!(repr(x), want, "{x:e}");
        }
    }
}
