//! Differential test: `Value::repr` against real CPython `repr()`.
//!
//! Random values are generated here with a fixed-seed PRNG, encoded as Python expressions
//! by an encoder that shares no code with the repr under test (floats as bit patterns,
//! strings as code point lists, ints as hexadecimal, classes and objects through helper
//! constructors), evaluated by CPython, and CPython's `repr()` of each is compared with
//! ours. Every code point is also checked once, in chunks.
//!
//! The interpreter for each version is found as `.ci/run` finds it: the variable
//! `FLASKCACHE_PYTHON311` / `FLASKCACHE_PYTHON312` / `FLASKCACHE_PYTHON313` first, then
//! `python3.X` on `PATH`, then `/root/.pyenv/versions/3.X.*/bin/python`; each candidate is
//! run and must report CPython with the expected `major.minor`. When none is found the test
//! prints a loud notice and passes, unless its require-variable is `1`
//! (`FLASKCACHE_REQUIRE_PYTHON` for 3.11, `FLASKCACHE_REQUIRE_PY312`,
//! `FLASKCACHE_REQUIRE_PY313`; CI sets each one for the interpreters it has), in which case
//! it fails and says what to set.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use flaskcache_engine::value::{ClassRef, PyInt, PyObject, PythonVersion, Value};

/// Python side: helper constructors, then one expression per input line; for each, the
/// UTF-8 length of `repr(value)` on a line followed by the bytes, or `-1` when the value
/// is not representable in Python (a dict whose keys collapse, e.g. `1` and `True`).
const DRIVER: &str = r#"
import struct, sys
from collections import OrderedDict

class _Skip(Exception):
    pass

def F(bits):
    return struct.unpack('<d', bits.to_bytes(8, 'little'))[0]

def S(cps):
    return ''.join(map(chr, cps))

def R(start, stop):
    return ''.join(chr(c) for c in range(start, stop) if not 0xD800 <= c <= 0xDFFF)

def I(negative, hexdigits):
    v = int(hexdigits, 16)
    return -v if negative else v

