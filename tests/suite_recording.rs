//! A real app's test suite (`tests/suite_app`: an app factory, blueprints, models with
//! memoized methods, two `Cache` objects, one app per test) recorded under Flask-Caching
//! 2.5.1 and 2.4.1 in each of the recorder's ways to record a suite:
//!
//! - module mode: `python -m flaskcache_recorder -o OUT.jsonl -m pytest ...`;
//! - the pytest plugin named with `-p`, and named in `PYTEST_ADDOPTS`;
//! - the plugin with a `-W error::bookstore.errors.StaleCatalogWarning` filter, which makes
//!   pytest import the app's package while it reads its options, before any conftest.
//!
//! Each recorded run must end as the plain run does (exit status and summary counts), write
//! one trace per `Cache` bound to an app, with events from many tests, and every trace must
//! replay with 0 mismatches. The trace sets of all the ways are byte-identical (the same
//! suite, recorded from its first import on).
//!
//! The interpreters come from `FLASKCACHE_PY_FC25` / `FLASKCACHE_PY_FC24` (or the
//! `.venv-fc25` / `.venv-fc24` directories `.ci/run` creates) and need pytest. When one is
//! missing the test says so and passes, unless `FLASKCACHE_REQUIRE_PYTHON=1` (set by CI).

use flaskcache_sim::explain::explain;
use flaskcache_sim::replay::{read_trace, replay};
use flaskcache_sim::trace::parse_trace_with_sites;
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const WARNING_FILTER: &str = "error::bookstore.errors.StaleCatalogWarning";
const PLUGIN: &str = "flaskcache_recorder.pytest_plugin";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The interpreter for `env` / `venv`, or None (with a note) when it is missing or has no
/// pytest and `FLASKCACHE_REQUIRE_PYTHON` does not require it.
fn interpreter(env: &str, venv: &str) -> Option<PathBuf> {
    let required = std::env::var("FLASKCACHE_REQUIRE_PYTHON").is_ok_and(|v| v == "1");
    let python = match std::env::var(env) {
        Ok(p) => PathBuf::from(p),
        Err(_) => root().join(venv).join("bin/python"),
    };
    if !python.exists() {
        assert!(!required, "{env} is not set and {venv} does not exist");
        eprintln!(
            "SKIPPED suite recording for {env}: no interpreter (run .ci/run to create {venv})"
        );
        return None;
    }
    let has_pytest = Command::new(&python)
        .args(["-c", "import pytest"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_pytest {
        assert!(
            !required,
            "{} has no pytest (pip install pytest==8.3.4 pluggy==1.5.0 iniconfig==2.0.0 packaging==24.2)",
            python.display()
        );
        eprintln!(
            "SKIPPED suite recording for {env}: {} has no pytest",
            python.display()
        );
        return None;
    }
    Some(python)
}

/// How a run ended: its exit status, the counts of pytest's last line ("32 passed"), and
/// what it printed.
struct Outcome {
    status: Option<i32>,
    counts: String,
    output: String,
}

/// Runs `python args...` in the suite's directory, with `addopts` as `PYTEST_ADDOPTS`.
fn run(python: &Path, args: &[&str], addopts: Option<&str>) -> Outcome {
    let mut cmd = Command::new(python);
    cmd.args(args)
        .current_dir(root().join("tests/suite_app"))
        .env("PYTHONPATH", root().join("sim/recorder"))
        // Nothing written into the source tree; the same hash seed for every run.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONHASHSEED", "0")
        .env_remove("PYTEST_ADDOPTS")
        .env_remove("PYTEST_PLUGINS");
    if let Some(addopts) = addopts {
        cmd.env("PYTEST_ADDOPTS", addopts);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let counts = stdout
        .lines()
        .rev()
        .map(|l| l.trim_matches(|c: char| c == '=' || c.is_whitespace()))
        .find(|l| !l.is_empty())
        .and_then(|l| l.rsplit_once(" in ").map(|(counts, _)| counts.to_owned()))
        .unwrap_or_default();
    Outcome {
        status: out.status.code(),
        counts,
        output: format!(
            "$ {} {}\n{stdout}{stderr}",
            python.display(),
            args.join(" ")
        ),
    }
}

/// The trace files a run wrote for `stem` (`DIR/NAME.jsonl` -> `DIR/NAME.NNN.jsonl`), in
/// order.
fn trace_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .and_then(|f| {
                    f.strip_prefix(name)?
                        .strip_prefix('.')?
                        .strip_suffix(".jsonl")
                })
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    found.sort();
    found
}

/// The `(file, function)` call sites of the events of `text` (nested ones included) that
/// lie in the suite's test files.
fn test_sites(text: &str, into: &mut BTreeSet<(String, String)>) {
    fn walk(event: &Json, into: &mut BTreeSet<(String, String)>) {
        if let Some(site) = event.get("site") {
            let file = site.get("file").and_then(Json::as_str).unwrap_or("");
            let function = site.get("function").and_then(Json::as_str).unwrap_or("");
            if file.starts_with("tests/test_") {
                into.insert((file.to_owned(), function.to_owned()));
            }
        }
        for step in event
            .get("steps")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            for nested in step
                .get("events")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                walk(nested, into);
            }
        }
    }
    for line in text.lines() {
        let Ok(json) = serde_json::from_str::<Json>(line) else {
            continue;
        };
        if json.get("event").is_some() {
            walk(&json, into);
        }
    }
}

