//! `flaskcache bench TRACE...`: each trace replayed in rounds on both sides, the two sides
//! taking turns, then per operation kind the median ns/op of each side and their ratio,
//! and the summary line.
//!
//! In a round each side replays the trace `1 + --repeat` times back to back, each replay
//! on fresh state built outside the timer (a new engine and store; a new Flask app and
//! cache), every replay checked against the recording. The first replay of a side's round
//! warms that side up after the other side's turn (caches, branch predictors) and its
//! times are dropped; the `--repeat` replays after it are the samples. Both sides are
//! treated the same way by `sampled`.
//!
//! Definitions (also in `flaskcache bench --help`):
//! - an operation is a top-level event of the trace other than a clock advance, with the
//!   events its function body made included in its time;
//! - `speedup`: over every operation of every trace, the median of
//!   (Flask-Caching's median ns over its samples) / (flaskcache's median ns over its
//!   samples), an operation's samples being its times in the sampled replays of every round;
//! - `engine ns/op`: the median, over the same operations, of flaskcache's median ns;
//! - `floor ratio`: flaskcache's median ns over every memoize-hit sample of every trace,
//!   divided by the floor's ns/op (the micro catalogue's `floor` case) measured in the
//!   same run.

use super::engine_side::{self, timed_events, Timed};
use super::python_side::{default_python, Failure, PythonSide};
use super::timing::{median, Budget};
use super::{measure_floor, progress, BenchArgs};
use crate::replay::{read_trace, replay};
use crate::trace::Trace;
use flaskcache_engine::Profile;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

/// The kinds in the order tables list them.
const ORDER: &[&str] = &[
    "memoize hit",
    "memoize miss",
    "memoize uncached",
    "view hit",
    "view miss",
    "view uncached",
    "delete_memoized",
    "delete_memoized (version reset)",
    "delete_memoized (raises)",
    "delete_memoized_verhash",
    "delete_cached",
    "delete",
];

/// Replays per side and round that warm up and are not sampled.
const WARM_UP: usize = 1;

/// The replays of one side's round that are sampled: all but the warm-up.
fn sampled<T>(replays: Vec<T>) -> impl Iterator<Item = T> {
    replays.into_iter().skip(WARM_UP)
}

/// Samples of one trace: per timed event, its kind and each side's ns in every sampled
/// replay.
struct Samples {
    kinds: Vec<&'static str>,
    ours: Vec<Vec<u64>>,
    theirs: Vec<Vec<u64>>,
}

/// Why a trace could not be compared, with the exit status it gives.
struct Stop {
    status: u8,
    message: String,
}

fn stop(status: u8, message: String) -> Stop {
    Stop { status, message }
}

fn med(samples: &[u64]) -> f64 {
    let mut v: Vec<f64> = samples.iter().map(|&n| n as f64).collect();
    median(&mut v).unwrap_or(f64::NAN)
}

/// Checks that `trace` can be benchmarked: a SimpleCache trace of Flask-Caching 2.5 or
/// 2.4 that flaskcache replays identically.
fn check(path: &str, trace: &Trace) -> Result<(), Stop> {
    let c = &trace.config;
    if c.backend != "SimpleCache" {
        return Err(stop(
            2,
            format!(
                "{path}: backend {}: bench compares SimpleCache traces only (RedisCache traces would time a server round trip on one side only); replay it with flaskcache replay",
                c.backend
            ),
        ));
    }
    if c.profile == Profile::FlaskCache013 {
        return Err(stop(
            2,
            format!("{path}: profile 0.13: bench compares with Flask-Caching 2.5 and 2.4 only"),
        ));
    }
    match replay(trace) {
        Ok(report) if report.mismatch.is_none() => Ok(()),
        Ok(report) => Err(stop(
            1,
            format!(
                "{path}: flaskcache does not replay this trace identically (event {}); flaskcache replay {path} shows the difference",
                report.mismatch.map_or(0, |m| m.event)
            ),
        )),
        Err(why) => Err(stop(2, format!("{path}: {why}"))),
    }
}

fn side_failure(path: &str, f: Failure) -> Stop {
    match f {
        Failure::Mismatch(m) => stop(
            1,
            format!("{path}: Flask-Caching does not reproduce the recording: {m}"),
        ),
        Failure::Unusable(m) => stop(2, format!("{path}: the Flask-Caching side cannot run: {m}")),
    }
}

fn bench_trace(
    args: &BenchArgs,
    path: &str,
    trace: &Trace,
    bar: &indicatif::ProgressBar,
) -> Result<(Samples, std::path::PathBuf), Stop> {
    let python = match args.python.clone().or_else(|| default_python(trace.config.profile)) {
        Some(p) => p,
        None => {
            return Err(stop(
                2,
                format!(
                    "{path}: no Python with Flask-Caching {}: pass --python, or run scripts/python-env.sh to create the venvs",
                    trace.config.profile.as_str()
                ),
            ))
        }
    };
    let timed = timed_events(trace).count();
    let mut theirs_side = PythonSide::start(&python, path).map_err(|f| side_failure(path, f))?;
    if theirs_side.timed != timed {
        return Err(stop(
            2,
            format!(
                "{path}: the harness counts {} operations, flaskcache {timed}",
                theirs_side.timed
            ),
        ));
    }
    let mut samples = Samples {
        kinds: Vec::new(),
        ours: vec![Vec::new(); timed],
        theirs: vec![Vec::new(); timed],
    };
    let replays = usize::try_from(args.repeat).map_or(usize::MAX, |r| r.saturating_add(WARM_UP));
    let ours_round = |samples: &mut Samples| -> Result<(), Stop> {
        // Every replay is run and checked before any is kept, as the harness does.
        let round: Vec<Vec<Timed>> = (0..replays)
            .map(|_| engine_side::replay(trace).map_err(|m| stop(1, format!("{path}: {m}"))))
            .collect::<Result<_, _>>()?;
        for replay in sampled(round) {
            if samples.kinds.is_empty() {
                samples.kinds = replay.iter().map(|t| t.kind).collect();
            }
            for (i, t) in replay.iter().enumerate() {
                samples.ours[i].push(t.ns);
            }
        }
        Ok(())
    };
    for r in 0..args.rounds {
        // Taking turns at going first cancels what one side leaves behind for the other.
        if r % 2 == 0 {
            ours_round(&mut samples)?;
        }
        let round = theirs_side
            .round(replays)
            .map_err(|f| side_failure(path, f))?;
        for replay in sampled(round) {
            for (i, ns) in replay.into_iter().enumerate() {
                samples.theirs[i].push(ns);
            }
        }
        if r % 2 == 1 {
            ours_round(&mut samples)?;
        }
        bar.inc(1);
    }
    theirs_side.finish();
    Ok((samples, python))
}

