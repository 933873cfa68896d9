//! What the recorder refuses, it refuses at the user's own line, writes no trace and exits
//! with status 2: a `delete_memoized` of a `@cached` function (the trace has no command for
//! what Flask-Caching then does), a refused call made in a worker thread (which must stop
//! the recording even though no one reads the future), and an `HTTPException` without a
//! status code (`abort(response)`). And what it no longer refuses: a
//! script with two `Cache` objects and two apps gets one trace per binding.
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

/// Runs `f(python, dir, venv)` for Flask-Caching 2.5 and 2.4, each in a fresh temporary
/// directory named after `tag` (removed afterwards), skipping a missing interpreter as
/// [`interpreter`] says.
fn with_each_library(tag: &str, f: impl Fn(&Path, &Path, &str)) {
    for (env, venv) in [
        ("FLASKCACHE_PY_FC25", ".venv-fc25"),
        ("FLASKCACHE_PY_FC24", ".venv-fc24"),
    ] {
        let Some(python) = interpreter(env, venv) else {
            continue;
        };
        let dir = std::env::temp_dir().join(format!(
            "flaskcache-{tag}-{}-{}",
            std::process::id(),
            venv.trim_start_matches('.')
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        f(&python, &dir, venv);
        let _ = std::fs::remove_dir_all(&dir);
    }
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
        (
            // An HTTPException without a status code: the engine knows one by its code.
            "abort_with_a_response",
            format!(
                "{APP}
from flask import Response, abort


@app.route(\"/gone\")
@cache.cached()
def gone():
    abort(Response(\"gone\", 410))


app.test_client().get(\"/gone\")
"
            ),
            16,
            "with code None (not a status code",
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
    with_each_library("refusals", |python, dir, _| check(python, dir));
}

/// Two `Cache` objects bound to two apps in one script: `-o OUT.jsonl` writes
/// `OUT.001.jsonl` and `OUT.002.jsonl` (one per binding, as for a test suite), each with its
/// own events, and each replays with 0 mismatches.
#[test]
fn several_caches_in_one_script_are_recorded_one_trace_each() {
    let script = "from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
fast = Cache(app, config={\"CACHE_TYPE\": \"SimpleCache\"})
slow = Cache(config={\"CACHE_TYPE\": \"SimpleCache\"})
other = Flask(\"other\")
slow.init_app(other)


@fast.memoize(60)
def price(x):
    return x * 2


@app.route(\"/p\")
@fast.cached(timeout=30)
def page():
    return \"page\"


with app.app_context():
    print(price(1), price(1))
    fast.delete(\"view//p\")
with other.app_context():
    slow.set(\"k\", 1)
    print(slow.get(\"k\"))
print(app.test_client().get(\"/p\").get_data(as_text=True))
";
    with_each_library("two-caches", |python, dir, venv| {
        std::fs::write(dir.join("two.py"), script).expect("write the script");
        let out = Command::new(python)
            .args(["-m", "flaskcache_recorder", "-o", "out.jsonl", "two.py"])
            .current_dir(dir)
            .env("PYTHONPATH", root().join("sim/recorder"))
            .output()
            .expect("run the recorder");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{venv}: {stderr}");
        assert!(stderr.contains("wrote 2 traces"), "{venv}: {stderr}");
        assert!(
            !dir.join("out.jsonl").exists(),
            "{venv}: one file for two bindings"
        );
        let mut events = Vec::new();
        for name in ["out.001.jsonl", "out.002.jsonl"] {
            let path = dir.join(name);
            let trace = flaskcache_sim::replay::read_trace(&path.to_string_lossy())
                .unwrap_or_else(|e| panic!("{venv} {name}: {e}"));
            let report = flaskcache_sim::replay::replay(&trace)
                .unwrap_or_else(|e| panic!("{venv} {name}: {e}"));
            assert!(
                report.mismatch.is_none(),
                "{venv} {name}: {:?}",
                report.mismatch
            );
            events.push(report.events);
        }
        // fast: price(1) twice, the delete, the request; slow: set and get.
        assert_eq!(events, [4, 2], "{venv}: events per binding");
    });
}
