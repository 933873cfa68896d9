//! `flaskcache bench`: the micro table, the trace comparison's output format, and the
//! harness's check that Flask-Caching did what the trace recorded. These tests check
//! output and correctness only, never speed.
//!
//! The tests that run the real Flask-Caching need `.venv-fc25` (scripts/python-env.sh);
//! without it they are skipped, unless `FLASKCACHE_REQUIRE_PYTHON` is set, which makes a
//! missing interpreter a failure.

use flaskcache_sim::bench::micro::{catalogue, FLOOR};
use flaskcache_sim::bench::python_side::{Failure, PythonSide};
use std::path::PathBuf;

mod support;
use support::flaskcache;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn example(name: &str) -> String {
    root()
        .join("docs/examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// The 2.5 interpreter, or `None` when the test is to be skipped.
fn python25() -> Option<PathBuf> {
    let p = root().join(".venv-fc25/bin/python");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("FLASKCACHE_REQUIRE_PYTHON").is_none(),
        "FLASKCACHE_REQUIRE_PYTHON is set but {} is missing (run scripts/python-env.sh)",
        p.display()
    );
    eprintln!("skipped: {} is missing", p.display());
    None
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("flaskcache-bench-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("temp file");
    path
}

/// student.2.5 with event 3's recorded result replaced by a wrong one.
fn tampered_student() -> PathBuf {
    let text = std::fs::read_to_string(example("student.2.5.trace.jsonl")).expect("example");
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut json: serde_json::Value = serde_json::from_str(line).expect("json line");
        if json.get("event").and_then(|e| e.as_u64()) == Some(3) {
            json["result"] = serde_json::json!({"value": {"t": "str", "v": "tampered"}});
        }
        lines.push(json.to_string());
    }
    temp_file("tampered.jsonl", &(lines.join("\n") + "\n"))
}

#[test]
fn micro_prints_every_case_and_the_floor() {
    let (code, stdout, stderr) = flaskcache(&["bench", "--micro", "--budget-ms", "5"]);
    assert_eq!(code, 0, "{stderr}");
    let mut lines = stdout.lines();
    let header = lines.next().unwrap_or("");
    assert!(
        header.starts_with("case") && header.contains("ratio to floor"),
        "{stdout}"
    );
    for case in catalogue() {
        let row = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(case.name))
            .unwrap_or_else(|| panic!("no row for {}:\n{stdout}", case.name));
        let numbers: Vec<f64> = row
            .split_whitespace()
            .skip(1)
            .map(|n| n.parse().expect("a number"))
            .collect();
        assert_eq!(numbers.len(), 2, "{row}");
        assert!(numbers.iter().all(|n| n.is_finite() && *n > 0.0), "{row}");
        if case.name == FLOOR {
            assert_eq!(numbers[1], 1.0, "{row}");
        }
    }
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        last.starts_with("floor ") && last.contains("ns/op"),
        "{last}"
    );
}

#[test]
fn bench_of_a_trace_ends_with_the_summary_line() {
    let Some(python) = python25() else { return };
    let python = python.to_string_lossy().into_owned();
    let trace = example("student.2.5.trace.jsonl");
    let (code, stdout, stderr) = flaskcache(&[
        "bench",
        "--python",
        &python,
        "--rounds",
        "3",
        "--repeat",
        "2",
        "--budget-ms",
        "5",
        &trace,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.lines().next().is_some_and(
            |l| l.contains(": 24 operations x 3 rounds x 2 replays (after 1 warm-up), ")
        ),
        "{stdout}"
    );
    for kind in [
        "memoize hit",
        "memoize miss",
        "view hit",
        "view miss",
        "delete",
    ] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(kind)),
            "{kind}:\n{stdout}"
        );
    }
    let last = stdout.lines().last().unwrap_or("");
    let rest = last
        .strip_prefix("speedup vs Flask-Caching ")
        .unwrap_or_else(|| panic!("last line: {last:?}"));
    let (speedup, rest) = rest.split_once(" (median), engine ns/op ").expect("format");
    let (engine, floor_ratio) = rest.split_once(", floor ratio ").expect("format");
    let speedup: f64 = speedup.parse().expect("speedup");
    let engine: u64 = engine.parse().expect("engine ns/op");
    let floor_ratio: f64 = floor_ratio.parse().expect("floor ratio");
    assert!(speedup > 0.0 && engine > 0 && floor_ratio > 0.0, "{last}");
    // One decimal each, as documented.
    assert!(
        last.contains(&format!("Flask-Caching {speedup:.1} ")),
        "{last}"
    );
    assert!(
        last.ends_with(&format!("floor ratio {floor_ratio:.1}")),
        "{last}"
    );
}

#[test]
fn harness_names_the_event_whose_result_differs_from_the_recording() {
    let Some(python) = python25() else { return };
    let trace = tampered_student();
    let mut side = PythonSide::start(&python, &trace.to_string_lossy()).expect("harness starts");
    match side.round(1) {
        Err(Failure::Mismatch(message)) => {
            assert!(
                message.contains(":8: event 3: Flask-Caching returned"),
                "{message}"
            );
            assert!(message.contains("tampered"), "{message}");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn harness_reproduces_every_example_it_supports() {
    let Some(python) = python25() else { return };
    for name in [
        "student.2.5.trace.jsonl",
        "services.2.5.trace.jsonl",
        "blueprint_api.2.5.trace.jsonl",
    ] {
        let trace = example(name);
        let mut side = PythonSide::start(&python, &trace).expect("harness starts");
        // Three replays in one round: each must start from a fresh app and cache, or the
        // second would find the first's entries and not do what the recording says.
        let replays = side.round(3).unwrap_or_else(|f| panic!("{name}: {f:?}"));
        assert_eq!(replays.len(), 3, "{name}");
        for times in &replays {
            assert_eq!(times.len(), side.timed, "{name}");
        }
        side.finish();
    }
}

#[test]
fn a_tampered_trace_is_refused_before_timing() {
    let trace = tampered_student();
    let (code, _, stderr) = flaskcache(&["bench", "--rounds", "1", &trace.to_string_lossy()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("event 3"), "{stderr}");
}

#[test]
fn unsupported_and_malformed_traces_exit_2() {
    let (code, _, stderr) = flaskcache(&["bench", &example("redis_shared.2.5.trace.jsonl")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("RedisCache"), "{stderr}");

    let bad = temp_file("bad.jsonl", "{\"flaskcache_trace\": 1}\nnot json\n");
    let (code, _, stderr) = flaskcache(&["bench", &bad.to_string_lossy()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("{}:2:", bad.display())),
        "{stderr}"
    );

    let (code, _, _) = flaskcache(&["bench"]);
    assert_eq!(code, 2);

    let student = example("student.2.5.trace.jsonl");
    let (code, _, stderr) = flaskcache(&["bench", "--repeat", "0", &student]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = flaskcache(&["bench", "--micro", "--repeat", "2"]);
    assert_eq!(code, 2, "{stderr}");
}
