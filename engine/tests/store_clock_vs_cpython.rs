//! Differential test: `Timestamp::as_py_float` and `Timestamp::trunc_secs` against CPython's
//! `micros / 10**6` and `int(micros / 10**6)` (FC-4.3.1, FC-4.3.2), over the whole `i64`
//! range, around 2^53 microseconds (where the exact-division shortcut ends) and around
//! powers of two in seconds.
//!
//! Any CPython 3 will do; the interpreter is `FLASKCACHE_PY_FC25`, else
//! `<workspace>/.venv-fc25/bin/python`. When neither exists the test prints a loud notice
//! and passes, unless `FLASKCACHE_REQUIRE_PYTHON=1`, in which case it fails.

mod common;
use common::Rng;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use flaskcache_engine::store::Timestamp;

const SCRIPT: &str = r#"
import sys
for line in sys.stdin:
    n = int(line)
    f = n / 10**6
    print(repr(f), int(f))
"#;

fn find_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FLASKCACHE_PY_FC25").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-fc25/bin/python");
    venv.exists().then_some(venv)
}

fn samples() -> Vec<i64> {
    let mut out = vec![0, 1, -1, i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1];
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        out.push(rng.next() as i64);
    }
    for _ in 0..5_000 {
        // Spread over magnitudes.
        let shift = rng.next() % 63;
        out.push((rng.next() >> (1 + shift)) as i64 * if rng.next() & 1 == 0 { 1 } else { -1 });
    }
    let edge = 1i64 << 53;
    for d in -50..=50 {
        out.push(edge + d);
        out.push(-edge + d);
    }
    for p in 0..44 {
        let at = (1i64 << p).saturating_mul(1_000_000);
        for d in -20..=20 {
            out.push(at.saturating_add(d));
            out.push(at.saturating_neg().saturating_add(d));
        }
    }
    out
}

#[test]
fn timestamp_float_matches_cpython_division() {
    let Some(python) = find_python() else {
        if std::env::var("FLASKCACHE_REQUIRE_PYTHON").as_deref() == Ok("1") {
            panic!(
                "store_clock_vs_cpython: FLASKCACHE_REQUIRE_PYTHON=1 but no interpreter \
                 (set FLASKCACHE_PY_FC25 or create <workspace>/.venv-fc25)"
            );
        }
        eprintln!();
        eprintln!("************************************************************************");
        eprintln!("* store_clock_vs_cpython: NO Python FOUND (FLASKCACHE_PY_FC25 unset and");
        eprintln!("* no <workspace>/.venv-fc25); the clock test against CPython DID NOT RUN.");
        eprintln!("************************************************************************");
        eprintln!();
        return;
    };
    let values = samples();
    let input: String = values.iter().map(|v| format!("{v}\n")).collect();
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut output = String::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut output)
        .expect("python output");
    writer.join().expect("writer thread").expect("write");
    assert!(child.wait().expect("python exit").success());

    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), values.len());
    let mut mismatches = 0;
    for (&n, line) in values.iter().zip(&lines) {
        let (float, int) = line.split_once(' ').expect("two fields");
        // Python's repr is the shortest text that round-trips; parsing it is exact.
        let want: f64 = float.parse().expect("float repr");
        let want_int: i64 = int.parse().expect("int");
        let t = Timestamp::from_micros(n);
        let got = t.as_py_float();
        if got.to_bits() != want.to_bits() || t.trunc_secs() != want_int {
            mismatches += 1;
            if mismatches <= 10 {
                eprintln!(
                    "MISMATCH {n}: ours {got:?} / {}, python {float} / {int}",
                    t.trunc_secs()
                );
            }
        }
    }
    eprintln!(
        "store_clock_vs_cpython: {} instants compared with {}; {mismatches} mismatches",
        values.len(),
        python.display()
    );
    assert_eq!(mismatches, 0);
}