/// Checks one recorded trace set and returns its files' contents.
fn check_traces(dir: &Path, name: &str, profile: &str, output: &str) -> Vec<String> {
    let files = trace_files(dir, name);
    assert!(
        files.len() >= 20,
        "{name}: expected a trace per Cache bound to an app (two per test), found {}\n{output}",
        files.len()
    );
    let mut texts = Vec::new();
    let mut sites = BTreeSet::new();
    let (mut events, mut with_events, mut steps) = (0, 0, 0);
    let mut findings = std::collections::BTreeMap::new();
    for path in &files {
        let shown = path.display();
        let trace = read_trace(&path.to_string_lossy()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            trace.config.library_version.get(..3),
            Some(profile),
            "{shown}"
        );
        let report = replay(&trace).unwrap_or_else(|e| panic!("{shown}: {e}"));
        if let Some(m) = &report.mismatch {
            panic!(
                "{shown}: event {} step {}\n  recorded:   {}\n  flaskcache: {}",
                m.event,
                m.step + 1,
                m.expected,
                m.ours
            );
        }
        events += report.events;
        steps += report.steps;
        with_events += usize::from(report.events > 0);
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{shown}: {e}"));
        test_sites(&text, &mut sites);
        // The suite explains: `flaskcache explain --summary` lints it.
        let (with_sites, event_sites) =
            parse_trace_with_sites(&text).unwrap_or_else(|e| panic!("{shown}: {e}"));
        let explained = explain(&shown.to_string(), &with_sites, &event_sites)
            .unwrap_or_else(|e| panic!("{shown}: {e}"));
        for f in &explained.findings {
            *findings.entry(f.rule.id()).or_insert(0usize) += 1;
        }
        texts.push(text);
    }
    let files_seen: BTreeSet<&str> = sites.iter().map(|(f, _)| f.as_str()).collect();
    assert!(
        with_events >= 20 && files_seen.len() >= 5 && sites.len() >= 25,
        "{name}: events from {with_events} apps, {} test functions in {} test files; expected \
         events from many apps and tests",
        sites.len(),
        files_seen.len()
    );
    println!(
        "{profile} {name}: {} traces ({with_events} with events), {events} events, {steps} \
         steps from {} test functions, 0 mismatches",
        files.len(),
        sites.len()
    );
    println!("{profile} {name}: explain findings by rule: {findings:?}");
    texts
}

fn record_suite(env: &str, venv: &str, profile: &str) {
    let Some(python) = interpreter(env, venv) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!(
        "flaskcache-suite-{}-{}",
        profile.replace('.', ""),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let out = |name: &str| {
        dir.join(format!("{name}.jsonl"))
            .to_string_lossy()
            .into_owned()
    };

    let plain = run(&python, &["-m", "pytest", "-q"], None);
    assert_eq!(
        plain.status,
        Some(0),
        "the suite fails plainly:\n{}",
        plain.output
    );
    assert!(
        plain.counts.ends_with(" passed") && plain.counts.len() > " passed".len(),
        "unexpected summary {:?}\n{}",
        plain.counts,
        plain.output
    );
    let filtered = run(&python, &["-m", "pytest", "-q", "-W", WARNING_FILTER], None);
    assert_eq!(filtered.status, Some(0), "{}", filtered.output);

    let module_out = out("module");
    let plugin_out = out("plugin");
    let addopts_out = out("addopts");
    let filtered_out = out("filtered");
    let recorded = [
        (
            "module",
            run(
                &python,
                &[
                    "-m",
                    "flaskcache_recorder",
                    "-o",
                    &module_out,
                    "-m",
                    "pytest",
                    "-q",
                ],
                None,
            ),
            &plain,
        ),
        (
            "plugin",
            run(
                &python,
                &[
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    PLUGIN,
                    "--flaskcache-trace",
                    &plugin_out,
                ],
                None,
            ),
            &plain,
        ),
        (
            "addopts",
            run(
                &python,
                &["-m", "pytest", "-q"],
                Some(&format!("-p {PLUGIN} --flaskcache-trace {addopts_out}")),
            ),
            &plain,
        ),
        (
            "filtered",
            run(
                &python,
                &[
                    "-m",
                    "pytest",
                    "-q",
                    "-W",
                    WARNING_FILTER,
                    "-p",
                    PLUGIN,
                    "--flaskcache-trace",
                    &filtered_out,
                ],
                None,
            ),
            &filtered,
        ),
    ];
    let mut sets = Vec::new();
    for (name, outcome, baseline) in &recorded {
        assert_eq!(
            (outcome.status, &outcome.counts),
            (baseline.status, &baseline.counts),
            "{name}: recording changed the suite's result\n{}",
            outcome.output
        );
        assert!(
            outcome
                .output
                .contains("traces, one per Cache bound to an app"),
            "{name}: no word of the traces\n{}",
            outcome.output
        );
        sets.push((*name, check_traces(&dir, name, profile, &outcome.output)));
    }
    let (first, reference) = &sets[0];
    for (name, texts) in &sets[1..] {
        assert!(
            texts == reference,
            "{name} recorded other traces than {first} (in {})",
            dir.display()
        );
    }

    // Loading the plugin without saying where the traces go is a usage error.
    let usage = run(&python, &["-m", "pytest", "-q", "-p", PLUGIN], None);
    assert_eq!(usage.status, Some(4), "{}", usage.output);
    assert!(
        usage.output.contains("--flaskcache-trace"),
        "{}",
        usage.output
    );

    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn suite_recorded_under_flask_caching_2_5() {
    record_suite("FLASKCACHE_PY_FC25", ".venv-fc25", "2.5");
}

#[test]
fn suite_recorded_under_flask_caching_2_4() {
    record_suite("FLASKCACHE_PY_FC24", ".venv-fc24", "2.4");
}
