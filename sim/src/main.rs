//! The `flaskcache` command-line tool.

use clap::{Parser, Subcommand};
use flaskcache_engine::keys::{
    view_key, CachedKeySpec, HashMethod, KeyPrefix, QueryArgs, RequestInfo, ViewKeyError,
    ViewKeyInput, ViewKeyMode,
};
use flaskcache_engine::{Profile, PythonVersion};
use flaskcache_sim::vectors::{located, VectorFile};
use std::io::{self, Write};
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
    /// Exit status: 0 iff everything matches, 1 on a mismatch, 2 on unreadable input (errors
    /// name FILE:LINE). Key vectors files are checked by `flaskcache vectors`.
    ///
    /// Example: flaskcache replay docs/examples/*.trace.jsonl
    #[command(verbatim_doc_comment)]
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
    #[command(verbatim_doc_comment)]
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
    /// Each stale-read cause names the run of its example and the command that reruns it.
    ///
    /// Examples (docs/simulation.md has more):
    ///   flaskcache explore --seed 1 --runs 1000 --ops 1000 --faults 0.01
    ///   flaskcache explore --seed 7 --runs 50 --profile 2.4 --check-determinism
    ///   flaskcache explore --seed 1 --runs 20 --verbose 2> runs.txt
    ///   flaskcache explore --check-trace target/explore/explore-seed1-run17.trace.jsonl
    #[command(verbatim_doc_comment)]
    Explore(flaskcache_sim::explore::ExploreArgs),
    /// Explain why a delete missed: at the app's own line, with the call that works.
    ///
    /// Each TRACE is a recording of the real app (`python -m flaskcache_recorder -o
    /// OUT.jsonl app.py`, or a whole test suite: docs/recorder.md). It is replayed (it must
    /// replay with 0 mismatches) while flaskcache keeps, for every live key, the call that
    /// stored its value. After each delete-like call that removed nothing live, the live
    /// entries it most likely meant are found (the same path written another way, the same
    /// argument in another type, the class or instance left out, ...), the corrected call is
    /// tried on a copy of the cache at that moment, and only a fix that really removes the
    /// entry is reported. Hits served past a missed delete are marked STALE and listed under
    /// the delete. Also reported: memoize keys holding a memory address (a default repr),
    /// version keys lost while their entries lived, two calls sharing one key.
    /// docs/pitfalls.md has every rule, with a recorded example of each.
    /// Exit status: 0 no finding, 1 findings, 2 bad input (errors name FILE:LINE).
    ///
    /// Examples:
    ///   flaskcache explain docs/examples/pitfalls/view-bare-path.2.5.trace.jsonl
    ///   flaskcache explain --format json OUT.jsonl
    ///   flaskcache explain --summary OUT.*.jsonl      (lint a recorded test suite)
    #[command(verbatim_doc_comment)]
    Explain(flaskcache_sim::explain::ExplainArgs),
    /// Inspect and repair a Flask app's Redis cache in Flask-Caching's terms.
    ///
    /// Every verb takes --url (default redis://127.0.0.1:6379/0), --prefix (default the
    /// declarations' CACHE_KEY_PREFIX, else flask_cache_), --profile (2.5 or 2.4) and
    /// --declarations FILE (a trace the recorder wrote for the app: its declarations name
    /// the memoized functions and cached views, so no signature is typed by hand). Keys are
    /// computed by the engine's own flows, exactly as Flask-Caching computes them. The
    /// server in use is printed on standard error; `set` and `invalidate` refuse a server
    /// that is not on this machine unless --allow-remote is given.
    /// Exit status: 0 success; 1 a lookup missed, a key is absent, or an invalidation
    /// removed nothing; 2 bad input or a failure. docs/redis.md has a walk-through.
    ///
    /// Examples:
    ///   flaskcache redis keys --declarations app.trace.jsonl
    ///   flaskcache redis get view//products/1
    ///   flaskcache redis set greeting "'hello'" --timeout 60
    ///   flaskcache redis lookup "price('cake')" --declarations app.trace.jsonl
    ///   flaskcache redis invalidate "price('cake')" --declarations app.trace.jsonl
    ///   flaskcache redis invalidate --view /products/1 --declarations app.trace.jsonl
    #[command(verbatim_doc_comment)]
    Redis(flaskcache_sim::redis_tool::RedisArgs),
    /// Measure flaskcache: micro-benchmarks against a floor, or recorded traces against
    /// the real Flask-Caching.
    ///
    /// `bench --micro` runs the micro-benchmark catalogue (key derivation, memoize and
    /// view hits and misses through flaskcache::Cache and through the sans-IO stepper,
    /// deletes, MemoryStore get and set at its threshold) with its own timing loop: a
    /// warm-up, then 15 batches; it prints each case's median ns/op and its ratio to the
    /// floor, whose batches alternate with the case's (the ratio is the median of the 15
    /// pairs, so a change in the machine's load moves both sides of a pair alike). The
    /// floor is the work no memoize hit can avoid:
    /// one sha256 of the hit's key text, its base64 head, the version appended, and two
    /// lookups in an index hashed as the store's is. No Python is needed.
    ///
    /// `bench TRACE...` replays each SimpleCache trace of profile 2.5 or 2.4 (after
    /// checking that `flaskcache replay` reproduces it) in rounds, alternately through
    /// flaskcache's engine over its MemoryStore and in-process in the real Flask-Caching
    /// (an app rebuilt from the trace's declarations). In each round each side replays
    /// the trace 1 + --repeat times back to back (default 10), each replay on fresh state
    /// built before its first timer starts (a new engine and store; a new app and cache)
    /// and checked against the recording; the first replay of a side's round warms it up
    /// after the other side's turn and its times are dropped, the others are the samples.
    /// Every top-level event but clock advances is an operation, timed on its own; the
    /// time of a miss includes the cached calls its function body made. Inside
    /// flaskcache's timer are only the engine, its store and the recorded answers handed
    /// back, moved in, as a Python body returns a value it holds (and the two clock
    /// readings, about 20 ns). For each operation kind it prints the median ns/op of each
    /// side and the ratio Flask-Caching / flaskcache.
    /// The last line is
    ///   speedup vs Flask-Caching X.Y (median), engine ns/op N, floor ratio F
    /// where, over every operation of every trace given:
    ///   X.Y = the median of (Flask-Caching's median ns / flaskcache's median ns), each
    ///         operation's medians taken over its samples (rounds x --repeat per side);
    ///   N   = the median of flaskcache's median ns per operation;
    ///   F   = flaskcache's median ns over every sample of a memoize hit, divided by the
    ///         floor's ns/op measured at the start of the same run (n/a without hits).
    /// RedisCache traces are refused (exit 2): their Python side would time a server.
    /// Exit status: 0 success; 1 a side does not reproduce the recording (the event is
    /// named); 2 bad input (FILE:LINE), an unsupported trace, or no usable Python.
    ///
    /// Examples:
    ///   flaskcache bench --micro
    ///   flaskcache bench docs/examples/student.2.5.trace.jsonl
    ///   flaskcache bench --python .venv-fc24/bin/python --rounds 50 docs/examples/*.2.4.trace.jsonl
    ///   flaskcache bench --rounds 400 --repeat 1 docs/examples/services.2.5.trace.jsonl
    #[command(verbatim_doc_comment)]
    Bench(flaskcache_sim::bench::BenchArgs),
    /// Check golden key vectors recorded from the real Flask-Caching.
    ///
    /// Each FILE is written by tests/vectors/generate.py (format: docs/vectors.md). Every
    /// case is re-derived by flaskcache and compared: keys, version keys, hashed text and
    /// errors, shown as Python shows them. Exit status 0 iff every case matches; 1 on a
    /// mismatch; 2 on unreadable input (errors name FILE:LINE, or the JSON pointer of the
    /// bad field). Traces (docs/trace-format.md) are checked by `flaskcache replay`.
    ///
    /// Example: flaskcache vectors tests/vectors/*.json
    #[command(verbatim_doc_comment)]
    Vectors {
        /// Vector files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
    },
    /// Print the key a `@cache.cached` view stores for a request.
    ///
    /// The key Flask-Caching 2.5 or 2.4 derives for a request to PATH, from the decorator's
    /// key_prefix, query_string and hash_method. Exit status 0 with the key on standard
    /// output; 1 when deriving it raises (printed; Flask-Caching then serves the view
    /// uncached); 2 on bad arguments.
    ///
    /// Examples:
    ///   flaskcache view-key /demo/student/all                 -> view//demo/student/all
    ///   flaskcache view-key /x --prefix res_student_all       -> res_student_all
    ///   flaskcache view-key /works --query-string --query 'limit=15&mock=true'
    ///     -> view//works9ee2cc3f4d4622525119577cca5bbacfe65c679b55702c595ebd993da764088d
    ///   flaskcache view-key /x --profile 2.4 --query-string --query 'b=2&a=1' --hash sha1
    ///     -> /xcebe4c2bbe9f4b034306e8115d67c8db359473d4
    #[command(verbatim_doc_comment)]
    ViewKey {
        /// The decoded request path (`request.path`), e.g. /p/café.
        path: String,
        /// The decorator's key_prefix (default view/%s; without %s it is the whole key).
        #[arg(long, default_value = "view/%s")]
        prefix: String,
        /// The decorator has query_string=True: the key is the hash of the sorted query
        /// arguments (give them with --query).
        #[arg(long)]
        query_string: bool,
        /// The request's query string (a=1&b=2). Requires --query-string: without it
        /// Flask-Caching ignores the query string, and so would this.
        #[arg(long, requires = "query_string", value_name = "QUERY")]
        query: Option<String>,
        /// hash_method (md5, sha1, sha224, sha256, sha384, sha512); default: the profile's.
        #[arg(long)]
        hash: Option<String>,
        /// Flask-Caching profile: 2.5 or 2.4 (Flask-Cache 0.13 is not supported here).
        #[arg(long, default_value = "2.5", value_parser = view_key_profile)]
        profile: Profile,
    },
}

