//! Every committed golden vector (recorded from the real Flask-Caching by
//! `tests/vectors/generate.py`) is re-derived by flaskcache: keys, version keys, hashed
//! text and exceptions must be identical.

use flaskcache_sim::vectors::VectorFile;

fn check(name: &str, min_memoize: usize, min_view: usize) {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file = VectorFile::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        file.memoize.len() >= min_memoize && file.view.len() >= min_view,
        "{name}: {} memoize and {} view cases, need {min_memoize} and {min_view}",
        file.memoize.len(),
        file.view.len()
    );
    let (checked, mismatches) = file.check();
    for m in mismatches.iter().take(10) {
        eprintln!("{m}\n");
    }
    assert!(
        mismatches.is_empty(),
        "{name}: {} of {checked} cases differ from the real library",
        mismatches.len()
    );
    println!("{name}: {checked} cases, 0 mismatches");
}

#[test]
fn flask_caching_2_5_on_python_3_11() {
    check("fc25-py311.json", 500, 200);
}

#[test]
fn flask_caching_2_5_on_python_3_12() {
    check("fc25-py312.json", 500, 200);
}

#[test]
fn flask_caching_2_4_on_python_3_11() {
    check("fc24-py311.json", 500, 200);
}

#[test]
fn flask_cache_0_13_on_python_3_7() {
    check("fc013-py37.json", 500, 200);
}
