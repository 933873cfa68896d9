//! The `flaskcache` command-line tool.

use clap::{Parser, Subcommand};
use flaskcache_engine::keys::{
    view_key, CachedKeySpec, HashMethod, KeyPrefix, QueryArgs, RequestInfo, ViewKeyError,
    ViewKeyInput, ViewKeyMode,
};
use flaskcache_engine::{Profile, PythonVersion};
use flaskcache_sim::vectors::VectorFile;
use std::process::ExitCode;

/// Flask-Caching's caching semantics, byte-exact, without Python.
#[derive(Parser)]
#[command(name = "flaskcache", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay recorded traces through flaskcache and compare every step.
    ///
    /// Each TRACE is a JSON Lines file written by the recorder
    /// (`python -m flaskcache_recorder -o OUT.jsonl SCRIPT.py`, see docs/trace-format.md).
    /// Every event's command is driven through the engine over a model of the recorded
    /// backend; every backend operation, function run, hook and result must be identical.
    /// On a mismatch the first differing step is printed side by side with its event.
    /// Exit status: 0 iff everything matches, 1 on a mismatch, 2 on unreadable input.
    ///
    /// Example: flaskcache replay docs/examples/*.trace.jsonl
    Replay(flaskcache_sim::replay::ReplayArgs),
    /// Live differential oracle: a random workload run in the real Flask-Caching and in
    /// flaskcache, compared step by step.
    ///
    /// The workload (calls of memoized functions and methods, requests to cached views,
    /// right and wrong deletes, backend proxies, database writes, clock advances) is written
    /// as an ordinary Python script, run under the recorder in the real library (a Python
    /// with it installed: --python, or the .venv-* that .ci/run creates), and the trace is
    /// replayed. On a divergence the shortest failing prefix is written as a trace and the
    /// command that reproduces it is printed (exit 1).
    ///
    /// Example: flaskcache oracle --seed 7 --ops 20000 --profile 2.4
    Oracle(flaskcache_sim::oracle::OracleArgs),
    /// Deterministic simulation: the engine checked against a reference model.
    ///
    /// Each run draws a configuration and a history from the seed (a simulated app over a
    /// changing database: calls of memoized functions, methods and views, deletes in every
    /// right and wrong form, backend calls, clock ticks and jumps, lost version keys,
    /// backend failures at --faults RATE), runs it on the engine and on the model, and
    /// checks after every step that they agree (outcomes and cache contents), that the
    /// store stays within threshold + 1 and that no hit is older than an effective
    /// invalidation. Stale reads caused by the app's ineffective deletes are reported as
    /// findings, by cause. The summary on stdout depends only on the arguments (same seed,
    /// same bytes); timing goes to stderr. On a divergence the history is shrunk, written
    /// as a trace file under --out, and the commands reproducing it are printed (exit 1).
    ///
    /// Examples (docs/simulation.md has more):
    ///
    ///   flaskcache explore --seed 1 --runs 1000 --ops 1000 --faults 0.01
    ///
    ///   flaskcache explore --seed 7 --runs 50 --profile 2.4 --check-determinism
    ///
    ///   flaskcache explore --check-trace target/explore/explore-seed1-run17.trace.jsonl
    Explore(flaskcache_sim::explore::ExploreArgs),
    /// Check golden key vectors recorded from the real Flask-Caching.
    ///
    /// Each FILE is written by tests/vectors/generate.py (format: docs/vectors.md). Every
    /// case is re-derived by flaskcache and compared: keys, version keys, hashed text and
    /// errors. Exit status 0 iff every case matches; 1 on a mismatch; 2 on unreadable input.
    ///
    /// Example: flaskcache vectors tests/vectors/*.json
    Vectors {
        /// Vector files to check.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Print the key a `@cache.cached` view stores for a request.
    ///
    /// Examples:
    ///   flaskcache view-key /demo/student/all                 -> view//demo/student/all
    ///   flaskcache view-key /works --query-string --query 'limit=15&mock=true'
    ///   flaskcache view-key /x --prefix res_student_all       -> res_student_all
    ViewKey {
        /// The decoded request path (`request.path`), e.g. /p/café.
        path: String,
        /// The decorator's key_prefix (default view/%s; without %s it is the whole key).
        #[arg(long, default_value = "view/%s")]
        prefix: String,
        /// The decorator has query_string=True.
        #[arg(long)]
        query_string: bool,
        /// The request's query string (a=1&b=2), used with --query-string.
        #[arg(long, default_value = "")]
        query: String,
        /// hash_method (md5, sha1, sha224, sha256, sha384, sha512); default: the profile's.
        #[arg(long)]
        hash: Option<String>,
        /// Flask-Caching profile: 2.5 or 2.4.
        #[arg(long, default_value = "2.5")]
        profile: String,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Replay(args) => flaskcache_sim::replay::run(&args),
        Command::Oracle(args) => flaskcache_sim::oracle::run(&args),
        Command::Explore(args) => flaskcache_sim::explore::run(&args),
        Command::Vectors { files } => check_vectors(&files),
        Command::ViewKey {
            path,
            prefix,
            query_string,
            query,
            hash,
            profile,
        } => print_view_key(
            &path,
            prefix,
            query_string,
            &query,
            hash.as_deref(),
            &profile,
        ),
    }
}

fn check_vectors(files: &[String]) -> ExitCode {
    let (mut total, mut failed) = (0usize, 0usize);
    for path in files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("flaskcache: {path}: {e}");
                return ExitCode::from(2);
            }
        };
        let file = match VectorFile::parse(&text) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("flaskcache: {path}: {e}");
                return ExitCode::from(2);
            }
        };
        let (checked, mismatches) = file.check();
        println!(
            "{path}: profile {} python {}: {checked} cases, {} mismatches",
            file.profile.as_str(),
            file.python.as_str(),
            mismatches.len()
        );
        for m in mismatches.iter().take(5) {
            println!("{m}");
        }
        total += checked;
        failed += mismatches.len();
    }
    println!("checked {total} cases, {failed} mismatches");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_view_key(
    path: &str,
    prefix: String,
    query_string: bool,
    query: &str,
    hash: Option<&str>,
    profile: &str,
) -> ExitCode {
    let Some(profile) = Profile::parse(profile) else {
        eprintln!("flaskcache: unknown profile {profile:?} (expected 2.5 or 2.4)");
        return ExitCode::from(2);
    };
    let hash_method = match hash.map(HashMethod::parse).transpose() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("flaskcache: {e}");
            return ExitCode::from(2);
        }
    };
    let py = PythonVersion::default();
    let args = QueryArgs::String(query.to_owned()).to_pairs(py);
    let spec = CachedKeySpec {
        key_prefix: KeyPrefix::Template(prefix),
        query_string,
        hash_method,
        source: None,
    };
    let input = ViewKeyInput {
        request: Some(RequestInfo { path, args: &args }),
        mode: ViewKeyMode::Request,
        prefix_result: None,
    };
    match view_key(&spec, &input, profile, py) {
        Ok(key) => {
            println!("{key}");
            ExitCode::SUCCESS
        }
        Err(ViewKeyError::Python(e)) => {
            println!("raises {e} (Flask-Caching then serves the view uncached, FC-1.1.6)");
            ExitCode::FAILURE
        }
        Err(ViewKeyError::Input(e)) => {
            eprintln!("flaskcache: {e}");
            ExitCode::from(2)
        }
    }
}
