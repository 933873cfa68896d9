//! `flaskcache explore`: deterministic simulation of an app using Flask-Caching, with the
//! engine checked against the reference model ([`crate::model`]) after every step.
//!
//! Each run draws a configuration and a history from its seed ([`crate::workload`]),
//! executes it on the engine (over a `MemoryStore`, with faults injected between them) and
//! on the model, and checks the invariants of [`run`](mod@run). The summary is a function of the
//! arguments only: the same seed prints the same bytes on standard output. Timing figures
//! go to standard error, on a line starting `timing:`.
//!
//! The backend is the profile's `SimpleCache` unless `--store redis` is given: then each
//! run also draws a `RedisCache` configuration (profile 2.5 or 2.4, a key prefix from
//! [`REDIS_PREFIXES`], Flask-Caching's default timeout) from a stream of its own, so the
//! `SimpleCache` runs of a seed are the same with or without it. `--backend redis://...`
//! runs those on a real server instead of the engine's `MemoryStore` ([`store::RealStore`]).
//!
//! On a divergence the failing history is shrunk ([`shrink`]), written as a trace file
//! (`docs/trace-format.md`), printed as a timeline, and the commands that reproduce it are
//! printed; the exit status is 1.

pub mod check;
pub mod digest;
pub mod pair;
pub mod run;
pub mod shrink;
pub mod store;

use crate::trace::{Record, Trace, TraceConfig};
use crate::workload::rng::SplitMix64;
use crate::workload::{generate, Declaration, RunSetup, ACTION_KINDS};
use clap::Args;
use flaskcache_engine::Profile;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use run::{execute_guarded_on, Divergence, ExecOptions, RunReport, Stats, StoreSpec};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Arguments of `flaskcache explore`.
#[derive(Args, Debug, Clone)]
pub struct ExploreArgs {
    /// The seed every run derives from (runs are numbered under it).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many runs.
    #[arg(long, default_value_t = 100)]
    pub runs: u64,
    /// Actions per run.
    #[arg(long, default_value_t = 1000)]
    pub ops: usize,
    /// Probability that a backend call fails with ConnectionError (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub faults: f64,
    /// Profile: 2.5, 2.4, 0.13, or all (each run draws one).
    #[arg(long, default_value = "all")]
    pub profile: String,
    /// The first run's number (to reproduce run N alone: --first-run N --runs 1).
    #[arg(long, default_value_t = 0)]
    pub first_run: u64,
    /// Run each seed twice and require identical steps and summaries.
    #[arg(long)]
    pub check_determinism: bool,
    /// Worker threads, 0 for one per core (the summary does not depend on it).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Where failing histories are written: explore/ under $CARGO_TARGET_DIR when that is
    /// set, else under target/.
    #[arg(long, value_name = "DIR", default_value_os_t = target_subdir("explore"))]
    pub out: PathBuf,
    /// Histories tried at most while shrinking a failure (default 20000; 300 with
    /// --backend, where each one runs on the server).
    #[arg(long, value_name = "N")]
    pub shrink_budget: Option<usize>,
    /// The backend: simple (the profile's SimpleCache) or redis (RedisCache: each run draws
    /// a key prefix, profile 2.5 or 2.4), in memory.
    #[arg(long, default_value = "simple", value_parser = ["simple", "redis"])]
    pub store: String,
    /// Run each RedisCache run on the Redis server at URL (redis://host:port[/db]; implies
    /// --store redis). The runs empty the key prefixes they draw, and the whole database
    /// for the empty prefix: give the explorer a database of its own.
    #[arg(long, value_name = "URL")]
    pub backend: Option<String>,
    /// Allow --backend on a server that is not on this machine (it is emptied).
    #[arg(long, requires = "backend")]
    pub allow_remote: bool,
    /// Print each run's configuration and swarm on standard error, one line per run.
    #[arg(long)]
    pub verbose: bool,
    /// Instead of exploring: re-run a trace file on the engine and the model.
    #[arg(long, value_name = "FILE")]
    pub check_trace: Option<String>,
}

/// One run's result, kept for the summary.
struct Done {
    run: u64,
    stats: Stats,
    divergence: Option<Divergence>,
    digest: u64,
}

fn digest_of(report: &RunReport) -> u64 {
    let mut h = digest::Digest::default();
    h.word(report.digests.len() as u64);
    for d in &report.digests {
        h.word(*d);
    }
    h.value()
}

