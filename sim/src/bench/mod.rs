//! `flaskcache bench`: how fast flaskcache is, against a floor and against the real
//! Flask-Caching.
//!
//! - [`micro`]: the catalogue of one-operation cases (key derivation, hits and misses
//!   through the embedded cache and the stepper, deletes, the store under pruning) and the
//!   floor they are compared with; shared with `sim/benches/hit_path.rs`;
//! - [`timing`]: the timing loop of `bench --micro`;
//! - [`engine_side`] and [`python_side`]: a recorded trace replayed and timed per event in
//!   flaskcache and in Flask-Caching (`harness.py`, run in-process there);
//! - [`compare`]: the per-operation tables and the summary line of `bench TRACE...`.

pub mod compare;
pub mod engine_side;
pub mod micro;
pub mod python_side;
pub mod timing;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `flaskcache bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Run the micro-benchmark catalogue (no Python, no trace).
    #[arg(long, conflicts_with_all = ["traces", "python", "rounds", "repeat"])]
    pub micro: bool,
    /// Traces to replay on both sides (SimpleCache traces of profiles 2.5 and 2.4).
    #[arg(value_name = "TRACE", required_unless_present = "micro")]
    pub traces: Vec<String>,
    /// Python with the trace's Flask-Caching installed. Default: $FLASKCACHE_PY_FC25 /
    /// $FLASKCACHE_PY_FC24 for the trace's profile, else the workspace's .venv-fc25 /
    /// .venv-fc24 (scripts/python-env.sh creates them), as for `flaskcache oracle`.
    #[arg(long, value_name = "PY")]
    pub python: Option<PathBuf>,
    /// Rounds per trace, the two sides taking turns: in each round each side replays the
    /// whole trace 1 + --repeat times back to back.
    #[arg(long, value_name = "N", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    /// Sampled replays per side and round, after one warm-up replay whose times are
    /// dropped; each replay runs on fresh state built outside the timer and is checked.
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub repeat: u64,
    /// Milliseconds spent on each micro case (a tenth warms up, the rest is split into
    /// batches); also what measuring the floor takes before a trace comparison.
    #[arg(long, value_name = "MS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub budget_ms: u64,
    /// With --micro: run only the cases whose name contains SUBSTR (the floor always runs,
    /// so every ratio still has its floor), e.g. `--only stepper/`.
    #[arg(long, value_name = "SUBSTR", requires = "micro")]
    pub only: Option<String>,
}

/// Timed batches per micro case.
const BATCHES: usize = 15;

/// A progress bar on standard error when it is a terminal, hidden otherwise.
pub(crate) fn progress(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_owned());
    bar
}

fn budget(args: &BenchArgs) -> timing::Budget {
    timing::Budget {
        per_case: Duration::from_millis(args.budget_ms),
        batches: BATCHES,
    }
}

/// The floor's median ns/op under `budget`.
pub fn measure_floor(budget: timing::Budget) -> Result<f64, String> {
    let floor = micro::catalogue()
        .into_iter()
        .find(|c| c.name == micro::FLOOR)
        .ok_or("the catalogue has no floor case")?;
    let mut op = (floor.setup)()?;
    Ok(timing::measure(&mut op, budget))
}

/// Runs `flaskcache bench`, writing its report to `out` (errors go to standard error).
pub fn run(args: &BenchArgs, out: &mut dyn Write) -> std::io::Result<ExitCode> {
    if args.micro {
        run_micro(args, out)
    } else {
        compare::run(args, budget(args), out)
    }
}

fn run_micro(args: &BenchArgs, out: &mut dyn Write) -> std::io::Result<ExitCode> {
    let cases: Vec<_> = micro::catalogue()
        .into_iter()
        .filter(|c| {
            c.name == micro::FLOOR || args.only.as_deref().is_none_or(|o| c.name.contains(o))
        })
        .collect();
    let bar = progress(cases.len() as u64, "bench --micro");
    let failed = |name: &str, why: String| {
        bar.finish_and_clear();
        eprintln!("flaskcache bench: case {name}: {why}");
        Ok(ExitCode::FAILURE)
    };
    // The floor runs beside every case: each case's batches alternate with its batches.
    let floor_case = cases.iter().find(|c| c.name == micro::FLOOR);
    let mut floor = match floor_case.map(|c| (c.setup)()) {
        Some(Ok(op)) => op,
        Some(Err(why)) => return failed(micro::FLOOR, why),
        None => return failed(micro::FLOOR, "the catalogue has no floor case".into()),
    };
    let mut rows = Vec::with_capacity(cases.len());
    for case in &cases {
        bar.set_message(case.name);
        let row = if case.name == micro::FLOOR {
            let ns = timing::measure(&mut floor, budget(args));
            (ns, 1.0)
        } else {
            let mut op = match (case.setup)() {
                Ok(op) => op,
                Err(why) => return failed(case.name, why),
            };
            let paired = timing::measure_paired(&mut op, &mut floor, budget(args));
            (paired.ns, paired.ratio)
        };
        rows.push((case, row));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let floor_ns = rows
        .iter()
        .find(|(c, _)| c.name == micro::FLOOR)
        .map_or(f64::NAN, |(_, (ns, _))| *ns);
    let width = cases.iter().map(|c| c.name.len()).max().unwrap_or(4);
    writeln!(
        out,
        "{:width$}  {:>14}  {:>13}",
        "case", "ns/op (median)", "ratio to floor"
    )?;
    for (case, (ns, ratio)) in &rows {
        writeln!(out, "{:width$}  {ns:>14.1}  {ratio:>13.1}", case.name)?;
    }
    writeln!(
        out,
        "floor {floor_ns:.1} ns/op; {} cases, {} ms each, median of {BATCHES} batches; \
         each ratio is the median over {BATCHES} pairs of a floor batch and the case's batch after it",
        rows.len(),
        args.budget_ms
    )?;
    Ok(ExitCode::SUCCESS)
}
