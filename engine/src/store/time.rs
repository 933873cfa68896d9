//! Virtual time: the value Python's `time()` returns inside the backend, as an input
//! (FC-4.3.1, FC-4.3.2).

use std::cmp::Ordering;
use std::fmt;

const MICROS_PER_SEC: i64 = 1_000_000;

/// A point in virtual time, in whole microseconds since the Unix epoch (FC-4.3.1, FC-4.3.2).
///
/// The backend sees the float Python computes as `micros / 1_000_000`, correctly rounded
/// ([`Timestamp::as_py_float`]). Every comparison the store makes with the clock is made
/// against that float, exactly as Python compares it: an `int` with a `float` by value, a
/// `float` with a `float` as IEEE doubles ([`Timestamp::cmp_secs`],
/// [`Timestamp::trunc_secs`]). Below 2^33 seconds (the year 2242) distinct microseconds are
/// distinct floats; beyond that several microseconds share one float, and the store follows
/// the float.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch, `0.0` (FC-4.3.1).
    pub const EPOCH: Timestamp = Timestamp(0);

    /// `secs` whole seconds after the epoch (FC-4.3.1). Saturates at the representable
    /// range (about ±292,000 years).
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(MICROS_PER_SEC))
    }

    /// `micros` microseconds after the epoch (FC-4.3.1).
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    /// Microseconds since the epoch (FC-4.3.1).
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Python's `int(time())`: the float clock truncated toward zero, as cachelib computes
    /// `expires = int(time()) + timeout` (FC-4.3.1). Equal to `micros / 1_000_000` truncated
    /// except far from the epoch, where the float rounds up to the next whole second.
    pub fn trunc_secs(self) -> i64 {
        // |float| < 2^44, so the truncated value converts exactly.
        self.as_py_float().trunc() as i64
    }

    /// The float `time()` returns at this instant: Python's `micros / 1_000_000`, the
    /// correctly rounded quotient (FC-4.3.2).
    pub fn as_py_float(self) -> f64 {
        const EXACT: i64 = 1 << 53;
        if (-EXACT..=EXACT).contains(&self.0) {
            // Both operands are exact doubles; IEEE division rounds correctly.
            return self.0 as f64 / MICROS_PER_SEC as f64;
        }
        // |micros| > 2^53: the quotient lies in [2^33, 2^44). Round |micros| / 10^6 to 53
        // significant bits, ties to even, in integer arithmetic.
        let n = u128::from(self.0.unsigned_abs());
        let divisor = u128::from(MICROS_PER_SEC.unsigned_abs());
        let whole = n / divisor;
        let exponent = 127 - whole.leading_zeros(); // floor(log2(quotient)), 33..=43
        let shift = 52u32.saturating_sub(exponent);
        let scaled = n << shift;
        let mut mantissa = scaled / divisor;
        let twice_rem = (scaled % divisor) * 2;
        if twice_rem > divisor || (twice_rem == divisor && mantissa & 1 == 1) {
            mantissa += 1;
        }
        // mantissa <= 2^53 and the scale is a power of two: both steps are exact.
        let magnitude = mantissa as f64 / (1u64 << shift) as f64;
        if self.0 < 0 {
            -magnitude
        } else {
            magnitude
        }
    }

    /// The sub-second part in microseconds, with the sign of the timestamp (FC-4.3.2:
    /// the effective lifetime of an entry is `timeout - frac(now_at_set)`).
    pub const fn subsec_micros(self) -> i64 {
        self.0 % MICROS_PER_SEC
    }

    /// This timestamp moved by `micros` microseconds (negative moves back), saturating at
    /// the representable range (FC-4.3.2: time is an input).
    pub const fn saturating_add_micros(self, micros: i64) -> Self {
        Timestamp(self.0.saturating_add(micros))
    }

    /// This timestamp moved by `secs` whole seconds, saturating (FC-4.3.2).
    pub const fn saturating_add_secs(self, secs: i64) -> Self {
        self.saturating_add_micros(secs.saturating_mul(MICROS_PER_SEC))
    }

    /// Compares the float clock at this instant with an integer number of seconds, exactly,
    /// as Python compares a `float` with an `int` (FC-4.3.2): `Less` means `time() < secs`.
    pub fn cmp_secs(self, secs: i128) -> Ordering {
        // Below 2^33 seconds (the year 2242) doubles are spaced less than 1 µs apart, so
        // rounding moves the float clock by under half a microsecond and never onto the
        // neighbouring whole second: the comparison is the integers' (tested against the
        // float one below).
        const EXACT_SECS: i128 = 1 << 33;
        if (-EXACT_SECS..EXACT_SECS).contains(&secs)
            && (-EXACT_SECS * 1_000_000..EXACT_SECS * 1_000_000).contains(&i128::from(self.0))
        {
            return i128::from(self.0).cmp(&(secs * 1_000_000));
        }
        cmp_float_int(self.as_py_float(), secs)
    }
}

