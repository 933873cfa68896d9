//! What the recorder refuses, it refuses at the user's own line, writes no trace and exits
//! with status 2: a `delete_memoized` of a `@cached` function (the trace has no command for
//! what Flask-Caching then does), a second `Cache` in one script, and a refused call made in
//! a worker thread (which must stop the recording even though no one reads the future).
//!
//! Run under the real Flask-Caching 2.5.1 and 2.4.1 (`FLASKCACHE_PY_FC25` / `_FC24`, or the
//! `.venv-*` that `.ci/run` creates). When an interpreter is missing the test says so and
//! passes, unless `FLASKCACHE_REQUIRE_PYTHON=1` (set by CI).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn interpreter(env: &str, venv: &str) -> Option<PathBuf> {
    let required = std::env::var("FLASKCACHE_REQUIRE_PYTHON").is_ok_and(|v| v == "1");
    let python = std::env::var(env)
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join(venv).join("bin/python"));
    if python.exists() {
        return Some(python);
    }
    assert!(!required, "{env} is not set and {venv} does not exist");
    eprintln!("SKIPPED recorder refusals for {env}: no interpreter (run .ci/run to create {venv})");
    None
}

const APP: &str = "from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
cache = Cache(app, config={\"CACHE_TYPE\": \"SimpleCache\"})
";

/// The scripts, each with the line the refusal must name and a part of its message.
fn cases() -> Vec<(&'static str, String, usize, &'static str)> {
    vec![
        (
            "delete_memoized_of_cached",
            format!(
                "{APP}

@cache.cached(key_prefix=\"report\")
def report():
    return \"r\"


with app.test_request_context(\"/\"):
    report()
    cache.delete_memoized(report)
"
            ),
            15,
            "is decorated with @cache.cached, not @cache.memoize",
        ),
        (
            "second_cache",
            format!("{APP}other = Cache(app, config={{\"CACHE_TYPE\": \"SimpleCache\"}})\n"),
            6,
            "a second Cache instance",
        ),
        (
            "refusal_in_a_worker_thread",
            format!(
                "from concurrent.futures import ThreadPoolExecutor
{APP}

def work(n):
    with app.app_context():
        return cache.get(n)


with ThreadPoolExecutor(2) as pool:
    pool.submit(work, float(\"nan\"))
print(\"finished\")
"
            ),
            11,
            "a NaN key",
        ),
    ]
}

fn check(python: &Path, dir: &Path) {
    for (name, script, line, message) in cases() {
        let path = dir.join(format!("{name}.py"));
        std::fs::write(&path, script).expect("write the script");
        let trace = dir.join(format!("{name}.jsonl"));
        let out = Command::new(python)
            .args(["-m", "flaskcache_recorder", "-o"])
            .arg(&trace)
            .arg(format!("{name}.py"))
            .current_dir(dir)
            .env("PYTHONPATH", root().join("sim/recorder"))
            .output()
            .expect("run the recorder");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        let site = format!("error: {name}.py:{line}: ");
        assert!(stderr.contains(&site), "{name}: no {site:?} in {stderr}");
        assert!(
            stderr.contains(message),
            "{name}: no {message:?} in {stderr}"
        );
        assert!(!trace.exists(), "{name}: a trace was written");
    }
}

#[test]
fn refusals_name_the_users_line_and_write_nothing() {
    for (env, venv) in [
        ("FLASKCACHE_PY_FC25", ".venv-fc25"),
        ("FLASKCACHE_PY_FC24", ".venv-fc24"),
    ] {
        let Some(python) = interpreter(env, venv) else {
            continue;
        };
        let dir = std::env::temp_dir().join(format!(
            "flaskcache-refusals-{}-{}",
            std::process::id(),
            venv.trim_start_matches('.')
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        check(&python, &dir);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