/// `--profile` of `view-key`.
fn view_key_profile(text: &str) -> Result<Profile, String> {
    match Profile::parse(text) {
        Some(p @ (Profile::FlaskCaching25 | Profile::FlaskCaching24)) => Ok(p),
        _ => Err("view-key supports profiles 2.5 and 2.4".into()),
    }
}

/// Standard output as the subcommands write it. Once a reader closes the pipe
/// (`flaskcache replay ... | head -1`), the rest of the output is dropped quietly and the
/// command finishes with its own exit status; any other write error ends it with exit 2.
struct Stdout {
    inner: io::StdoutLock<'static>,
    closed: bool,
}

impl Stdout {
    fn new() -> Self {
        Stdout {
            inner: io::stdout().lock(),
            closed: false,
        }
    }

    fn closed_pipe<T>(&mut self, result: io::Result<T>, otherwise: T) -> io::Result<T> {
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(otherwise)
            }
            other => other,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let result = self.inner.write(buf);
        self.closed_pipe(result, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = self.inner.flush();
        self.closed_pipe(result, ())
    }
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    let mut out = Stdout::new();
    let status = match command {
        Command::Replay(args) => flaskcache_sim::replay::run(&args, &mut out),
        Command::Explain(args) => flaskcache_sim::explain::run(&args, &mut out),
        Command::Oracle(args) => flaskcache_sim::oracle::run(&args, &mut out),
        Command::Explore(args) => flaskcache_sim::explore::run(&args, &mut out),
        Command::Redis(args) => flaskcache_sim::redis_tool::run(&args, &mut out),
        Command::Bench(args) => flaskcache_sim::bench::run(&args, &mut out),
        Command::Vectors { files } => check_vectors(&files, &mut out),
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
            query.as_deref().unwrap_or(""),
            hash.as_deref(),
            profile,
            &mut out,
        ),
    };
    match status.and_then(|status| out.flush().map(|()| status)) {
        Ok(status) => status,
        Err(e) => {
            let _ = writeln!(io::stderr(), "flaskcache: standard output: {e}");
            ExitCode::from(2)
        }
    }
}

