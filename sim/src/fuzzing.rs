//! The bodies of the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer). Each takes raw bytes
//! and returns `Err` on a finding; the fuzz targets turn that into a crash, and the stable
//! test `tests/sim_fuzz_corpus.rs` replays the committed corpus through the same functions,
//! so CI covers them without a nightly toolchain or libFuzzer. None of them panics on any
//! input.

use crate::explore::check::check_trace;
use crate::explore::run::{execute, ExecOptions};
use crate::trace::parse_trace;
use crate::workload::{Action, AppKnobs, RunSetup};
use arbitrary::{Arbitrary, Unstructured};
use flaskcache_engine::value::{ClassRef, PyInt, PyObject, PythonVersion, Value};
use flaskcache_engine::Profile;

/// The longest history the engine-vs-model target builds from one input.
pub const MAX_ACTIONS: usize = 64;

/// Engine against model on an arbitrary history: the input picks a profile, a
/// configuration and up to [`MAX_ACTIONS`] actions (any form on any target, any faults,
/// any clock jump). `Err` describes the first broken invariant.
pub fn engine_vs_model(data: &[u8]) -> Result<(), String> {
    let mut u = Unstructured::new(data);
    let Ok(choice) = u8::arbitrary(&mut u) else {
        return Ok(());
    };
    let profile = Profile::ALL[usize::from(choice % 3)];
    let mut setup = RunSetup::plain(profile);
    setup.debug = choice & 0x08 != 0;
    setup.threshold = [2usize, 3, 5, 8, 500][usize::from((choice >> 4) % 5)];
    setup.knobs = AppKnobs {
        get_student_timeout: [Some(600), Some(1), Some(0), None, Some(-1)]
            [usize::from(u8::arbitrary(&mut u).unwrap_or(0) % 5)],
        hooks: bool::arbitrary(&mut u).unwrap_or(false),
    };
    if profile != Profile::FlaskCache013 && bool::arbitrary(&mut u).unwrap_or(false) {
        setup.python = PythonVersion::Py312;
    }
    setup.version_seed = u64::arbitrary(&mut u).unwrap_or(1);
    let mut actions = Vec::new();
    while actions.len() < MAX_ACTIONS {
        match Action::arbitrary(&mut u) {
            Ok(a) => actions.push(a),
            Err(_) => break,
        }
    }
    let report = execute(&setup, &actions, &ExecOptions::default());
    match report.divergence {
        Some(d) => Err(format!("{} ({})", d, setup.describe())),
        None => Ok(()),
    }
}

/// The trace reader on arbitrary text: it must not panic; a trace it accepts must be
/// written back by `Trace::to_jsonl` into a text that reads as the same trace; and its
/// events (at most 200) must run on the engine and the model without a panic (whether
/// they agree is not judged here: an arbitrary trace may record impossible steps).
pub fn trace_reader(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    let Ok(trace) = parse_trace(&text) else {
        return Ok(());
    };
    let written = trace.to_jsonl();
    match parse_trace(&written) {
        Ok(again) if again == trace => {}
        Ok(_) => return Err("a trace read back differently after to_jsonl".into()),
        Err(e) => return Err(format!("to_jsonl wrote an unreadable trace: {e}")),
    }
    let _ = check_trace(&trace, 200);
    Ok(())
}

fn arbitrary_text(u: &mut Unstructured<'_>) -> String {
    let len = usize::from(u8::arbitrary(u).unwrap_or(0) % 12);
    let mut s = String::new();
    for _ in 0..len {
        let c = match u8::arbitrary(u).unwrap_or(0) % 4 {
            // Printable ASCII, quotes and backslash included.
            0 | 1 => char::from(b' ' + u8::arbitrary(u).unwrap_or(0) % 95),
            2 => char::from(u8::arbitrary(u).unwrap_or(0) % 0x20),
            _ => char::from_u32(u32::arbitrary(u).unwrap_or(0) % 0x11_0000).unwrap_or('\u{fffd}'),
        };
        s.push(c);
    }
    s
}