def D(*pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _Skip
    return d

def OD(*pairs):
    d = OrderedDict(pairs)
    if len(d) != len(pairs):
        raise _Skip
    return d

def C(module, qualname):
    cls = type('C', (), {'__module__': module})
    cls.__qualname__ = qualname
    if module == 'builtins':
        # A builtin's repr shows its tp_name, which for builtins is the qualname.
        cls.__name__ = qualname
    return cls

class _Obj:
    __slots__ = ('text',)
    def __init__(self, text):
        self.text = text
    def __repr__(self):
        return self.text

def O(text):
    return _Obj(text)

env = dict(globals())
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    try:
        text = repr(eval(line.decode('ascii'), env)).encode('utf-8')
    except _Skip:
        out.write(b'-1\n')
        continue
    out.write(b'%d\n' % len(text))
    out.write(text)
out.flush()
"#;

/// SplitMix64: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: u32, hi_inclusive: u32) -> u32 {
        lo + self.below(u64::from(hi_inclusive - lo) + 1) as u32
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A value and the Python expression that builds the same value.
struct Case {
    value: Value,
    expr: String,
}

// ---- scalars ---------------------------------------------------------------------------

/// Code point pools that exercise every branch of `repr(str)`.
const INTERESTING: &[(u32, u32)] = &[
    (0x00, 0x1f),           // C0 controls
    (0x7f, 0xa0),           // DEL, C1 controls, NBSP
    (0xa1, 0xff),           // Latin-1
    (0xad, 0xad),           // soft hyphen (Cf)
    (0x300, 0x36f),         // combining marks
    (0x378, 0x37f),         // unassigned in Greek
    (0x600, 0x605),         // Arabic number signs (Cf)
    (0x1680, 0x1680),       // Ogham space mark (Zs)
    (0x2000, 0x200f),       // spaces, ZWSP, direction marks
    (0x2028, 0x202f),       // line/paragraph separators, embeddings, NNBSP
    (0x205f, 0x206f),       // MMSP, invisible operators, deprecated formats
    (0x3000, 0x3000),       // ideographic space
    (0xd7fc, 0xd7ff),       // unassigned just below the surrogates
    (0xe000, 0xe0ff),       // private use
    (0xfdd0, 0xfdef),       // noncharacters
    (0xfeff, 0xfeff),       // BOM (Cf)
    (0xfff0, 0xffff),       // specials, noncharacters
    (0x1_0000, 0x1_00ff),   // Linear B
    (0x1_d173, 0x1_d17a),   // musical format controls
    (0x1_f300, 0x1_f6ff),   // emoji
    (0x1_fa70, 0x1_faff),   // emoji added in Unicode 14/15
    (0x1_3430, 0x1_345f),   // Egyptian format controls, extended in 15.0
    (0x2_a6d0, 0x2_a6ff),   // end of CJK Extension B
    (0x2_b738, 0x2_b73f),   // CJK Extension C end, changed in 15.0
    (0x3_1350, 0x3_23af),   // CJK Extension H (15.0)
    (0x2_ebf0, 0x2_ee5f),   // CJK Extension I (15.1)
    (0x3_23b0, 0x3_ffff),   // unassigned planes 3
    (0xe_0000, 0xe_01ff),   // tags, variation selectors supplement
    (0xf_0000, 0xf_00ff),   // plane 15 private use
    (0x10_fff0, 0x10_ffff), // end of plane 16
];

fn random_char(rng: &mut Rng) -> char {
    loop {
        let c = match rng.below(10) {
            0 => *rng.pick(&['\'', '"', '\\', '\t', '\n', '\r']) as u32,
            1 | 2 => rng.range(0x20, 0x7e),
            3..=5 => {
                let &(lo, hi) = rng.pick(INTERESTING);
                rng.range(lo, hi)
            }
            6 => rng.range(0x80, 0xffff),
            7 => rng.range(0x1_0000, 0x3_ffff),
            _ => rng.range(0, 0x10_ffff),
        };
        if let Some(c) = char::from_u32(c) {
            return c;
        }
    }
}

fn random_string(rng: &mut Rng, max_len: u64) -> String {
    let len = rng.below(max_len + 1);
    let mut s: String = (0..len).map(|_| random_char(rng)).collect();
    // Force each quote combination to appear often.
    match rng.below(4) {
        0 => s.push('\''),
        1 => s.push('"'),
        2 => s.push_str("'\""),
        _ => {}
    }
    s
}

fn str_expr(s: &str) -> String {
    let mut e = String::from("S([");
    for c in s.chars() {
        write!(e, "{},", u32::from(c)).unwrap();
    }
    e.push_str("])");
    e
}

fn str_case(s: String) -> Case {
    Case {
        expr: str_expr(&s),
        value: Value::Str(s),
    }
}

fn bytes_case(rng: &mut Rng) -> Case {
    let len = rng.below(24);
    let b: Vec<u8> = (0..len)
        .map(|_| match rng.below(4) {
            0 => *rng.pick(b"'\"\\\t\n\r\x00\x7f"),
            1 => rng.below(256) as u8,
            _ => rng.range(0x20, 0x7e) as u8,
        })
        .collect();
    let mut expr = String::from("bytes([");
    for byte in &b {
        write!(expr, "{byte},").unwrap();
    }
    expr.push_str("])");
    Case {
        value: Value::Bytes(b),
        expr,
    }
}

fn float_expr(bits: u64) -> String {
    format!("F({bits:#x})")
}

fn random_float(rng: &mut Rng) -> f64 {
    let sign = if rng.chance(50) { -1.0 } else { 1.0 };
    match rng.below(13) {
        0 => f64::from_bits(rng.next()),
        12 => {
            // binades where the ulp is 2^-j: shortest-digit ties happen here
            let j = rng.below(12);
            sign * f64::from_bits(((1023 + 52 - j) << 52) | (rng.next() >> 12))
        }
        1 => f64::from_bits(rng.next() & 0x800f_ffff_ffff_ffff), // subnormal
        2 => {
            // around 1e16 and 2**53
            let base = *rng.pick(&[1e16, 9007199254740992.0, 1e15, 1e17]);
            sign * (base + (rng.below(64) as f64 - 32.0) * *rng.pick(&[1.0, 2.0, 0.5]))
        }
        3 => {
            // powers of ten, exact text round trip
            let k = rng.below(640) as i64 - 330;
            sign * format!("1e{k}").parse::<f64>().unwrap()
        }
        4 => {
            // around the positional/scientific boundaries
            let base: f64 = *rng.pick(&[1e-4, 1e-5, 1e16, 1e15]);
            let bits = base.to_bits() as i64 + rng.below(2001) as i64 - 1000;
            sign * f64::from_bits(bits as u64)
        }
        5 => sign * (rng.below(1 << 20) as f64) / 1024.0,
        6 => sign * (rng.next() >> rng.below(64)) as f64,
        7 => {
            // short decimals
            let digits = rng.below(1_000_000) as f64;
            let k = rng.below(40) as i32 - 20;
            sign * format!("{digits}e{k}").parse::<f64>().unwrap()
        }
        8 => *rng.pick(&[
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            5e-324,
            0.1,
            0.3,
        ]),
        9 => f64::from_bits(0x7ff0_0000_0000_0000 | rng.next()), // NaN/inf with payloads
        10 => f64::from_bits(((rng.below(2047) + 1) << 52) | (rng.next() >> 12)),
        _ => sign * rng.next() as f64 * 10f64.powi(rng.below(60) as i32 - 30),
    }
}

fn float_case(x: f64) -> Case {
    Case {
        value: Value::Float(x),
        expr: float_expr(x.to_bits()),
    }
}

/// Decimal text of a little-endian base-2^32 magnitude, computed independently of
/// `PyInt` (schoolbook division by 10^9).
fn limbs_to_decimal(limbs: &[u32]) -> String {
    let mut limbs: Vec<u32> = limbs.to_vec();
    let mut chunks = Vec::new();
    while limbs.iter().any(|&l| l != 0) {
        let mut rem: u64 = 0;
        for limb in limbs.iter_mut().rev() {
            let cur = (rem << 32) | u64::from(*limb);
            *limb = (cur / 1_000_000_000) as u32;
            rem = cur % 1_000_000_000;
        }
        chunks.push(rem as u32);
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
    }
    let mut s = String::new();
    match chunks.split_last() {
        None => s.push('0'),
        Some((top, rest)) => {
            write!(s, "{top}").unwrap();
            for chunk in rest.iter().rev() {
                write!(s, "{chunk:09}").unwrap();
            }
        }
    }
    s
}

fn int_case(rng: &mut Rng) -> Case {
    let negative = rng.chance(50);
    let limbs: Vec<u32> = match rng.below(6) {
        0 => vec![rng.below(100) as u32],
        1 => vec![rng.next() as u32],
        2 => vec![rng.next() as u32, rng.next() as u32],
        3 => {
            // near the i64/u64 edges: 2^63 - 2 .. 2^64 + 1
            let edge = *rng.pick(&[
                (1u128 << 63) - 2,
                (1u128 << 63) - 1,
                1u128 << 63,
                (1u128 << 63) + 1,
                (1u128 << 64) - 1,
                1u128 << 64,
                (1u128 << 64) + 1,
            ]);
            vec![edge as u32, (edge >> 32) as u32, (edge >> 64) as u32]
        }
        4 => (0..rng.range(3, 6)).map(|_| rng.next() as u32).collect(),
        // up to 2048 bits: about 617 decimal digits (CPython refuses str() beyond 4300)
        _ => (0..rng.range(6, 64)).map(|_| rng.next() as u32).collect(),
    };
    let magnitude = limbs_to_decimal(&limbs);
    let mut text = String::new();
    if negative {
        text.push('-');
    }
    for _ in 0..rng.below(3) {
        text.push('0'); // PyInt::parse must drop leading zeros
    }
    text.push_str(&magnitude);
    let mut hex = String::new();
    let mut started = false;
    for &limb in limbs.iter().rev() {
        if started {
            write!(hex, "{limb:08x}").unwrap();
        } else if limb != 0 {
            write!(hex, "{limb:x}").unwrap();
            started = true;
        }
    }
    if hex.is_empty() {
        hex.push('0');
    }
    Case {
        value: Value::Int(PyInt::parse(&text).unwrap()),
        expr: format!("I({}, '{hex}')", if negative { "True" } else { "False" }),
    }
}

fn random_name(rng: &mut Rng) -> String {
    let parts = rng.range(1, 3);
    let mut name = String::new();
    for i in 0..parts {
        if i > 0 {
            name.push('.');
        }
        for _ in 0..rng.range(1, 8) {
            let c = match rng.below(8) {
                0 => loop {
                    // anything but NUL, which a type name cannot hold
                    let c = random_char(rng);
                    if c != '\0' {
                        break c;
                    }
                },
                1 => *rng.pick(&['\'', '"', '<', '>', '_']),
                _ => char::from(rng.range(u32::from(b'a'), u32::from(b'z')) as u8),
            };
            name.push(c);
        }
    }
    name
}

fn class_case(rng: &mut Rng) -> Case {
    let module = match rng.below(4) {
        0 => "builtins".to_owned(),
        1 => "__main__".to_owned(),
        _ => random_name(rng),
    };
    let qualname = if module == "builtins" && rng.chance(50) {
        rng.pick(&["int", "str", "object", "NoneType", "type"])
            .to_string()
    } else {
        random_name(rng)
    };
    Case {
        expr: format!("C({}, {})", str_expr(&module), str_expr(&qualname)),
        value: Value::Class(ClassRef::new(module, qualname)),
    }
}

fn object_case(rng: &mut Rng) -> Case {
    let text = if rng.chance(50) {
        format!("<app.Thing object at {:#x}>", rng.next() >> 16)
    } else {
        random_string(rng, 12)
    };
    Case {
        expr: format!("O({})", str_expr(&text)),
        value: Value::Object(Box::new(PyObject {
            class: ClassRef::new("app", "Thing"),
            repr: text,
            caching_id: None,
        })),
    }
}

// ---- composites ------------------------------------------------------------------------

fn hashable_case(rng: &mut Rng, depth: u32) -> Case {
    match rng.below(if depth == 0 { 8 } else { 9 }) {
        0 => Case {
            value: Value::None,
            expr: "None".into(),
        },
        1 => {
            let b = rng.chance(50);
            Case {
                value: Value::Bool(b),
                expr: if b { "True" } else { "False" }.into(),
            }
        }
        2 | 3 => int_case(rng),
        4 => float_case(random_float(rng)),
        5 => str_case(random_string(rng, 10)),
        6 => bytes_case(rng),
        7 => {
            if rng.chance(50) {
                class_case(rng)
            } else {
                object_case(rng)
            }
        }
        _ => {
            let items: Vec<Case> = (0..rng.below(4))
                .map(|_| hashable_case(rng, depth - 1))
                .collect();
            tuple_case(items)
        }
    }
}

fn tuple_case(items: Vec<Case>) -> Case {
    let mut expr = String::from("(");
    for item in &items {
        expr.push_str(&item.expr);
        expr.push(',');
    }
    expr.push(')');
    Case {
        value: Value::Tuple(items.into_iter().map(|c| c.value).collect()),
        expr,
    }
}

fn pairs(rng: &mut Rng, depth: u32) -> (Vec<(Value, Value)>, String) {
    let mut values = Vec::new();
    let mut expr = String::new();
    for _ in 0..rng.below(5) {
        let k = hashable_case(rng, depth.min(1));
        let v = any_case(rng, depth - 1);
        write!(expr, "({}, {}),", k.expr, v.expr).unwrap();
        values.push((k.value, v.value));
    }
    (values, expr)
}

fn any_case(rng: &mut Rng, depth: u32) -> Case {
    if depth == 0 || rng.chance(40) {
        return hashable_case(rng, 0);
    }
    match rng.below(5) {
        0 => {
            let items = (0..rng.below(5))
                .map(|_| any_case(rng, depth - 1))
                .collect();
            tuple_case(items)
        }
        1 => {
            let items: Vec<Case> = (0..rng.below(5))
                .map(|_| any_case(rng, depth - 1))
                .collect();
            let mut expr = String::from("[");
            for item in &items {
                expr.push_str(&item.expr);
                expr.push(',');
            }
            expr.push(']');
            Case {
                value: Value::List(items.into_iter().map(|c| c.value).collect()),
                expr,
            }
        }
        2 | 3 => {
            let (values, inner) = pairs(rng, depth);
            Case {
                value: Value::Dict(values),
                expr: format!("D({inner})"),
            }
        }
        _ => {
            let (values, inner) = pairs(rng, depth);
            Case {
                value: Value::OrderedDict(values),
                expr: format!("OD({inner})"),
            }
        }
    }
}

fn all_cases() -> Vec<Case> {
    let mut rng = Rng(0x5eed_f1a5_c0ca_c7e5);
    let mut cases = Vec::new();
    // Every code point (surrogates excluded), 4096 at a time.
    for start in (0..0x11_0000u32).step_by(0x1000) {
        let s: String = (start..start + 0x1000).filter_map(char::from_u32).collect();
        cases.push(Case {
            value: Value::Str(s),
            expr: format!("R({start}, {})", start + 0x1000),
        });
    }
    for _ in 0..3000 {
        cases.push(str_case(random_string(&mut rng, 16)));
    }
    for _ in 0..20000 {
        cases.push(float_case(random_float(&mut rng)));
    }
    for _ in 0..2000 {
        cases.push(int_case(&mut rng));
    }
    for _ in 0..1000 {
        cases.push(bytes_case(&mut rng));
    }
    for _ in 0..500 {
        cases.push(class_case(&mut rng));
        cases.push(object_case(&mut rng));
    }
    for _ in 0..4000 {
        cases.push(any_case(&mut rng, 4));
    }
    cases
}

// ---- running CPython -------------------------------------------------------------------

/// One Python version under test and the variables that configure it.
struct Target {
    version: PythonVersion,
    /// Names the interpreter to use (tried first).
    env_var: &'static str,
    /// When `1`, a missing interpreter fails the test instead of skipping it.
    require_var: &'static str,
}

const PY311: Target = Target {
    version: PythonVersion::Py311,
    env_var: "FLASKCACHE_PYTHON311",
    require_var: "FLASKCACHE_REQUIRE_PYTHON",
};

const PY312: Target = Target {
    version: PythonVersion::Py312,
    env_var: "FLASKCACHE_PYTHON312",
    require_var: "FLASKCACHE_REQUIRE_PY312",
};

const PY313: Target = Target {
    version: PythonVersion::Py313,
    env_var: "FLASKCACHE_PYTHON313",
    require_var: "FLASKCACHE_REQUIRE_PY313",
};

/// Where interpreters are looked for: the process environment in the real tests, a
/// made-up one in the tests of the discovery itself.
struct Locator {
    /// The value of the target's `env_var`, if set.
    env_value: Option<OsString>,
    /// The `PATH` searched for `python3.X`.
    path: Option<OsString>,
    /// The directory holding pyenv's `3.X.Y/` installations.
    pyenv_versions: PathBuf,
    /// Whether the target's `require_var` is `1`.
    required: bool,
}

impl Locator {
    fn from_env(target: &Target) -> Self {
        Locator {
            env_value: std::env::var_os(target.env_var).filter(|v| !v.is_empty()),
            path: std::env::var_os("PATH"),
            pyenv_versions: PathBuf::from("/root/.pyenv/versions"),
            required: std::env::var(target.require_var).as_deref() == Ok("1"),
        }
    }
}

/// `Ok(())` when `python` runs and reports CPython `want` (`"3.13"`), else why not.
fn probe(python: &Path, want: &str) -> Result<(), String> {
    let output = Command::new(python)
        .args([
            "-c",
            "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("does not run ({e})"))?;
    let answer = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() && answer == format!("cpython {want}") {
        Ok(())
    } else {
        Err(format!("reports {answer:?}, {}", output.status))
    }
}

/// The interpreter for `target`: `env_var`, then `python3.X` on `PATH`, then the pyenv
/// installations `3.X.*`, each probed. `Ok(None)` when there is none and none is required;
/// `Err` with what was tried and what to set when one is required.
fn locate(target: &Target, locator: &Locator) -> Result<Option<PathBuf>, String> {
    let want = target.version.as_str();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(value) = &locator.env_value {
        candidates.push(PathBuf::from(value));
    }
    if let Some(path) = &locator.path {
        candidates.extend(
            std::env::split_paths(path)
                .map(|dir| dir.join(format!("python{want}")))
                .filter(|p| p.is_file()),
        );
    }
    let prefix = format!("{want}.");
    let mut installed: Vec<PathBuf> = std::fs::read_dir(&locator.pyenv_versions)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .map(|entry| entry.path().join("bin/python"))
        .collect();
    installed.sort();
    candidates.extend(installed);

    let mut tried = Vec::new();
    for candidate in candidates {
        match probe(&candidate, want) {
            Ok(()) => return Ok(Some(candidate)),
            Err(why) => tried.push(format!("{}: {why}", candidate.display())),
        }
    }
    if !locator.required {
        return Ok(None);
    }
    let tried = if tried.is_empty() {
        "no candidate exists".to_owned()
    } else {
        tried.join("; ")
    };
    Err(format!(
        "repr_vs_cpython: {require}=1 but no CPython {want} found (looked at \
         {env} ({env_state}), python{want} on PATH, {pyenv}/{want}.*/bin/python; tried: \
         {tried}). \
         Set {env} to a CPython {want} interpreter, or unset {require} to skip this check.",
        require = target.require_var,
        env = target.env_var,
        env_state = if locator.env_value.is_some() {
            "set"
        } else {
            "unset"
        },
        pyenv = locator.pyenv_versions.display(),
    ))
}

/// CPython's repr of each case, `None` where Python refused the value.
fn cpython_reprs(python: &Path, cases: &[Case]) -> Vec<Option<String>> {
    let mut child = Command::new(python)
        .args(["-c", DRIVER])
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python");
    let mut input = String::new();
    for case in cases {
        assert!(!case.expr.contains('\n'));
        input.push_str(&case.expr);
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut raw = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut raw).unwrap();
    writer.join().unwrap().expect("write to python");
    assert!(child.wait().unwrap().success(), "python driver failed");

    let mut results = Vec::with_capacity(cases.len());
    let mut at = 0;
    while at < raw.len() {
        let nl = at + raw[at..].iter().position(|&b| b == b'\n').unwrap();
        let len: i64 = std::str::from_utf8(&raw[at..nl]).unwrap().parse().unwrap();
        at = nl + 1;
        if len < 0 {
            results.push(None);
        } else {
            let end = at + len as usize;
            results.push(Some(String::from_utf8(raw[at..end].to_vec()).unwrap()));
            at = end;
        }
    }
    assert_eq!(results.len(), cases.len(), "python answered every case");
    results
}

fn check_version(target: &Target) {
    let version = target.version;
    let found =
        locate(target, &Locator::from_env(target)).unwrap_or_else(|message| panic!("{message}"));
    let Some(python) = found else {
        eprintln!();
        eprintln!("************************************************************************");
        eprintln!(
            "* repr_vs_cpython: NO Python {} FOUND ({} unset or wrong);",
            version.as_str(),
            target.env_var
        );
        eprintln!("* the differential repr test for {version:?} DID NOT RUN.");
        eprintln!("* Set {}=1 to make this a failure.", target.require_var);
        eprintln!("************************************************************************");
        eprintln!();
        return;
    };
    let cases = all_cases();
    let expected = cpython_reprs(&python, &cases);
    let mut compared = 0;
    let mut skipped = 0;
    let mut mismatches = Vec::new();
    for (case, want) in cases.iter().zip(&expected) {
        let Some(want) = want else {
            skipped += 1;
            continue;
        };
        compared += 1;
        let got = case.value.repr(version);
        if &got != want {
            mismatches.push((case, got, want));
        }
    }
    eprintln!(
        "repr_vs_cpython {}: {compared} values compared with {}, {skipped} skipped \
         (dict keys equal in Python), {} mismatches",
        version.as_str(),
        python.display(),
        mismatches.len()
    );
    for (case, got, want) in mismatches.iter().take(10) {
        let expr: String = case.expr.chars().take(300).collect();
        eprintln!(
            "MISMATCH for {:?}\n  python expr: {expr}\n  ours:   {got:?}\n  python: {want:?}",
            case.value
        );
    }
    assert!(
        mismatches.is_empty(),
        "{} reprs differ from CPython {}",
        mismatches.len(),
        version.as_str()
    );
    assert!(compared > cases.len() * 9 / 10, "too many skipped cases");
}

#[test]
fn repr_matches_cpython_311() {
    check_version(&PY311);
}

#[test]
fn repr_matches_cpython_312() {
    check_version(&PY312);
}

#[test]
fn repr_matches_cpython_313() {
    check_version(&PY313);
}

/// A scratch directory for the discovery tests, empty and unique to this process.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("repr_vs_cpython-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// A locator that sees only `env_value`, an empty `PATH` directory and no pyenv.
fn bare_locator(dir: &Path, env_value: &Path, required: bool) -> Locator {
    Locator {
        env_value: Some(env_value.as_os_str().to_owned()),
        path: Some(dir.as_os_str().to_owned()),
        pyenv_versions: dir.join("no-pyenv"),
        required,
    }
}

/// Regression test: with the require-variable set and no interpreter, the check must fail
/// and say what to set, not pass silently.
#[test]
fn missing_interpreter_fails_when_required() {
    let dir = scratch_dir("required");
    for target in [&PY311, &PY312, &PY313] {
        let bogus = dir.join("no-such-python");
        let message = locate(target, &bare_locator(&dir, &bogus, true))
            .expect_err("a required interpreter that is missing must be an error");
        assert!(message.contains(target.env_var), "{message}");
        assert!(message.contains(target.require_var), "{message}");
        assert!(message.contains("no-such-python"), "{message}");
        assert_eq!(
            locate(target, &bare_locator(&dir, &bogus, false)),
            Ok(None),
            "without the require-variable a missing interpreter is a skip"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Candidates are run and must report the wanted version: a program that claims another
/// version is rejected, one that claims the right one is taken, and `python3.X` on `PATH`
/// and pyenv installations are found.
#[cfg(unix)]
#[test]
fn candidates_are_probed_for_their_version() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch_dir("probe");
    let fake = |path: &Path, answer: &str| {
        std::fs::create_dir_all(path.parent().expect("a parent directory"))
            .expect("create the fake interpreter's directory");
        std::fs::write(path, format!("#!/bin/sh\necho '{answer}'\n"))
            .expect("write a fake interpreter");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .expect("make the fake interpreter executable");
    };
    let wrong = dir.join("wrong");
    fake(&wrong, "cpython 3.10");
    let pypy = dir.join("pypy");
    fake(&pypy, "pypy 3.13");
    let right = dir.join("right");
    fake(&right, "cpython 3.13");
    assert!(locate(&PY313, &bare_locator(&dir, &wrong, true)).is_err());
    assert!(locate(&PY313, &bare_locator(&dir, &pypy, true)).is_err());
    assert_eq!(
        locate(&PY313, &bare_locator(&dir, &right, true)),
        Ok(Some(right.clone()))
    );

    let on_path = dir.join("bin/python3.13");
    fake(&on_path, "cpython 3.13");
    let mut locator = bare_locator(&dir, &wrong, true);
    locator.path =
        Some(std::env::join_paths([dir.join("empty"), dir.join("bin")]).expect("a PATH"));
    assert_eq!(locate(&PY313, &locator), Ok(Some(on_path)));

    let pyenv_python = dir.join("pyenv/3.13.9/bin/python");
    fake(&pyenv_python, "cpython 3.13");
    fake(&dir.join("pyenv/3.12.9/bin/python"), "cpython 3.12");
    let mut locator = bare_locator(&dir, &wrong, true);
    locator.pyenv_versions = dir.join("pyenv");
    assert_eq!(locate(&PY313, &locator), Ok(Some(pyenv_python)));
    assert_eq!(
        locate(&PY312, &locator),
        Ok(Some(dir.join("pyenv/3.12.9/bin/python")))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn limbs_to_decimal_is_right() {
    assert_eq!(limbs_to_decimal(&[]), "0");
    assert_eq!(limbs_to_decimal(&[0, 0]), "0");
    assert_eq!(limbs_to_decimal(&[1_000_000_000]), "1000000000");
    assert_eq!(limbs_to_decimal(&[0, 1]), "4294967296");
    assert_eq!(limbs_to_decimal(&[0, 0, 1]), "18446744073709551616");
    assert_eq!(
        limbs_to_decimal(&[u32::MAX, u32::MAX]),
        u64::MAX.to_string()
    );
}