fn check_vectors(files: &[String], out: &mut dyn Write) -> io::Result<ExitCode> {
    let (mut total, mut failed) = (0usize, 0usize);
    for path in files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("flaskcache vectors: {path}: {e}");
                return Ok(ExitCode::from(2));
            }
        };
        let file = match VectorFile::parse(&text) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("flaskcache vectors: {}", located(path, &e));
                return Ok(ExitCode::from(2));
            }
        };
        let (checked, mismatches) = file.check();
        writeln!(
            out,
            "{path}: profile {} python {}: {checked} cases, {} mismatches",
            file.profile.as_str(),
            file.python.as_str(),
            mismatches.len()
        )?;
        for m in mismatches.iter().take(5) {
            writeln!(out, "{m}")?;
        }
        total += checked;
        failed += mismatches.len();
    }
    writeln!(out, "checked {total} cases, {failed} mismatches")?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_view_key(
    path: &str,
    prefix: String,
    query_string: bool,
    query: &str,
    hash: Option<&str>,
    profile: Profile,
    out: &mut dyn Write,
) -> io::Result<ExitCode> {
    let hash_method = match hash.map(HashMethod::parse).transpose() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("flaskcache view-key: {e}");
            return Ok(ExitCode::from(2));
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
    Ok(match view_key(&spec, &input, profile, py) {
        Ok(key) => {
            writeln!(out, "{key}")?;
            ExitCode::SUCCESS
        }
        Err(ViewKeyError::Python(e)) => {
            writeln!(
                out,
                "raises {e} (Flask-Caching then serves the view uncached, FC-1.1.6)"
            )?;
            ExitCode::FAILURE
        }
        Err(ViewKeyError::Input(e)) => {
            eprintln!("flaskcache view-key: {e}");
            ExitCode::from(2)
        }
    })
}