/// The `CACHE_KEY_PREFIX`es a `RedisCache` run draws from: Flask-Caching's default, none
/// (`clear()` is then `FLUSHDB`), one with glob characters (cachelib's `clear()` passes
/// `prefix*` to `KEYS` as a pattern, unescaped), and an app's own.
pub const REDIS_PREFIXES: [&str; 4] = ["flask_cache_", "", "fc[x]?_", "shop:"];

/// The stream the `RedisCache` draws come from, apart from the workload's.
const REDIS_STREAM: u64 = 0x5245_4449_5343_4143;

/// Whether the runs are `RedisCache` runs.
fn redis_runs(args: &ExploreArgs) -> bool {
    args.backend.is_some() || args.store == "redis"
}

/// How run `run` is set up: the workload's configuration and the backend. `SimpleCache`
/// runs are exactly [`RunSetup::new`]'s; a `RedisCache` run draws its profile (unless
/// `profile` fixes it) and its prefix first, from a stream of its own.
pub fn run_setup(args: &ExploreArgs, profile: Option<Profile>, run: u64) -> (RunSetup, StoreSpec) {
    if !redis_runs(args) {
        let setup = RunSetup::new(args.seed, run, profile, args.faults);
        return (setup, StoreSpec::Simple);
    }
    let mut r = SplitMix64::fork(args.seed ^ REDIS_STREAM, run);
    let drawn = if r.chance(0.5) {
        Profile::FlaskCaching25
    } else {
        Profile::FlaskCaching24
    };
    let prefix = REDIS_PREFIXES
        .get(r.index(REDIS_PREFIXES.len()))
        .copied()
        .unwrap_or("flask_cache_");
    let setup = RunSetup::new(args.seed, run, Some(profile.unwrap_or(drawn)), args.faults);
    let spec = StoreSpec::Redis {
        prefix: prefix.to_owned(),
        server: args.backend.clone(),
    };
    (setup, spec)
}

fn one_run(args: &ExploreArgs, profile: Option<Profile>, run: u64) -> Done {
    let (setup, spec) = run_setup(args, profile, run);
    let actions = generate(&setup, args.ops);
    let first = execute_guarded_on(&setup, &spec, &actions, &ExecOptions::default());
    let mut divergence = first.divergence.clone();
    if args.check_determinism && divergence.is_none() {
        let again = execute_guarded_on(
            &setup,
            &spec,
            &actions,
            &ExecOptions {
                record: false,
                expect_digests: Some(first.digests.clone()),
            },
        );
        divergence = again.divergence.clone().or_else(|| {
            (again.stats != first.stats || generate(&setup, args.ops) != actions).then(|| {
                Divergence {
                    step: actions.len(),
                    kind: "nondeterminism".into(),
                    detail: "the second run's counters or history differ".into(),
                }
            })
        });
    }
    Done {
        run,
        digest: digest_of(&first),
        stats: first.stats,
        divergence,
    }
}

fn parse_profile(text: &str) -> Result<Option<Profile>, String> {
    match text {
        "all" => Ok(None),
        other => Profile::parse(other)
            .map(Some)
            .ok_or_else(|| format!("unknown profile {other:?} (expected 2.5, 2.4, 0.13 or all)")),
    }
}

/// `name` under cargo's target directory: `$CARGO_TARGET_DIR/name` when that variable is
/// set, else `target/name` (relative to the current directory, as cargo reads it).
pub fn target_subdir(name: &str) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join(name)
}

/// `word` as one POSIX shell word: as is when it is plain, else single-quoted.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The command that runs run `run` of `args` alone.
fn reproduce_run(args: &ExploreArgs, run: u64) -> String {
    let mut command = format!(
        "flaskcache explore --seed {} --first-run {run} --runs 1 --ops {} --faults {} --profile {}",
        args.seed,
        args.ops,
        args.faults,
        shell_quote(&args.profile)
    );
    if args.check_determinism {
        command.push_str(" --check-determinism");
    }
    match &args.backend {
        Some(url) => {
            command.push_str(" --backend ");
            command.push_str(&shell_quote(&crate::redis_tool::real::redact(url)));
            if args.allow_remote {
                command.push_str(" --allow-remote");
            }
        }
        None if args.store == "redis" => command.push_str(" --store redis"),
        None => {}
    }
    command
}