fn kind_rank(kind: &str) -> (usize, &str) {
    (
        ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len()),
        kind,
    )
}

/// One kind's operations per round, and every sample of each side.
type KindSamples = (usize, Vec<u64>, Vec<u64>);

fn write_table(out: &mut dyn Write, s: &Samples) -> std::io::Result<()> {
    let mut by_kind: BTreeMap<(usize, &str), KindSamples> = BTreeMap::new();
    for (i, kind) in s.kinds.iter().enumerate() {
        let entry = by_kind.entry(kind_rank(kind)).or_default();
        entry.0 += 1;
        entry.1.extend(&s.ours[i]);
        entry.2.extend(&s.theirs[i]);
    }
    writeln!(
        out,
        "  {:32} {:>4} {:>16} {:>19} {:>8}",
        "operation", "n", "flaskcache ns/op", "Flask-Caching ns/op", "ratio"
    )?;
    for ((_, kind), (n, ours, theirs)) in &by_kind {
        let (o, t) = (med(ours), med(theirs));
        writeln!(out, "  {kind:32} {n:>4} {o:>16.0} {t:>19.0} {:>8.1}", t / o)?;
    }
    Ok(())
}

/// Per operation: (flaskcache's median ns, Flask-Caching's median ns).
fn per_operation(s: &Samples) -> Vec<(f64, f64)> {
    s.ours
        .iter()
        .zip(&s.theirs)
        .map(|(o, t)| (med(o), med(t)))
        .collect()
}

/// Runs `flaskcache bench TRACE...`.
pub fn run(
    args: &BenchArgs,
    floor_budget: Budget,
    out: &mut dyn Write,
) -> std::io::Result<ExitCode> {
    // Every trace is read and checked first: an unsupported one fails before any timing.
    let mut traces = Vec::with_capacity(args.traces.len());
    for path in &args.traces {
        match read_trace(path)
            .map_err(|m| stop(2, m))
            .and_then(|t| check(path, &t).map(|()| t))
        {
            Ok(t) => traces.push((path, t)),
            Err(Stop { status, message }) => {
                eprintln!("flaskcache bench: {message}");
                return Ok(ExitCode::from(status));
            }
        }
    }
    let floor = match measure_floor(floor_budget) {
        Ok(ns) => ns,
        Err(why) => {
            eprintln!("flaskcache bench: floor: {why}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let bar = progress(args.rounds * args.traces.len() as u64, "bench");
    let (mut ratios, mut engine, mut hits) = (Vec::new(), Vec::new(), Vec::new());
    for (path, trace) in &traces {
        bar.set_message((*path).clone());
        let (samples, python) = match bench_trace(args, path, trace, &bar) {
            Ok(s) => s,
            Err(Stop { status, message }) => {
                bar.finish_and_clear();
                eprintln!("flaskcache bench: {message}");
                return Ok(ExitCode::from(status));
            }
        };
        bar.suspend(|| -> std::io::Result<()> {
            writeln!(
                out,
                "{path}: {} operations x {} rounds x {} replays (after {WARM_UP} warm-up), Flask-Caching in {}",
                samples.kinds.len(),
                args.rounds,
                args.repeat,
                python.display()
            )?;
            write_table(out, &samples)?;
            let ops = per_operation(&samples);
            let mut trace_ratios: Vec<f64> = ops.iter().map(|(o, t)| t / o).collect();
            writeln!(
                out,
                "  speedup {:.1} (median over its operations)",
                median(&mut trace_ratios).unwrap_or(f64::NAN)
            )?;
            Ok(())
        })?;
        for (i, (o, t)) in per_operation(&samples).into_iter().enumerate() {
            ratios.push(t / o);
            engine.push(o);
            if samples.kinds[i] == "memoize hit" {
                hits.extend(samples.ours[i].iter().map(|&n| n as f64));
            }
        }
    }
    bar.finish_and_clear();
    let speedup = median(&mut ratios).unwrap_or(f64::NAN);
    let engine_ns = median(&mut engine).unwrap_or(f64::NAN);
    let floor_ratio = match median(&mut hits) {
        Some(hit) => format!("{:.1}", hit / floor),
        None => "n/a".to_owned(),
    };
    writeln!(
        out,
        "floor {floor:.1} ns/op (sha256 of the key text, base64 head, version, two lookups)"
    )?;
    writeln!(
        out,
        "speedup vs Flask-Caching {speedup:.1} (median), engine ns/op {engine_ns:.0}, floor ratio {floor_ratio}"
    )?;
    Ok(ExitCode::SUCCESS)
}
