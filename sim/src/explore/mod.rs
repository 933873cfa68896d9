//! `flaskcache explore`: deterministic simulation of an app using Flask-Caching, with the
//! engine checked against the reference model ([`crate::model`]) after every step.
//!
//! Each run draws a configuration and a history from its seed ([`crate::workload`]),
//! executes it on the engine (over a `MemoryStore`, with faults injected between them) and
//! on the model, and checks the invariants of [`run`]. The summary is a function of the
//! arguments only: the same seed prints the same bytes on standard output. Timing figures
//! go to standard error, on a line starting `timing:`.
//!
//! On a divergence the failing history is shrunk ([`shrink`]), written as a trace file
//! (`docs/trace-format.md`), printed as a timeline, and the commands that reproduce it are
//! printed; the exit status is 1.

pub mod check;
pub mod pair;
pub mod run;
pub mod shrink;

use crate::trace::{parse_trace, Record, Trace, TraceConfig};
use crate::workload::{generate, Declaration, RunSetup, ACTION_KINDS};
use clap::Args;
use flaskcache_engine::Profile;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use run::{execute_guarded, Divergence, ExecOptions, RunReport, Stats};
use std::fmt::Write as _;
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
    /// Worker threads (the summary does not depend on it).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Where failing histories are written.
    #[arg(long, default_value = "target/explore")]
    pub out: String,
    /// Histories tried at most while shrinking a failure.
    #[arg(long, default_value_t = 20_000)]
    pub shrink_budget: usize,
    /// Print each run's configuration and swarm.
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
    let mut h = pair::Fnv::default();
    for d in &report.digests {
        let _ = write!(h, "{d:x}.");
    }
    h.0
}