/// A run's configuration and swarm, one line, in the app's terms (`None`, `False`).
pub fn describe_setup(setup: &RunSetup) -> String {
    describe_with(setup, format!("CACHE_THRESHOLD = {}", setup.threshold))
}

/// [`describe_setup`] of a run on `store` (a `RedisCache` names its prefix).
pub fn describe_run(setup: &RunSetup, store: &StoreSpec) -> String {
    match store {
        StoreSpec::Simple => describe_setup(setup),
        StoreSpec::Redis { prefix, .. } => describe_with(
            setup,
            format!(
                "CACHE_TYPE = 'RedisCache', CACHE_KEY_PREFIX = {}",
                crate::workload::py_str(prefix)
            ),
        ),
    }
}

fn describe_with(setup: &RunSetup, backend: String) -> String {
    let py_bool = |b: bool| if b { "True" } else { "False" };
    let kinds: Vec<String> = ACTION_KINDS
        .iter()
        .zip(setup.weights)
        .filter(|(_, w)| *w > 0)
        .map(|(k, w)| format!("{}={w}", k.name()))
        .collect();
    let faults: Vec<&str> = crate::model::OpKind::ALL
        .iter()
        .zip(setup.fault_kinds)
        .filter(|(_, on)| *on)
        .map(|(k, _)| k.name())
        .collect();
    format!(
        "profile {}, Python {}, app.debug = {}, {backend}, get_student timeout = {}, hooks {}; actions (weight): {}; {} delete forms; {}",
        setup.profile.as_str(),
        setup.python.as_str(),
        py_bool(setup.debug),
        setup
            .knobs
            .get_student_timeout
            .map_or_else(|| "None".to_owned(), |t| t.to_string()),
        if setup.knobs.hooks { "declared" } else { "not declared" },
        kinds.join(", "),
        setup.forms.len(),
        if setup.fault_rate == 0.0 || faults.is_empty() {
            "no faults".to_owned()
        } else {
            format!("fault rate {} on {}", setup.fault_rate, faults.join(", "))
        },
    )
}

/// The summary table (deterministic: no timing).
pub fn summary(args: &ExploreArgs, stats: &Stats, divergences: u64, digest: u64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "flaskcache explore: seed {}, runs {}..{}, {} ops per run, fault rate {}, profile {}{}",
        args.seed,
        args.first_run,
        args.first_run.saturating_add(args.runs),
        args.ops,
        args.faults,
        args.profile,
        if redis_runs(args) {
            ", store RedisCache"
        } else {
            ""
        }
    );
    let profiles: Vec<String> = stats
        .runs_by_profile
        .iter()
        .map(|(p, n)| format!("{p}: {n}"))
        .collect();
    let _ = writeln!(s, "runs: {} ({})", stats.runs, profiles.join(", "));
    if redis_runs(args) {
        let prefixes: Vec<String> = stats
            .runs_by_prefix
            .iter()
            .map(|(p, n)| format!("{}: {n}", crate::workload::py_str(p)))
            .collect();
        let _ = writeln!(s, "key prefixes: {}", prefixes.join(", "));
    }
    let _ = writeln!(s, "operations by kind:");
    for (kind, n) in ACTION_KINDS.iter().zip(stats.ops) {
        let _ = writeln!(s, "  {:<22}{n:>12}", kind.name());
    }
    let _ = writeln!(s, "  {:<22}{:>12}", "total", stats.total_ops());
    let _ = writeln!(s, "  {:<22}{:>12}", "backend calls", stats.store_ops);
    let _ = writeln!(s, "cache:");
    let rows = [
        ("hits", stats.hits),
        ("misses, stored", stats.misses_stored),
        ("misses, not stored", stats.misses_unstored),
        ("uncached (errors)", stats.uncached),
        ("bypassed (unless)", stats.bypassed),
    ];
    for (name, n) in rows {
        let _ = writeln!(s, "  {name:<22}{n:>12}");
    }
    let _ = writeln!(s, "invalidations:");
    let rows = [
        ("attempted", stats.invalidations),
        ("effective", stats.effective),
        ("removed nothing", stats.ineffective),
        ("nothing to remove", stats.vacuous),
    ];
    for (name, n) in rows {
        let _ = writeln!(s, "  {name:<22}{n:>12}");
    }
    let stale: u64 = stats.stale.values().map(|f| f.count).sum();
    let _ = writeln!(
        s,
        "stale reads found: {stale} (findings about the app, not engine bugs)"
    );
    let mut causes: Vec<(&String, &run::Finding)> = stats.stale.iter().collect();
    causes.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    for (cause, found) in causes {
        let _ = writeln!(s, "  {cause:<40}{:>10}", found.count);
        let _ = writeln!(s, "      e.g. in run {}: {}", found.run, found.example);
        let _ = writeln!(s, "      reproduce: {}", reproduce_run(args, found.run));
    }
    let _ = writeln!(s, "faults injected:");
    for (kind, n) in crate::model::OpKind::ALL.iter().zip(stats.faults) {
        let _ = writeln!(s, "  {:<22}{n:>12}", kind.name());
    }
    let _ = writeln!(
        s,
        "  {:<22}{:>12}",
        "version keys lost", stats.lost_version_keys
    );
    let _ = writeln!(s, "history digest: {digest:016x}");
    let _ = writeln!(s, "divergences: {divergences}");
    s
}

