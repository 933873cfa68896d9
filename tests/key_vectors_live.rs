//! Live differential test: draws fresh random cases from the real Flask-Caching (a new seed
//! on every run) and asserts that flaskcache derives identical keys.
//!
//! The interpreters come from `FLASKCACHE_PY_FC25`, `FLASKCACHE_PY_FC24`,
//! `FLASKCACHE_PY_FC25_PY312` and `FLASKCACHE_PY_FC013` (or the `.venv-*` directories that
//! `.ci/run` creates). When one is missing the test says so and passes, unless
//! `FLASKCACHE_REQUIRE_PYTHON=1` (set by CI) makes a missing 2.5 or 2.4 interpreter a
//! failure. Python 3.12 and 3.7 (for Flask-Cache 0.13) are not on every machine: they are
//! required only with `FLASKCACHE_REQUIRE_PY312=1` / `FLASKCACHE_REQUIRE_PY37=1`.

use flaskcache_sim::vectors::VectorFile;
use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn interpreter(env: &str, venv: &str) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(venv)
        .join("bin/python");
    p.exists().then_some(p)
}

fn fresh_seed() -> u64 {
    if let Some(seed) = std::env::var("FLASKCACHE_LIVE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return seed;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64 % 1_000_000_000)
        .unwrap_or(42)
}

/// Runs the generator with a fresh seed and checks every case; returns the case count.
fn live(env: &str, venv: &str, require: &str, memoize: usize, view: usize) -> usize {
    let Some(python) = interpreter(env, venv) else {
        let required = std::env::var(require).is_ok_and(|v| v == "1");
        assert!(!required, "{env} is not set and {venv} does not exist");
        eprintln!(
            "SKIPPED live differential for {env}: no interpreter (run .ci/run to create {venv})"
        );
        return 0;
    };
    let seed = fresh_seed();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("flaskcache-live-{env}-{seed}.json"));
    let status = Command::new(&python)
        .arg(root.join("tests/vectors/generate.py"))
        .args(["--seed", &seed.to_string()])
        .args([
            "--memoize",
            &memoize.to_string(),
            "--view",
            &view.to_string(),
        ])
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        status.success(),
        "the generator failed under {}",
        python.display()
    );
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    let file = VectorFile::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    let (checked, mismatches) = file.check();
    for m in mismatches.iter().take(5) {
        eprintln!("{m}\n");
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked} fresh cases differ from the real library.\nReproduce with:\n  {} tests/vectors/generate.py --seed {seed} --memoize {memoize} --view {view} --out case.json && cargo run -p flaskcache-sim -- vectors case.json",
        mismatches.len(),
        python.display()
    );
    let _ = std::fs::remove_file(&out);
    println!("live {env} (seed {seed}): {checked} fresh cases, 0 mismatches");
    checked
}

#[test]
fn live_flask_caching_2_5() {
    live(
        "FLASKCACHE_PY_FC25",
        ".venv-fc25",
        "FLASKCACHE_REQUIRE_PYTHON",
        900,
        300,
    );
}

#[test]
fn live_flask_caching_2_4() {
    live(
        "FLASKCACHE_PY_FC24",
        ".venv-fc24",
        "FLASKCACHE_REQUIRE_PYTHON",
        900,
        300,
    );
}

#[test]
fn live_flask_caching_2_5_python_3_12() {
    live(
        "FLASKCACHE_PY_FC25_PY312",
        ".venv-fc25-py312",
        "FLASKCACHE_REQUIRE_PY312",
        400,
        100,
    );
}

#[test]
fn live_flask_cache_0_13_python_3_7() {
    live(
        "FLASKCACHE_PY_FC013",
        ".venv-fc013",
        "FLASKCACHE_REQUIRE_PY37",
        600,
        200,
    );
}