/// A Python value built from the input, nested at most `depth` deep.
pub fn arbitrary_value(u: &mut Unstructured<'_>, depth: u8) -> Value {
    let tag = u8::arbitrary(u).unwrap_or(0) % if depth == 0 { 8 } else { 13 };
    let items = |u: &mut Unstructured<'_>| -> Vec<Value> {
        let n = usize::from(u8::arbitrary(u).unwrap_or(0) % 4);
        (0..n).map(|_| arbitrary_value(u, depth - 1)).collect()
    };
    match tag {
        0 => Value::None,
        1 => Value::Bool(bool::arbitrary(u).unwrap_or(false)),
        2 => Value::int(i64::arbitrary(u).unwrap_or(0)),
        3 => {
            let digits = u64::arbitrary(u).unwrap_or(0).to_string()
                + &u64::arbitrary(u).unwrap_or(0).to_string();
            let text = if bool::arbitrary(u).unwrap_or(false) {
                format!("-{digits}")
            } else {
                digits
            };
            PyInt::parse(&text).map(Value::Int).unwrap_or(Value::None)
        }
        4 => Value::Float(f64::from_bits(u64::arbitrary(u).unwrap_or(0))),
        5 => Value::Str(arbitrary_text(u)),
        6 => {
            let n = usize::from(u8::arbitrary(u).unwrap_or(0) % 8);
            Value::Bytes((0..n).map(|_| u8::arbitrary(u).unwrap_or(0)).collect())
        }
        7 => Value::Object(Box::new(PyObject {
            class: ClassRef::new("m", "C"),
            repr: arbitrary_text(u),
            caching_id: None,
        })),
        8 => Value::Tuple(items(u)),
        9 => Value::List(items(u)),
        10 => {
            let keys = items(u);
            Value::Dict(
                keys.into_iter()
                    .map(|k| (k, arbitrary_value(u, depth - 1)))
                    .collect(),
            )
        }
        11 => {
            let keys = items(u);
            Value::OrderedDict(
                keys.into_iter()
                    .map(|k| (k, arbitrary_value(u, depth - 1)))
                    .collect(),
            )
        }
        _ => Value::Class(ClassRef::new(arbitrary_text(u), arbitrary_text(u))),
    }
}

/// Simple invariants of one repr.
fn check_repr(value: &Value, py: PythonVersion) -> Result<(), String> {
    let text = value.repr(py);
    if text != value.repr(py) {
        return Err(format!("repr is not deterministic for {value:?}"));
    }
    // Only an object whose own repr is empty prints as nothing.
    if text.is_empty() && !matches!(value, Value::Object(_)) {
        return Err(format!("empty repr for {value:?}"));
    }
    let bad = |what: &str| Err(format!("{what}: {value:?} -> {text}"));
    match value {
        Value::None if text != "None" => return bad("None"),
        Value::Bool(b) if text != if *b { "True" } else { "False" } => return bad("bool"),
        Value::Int(i) => {
            let mut decimal = String::new();
            i.write_decimal(&mut decimal);
            if text != decimal || PyInt::parse(&text).as_ref() != Ok(i) {
                return bad("int does not round-trip");
            }
        }
        Value::Float(f) => {
            let back = match text.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                t => t.parse::<f64>().unwrap_or(f64::NAN),
            };
            let same = back.to_bits() == f.to_bits() || (back.is_nan() && f.is_nan());
            if !same {
                return bad("float does not round-trip");
            }
        }
        Value::Str(s) => {
            let plain = s
                .chars()
                .all(|c| (' '..='~').contains(&c) && c != '\'' && c != '\\');
            if plain && text != format!("'{s}'") {
                return bad("plain str");
            }
            if !(text.starts_with('\'') && text.ends_with('\'')
                || text.starts_with('"') && text.ends_with('"'))
            {
                return bad("str quotes");
            }
            if value.to_py_str(py) != *s {
                return bad("str() of a str");
            }
        }
        Value::Bytes(_) if !(text.starts_with("b'") || text.starts_with("b\"")) => {
            return bad("bytes prefix")
        }
        Value::Tuple(items) => {
            if !(text.starts_with('(') && text.ends_with(')')) {
                return bad("tuple brackets");
            }
            if items.len() == 1 && !text.ends_with(",)") {
                return bad("1-tuple comma");
            }
        }
        Value::List(_) if !(text.starts_with('[') && text.ends_with(']')) => {
            return bad("list brackets")
        }
        Value::Dict(_) if !(text.starts_with('{') && text.ends_with('}')) => {
            return bad("dict braces")
        }
        Value::OrderedDict(_) if !text.starts_with("OrderedDict(") => return bad("OrderedDict"),
        Value::Object(o) if text != o.repr => return bad("object repr is its repr"),
        _ => {}
    }
    Ok(())
}

/// `Value::repr` on arbitrary values under every Python version: no panic, and simple
/// invariants (deterministic, ints and floats round-trip, a plain `str` is quoted as is,
/// brackets and the 1-tuple comma).
pub fn repr(data: &[u8]) -> Result<(), String> {
    let mut u = Unstructured::new(data);
    let value = arbitrary_value(&mut u, 3);
    for py in PythonVersion::ALL {
        check_repr(&value, py)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_inputs_pass() {
        assert_eq!(engine_vs_model(&[]), Ok(()));
        assert_eq!(trace_reader(&[]), Ok(()));
        assert_eq!(repr(&[]), Ok(()));
    }

    #[test]
    fn some_bytes() {
        let data: Vec<u8> = (0..2000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert_eq!(engine_vs_model(&data), Ok(()));
        assert_eq!(repr(&data), Ok(()));
    }
}