fn one_run(args: &ExploreArgs, profile: Option<Profile>, run: u64) -> Done {
    let setup = RunSetup::new(args.seed, run, profile, args.faults);
    let actions = generate(&setup, args.ops);
    let first = execute_guarded(&setup, &actions, &ExecOptions::default());
    let mut divergence = first.divergence.clone();
    if args.check_determinism && divergence.is_none() {
        let again = execute_guarded(
            &setup,
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

/// The summary table (deterministic: no timing).
pub fn summary(args: &ExploreArgs, stats: &Stats, divergences: u64, digest: u64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "flaskcache explore: seed {}, runs {}..{}, {} ops per run, fault rate {}, profile {}",
        args.seed,
        args.first_run,
        args.first_run.saturating_add(args.runs),
        args.ops,
        args.faults,
        args.profile
    );
    let profiles: Vec<String> = stats
        .runs_by_profile
        .iter()
        .map(|(p, n)| format!("{p}: {n}"))
        .collect();
    let _ = writeln!(s, "runs: {} ({})", stats.runs, profiles.join(", "));
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
    let stale: u64 = stats.stale.values().map(|(n, _)| n).sum();
    let _ = writeln!(
        s,
        "stale reads found: {stale} (findings about the app, not engine bugs)"
    );
    let mut causes: Vec<(&String, &(u64, String))> = stats.stale.iter().collect();
    causes.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    for (cause, (n, example)) in causes {
        let _ = writeln!(s, "  {cause:<40}{n:>10}");
        let _ = writeln!(s, "      e.g. {example}");
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

fn trace_of(setup: &RunSetup, report: &RunReport) -> Trace {
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
            backend: "SimpleCache".into(),
            key_prefix: None,
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
fn report_failure(args: &ExploreArgs, profile: Option<Profile>, run: u64, divergence: &Divergence) {
    let setup = RunSetup::new(args.seed, run, profile, args.faults);
    let actions = generate(&setup, args.ops);
    println!();
    println!("DIVERGENCE in run {run}: {divergence}");
    println!("run {run}: {}", setup.describe());
    let shrunk = shrink::shrink(&setup, &actions, divergence, args.shrink_budget);
    println!(
        "shrunk from {} to {} steps ({} histories tried)",
        (divergence.step + 1).min(actions.len()),
        shrunk.actions.len(),
        shrunk.tries
    );
    let recorded = execute_guarded(
        &setup,
        &shrunk.actions,
        &ExecOptions {
            record: true,
            expect_digests: None,
        },
    );
    println!("minimal failing history:");
    for line in &recorded.timeline {
        println!("  {line}");
    }
    let trace = trace_of(&setup, &recorded);
    let path = format!(
        "{}/explore-seed{}-run{run}.trace.jsonl",
        args.out, args.seed
    );
    let written =
        std::fs::create_dir_all(&args.out).and_then(|_| std::fs::write(&path, trace.to_jsonl()));
    match written {
        Ok(()) => println!("trace written: {path}"),
        Err(e) => println!("could not write {path}: {e}"),
    }
    println!("reproduce the run:       flaskcache explore --seed {} --first-run {run} --runs 1 --ops {} --faults {} --profile {}",
        args.seed, args.ops, args.faults, args.profile);
    println!("reproduce the history:   flaskcache explore --check-trace {path}");
}

fn check_trace_file(path: &str) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("flaskcache explore: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let trace = match parse_trace(&text) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("flaskcache explore: {path}:{}: {}", e.line, e.reason);
            return ExitCode::from(2);
        }
    };
    match check::check_trace(&trace, usize::MAX) {
        Err(e) => {
            eprintln!("flaskcache explore: {path}: {e}");
            ExitCode::from(2)
        }
        Ok(report) => match report.divergence {
            None => {
                println!("{path}: {} events, engine and model agree", report.events);
                ExitCode::SUCCESS
            }
            Some((event, detail)) => {
                println!("{path}: DIVERGENCE at event {event}: {detail}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Runs `flaskcache explore`.
pub fn run(args: &ExploreArgs) -> ExitCode {
    if let Some(path) = &args.check_trace {
        return check_trace_file(path);
    }
    let profile = match parse_profile(&args.profile) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("flaskcache explore: {e}");
            return ExitCode::from(2);
        }
    };
    if !(0.0..=1.0).contains(&args.faults) {
        eprintln!("flaskcache explore: --faults must be between 0 and 1");
        return ExitCode::from(2);
    }
    let started = Instant::now();
    let bar = ProgressBar::with_draw_target(Some(args.runs), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} runs {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let next = AtomicU64::new(0);
    let first_failure = AtomicU64::new(u64::MAX);
    let results: Mutex<Vec<Done>> = Mutex::new(Vec::new());
    let jobs = args.jobs.clamp(1, 64);
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
                    let setup = RunSetup::new(args.seed, run, profile, args.faults);
                    bar.println(format!("run {run}: {}", setup.describe()));
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
    let mut done = results.into_inner().unwrap_or_default();
    done.sort_by_key(|d| d.run);
    // Only runs before the first failure count, whatever the threads did after it.
    let failing = done.iter().find(|d| d.divergence.is_some()).map(|d| d.run);
    let mut stats = Stats::default();
    let mut digest = pair::Fnv::default();
    for d in done.iter().filter(|d| failing.is_none_or(|f| d.run <= f)) {
        stats.merge(&d.stats);
        let _ = write!(digest, "{:x}.", d.digest);
    }
    let failures = u64::from(failing.is_some());
    print!("{}", summary(args, &stats, failures, digest.0));
    let secs = elapsed.as_secs_f64();
    eprintln!(
        "timing: {} simulated operations in {:.2} s = {:.0} ops/s ({} thread(s); not part of the deterministic summary)",
        stats.total_ops(),
        secs,
        stats.total_ops() as f64 / secs.max(1e-9),
        jobs
    );
    match done.iter().find(|d| d.divergence.is_some()) {
        Some(d) => {
            if let Some(div) = &d.divergence {
                report_failure(args, profile, d.run, div);
            }
            ExitCode::FAILURE
        }
        None => ExitCode::SUCCESS,
    }
}
