//! `flaskcache explore --jobs N`: the runs are spread over threads, and standard output is
//! the same bytes whatever N is (the summary, and on a divergence the shrunk history and
//! the reproducing commands).

use std::process::Command;

/// Exit status and standard output of `flaskcache explore ARGS --jobs JOBS`, and the
/// `timing:` line of standard error.
fn explore(args: &[&str], jobs: &str) -> (Option<i32>, String, String) {
    let out = std::env::temp_dir().join(format!("flaskcache-explore-jobs-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_flaskcache"))
        .arg("explore")
        .args(args)
        .args(["--jobs", jobs])
        // The same directory for every run: a failure report names the trace it wrote.
        .arg("--out")
        .arg(&out)
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) => panic!("flaskcache explore does not run: {e}"),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let timing = stderr
        .lines()
        .find(|l| l.starts_with("timing:"))
        .unwrap_or("")
        .to_owned();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        timing,
    )
}

fn assert_same_output(args: &[&str]) {
    let (code1, one, timing1) = explore(args, "1");
    assert!(one.contains("history digest: "), "{one}");
    assert!(timing1.contains("(1 thread(s)"), "{timing1}");
    for jobs in ["2", "3", "0"] {
        let (code, many, timing) = explore(args, jobs);
        assert_eq!(code, code1, "exit status with --jobs {jobs}");
        assert_eq!(many, one, "stdout of {args:?} with --jobs {jobs}");
        assert!(timing.starts_with("timing: "), "{timing}");
    }
    let (_, _, three) = explore(args, "3");
    assert!(three.contains("(3 thread(s)"), "{three}");
}

#[test]
fn the_summary_does_not_depend_on_the_number_of_threads() {
    // 40 runs of seed 1 also find the planted engine bug when it is compiled in
    // (`--cfg flaskcache_planted_bug`): then the shrunk failure report must match too.
    assert_same_output(&[
        "--seed", "1", "--runs", "40", "--ops", "400", "--faults", "0.01",
    ]);
}

#[test]
fn redis_runs_and_determinism_checks_do_not_depend_on_it_either() {
    assert_same_output(&[
        "--seed",
        "2",
        "--runs",
        "12",
        "--ops",
        "300",
        "--faults",
        "0.02",
        "--store",
        "redis",
        "--check-determinism",
    ]);
}

#[test]
fn more_threads_than_runs_run_each_run_once() {
    let (code, one, _) = explore(&["--seed", "5", "--runs", "2", "--ops", "100"], "1");
    let (code8, eight, timing) = explore(&["--seed", "5", "--runs", "2", "--ops", "100"], "8");
    assert_eq!((code, one.as_str()), (code8, eight.as_str()));
    if !one.contains("DIVERGENCE") {
        assert!(eight.contains("runs: 2 ("), "{eight}");
    }
    // Never more threads than runs.
    assert!(timing.contains("(2 thread(s)"), "{timing}");
}
