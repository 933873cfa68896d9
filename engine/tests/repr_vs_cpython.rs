//! Differential test: `Value::repr` against real CPython `repr()`.
//!
//! Random values are generated here with a fixed-seed PRNG, encoded as Python expressions
//! by an encoder that shares no code with the repr under test (floats as bit patterns,
//! strings as code point lists, ints as hexadecimal, classes and objects through helper
//! constructors), evaluated by CPython, and CPython's `repr()` of each is compared with
//! ours. Every code point is also checked once, in chunks.
//!
//! The interpreter for each version is taken from `FLASKCACHE_PYTHON311` /
//! `FLASKCACHE_PYTHON312` / `FLASKCACHE_PYTHON313` when set, otherwise from a list of
//! usual names; it must report the expected `major.minor`. When none is found the test
//! prints a loud notice and passes.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;
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

/// The first candidate interpreter that runs and reports `want` as its `major.minor`.
fn find_python(env_var: &str, candidates: &[&str], want: &str) -> Option<String> {
    let from_env = std::env::var(env_var).ok();
    let names = from_env
        .iter()
        .map(String::as_str)
        .chain(candidates.iter().copied());
    for name in names {
        if name.contains('/') && !Path::new(name).exists() {
            continue;
        }
        let Ok(output) = Command::new(name)
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
            .output()
        else {
            continue;
        };
        if output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == want {
            return Some(name.to_owned());
        }
    }
    None
}

/// CPython's repr of each case, `None` where Python refused the value.
fn cpython_reprs(python: &str, cases: &[Case]) -> Vec<Option<String>> {
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

fn check_version(version: PythonVersion, env_var: &str, candidates: &[&str]) {
    let Some(python) = find_python(env_var, candidates, version.as_str()) else {
        eprintln!();
        eprintln!("************************************************************************");
        eprintln!(
            "* repr_vs_cpython: NO Python {} FOUND ({env_var} unset or wrong);",
            version.as_str()
        );
        eprintln!("* the differential repr test for {version:?} DID NOT RUN.");
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
        "repr_vs_cpython {}: {compared} values compared with {python}, {skipped} skipped \
         (dict keys equal in Python), {} mismatches",
        version.as_str(),
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
    check_version(
        PythonVersion::Py311,
        "FLASKCACHE_PYTHON311",
        &[
            "python3",
            "python3.11",
            "/root/.pyenv/versions/3.11.7/bin/python",
        ],
    );
}

#[test]
fn repr_matches_cpython_312() {
    check_version(
        PythonVersion::Py312,
        "FLASKCACHE_PYTHON312",
        &[
            "/root/.pyenv/versions/3.12.1/bin/python",
            "python3.12",
            "python3",
        ],
    );
}

#[test]
fn repr_matches_cpython_313() {
    check_version(
        PythonVersion::Py313,
        "FLASKCACHE_PYTHON313",
        &[
            "/root/.pyenv/versions/3.13.0/bin/python",
            "python3.13",
            "python3",
        ],
    );
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