fn trace_of(setup: &RunSetup, store: &StoreSpec, report: &RunReport) -> Trace {
    let (library, version) = match setup.profile {
        Profile::FlaskCaching25 => ("flask-caching", "2.5.1"),
        Profile::FlaskCaching24 => ("flask-caching", "2.4.1"),
        Profile::FlaskCache013 => ("flask-cache", "0.13.1"),
    };
    let mut records = Vec::new();
    let (mut m, mut c) = (0usize, 0usize);
    for d in crate::workload::App::declarations(setup.profile, &setup.knobs) {
        match d {
            Declaration::Memoize(function, options) => {
                records.push(Record::Memoize {
                    id: format!("m{m}"),
                    function,
                    options,
                });
                m += 1;
            }
            Declaration::Cached(name, options) => {
                records.push(Record::Cached {
                    id: format!("c{c}"),
                    name: name.to_owned(),
                    options,
                });
                c += 1;
            }
        }
    }
    records.extend(report.events.iter().cloned().map(Record::Event));
    Trace {
        config: TraceConfig {
            library: library.into(),
            library_version: version.into(),
            profile: setup.profile,
            python: setup.python,
            backend: match store {
                StoreSpec::Simple => "SimpleCache".into(),
                StoreSpec::Redis { .. } => "RedisCache".into(),
            },
            key_prefix: match store {
                StoreSpec::Simple => None,
                StoreSpec::Redis { prefix, .. } => Some(prefix.clone()),
            },
            default_timeout: 300,
            threshold: setup.threshold,
            ignore_errors: false,
            debug: setup.debug,
            start_time: setup.start,
        },
        records,
    }
}

/// Shrinks a failing run, writes its trace, prints what reproduces it.
fn report_failure(
    args: &ExploreArgs,
    profile: Option<Profile>,
    run: u64,
    divergence: &Divergence,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let (setup, spec) = run_setup(args, profile, run);
    let actions = generate(&setup, args.ops);
    writeln!(out)?;
    writeln!(
        out,
        "DIVERGENCE in run {run} of seed {}: {divergence}",
        args.seed
    )?;
    writeln!(out, "run {run}: {}", describe_run(&setup, &spec))?;
    if divergence.kind == "server" {
        // The server failed to answer: there is no history to shrink.
        writeln!(out, "reproduce the run:       {}", reproduce_run(args, run))?;
        return Ok(());
    }
    let budget = args
        .shrink_budget
        .unwrap_or(if args.backend.is_some() { 300 } else { 20_000 });
    let shrunk = shrink::shrink_on(&setup, &spec, &actions, divergence, budget);
    writeln!(
        out,
        "shrunk from {} to {} steps ({} histories tried)",
        (divergence.step + 1).min(actions.len()),
        shrunk.actions.len(),
        shrunk.tries
    )?;
    let recorded = execute_guarded_on(
        &setup,
        &spec,
        &shrunk.actions,
        &ExecOptions {
            record: true,
            expect_digests: None,
        },
    );
    writeln!(out, "minimal failing history:")?;
    for line in &recorded.timeline {
        writeln!(out, "  {line}")?;
    }
    let trace = trace_of(&setup, &spec, &recorded);
    let dir = &args.out;
    let path = dir.join(format!("explore-seed{}-run{run}.trace.jsonl", args.seed));
    let written =
        std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&path, trace.to_jsonl()));
    match &written {
        Ok(()) => writeln!(out, "trace written: {}", path.display())?,
        Err(e) => writeln!(out, "could not write {}: {e}", path.display())?,
    }
    writeln!(out, "reproduce the run:       {}", reproduce_run(args, run))?;
    if written.is_ok() {
        writeln!(
            out,
            "reproduce the history:   flaskcache explore --check-trace {}",
            shell_quote(&path.to_string_lossy())
        )?;
        if let Some(url) = &args.backend {
            writeln!(
                out,
                "replay it on the server: flaskcache replay --backend {} {}",
                shell_quote(&crate::redis_tool::real::redact(url)),
                shell_quote(&path.to_string_lossy())
            )?;
        }
    }
    Ok(())
}