/// Compares a finite float with an integer by value, as Python does.
fn cmp_float_int(f: f64, i: i128) -> Ordering {
    let floor = f.floor();
    // `as` saturates; |f| < 2^44 here, so the conversion is exact.
    let whole = floor as i128;
    match whole.cmp(&i) {
        Ordering::Equal if f > floor => Ordering::Greater,
        ord => ord,
    }
}

/// Seconds with their fraction, the way Python prints the float clock for ordinary
/// timestamps (FC-4.3.2): `1000.7`, `1010.0`, `-0.5`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let micros_per_sec = MICROS_PER_SEC.unsigned_abs();
        let secs = abs / micros_per_sec;
        let mut frac = abs % micros_per_sec;
        let mut width = 6;
        while width > 1 && frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        write!(f, "{sign}{secs}.{frac:0width$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunc_is_python_int() {
        assert_eq!(Timestamp::from_micros(1_000_700_000).trunc_secs(), 1000);
        assert_eq!(Timestamp::from_micros(-1_500_000).trunc_secs(), -1);
        assert_eq!(Timestamp::from_secs(7).trunc_secs(), 7);
        assert_eq!(
            Timestamp::from_micros(i64::MIN).trunc_secs(),
            i64::MIN / 1_000_000
        );
    }

    #[test]
    fn cmp_secs_is_exact() {
        let t = Timestamp::from_micros(1_009_999_999);
        assert_eq!(t.cmp_secs(1010), Ordering::Less);
        assert_eq!(Timestamp::from_secs(1010).cmp_secs(1010), Ordering::Equal);
        assert_eq!(
            Timestamp::from_micros(1_010_000_001).cmp_secs(1010),
            Ordering::Greater
        );
        assert_eq!(t.cmp_secs(0), Ordering::Greater);
        assert_eq!(t.cmp_secs(-5), Ordering::Greater);
        assert_eq!(t.cmp_secs(i128::MAX), Ordering::Less);
        assert_eq!(t.cmp_secs(i128::MIN), Ordering::Greater);
    }

    #[test]
    fn cmp_secs_fast_path_is_the_float_comparison() {
        // Around every whole second a few microseconds apart, near 0, now, and the edge
        // of the integer path (2^33 s), with seconds on and beside the boundary.
        let edge = 1i64 << 33;
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut centres = vec![0, 1, -1, 1_000, 1_733_000_000, edge - 1, -(edge - 1)];
        for _ in 0..2_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            centres.push((x % (2 * edge as u64)) as i64 - edge);
        }
        for s in centres {
            for d in -3..=3i64 {
                let t = Timestamp::from_micros(s * 1_000_000 + d);
                for secs in [s - 1, s, s + 1] {
                    let float = cmp_float_int(t.as_py_float(), i128::from(secs));
                    assert_eq!(t.cmp_secs(i128::from(secs)), float, "{t:?} vs {secs}");
                }
            }
        }
    }

    #[test]
    fn display() {
        assert_eq!(Timestamp::from_micros(1_000_700_000).to_string(), "1000.7");
        assert_eq!(Timestamp::from_secs(1010).to_string(), "1010.0");
        assert_eq!(Timestamp::from_micros(1).to_string(), "0.000001");
        assert_eq!(Timestamp::from_micros(-500_000).to_string(), "-0.5");
        assert_eq!(Timestamp::EPOCH.to_string(), "0.0");
        assert_eq!(
            Timestamp::from_micros(i64::MIN).to_string(),
            "-9223372036854.775808"
        );
        assert_eq!(
            Timestamp::from_micros(i64::MAX).to_string(),
            "9223372036854.775807"
        );
    }

    #[test]
    fn saturating() {
        assert_eq!(Timestamp::from_secs(i64::MAX).as_micros(), i64::MAX);
        assert_eq!(
            Timestamp::from_micros(i64::MAX).saturating_add_secs(1),
            Timestamp::from_micros(i64::MAX)
        );
        assert_eq!(Timestamp::from_micros(-1_250_000).subsec_micros(), -250_000);
    }
}