fn check_trace_file(path: &str, out: &mut dyn Write) -> std::io::Result<ExitCode> {
    let trace = match crate::replay::read_trace(path) {
        Ok(t) => t,
        Err(message) => {
            eprintln!("flaskcache explore: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    Ok(match check::check_trace(&trace, usize::MAX) {
        Err(e) => {
            eprintln!("flaskcache explore: {path}: {e}");
            ExitCode::from(2)
        }
        Ok(report) => match report.divergence {
            None => {
                writeln!(
                    out,
                    "{path}: {} events, engine and model agree",
                    report.events
                )?;
                ExitCode::SUCCESS
            }
            Some((event, detail)) => {
                writeln!(out, "{path}: DIVERGENCE at event {event}: {detail}")?;
                ExitCode::FAILURE
            }
        },
    })
}

/// Refuses what `--store redis` and `--backend` cannot do, and checks that the server
/// answers.
fn check_redis_args(args: &ExploreArgs, profile: Option<Profile>) -> Result<(), String> {
    if !redis_runs(args) {
        return Ok(());
    }
    if profile == Some(Profile::FlaskCache013) {
        return Err(
            "explore does not model Flask-Cache 0.13's RedisCache (Werkzeug's; its traces are checked by `flaskcache replay`): with --store redis or --backend, give --profile 2.5, 2.4 or all"
                .into(),
        );
    }
    let Some(url) = &args.backend else {
        return Ok(());
    };
    let shown = crate::redis_tool::real::redact(url);
    if !crate::redis_tool::real::is_loopback(url) && !args.allow_remote {
        return Err(format!(
            "--backend {shown} is not on this machine, and explore empties key prefixes there (the whole database for the empty prefix); add --allow-remote if that is really meant"
        ));
    }
    let target = crate::redis_tool::real::Target {
        url: url.clone(),
        prefix: None,
        flavor: flaskcache_engine::store::StoreFlavor::Redis,
        default_timeout: 300,
        ignore_delete_many_errors: false,
    };
    crate::redis_tool::real::Real::open(&target)
        .map(|_| ())
        .map_err(|e| format!("cannot reach the server: {e}"))?;
    if args.jobs > 1 {
        eprintln!("flaskcache explore: --backend runs one run at a time (--jobs ignored)");
    }
    eprintln!(
        "flaskcache explore: RedisCache runs on {shown}: each empties its key prefix first and when it ends"
    );
    Ok(())
}

/// How many threads run the runs: `--jobs`, or one per core for `--jobs 0`, never more
/// than there are runs; one with `--backend` (runs on a server share its keyspace).
fn worker_threads(args: &ExploreArgs) -> usize {
    if args.backend.is_some() {
        return 1;
    }
    let wanted = match args.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let runs = usize::try_from(args.runs).unwrap_or(usize::MAX);
    wanted.min(runs).clamp(1, 256)
}

/// Runs `flaskcache explore`, writing the summary (and any failure) to `out`; timing and
/// `--verbose` lines go to standard error.
pub fn run(args: &ExploreArgs, out: &mut dyn Write) -> std::io::Result<ExitCode> {
    if let Some(path) = &args.check_trace {
        return check_trace_file(path, out);
    }
    let profile = match parse_profile(&args.profile) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("flaskcache explore: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if !(0.0..=1.0).contains(&args.faults) {
        eprintln!("flaskcache explore: --faults must be between 0 and 1");
        return Ok(ExitCode::from(2));
    }
    if let Err(e) = check_redis_args(args, profile) {
        eprintln!("flaskcache explore: {e}");
        return Ok(ExitCode::from(2));
    }
    let started = Instant::now();
    // Drawn only when standard error is a terminal.
    let bar = ProgressBar::with_draw_target(Some(args.runs), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} runs {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let next = AtomicU64::new(0);
    let first_failure = AtomicU64::new(u64::MAX);
    let results: Mutex<Vec<Done>> = Mutex::new(Vec::new());
    let jobs = worker_threads(args);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= args.runs || i > first_failure.load(Ordering::SeqCst) {
                    break;
                }
                let run = args.first_run.saturating_add(i);
                let done = one_run(args, profile, run);
                if done.divergence.is_some() {
                    first_failure.fetch_min(i, Ordering::SeqCst);
                }
                if args.verbose {
                    let (setup, spec) = run_setup(args, profile, run);
                    let line = format!("run {run}: {}", describe_run(&setup, &spec));
                    // Not `bar.println`: that prints nothing while the bar is hidden.
                    bar.suspend(|| {
                        let _ = writeln!(std::io::stderr(), "{line}");
                    });
                }
                if let Ok(mut r) = results.lock() {
                    r.push(done);
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    // A poisoned lock still holds every result pushed before the panic.
    let mut done = results.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|d| d.run);
    // Only runs before the first failure count, whatever the threads did after it.
    let failing = done.iter().find(|d| d.divergence.is_some()).map(|d| d.run);
    let mut stats = Stats::default();
    let mut digest = digest::Digest::default();
    for d in done.iter().filter(|d| failing.is_none_or(|f| d.run <= f)) {
        stats.merge(&d.stats);
        digest.word(d.digest);
    }
    let failures = u64::from(failing.is_some());
    write!(out, "{}", summary(args, &stats, failures, digest.value()))?;
    out.flush()?;
    let secs = elapsed.as_secs_f64();
    let _ = writeln!(
        std::io::stderr(),
        "timing: {} simulated operations in {:.2} s = {:.0} ops/s ({} thread(s); not part of the deterministic summary)",
        stats.total_ops(),
        secs,
        stats.total_ops() as f64 / secs.max(1e-9),
        jobs
    );
    match done.iter().find(|d| d.divergence.is_some()) {
        Some(d) => {
            if let Some(div) = &d.divergence {
                report_failure(args, profile, d.run, div, out)?;
            }
            Ok(ExitCode::FAILURE)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        explore: ExploreArgs,
    }

    fn args(argv: &[&str]) -> ExploreArgs {
        let argv = std::iter::once("explore").chain(argv.iter().copied());
        match Cli::try_parse_from(argv) {
            Ok(cli) => cli.explore,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn the_reproducing_command_runs_the_one_run_with_the_same_checks() {
        let a = args(&[
            "--seed", "9", "--runs", "50", "--ops", "300", "--faults", "0.01",
        ]);
        assert_eq!(
            reproduce_run(&a, 17),
            "flaskcache explore --seed 9 --first-run 17 --runs 1 --ops 300 --faults 0.01 --profile all"
        );
        let a = args(&["--profile", "2.4", "--check-determinism", "--jobs", "2"]);
        assert!(reproduce_run(&a, 3).ends_with(" --profile 2.4 --check-determinism"));
    }

    #[test]
    fn redis_runs_reproduce_on_their_store_with_the_workload_of_their_seed() {
        let a = args(&["--store", "redis", "--seed", "3"]);
        assert!(reproduce_run(&a, 2).ends_with(" --profile all --store redis"));
        let b = args(&["--backend", "redis://u:pw@127.0.0.1:1/4"]);
        assert!(reproduce_run(&b, 2).ends_with(" --backend 'redis://***@127.0.0.1:1/4'"));
        let simple = args(&["--seed", "3", "--profile", "2.4"]);
        let redis = args(&["--seed", "3", "--profile", "2.4", "--store", "redis"]);
        let p = Some(Profile::FlaskCaching24);
        let (s1, spec1) = run_setup(&simple, p, 5);
        let (s2, spec2) = run_setup(&redis, p, 5);
        assert_eq!(spec1, StoreSpec::Simple);
        assert!(matches!(spec2, StoreSpec::Redis { server: None, .. }));
        assert_eq!(generate(&s1, 50), generate(&s2, 50));
        for run in 0..20 {
            let (setup, _) = run_setup(&a, None, run);
            assert_ne!(setup.profile, Profile::FlaskCache013);
        }
    }

    #[test]
    fn paths_are_quoted_for_the_shell_when_needed() {
        assert_eq!(
            shell_quote("target/explore/x-1.trace.jsonl"),
            "target/explore/x-1.trace.jsonl"
        );
        assert_eq!(shell_quote("my dir/x"), "'my dir/x'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
